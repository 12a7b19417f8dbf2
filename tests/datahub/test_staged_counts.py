"""The staged file's non-null counts (written by the stage writer into the Parquet metadata) and the
quality report built from them: the same report as counting over the staged rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from zhengwu.datahub import readers
from zhengwu.datahub.engine import check_batch
from zhengwu.datahub.rules import derive_rules
from zhengwu.datahub.schema import RuleSpec

from .test_engine import SCHEMA, TODAY, A, B, C

# an id_birthdate rule: a multi-column rule, whose checked rows are still counted over the batch
CUSTOM = [RuleSpec(1, "id_birthdate", "birth", {"id_field": "id_no"})]


def write_csv(path: Path) -> Path:
    header = ",".join(c.label for c in SCHEMA.columns)
    lines = [
        header,
        f"{A},张三,1,1990年1月1日,12.5,是,2024-01-01 10:00,X1",
        f"{B},  ,2,,-3,false,,",  # a blank name (whitespace only) is empty
        f"{C},王五,1,1985/5/5,,,2024/1/2 3:04,",
        "only,three,fields",  # a ragged record: a _structure row, every field null
        f"{C},赵六,3,2023-02-29,1e3,maybe,2024-13-01 00:00,ZZ",
        f"{A},钱七, ,19900101,7,1,,Y",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counted_by_hand(staged: Path) -> tuple[int, dict[str, int]]:
    table = pq.read_table(staged)
    names = ["_structure", *SCHEMA.field_names]
    return table.num_rows, {n: table.num_rows - table.column(n).null_count for n in names}


def without_counts(staged: Path, out: Path) -> Path:
    pq.write_table(pq.read_table(staged).replace_schema_metadata(None), out)
    return out


def test_stage_writer_counts_filled_cells(tmp_path: Path) -> None:
    staged = tmp_path / "staged.parquet"
    result = readers.stage_file(write_csv(tmp_path / "p.csv"), SCHEMA, staged)
    counts = readers.staged_counts(staged)
    assert counts == counted_by_hand(staged)
    assert counts is not None and counts[0] == result.rows == 6
    assert counts[1]["_structure"] == 1
    assert counts[1]["name"] == 4  # the whitespace-only name and the ragged row are empty


def test_staged_counts_absent_or_stale(tmp_path: Path) -> None:
    staged = tmp_path / "staged.parquet"
    readers.stage_file(write_csv(tmp_path / "p.csv"), SCHEMA, staged)
    assert readers.staged_counts(without_counts(staged, tmp_path / "plain.parquet")) is None
    table = pq.read_table(staged)
    pq.write_table(table.slice(0, 3).replace_schema_metadata(table.schema.metadata), tmp_path / "cut.parquet")
    assert readers.staged_counts(tmp_path / "cut.parquet") is None  # rows no longer match: not trusted
    assert readers.staged_counts(tmp_path / "missing.parquet") is None
    assert readers.staged_counts(tmp_path) is None


def test_report_is_the_same_with_and_without_the_staged_counts(tmp_path: Path) -> None:
    staged = tmp_path / "staged.parquet"
    readers.stage_file(write_csv(tmp_path / "p.csv"), SCHEMA, staged)
    plain = without_counts(staged, tmp_path / "plain.parquet")
    rules = derive_rules(SCHEMA, CUSTOM)
    with_counts = check_batch(staged, SCHEMA, rules, out_dir=tmp_path / "a", batch_id=1, today=TODAY)
    counted = check_batch(plain, SCHEMA, rules, out_dir=tmp_path / "b", batch_id=1, today=TODAY)
    assert with_counts.report == counted.report
    report = with_counts.report
    assert report["rows_in"] == 6
    assert report["normalised"] == {"birth": 3, "seen": 1}
    filled = {row["field"]: row["filled"] for row in report["fields"]}
    assert filled["name"] == 4 and filled["gender"] == 4 and filled["org"] == 3
    checked = {row["code"]: row["checked"] for row in report["rules"]}
    assert checked["custom:1"] == 4  # split rows with both an identity number and a birth date
