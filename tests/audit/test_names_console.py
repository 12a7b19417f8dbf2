"""The audit console speaks in names: the list, the dropdown filters, free text 登录, CSV, API."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.urls import reverse

from zhengwu.audit.models import AuditRecord
from zhengwu.audit.services import record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(client: Any, audit_admin: Any) -> Any:
    client.force_login(audit_admin)
    return client


@pytest.fixture
def events(make_user: Any) -> None:
    bob = make_user("bob", full_name="王波")
    record_event(bob, "identity.login", object_type="directory.user", object_id=bob.pk)
    record_event(None, "identity.login", result="failure", actor_username="mallory")
    record_event(bob, "datahub.source.create", object_type="data_source", object_id="9")
    record_event(bob, "catalog.entry.approve", object_type="catalog_entry", object_id="330100-001")


def _actions(response: Any) -> list[str]:
    return [r.action for r in response.context["page"].object_list]


def test_the_list_shows_names_with_the_code_beside(auditor: Any, events: None) -> None:
    response = auditor.get(reverse("audit:records"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'title="datahub.source.create">添加数据库来源<br><span class="helptext mono">datahub.source.create</span>' in html
    assert '<span title="data_source">数据库来源</span>' in html
    assert '<span title="catalog_entry">目录</span>' in html


def test_the_filters_are_dropdowns_of_the_registered_names_grouped_by_app(auditor: Any, events: None) -> None:
    html = auditor.get(reverse("audit:records")).content.decode()
    action_select = re.search(r'<select name="action"[^>]*>(.*?)</select>', html, re.S)
    assert action_select is not None
    options = action_select.group(1)
    assert '<optgroup label="身份认证">' in options
    assert '<option value="identity.login">登录</option>' in options
    assert '<option value="identity.">身份认证（本类全部操作）</option>' in options
    assert '<optgroup label="数据归集">' in options
    type_select = re.search(r'<select name="object_type"[^>]*>(.*?)</select>', html, re.S)
    assert type_select is not None
    assert '<option value="data_source">数据库来源</option>' in type_select.group(1)


def test_filter_by_chosen_name(auditor: Any, events: None) -> None:
    response = auditor.get(reverse("audit:records"), {"action": "identity.login"})
    assert _actions(response) == ["identity.login", "identity.login"]
    assert '<option value="identity.login" selected>登录</option>' in response.content.decode()
    response = auditor.get(reverse("audit:records"), {"object_type": "data_source"})
    assert _actions(response) == ["datahub.source.create"]


def test_an_unregistered_code_is_still_accepted_and_shown_as_such(auditor: Any, events: None) -> None:
    record_event(None, "legacy.thing")
    response = auditor.get(reverse("audit:records"), {"action": "legacy."})
    assert response.status_code == 200
    assert _actions(response) == ["legacy.thing"]
    assert '<option value="legacy." selected>legacy.（未登记的代码）</option>' in response.content.decode()


def test_free_text_登录_finds_the_logins(auditor: Any, events: None) -> None:
    response = auditor.get(reverse("audit:records"), {"q": "登录"})
    assert response.status_code == 200
    assert set(_actions(response)) == {"identity.login"}
    assert len(_actions(response)) == 2
    # Words are ANDed; a name word and an actor word together.
    response = auditor.get(reverse("audit:records"), {"q": "登录 mallory"})
    assert [r.actor for r in response.context["page"].object_list] == ["mallory"]
    response = auditor.get(reverse("audit:records"), {"q": "数据库来源"})
    assert _actions(response) == ["datahub.source.create"]


def test_csv_carries_the_code_and_the_name(auditor: Any, events: None) -> None:
    response = auditor.get(reverse("audit:export"), {"q": "登录"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][6:10] == ["操作", "操作名称", "对象类型", "对象类型名称"]
    assert [r[6:10] for r in rows[1:]] == [
        ["identity.login", "登录", "directory.user", "用户账号"],
        ["identity.login", "登录", "", ""],
    ]
    export = AuditRecord.objects.filter(action="audit.export").get()
    assert export.details["filters"] == {"q": "登录"}


def test_record_detail_names_the_action(auditor: Any, events: None) -> None:
    seq = AuditRecord.objects.get(action="datahub.source.create").seq
    html = auditor.get(reverse("audit:record_detail", args=[seq])).content.decode()
    assert "添加数据库来源" in html and "datahub.source.create" in html and "数据库来源" in html


def test_api_returns_the_labels_beside_the_codes(auditor: Any, events: None) -> None:
    body = auditor.get("/api/v1/audit/records", {"q": "数据库来源"}).json()
    assert body["count"] == 1
    item = body["items"][0]
    assert (item["action"], item["action_label"]) == ("datahub.source.create", "添加数据库来源")
    assert (item["object_type"], item["object_type_label"]) == ("data_source", "数据库来源")
    body = auditor.get("/api/v1/audit/records", {"action": "identity.login"}).json()
    assert {i["action_label"] for i in body["items"]} == {"登录"}
