"""三权分立: one admin role per person, none with business roles; only the operator command assigns."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from zhengwu.core.errors import Conflict, DomainError, PermissionDenied
from zhengwu.directory import services
from zhengwu.directory.models import BusinessRole

from .conftest import audit_count, last_audit

pytestmark = pytest.mark.django_db


def test_assign_admin_role_by_operator(clerk):
    assert services.do_assign_admin_role(None, clerk, "audit_admin") is True
    clerk.refresh_from_db()
    assert clerk.admin_role == "audit_admin"
    record = last_audit("directory.user.assign_admin_role")
    assert record.result == "success" and record.actor == "" and record.details["to"] == "audit_admin"
    assert services.do_assign_admin_role(None, clerk, "audit_admin") is False  # unchanged, not audited again
    assert audit_count("directory.user.assign_admin_role", "success") == 1


def test_two_admin_roles_refused(secadmin):
    with pytest.raises(Conflict) as info:
        services.do_assign_admin_role(None, secadmin, "system_admin")
    assert "同一人不得兼任两个管理员角色" in info.value.message
    secadmin.refresh_from_db()
    assert secadmin.admin_role == "security_admin"
    assert audit_count("directory.user.assign_admin_role", "failure") == 1


def test_admin_role_with_business_role_refused(sysadmin, clerk):
    services.do_grant_role(sysadmin, clerk, BusinessRole.objects.get(code="clerk"))
    with pytest.raises(Conflict) as info:
        services.do_assign_admin_role(None, clerk, "system_admin")
    assert "同一人不得兼任两个管理员角色" in info.value.message and "业务角色" in info.value.message
    clerk.refresh_from_db()
    assert clerk.admin_role == ""


def test_business_role_for_admin_refused(sysadmin, secadmin):
    with pytest.raises(DomainError) as info:
        services.do_grant_role(sysadmin, secadmin, BusinessRole.objects.get(code="clerk"))
    assert "管理员账号不得持有业务角色" in info.value.message
    assert not secadmin.role_grants.exists()


def test_nobody_assigns_admin_roles_from_the_web(sysadmin, clerk):
    with pytest.raises(PermissionDenied):
        services.do_assign_admin_role(sysadmin, clerk, "audit_admin")
    clerk.refresh_from_db()
    assert clerk.admin_role == ""


def test_unknown_role_refused(clerk):
    with pytest.raises(DomainError) as info:
        services.do_assign_admin_role(None, clerk, "superuser")
    assert info.value.field == "role"


def test_command(clerk, secadmin, capsys):
    call_command("assign_admin_role", "CLERK1", "审计管理员")
    clerk.refresh_from_db()
    assert clerk.admin_role == "audit_admin"
    assert "已将 clerk1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="同一人不得兼任两个管理员角色"):
        call_command("assign_admin_role", "aqadmin", "system_admin")
    with pytest.raises(CommandError, match="账号不存在"):
        call_command("assign_admin_role", "nobody", "system_admin")
    with pytest.raises(CommandError, match="未知的管理员角色"):
        call_command("assign_admin_role", "clerk1", "root")
    call_command("assign_admin_role", "clerk1", "none")
    clerk.refresh_from_db()
    assert clerk.admin_role == ""


def test_command_exit_status(clerk, secadmin):
    """Run through the real entry point: a refusal exits non-zero with the Chinese reason."""
    from zhengwu.cli import main

    with pytest.raises(SystemExit) as info:
        main(["assign_admin_role", "aqadmin", "audit_admin"])
    assert info.value.code != 0
