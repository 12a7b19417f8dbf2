"""The stage writer's dictionary pages: only text columns whose first rows hold few distinct values
get one, and the staged rows read back the same whichever columns got one."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from zhengwu.datahub import readers
from zhengwu.datahub.schema import Column, ResourceSchema

SCHEMA = ResourceSchema("T", "测试", 1, 1, "每日", (
    Column("id_no", "编号", "字符", 32, is_key=True, required=True),
    Column("gender", "性别", "字符", 4),
    Column("note", "备注", "字符", 64),
))


def column_encodings(path: Path) -> dict[str, set[str]]:
    meta = pq.ParquetFile(path).metadata
    found: dict[str, set[str]] = {}
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            chunk = meta.row_group(g).column(c)
            found.setdefault(chunk.path_in_schema, set()).update(chunk.encodings)
    return found


def test_few_distinct_columns_by_the_sampled_share() -> None:
    rows = 1000
    table = pa.table({
        "_row": pa.array(range(rows), pa.int64()),
        "id": pa.array([f"{i:06d}" for i in range(rows)]),  # all distinct
        "gender": pa.array(["1", "2"] * (rows // 2)),  # 2 distinct of 1000
        "edge": pa.array([f"{i % 50}" for i in range(rows)]),  # exactly 5 %: still few
        "over": pa.array([f"{i % 51}" for i in range(rows)]),  # 5.1 %: not few
        "empty": pa.nulls(rows, pa.string()),  # nothing to judge: no dictionary
        "sparse": pa.array(["甲" if i % 100 == 0 else None for i in range(rows)], pa.string()),  # 1 of 10 filled
    })
    assert readers.few_distinct_columns(table) == ["gender", "edge", "sparse"]


def test_staged_file_uses_dictionaries_only_where_they_pay(tmp_path: Path) -> None:
    rows = readers.ROW_GROUP_ROWS + 5000  # two row groups
    csv = tmp_path / "t.csv"
    lines = ["编号,性别,备注"]
    for i in range(rows):
        # the note is a repeated word in the sampled rows, then different in every row: it gets a
        # dictionary, which must grow (or fall back to plain pages) without losing a value
        note = "无" if i < readers.DICTIONARY_SAMPLE_ROWS else f"备注{i}"
        lines.append(f"{i:08d},{'男' if i % 2 else '女'},{note}")
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    staged = tmp_path / "staged.parquet"
    readers.stage_file(csv, SCHEMA, staged)

    encodings = column_encodings(staged)
    assert "RLE_DICTIONARY" in encodings["gender"] or "PLAIN_DICTIONARY" in encodings["gender"]
    assert not encodings["id_no"] & {"RLE_DICTIONARY", "PLAIN_DICTIONARY"}
    table = pq.read_table(staged)
    assert table.num_rows == rows
    assert table.column("id_no").to_pylist() == [f"{i:08d}" for i in range(rows)]
    assert table.column("gender").to_pylist() == ["男" if i % 2 else "女" for i in range(rows)]
    assert table.column("note").to_pylist() == [
        "无" if i < readers.DICTIONARY_SAMPLE_ROWS else f"备注{i}" for i in range(rows)
    ]
