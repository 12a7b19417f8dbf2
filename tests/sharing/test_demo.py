"""The sharing demo on the demo city and catalog: the accounts get their roles through
directory's services; 人社局's request for 人口基本信息 asks for clear identity numbers, so it waits
for 公安局's reviewer, who then (the gateway demo) approves it narrowed: masked, scoped to 人社局's
jurisdiction."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.management import call_command

from zhengwu.audit.models import AuditRecord
from zhengwu.directory.models import User
from zhengwu.sharing import queries, services
from zhengwu.sharing.models import RequestStatus, ShareRequest


def test_demo_sharing(db: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_today", lambda: date(2026, 12, 1))
    call_command("load_demo_city")
    call_command("load_demo_catalog")
    call_command("load_demo_sharing")
    out = capsys.readouterr().out
    assert "rsj_data" in out and "示例共享申请" in out
    reviewer = User.objects.get(username="gaj_share")
    req = ShareRequest.objects.get()
    assert req.clear_items == ["id_no"] and req.deadline == date(2026, 12, 15)
    assert [e.kind for e in queries.timeline(req)] == ["提交申请", "审核通过"]
    assert req.status == RequestStatus.APPROVED and req.reviewer == reviewer
    grant = queries.grant_of(req)
    assert grant is not None and grant.clear_items == [] and grant.scope == {"division_code": [req.consumer.division_code]}
    assert list(queries.review_queue(reviewer)) == []
    assert AuditRecord.objects.filter(action="directory.role.grant").count() >= 2
    call_command("load_demo_sharing")  # idempotent
    assert ShareRequest.objects.count() == 1


def test_demo_loads_when_the_deadline_reaches_a_year_not_entered(db: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Late in the holiday package's last year the demo request's deadline falls in the next year:
    the demo's 系统管理员 enters its 元旦 and registers it as demo data (audited, said so), and the
    request is filed with a deadline counted over 1 January."""
    from zhengwu.core import workdays
    from zhengwu.core.models import HolidayOverride, HolidayYear

    nxt = workdays.package_years()[1] + 1
    monkeypatch.setattr(services, "_today", lambda: date(nxt - 1, 12, 28))
    call_command("load_demo_city")
    call_command("load_demo_catalog")
    call_command("load_demo_sharing")
    out = capsys.readouterr().out
    assert f"工作日历未收录{nxt} 年" in out and "演示数据" in out
    year = HolidayYear.objects.get()
    assert year.year == nxt and year.basis.startswith("演示数据") and year.who == "xtadmin"
    assert list(HolidayOverride.objects.values_list("date", "is_working_day")) == [(date(nxt, 1, 1), False)]
    assert AuditRecord.objects.filter(action="core.holiday.year", object_id=str(nxt)).count() == 1
    req = ShareRequest.objects.get()
    assert req.deadline == workdays.add_working_days(date(nxt - 1, 12, 28), 10) and req.deadline.year == nxt
    call_command("load_demo_sharing")  # idempotent: nothing entered twice
    assert HolidayYear.objects.count() == 1 and ShareRequest.objects.count() == 1

