"""Fixtures for directory tests: a small unit tree of 梅州市 (codes looked up from the table)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def division_code(name: str, parent: str | None = None) -> str:
    """A GB/T 2260 code looked up by name (never typed by hand)."""
    from zhengwu.core import divisions

    hits = [
        d
        for d in divisions.table().values()
        if d.name == name and (parent is None or d.parent_code == parent)
    ]
    assert len(hits) == 1, f"{name} 在区划表中不唯一"
    return hits[0].code


@dataclass
class Tree:
    city_code: str
    county_code: str
    other_county_code: str
    foreign_county_code: str
    government: Any
    department: Any
    county_gov: Any
    county_dept: Any
    township: Any


@pytest.fixture
def tree(make_unit: Callable[..., Any]) -> Tree:
    from zhengwu.directory.models import UnitLevel, UnitType

    city = division_code("梅州市")
    county = division_code("梅江区", city)
    other = division_code("梅县区", city)
    foreign = division_code("越秀区", division_code("广州市"))
    government = make_unit(
        "示范市人民政府", level=UnitLevel.CITY, unit_type=UnitType.GOVERNMENT, division_code=city
    )
    department = make_unit("示范市大数据管理局", parent=government, division_code=city)
    county_gov = make_unit(
        "梅江区人民政府",
        parent=government,
        level=UnitLevel.COUNTY,
        unit_type=UnitType.GOVERNMENT,
        division_code=county,
    )
    county_dept = make_unit("梅江区民政局", parent=county_gov, level=UnitLevel.COUNTY, division_code=county)
    township = make_unit(
        "金山街道办事处",
        parent=county_gov,
        level=UnitLevel.TOWNSHIP,
        unit_type=UnitType.TOWNSHIP,
        division_code=county,
    )
    return Tree(city, county, other, foreign, government, department, county_gov, county_dept, township)


@pytest.fixture
def sysadmin(make_user: Callable[..., Any], tree: Tree) -> Any:
    return make_user("xtadmin", unit=tree.department, admin_role="system_admin", full_name="系统管理员")


@pytest.fixture
def secadmin(make_user: Callable[..., Any], tree: Tree) -> Any:
    return make_user("aqadmin", unit=tree.department, admin_role="security_admin")


@pytest.fixture
def auditadmin(make_user: Callable[..., Any], tree: Tree) -> Any:
    return make_user("sjadmin", unit=tree.department, admin_role="audit_admin")


@pytest.fixture
def clerk(make_user: Callable[..., Any], tree: Tree) -> Any:
    return make_user("clerk1", unit=tree.county_dept, full_name="经办人甲", mobile="13800138000")


def audit_count(action: str, result: str | None = None) -> int:
    from zhengwu.audit.models import AuditRecord

    records = AuditRecord.objects.filter(action=action)
    if result:
        records = records.filter(result=result)
    return records.count()


def last_audit(action: str) -> Any:
    from zhengwu.audit.models import AuditRecord

    return AuditRecord.objects.filter(action=action).order_by("-seq").first()
