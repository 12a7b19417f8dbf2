"""Shared fixtures. Tests run on SQLite by default and on PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("ZHENGWU_ENV", "test")
os.environ.setdefault("ZHENGWU_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")

STRONG_PASSWORD = "Zw!Test-2026-pass"
_counter = itertools.count(1)


@pytest.fixture
def calendar_ahead(db: Any) -> list[int]:
    """For tests that file with the real today an answer deadline in working days: the two years
    after the holiday package's last one get 元旦 (1 January, a statutory day off every year) and
    are registered, so the deadline can be counted whatever today is. Test data, not a State
    Council arrangement; the calendar's own tests do without it."""
    from datetime import date

    from zhengwu.core import workdays
    from zhengwu.core.models import HolidayOverride, HolidayYear

    years = [workdays.package_years()[1] + 1, workdays.package_years()[1] + 2]
    for year in years:
        HolidayOverride.objects.get_or_create(
            date=date(year, 1, 1), defaults={"is_working_day": False, "note": "元旦（测试数据）", "who": "pytest"}
        )
        HolidayYear.objects.get_or_create(
            year=year, defaults={"basis": "测试数据：只录入元旦，不是国务院办公厅的放假安排", "who": "pytest"}
        )
    return years


@pytest.fixture
def make_unit(db: Any) -> Callable[..., Any]:
    from zhengwu.directory.models import Unit, UnitLevel, UnitType

    def make(name: str | None = None, parent: Any = None, **kwargs: Any) -> Any:
        n = next(_counter)
        defaults: dict[str, Any] = {
            "level": UnitLevel.CITY,
            "unit_type": UnitType.DEPARTMENT,
            "division_code": "441400",
        }
        defaults.update(kwargs)
        return Unit.objects.create(name=name or f"测试单位{n}", parent=parent, **defaults)

    return make


@pytest.fixture
def make_user(db: Any, make_unit: Callable[..., Any]) -> Callable[..., Any]:
    from django.utils import timezone

    from zhengwu.directory.models import User

    def make(username: str | None = None, *, unit: Any = None, admin_role: str = "", **kwargs: Any) -> Any:
        n = next(_counter)
        user = User(
            username=username or f"user{n}",
            full_name=kwargs.pop("full_name", f"测试用户{n}"),
            unit=unit or make_unit(),
            admin_role=admin_role,
            password_changed_at=timezone.now(),
            **kwargs,
        )
        user.set_password(kwargs.pop("password", STRONG_PASSWORD))
        user.save()
        return user

    return make


@pytest.fixture
def local_databases(db: Any, settings: Any) -> None:
    """Let database sources reach this machine's PostgreSQL (5432) and MariaDB (3306), as a
    single-machine deployment would: the environment allows the local addresses
    (ZHENGWU_EGRESS_ALLOW_LOCAL) and the 安全管理员's allowlist lists them (core/egress.py)."""
    from zhengwu.core.models import EgressDestination

    settings.EGRESS_ALLOW_LOCAL = ["127.0.0.1:5432", "127.0.0.1:3306"]
    for port in (5432, 3306):
        EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=port, port_max=port)


@pytest.fixture
def platform_database(settings: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """(database name, port) of the platform's own PostgreSQL database: the real one when the
    suite runs on PostgreSQL, otherwise settings made to look like a production deployment on
    127.0.0.1:5432 (for the egress tests that must refuse it)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        own = connection.settings_dict
        return own["NAME"], int(own.get("PORT") or 5432)
    monkeypatch.setitem(
        settings.DATABASES, "default",
        {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql", "NAME": "zw_platform",
         "HOST": "127.0.0.1", "PORT": "5432"},
    )
    return "zw_platform", 5432


@pytest.fixture(autouse=True)
def _fresh_per_process_caches() -> Any:
    """The serving store's table descriptions and the gateway's token/grant caches are per process;
    a test's database reuses table names and ids an earlier test had, so start each test empty."""
    from zhengwu.datahub.serving import queries as serving_queries
    from zhengwu.sharing.gateway import auth, enforcement

    serving_queries._known.clear()
    auth.clear_caches()
    enforcement.clear_caches()
    yield
    serving_queries._known.clear()
    auth.clear_caches()
    enforcement.clear_caches()
