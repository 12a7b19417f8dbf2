"""Account rules: creation, updates, disabling, passwords, business roles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD
from zhengwu.core.errors import Conflict, DomainError, PermissionDenied
from zhengwu.directory import services
from zhengwu.directory.models import BusinessRole, RoleGrant, User

from .conftest import audit_count, last_audit

pytestmark = pytest.mark.django_db


def new_user(actor: Any, unit: Any, **kwargs: Any) -> User:
    values = {"username": "wangwu", "full_name": "王五", "unit": unit, "password": STRONG_PASSWORD}
    values.update(kwargs)
    return services.do_create_user(actor, **values)


def refused(exc_type: type[DomainError], fn: Any, *args: Any, **kwargs: Any) -> DomainError:
    users = list(User.objects.order_by("pk").values())
    grants = RoleGrant.objects.count()
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    assert list(User.objects.order_by("pk").values()) == users
    assert RoleGrant.objects.count() == grants
    return info.value


def test_create_user(sysadmin, tree):
    user = new_user(sysadmin, tree.county_dept, mobile="13912345678")
    assert user.must_change_password and user.password_changed_at is not None
    assert user.check_password(STRONG_PASSWORD) and user.admin_role == ""
    record = last_audit("directory.user.create")
    assert record.result == "success" and record.details["username"] == "wangwu"
    assert STRONG_PASSWORD not in str(record.details)


def test_create_user_rules(sysadmin, tree, clerk):
    error = refused(Conflict, new_user, sysadmin, tree.county_dept, username="CLERK1")
    assert error.field == "username" and "不区分大小写" in error.message
    error = refused(DomainError, new_user, sysadmin, None)
    assert error.field == "unit"
    error = refused(DomainError, new_user, sysadmin, tree.county_dept, mobile="12345")
    assert error.field == "mobile" and "手机号码" in error.message
    error = refused(DomainError, new_user, sysadmin, tree.county_dept, password="short")
    assert error.field == "password" and error.message.startswith("初始密码")
    error = refused(DomainError, new_user, sysadmin, tree.county_dept, username="一二三")
    assert error.field == "username"
    error = refused(DomainError, new_user, sysadmin, tree.county_dept, full_name="")
    assert error.field == "full_name"
    assert audit_count("directory.user.create", "failure") == 6


def test_create_user_in_inactive_unit_refused(sysadmin, tree):
    services.do_deactivate_unit(sysadmin, tree.township)
    tree.township.refresh_from_db()
    error = refused(DomainError, new_user, sysadmin, tree.township)
    assert error.field == "unit" and "停用" in error.message


@pytest.mark.parametrize("role", ["security_admin", "audit_admin", ""])
def test_only_system_admin_manages_users(make_user, tree, clerk, role):
    actor = make_user(unit=tree.department, admin_role=role)
    refused(PermissionDenied, new_user, actor, tree.county_dept)
    refused(PermissionDenied, services.do_disable_user, actor, clerk)
    refused(PermissionDenied, services.do_reset_password, actor, clerk, STRONG_PASSWORD)
    refused(PermissionDenied, services.do_grant_role, actor, clerk, BusinessRole.objects.get(code="clerk"))


def test_update_user(sysadmin, tree, clerk):
    services.do_update_user(sysadmin, clerk, full_name="经办人乙", mobile="", unit=tree.county_gov)
    clerk.refresh_from_db()
    assert (clerk.full_name, clerk.mobile, clerk.unit) == ("经办人乙", "", tree.county_gov)
    changes = last_audit("directory.user.update").details["changes"]
    assert "13800138000" not in str(changes)  # the mobile number itself is not copied into the log


def test_update_user_refuses_unit_leaving_role_scope(sysadmin, tree, clerk):
    services.do_update_user(sysadmin, clerk, unit=tree.county_gov)
    services.do_grant_role(sysadmin, clerk, BusinessRole.objects.get(code="clerk"), tree.township)
    error = refused(Conflict, services.do_update_user, sysadmin, clerk, unit=tree.county_dept)
    assert error.field == "unit" and "请先收回" in error.message


def test_disable_and_enable(sysadmin, clerk):
    services.do_disable_user(sysadmin, clerk)
    clerk.refresh_from_db()
    assert not clerk.is_active
    error = refused(Conflict, services.do_disable_user, sysadmin, clerk)
    assert "已停用" in error.message
    services.do_enable_user(sysadmin, clerk)
    clerk.refresh_from_db()
    assert clerk.is_active
    assert audit_count("directory.user.disable", "success") == 1
    assert audit_count("directory.user.enable", "success") == 1


def test_system_admin_cannot_disable_self_or_other_admins(sysadmin, secadmin):
    error = refused(DomainError, services.do_disable_user, sysadmin, sysadmin)
    assert "本人" in error.message
    error = refused(PermissionDenied, services.do_disable_user, sysadmin, secadmin)
    assert "管理员账号" in error.message
    refused(PermissionDenied, services.do_reset_password, sysadmin, secadmin, STRONG_PASSWORD)


def test_reset_password(sysadmin, clerk):
    new = "Another#Pass-2026"
    services.do_reset_password(sysadmin, clerk, new)
    clerk.refresh_from_db()
    assert clerk.check_password(new) and clerk.must_change_password
    error = refused(DomainError, services.do_reset_password, sysadmin, clerk, "abc")
    assert error.field == "password" and error.message.startswith("新密码")
    error = refused(DomainError, services.do_reset_password, sysadmin, sysadmin, new)
    assert "本人" in error.message


def test_grant_and_revoke_role(sysadmin, tree, clerk):
    role = BusinessRole.objects.get(code="data_admin")
    grant = services.do_grant_role(sysadmin, clerk, role)
    assert grant.unit == tree.county_dept and grant.granted_by == sysadmin
    error = refused(Conflict, services.do_grant_role, sysadmin, clerk, role)
    assert "已在" in error.message
    services.do_revoke_role(sysadmin, grant)
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert audit_count("directory.role.grant", "success") == 1
    assert audit_count("directory.role.revoke", "success") == 1


def test_role_unit_must_be_own_unit_or_below(sysadmin, tree, make_user):
    user = make_user(unit=tree.county_gov)
    role = BusinessRole.objects.get(code="reviewer")
    assert services.do_grant_role(sysadmin, user, role, tree.township).unit == tree.township
    error = refused(DomainError, services.do_grant_role, sysadmin, user, role, tree.department)
    assert error.field == "unit" and "下级单位" in error.message


def test_base_roles_registered():
    roles = dict(BusinessRole.objects.filter(app_label="directory").values_list("code", "name"))
    assert roles == {"data_admin": "数据管理员", "clerk": "业务经办人", "reviewer": "审核人"}
