"""The physical side of the serving store: column kinds, SQL types, identifiers, value conversion
between the lake, the database and JSON, and the DDL/DML that builds and patches a served table.

Shared by `services` (which builds and refreshes) and `queries` (which reads). Identifiers come
only from the catalog schema (field names are checked against FIELD_NAME_RE before they are
quoted with the connection's quote_name); values always travel as query parameters.

Storage per kind (PostgreSQL / SQLite):
  text       字符, 二进制        text / TEXT
  number     数字               numeric(38,6) / TEXT holding the canonical decimal text ("1.5", "100")
                                (exact: SQLite's REAL would lose digits past the 15th; range
                                filters and ordering compare CAST(... AS REAL) there)
  date       日期               date / TEXT "YYYY-MM-DD"
  timestamp  日期时间, 时间戳     timestamp without time zone / TEXT in datetime.isoformat()
  boolean    布尔               boolean / INTEGER 0/1
A resource without a key column gets a hidden `_srv_row` bigint key (row number of the build).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
from django.db import connection

from zhengwu.datahub.readers import decimal_text
from zhengwu.datahub.schema import DIVISION, ResourceSchema

TEXT, NUMBER, DATE, TIMESTAMP, BOOLEAN = "text", "number", "date", "timestamp", "boolean"
KIND_OF_TYPE = {
    "字符": TEXT, "二进制": TEXT, "数字": NUMBER, "日期": DATE, "日期时间": TIMESTAMP, "时间戳": TIMESTAMP, "布尔": BOOLEAN,
}
KIND_NAMES = {TEXT: "文本", NUMBER: "数字", DATE: "日期", TIMESTAMP: "日期时间", BOOLEAN: "布尔"}
ROW_KEY = "_srv_row"  # the hidden key of a resource without key columns (catalog names start with a letter)
IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
LOAD_BATCH_ROWS = 50_000
INDEX_BUILD_MEMORY = "256MB"  # PostgreSQL maintenance_work_mem while a served table's indexes are built


@dataclass(frozen=True)
class ServedColumn:
    field: str
    label: str
    data_type: str  # the catalog's 数据类型
    kind: str  # TEXT / NUMBER / DATE / TIMESTAMP / BOOLEAN
    division: bool = False  # GB/T 2260 division codes: a scope code allows its descendants
    indexed: bool = False  # has a code table (row scopes filter on it) or is a date

    @property
    def title(self) -> str:
        return f"{self.label}({self.field})" if self.label and self.label != self.field else self.field

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "label": self.label, "data_type": self.data_type, "kind": self.kind,
                "division": self.division, "indexed": self.indexed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServedColumn:
        return cls(field=data["field"], label=data.get("label", ""), data_type=data.get("data_type", ""),
                   kind=data["kind"], division=bool(data.get("division")), indexed=bool(data.get("indexed")))


def is_division(column: Any) -> bool:
    return column.semantic == DIVISION or "2260" in (column.code_table_text or "")


def served_columns(schema: ResourceSchema) -> tuple[list[ServedColumn], list[str]]:
    """The served table's columns (catalog order) and key columns, from a resource's schema."""
    columns: list[ServedColumn] = []
    for c in schema.columns:
        kind = KIND_OF_TYPE.get(c.data_type, TEXT)
        division = is_division(c)
        columns.append(ServedColumn(
            field=c.field_name, label=c.label, data_type=c.data_type, kind=kind, division=division,
            indexed=bool(c.code_table_text.strip()) or division or kind == DATE,
        ))
    keys = [c.field_name for c in schema.keys]
    if not keys:
        columns.append(ServedColumn(field=ROW_KEY, label="行号", data_type="数字", kind=NUMBER))
        keys = [ROW_KEY]
    return columns, keys


def vendor() -> str:
    return str(connection.vendor)


def quote(name: str) -> str:
    """A checked, quoted identifier. Names come from the catalog schema (or the platform's own
    table names); anything else is refused before it reaches SQL."""
    if not IDENTIFIER_RE.fullmatch(name):
        raise ValueError(f"不可用作列名或表名：{name!r}")
    return str(connection.ops.quote_name(name))


def table_name_for(resource_code: str, number: int) -> str:
    code = re.sub(r"[^a-z0-9]+", "_", resource_code.lower()).strip("_")[:40] or "resource"
    return f"srv_{code}_{number}"


def sql_type(kind: str) -> str:
    if vendor() == "postgresql":
        return {TEXT: "text", NUMBER: "numeric(38,6)", DATE: "date", TIMESTAMP: "timestamp", BOOLEAN: "boolean"}[kind]
    return {TEXT: "TEXT", NUMBER: "TEXT", DATE: "TEXT", TIMESTAMP: "TEXT", BOOLEAN: "INTEGER"}[kind]


# --- values ------------------------------------------------------------------------------------------


def json_value(kind: str, value: Any) -> Any:
    """A lake or database value as JSON: text, canonical decimal text, ISO dates, booleans, None."""
    if value is None:
        return None
    if kind == NUMBER:
        if isinstance(value, Decimal):
            return decimal_text(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return str(value)  # SQLite: already canonical text
    if kind in (DATE, TIMESTAMP):
        return value.isoformat() if isinstance(value, date | datetime) else str(value)
    if kind == BOOLEAN:
        return bool(value)
    return value if isinstance(value, str) else str(value)


def db_param(kind: str, value: Any) -> Any:
    """A typed Python value (Decimal, date, datetime, bool, str) as the database stores it."""
    if value is None or vendor() == "postgresql":
        return value
    if kind == NUMBER:
        return decimal_text(value) if isinstance(value, Decimal) else str(value)
    if kind in (DATE, TIMESTAMP):
        return value.isoformat()
    if kind == BOOLEAN:
        return 1 if value else 0
    return value


def number_expr(column_sql: str, kind: str) -> str:
    """The expression ranges and ordering compare: on SQLite numbers are stored as text."""
    if kind == NUMBER and vendor() != "postgresql":
        return f"CAST({column_sql} AS REAL)"
    return column_sql


# --- DDL ---------------------------------------------------------------------------------------------


def create_table(table: str, columns: Sequence[ServedColumn]) -> None:
    defs = ", ".join(f"{quote(c.field)} {sql_type(c.kind)}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {quote(table)} ({defs})")


def create_indexes(table: str, columns: Sequence[ServedColumn], keys: Sequence[str]) -> None:
    """After loading: UNIQUE on the key, and one index per code-table/division/date column."""
    pg = vendor() == "postgresql"
    with connection.cursor() as cursor:
        if pg:  # sorts for the index builds in memory (this transaction only)
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
        key_list = ", ".join(quote(k) for k in keys)
        cursor.execute(f"CREATE UNIQUE INDEX {quote(table + '_key')} ON {quote(table)} ({key_list})")
        for i, c in enumerate(columns):
            if not c.indexed or c.field in keys:
                continue
            opclass = " text_pattern_ops" if pg and c.kind == TEXT else ""  # prefix (LIKE 'x%') scopes use it
            cursor.execute(f"CREATE INDEX {quote(f'{table}_i{i}')} ON {quote(table)} ({quote(c.field)}{opclass})")
        if pg:
            cursor.execute(f"ANALYZE {quote(table)}")


def drop_table(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(table)}")


def table_exists(table: str) -> bool:
    return table in connection.introspection.table_names()


# --- loading -----------------------------------------------------------------------------------------


def _arrow_type(kind: str) -> pa.DataType:
    return {TEXT: pa.string(), NUMBER: pa.decimal128(38, 6), DATE: pa.date32(), TIMESTAMP: pa.timestamp("us"),
            BOOLEAN: pa.bool_()}[kind]


def arrow_batches(dataset: pads.Dataset | None, columns: Sequence[ServedColumn]) -> Iterator[pa.RecordBatch]:
    """The version's rows as record batches in the served table's column order and types; a
    column the lake files lack is null; the hidden row key is numbered from 1."""
    if dataset is None:
        return
    present = set(dataset.schema.names)
    wanted = [c.field for c in columns if c.field in present]
    row = 0
    for batch in dataset.to_batches(columns=wanted, batch_size=LOAD_BATCH_ROWS):
        if not batch.num_rows:
            continue
        arrays = []
        for c in columns:
            if c.field == ROW_KEY:
                arrays.append(pa.array(range(row + 1, row + 1 + batch.num_rows), type=pa.int64()))
            elif c.field in present:
                arrays.append(batch.column(c.field).cast(_arrow_type(c.kind)))
            else:
                arrays.append(pa.nulls(batch.num_rows, type=_arrow_type(c.kind)))
        row += batch.num_rows
        yield pa.RecordBatch.from_arrays(arrays, names=[c.field for c in columns])


def load_rows(table: str, columns: Sequence[ServedColumn], batches: Iterable[pa.RecordBatch]) -> int:
    """Insert the batches: PostgreSQL by COPY (CSV made by Arrow), SQLite by executemany. The
    caller holds the transaction."""
    count = 0
    names = ", ".join(quote(c.field) for c in columns)
    with connection.cursor() as cursor:
        if vendor() == "postgresql":
            raw = cursor.cursor  # psycopg's cursor under Django's wrapper
            with raw.copy(f"COPY {quote(table)} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
                for batch in batches:
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
                    copy.write(buffer.getvalue())
                    count += batch.num_rows
            return count
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"  # noqa: S608 (quoted schema names)
        for batch in batches:
            cursor.executemany(sql, list(sqlite_rows(batch, columns)))
            count += batch.num_rows
    return count


def _sqlite_converter(kind: str) -> Any:
    """One value (not None) as SQLite stores it; None when the value is stored as it is."""
    if kind == NUMBER:
        return lambda v: decimal_text(v) if isinstance(v, Decimal) else str(v)
    if kind in (DATE, TIMESTAMP):
        return lambda v: v.isoformat()
    if kind == BOOLEAN:
        return lambda v: 1 if v else 0
    return None


def sqlite_rows(batch: pa.RecordBatch, columns: Sequence[ServedColumn]) -> Iterator[tuple[Any, ...]]:
    data = []
    for i, c in enumerate(columns):
        values = batch.column(i).to_pylist()
        convert = _sqlite_converter(c.kind)
        data.append(values if convert is None else [None if v is None else convert(v) for v in values])
    return zip(*data, strict=True)


def insert_rows(table: str, columns: Sequence[ServedColumn], rows: Sequence[dict[str, Any]]) -> None:
    """Insert typed rows (lake values) one statement per row batch (incremental refresh)."""
    if not rows:
        return
    names = ", ".join(quote(c.field) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"  # noqa: S608 (quoted schema names)
    params = [tuple(db_param(c.kind, row.get(c.field)) for c in columns) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def delete_keys(table: str, columns: Sequence[ServedColumn], keys: Sequence[str], values: Sequence[tuple[Any, ...]]) -> int:
    if not values:
        return 0
    kinds = {c.field: c.kind for c in columns}
    where = " AND ".join(f"{quote(k)} = %s" for k in keys)
    sql = f"DELETE FROM {quote(table)} WHERE {where}"  # noqa: S608 (quoted schema names)
    deleted = 0
    with connection.cursor() as cursor:
        for chunk_start in range(0, len(values), 5000):
            chunk = values[chunk_start:chunk_start + 5000]
            cursor.executemany(sql, [tuple(db_param(kinds[k], v) for k, v in zip(keys, row, strict=True)) for row in chunk])
            deleted += max(cursor.rowcount, 0)
    return deleted


def count_table(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {quote(table)}")  # noqa: S608 (quoted platform name)
        row = cursor.fetchone()
    return int(row[0]) if row else 0
