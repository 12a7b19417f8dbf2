"""Schemathesis over the whole OpenAPI document: no generated input may produce a server error.

Runs every operation as each of the three administrators and as a business user, so both the
permission paths and the validation paths see generated (also invalid) data. Requests go through
Django's test client with a logged-in session: the schema's session-cookie security scheme would
otherwise make schemathesis send its own (empty) cookie and every call would stop at 401.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings

from zhengwu.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

ROLES = ["system_admin", "security_admin", "audit_admin", ""]


@pytest.fixture(params=ROLES, ids=lambda r: r or "business_user")
def logged_in(request: Any, make_user: Any) -> Client:
    user = make_user(f"fuzz_{request.param or 'biz'}", admin_role=request.param)
    client = Client()
    client.force_login(user)
    return client


def _has_body(case: Any) -> bool:
    return type(case.body).__name__ != "NotSet" and case.body is not None


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_causes_a_server_error(case: Any, logged_in: Client) -> None:
    path = case.formatted_path
    if case.query:
        path += "?" + urlencode(case.query, doseq=True)
    raw: Any = ""
    if _has_body(case):
        raw = case.body if isinstance(case.body, (bytes, str)) else json.dumps(case.body)
    response = logged_in.generic(case.method.upper(), path, data=raw, content_type="application/json")
    assert response.status_code < 500, response.content
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        # Every refusal explains itself in Chinese. (A path that matches no route, e.g. a negative
        # id, gets the site's Chinese 404 page instead of JSON.)
        detail = str(response.json().get("detail", ""))
        assert any("\u4e00" <= ch <= "\u9fff" for ch in detail), response.content
