"""Schemathesis over the directory endpoints only: no generated input may produce a server error.

Requests go through Django's test client with a logged-in session (the generated, empty session
cookie of the schema's security scheme is ignored), so the handlers themselves are exercised.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings

from zhengwu.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application).include(path_regex="/directory/")


@pytest.fixture(params=["system_admin", ""], ids=["system_admin", "business_user"])
def logged_in(request: Any, make_user: Any) -> Client:
    user = make_user(f"fuzz_{request.param or 'biz'}", admin_role=request.param)
    c = Client()
    c.force_login(user)
    return c


def _has_body(case: Any) -> bool:
    return type(case.body).__name__ != "NotSet" and case.body is not None


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_directory_api_never_500(case: Any, logged_in: Client) -> None:
    client = logged_in
    from urllib.parse import urlencode

    path = case.formatted_path
    if case.query:
        path += "?" + urlencode(case.query, doseq=True)
    raw: Any = ""
    if _has_body(case):
        raw = case.body if isinstance(case.body, (bytes, str)) else json.dumps(case.body)
    response = client.generic(case.method.upper(), path, data=raw, content_type="application/json")
    assert response.status_code < 500, response.content
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        # (a path that does not match a route, e.g. a negative id, gets the site's Chinese 404 page)
        detail = str(response.json().get("detail", ""))
        assert any("\u4e00" <= ch <= "\u9fff" for ch in detail), response.content
