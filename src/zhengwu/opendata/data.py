"""Rows of open datasets: filtered, sorted pages (datastore_search, previews) and full streams
(downloads), only ever over the columns the caller passes — the open items, or a key's items.

Rows are read from the dataset's current lake version (a Delta Lake version is immutable, so
its Arrow dataset is cached per process by (resource, version)) with DuckDB: one in-memory
connection per call, the version registered as a view, every value a bound parameter and every
column name one of the allowed ones (quoted). Filter values are converted to the column's type
first, so a malformed value is a clear error and the comparison is the column's own (no cast of
the data, filters pushed into the Parquet scan)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from zhengwu.core.errors import DomainError

MAX_LIMIT = 32000
DEFAULT_LIMIT = 100
ROW_ID = "_id"  # CKAN's record id: the row's 1-based number in the lake version's order
_cache: OrderedDict[tuple[str, int], pads.Dataset | None] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 64


def version_dataset(resource_code: str, lake_version: int) -> pads.Dataset | None:
    key = (resource_code, lake_version)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    from zhengwu.datahub import lake

    dataset = lake.version_dataset(resource_code, lake_version)
    with _cache_lock:
        _cache[key] = dataset
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return dataset


def arrow_types(resource_code: str, lake_version: int) -> dict[str, pa.DataType]:
    dataset = version_dataset(resource_code, lake_version)
    if dataset is None:
        return {}
    return {f.name: f.type for f in dataset.schema}


_offsets: OrderedDict[tuple[str, int], list[tuple[str, int]]] = OrderedDict()


def version_files(resource_code: str, lake_version: int) -> list[tuple[str, int]]:
    """(file URI, rows before it) of each Parquet file of the version, in the version's file order
    — the order downloads stream — from the files' footers, once per (resource, version): the
    `_id` of row r (0-based) of a file is its offset + r + 1, the same for every request."""
    key = (resource_code, lake_version)
    with _cache_lock:
        if key in _offsets:
            return _offsets[key]
    dataset = version_dataset(resource_code, lake_version)
    if dataset is None:
        return []
    from zhengwu.datahub import lake

    uris = lake.open_version(resource_code, lake_version).file_uris()
    out = []
    before = 0
    for fragment in dataset.get_fragments():
        relative = str(fragment.path).lstrip("/")
        uri = next((u for u in uris if u.endswith("/" + relative) or u == relative), None)
        if uri is None:
            raise DomainError("数据版本的文件清单不一致，请稍后再试", "resource_id")
        out.append((uri, before))
        before += int(fragment.metadata.num_rows)
    with _cache_lock:
        _offsets[key] = out
        while len(_offsets) > _CACHE_SIZE:
            _offsets.popitem(last=False)
    return out


def _uses_row_id(search: Search) -> bool:
    return ROW_ID in search.fields or ROW_ID in search.filters or any(f == ROW_ID for f, _ in search.sort)


def _register_source(con: duckdb.DuckDBPyConnection, resource_code: str, lake_version: int, dataset: pads.Dataset,
                     with_row_id: bool) -> None:
    """The view `src` over the version: the Arrow dataset; with `_id`, the version's Parquet files
    read by DuckDB with each row's number in its file (filters still pushed into the scan), plus
    the file's offset. A lake on object storage has no local files: there the Arrow dataset is
    numbered in scan order by one thread (slower: every query reads the filtered columns whole)."""
    if not with_row_id:
        con.register("src", dataset)
        return
    files = version_files(resource_code, lake_version)
    local = all("://" not in uri or uri.startswith("file://") for uri, _ in files)
    if local and files:
        paths = [uri.removeprefix("file://") for uri, _ in files]
        # The file's offset as a CASE over the file name, not a join: the scan keeps its order
        # (DuckDB preserves insertion order without ORDER BY), so a LIMIT can stop early.
        # The literals are the lake's own file paths (quotes doubled), never request input.
        offsets = " ".join(
            "WHEN '{}' THEN {}".format(p.replace("'", "''"), int(base)) for p, (_, base) in zip(paths, files, strict=True)
        )
        con.read_parquet(paths, file_row_number=True, filename=True, union_by_name=True).to_view("src_files")
        con.execute(
            "CREATE TEMP VIEW src AS SELECT * EXCLUDE (file_row_number, filename),"  # noqa: S608 (see above)
            f' CASE filename {offsets} END + file_row_number + 1 AS "_id" FROM src_files'
        )
        return
    con.execute("SET threads = 1")
    con.register("src_arrow", dataset)
    con.execute('CREATE TEMP VIEW src AS SELECT *, row_number() OVER () AS "_id" FROM src_arrow')


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ckan_type(data_type: pa.DataType) -> str:
    """The CKAN DataStore type name of a column."""
    if pa.types.is_decimal(data_type) or pa.types.is_floating(data_type):
        return "numeric"
    if pa.types.is_integer(data_type):
        return "int"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_boolean(data_type):
        return "bool"
    return "text"


def convert(field: str, label: str, value: Any, data_type: pa.DataType) -> Any:
    """A filter value as the column's type, or a DomainError naming the field."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        if pa.types.is_decimal(data_type) or pa.types.is_floating(data_type) or pa.types.is_integer(data_type):
            if isinstance(value, bool):
                raise ValueError
            number = Decimal(text)
            if not number.is_finite():
                raise ValueError
            return int(number) if pa.types.is_integer(data_type) else number
        if pa.types.is_date(data_type):
            return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
        if pa.types.is_timestamp(data_type):
            return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
        if pa.types.is_boolean(data_type):
            lowered = text.lower()
            if lowered in {"true", "1", "是", "t", "yes"}:
                return True
            if lowered in {"false", "0", "否", "f", "no"}:
                return False
            raise ValueError
    except (ValueError, InvalidOperation):
        kind = ckan_type(data_type)
        wanted = {"numeric": "数字", "int": "整数", "date": "日期（YYYY-MM-DD）", "timestamp": "日期时间（ISO 8601）",
                  "bool": "是/否"}.get(kind, "文本")
        raise DomainError(f"字段 {field}（{label}）的值“{text[:40]}”不是{wanted}", "filters") from None
    return text


def plain(value: Any) -> Any:
    """A value for JSON: decimals as int or float, dates ISO."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


@dataclass
class Page:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    total: int | None


@dataclass
class Search:
    """A validated datastore query (column names already checked against the allowed ones)."""

    fields: list[str]
    filters: dict[str, list[Any]]  # field → values (any of them), already converted
    text: str = ""  # any text column contains it
    text_fields: dict[str, str] | None = None  # field → text it must contain
    sort: Sequence[tuple[str, bool]] = ()  # (field, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    include_total: bool = True


def _where(search: Search, types: dict[str, pa.DataType], searchable: list[str]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for name, values in search.filters.items():
        non_null = [v for v in values if v is not None]
        alternatives = []
        if non_null:
            if len(non_null) == 1:
                alternatives.append(f"{quote(name)} = ?")
            else:
                alternatives.append(f"{quote(name)} IN ({', '.join('?' for _ in non_null)})")
            params.extend(non_null)
        if len(non_null) < len(values):
            alternatives.append(f"{quote(name)} IS NULL")
        parts.append("(" + " OR ".join(alternatives) + ")")
    if search.text:
        text_columns = [c for c in searchable if pa.types.is_string(types[c]) or pa.types.is_large_string(types[c])]
        if text_columns:
            parts.append("(" + " OR ".join(f"contains({quote(c)}, ?)" for c in text_columns) + ")")
            params.extend([search.text] * len(text_columns))
        else:
            parts.append("FALSE")
    for name, text in (search.text_fields or {}).items():
        parts.append(f"contains(CAST({quote(name)} AS VARCHAR), ?)")
        params.append(text)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def query(resource_code: str, lake_version: int, search: Search, *, searchable: list[str]) -> Page:
    """One page of rows (tuples in `search.fields` order) and the total matching when asked.
    `searchable` are the allowed columns a free-text `q` looks in. Answered by the serving store
    when it can (`query_served`), else by DuckDB over the lake version."""
    with_row_id = _uses_row_id(search)
    served = None if with_row_id else query_served(resource_code, lake_version, search)
    served_total = served_count(resource_code, lake_version, search) if with_row_id and search.include_total else None
    if served is not None:
        return served
    dataset = version_dataset(resource_code, lake_version)
    if dataset is None:
        return Page(search.fields, [], 0 if search.include_total else None)
    types = {f.name: f.type for f in dataset.schema}
    types[ROW_ID] = pa.int64()
    where, params = _where(search, types, searchable)
    order = ""
    if search.sort:
        order = " ORDER BY " + ", ".join(f"{quote(f)} {'DESC' if d else 'ASC'} NULLS LAST" for f, d in search.sort)
    columns = ", ".join(quote(f) for f in search.fields)
    con = duckdb.connect()
    try:
        _register_source(con, resource_code, lake_version, dataset, with_row_id)
        rows = con.execute(
            f"SELECT {columns} FROM src{where}{order} LIMIT ? OFFSET ?", [*params, search.limit, search.offset]  # noqa: S608 (names checked, values bound)
        ).fetchall()
        total = served_total
        if search.include_total and total is None:
            if not where and not search.offset and len(rows) < search.limit:
                total = len(rows)
            elif not where:
                total = int(dataset.count_rows())
            else:
                found = con.execute(f"SELECT count(*) FROM src{where}", params).fetchone()  # noqa: S608
                total = int(found[0]) if found else 0
    finally:
        con.close()
    return Page(search.fields, rows, total)


def stream(resource_code: str, lake_version: int, fields: list[str], *, batch_size: int = 1024) -> Iterator[tuple[Any, ...]]:
    """Every row of the version, `fields` only, as tuples — file by file, each read with Parquet's
    incremental reader (`ParquetFile.iter_batches`: pages are decoded as they are needed, never a
    whole row group first), so the first rows leave at once and memory stays flat as rows grow.
    A column a file lacks (written before the item existed) reads as null, as in the dataset."""
    import pyarrow.parquet as pq

    dataset = version_dataset(resource_code, lake_version)
    if dataset is None:
        return
    filesystem = getattr(dataset, "filesystem", None)
    for path in dataset.files:
        source = filesystem.open_input_file(path) if filesystem is not None else path
        with pq.ParquetFile(source, buffer_size=1 << 16, pre_buffer=False) as parquet:
            present = [f for f in fields if f in parquet.schema_arrow.names]
            for batch in parquet.iter_batches(batch_size=batch_size, columns=present, use_threads=False):
                columns = {name: batch.column(i).to_pylist() for i, name in enumerate(present)}
                nulls = [None] * batch.num_rows
                yield from zip(*(columns.get(f, nulls) for f in fields), strict=True)


# --- the serving store (datahub.serving): indexed relational copies of the current version -----------


def _served_value(value: Any, data_type: pa.DataType) -> Any:
    """A serving-store value (numbers come as canonical decimal text) as the lake's Python type."""
    if value is None or not isinstance(value, str):
        return value
    if pa.types.is_decimal(data_type):
        # The lake's decimals carry the column's scale (140.000000); the store keeps canonical text.
        return Decimal(value).quantize(Decimal(1).scaleb(-data_type.scale))
    if pa.types.is_floating(data_type) or pa.types.is_integer(data_type):
        return Decimal(value)
    if pa.types.is_date(data_type):
        return date.fromisoformat(value)
    if pa.types.is_timestamp(data_type):
        return datetime.fromisoformat(value)
    return value


def _served_filters(search: Search) -> list[Any]:
    from zhengwu.datahub.serving import queries as serving

    return [
        serving.Filter(name, "eq" if len(values) == 1 else "in", tuple(plain(v) if isinstance(v, (date, datetime)) else str(v) for v in values))
        for name, values in search.filters.items()
    ]


def served_count(resource_code: str, lake_version: int, search: Search) -> int | None:
    """The number of matching rows from the serving store's indexes when it holds this very
    version and can count the filters (equalities, no `_id`, no text); else None."""
    from zhengwu.datahub.serving import queries as serving

    if search.text or search.text_fields or ROW_ID in search.filters:
        return None
    if any(v is None for values in search.filters.values() for v in values):
        return None
    info = serving.served(resource_code)
    if info is None or info.lake_version != lake_version:
        return None
    try:
        total = serving.count(resource_code, filters=_served_filters(search))
        again = serving.served(resource_code)
    except serving.NotServed:
        return None
    return total if again is not None and again.lake_version == lake_version else None


def query_served(resource_code: str, lake_version: int, search: Search) -> Page | None:
    """The page from the serving store when it holds this very version and the query is one it
    answers (equality filters, at most one sort column, no text search, no offset); else None and
    the caller reads the lake version with DuckDB. The store has no permission logic: the caller
    passes only allowed columns, as for `query`."""
    from zhengwu.datahub.serving import queries as serving

    if search.text or search.text_fields or search.offset or len(search.sort) > 1 or search.limit > serving.MAX_LIMIT:
        return None
    if any(v is None for values in search.filters.values() for v in values):
        return None
    info = serving.served(resource_code)
    if info is None or info.lake_version != lake_version or search.limit < 1:
        return None
    filters = _served_filters(search)
    order, descending = (search.sort[0] if search.sort else (None, False))
    try:
        page = serving.query(resource_code, columns=search.fields, filters=filters, limit=search.limit, order=order,
                             descending=descending)
        if page.lake_version != lake_version:
            return None
        total = serving.count(resource_code, filters=filters) if search.include_total else None
    except serving.NotServed:
        return None
    types = arrow_types(resource_code, lake_version)
    rows = [tuple(_served_value(row.get(f), types[f]) for f in search.fields) for row in page.rows]
    return Page(search.fields, rows, total)
