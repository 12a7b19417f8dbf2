"""Idle timeout for pages and the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import STRONG_PASSWORD
from tests.identity.conftest import Clock, audit_actions, post_login
from zhengwu.identity.models import SecurityPolicy

pytestmark = pytest.mark.django_db


def test_idle_session_is_logged_out_with_a_chinese_notice(make_user: Any, clock: Clock) -> None:
    make_user("idler", full_name="闲置")
    client = Client()
    post_login(client, "idler", STRONG_PASSWORD)
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200  # activity resets the clock
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=30, seconds=1)
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    login_page = client.get(response["Location"])
    assert "由于长时间未操作，您已被自动退出" in login_page.content.decode()
    assert "由于长时间未操作" not in client.get("/login/").content.decode()  # shown once
    assert client.get("/").status_code == 302
    record = audit_actions("identity.session_timeout", actor="idler")[-1]
    assert record.details["idle_seconds"] >= 30 * 60


def test_idle_timeout_follows_the_policy(make_user: Any, clock: Clock) -> None:
    SecurityPolicy.objects.create(pk=1, session_idle_minutes=10)
    make_user("shorty", full_name="短")
    client = Client()
    post_login(client, "shorty", STRONG_PASSWORD)
    clock.advance(minutes=10, seconds=1)
    assert client.get("/").status_code == 302


def test_api_requests_get_the_same_timeout(make_user: Any, clock: Clock) -> None:
    make_user("apiuser", full_name="接口")
    client = Client()
    post_login(client, "apiuser", STRONG_PASSWORD)
    assert client.get("/api/v1/identity/me").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/api/v1/identity/me")
    assert response.status_code == 401
    assert "未登录" in response.json()["detail"]
    assert audit_actions("identity.session_timeout", actor="apiuser")
    clock.advance(seconds=1)
    assert client.get("/api/v1/identity/me").status_code == 401


def test_api_activity_keeps_the_session_alive(make_user: Any, clock: Clock) -> None:
    make_user("busy", full_name="忙")
    client = Client()
    post_login(client, "busy", STRONG_PASSWORD)
    for _ in range(3):
        clock.advance(minutes=20)
        assert client.get("/api/v1/identity/me").status_code == 200


def test_purge_login_history(make_user: Any, clock: Clock) -> None:
    from datetime import timedelta

    from zhengwu.identity import services
    from zhengwu.identity.models import LoginAttempt

    post_login(Client(), "oldfail", "Wrong-Pass-1")
    clock.advance(days=200)
    post_login(Client(), "newfail", "Wrong-Pass-1")
    result = services.do_purge_login_history(now=clock.now() + timedelta(seconds=1))
    assert result["attempts"] == 1
    assert list(LoginAttempt.objects.values_list("username", flat=True)) == ["newfail"]
    assert audit_actions("identity.purge_login_history")


def test_purge_task_is_registered() -> None:
    from zhengwu.core import periodic

    assert "identity.purge_login_history" in {j.name for j in periodic.jobs()}
