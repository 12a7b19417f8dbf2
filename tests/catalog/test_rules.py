from __future__ import annotations

from typing import Any

from zhengwu.catalog.rules import normalise_entry, validate_entry

from .conftest import BASE_ENTRY


def problems(**overrides: Any) -> dict[str, str]:
    data = {**BASE_ENTRY, **overrides}
    return dict(validate_entry(normalise_entry(data)))


def test_valid_entry_has_no_problems() -> None:
    assert problems() == {}


def test_conditional_share_needs_basis_and_condition() -> None:
    found = problems(category="3", class_item="05", share_type="有条件共享")
    assert "依据" in found["share_basis"]
    assert "共享条件" in found["share_condition"]
    assert problems(category="3", class_item="05", share_type="有条件共享", share_basis="《某条例》第十条",
                    share_condition="仅向公安、民政部门共享") == {}


def test_not_shared_needs_basis() -> None:
    found = problems(category="3", class_item="05", share_type="不予共享")
    assert "法律、行政法规" in found["share_basis"]


def test_base_resources_cannot_be_unshared() -> None:
    found = problems(share_type="不予共享", share_basis="某文件")
    assert "基础信息资源" in found["share_type"]
    assert "51号" in found["share_type"]


def test_open_conditional_or_none_needs_basis() -> None:
    assert "开放依据" in problems(open_type="不予开放", open_basis="")["open_basis"]
    found = problems(open_type="有条件开放", open_basis="")
    assert "open_basis" in found and "open_condition" in found


def test_table_needs_exactly_one_key() -> None:
    items = [dict(i, is_key=False) for i in BASE_ENTRY["items"]]
    assert "有且只有一个主键" in problems(items=items)["items"]
    items[0]["is_key"] = items[1]["is_key"] = True
    assert "当前有 2 个" in problems(items=items)["items"]
    # A file resource has no key requirement.
    assert problems(resource_format="电子文件", items=[]) == {}


def test_sensitive_item_needs_masking_and_field_names_are_checked() -> None:
    items = [dict(i) for i in BASE_ENTRY["items"]]
    items[1]["masking"] = "不脱敏"
    items[2]["field_name"] = "户籍地址"
    items[3]["field_name"] = "ID_NO"
    found = problems(items=items)
    assert "脱敏方式" in found["items[1].masking"]
    assert "字段名" in found["items[2].field_name"]
    assert "重复" in found["items[3].field_name"]


def test_value_lists_and_class_codes() -> None:
    found = problems(resource_format="Excel", update_cycle="每两天", class_item="09")
    assert "只能是" in found["resource_format"]
    assert "更新周期" in found["update_cycle"]
    assert "基础信息资源下没有" in found["class_item"]
    assert "关联资源代码" in problems(related_codes=["abc"])["related_codes"]
    assert problems(related_codes="101001/00001, 201001/00002") == {}
