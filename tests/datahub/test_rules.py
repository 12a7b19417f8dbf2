"""Validation rules: derivation from catalog items, each rule kind on DuckDB, and agreement of the
identity-number / credit-code / division checks with the Python validators (hypothesis)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhengwu.core import divisions
from zhengwu.core import validators as pyval
from zhengwu.core.errors import DomainError
from zhengwu.datahub.rules import (
    COMPLETENESS,
    CONSISTENCY,
    UNIQUENESS,
    VALIDITY,
    Checker,
    Rule,
    derive_rules,
)
from zhengwu.datahub.schema import Column, ResourceSchema, RuleSpec

TODAY = date(2026, 3, 1)


def resident_id(area: str = "441402", birth: str = "19900101", seq: str = "123") -> str:
    body = area + birth + seq
    return body + pyval.resident_id_check_char(body)


def uscc(prefix: str = "91", area: str = "441402", org: str = "MA5T8K3Q0") -> str:
    body = prefix + area + org
    return body + pyval.uscc_check_char(body)


def schema_of(*columns: Column, code: str = "R") -> ResourceSchema:
    return ResourceSchema(code, "测试资源", 1, 1, "每日", tuple(columns))


@pytest.fixture(scope="module")
def duck() -> Iterator[Any]:
    con = ibis.duckdb.connect()
    yield con
    con.disconnect()


def run(
    con: Any, rules: Sequence[Rule], columns: dict[str, list[Any]], *, structure: list[str | None] | None = None,
    references: dict[str, Any] | None = None, today: date = TODAY,
) -> list[dict[str, str]]:
    """Per row (in order), {rule code: reason} of the rules it fails."""
    n = len(next(iter(columns.values())))
    data = {
        "_row": pa.array(range(1, n + 1), pa.int64()),
        "_structure": pa.array(structure or [None] * n, pa.string()),
        **{k: pa.array(v, pa.string()) for k, v in columns.items()},
    }
    table = ibis.memtable(pa.table(data))
    checker = Checker(rules, today=today, references=references)
    out = con.to_pyarrow(checker.annotate(table).order_by("_row")).to_pylist()
    return [
        {rule.code: row[checker.reason_column(i)] for i, rule in enumerate(rules) if row[checker.reason_column(i)]}
        for row in out
    ]


def failing(con: Any, column: Column, values: list[Any], *, custom: Sequence[RuleSpec] = (), **kw: Any) -> list[dict[str, str]]:
    rules = derive_rules(schema_of(column), custom)
    return run(con, rules, {column.field_name: values}, **kw)


# --- derivation -----------------------------------------------------------------------------------
def test_derive_rules_in_order_with_categories_labels_and_messages() -> None:
    schema = schema_of(
        Column("id_no", "公民身份号码", "字符", 18, is_key=True, required=True, semantic="resident_id"),
        Column("name", "姓名", "字符", 30, required=True),
        Column("gender", "性别", "字符", 1, code_table_text="GB/T 2261.1"),
        Column("birth_date", "出生日期", "日期"),
        Column("division_code", "行政区划代码", "字符", 6, code_table_text="GB/T 2260", semantic="division"),
        Column("org_code", "统一社会信用代码", "字符", 18, semantic="uscc"),
        Column("score", "分数", "数字", code_table_text="[0,100]"),
        Column("photo", "照片", "二进制"),
    )
    rules = derive_rules(schema, [
        RuleSpec(7, "pattern", "name", {"pattern": "[一-龥]{2,10}"}, message="姓名只能是汉字"),
        RuleSpec(8, "id_birthdate", "birth_date", {"id_field": "id_no"}),
        RuleSpec(9, "reference", "org_code", {"resource_code": "FR", "key": "uscc"}),
    ])
    assert [r.code for r in rules] == [
        "structure",
        "required:id_no", "length:id_no", "resident_id:id_no",
        "required:name", "length:name",
        "length:gender", "code_table:gender",
        "type:birth_date",
        "length:division_code", "division:division_code",  # GB/T 2260 table and division kind: one rule
        "length:org_code", "uscc:org_code",
        "type:score", "code_table:score",
        "type:photo",
        "unique:id_no",
        "custom:7", "custom:8", "custom:9",
    ]
    by_code = {r.code: r for r in rules}
    assert by_code["required:id_no"].category == COMPLETENESS
    assert by_code["required:id_no"].label == "公民身份号码(id_no) 必填"
    assert by_code["required:id_no"].message == "公民身份号码(id_no)：必填，不能为空"
    assert by_code["unique:id_no"].category == UNIQUENESS
    assert by_code["unique:id_no"].field == "id_no"
    assert {by_code[c].category for c in ("type:birth_date", "uscc:org_code", "custom:7", "structure")} == {VALIDITY}
    assert by_code["custom:8"].category == by_code["custom:9"].category == CONSISTENCY
    assert by_code["custom:7"].message == "姓名只能是汉字"
    assert by_code["structure"].field == "" and by_code["structure"].label == "结构"
    assert by_code["code_table:gender"].label.startswith("性别(gender) 取值符合GB/T 2261.1")


def test_composite_key_is_one_row_level_rule() -> None:
    schema = schema_of(
        Column("a", "甲", "字符", is_key=True, required=True), Column("b", "乙", "字符", is_key=True, required=True)
    )
    unique = [r for r in derive_rules(schema) if r.kind == "unique"]
    assert [(r.code, r.field, r.fields) for r in unique] == [("unique:a+b", "", ("a", "b"))]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (RuleSpec(1, "pattern", "nope", {"pattern": "x"}), "字段 nope 不是资源 R 的信息项"),
        (RuleSpec(1, "pattern", "a", {}), "缺少正则表达式"),
        (RuleSpec(1, "pattern", "a", {"pattern": "(unclosed"}), "正则表达式“(unclosed”写法有误（第 1 个字符处括号、方括号或转义不完整）"),
        (RuleSpec(1, "pattern", "a", {"pattern": "(?=x)x"}), "DuckDB 与 Spark 不能同样执行"),
        (RuleSpec(1, "range", "n", {"min": "abc"}), "必须都是数字或都是 YYYY-MM-DD 日期"),
        (RuleSpec(1, "range", "n", {"min": "1", "max": "2020-01-01"}), "必须都是数字或都是 YYYY-MM-DD 日期"),
        (RuleSpec(1, "range", "n", {"min": "5", "max": "1"}), "下限 5 大于上限 1"),
        (RuleSpec(1, "compare", "a", {"op": "<>", "other": "b"}), "比较符（op）“<>”无效"),
        (RuleSpec(1, "compare", "a", {"op": "<", "other": "a"}), "不是本资源的另一个信息项"),
        (RuleSpec(1, "compare", "a", {"op": "<", "other": "n"}), "类型不同，不能比较"),
        (RuleSpec(1, "id_birthdate", "d", {"id_field": "zz"}), "身份号码字段（id_field）“zz”不是本资源的信息项"),
        (RuleSpec(1, "reference", "a", {"resource_code": "X"}), "需要被引用资源的代码"),
        (RuleSpec(1, "whatever", "a", {}), "不认识的规则类型"),
    ],
)
def test_custom_rules_that_cannot_run_are_refused_in_chinese(spec: RuleSpec, fragment: str) -> None:
    schema = schema_of(
        Column("a", "甲", "字符"), Column("b", "乙", "字符"), Column("n", "数", "数字"), Column("d", "日", "日期")
    )
    with pytest.raises(DomainError) as caught:
        derive_rules(schema, [spec])
    assert fragment in caught.value.message


# --- each rule kind, passing and failing ------------------------------------------------------------
def test_required_fails_only_on_missing_and_other_rules_pass_missing(duck: Any) -> None:
    column = Column("birth", "出生日期", "日期", required=True)
    out = failing(duck, column, ["2020-01-01", None])
    assert out == [{}, {"required:birth": "出生日期(birth)：必填，不能为空"}]  # no type failure for the null


def test_structure_rows_fail_only_the_structure_rule(duck: Any) -> None:
    rules = derive_rules(schema_of(Column("name", "姓名", "字符", 4, required=True)))
    out = run(duck, rules, {"name": ["张三", None]}, structure=[None, "第 2 行有 3 个字段，应为 1 个"])
    assert out == [{}, {"structure": "第 2 行有 3 个字段，应为 1 个"}]


@pytest.mark.parametrize(
    ("data_type", "good", "bad"),
    [
        ("数字", ["-12.5", "007", "+3", "0.000001", "9" * 32], ["1e3", "1,000", "12.", ".5", "abc", "1.1234567", "9" * 33]),
        ("日期", ["2024-02-29", "0001-01-01", "1582-10-10"], ["2023-02-29", "2024-13-01", "2024-1-5", "0000-01-01", "2024-01-01 10:00"]),
        ("日期时间", ["2024-01-01 10:00", "2024-01-01 23:59:59", "2024-01-01T00:00:00.5"],
         ["2024-01-01 24:00", "2024-01-01", "2024-02-30 10:00", "2024-01-01 10:60", "2024-01-01 10:00:00.1234567"]),
        ("时间戳", ["2024-03-01 08:30:00"], ["20240301 083000"]),
        ("布尔", ["true", "FALSE", "是", "否", "1", "0"], ["yes", "2", "对"]),
        ("二进制", ["aGVsbG8=", "aGk=", "AAAA"], ["aGVsbG8", "a=bc", "aGVsbG8*"]),
    ],
)
def test_type_rules(duck: Any, data_type: str, good: list[str], bad: list[str]) -> None:
    out = failing(duck, Column("v", "值", data_type), good + bad)
    assert out[: len(good)] == [{}] * len(good)
    assert all(set(row) == {"type:v"} for row in out[len(good):]), out


def test_type_reasons_are_specific(duck: Any) -> None:
    out = failing(duck, Column("n", "金额", "数字"), ["1e3", "1.1234567"])
    assert out[0]["type:n"] == "金额(n)：不是有效的数字（如 12、-3.5，不用科学计数法和千分位）"
    assert out[1]["type:n"] == "金额(n)：超出可存储的精度（整数部分最多 32 位，小数最多 6 位）"
    out = failing(duck, Column("d", "日期", "日期"), ["2023-02-29", "2023/02/01"])
    assert out[0]["type:d"] == "日期(d)：日期 2023-02-29 不存在"
    assert out[1]["type:d"] == "日期(d)：不是有效的日期（YYYY-MM-DD）"


def test_length_counts_characters_not_bytes(duck: Any) -> None:
    out = failing(duck, Column("name", "姓名", "字符", 3), ["张三丰", "张三丰四", "abc"])
    assert out == [{}, {"length:name": "姓名(name)：长度不能超过 3 个字符，实为 4 个"}, {}]


def test_enumerated_code_tables_small_and_large(duck: Any) -> None:
    out = failing(duck, Column("g", "性别", "字符", code_table_text="GB/T 2261.1"), ["1", "9", "3", "男"])
    assert [bool(r) for r in out] == [False, False, True, True]
    # 58 ethnic codes go through a join rather than an IN list
    out = failing(duck, Column("e", "民族", "字符", code_table_text="GB/T 3304"), ["01", "56", "98", "99", "1"])
    assert [bool(r) for r in out] == [False, False, False, True, True]
    assert out[3]["code_table:e"].startswith("民族(e)：取值不符合GB/T 3304 民族代码")
    out = failing(duck, Column("s", "状态", "字符", code_table_text="在营、吊销、注销"), ["在营", "注销", "存续"])
    assert [bool(r) for r in out] == [False, False, True]


def test_range_code_table_numbers_and_dates(duck: Any) -> None:
    out = failing(duck, Column("n", "分数", "数字", code_table_text="[0,100]"), ["0", "100", "55.5", "100.5", "-1", "abc"])
    assert [set(r) for r in out] == [set(), set(), set(), {"code_table:n"}, {"code_table:n"}, {"type:n"}]
    # on a text column a value that is not a number fails the range itself
    out = failing(duck, Column("t", "文本分数", "字符", code_table_text="[0,100]"), ["50", "abc"])
    assert out == [{}, {"code_table:t": "文本分数(t)：取值应在 0 至 100 之间（不是数字）"}]
    out = failing(duck, Column("d", "日期", "日期", code_table_text="[2000-01-01,2020-12-31]"),
                  ["2000-01-01", "2020-12-31", "1999-12-31", "2021-01-01"])
    assert [bool(r) for r in out] == [False, False, True, True]


def test_division_codes(duck: Any) -> None:
    values = ["441402", "441402000000", "441402001", "441402001002", "110100", "441402000", "440524", "999999",
              "11010", "1101a5", "441900001"]
    out = failing(duck, Column("dv", "行政区划代码", "字符", semantic="division"), values)
    reasons = [r.get("division:dv", "") for r in out]
    assert reasons[:5] == ["", "", "", "", ""]
    assert reasons[5].endswith("行政区划代码 441402000 的乡级部分（第 7—9 位）不能是 000")
    assert reasons[6].endswith("行政区划代码 440524 已撤销或变更，不是现行代码")
    assert reasons[7].endswith("行政区划代码 999999 不是已知的行政区划代码")
    assert reasons[8].endswith("实为 5 位")
    assert reasons[9].endswith("只能包含数字")
    assert reasons[10] == ""  # 东莞市 has no counties: its towns hang under the prefecture


def test_resident_id_reasons(duck: Any) -> None:
    good = resident_id()
    values = {
        "ok": good,
        "historical area": resident_id("440524", "19850101"),
        "check": good[:17] + ("0" if good[17] != "0" else "1"),
        "short": good[:17],
        "old": good[:6] + good[8:17],
        "letter": good[:5] + "A" + good[6:],
        "lower x": next(i for i in (resident_id(seq=f"{n:03d}") for n in range(200)) if i.endswith("X")).lower(),
        "date": resident_id(birth="19990229"),
        "future": resident_id(birth="20300101"),
        "area": resident_id("999999"),
    }
    out = failing(duck, Column("id", "公民身份号码", "字符", semantic="resident_id"), list(values.values()))
    got = dict(zip(values, (r.get("resident_id:id", "") for r in out), strict=True))
    expected = pyval.resident_id_check_char(good[:17])
    assert got["ok"] == got["historical area"] == ""
    assert got["check"] == f"公民身份号码(id)：校验码错误：应为 {expected}，实为 {values['check'][17]}"
    assert got["short"] == "公民身份号码(id)：应为 18 位，实为 17 位"
    assert got["old"].endswith("这是 15 位的旧号码，请使用 18 位号码）")
    assert got["letter"] == "公民身份号码(id)：前 17 位必须是数字"
    assert got["lower x"] == "公民身份号码(id)：第 18 位（校验码）必须是数字或 X，实为“x”"
    assert got["date"] == "公民身份号码(id)：出生日期 19990229 不是有效日期（1999 年不是闰年，2 月没有 29 日）"
    assert got["future"] == "公民身份号码(id)：出生日期 2030-01-01 晚于今天"
    assert got["area"] == "公民身份号码(id)：地址码 999999 不是已知的行政区划代码"


def test_uscc_reasons(duck: Any) -> None:
    good = uscc()
    values = [good, uscc(area="100000"), good[:17] + ("0" if good[17] != "0" else "1"), good[:10] + "I" + good[11:],
              uscc(prefix="95"), uscc(prefix="B1"), uscc(area="999999"), good[:17]]
    out = failing(duck, Column("u", "统一社会信用代码", "字符", semantic="uscc"), values)
    reasons = [r.get("uscc:u", "") for r in out]
    assert reasons[:2] == ["", ""]
    assert "校验码错误：应为 " in reasons[2]
    assert reasons[3].endswith("含不允许的字符（只用数字和除 I、O、Z、S、V 外的大写字母）")
    assert reasons[4].endswith("机构类别代码“5”不属于登记管理部门“9”")
    assert reasons[5].endswith("登记管理部门代码“B”不在 GB 32100 代码表中")
    assert reasons[6].endswith("登记管理机关行政区划码 999999 不是已知的行政区划代码")
    assert reasons[7].endswith("应为 18 位，实为 17 位")


def test_key_uniqueness_refuses_every_duplicate(duck: Any) -> None:
    schema = schema_of(
        Column("k", "编号", "字符", is_key=True, required=True), Column("k2", "分号", "字符", is_key=True, required=True)
    )
    rules = derive_rules(schema)
    out = run(duck, rules, {"k": ["a", "a", "a", "a", "b", None, None], "k2": ["1", "1", "1", "2", "1", "1", "1"]})
    dup = [r.get("unique:k+k2") for r in out]
    assert dup[:3] == ["主键重复：本批次有 3 行主键相同"] * 3
    assert dup[3:] == [None] * 4  # a/2 and b/1 are single; rows without a key are not duplicates


def test_custom_pattern_range_compare_and_id_birthdate(duck: Any) -> None:
    schema = schema_of(
        Column("id", "公民身份号码", "字符", semantic="resident_id"),
        Column("birth", "出生日期", "日期"),
        Column("phone", "电话", "字符"),
        Column("start", "开始", "日期"),
        Column("end", "结束", "日期"),
        Column("age", "年龄", "数字"),
        Column("w", "重量", "数字"),
    )
    rules = derive_rules(schema, [
        RuleSpec(1, "pattern", "phone", {"pattern": "1[3-9][0-9]{9}"}),
        RuleSpec(2, "range", "age", {"min": "0", "max": "150"}),
        RuleSpec(3, "compare", "start", {"op": "<=", "other": "end"}, message="开始日期不能晚于结束日期"),
        RuleSpec(4, "id_birthdate", "birth", {"id_field": "id"}),
        RuleSpec(5, "compare", "age", {"op": "<", "other": "w"}),
    ])
    rid = resident_id(birth="19900101")
    out = run(duck, rules, {
        "id": [rid, rid, rid, None],
        "birth": ["1990-01-01", "1990-01-02", "1990-01-01", "1990-01-02"],
        "phone": ["13800138000", "1380013800", "x13800138000", None],
        "start": ["2024-01-01", "2024-02-01", "2024-01-01", None],
        "end": ["2024-01-01", "2024-01-31", None, "2024-01-01"],
        "age": ["30", "151", "9", "-1"],
        "w": ["60.5", "70", "10", "3"],
    })
    assert out[0] == {}
    assert set(out[1]) == {"custom:1", "custom:2", "custom:3", "custom:4", "custom:5"}
    assert out[1]["custom:3"] == "开始日期不能晚于结束日期"
    assert out[1]["custom:4"] == "出生日期(birth)：与公民身份号码(id)中的出生日期不一致"
    assert out[1]["custom:5"] == "年龄(age)：应小于“重量”"  # 151 < 70 fails as numbers
    assert set(out[2]) == {"custom:1"}  # the pattern must match the whole value; a missing end is not compared
    assert set(out[3]) == {"custom:2"}  # no identity number: nothing to compare the birth date with


def test_reference_rule_with_target_data_without_and_missing(duck: Any) -> None:
    schema = schema_of(Column("org", "单位", "字符"))
    rules = derive_rules(schema, [RuleSpec(3, "reference", "org", {"resource_code": "FR", "key": "uscc"})])
    target = ibis.memtable(pa.table({"uscc": pa.array(["A", "B", None], pa.string())}))
    out = run(duck, rules, {"org": ["A", "C", None]}, references={"FR": target})
    assert out == [{}, {"custom:3": "单位(org)：在资源 FR 的 uscc 中不存在"}, {}]
    out = run(duck, rules, {"org": ["A", None]}, references={"FR": None})
    assert out == [{"custom:3": "单位(org)：被引用的资源 FR 还没有任何数据，无法核对"}, {}]
    with pytest.raises(DomainError, match="需要资源 FR 的当前数据"):
        run(duck, rules, {"org": ["A"]}, references={})


# --- agreement with the Python validators ---------------------------------------------------------
_AREAS = sorted(set(divisions.table()) | set(pyval.historical_areas()))
_DIGIT_TEXT = st.text(alphabet="0123456789", min_size=1, max_size=3)


@st.composite
def identity_numbers(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from([*_AREAS, "999999", "000000", "110000"]))
    born = draw(st.dates(min_value=date(1840, 1, 1), max_value=date(2030, 12, 31)))
    body = area + born.strftime("%Y%m%d") + draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    value = body + pyval.resident_id_check_char(body)
    kind = draw(st.sampled_from(["valid", "valid", "digit", "check", "date", "length", "char", "lower"]))
    if kind == "digit":
        i = draw(st.integers(0, 16))
        value = value[:i] + str((int(value[i]) + draw(st.integers(1, 9))) % 10) + value[i + 1:]
    elif kind == "check":
        value = value[:17] + draw(st.sampled_from("0123456789X"))
    elif kind == "date":
        fake = draw(st.sampled_from(["20230229", "19000229", "20240431", "19991301", "20240100", "20000229"]))
        body = value[:6] + fake + value[14:17]
        value = body + pyval.resident_id_check_char(body)
    elif kind == "length":
        value = value[: draw(st.integers(0, 17))] if draw(st.booleans()) else value + draw(_DIGIT_TEXT)
    elif kind == "char":
        i = draw(st.integers(0, 17))
        value = value[:i] + draw(st.sampled_from("AXx-Z 中")) + value[i + 1:]
    elif kind == "lower":
        value = value.lower()
    return value


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    authority = draw(st.sampled_from([*pyval.USCC_CATEGORIES, "B", "0"]))
    kind_char = draw(st.sampled_from("1234599"))
    area = draw(st.sampled_from([*_AREAS[::7], "100000", "999999"]))
    org = draw(st.text(alphabet=pyval.USCC_ALPHABET, min_size=9, max_size=9))
    body = authority + kind_char + area + org
    value = body + pyval.uscc_check_char(body)
    mutation = draw(st.sampled_from(["valid", "valid", "check", "char", "length", "swap"]))
    if mutation == "check":
        value = value[:17] + draw(st.sampled_from(pyval.USCC_ALPHABET))
    elif mutation == "char":
        i = draw(st.integers(0, 17))
        value = value[:i] + draw(st.sampled_from("IOZSVa-")) + value[i + 1:]
    elif mutation == "length":
        value = value[: draw(st.integers(1, 17))]
    elif mutation == "swap":
        i = draw(st.integers(0, 16))
        value = value[:i] + value[i + 1] + value[i] + value[i + 2:]
    return value


@st.composite
def division_codes(draw: st.DrawFn) -> str:
    code = draw(st.sampled_from([*_AREAS, "999999", "441900", "110000"]))
    tail = draw(st.sampled_from(["", "", "000", "001", "000000", "001000", "001002", "12", "0a1"]))
    return code + tail


def _canonical(value: str) -> bool:
    """The engine stores values unchanged, so it accepts only what Python would not tidy."""
    return pyval._tidy(value, "")[0] == value


_AGREEMENT = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_AGREEMENT
@given(values=st.lists(identity_numbers(), min_size=40, max_size=80))
def test_resident_id_rule_agrees_with_check_resident_id(duck: Any, values: list[str]) -> None:
    out = failing(duck, Column("id", "公民身份号码", "字符", semantic="resident_id"), values)
    for value, row in zip(values, out, strict=True):
        python = pyval.check_resident_id(value, today=TODAY)
        reason = row.get("resident_id:id")
        assert (reason is None) == (python.ok and _canonical(value)), (value, reason, python.reason)
        if reason is not None and _canonical(value) and not python.ok:
            # the same reason, bar the column's name in front
            detail = reason.split("：", 1)[1]
            assert python.reason.removeprefix("公民身份号码").startswith(detail), (value, reason, python.reason)


@_AGREEMENT
@given(values=st.lists(credit_codes(), min_size=40, max_size=80))
def test_uscc_rule_agrees_with_check_uscc(duck: Any, values: list[str]) -> None:
    out = failing(duck, Column("u", "统一社会信用代码", "字符", semantic="uscc"), values)
    for value, row in zip(values, out, strict=True):
        python = pyval.check_uscc(value)
        reason = row.get("uscc:u")
        assert (reason is None) == (python.ok and _canonical(value)), (value, reason, python.reason)
        if reason is not None and _canonical(value) and python.reason.startswith("校验码错误"):
            assert reason.endswith(python.reason)


@_AGREEMENT
@given(values=st.lists(division_codes(), min_size=40, max_size=80))
def test_division_rule_agrees_with_check_division_code(duck: Any, values: list[str]) -> None:
    out = failing(duck, Column("dv", "行政区划代码", "字符", semantic="division"), values)
    for value, row in zip(values, out, strict=True):
        python = pyval.check_division_code(value)
        reason = row.get("division:dv")
        assert (reason is None) == python.ok, (value, reason, python.reason)


@pytest.mark.parametrize(
    ("earliest", "today"),
    [
        (pyval.EARLIEST_BIRTH_DATE, date(2026, 12, 2)),
        (date(1999, 12, 15), date(2000, 3, 1)),  # a century leap year
        (date(1900, 2, 27), date(1900, 3, 2)),  # a century that is not one
        (date(2024, 2, 29), date(2024, 2, 29)),
    ],
)
def test_birth_date_table_is_every_day_with_its_check_sum_share(earliest: date, today: date) -> None:
    """The identity-number check joins with this table; it must hold exactly the days from `earliest`
    to `today`, each with its eight digits' weighted share, as counted here the plain way."""
    from zhengwu.datahub.rules import _birth_rows

    weights = pyval.RESIDENT_ID_WEIGHTS[6:14]
    days = [date.fromordinal(n).strftime("%Y%m%d") for n in range(earliest.toordinal(), today.toordinal() + 1)]
    shares = [sum(int(d) * w for d, w in zip(day, weights, strict=True)) for day in days]
    assert _birth_rows(earliest, today) == {"code": days, "rid_sum": shares}
