"""The API documents itself in Chinese, and its 422 answers name fields as people know them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


@pytest.fixture
def spec(client: Client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return [(m.upper(), path, op) for path, ops in spec["paths"].items() for m, op in ops.items() if m in methods]


def test_every_operation_has_a_chinese_summary(spec: dict[str, Any]) -> None:
    operations = _operations(spec)
    assert len(operations) > 30  # every app's router is there
    missing = [f"{m} {p}: {op.get('summary')!r}" for m, p, op in operations if not HAN.search(op.get("summary") or "")]
    assert missing == []


def test_every_tag_is_chinese(spec: dict[str, Any]) -> None:
    tags = {t for _, _, op in _operations(spec) for t in op.get("tags", [])}
    assert tags >= {"安全审计", "身份认证", "机构与人员", "政务信息资源目录", "数据归集", "校验与行政区划"}
    # A tag is a Chinese name, not a code name with Chinese beside it ("directory 机构与人员").
    assert [t for t in tags if not HAN.search(t) or LATIN_WORD.search(t)] == []
    assert all(op.get("tags") for _, _, op in _operations(spec))


@pytest.mark.django_db
def test_a_422_names_the_field_by_its_label_and_keeps_the_code(client: Client, make_user: Any) -> None:
    client.force_login(make_user("auditor_x", admin_role="audit_admin"))
    response = client.get("/api/v1/audit/records", {"result": "maybe", "start": "昨天"})
    assert response.status_code == 422
    body = response.json()
    assert sorted(body["errors"], key=lambda e: e["field"]) == [
        {"field": "result", "message": "结果：只能是以下之一：'success'、'failure'"},
        {"field": "start", "message": "起始日期：必须是日期（YYYY-MM-DD）"},
    ]
    assert "result" not in body["detail"] and "start" not in body["detail"]
