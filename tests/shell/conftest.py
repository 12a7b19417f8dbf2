"""Fixtures of the console shell tests: the demo city (its real accounts and roles), each
account past its first-login password change, and a 公安局 resource in the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def lake_dir(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    return tmp_path / "lake"


@pytest.fixture
def city(db: Any) -> dict[str, Any]:
    """The demo city's accounts by user name, as after each person changed the initial password."""
    from zhengwu.directory import demo
    from zhengwu.directory.models import User

    demo.load_demo_city()
    User.objects.update(must_change_password=False)
    return {u.username: u for u in User.objects.select_related("unit")}


def entry_data(name: str = "人口基本信息", cycle: str = "每日") -> dict[str, Any]:
    from tests.datahub.conftest import PEOPLE_ITEMS

    return {
        "category": "1", "class_item": "01", "class_sub": "001", "name": name,
        "abstract": f"{name}：工作台测试用的信息资源，包含身份、地址等信息项。",
        "resource_format": "数据库", "share_type": "无条件共享", "share_method": "共享平台",
        "open_type": "不予开放", "open_basis": "《中华人民共和国个人信息保护法》", "update_cycle": cycle,
        "security_level": "敏感", "items": PEOPLE_ITEMS,
    }


@pytest.fixture
def gaj_entry(city: dict[str, Any]) -> Any:
    """A resource of 示范市公安局, compiled by gaj_data and published by dsj_data (the authority)."""
    from zhengwu.catalog import services

    entry = services.do_create_entry(city["gaj_data"], entry_data())
    services.do_submit_entry(city["gaj_data"], entry)
    services.do_approve_entry(city["dsj_data"], entry)
    entry.refresh_from_db()
    return entry


def client_for(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client
