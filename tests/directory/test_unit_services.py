"""Unit rules: division codes from GB/T 2260, levels, USCC, moves, deactivation; audit of each."""

from __future__ import annotations

from typing import Any

import pytest

from zhengwu.core.errors import Conflict, DomainError, PermissionDenied
from zhengwu.directory import services
from zhengwu.directory.demo import demo_uscc
from zhengwu.directory.models import Unit, UnitLevel, UnitType

from .conftest import audit_count, last_audit

pytestmark = pytest.mark.django_db


def create(actor: Any, **kwargs: Any) -> Unit:
    values: dict[str, Any] = {"name": "新单位", "level": UnitLevel.CITY, "unit_type": UnitType.DEPARTMENT}
    values.update(kwargs)
    return services.do_create_unit(actor, **values)


def refused(exc_type: type[DomainError], fn: Any, *args: Any, **kwargs: Any) -> DomainError:
    """Run fn, expect a refusal, and check that no unit changed."""
    before = list(Unit.objects.order_by("pk").values())
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    assert list(Unit.objects.order_by("pk").values()) == before
    return info.value


def test_create_unit_is_audited(sysadmin, tree):
    unit = create(
        sysadmin, parent=tree.government, division_code=tree.city_code, uscc=demo_uscc("x", tree.city_code)
    )
    assert unit.pk and unit.parent == tree.government
    record = last_audit("directory.unit.create")
    assert record.result == "success" and record.object_id == str(unit.pk) and record.actor == "xtadmin"


@pytest.mark.parametrize("role", ["security_admin", "audit_admin", ""])
def test_only_system_admin_creates_units(make_user, tree, role):
    actor = make_user(unit=tree.department, admin_role=role)
    error = refused(PermissionDenied, create, actor, parent=tree.government, division_code=tree.city_code)
    assert "仅系统管理员" in error.message
    assert audit_count("directory.unit.create", "failure") == 1
    assert audit_count("directory.unit.create", "success") == 0


def test_unknown_division_code_refused(sysadmin, tree):
    error = refused(DomainError, create, sysadmin, parent=tree.government, division_code="441499")
    assert error.field == "division_code" and "不在 GB/T 2260" in error.message
    error = refused(DomainError, create, sysadmin, parent=tree.government, division_code="44AB00")
    assert error.field == "division_code" and "6 位数字" in error.message


def test_division_level_must_match_unit_level(sysadmin, tree):
    error = refused(DomainError, create, sysadmin, parent=tree.government, division_code=tree.county_code)
    assert error.field == "division_code" and "地级" in error.message
    error = refused(
        DomainError,
        create,
        sysadmin,
        parent=tree.county_gov,
        level=UnitLevel.COUNTY,
        division_code=tree.city_code,
    )
    assert error.field == "division_code" and "县级" in error.message
    # 乡镇街道 carry their county's code
    error = refused(
        DomainError,
        create,
        sysadmin,
        parent=tree.county_gov,
        level=UnitLevel.TOWNSHIP,
        unit_type=UnitType.TOWNSHIP,
        division_code=tree.city_code,
    )
    assert error.field == "division_code"
    township = create(
        sysadmin,
        name="江南街道办事处",
        parent=tree.county_gov,
        level=UnitLevel.TOWNSHIP,
        unit_type=UnitType.TOWNSHIP,
        division_code=tree.county_code,
    )
    assert township.division_code == tree.county_code


def test_child_division_must_lie_within_parent(sysadmin, tree):
    error = refused(
        DomainError,
        create,
        sysadmin,
        parent=tree.government,
        level=UnitLevel.COUNTY,
        division_code=tree.foreign_county_code,
    )
    assert error.field == "division_code" and "范围内" in error.message
    error = refused(
        DomainError,
        create,
        sysadmin,
        parent=tree.county_gov,
        level=UnitLevel.COUNTY,
        division_code=tree.other_county_code,
    )
    assert error.field == "division_code"


def test_child_level_not_higher_than_parent(sysadmin, tree):
    error = refused(DomainError, create, sysadmin, parent=tree.county_gov, division_code=tree.city_code)
    assert error.field == "level" and "不能隶属于" in error.message


def test_stat_division_code_rules(sysadmin, tree):
    township = {
        "parent": tree.county_gov,
        "level": UnitLevel.TOWNSHIP,
        "unit_type": UnitType.TOWNSHIP,
        "division_code": tree.county_code,
    }
    error = refused(DomainError, create, sysadmin, stat_division_code=tree.county_code + "0012", **township)
    assert error.field == "stat_division_code" and "9 位" in error.message
    error = refused(
        DomainError, create, sysadmin, stat_division_code=tree.other_county_code + "001", **township
    )
    assert error.field == "stat_division_code" and "开头" in error.message
    error = refused(
        DomainError,
        create,
        sysadmin,
        parent=tree.government,
        division_code=tree.city_code,
        stat_division_code="441400001",
    )
    assert error.field == "stat_division_code" and "仅乡镇街道" in error.message
    unit = create(sysadmin, stat_division_code=tree.county_code + "001", **township)
    assert unit.stat_division_code == tree.county_code + "001"
    # a village's code extends its township's
    error = refused(
        DomainError,
        create,
        sysadmin,
        parent=unit,
        level=UnitLevel.VILLAGE,
        unit_type=UnitType.VILLAGE,
        division_code=tree.county_code,
        stat_division_code=tree.county_code + "002001",
    )
    assert error.field == "stat_division_code"
    village = create(
        sysadmin,
        parent=unit,
        level=UnitLevel.VILLAGE,
        unit_type=UnitType.VILLAGE,
        division_code=tree.county_code,
        stat_division_code=tree.county_code + "001201",
    )
    assert village.level == UnitLevel.VILLAGE


def test_uscc_must_be_valid_and_unique(sysadmin, tree):
    good = demo_uscc("甲", tree.city_code)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    error = refused(
        DomainError, create, sysadmin, parent=tree.government, division_code=tree.city_code, uscc=bad
    )
    assert error.field == "uscc" and error.message.startswith("统一社会信用代码")
    error = refused(
        DomainError, create, sysadmin, parent=tree.government, division_code=tree.city_code, uscc="123"
    )
    assert error.field == "uscc"
    create(sysadmin, parent=tree.government, division_code=tree.city_code, uscc=good.lower())
    assert Unit.objects.filter(uscc=good).exists()
    error = refused(
        Conflict,
        create,
        sysadmin,
        name="另一单位",
        parent=tree.government,
        division_code=tree.city_code,
        uscc=good,
    )
    assert error.field == "uscc" and "已被" in error.message


def test_name_unique_under_parent(sysadmin, tree):
    error = refused(
        Conflict,
        create,
        sysadmin,
        name=tree.department.name,
        parent=tree.government,
        division_code=tree.city_code,
    )
    assert error.field == "name"
    error = refused(
        DomainError, create, sysadmin, name="  ", parent=tree.government, division_code=tree.city_code
    )
    assert error.field == "name" and "必须填写" in error.message


def test_refused_create_is_audited_as_failure(sysadmin, tree):
    with pytest.raises(DomainError):
        create(sysadmin, parent=tree.government, division_code="000000")
    record = last_audit("directory.unit.create")
    assert record.result == "failure"
    assert record.details["field"] == "division_code" and record.details["reason"]


def test_update_unit(sysadmin, tree):
    services.do_update_unit(sysadmin, tree.department, name="示范市政务服务数据管理局", short_name="数据局")
    tree.department.refresh_from_db()
    assert tree.department.short_name == "数据局"
    record = last_audit("directory.unit.update")
    assert record.details["changes"]["short_name"] == ["", "数据局"]


def test_update_refuses_level_conflicting_with_children(sysadmin, tree):
    # the county government has a township child; making it a township would put a 县区 dept under it
    error = refused(DomainError, services.do_update_unit, sysadmin, tree.county_gov, level=UnitLevel.TOWNSHIP)
    assert error.field in {"level", "division_code"}
    error = refused(
        DomainError, services.do_update_unit, sysadmin, tree.county_gov, division_code=tree.other_county_code
    )
    assert error.field == "division_code" and "下级单位" in error.message
    error = refused(DomainError, services.do_update_unit, sysadmin, tree.county_gov, parent=None)
    assert "不能修改" in error.message


def test_move_unit(sysadmin, tree, make_unit):
    other_gov = make_unit(
        "梅县区人民政府",
        parent=tree.government,
        level=UnitLevel.COUNTY,
        unit_type=UnitType.GOVERNMENT,
        division_code=tree.other_county_code,
    )
    # the township carries 梅江区's code: it cannot move under 梅县区
    error = refused(DomainError, services.do_move_unit, sysadmin, tree.township, other_gov)
    assert error.field == "division_code"
    services.do_move_unit(sysadmin, tree.county_dept, tree.county_gov)  # same parent: no change, no audit
    assert audit_count("directory.unit.move", "success") == 0
    dept = make_unit("示范市民政局", parent=tree.government, division_code=tree.city_code)
    services.do_move_unit(sysadmin, dept, tree.department)
    dept.refresh_from_db()
    assert dept.parent == tree.department
    assert audit_count("directory.unit.move", "success") == 1


def test_move_refuses_cycles_and_level_inversion(sysadmin, tree):
    error = refused(DomainError, services.do_move_unit, sysadmin, tree.government, tree.county_gov)
    assert error.field == "parent" and "下级单位" in error.message
    error = refused(DomainError, services.do_move_unit, sysadmin, tree.government, tree.government)
    assert error.field == "parent"
    error = refused(DomainError, services.do_move_unit, sysadmin, tree.department, tree.county_gov)
    assert error.field == "level"


def test_deactivate_refused_while_staff_or_children_active(sysadmin, tree, clerk):
    error = refused(Conflict, services.do_deactivate_unit, sysadmin, tree.county_dept)
    assert "在用工作人员" in error.message
    error = refused(Conflict, services.do_deactivate_unit, sysadmin, tree.county_gov)
    assert "下级单位" in error.message
    services.do_deactivate_unit(sysadmin, tree.township)
    tree.township.refresh_from_db()
    assert not tree.township.is_active
    assert audit_count("directory.unit.deactivate", "success") == 1
    # nothing new may be created under an inactive unit
    error = refused(
        DomainError,
        create,
        sysadmin,
        parent=tree.township,
        level=UnitLevel.VILLAGE,
        unit_type=UnitType.VILLAGE,
        division_code=tree.county_code,
    )
    assert error.field == "parent"
    services.do_activate_unit(sysadmin, tree.township)
    tree.township.refresh_from_db()
    assert tree.township.is_active
