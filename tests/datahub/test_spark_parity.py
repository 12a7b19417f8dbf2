"""The same batch checked on DuckDB and on PySpark (local mode) gives the same accepted rows, the
same refused rows with the same reasons, and the same report."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from zhengwu.core import divisions
from zhengwu.core import validators as pyval
from zhengwu.datahub import engine
from zhengwu.datahub.rules import derive_rules
from zhengwu.datahub.schema import Column, ResourceSchema, RuleSpec

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
    reason="Spark 需要 Java 17：本机没有 java，跳过 DuckDB/Spark 一致性测试",
)

TODAY = date(2026, 3, 1)
SCHEMA = ResourceSchema("POP", "人口", 1, 1, "每日", (
    Column("id_no", "公民身份号码", "字符", 18, is_key=True, required=True, semantic="resident_id"),
    Column("name", "姓名", "字符", 4, required=True),
    Column("gender", "性别", "字符", 1, code_table_text="GB/T 2261.1"),
    Column("nation", "民族", "字符", 2, code_table_text="GB/T 3304"),
    Column("status", "状态", "字符", code_table_text="在营、吊销、注销"),
    Column("birth", "出生日期", "日期"),
    Column("division", "行政区划代码", "字符", 12, semantic="division"),
    Column("org", "统一社会信用代码", "字符", 18, semantic="uscc"),
    Column("amount", "金额", "数字", code_table_text="[0,1000]"),
    Column("ratio", "比例", "数字"),
    Column("active", "有效", "布尔"),
    Column("seen", "登记时间", "日期时间"),
    Column("updated", "更新时间", "时间戳"),
    Column("photo", "照片", "二进制"),
    Column("note", "备注", "字符"),
))
CUSTOM = [
    RuleSpec(1, "pattern", "name", {"pattern": "[一-龥]{2,4}"}),
    RuleSpec(2, "id_birthdate", "birth", {"id_field": "id_no"}),
    RuleSpec(3, "range", "birth", {"min": "1900-01-01", "max": "2025-12-31"}),
    RuleSpec(4, "compare", "seen", {"op": "<=", "other": "updated"}, message="登记时间不能晚于更新时间"),
    RuleSpec(5, "compare", "ratio", {"op": "<", "other": "amount"}),
    RuleSpec(6, "reference", "org", {"resource_code": "FR", "key": "uscc"}),
]


def _rid(rng: random.Random, counties: list[str]) -> tuple[str, str]:
    born = date(1930, 1, 1).toordinal() + rng.randrange(90 * 365)
    birth = date.fromordinal(born)
    body = rng.choice(counties) + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return body + pyval.resident_id_check_char(body), birth.isoformat()


def _uscc(rng: random.Random, counties: list[str]) -> str:
    body = "91" + rng.choice(counties) + "".join(rng.choice(pyval.USCC_ALPHABET) for _ in range(9))
    return body + pyval.uscc_check_char(body)


def build_batch(path: Path, n: int = 300) -> tuple[Path, list[str]]:
    """A realistic batch with every kind of failure; returns it and the referenced credit codes."""
    rng = random.Random(20260301)
    counties = sorted(c for c in divisions.table() if c.startswith("4414") and not c.endswith("00"))
    known_orgs = [_uscc(rng, counties) for _ in range(20)]
    columns: dict[str, list[Any]] = {c.field_name: [] for c in SCHEMA.columns}
    structure: list[str | None] = []
    for i in range(n):
        rid, birth = _rid(rng, counties)
        row: dict[str, Any] = {
            "id_no": rid, "name": rng.choice(["张三", "李四", "王小五", "欧阳娜娜"]), "gender": rng.choice("12"),
            "nation": rng.choice(["01", "01", "05", "56"]), "status": rng.choice(["在营", "注销", None]),
            "birth": birth, "division": rng.choice([*counties, counties[0] + "001"]),
            "org": rng.choice([*known_orgs, None]), "amount": f"{rng.randrange(1000)}.{rng.randrange(100):02d}",
            "ratio": rng.choice(["0.5", "-1", None]), "active": rng.choice(["是", "否", "true", "0"]),
            "seen": f"2024-0{rng.randrange(1, 10)}-1{rng.randrange(10)} 0{rng.randrange(10)}:30",
            "updated": "2024-12-31 23:59:59", "photo": rng.choice(["aGVsbG8=", None]), "note": rng.choice(["", "备注", None]),
        }
        fault = i % 50
        if fault == 1:
            row["id_no"] = rid[:17] + ("0" if rid[17] != "0" else "1")
        elif fault == 2:
            row["name"] = None
        elif fault == 3:
            row["name"] = "欧阳小明明"  # too long and fails the pattern
        elif fault == 4:
            row["gender"] = "3"
        elif fault == 5:
            row["nation"] = "99"
        elif fault == 6:
            row["status"] = "存续"
        elif fault == 7:
            row["birth"] = birth[:5] + "02-30"
        elif fault == 8:
            row["birth"] = "1990-01-01" if birth != "1990-01-01" else "1991-01-01"  # disagrees with the id
        elif fault == 9:
            row["division"] = rng.choice(["999999", "440524", "441402000", "12345"])
        elif fault == 10:
            row["org"] = known_orgs[0][:17] + ("0" if known_orgs[0][17] != "0" else "1")
        elif fault == 11:
            row["org"] = _uscc(rng, counties)  # valid but not in the referenced resource
        elif fault == 12:
            row["amount"] = rng.choice(["1e3", "1000.5", "-2", "1.1234567"])
        elif fault == 13:
            row["ratio"] = "2000"  # not below amount
        elif fault == 14:
            row["active"] = "maybe"
        elif fault == 15:
            row["seen"] = "2024-02-30 10:00"
        elif fault == 16:
            row["seen"] = "2025-01-01 00:00"  # after updated
        elif fault == 17:
            row["photo"] = "not base64"
        elif fault == 18:
            row["id_no"] = columns["id_no"][i - 1]  # duplicate key
        elif fault == 19:
            row = dict.fromkeys(row)
        elif fault == 20:
            row["birth"] = "1899-12-31"
        elif fault == 21:
            row["id_no"] = None
        elif fault == 22:
            row.update(id_no=rid + "1", gender="12", nation="011", division=counties[1] + "0010020", org=known_orgs[1] + "Q")
        elif fault == 23:
            row.update(ratio="12.", updated="2024-12-31 24:00:00")
        elif fault == 24:  # the common Chinese date forms, rewritten to ISO on both engines
            y, m, d = (int(p) for p in birth.split("-"))
            row["birth"] = rng.choice([f"{y}年{m}月{d}日", f"{y}/{m}/{d}", f"{y}.{m}.{d}", f"{y}-{m}-{d}", f"{y}{m:02d}{d:02d}"])
        elif fault == 25:
            row.update(seen=rng.choice(["2024/3/5 9:30", "2024年3月5日 14:30:15", "2024.3.5 09:30:00.5", "20240305 08:00"]))
        elif fault == 26:  # a Chinese form of a date that does not exist, and a refused row keeping its text
            row.update(birth=rng.choice(["2006年2月30日", "2006/13/1", "20060230"]))
        elif fault == 27:
            y, m, d = (int(p) for p in birth.split("-"))
            row.update(birth=f"{y}年{m}月{d}日", name="欧阳小明明")
        if fault == 19:
            structure.append(f"第 {i + 1} 行有 14 个字段，应为 15 个")
        else:
            structure.append(None)
        for k, v in row.items():
            columns[k].append(v if v != "" else None)
    table = pa.table({
        "_row": pa.array(range(1, n + 1), pa.int64()),
        "_structure": pa.array(structure, pa.string()),
        **{k: pa.array(v, pa.string()) for k, v in columns.items()},
    })
    pq.write_table(table, path)
    return path, known_orgs


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    backend = engine.connect("spark")
    yield backend
    engine.stop_spark()


def _rows(path: Path) -> list[dict[str, Any]]:
    return pads.dataset(str(path), format="parquet").to_table().to_pylist()


def _key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in row.values())


def test_duckdb_and_spark_agree_on_the_same_batch(spark: Any, tmp_path: Path) -> None:
    staged, orgs = build_batch(tmp_path / "staged.parquet")
    target = tmp_path / "fr.parquet"
    pq.write_table(pa.table({"uscc": orgs}), target)
    rules = derive_rules(SCHEMA, CUSTOM)
    results = {
        name: engine.check_batch(
            staged, SCHEMA, rules, out_dir=tmp_path / name, batch_id=7, engine=name,
            references={"FR": [str(target)]}, today=TODAY,
        )
        for name in ("duckdb", "spark")
    }
    duck, spark_result = results["duckdb"], results["spark"]
    assert duck.rows_refused > 40 and duck.rows_accepted > 130  # the batch really exercises the rules
    assert {r["code"] for r in duck.report["rules"] if r["failed"]} == {r.code for r in rules}  # every rule fails somewhere

    accepted = {name: _rows(r.accepted) for name, r in results.items()}
    assert pq.read_schema(next(spark_result.accepted.glob("*.parquet"))).types == pq.read_schema(duck.accepted).types
    assert sorted(accepted["spark"], key=_key) == sorted(accepted["duckdb"], key=_key)

    def refused(result: engine.CheckResult) -> list[tuple[int, str, str]]:
        return sorted((r["_row"], r["_errors"], r["_rules"]) for r in _rows(result.refused))

    assert refused(spark_result) == refused(duck)
    assert sorted(map(_key, _rows(spark_result.refused))) == sorted(map(_key, _rows(duck.refused)))
    assert spark_result.report == duck.report
    # Chinese dates: rewritten the same way, counted, and refused rows keep the text as delivered
    assert duck.report["normalised"]["birth"] >= 12 and duck.report["normalised"]["seen"] >= 6
    assert any("年" in (r["birth"] or "") for r in _rows(duck.refused))
    assert not any("年" in str(r["birth"]) or "/" in str(r["seen"]) for r in accepted["duckdb"])
    assert (spark_result.rows_in, spark_result.rows_accepted, spark_result.rows_refused) == (
        duck.rows_in, duck.rows_accepted, duck.rows_refused
    )
