"""Helpers for identity tests: a controllable clock, a fast hasher, login shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone


class Clock:
    """Replaces django.utils.timezone.now; `advance(minutes=…)` moves time forward."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    # A fixed point in the middle of a TOTP time step, so ±30 s moves exactly one step.
    start = datetime(2026, 3, 2, 9, 0, 15, tzinfo=timezone.get_current_timezone())
    c = Clock(start)
    monkeypatch.setattr(timezone, "now", c.now)
    return c


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    # PBKDF2-SM3 with 200 000 rounds is slow on purpose; one test checks it explicitly.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def post_login(client: Client, username: str, password: str, ip: str = "10.0.0.1", **extra: Any) -> Any:
    return client.post("/login/", {"username": username, "password": password, **extra}, REMOTE_ADDR=ip)


def device_secret(user: Any) -> str:
    from zhengwu.identity import totp
    from zhengwu.identity.models import TOTPDevice

    return totp.device_secret(TOTPDevice.objects.get(user=user))


def current_code(user: Any, offset_seconds: int = 0) -> str:
    from zhengwu.identity import totp

    return totp.code_at(device_secret(user), timezone.now() + timedelta(seconds=offset_seconds))


@pytest.fixture
def enrolled(db: Any) -> Callable[[Any], str]:
    """Give `user` a confirmed TOTP device; returns the secret."""
    from zhengwu.identity import totp
    from zhengwu.identity.models import TOTPDevice

    def enrol(user: Any) -> str:
        secret = totp.new_secret()
        TOTPDevice.objects.create(
            user=user,
            secret_encrypted=totp.encrypt_secret(secret, user.pk),
            confirmed=True,
            created_at=timezone.now(),
            confirmed_at=timezone.now(),
        )
        return secret

    return enrol


@pytest.fixture
def admin_client(make_user: Callable[..., Any]) -> Callable[[str], tuple[Client, Any]]:
    """A client logged in (force_login) as the given administrator role."""

    def make(role: str) -> tuple[Client, Any]:
        user = make_user(admin_role=role)
        client = Client()
        client.force_login(user)
        return client, user

    return make


def audit_actions(action: str, **filters: Any) -> list[Any]:
    from zhengwu.audit.models import AuditRecord

    return list(AuditRecord.objects.filter(action=action, **filters).order_by("seq"))
