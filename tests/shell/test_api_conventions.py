"""API conventions (docs/api.md): every protected operation answers an anonymous caller 401 on
every method — a POST too, before any CSRF check; a push without Authorization is 401 with a
hint naming the header; every list answers {count, limit, offset, items}; paging parameters
outside their range are 400 naming the parameter."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.shell.conftest import client_for


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    from zhengwu.api import api

    schema = api.get_openapi_schema()
    out = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            out.append((method.upper(), path, op))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_anonymous_requests_are_401_on_every_method(db: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    checked = 0
    for method, path, op in _operations():
        if not op.get("security"):
            continue
        response = client.generic(method, _concrete(path), b"{}", content_type="application/json")
        assert response.status_code == 401, f"{method} {path} → {response.status_code}"
        assert response.json()["detail"].startswith("未"), f"{method} {path}"
        checked += 1
    assert checked > 50
    # The unsafe methods were there: the old answer to an anonymous POST was 403 "CSRF".
    assert any(m == "POST" and op.get("security") for m, _, op in _operations())


def test_signed_in_post_without_csrf_token_is_403_in_chinese(city: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(city["gaj_data"])
    response = client.post("/api/v1/catalog/entries", {}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"] and re.search(r"[\u4e00-\u9fff]", response.json()["detail"])


def test_push_without_authorization_is_401_with_a_hint(db: Any) -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/datahub/resources/101001-00001/push", {"records": []}, content_type="application/json",
        headers={"Idempotency-Key": "k1"},
    )
    assert response.status_code == 401
    body = response.json()
    assert "Authorization: Bearer zwp_" in body["detail"] and "推送令牌" in body["detail"]
    assert body["errors"][0]["field"] == "Authorization"


def test_every_list_has_the_same_envelope() -> None:
    from zhengwu.api import api

    schemas = api.get_openapi_schema()["components"]["schemas"]
    # Answers whose "items" is a list of records (a request body's or a grant's 信息项, a list of
    # field names, is not a list answer).
    lists = {
        name: s for name, s in schemas.items()
        if s.get("properties", {}).get("items", {}).get("type") == "array"
        and "$ref" in s["properties"]["items"].get("items", {}) and not name.endswith("In")
    }
    assert len(lists) >= 8
    for name, s in lists.items():
        assert "count" in s["properties"], name
    assert not any("results" in s.get("properties", {}) for s in schemas.values())


@pytest.mark.parametrize("value", ["0", "100000", "-1"])
def test_limit_outside_its_range_is_400_naming_limit(city: dict[str, Any], value: str) -> None:
    paged = [
        (path, op) for method, path, op in _operations()
        if method == "GET" and any(p["name"] == "limit" and p["in"] == "query" for p in op.get("parameters", []))
    ]
    assert len(paged) >= 8
    for user in (city["gaj_data"], city["sjadmin"], city["xtadmin"]):
        client = client_for(user)
        for path, _op in paged:
            response = client.get(_concrete(path), {"limit": value})
            assert response.status_code == 400, f"{path} limit={value} → {response.status_code}"
            assert re.search(r"limit（[\u4e00-\u9fff]+）：", response.json()["detail"]), path
