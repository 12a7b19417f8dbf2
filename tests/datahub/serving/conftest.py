"""Fixtures of the serving store tests: a published resource with data ingested through datahub's
services (the fixtures of tests/datahub/conftest.py), the lake version read back with DuckDB to
compare with what the serving store answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from zhengwu.datahub import lake
from zhengwu.datahub.serving import store

from ..conftest import people_csv

TYPED_ITEMS: list[dict[str, Any]] = [
    {"name": "编号", "field_name": "code", "data_type": "字符", "length": 10, "is_key": True},
    {"name": "金额", "field_name": "amount", "data_type": "数字", "length": 20},
    {"name": "登记日期", "field_name": "reg_date", "data_type": "日期"},
    {"name": "更新时间", "field_name": "updated_at", "data_type": "日期时间"},
    {"name": "是否有效", "field_name": "active", "data_type": "布尔"},
    {"name": "行政区划代码", "field_name": "division_code", "data_type": "字符", "length": 12, "code_table": "GB/T 2260"},
]


@pytest.fixture
def ingest(tmp_path: Path, data_admin: Any) -> Callable[..., Any]:
    """ingest(entry, people, mode="incremental") — a CSV of people through datahub's services."""
    from zhengwu.datahub import services

    counter = {"n": 0}

    def run(entry: Any, people: list[dict[str, Any]], mode: str = "incremental") -> Any:
        counter["n"] += 1
        path = people_csv(tmp_path / f"batch{counter['n']}.csv", people)
        batch = services.ingest_file(data_admin, entry.resource_code, path, mode=mode)
        assert batch.status == "succeeded", batch.error_message
        return batch

    return run


def lake_rows(resource_code: str, version: int | None = None, where: str = "", params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The rows of a lake version as the serving store must answer them (JSON values), by DuckDB."""
    from zhengwu.datahub.serving import queries

    version = lake.current_version(resource_code) if version is None else version
    info = queries.served(resource_code)
    assert info is not None
    kinds = {c.field: c.kind for c in info.public_columns}
    dataset = lake.version_dataset(resource_code, version)
    if dataset is None:
        return []
    con = duckdb.connect()
    try:
        con.register("v", dataset)
        present = set(dataset.schema.names)
        select = ", ".join(f'"{f}"' if f in present else f'NULL AS "{f}"' for f in kinds)
        table = con.sql(f"SELECT {select} FROM v {where}", params=params or None).to_arrow_table()
    finally:
        con.close()
    return [{k: store.json_value(kinds[k], v) for k, v in row.items()} for row in table.to_pylist()]


def by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


@pytest.fixture(autouse=True)
def forget_known_tables() -> None:
    """Table ids repeat between tests on SQLite (each test's transaction is rolled back)."""
    from zhengwu.datahub.serving import queries

    queries._known.clear()
