"""Fixtures of the catalog tests: a provider unit with its 数据管理员, the data authority
(大数据管理局) with a 目录审核员, and valid entry payloads."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import grant, role_holder  # noqa: F401 (re-exported for the app's tests)


@pytest.fixture
def authority(make_unit: Callable[..., Any]) -> Any:
    return make_unit("大数据管理局")


@pytest.fixture
def provider(make_unit: Callable[..., Any]) -> Any:
    return make_unit("市公安局", uscc="11441400007000000J")


@pytest.fixture
def data_admin(make_user: Callable[..., Any], provider: Any) -> Any:
    return role_holder(make_user, "ga_data", provider, "公安数据员", "data_admin")


@pytest.fixture
def reviewer(make_user: Callable[..., Any], authority: Any) -> Any:
    return role_holder(make_user, "dsj_review", authority, "目录审核员甲", "catalog_reviewer")


@pytest.fixture
def other_unit_user(make_user: Callable[..., Any], make_unit: Callable[..., Any]) -> Any:
    unit = make_unit("市民政局")
    return role_holder(make_user, "mz_data", unit, "民政数据员", "data_admin")


BASE_ENTRY: dict[str, Any] = {
    "category": "1",
    "class_item": "01",
    "class_sub": "001",
    "name": "常住人口基本信息",
    "abstract": "本市户籍和登记常住人口的身份、户籍地址和迁移变动等基本信息，用于政务服务身份核验",
    "resource_format": "数据库",
    "share_type": "无条件共享",
    "share_method": "共享平台",
    "open_type": "不予开放",
    "open_basis": "《中华人民共和国个人信息保护法》",
    "update_cycle": "每日",
    "security_level": "敏感",
    "items": [
        {"name": "公民身份号码", "field_name": "id_no", "data_type": "字符", "length": 18, "is_key": True,
         "is_sensitive": True, "masking": "部分遮盖"},
        {"name": "姓名", "field_name": "person_name", "data_type": "字符", "length": 50, "is_sensitive": True,
         "masking": "部分遮盖"},
        {"name": "户籍地址", "field_name": "household_address", "data_type": "字符", "length": 200},
        {"name": "出生日期", "field_name": "birth_date", "data_type": "日期"},
    ],
}


@pytest.fixture
def entry_data() -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        data = copy.deepcopy(BASE_ENTRY)
        data.update(overrides)
        return data

    return make


@pytest.fixture
def published(data_admin: Any, reviewer: Any, entry_data: Callable[..., dict[str, Any]]) -> Any:
    from zhengwu.catalog import services

    entry = services.do_create_entry(data_admin, entry_data())
    services.do_submit_entry(data_admin, entry)
    services.do_approve_entry(reviewer, entry)
    entry.refresh_from_db()
    return entry


@pytest.fixture(autouse=True)
def _fresh_search_caches() -> Any:
    """The search keeps per-process caches; tests roll the database back under them."""
    from zhengwu.catalog import search

    search._stats_cache.clear()
    search._facet_cache.clear()
    yield
    search._stats_cache.clear()
    search._facet_cache.clear()
