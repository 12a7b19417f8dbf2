"""The 审计管理员 console: search, detail, CSV export, verify; other administrators get 403."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from zhengwu.audit.models import AuditRecord
from zhengwu.audit.services import record_event

from .conftest import disable_guards, raw_update_details


@pytest.fixture
def auditor_client(client: Any, audit_admin: Any) -> Any:
    client.force_login(audit_admin)
    return client


@pytest.fixture
def sample(make_user: Any) -> dict[str, Any]:
    alice = make_user("alice", full_name="李丽", unit=None)
    bob = make_user("bob", full_name="王波")
    record_event(
        alice, "catalog.create", object_type="catalog_entry", object_id="42", details={"名称": "人口库"}
    )
    record_event(bob, "identity.login", result="failure", source_ip="10.9.8.7")
    record_event(alice, "sharing.approve", object_type="share_request", object_id="7")
    return {"alice": alice, "bob": bob}


def rows_of(response: Any) -> list[Any]:
    return list(response.context["page"].object_list)


def test_audit_admin_sees_records_and_the_search_is_audited(
    auditor_client: Any, sample: dict[str, Any]
) -> None:
    response = auditor_client.get(reverse("audit:records"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "审计记录检索" in content
    assert "catalog.create" in content
    assert "核验审计链完整性" in content
    last = AuditRecord.objects.order_by("-seq").first()
    assert last is not None
    assert (last.action, last.actor) == ("audit.search", "auditor")
    assert last.details["via"] == "console"


@pytest.mark.parametrize(
    ("params", "expected_actions"),
    [
        ({"actor": "alice"}, {"catalog.create", "sharing.approve"}),
        ({"actor": "王波"}, {"identity.login"}),
        ({"action": "identity."}, {"identity.login"}),
        ({"result": "failure"}, {"identity.login"}),
        ({"object_type": "share_request", "object_id": "7"}, {"sharing.approve"}),
    ],
)
def test_filters(
    auditor_client: Any, sample: dict[str, Any], params: dict[str, str], expected_actions: set[str]
) -> None:
    response = auditor_client.get(reverse("audit:records"), params)
    assert response.status_code == 200
    assert {r.action for r in rows_of(response)} == expected_actions
    assert AuditRecord.objects.order_by("-seq").first().details["filters"] == params  # type: ignore[union-attr]


def test_filter_by_unit_and_dates(auditor_client: Any, sample: dict[str, Any]) -> None:
    from django.utils import timezone

    unit_name = sample["bob"].unit.name
    response = auditor_client.get(reverse("audit:records"), {"unit": unit_name})
    assert {r.actor for r in rows_of(response)} == {"bob"}
    today = timezone.localdate().isoformat()
    response = auditor_client.get(reverse("audit:records"), {"start": today, "end": today})
    assert len(rows_of(response)) >= 3
    response = auditor_client.get(reverse("audit:records"), {"start": "2001-01-01", "end": "2001-12-31"})
    assert rows_of(response) == []


def test_paging_50_per_page(auditor_client: Any, make_records: Any) -> None:
    make_records(60)
    response = auditor_client.get(reverse("audit:records"), {"action": "test.", "page": 2})
    page = response.context["page"]
    assert page.paginator.num_pages == 2
    assert len(page.object_list) == 10
    assert page.object_list[0].seq == 10  # newest first: page 2 holds #10 .. #1
    assert "action=test." in response.context["querystring"]
    response = auditor_client.get(reverse("audit:records"), {"page": "abc"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-03-01", "end": "2026-02-01"}, "截止日期不能早于起始日期"),
        ({"start": "2026-02-30"}, "请输入有效的日期"),
        ({"end": "昨天"}, "请输入有效的日期"),
        ({"start": "0001-01-01"}, "日期须在 1970 年至 2999 年之间"),
        ({"result": "maybe"}, "结果只能是"),
    ],
)
def test_bad_filters_give_chinese_errors(auditor_client: Any, params: dict[str, str], message: str) -> None:
    response = auditor_client.get(reverse("audit:records"), params)
    assert response.status_code == 400
    assert message in response.content.decode()
    response = auditor_client.get(reverse("audit:export"), params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_export_csv_has_bom_and_the_filtered_rows(auditor_client: Any, sample: dict[str, Any]) -> None:
    response = auditor_client.get(reverse("audit:export"), {"actor": "alice"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["序号", "时间", "操作人"]
    data = rows[1:]
    assert [r[6] for r in data] == ["catalog.create", "sharing.approve"]  # in chain order
    assert data[0][2] == "alice"
    assert data[0][3] == "李丽"
    assert '"名称": "人口库"' in data[0][12]
    assert len(data[0][14]) == 64
    export_event = AuditRecord.objects.filter(action="audit.export").get()
    assert export_event.details["filters"] == {"actor": "alice"}


def test_export_neutralises_spreadsheet_formulas(auditor_client: Any) -> None:
    record_event(None, "test.formula", object_id='=HYPERLINK("http://x")')
    response = auditor_client.get(reverse("audit:export"), {"action": "test.formula"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().removeprefix("\ufeff"))))
    assert rows[1][10].startswith("'=")


def test_export_is_capped(auditor_client: Any, make_records: Any, monkeypatch: Any) -> None:
    from zhengwu.audit import views

    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 3)
    make_records(5)
    response = auditor_client.get(reverse("audit:export"), {"action": "test.event"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().removeprefix("\ufeff"))))
    assert len(rows) == 1 + 3 + 1
    assert "导出上限 3 条" in rows[-1][0]


def test_record_detail_shows_the_chain_fields(auditor_client: Any, sample: dict[str, Any]) -> None:
    record = AuditRecord.objects.get(seq=2)
    response = auditor_client.get(reverse("audit:record_detail", args=[2]))
    assert response.status_code == 200
    content = response.content.decode()
    assert record.hash in content
    assert record.prev_hash in content
    assert "与内容一致" in content
    assert AuditRecord.objects.order_by("-seq").first().action == "audit.view"  # type: ignore[union-attr]
    assert auditor_client.get(reverse("audit:record_detail", args=[9999])).status_code == 404


def test_record_detail_flags_a_tampered_record(auditor_client: Any, sample: dict[str, Any]) -> None:
    disable_guards()
    raw_update_details(1, {"名称": "改过"})
    response = auditor_client.get(reverse("audit:record_detail", args=[1]))
    assert "与内容不符" in response.content.decode()


def test_verify_button(auditor_client: Any, sample: dict[str, Any]) -> None:
    assert auditor_client.get(reverse("audit:verify")).status_code == 200
    response = auditor_client.post(reverse("audit:verify"))
    assert response.status_code == 200
    assert "审计链完整" in response.content.decode()
    event = AuditRecord.objects.order_by("-seq").first()
    assert event is not None
    assert (event.action, event.result) == ("audit.verify", "success")

    disable_guards()
    raw_update_details(2, {"x": 1})
    response = auditor_client.post(reverse("audit:verify"))
    content = response.content.decode()
    assert "记录 #2 的内容被篡改（哈希不符）" in content
    assert AuditRecord.objects.order_by("-seq").first().result == "failure"  # type: ignore[union-attr]


@pytest.mark.parametrize("role_fixture", ["system_admin", "security_admin"])
@pytest.mark.parametrize("url_name", ["audit:records", "audit:export", "audit:verify"])
def test_other_administrators_get_403(client: Any, request: Any, role_fixture: str, url_name: str) -> None:
    client.force_login(request.getfixturevalue(role_fixture))
    before = AuditRecord.objects.count()
    response = client.get(reverse(url_name))
    assert response.status_code == 403
    assert "审计管理员" in response.content.decode()
    assert client.post(reverse("audit:verify")).status_code == 403
    assert AuditRecord.objects.count() == before


def test_ordinary_user_gets_403_and_anonymous_is_sent_to_login(client: Any, make_user: Any) -> None:
    assert client.get(reverse("audit:records")).status_code == 302
    client.force_login(make_user("clerk"))
    assert client.get(reverse("audit:records")).status_code == 403
    assert client.get(reverse("audit:record_detail", args=[1])).status_code == 403


def test_console_entry_on_the_home_page(client: Any, audit_admin: Any, system_admin: Any) -> None:
    client.force_login(audit_admin)
    content = client.get(reverse("core:home")).content.decode()
    assert "审计管理" in content
    assert reverse("audit:records") in content
    client.force_login(system_admin)
    assert 'data-console="audit"' not in client.get(reverse("core:home")).content.decode()
