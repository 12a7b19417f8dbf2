"""The demo city: real 梅州市 codes from the table, valid demo USCCs, idempotent loading."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import call_command
from stdnum.cn import uscc as stdnum_uscc

from zhengwu.audit.models import AuditRecord
from zhengwu.core import divisions
from zhengwu.directory import demo
from zhengwu.directory.models import RoleGrant, Unit, User
from zhengwu.directory.rules import uscc_problem

from .conftest import division_code

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    units = list(Unit.objects.order_by("pk").values_list("pk", "name", "parent_id", "division_code", "uscc"))
    users = list(User.objects.order_by("pk").values_list("pk", "username", "password", "admin_role"))
    grants = list(RoleGrant.objects.order_by("pk").values_list("pk", "user_id", "role_id", "unit_id"))
    audit = list(AuditRecord.objects.order_by("seq").values_list("seq", "hash"))
    return units, users, grants, audit


def test_demo_uscc_is_valid_and_deterministic():
    code = demo.demo_uscc("示范市公安局", "441400")
    assert code == demo.demo_uscc("示范市公安局", "441400")
    assert code[:8] == "11441400" and len(code) == 18
    assert stdnum_uscc.is_valid(code)  # independent implementation
    assert uscc_problem(code) is None
    assert demo.demo_uscc("事业单位", "441400", institution=True)[:2] == "12"


def test_load_demo_city(capsys):
    call_command("load_demo_city")
    out = capsys.readouterr().out
    assert "演示值" in out and "Zhengwu@2026demo" in out and "TOTP" in out and "xtadmin" in out

    city_code = division_code("梅州市")
    levels = Counter(Unit.objects.values_list("level", flat=True))
    assert levels["city"] == 6 + 20 + 1 + 3  # bodies + departments + one 事业单位 + 编办/残联/税务
    assert levels["county"] == 4 + 5 + 4 + 4 + 3  # governments + departments
    assert levels["township"] == 10
    assert levels["village"] == 3
    counties = {u.name for u in Unit.objects.filter(level="county", unit_type="government")}
    assert counties == {"梅江区人民政府", "梅县区人民政府", "兴宁市人民政府", "平远县人民政府"}
    for unit in Unit.objects.all():
        division = divisions.get(unit.division_code)
        assert division is not None, unit.name
        assert unit.division_code[:4] == city_code[:4]
        if unit.level == "county":
            assert division.name == unit.name[:3]
        if unit.uscc:
            assert uscc_problem(unit.uscc) is None and unit.uscc[2:8] == unit.division_code
    assert Unit.objects.filter(name="示范市人民政府", parent=None, division_code=city_code).exists()

    admins = dict(User.objects.exclude(admin_role="").values_list("username", "admin_role"))
    assert admins == {"xtadmin": "system_admin", "aqadmin": "security_admin", "sjadmin": "audit_admin"}
    assert not RoleGrant.objects.filter(user__username__in=admins).exists()
    for user in User.objects.all():
        # The published demo password is changed at first login.
        assert user.check_password(demo.DEFAULT_PASSWORD) and user.must_change_password
    assert set(
        RoleGrant.objects.filter(user__username="zwb_review").values_list("role__code", flat=True)
    ) == {"reviewer"}
    assert AuditRecord.objects.filter(action="directory.demo.load").count() == 1


def test_second_run_changes_nothing(capsys):
    call_command("load_demo_city")
    before = snapshot()
    call_command("load_demo_city")
    assert "未做任何更改" in capsys.readouterr().out
    assert snapshot() == before


def test_password_from_environment(monkeypatch):
    monkeypatch.setenv("ZHENGWU_DEMO_PASSWORD", "Another-Demo#2026")
    report = demo.load_demo_city()
    assert report.password == "Another-Demo#2026"
    assert User.objects.get(username="xtadmin").check_password("Another-Demo#2026")


def test_weak_demo_password_refused(monkeypatch):
    from django.core.management import CommandError

    monkeypatch.setenv("ZHENGWU_DEMO_PASSWORD", "weak")
    with pytest.raises(CommandError, match="演示密码不符合密码策略"):
        call_command("load_demo_city")
    assert Unit.objects.count() == 0 and User.objects.count() == 0


def test_demo_pages_render():
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    demo.load_demo_city()
    User.objects.update(must_change_password=False)  # as after each person's first-login change
    client = Client()
    client.force_login(User.objects.get(username="xtadmin"))
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("directory:unit_tree"))
    assert page.status_code == 200 and "梅江区人民政府" in page.content.decode()
    assert len(ctx.captured_queries) < 15  # the tree is built from one query, not one per unit
    assert client.get(reverse("directory:user_list")).status_code == 200
    clerk = Client()
    clerk.force_login(User.objects.get(username="zwb_clerk"))
    assert clerk.get(reverse("directory:browse")).status_code == 200
    assert clerk.get(reverse("directory:unit_tree")).status_code == 403
