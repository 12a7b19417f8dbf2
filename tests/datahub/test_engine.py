"""check_batch on DuckDB: accepted (typed) and refused rows, the quality report on a hand-checked
batch, references, structure rows, duplicates and bad calls."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from zhengwu.core import validators as pyval
from zhengwu.core.errors import DomainError
from zhengwu.datahub.engine import CheckResult, check_batch, connect
from zhengwu.datahub.rules import Rule, derive_rules
from zhengwu.datahub.schema import Column, ResourceSchema, RuleSpec

TODAY = date(2026, 3, 1)


def resident_id(area: str = "441402", birth: str = "19900101", seq: str = "123") -> str:
    body = area + birth + seq
    return body + pyval.resident_id_check_char(body)


def uscc(area: str = "441402", org: str = "MA5T8K3Q0", prefix: str = "91") -> str:
    body = prefix + area + org
    return body + pyval.uscc_check_char(body)


def write_staged(path: Path, columns: dict[str, list[Any]], structure: list[str | None] | None = None) -> Path:
    n = len(next(iter(columns.values())))
    table = pa.table({
        "_row": pa.array(range(1, n + 1), pa.int64()),
        "_structure": pa.array(structure or [None] * n, pa.string()),
        **{k: pa.array(v, pa.string()) for k, v in columns.items()},
    })
    pq.write_table(table, path)
    return path


def rows_of(path: Path, sort_by: str | None = None) -> list[dict[str, Any]]:
    table = pads.dataset(str(path), format="parquet").to_table()
    if sort_by:
        table = table.sort_by(sort_by)
    return table.to_pylist()


# --- a small batch whose report is worked out by hand ---------------------------------------------
SCHEMA = ResourceSchema("P", "人口", 1, 1, "每日", (
    Column("id_no", "公民身份号码", "字符", 18, is_key=True, required=True, semantic="resident_id"),
    Column("name", "姓名", "字符", 4, required=True),
    Column("gender", "性别", "字符", 1, code_table_text="GB/T 2261.1"),
    Column("birth", "出生日期", "日期"),
    Column("amount", "金额", "数字"),
    Column("active", "有效", "布尔"),
    Column("seen", "登记时间", "日期时间"),
    Column("org", "单位", "字符"),
))
CUSTOM = [RuleSpec(1, "reference", "org", {"resource_code": "FR", "key": "uscc"})]
A, B, C = resident_id(), resident_id("110105", "19851231", "002"), resident_id(birth="19850505")
BAD_ID = A[:17] + ("0" if A[17] != "0" else "1")
STRUCTURE = "第 5 行有 9 个字段，应为 8 个"
COLUMNS: dict[str, list[Any]] = {
    #          1              2        3             4       5     6
    "id_no": [A, B, C, C, None, BAD_ID],
    "name": ["张三", "李四", "王五", None, None, "赵六"],
    "gender": ["1", "2", "1", "2", None, "3"],
    "birth": ["1990-01-01", None, "1985-05-05", None, None, "2023-02-29"],
    "amount": ["12.5", "-3", None, None, None, "1e3"],
    "active": ["是", "false", None, None, None, "maybe"],
    "seen": ["2024-01-01 10:00", None, None, None, None, "2024-13-01 00:00"],
    "org": ["X1", None, None, None, None, "ZZ"],
}


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, list[Rule], dict[str, list[str]]]:
    staged = write_staged(tmp_path / "staged.parquet", COLUMNS, [None, None, None, None, STRUCTURE, None])
    target = tmp_path / "fr.parquet"
    pq.write_table(pa.table({"uscc": ["X1", "X2"], "name": ["甲", "乙"]}), target)
    return staged, derive_rules(SCHEMA, CUSTOM), {"FR": [str(target)]}


def check(staged: Path, rules: list[Rule], references: dict[str, list[str]], out: Path, **kw: Any) -> CheckResult:
    return check_batch(staged, SCHEMA, rules, out_dir=out, batch_id=42, references=references, today=TODAY, **kw)


def test_accepted_rows_are_typed_in_schema_order(small: Any, tmp_path: Path) -> None:
    result = check(*small, tmp_path / "out")
    assert (result.rows_in, result.rows_accepted, result.rows_refused) == (6, 2, 4)
    schema = pq.read_schema(result.accepted)
    assert schema.names == [*SCHEMA.field_names, "_batch"]
    assert [str(schema.field(n).type) for n in schema.names] == [
        "string", "string", "string", "date32[day]", "decimal128(38, 6)", "bool", "timestamp[us]", "string", "int64"
    ]
    rows = sorted(rows_of(result.accepted), key=lambda r: r["id_no"])
    assert rows == sorted([
        {"id_no": A, "name": "张三", "gender": "1", "birth": date(1990, 1, 1), "amount": Decimal("12.500000"),
         "active": True, "seen": datetime(2024, 1, 1, 10, 0), "org": "X1", "_batch": 42},
        {"id_no": B, "name": "李四", "gender": "2", "birth": None, "amount": Decimal("-3.000000"),
         "active": False, "seen": None, "org": None, "_batch": 42},
    ], key=lambda r: r["id_no"])


def test_refused_rows_carry_reasons_rules_and_raw_text(small: Any, tmp_path: Path) -> None:
    result = check(*small, tmp_path / "out")
    assert pq.read_schema(result.refused).names == ["_row", "_errors", "_rules", *SCHEMA.field_names]
    refused = rows_of(result.refused, "_row")
    assert [r["_row"] for r in refused] == [3, 4, 5, 6]
    assert refused[0]["_errors"] == "主键重复：本批次有 2 行主键相同"
    assert refused[1]["_errors"] == "姓名(name)：必填，不能为空；主键重复：本批次有 2 行主键相同"
    assert refused[1]["_rules"] == "required:name,unique:id_no"
    assert (refused[2]["_errors"], refused[2]["_rules"], refused[2]["id_no"]) == (STRUCTURE, "structure", None)
    assert refused[3]["_rules"] == (
        "resident_id:id_no,code_table:gender,type:birth,type:amount,type:active,type:seen,custom:1"
    )
    expected = pyval.resident_id_check_char(A[:17])
    assert refused[3]["_errors"].split("；") == [
        f"公民身份号码(id_no)：校验码错误：应为 {expected}，实为 {BAD_ID[17]}",
        "性别(gender)：取值不符合GB/T 2261.1 人的性别代码（0、1、2、9）",
        "出生日期(birth)：日期 2023-02-29 不存在",
        "金额(amount)：不是有效的数字（如 12、-3.5，不用科学计数法和千分位）",
        "有效(active)：不是有效的布尔值（true/false、是/否、1/0）",
        "登记时间(seen)：日期 2024-13-01 不存在",
        "单位(org)：在资源 FR 的 uscc 中不存在",
    ]
    assert (refused[3]["amount"], refused[3]["seen"]) == ("1e3", "2024-13-01 00:00")  # raw text kept


def test_report_numbers_on_a_hand_checked_batch(small: Any, tmp_path: Path) -> None:
    report = check(*small, tmp_path / "out").report
    assert json.loads(json.dumps(report, ensure_ascii=False)) == report
    assert (report["rows_in"], report["rows_accepted"], report["rows_refused"]) == (6, 2, 4)
    rules = {r["code"]: (r["failed"], r["checked"], r["pass_rate"]) for r in report["rules"]}
    assert list(rules) == [r.code for r in derive_rules(SCHEMA, CUSTOM)]
    assert rules == {
        "structure": (1, 6, 0.8333),
        "required:id_no": (0, 5, 1.0),
        "length:id_no": (0, 5, 1.0),
        "resident_id:id_no": (1, 5, 0.8),
        "required:name": (1, 5, 0.8),
        "length:name": (0, 4, 1.0),
        "length:gender": (0, 5, 1.0),
        "code_table:gender": (1, 5, 0.8),
        "type:birth": (1, 3, 0.6667),
        "type:amount": (1, 3, 0.6667),
        "type:active": (1, 3, 0.6667),
        "type:seen": (1, 2, 0.5),
        "unique:id_no": (2, 5, 0.6),
        "custom:1": (1, 2, 0.5),
    }
    first = report["rules"][0]
    assert first == {"code": "structure", "field": "", "label": "结构", "category": "validity", "failed": 1,
                     "checked": 6, "pass_rate": 0.8333}
    fields = {f["field"]: (f["label"], f["filled"], f["empty"], f["failed"], f["pass_rate"]) for f in report["fields"]}
    assert list(fields) == SCHEMA.field_names
    assert fields == {
        "id_no": ("公民身份号码", 5, 1, 3, 0.4),
        "name": ("姓名", 4, 2, 1, 0.8),
        "gender": ("性别", 5, 1, 1, 0.8),
        "birth": ("出生日期", 3, 3, 1, 0.8),
        "amount": ("金额", 3, 3, 1, 0.8),
        "active": ("有效", 3, 3, 1, 0.8),
        "seen": ("登记时间", 2, 4, 1, 0.8),
        "org": ("单位", 2, 4, 1, 0.8),
    }
    assert report["metrics"] == {"completeness": 0.5625, "validity": 0.6667, "uniqueness": 0.6667, "consistency": 0.8333}
    samples = report["samples"]
    assert set(samples) == {code for code, (failed, _c, _p) in rules.items() if failed}
    assert samples["unique:id_no"] == [
        {"row": 3, "value": C, "message": "主键重复：本批次有 2 行主键相同"},
        {"row": 4, "value": C, "message": "主键重复：本批次有 2 行主键相同"},
    ]
    assert samples["structure"] == [{"row": 5, "value": None, "message": STRUCTURE}]
    assert samples["type:amount"] == [
        {"row": 6, "value": "1e3", "message": "金额(amount)：不是有效的数字（如 12、-3.5，不用科学计数法和千分位）"}
    ]


def test_samples_are_the_lowest_rows_up_to_the_limit(tmp_path: Path) -> None:
    schema = ResourceSchema("S", "样例", 1, 1, "", (Column("g", "性别", "字符", code_table_text="GB/T 2261.1"),))
    staged = write_staged(tmp_path / "s.parquet", {"g": ["1", "x7", "x6", "x5", "2", "x4", "x3", "x2"]})
    result = check_batch(staged, schema, derive_rules(schema), out_dir=tmp_path / "o", batch_id=1, sample_size=3)
    assert [s["row"] for s in result.report["samples"]["code_table:g"]] == [2, 3, 4]
    assert [s["value"] for s in result.report["samples"]["code_table:g"]] == ["x7", "x6", "x5"]
    assert result.report["rules"][1]["failed"] == 6


def test_reference_to_a_resource_without_data_refuses_every_value(small: Any, tmp_path: Path) -> None:
    staged, rules, _ = small
    result = check(staged, rules, {"FR": []}, tmp_path / "out")
    refused = {r["_row"]: r for r in rows_of(result.refused)}
    assert set(refused) == {1, 3, 4, 5, 6}
    assert refused[1]["_errors"] == "单位(org)：被引用的资源 FR 还没有任何数据，无法核对"
    assert result.report["samples"]["custom:1"][0] == {
        "row": 1, "value": "X1", "message": "单位(org)：被引用的资源 FR 还没有任何数据，无法核对"
    }


def test_reference_rule_needs_the_target_files(small: Any, tmp_path: Path) -> None:
    staged, rules, _ = small
    with pytest.raises(DomainError, match="需要资源 FR 的当前数据"):
        check(staged, rules, {}, tmp_path / "out")


def test_reference_to_a_typed_key_and_to_a_directory_of_files(tmp_path: Path) -> None:
    schema = ResourceSchema("S", "样例", 1, 1, "", (Column("n", "编号", "数字"),))
    target = tmp_path / "target"
    target.mkdir()
    pq.write_table(pa.table({"code": pa.array([Decimal("1.5"), Decimal("2")], pa.decimal128(38, 6))}), target / "a.parquet")
    pq.write_table(pa.table({"code": pa.array([Decimal("7")], pa.decimal128(38, 6))}), target / "b.parquet")
    rules = derive_rules(schema, [RuleSpec(5, "reference", "n", {"resource_code": "T", "key": "code"})])
    staged = write_staged(tmp_path / "s.parquet", {"n": ["1.5", "2.000", "7", "3"]})
    result = check_batch(staged, schema, rules, out_dir=tmp_path / "o", batch_id=1, references={"T": [str(target)]})
    assert [r["_row"] for r in rows_of(result.refused)] == [4]


def test_staged_directory_and_reruns_overwrite_outputs(tmp_path: Path) -> None:
    schema = ResourceSchema("S", "样例", 1, 1, "", (Column("k", "编号", "字符", is_key=True, required=True),))
    staged = tmp_path / "staged"
    staged.mkdir()
    pq.write_table(pa.table({"_row": pa.array([1, 2], pa.int64()), "_structure": pa.array([None, None], pa.string()),
                             "k": ["a", "b"]}), staged / "part-0.parquet")
    pq.write_table(pa.table({"_row": pa.array([3], pa.int64()), "_structure": pa.array([None], pa.string()),
                             "k": ["a"]}), staged / "part-1.parquet")
    for _ in range(2):
        result = check_batch(staged, schema, derive_rules(schema), out_dir=tmp_path / "o", batch_id=9)
        assert (result.rows_accepted, result.rows_refused) == (1, 2)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["accepted.parquet", "refused.parquet"]


def test_an_empty_batch(tmp_path: Path) -> None:
    staged = write_staged(tmp_path / "s.parquet", {c: [] for c in SCHEMA.field_names})
    result = check_batch(staged, SCHEMA, derive_rules(SCHEMA), out_dir=tmp_path / "o", batch_id=1)
    assert (result.rows_in, result.rows_accepted, result.rows_refused) == (0, 0, 0)
    assert result.report["metrics"] == {"completeness": 1.0, "validity": 1.0, "uniqueness": 1.0, "consistency": 1.0}
    assert result.report["samples"] == {}
    assert pq.read_schema(result.accepted).names == [*SCHEMA.field_names, "_batch"]


def test_structure_rule_is_added_when_missing(tmp_path: Path) -> None:
    schema = ResourceSchema("S", "样例", 1, 1, "", (Column("k", "编号", "字符"),))
    staged = write_staged(tmp_path / "s.parquet", {"k": ["a", None]}, [None, "坏行"])
    rules = [r for r in derive_rules(schema) if r.kind != "structure"]
    result = check_batch(staged, schema, rules, out_dir=tmp_path / "o", batch_id=1)
    assert [(r["_row"], r["_rules"]) for r in rows_of(result.refused)] == [(2, "structure")]


def test_staged_file_without_a_column_is_refused_in_chinese(tmp_path: Path) -> None:
    staged = write_staged(tmp_path / "s.parquet", {"id_no": [A]})
    with pytest.raises(DomainError, match="暂存数据缺少列：name"):
        check_batch(staged, SCHEMA, derive_rules(SCHEMA), out_dir=tmp_path / "o", batch_id=1)


def test_unknown_engine_is_refused(small: Any, tmp_path: Path) -> None:
    staged, rules, refs = small
    with pytest.raises(DomainError, match="计算引擎只能是 duckdb 或 spark"):
        check(staged, rules, refs, tmp_path / "out", engine="polars")


def test_duckdb_connection_is_limited_and_spills_to_the_work_dir(tmp_path: Path, settings: Any) -> None:
    import duckdb

    settings.DUCKDB_MEMORY_LIMIT = "256MB"
    con = connect("duckdb", work_dir=tmp_path)
    try:
        value = con.raw_sql("SELECT current_setting('memory_limit'), current_setting('threads'), "
                            "current_setting('temp_directory')").fetchone()
    finally:
        con.disconnect()
    reference = duckdb.connect(config={"memory_limit": "256MB"})
    assert value == (reference.execute("SELECT current_setting('memory_limit')").fetchone()[0], os.cpu_count(),
                     str(tmp_path / "duckdb-spill"))
    reference.close()


# --- the failing-rows pass is planned once per process ----------------------------------------------
def test_the_failing_rows_plan_is_reused_and_remade_when_rules_or_day_change(tmp_path: Path, monkeypatch: Any) -> None:
    from zhengwu.datahub import engine

    monkeypatch.setattr(engine, "_plans", type(engine._plans)())
    built: list[str] = []
    real_to_sql = engine.ibis.to_sql
    monkeypatch.setattr(engine.ibis, "to_sql", lambda expr, **kw: built.append("x") or real_to_sql(expr, **kw))
    staged = write_staged(tmp_path / "s.parquet", {k: v[:4] for k, v in COLUMNS.items()})
    rules = derive_rules(SCHEMA, [])
    first = check_batch(staged, SCHEMA, rules, out_dir=tmp_path / "a", batch_id=1, today=TODAY)
    again = check_batch(staged, SCHEMA, derive_rules(SCHEMA, []), out_dir=tmp_path / "b", batch_id=2, today=TODAY)
    assert len(built) == 1 and len(engine._plans) == 1
    assert rows_of(first.refused, "_row") == rows_of(again.refused, "_row") and first.report == again.report
    # another day (birth dates in identity numbers are bounded by it) and another rule are planned anew
    check_batch(staged, SCHEMA, rules, out_dir=tmp_path / "c", batch_id=3, today=date(2026, 3, 2))
    narrower = derive_rules(SCHEMA, [RuleSpec(2, "pattern", "name", {"pattern": "^张.*$"})])
    named = check_batch(staged, SCHEMA, narrower, out_dir=tmp_path / "d", batch_id=4, today=TODAY)
    assert len(built) == 3 and len(engine._plans) == 3
    assert named.rows_refused == first.rows_refused + 1  # 李四 now fails the pattern too
    # the plan does not keep a file's name: a second file (named with a quote) is read, not the first
    other = write_staged(tmp_path / "o'ther.parquet", {k: v[:2] for k, v in COLUMNS.items()})
    assert check_batch(other, SCHEMA, rules, out_dir=tmp_path / "e", batch_id=5, today=TODAY).rows_in == 2
    assert len(built) == 3


def test_the_failing_rows_plans_kept_are_bounded(tmp_path: Path, monkeypatch: Any) -> None:
    from zhengwu.datahub import engine

    monkeypatch.setattr(engine, "_plans", type(engine._plans)())
    monkeypatch.setattr(engine, "PLANS_KEPT", 2)
    staged = write_staged(tmp_path / "s.parquet", {k: v[:2] for k, v in COLUMNS.items()})
    for day in (1, 2, 3):
        check_batch(staged, SCHEMA, derive_rules(SCHEMA, []), out_dir=tmp_path / str(day), batch_id=day, today=date(2026, 3, day))
    assert len(engine._plans) == 2 and all("2026-03-01" not in key for key in engine._plans)
