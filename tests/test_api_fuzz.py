"""Schemathesis over the OpenAPI document: no generated input may produce a server error.

Runs the whole API as each of the three administrators and as a business user, so the
permission paths and the validation paths are all exercised with generated (also invalid) data.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from zhengwu.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

ROLES = ["system_admin", "security_admin", "audit_admin", ""]


@pytest.fixture(params=ROLES, ids=lambda r: r or "business_user")
def session_headers(request: Any, make_user: Any) -> dict[str, str]:
    user = make_user(f"fuzz_{request.param or 'biz'}", admin_role=request.param)
    client = Client()
    client.force_login(user)
    client.get("/api/v1/openapi.json")
    session = client.cookies["zhengwu_session"].value
    from django.middleware.csrf import _get_new_csrf_string

    csrf = _get_new_csrf_string()
    return {"Cookie": f"zhengwu_session={session}; zhengwu_csrf={csrf}", "X-CSRFToken": csrf}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_causes_a_server_error(case: Any, session_headers: dict[str, str]) -> None:
    response = case.call(headers=session_headers)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        body = response.json()
        # Every refusal explains itself in Chinese.
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(body.get("detail", ""))), body
