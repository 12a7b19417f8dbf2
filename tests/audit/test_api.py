"""/api/v1/audit: audit administrator only, paged, reads audited."""

from __future__ import annotations

from typing import Any

import pytest

from zhengwu.audit.models import AuditRecord

from .conftest import disable_guards, raw_delete

BASE = "/api/v1/audit"


@pytest.fixture
def api(client: Any, audit_admin: Any) -> Any:
    client.force_login(audit_admin)
    return client


def test_list_records_paged(api: Any, make_records: Any) -> None:
    make_records(30)
    response = api.get(f"{BASE}/records", {"action": "test.", "limit": 10, "offset": 5})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["limit"], body["offset"]) == (30, 10, 5)
    assert [item["seq"] for item in body["items"]] == list(range(25, 15, -1))
    item = body["items"][0]
    assert set(item) >= {
        "occurred_at",
        "actor",
        "actor_unit",
        "source_ip",
        "action",
        "result",
        "details",
        "hash",
    }
    event = AuditRecord.objects.order_by("-seq").first()
    assert event is not None
    assert (event.action, event.actor) == ("audit.search", "auditor")
    assert event.details["via"] == "api"


def test_filters_and_validation(api: Any, make_records: Any) -> None:
    make_records(3)
    assert api.get(f"{BASE}/records", {"result": "failure"}).json()["count"] == 0
    response = api.get(f"{BASE}/records", {"limit": 201})
    assert response.status_code == 400  # paging out of range: 400 naming limit (core/api.py)
    assert "limit（每页条数）：不能大于 200" in response.json()["detail"]
    response = api.get(f"{BASE}/records", {"start": "2026-03-01", "end": "2026-02-01"})
    assert response.status_code == 400
    assert response.json()["errors"][0] == {"field": "end", "message": "截止日期不能早于起始日期"}
    assert api.get(f"{BASE}/records", {"start": "不是日期"}).status_code == 422
    assert api.get(f"{BASE}/records", {"offset": -1}).status_code == 400


def test_get_one_record(api: Any, make_records: Any) -> None:
    records = make_records(2)
    response = api.get(f"{BASE}/records/2")
    assert response.status_code == 200
    assert response.json()["hash"] == records[1].hash
    assert response.json()["prev_hash"] == records[0].hash
    assert AuditRecord.objects.order_by("-seq").first().action == "audit.view"  # type: ignore[union-attr]
    response = api.get(f"{BASE}/records/999")
    assert response.status_code == 404
    assert "不存在" in response.json()["detail"]


def test_verify(api: Any, make_records: Any) -> None:
    make_records(3)
    body = api.post(f"{BASE}/verify").json()
    assert body["ok"] is True
    assert body["problem"] is None
    disable_guards()
    raw_delete(2)
    body = api.post(f"{BASE}/verify").json()
    assert body["ok"] is False
    assert body["problem"] == {
        "seq": 2,
        "kind": "removed",
        "message": "记录 #3 之前缺少记录 #2（已被删除）",
        "field": None,
    }


@pytest.mark.parametrize("role", ["system_admin", "security_admin", ""])
def test_others_get_403_in_chinese(client: Any, make_user: Any, role: str) -> None:
    client.force_login(make_user(admin_role=role))
    for response in (
        client.get(f"{BASE}/records"),
        client.get(f"{BASE}/records/1"),
        client.post(f"{BASE}/verify"),
    ):
        assert response.status_code == 403
        assert response.json()["detail"] == "仅审计管理员可执行此操作"


def test_anonymous_gets_401(client: Any, db: Any) -> None:
    assert client.get(f"{BASE}/records").status_code == 401
