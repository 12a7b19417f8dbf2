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


def _with_items(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(i) for i in BASE_ENTRY["items"]] + [dict(e) for e in extra]


def test_required_defaults_to_false_and_a_key_is_always_required() -> None:
    items = _with_items()
    items[0]["required"] = False  # the key: normalised to required
    items[1]["required"] = True
    clean = normalise_entry({**BASE_ENTRY, "items": items})
    assert [i["required"] for i in clean["items"]] == [True, True, False, False]
    assert validate_entry(clean) == []


def test_required_flag_accepts_yes_no_words_and_reports_others() -> None:
    items = _with_items()
    items[1]["required"], items[2]["required"], items[3]["required"] = "是", "false", "可能"
    clean = normalise_entry({**BASE_ENTRY, "items": items})
    assert [i["required"] for i in clean["items"][1:3]] == [True, False]
    found = dict(validate_entry(clean))
    assert found == {"items[3].required": "第 4 个信息项：必填只能填“是”或“否”，当前为“可能”"}


def test_valid_code_tables() -> None:
    items = _with_items(
        {"name": "性别", "field_name": "gender", "data_type": "字符", "length": 1, "code_table": "GB/T 2261.1"},
        {"name": "民族", "field_name": "ethnicity", "data_type": "字符", "length": 2, "code_table": "GB/T 3304"},
        {"name": "行政区划代码", "field_name": "division_code", "data_type": "字符", "length": 6, "code_table": "GB/T 2260"},
        {"name": "登记状态", "field_name": "reg_status", "data_type": "字符", "length": 2,
         "code_table": "1=存续;2=在业;3=吊销;4=注销;5=迁出"},
        {"name": "注册资本", "field_name": "reg_capital", "data_type": "数字", "length": 18, "code_table": "[0,]"},
        {"name": "成立时间", "field_name": "est_time", "data_type": "日期时间", "code_table": "[1949-10-01,]"},
        {"name": "险种", "field_name": "insurance", "data_type": "数字", "length": 3, "code_table": "110=职工养老;210=失业"},
    )
    assert problems(items=items) == {}


def test_code_table_problems_are_reported_per_item_in_chinese_all_at_once() -> None:
    items = _with_items(
        {"name": "a", "field_name": "a", "data_type": "字符", "length": 2, "code_table": "1=男;1=女"},
        {"name": "b", "field_name": "b", "data_type": "字符", "length": 10, "code_table": "[0,100]"},
        {"name": "c", "field_name": "c", "data_type": "布尔", "code_table": "[0,1]"},
        {"name": "d", "field_name": "d", "data_type": "数字", "length": 4, "code_table": "[2000-01-01,]"},
        {"name": "e", "field_name": "e", "data_type": "日期", "code_table": "[0,100]"},
        {"name": "f", "field_name": "f", "data_type": "数字", "length": 6, "code_table": "GB/T 2260"},
        {"name": "g", "field_name": "g", "data_type": "字符", "length": 4, "code_table": "GB/T 2260"},
        {"name": "h", "field_name": "h", "data_type": "字符", "length": 1, "code_table": "GB/T 3304"},
        {"name": "i", "field_name": "i", "data_type": "数字", "length": 2, "code_table": "A=甲;B=乙"},
        {"name": "j", "field_name": "j", "data_type": "字符", "length": 5, "code_table": "GA 24.4"},
        {"name": "k", "field_name": "k", "data_type": "数字", "length": 5, "code_table": "[100,0]"},
        {"name": "l", "field_name": "l", "data_type": "字符", "length": 5, "code_table": "码" * 301},
    )
    found = problems(items=items)
    assert found == {
        "items[4].code_table": "第 5 个信息项：代码表“1=男;1=女”中代码“1”重复",
        "items[5].code_table": "第 6 个信息项：值域“[0,100]”只适用于数字、日期或日期时间类型的信息项，本项为字符",
        "items[6].code_table": "第 7 个信息项：值域“[0,1]”只适用于数字、日期或日期时间类型的信息项，本项为布尔",
        "items[7].code_table": "第 8 个信息项：值域“[2000-01-01,]”的上下限是日期，数字类型的信息项应写数字范围，如 [0,100]",
        "items[8].code_table": "第 9 个信息项：值域“[0,100]”的上下限是数字，日期类型的信息项应写日期范围，如 [1900-01-01,]",
        "items[9].code_table": "第 10 个信息项：GB/T 2260 行政区划代码只适用于字符类型的信息项（6 位数字代码），本项为数字",
        "items[10].code_table": "第 11 个信息项：GB/T 2260 行政区划代码是 6 位代码，信息项长度至少为 6，当前为 4",
        "items[11].code_table": "第 12 个信息项：代码表中的代码“01”超过信息项长度 1",
        "items[12].code_table": "第 13 个信息项：数字类型的信息项，代码表中的代码必须是数字，“A”不是",
        "items[13].code_table": found["items[13].code_table"],
        "items[14].code_table": "第 15 个信息项：值域“[100,0]”的下限 100 大于上限 0",
        "items[15].code_table": "第 16 个信息项：代码表/值域不能超过 300 个字",
    }
    assert found["items[13].code_table"].startswith("第 14 个信息项：不认识的代码表“GA 24.4”：可直接引用的国家标准代码表有")
