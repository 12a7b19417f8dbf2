"""The 代码表/值域 parser: enumerations, ranges, named national tables and the Chinese errors."""

from __future__ import annotations

import pytest

from zhengwu.catalog.codetables import ETHNIC_CODES, GENDER_CODES, CodeTable, CodeTableError, parse_code_table


def parsed(text: str) -> CodeTable:
    table = parse_code_table(text)
    assert table is not None
    return table


def error(text: str) -> str:
    with pytest.raises(CodeTableError) as info:
        parse_code_table(text)
    return str(info.value)


def test_empty_is_no_table() -> None:
    assert parse_code_table("") is None
    assert parse_code_table("   ") is None


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1=男;2=女", {"1": "男", "2": "女"}),
        ("1:男，2:女", {"1": "男", "2": "女"}),
        ("1 = 男 ； 2 = 女 ;", {"1": "男", "2": "女"}),
        ("在营、吊销、注销", {"在营": "在营", "吊销": "吊销", "注销": "注销"}),
        ("A|B", {"A": "A", "B": "B"}),
        # Meanings may hold brackets, "~" or commas of a range without being read as one.
        ("1=在业（含开业）,2=吊销", {"1": "在业（含开业）", "2": "吊销"}),
        ("1=0~6岁;2=7~17岁;3=18岁以上", {"1": "0~6岁", "2": "7~17岁", "3": "18岁以上"}),
        # Codes that start with letters are codes, not standards.
        ("GB=英国;CN=中国", {"GB": "英国", "CN": "中国"}),
    ],
)
def test_enumerations(text: str, values: dict[str, str]) -> None:
    table = parsed(text)
    assert table.kind == "enum" and table.values == values
    assert table.describe().startswith("代码表（")


@pytest.mark.parametrize(
    ("text", "low", "high", "described"),
    [
        ("[0,100]", "0", "100", "取值在 0 至 100 之间"),
        ("0..100", "0", "100", "取值在 0 至 100 之间"),
        ("0~100", "0", "100", "取值在 0 至 100 之间"),
        ("1～5", "1", "5", "取值在 1 至 5 之间"),
        ("（0，100）", "0", "100", "取值在 0 至 100 之间"),
        ("[-5.5, 10]", "-5.5", "10", "取值在 -5.5 至 10 之间"),
        ("[0,]", "0", None, "取值不小于 0"),
        ("[,100]", None, "100", "取值不大于 100"),
        ("[1900-01-01,]", "1900-01-01", None, "取值不早于 1900-01-01"),
        ("[,2030-12-31]", None, "2030-12-31", "取值不晚于 2030-12-31"),
        ("2020-01-01~2020-12-31", "2020-01-01", "2020-12-31", "取值在 2020-01-01 至 2020-12-31 之间"),
    ],
)
def test_ranges(text: str, low: str | None, high: str | None, described: str) -> None:
    table = parsed(text)
    assert (table.kind, table.low, table.high) == ("range", low, high)
    assert table.describe() == described  # as people read it, not "[1900-01-01, ]" or ">="


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("GB/T 2261.1", "GB/T 2261.1 人的性别代码"),
        ("gb/t2261.1-2003", "GB/T 2261.1 人的性别代码"),
        ("GB/T 2261.1—2003 人的性别代码", "GB/T 2261.1 人的性别代码"),
        ("GB/T 3304", "GB/T 3304 民族代码"),
        ("GB/T 3304-1991", "GB/T 3304 民族代码"),
    ],
)
def test_named_enumerations(text: str, label: str) -> None:
    table = parsed(text)
    assert table.kind == "enum" and table.label == label
    expected = GENDER_CODES if "2261" in label else ETHNIC_CODES
    assert table.values == expected
    assert table.describe().startswith(label)


def test_named_tables_contents() -> None:
    assert parsed("GB/T 2261.1").values == {"0": "未知的性别", "1": "男性", "2": "女性", "9": "未说明的性别"}
    ethnic = parsed("GB/T 3304").values
    assert len(ethnic) == 58 and ethnic["01"] == "汉族" and ethnic["56"] == "基诺族" and ethnic["98"] == "外国血统中国籍人士"
    assert "等 58 个值" in parsed("GB/T 3304").describe()


def test_division_table() -> None:
    for text in ("GB/T 2260", "GB/T 2260-2007", "gb/t2260"):
        table = parsed(text)
        assert table.kind == "division" and table.describe() == "GB/T 2260 行政区划代码"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1=a;1=b", "代码表“1=a;1=b”中代码“1”重复"),
        ("=a", "缺少代码"),
        (";；", "没有任何代码"),
        ("[a,b]", "上下限必须是数字或有效的 YYYY-MM-DD 日期"),
        ("[,]", "上下限必须是数字或有效的 YYYY-MM-DD 日期"),
        ("[0,1e5]", "上下限必须是数字"),
        ("[2020-13-45,]", "有效的 YYYY-MM-DD 日期"),
        ("[2021-02-30,]", "有效的 YYYY-MM-DD 日期"),
        ("[1,2,3]", "上下限必须是数字"),
        ("[100,0]", "下限 100 大于上限 0"),
        ("[2021-01-01,2020-01-01]", "下限 2021-01-01 大于上限 2020-01-01"),
        ("[0, 2020-01-01]", "一个是数字、一个是日期"),
        ("GB/T 9999", "不认识的代码表“GB/T 9999”"),
        ("GB 2312", "不认识的代码表"),
        ("GA 24.4", "不认识的代码表“GA 24.4”"),
        ("见 JT/T 697.7", "不认识的代码表"),
    ],
)
def test_errors_are_chinese(text: str, message: str) -> None:
    found = error(text)
    assert message in found
    assert any("\u4e00" <= ch <= "\u9fff" for ch in found)


def test_unknown_standard_lists_the_known_ones() -> None:
    found = error("GB/T 4658")
    assert "GB/T 2261.1、GB/T 3304、GB/T 2260" in found and "1=男;2=女" in found
