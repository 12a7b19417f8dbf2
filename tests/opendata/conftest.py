"""Fixtures of the open-data tests: a lake per test, a provider unit with its 数据管理员, and
`open_dataset(...)` publishing a catalog entry and ingesting real rows through datahub."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factories import grant, role_holder

# 医疗机构: one sensitive item (the legal representative's phone) that must never leave.
CLINIC_ITEMS: list[dict[str, Any]] = [
    {"name": "机构代码", "field_name": "org_code", "data_type": "字符", "length": 18, "is_key": True},
    {"name": "机构名称", "field_name": "org_name", "data_type": "字符", "length": 100, "required": True},
    {"name": "机构类别", "field_name": "category", "data_type": "字符", "length": 20},
    {"name": "床位数", "field_name": "beds", "data_type": "数字", "length": 8},
    {"name": "行政区划代码", "field_name": "division_code", "data_type": "字符", "length": 6, "code_table": "GB/T 2260"},
    {"name": "登记日期", "field_name": "reg_date", "data_type": "日期"},
    {"name": "负责人电话", "field_name": "phone", "data_type": "字符", "length": 20, "is_sensitive": True,
     "masking": "部分遮盖"},
]
CATEGORIES = ["综合医院", "中医医院", "社区卫生服务中心", "乡镇卫生院", "诊所"]
DIVISIONS = ["441402", "441403", "441422", "441423", "441424"]


def clinic_rows(n: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "org_code": f"PDY{i:06d}", "org_name": f"梅州市第{i}医疗机构", "category": CATEGORIES[i % 5],
            "beds": str((i * 7) % 300), "division_code": DIVISIONS[i % 5],
            "reg_date": f"20{10 + i % 15:02d}-0{1 + i % 9}-1{i % 10}", "phone": f"1390753{i:04d}",
        }
        for i in range(start, start + n)
    ]


def write_rows(path: Path, items: list[dict[str, Any]], rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([i["name"] for i in items])
        for row in rows:
            writer.writerow([row.get(i["field_name"], "") for i in items])
    return path


@pytest.fixture(autouse=True)
def _fresh_lake_caches() -> Any:
    """Per-process caches keyed by (resource, lake version): each test has its own lake, where an
    earlier test's resource code and version number mean other files."""
    from zhengwu.opendata import data, queries

    for cache in (data._cache, data._offsets, queries._columns_cache):
        cache.clear()
    yield
    for cache in (data._cache, data._offsets, queries._columns_cache):
        cache.clear()


@pytest.fixture(autouse=True)
def lake_dir(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    return tmp_path / "lake"


@pytest.fixture
def authority(make_unit: Callable[..., Any]) -> Any:
    return make_unit("大数据管理局")


@pytest.fixture
def provider(make_unit: Callable[..., Any]) -> Any:
    return make_unit("市卫生健康局", uscc="11441400007000111X")


@pytest.fixture
def data_admin(make_user: Callable[..., Any], provider: Any) -> Any:
    return role_holder(make_user, "wj_data", provider, "卫健数据员", "data_admin")


@pytest.fixture
def reviewer(make_user: Callable[..., Any], provider: Any) -> Any:
    return role_holder(make_user, "wj_open", provider, "卫健开放审核员", "opendata_reviewer")


@pytest.fixture
def catalog_reviewer(make_user: Callable[..., Any], authority: Any) -> Any:
    user = make_user("dsj_review", unit=authority, full_name="目录审核员")
    grant(user, "catalog_reviewer", authority)
    return user


@pytest.fixture
def open_dataset(data_admin: Any, catalog_reviewer: Any, tmp_path: Path) -> Callable[..., Any]:
    """open_dataset(name=..., open_type=..., rows=[...]) → the published CatalogEntry with its rows in the lake."""
    from zhengwu.catalog import services as catalog
    from zhengwu.datahub.services import ingest_file

    counter = iter(range(1, 1000))

    def make(*, name: str = "医疗机构执业登记信息", open_type: str = "无条件开放", rows: list[dict[str, Any]] | None = None,
             items: list[dict[str, Any]] | None = None, cycle: str = "每月", category: str = "2",
             class_item: str = "02", admin: Any = None) -> Any:
        admin = admin or data_admin
        items = items or CLINIC_ITEMS
        entry_data = {
            "category": category, "class_item": class_item, "class_sub": "001", "name": name,
            "abstract": f"{name}：本市医疗机构的执业登记，包括机构名称、类别、床位数、所在区县和登记日期，每月更新。",
            "resource_format": "数据库", "share_type": "无条件共享", "share_method": "共享平台",
            "open_type": open_type, "update_cycle": cycle, "security_level": "公开", "items": items,
        }
        if open_type == "有条件开放":
            entry_data["open_condition"] = "经申请审核后开放"
            entry_data["open_basis"] = "《本市公共数据开放管理办法》"
        if open_type == "不予开放":
            entry_data["open_basis"] = "《中华人民共和国个人信息保护法》"
        entry = catalog.do_create_entry(admin, entry_data)
        catalog.do_submit_entry(admin, entry)
        catalog.do_approve_entry(catalog_reviewer, entry)
        entry.refresh_from_db()
        data_rows = clinic_rows(20) if rows is None else rows
        path = write_rows(tmp_path / f"data{next(counter)}.csv", items, data_rows)
        batch = ingest_file(admin, entry.resource_code, path, file_name=path.name, mode="full")
        assert batch.status == "succeeded", batch.error_message
        return entry

    return make


@pytest.fixture
def themes(db: Any) -> None:
    """The themes of migration opendata/0002 (a transactional test flushes data-migration rows)."""
    import importlib

    from zhengwu.opendata.models import Theme

    migration = importlib.import_module("zhengwu.opendata.migrations.0002_themes_and_reviewer_role")
    for order, (code, name, description, classes, eu) in enumerate(migration.THEMES):
        Theme.objects.get_or_create(code=code, defaults={
            "name": name, "description": description, "class_codes": classes, "eu_theme": eu, "order": order * 10,
        })


@pytest.fixture
def public_person(make_user: Callable[..., Any]) -> Any:
    """A registered 自然人 (a public account: no unit, no roles)."""
    from django.utils import timezone

    from zhengwu.directory.models import User

    user = User(username="p0123456789abcdef", full_name="李四", account_kind="public", unit=None,
                password_changed_at=timezone.now())
    user.set_password("Zw!Test-2026-pass")
    user.save()
    return user
