"""The sharing demo on the demo city and catalog: the accounts get their roles through
directory's services, and 人社局's request for 人口基本信息 waits for 公安局's reviewer."""

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
    assert req.status == RequestStatus.PENDING and req.clear_items == ["id_no"]
    assert req.deadline == date(2026, 12, 15)
    assert list(queries.review_queue(reviewer)) == [req]
    assert AuditRecord.objects.filter(action="directory.role.grant").count() >= 2
    call_command("load_demo_sharing")  # idempotent
    assert ShareRequest.objects.count() == 1
