"""A NUL character in a request is refused up front with a Chinese 400 (PostgreSQL cannot
store one; the catalog search and create used to fail with a database error)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from zhengwu.catalog.models import CatalogEntry

pytestmark = pytest.mark.django_db


def test_nul_in_a_query_parameter_is_refused(client: Client, make_user: Any) -> None:
    client.force_login(make_user())
    response = client.get("/api/v1/catalog/entries", {"q": "人口\x00"})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["field"] == "q" and "空字符" in body["detail"]


def test_nul_escaped_in_a_json_body_is_refused_and_nothing_is_created(client: Client, make_user: Any) -> None:
    client.force_login(make_user())
    payload = json.dumps({"name": "人口\u0000信息"})
    response = client.post("/api/v1/catalog/entries", payload, content_type="application/json")
    assert response.status_code == 400 and "空字符" in response.json()["detail"]
    assert not CatalogEntry.objects.exists()


def test_an_escaped_backslash_before_u0000_is_ordinary_text(client: Client, make_user: Any) -> None:
    client.force_login(make_user())
    payload = json.dumps({"name": "路径 C:\\u0000"})  # the text backslash-u-0-0-0-0, not a NUL
    response = client.post("/api/v1/catalog/entries", payload, content_type="application/json")
    assert response.status_code != 400 or "空字符" not in response.content.decode()


def test_nul_in_a_form_field_is_refused_on_pages(client: Client) -> None:
    # (Multipart forms are left to Django's forms, whose text fields refuse NUL themselves.)
    response = client.post("/login/", "username=a%00b&password=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "username" in response.content.decode()


def test_superscript_digits_are_not_ids(client: Client, make_user: Any) -> None:
    """'²'.isdigit() is True but int('²') fails: such a key is simply not found (it was a 500)."""
    client.force_login(make_user())
    for path in ("/api/v1/catalog/entries/%C2%B2/versions", "/api/v1/catalog/entries/%C2%B3"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
