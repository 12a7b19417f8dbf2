"""Errors outside a view: JSON under the registered machine-facing prefixes, a Chinese page for a
wrong method on a page (Django's require_POST answers an empty 405)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_an_unknown_gateway_route_answers_the_gateways_json(client: Any) -> None:
    r = client.get("/gateway/v1/no-such-endpoint")
    assert r.status_code == 404 and r["Content-Type"].startswith("application/json")
    assert r.json() == {"error": {"status": 404, "message": "请求的地址不存在", "field": ""}}


def test_the_api_keeps_its_own_error_body(client: Any) -> None:
    r = client.get("/api/v1/no-such-endpoint")
    assert r.status_code == 404 and r.json() == {"detail": "请求的地址不存在", "errors": []}


def test_a_get_on_a_post_only_page_is_a_chinese_405_page(client: Any, make_user: Any) -> None:
    client.force_login(make_user("someone"))
    r = client.get("/notifications/read-all")
    if r.status_code != 405:  # the page that is POST-only must exist for this test to mean anything
        pytest.fail(f"/notifications/read-all answered {r.status_code} to GET; pick another POST-only page")
    html = r.content.decode()
    assert "不支持的请求方式" in html and "POST" in html and r["Allow"] == "POST"


def test_a_page_error_with_a_body_is_left_alone(client: Any) -> None:
    r = client.get("/no-such-page/")
    assert r.status_code == 404 and "页面不存在" in r.content.decode()
