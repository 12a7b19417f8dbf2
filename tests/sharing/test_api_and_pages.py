"""The sharing API (JSON, {count, items}, Chinese errors naming the field, nothing written on
bad input) and the console pages (who sees what, forms that refuse in Chinese)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from zhengwu.audit.models import AuditRecord
from zhengwu.sharing import services
from zhengwu.sharing.models import GrantStatus, RequestStatus, ShareGrant, ShareRequest

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    # Deadlines are counted from "today": fix it, so a run late in December (whose 10 working
    # days would reach the not yet published 2027 calendar) tests the same thing.
    monkeypatch.setattr(services, "_today", lambda: TODAY)


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "purpose": "办理社会保险参保登记时核验参保人身份", "legal_basis": "《社会保险法》第五十七条",
        "items": ["id_no", "person_name", "division_code"], "clear_items": ["id_no"],
        "scope": {"division_code": ["441402"]}, "valid_from": "2026-12-01", "valid_until": "2027-11-30",
    }
    data.update(overrides)
    return data


def test_api_request_approve_and_lists(
    publish: Callable[..., Any], consumer_admin: Any, provider_reviewer: Any, other_reviewer: Any
) -> None:
    entry = publish()
    rs, ga = client_for(consumer_admin), client_for(provider_reviewer)
    created = rs.post("/api/v1/sharing/requests", body(entry=entry.resource_code), content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "pending" and data["deadline"] == "2026-12-15"
    assert [e["kind"] for e in data["timeline"]] == ["提交申请"]
    rid = data["id"]
    mine = rs.get("/api/v1/sharing/requests").json()
    assert mine["count"] == 1 and mine["items"][0]["id"] == rid
    queue = ga.get("/api/v1/sharing/review-queue").json()
    assert queue == {"count": 1, "items": queue["items"]} and queue["items"][0]["id"] == rid
    # Another unit's reviewer neither sees nor decides it.
    other = client_for(other_reviewer)
    assert other.get(f"/api/v1/sharing/requests/{rid}").status_code == 404
    assert other.post(f"/api/v1/sharing/requests/{rid}/approve", {}, content_type="application/json").status_code == 404
    # Widening refused with the field named; nothing changes.
    wide = ga.post(f"/api/v1/sharing/requests/{rid}/approve", {"items": ["id_no", "person_name", "division_code", "gender"]},
                   content_type="application/json")
    assert wide.status_code == 400
    assert wide.json()["errors"] == [{"field": "items", "message": wide.json()["detail"]}]
    assert "不能扩大" in wide.json()["detail"]
    approved = ga.post(f"/api/v1/sharing/requests/{rid}/approve",
                       {"items": ["id_no", "division_code"], "clear_items": [], "comment": "姓名不在办理所需范围"},
                       content_type="application/json")
    assert approved.status_code == 200, approved.content
    grant = approved.json()["grant"]
    assert grant["items"] == ["id_no", "division_code"] and grant["clear_items"] == [] and grant["status"] == "active"
    assert rs.get("/api/v1/sharing/grants").json()["count"] == 1
    assert ga.get("/api/v1/sharing/grants?role=given").json()["count"] == 1
    bad_role = ga.get("/api/v1/sharing/grants?role=all")
    assert bad_role.status_code == 400 and bad_role.json()["errors"][0]["field"] == "role"
    revoked = ga.post(f"/api/v1/sharing/grants/{grant['id']}/revoke", {"reason": "职责调整，停止共享"}, content_type="application/json")
    assert revoked.json()["status"] == "revoked"
    assert rs.post(f"/api/v1/sharing/grants/{grant['id']}/revoke", {"reason": "消费方不能撤销"},
                   content_type="application/json").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field", "status"),
    [
        ({"purpose": ""}, "purpose", 400),
        ({"items": "id_no"}, "items", 422),
        ({"valid_from": "2026-13-01"}, "valid_from", 422),
        ({"scope": {"division_code": ["110105"]}}, "scope", 400),
        ({"entry": "no-such-code"}, "entry", 404),
        ({"purpose": "用" * 2001}, "purpose", 422),
    ],
)
def test_api_bad_input_names_the_field_in_chinese(
    publish: Callable[..., Any], consumer_admin: Any, overrides: dict[str, Any], field: str, status: int
) -> None:
    entry = publish()
    payload = body(entry=entry.resource_code)
    payload.update(overrides)
    answer = client_for(consumer_admin).post("/api/v1/sharing/requests", payload, content_type="application/json")
    assert answer.status_code == status, answer.content
    errors = answer.json()["errors"]
    assert errors and errors[0]["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors[0]["message"])
    assert not ShareRequest.objects.exists()


def test_api_not_shared_and_anonymous(publish: Callable[..., Any], consumer_admin: Any) -> None:
    entry = publish("不予共享", name="治安案件明细", category="3", class_item="05", open_basis="《中华人民共和国数据安全法》")
    refused = client_for(consumer_admin).post("/api/v1/sharing/requests", body(entry=str(entry.pk)), content_type="application/json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "entry"
    assert "不予共享" in refused.json()["detail"]
    assert Client().get("/api/v1/sharing/requests").status_code == 401
    assert AuditRecord.objects.filter(action="sharing.request.file", result="failure").count() == 1


def test_api_supervision_and_needs(
    publish: Callable[..., Any], ask: Callable[..., Any], consumer_admin: Any, authority_admin: Any, provider: Any,
    provider_admin: Any,
) -> None:
    ask(publish(), today=date(2026, 9, 30), valid_from=date(2026, 9, 30))
    assert client_for(consumer_admin).get("/api/v1/sharing/supervision").status_code == 403
    listed = client_for(authority_admin).get("/api/v1/sharing/supervision").json()
    assert listed["count"] == 1 and listed["items"][0]["deadline"] == "2026-10-20"
    rs = client_for(consumer_admin)
    bad = rs.post("/api/v1/sharing/needs", {"title": "流动", "description": "x", "purpose": "开展就业帮扶"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "title"
    need = rs.post("/api/v1/sharing/needs", {"title": "流动人口就业意向", "description": "需要流动人口居住地和就业意向，按街道每月更新",
                                             "purpose": "开展就业帮扶"}, content_type="application/json")
    assert need.status_code == 201
    nid = need.json()["id"]
    dsj = client_for(authority_admin)
    assigned = dsj.post(f"/api/v1/sharing/needs/{nid}/assign", {"unit": provider.pk}, content_type="application/json")
    assert assigned.json()["assigned_unit"] == provider.name
    answered = client_for(provider_admin).post(f"/api/v1/sharing/needs/{nid}/answer", {"answer": "该数据未采集，暂不能提供"},
                                                content_type="application/json")
    assert answered.json()["status"] == "declined"
    assert rs.get("/api/v1/sharing/needs").json()["count"] == 1


def test_pages_request_form_detail_and_decision(
    publish: Callable[..., Any], consumer_admin: Any, provider_reviewer: Any, other_reviewer: Any
) -> None:
    entry = publish()
    rs = client_for(consumer_admin)
    assert "申请共享数据" in rs.get("/sharing/").content.decode()
    chooser = rs.get("/sharing/new/").content.decode()
    assert entry.name in chooser
    form = rs.get(f"/sharing/new/?entry={entry.pk}").content.decode()
    assert 'name="scope_division_code"' in form and 'name="clear_items" value="id_no"' in form
    bad = rs.post("/sharing/new/", {"entry": entry.pk, "purpose": "办理社保", "legal_basis": "《社会保险法》",
                                    "items": ["id_no"], "valid_from": "2026-12-01", "valid_until": "明年"})
    assert bad.status_code == 400 and "有效期止：“明年”不是日期" in bad.content.decode()
    assert not ShareRequest.objects.exists()
    ok = rs.post("/sharing/new/", {"entry": entry.pk, "purpose": "办理社会保险参保登记", "legal_basis": "《社会保险法》第五十七条",
                                   "items": ["id_no", "person_name", "division_code"], "clear_items": ["id_no"],
                                   "scope_division_code": "441402, 441403", "valid_from": "2026-12-01", "valid_until": "2027-11-30"})
    assert ok.status_code == 302
    req = ShareRequest.objects.get()
    assert req.scope == {"division_code": ["441402", "441403"]} and req.clear_items == ["id_no"]
    page = rs.get(f"/sharing/requests/{req.pk}/").content.decode()
    assert "提交申请" in page and "approve-form" not in page
    ga = client_for(provider_reviewer)
    review = ga.get(f"/sharing/requests/{req.pk}/").content.decode()
    assert "approve-form" in review and "refuse-form" in review
    assert client_for(other_reviewer).get(f"/sharing/requests/{req.pk}/").status_code == 404
    assert client_for(other_reviewer).post(f"/sharing/requests/{req.pk}/approve/", {}).status_code == 404
    ga.post(f"/sharing/requests/{req.pk}/approve/", {"items": ["id_no", "division_code"], "scope_division_code": "441402",
                                                    "valid_from": "2026-12-01", "valid_until": "2027-06-30"})
    grant = ShareGrant.objects.get()
    assert grant.items == ["id_no", "division_code"] and grant.clear_items == [] and grant.scope == {"division_code": ["441402"]}
    assert grant.status == GrantStatus.ACTIVE
    detail = rs.get(f"/sharing/requests/{req.pk}/").content.decode()
    assert "审核通过" in detail and "申请续期" in detail
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED


def test_pages_refuse_those_without_the_role(consumer_admin: Any, make_user: Any, provider: Any) -> None:
    assert client_for(consumer_admin).get("/sharing/review/").status_code == 403
    assert client_for(consumer_admin).get("/sharing/supervision/").status_code == 403
    clerk = make_user(unit=provider)
    assert client_for(clerk).get("/sharing/new/").status_code == 403
    admin = make_user(admin_role="system_admin")
    assert client_for(admin).get("/sharing/").status_code == 403
    for path in ("/sharing/", "/sharing/grants/", "/sharing/needs/"):
        assert client_for(clerk).get(path).status_code == 200


def test_console_entries_and_todos(provider_reviewer: Any, authority_admin: Any, consumer_admin: Any) -> None:
    from zhengwu.core.consoles import entries_for, todos_for

    assert {"sharing.mine", "sharing.review", "sharing.grants", "sharing.needs"} <= {e.key for e in entries_for(provider_reviewer)}
    assert "sharing.review" not in {e.key for e in entries_for(consumer_admin)}
    assert "sharing.supervision" in {e.key for e in entries_for(authority_admin)}
    assert {t.key for t in todos_for(provider_reviewer)} >= {"sharing.review", "sharing.overdue"}
    for todo in todos_for(provider_reviewer) + todos_for(authority_admin):
        if todo.key.startswith("sharing."):
            user = provider_reviewer if todo in todos_for(provider_reviewer) else authority_admin
            assert client_for(user).get(todo.url).status_code == 200
