"""Fixtures of the sharing tests: a provider (公安局) with its 数据管理员 and 共享审核员, a
consumer (人社局) with its 数据管理员, a county consumer (梅江区人社局), another unit's
reviewer, the data authority, and published catalog entries of each share type."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from tests.catalog.conftest import BASE_ENTRY
from tests.factories import grant, role_holder  # noqa: F401 (re-exported for the app's tests)


@pytest.fixture(autouse=True)
def _fresh_search_caches() -> Any:
    from zhengwu.catalog import search

    search._stats_cache.clear()
    search._facet_cache.clear()
    yield
    search._stats_cache.clear()
    search._facet_cache.clear()


@pytest.fixture
def authority(make_unit: Callable[..., Any]) -> Any:
    return make_unit("大数据管理局", division_code="441400")


@pytest.fixture
def provider(make_unit: Callable[..., Any]) -> Any:
    return make_unit("市公安局", uscc="11441400007000000J", division_code="441400")


@pytest.fixture
def consumer(make_unit: Callable[..., Any]) -> Any:
    return make_unit("市人力资源和社会保障局", division_code="441400")


@pytest.fixture
def county_consumer(make_unit: Callable[..., Any]) -> Any:
    return make_unit("梅江区人力资源和社会保障局", division_code="441402", level="county")


@pytest.fixture
def provider_admin(make_user: Callable[..., Any], provider: Any) -> Any:
    return role_holder(make_user, "ga_data", provider, "公安数据员", "data_admin")


@pytest.fixture
def provider_reviewer(make_user: Callable[..., Any], provider: Any) -> Any:
    return role_holder(make_user, "ga_share", provider, "公安共享审核员", "share_reviewer")


@pytest.fixture
def consumer_admin(make_user: Callable[..., Any], consumer: Any) -> Any:
    return role_holder(make_user, "rs_data", consumer, "人社数据员", "data_admin")


@pytest.fixture
def county_admin(make_user: Callable[..., Any], county_consumer: Any) -> Any:
    return role_holder(make_user, "mj_rs_data", county_consumer, "梅江人社数据员", "data_admin")


@pytest.fixture
def other_reviewer(make_user: Callable[..., Any], make_unit: Callable[..., Any]) -> Any:
    unit = make_unit("市民政局", division_code="441400")
    return role_holder(make_user, "mz_share", unit, "民政共享审核员", "share_reviewer")


@pytest.fixture
def authority_admin(make_user: Callable[..., Any], authority: Any) -> Any:
    return role_holder(make_user, "dsj_data", authority, "大数据局数据员", "data_admin")


POPULATION_ITEMS = [
    *copy.deepcopy(BASE_ENTRY["items"]),
    {"name": "性别", "field_name": "gender", "data_type": "字符", "length": 1, "code_table": "GB/T 2261.1"},
    {"name": "行政区划代码", "field_name": "division_code", "data_type": "字符", "length": 6, "code_table": "GB/T 2260"},
]


@pytest.fixture
def publish(provider_admin: Any, authority_admin: Any) -> Callable[..., Any]:
    """Publish an entry of the provider through the catalog's own flow (authority approves)."""
    from zhengwu.catalog import services

    def make(share_type: str = "有条件共享", name: str = "人口基本信息", **overrides: Any) -> Any:
        data = copy.deepcopy(BASE_ENTRY)
        data.update({"name": name, "share_type": share_type, "items": copy.deepcopy(POPULATION_ITEMS)})
        if share_type != "无条件共享":
            data["share_basis"] = "《中华人民共和国个人信息保护法》第十三条、第三十四条"
            data["share_condition"] = "仅向依法履行相关职责的部门共享"
        if share_type == "不予共享":
            data["share_method"] = ""
        data.update(overrides)
        entry = services.do_create_entry(provider_admin, data)
        services.do_submit_entry(provider_admin, entry)
        services.do_approve_entry(authority_admin, entry)
        entry.refresh_from_db()
        return entry

    return make


@pytest.fixture
def ask(consumer_admin: Any) -> Callable[..., Any]:
    """File a request as the consumer's 数据管理员 with sensible defaults."""
    from zhengwu.sharing import services

    def make(entry: Any, actor: Any = None, **kwargs: Any) -> Any:
        values: dict[str, Any] = {
            "purpose": "办理社会保险参保登记时核验参保人身份，免交身份证复印件",
            "legal_basis": "《社会保险法》第五十七条",
            "items": ["id_no", "person_name", "birth_date", "division_code"],
            "valid_from": date(2026, 12, 1), "valid_until": date(2027, 11, 30), "today": date(2026, 12, 1),
        }
        values.update(kwargs)
        return services.do_file_share_request(actor or consumer_admin, entry, **values)

    return make
