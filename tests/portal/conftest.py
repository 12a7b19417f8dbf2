"""Fixtures of the portal tests: a public account, a 门户编辑, notices."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD

_n = itertools.count(1)


@pytest.fixture
def public_user(db: Any) -> Any:
    """A public account (公众用户): no unit, no role — as the public-accounts app creates them."""
    from django.utils import timezone

    from zhengwu.directory.models import User

    n = next(_n)
    user = User(
        username=f"pub{n}", full_name="王小明", unit=None, account_kind="public", password_changed_at=timezone.now()
    )
    user.set_password(STRONG_PASSWORD)
    user.save()
    return user


@pytest.fixture
def editor(make_user: Callable[..., Any]) -> Any:
    """A staff member holding 门户编辑 (the role the portal's migration 0002 registers)."""
    from zhengwu.directory.models import BusinessRole, RoleGrant

    user = make_user(full_name="李编辑")
    # get_or_create: a transactional (browser) test flushes what the data migration wrote.
    role, _ = BusinessRole.objects.get_or_create(
        code="portal_editor", defaults={"name": "门户编辑", "app_label": "portal"}
    )
    RoleGrant.objects.create(user=user, role=role, unit=user.unit)
    return user


@pytest.fixture
def make_notice(editor: Any) -> Callable[..., Any]:
    from django.utils import timezone

    from zhengwu.portal.models import Notice

    def make(title: str = "门户上线", body: str = "正文", *, published: bool = True, **kwargs: Any) -> Any:
        return Notice.objects.create(
            title=title, body=body, published_at=kwargs.pop("published_at", timezone.now() if published else None),
            created_by=editor, **kwargs,
        )

    return make


@pytest.fixture
def test_templates(settings: Any) -> None:
    """Templates of stand-in section providers (tests/portal/templates)."""
    from pathlib import Path

    engine = dict(settings.TEMPLATES[0])
    engine["DIRS"] = [*engine["DIRS"], Path(__file__).parent / "templates"]
    settings.TEMPLATES = [engine, *settings.TEMPLATES[1:]]
