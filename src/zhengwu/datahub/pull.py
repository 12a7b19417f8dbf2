"""Pull from a unit's own database: a table or a SELECT query, in full or by a watermark column.

The source is an SQLAlchemy URL (the caller decrypts the stored credentials and passes the plain
URL; messages only ever show it masked). Table names are reflected and quoted by SQLAlchemy; a
query is wrapped as a subquery (`SELECT … FROM (query) AS src`) so the watermark filter is added
with a bound parameter, never by formatting text into SQL. PostgreSQL sessions are read-only and
SQLite files are opened read-only. Rows are streamed (`stream_results`/`yield_per`) into a
staged Parquet file with the same contract as the file readers (see readers.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import (
    Column as SAColumn,
)
from sqlalchemy import (
    MetaData,
    Table,
    column,
    create_engine,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    NoSuchTableError,
    SQLAlchemyError,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import ColumnElement, Select

from zhengwu.core.errors import DomainError

from .readers import StageResult, _StageWriter, decimal_text, match_columns, value_text
from .schema import ResourceSchema

CONNECT_TIMEOUT_S = 10
YIELD_PER = 5_000


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


def check_source(
    url: str, table: str, query: str, schema: ResourceSchema, watermark_column: str = ""
) -> None:
    """Connect, read zero rows, and check that the columns match the catalog and the watermark
    column exists. A DomainError names the field at fault: url, table, query or watermark_column."""
    engine = _engine(url)
    try:
        with _connect(engine, url) as conn:
            source = _resolve(conn, schema, table=table, query=query, watermark_column=watermark_column)
            stmt = source.statement(since=None).limit(0)
            try:
                conn.execute(stmt).close()
            except DBAPIError as exc:
                raise _read_error(exc, source, url) from None
    finally:
        engine.dispose()


def stage_database(
    url: str,
    schema: ResourceSchema,
    out: Path,
    *,
    table: str = "",
    query: str = "",
    watermark_column: str = "",
    since: str = "",
    progress: Callable[[int], None] | None = None,
) -> tuple[StageResult, str]:
    """Stage the source's rows (those with watermark_column > since when both are given, in
    watermark order) as Parquet at `out`. Returns the result and the new watermark as text: the
    largest watermark value read, `since` when no row was newer, "" without a watermark column."""
    engine = _engine(url)
    try:
        with _connect(engine, url) as conn:
            source = _resolve(conn, schema, table=table, query=query, watermark_column=watermark_column)
            bound = source.typed_since(conn, since) if (since and source.watermark is not None) else None
            stmt = source.statement(since=bound)
            notes = list(source.notes)
            if source.watermark is not None:
                notes.append(
                    f"增量抽取：{source.watermark_name} 大于 {since} 的行"
                    if since
                    else f"按增量字段 {source.watermark_name} 全量抽取"
                )
            with _StageWriter(schema, Path(out)) as writer:
                try:
                    rows, top = _stream(conn, stmt, source, writer, progress)
                except DBAPIError as exc:
                    raise _read_error(exc, source, url) from None
                writer.commit()
    finally:
        engine.dispose()
    watermark = ""
    if source.watermark is not None:
        watermark = watermark_text(top) if top is not None else since
    return StageResult(rows=rows, file_format="database", encoding="", sha256="", notes=notes), watermark


# --------------------------------------------------------------------------------------------
# Connection
# --------------------------------------------------------------------------------------------


def _engine(url: str) -> Engine:
    if not url or not url.strip():
        raise DomainError("请填写数据库连接地址", "url")
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise DomainError(
            "数据库连接地址格式不正确，应形如 postgresql+psycopg://用户名:密码@主机:端口/数据库名", "url"
        ) from exc
    connect_args: dict[str, Any] = {}
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = _sqlite_read_only(parsed)
    elif backend == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        return create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        raise DomainError(f"不支持的数据库类型，或服务器未安装它的驱动：{parsed.drivername}", "url") from exc
    except (ArgumentError, TypeError) as exc:
        raise DomainError(f"数据库连接地址的参数有误：{_scrub(str(exc), url)}", "url") from exc


def _sqlite_read_only(parsed: URL) -> URL:
    """Open a SQLite file read-only (and never create it)."""
    database = parsed.database or ""
    if not database or database == ":memory:":
        raise DomainError("SQLite 来源必须是一个数据库文件，例如 sqlite:////data/unit.db", "url")
    if database.startswith("file:"):
        return parsed
    if not Path(database).is_file():
        raise DomainError(f"SQLite 数据库文件不存在：{database}", "url")
    return parsed.set(database=f"file:{database}").update_query_dict({"mode": "ro", "uri": "true"})


_CONNECT_REASONS = [
    (re.compile(r"password authentication failed|access denied|authentication failed|login failed", re.I),
     "用户名或密码错误"),
    (re.compile(r"connection refused", re.I), "连接被拒绝（数据库服务未启动，或主机、端口不对）"),
    (re.compile(r"could not translate host name|name or service not known|nodename nor servname|"
                r"temporary failure in name resolution|unknown host", re.I), "无法解析主机名"),
    (re.compile(r"timeout|timed out", re.I), "连接超时"),
    (re.compile(r"database \S+ does not exist|unknown database", re.I), "数据库不存在"),
    (re.compile(r"role \S+ does not exist", re.I), "用户不存在"),
    (re.compile(r"unable to open database file", re.I), "无法打开数据库文件"),
    (re.compile(r"no pg_hba.conf entry|not allowed to connect", re.I), "数据库不允许从本服务器连接"),
]  # fmt: skip


def _scrub(message: str, url: str) -> str:
    """A driver message with the URL's password (if any) blanked out, on one line."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError, TypeError):
        password = None
    if password:
        message = message.replace(str(password), "***")
    return " ".join(message.split())[:300]


def _driver_message(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc)


def _connect(engine: Engine, url: str) -> Connection:
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        detail = _driver_message(exc)
        reason = next((zh for pattern, zh in _CONNECT_REASONS if pattern.search(detail)), "连接失败")
        raise DomainError(
            f"无法连接数据库 {mask_url(url)}：{reason}（{_scrub(detail, url)}）", "url"
        ) from None
    except SQLAlchemyError as exc:
        raise DomainError(f"无法连接数据库 {mask_url(url)}：{_scrub(str(exc), url)}", "url") from None
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(postgresql_readonly=True)
    return conn


# --------------------------------------------------------------------------------------------
# Source: table or query
# --------------------------------------------------------------------------------------------


@dataclass
class _Source:
    kind: str  # "table" | "query"
    label: str  # how messages name it
    columns: list[ColumnElement[Any]]  # in schema order
    watermark: ColumnElement[Any] | None
    watermark_name: str
    watermark_type: type | None  # the Python type of the watermark column, when known
    from_clause: Any
    notes: list[str]

    @property
    def field(self) -> str:
        return self.kind

    def statement(self, since: Any) -> Select[Any]:
        cols: list[ColumnElement[Any]] = list(self.columns)
        if self.watermark is not None:
            cols.append(self.watermark.label("_zw_watermark"))
        stmt = select(*cols).select_from(self.from_clause)
        if self.watermark is not None:
            if since is not None:
                stmt = stmt.where(self.watermark > since)
            stmt = stmt.order_by(self.watermark)
        return stmt

    def typed_since(self, conn: Connection, since: str) -> Any:
        """`since` as the watermark column's Python type (int, decimal, date, datetime or text)."""
        assert self.watermark is not None
        kind = self.watermark_type
        if kind is None:  # a query column: look at one value
            stmt = (
                select(self.watermark)
                .select_from(self.from_clause)
                .where(self.watermark.is_not(None))
                .limit(1)
            )
            try:
                sample = conn.execute(stmt).scalar()
            except DBAPIError as exc:
                raise DomainError(
                    f"读取增量字段 {self.watermark_name} 出错：{_driver_message(exc)}", self.field
                ) from None
            kind = type(sample) if sample is not None else str
        return typed_watermark(since, kind, self.watermark_name)


def typed_watermark(since: str, kind: type, name: str = "") -> Any:
    """Convert the stored watermark text to `kind`, for a typed comparison in SQL."""
    text_value = since.strip()
    try:
        if kind is bool:
            return text_value.lower() in ("1", "true", "t", "yes")
        if issubclass(kind, int):
            return int(Decimal(text_value))
        if issubclass(kind, float | Decimal):
            return Decimal(text_value)
        if issubclass(kind, dt.datetime):
            return dt.datetime.fromisoformat(text_value)
        if issubclass(kind, dt.date):
            return dt.datetime.fromisoformat(text_value).date()
    except (ValueError, InvalidOperation):
        raise DomainError(
            f"增量字段 {name} 的起点“{since}”不是该字段类型（{kind.__name__}）的值", "watermark_column"
        ) from None
    return text_value


def watermark_text(value: Any) -> str:
    """The watermark as text that `typed_watermark` reads back exactly (full precision)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _find_name(names: list[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    lowered = wanted.lower()
    return next((n for n in names if n.lower() == lowered), None)


def _resolve(
    conn: Connection, schema: ResourceSchema, *, table: str, query: str, watermark_column: str
) -> _Source:
    table = (table or "").strip()
    query = (query or "").strip()
    watermark_column = (watermark_column or "").strip()
    if table and query:
        raise DomainError("表名和查询语句只能填写一个", "query")
    if not table and not query:
        raise DomainError("请填写表名或查询语句（二选一）", "table")
    if table:
        return _resolve_table(conn, schema, table, watermark_column)
    return _resolve_query(conn, schema, query, watermark_column)


def _resolve_table(conn: Connection, schema: ResourceSchema, table: str, watermark_column: str) -> _Source:
    schema_name, _, name = table.rpartition(".")
    if not name:
        raise DomainError(f"表名“{table}”不正确", "table")
    try:
        reflected = Table(name, MetaData(), schema=schema_name or None, autoload_with=conn)
    except NoSuchTableError:
        raise DomainError(f"表 {table} 不存在，或当前数据库用户无权访问", "table") from None
    except DBAPIError as exc:
        raise DomainError(f"读取表 {table} 的结构出错：{_driver_message(exc)}", "table") from None
    names = [c.name for c in reflected.columns]
    mapping = match_columns(names, schema, what=f"表 {table} ", field_name="table", allow_extra=names)
    columns: list[ColumnElement[Any]] = [reflected.columns[names[i]] for i in mapping]
    notes = []
    unused = [n for i, n in enumerate(names) if i not in set(mapping) and n != watermark_column]
    if unused:
        notes.append(f"表 {table} 另有 {len(unused)} 列不在目录中，未抽取：{'、'.join(unused)}")
    watermark: SAColumn[Any] | None = None
    kind: type | None = None
    if watermark_column:
        found = _find_name(names, watermark_column)
        if found is None:
            raise DomainError(f"表 {table} 没有增量字段 {watermark_column}", "watermark_column")
        watermark = reflected.columns[found]
        try:
            kind = watermark.type.python_type
        except NotImplementedError:
            kind = None
    return _Source(
        kind="table", label=f"表 {table}", columns=columns, watermark=watermark,
        watermark_name=watermark_column, watermark_type=kind, from_clause=reflected, notes=notes,
    )  # fmt: skip


def check_select(query: str) -> str:
    """The query without trailing semicolons, if it is one SELECT (or WITH … SELECT) statement."""
    body = query.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    i, n = 0, len(body)
    first_word = ""
    while i < n:
        ch = body[i]
        if ch in "'\"`":
            end = body.find(ch, i + 1)
            while end != -1 and end + 1 < n and body[end + 1] == ch:  # doubled quote inside
                end = body.find(ch, end + 2)
            if end == -1:
                raise DomainError("查询语句的引号没有闭合", "query")
            i = end + 1
            continue
        if body.startswith("--", i):
            end = body.find("\n", i)
            i = n if end == -1 else end + 1
            continue
        if body.startswith("/*", i):
            end = body.find("*/", i + 2)
            if end == -1:
                raise DomainError("查询语句的注释没有闭合", "query")
            i = end + 2
            continue
        if ch == ";":
            raise DomainError("查询只能是一条 SELECT 语句，不能包含多条语句（分号）", "query")
        if not first_word and (ch.isalpha() or ch == "_"):
            match = re.match(r"[A-Za-z_]+", body[i:])
            first_word = match.group(0).lower() if match else ""
            i += len(first_word) or 1
            continue
        i += 1
    if first_word not in ("select", "with"):
        raise DomainError("查询必须是一条 SELECT 语句（只读查询）", "query")
    return body


def _resolve_query(conn: Connection, schema: ResourceSchema, query: str, watermark_column: str) -> _Source:
    body = check_select(query) + "\n"  # a trailing -- comment must not swallow the closing parenthesis
    probe_sub = text(body).columns().subquery("src")
    probe: Select[Any] = select(literal_column("*")).select_from(probe_sub).limit(0)
    try:
        result = conn.execute(probe)
        keys = result.keys()  # the result's column names (not rows)
        names = [str(k) for k in keys]
        result.close()
    except (DBAPIError, ArgumentError) as exc:
        conn.rollback()
        raise DomainError(f"查询语句执行出错：{_driver_message(exc).splitlines()[0]}", "query") from None
    except SQLAlchemyError as exc:
        conn.rollback()
        raise DomainError(f"查询语句有误：{exc}", "query") from None
    mapping = match_columns(
        names,
        schema,
        what="查询结果",
        field_name="query",
        allow_extra=[watermark_column] if watermark_column else [],
    )
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise DomainError(f"查询结果有重名的列：{'、'.join(duplicated)}，请用 AS 起别名", "query")
    sub = text(body).columns(*[column(name) for name in names]).subquery("src")
    columns: list[ColumnElement[Any]] = [sub.c[names[i]] for i in mapping]
    watermark = None
    if watermark_column:
        found = _find_name(names, watermark_column)
        if found is None:
            raise DomainError(f"查询结果中没有增量字段 {watermark_column}", "watermark_column")
        watermark = sub.c[found]
    return _Source(
        kind="query", label="查询", columns=columns, watermark=watermark, watermark_name=watermark_column,
        watermark_type=None, from_clause=sub, notes=_order_notes(mapping),
    )  # fmt: skip


def _order_notes(mapping: list[int]) -> list[str]:
    return [] if mapping == sorted(mapping) else ["查询结果的列顺序与目录不同，已按列名对应"]


def _read_error(exc: DBAPIError, source: _Source, url: str) -> DomainError:
    detail = _scrub(_driver_message(exc), url)
    if re.search(r"permission denied|access denied|not authorized", detail, re.I):
        return DomainError(f"当前数据库用户无权读取{source.label}（{detail}）", source.field)
    if source.watermark is not None and source.watermark_name.lower() in detail.lower():
        return DomainError(f"按增量字段 {source.watermark_name} 读取出错：{detail}", "watermark_column")
    return DomainError(f"读取{source.label}出错：{detail}", source.field)


# --------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------


def _stream(
    conn: Connection,
    stmt: Select[Any],
    source: _Source,
    writer: _StageWriter,
    progress: Callable[[int], None] | None,
) -> tuple[int, Any]:
    width = len(source.columns)
    rows = 0
    top: Any = None
    result = conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(stmt)
    try:
        for partition in result.partitions():
            if not partition:
                continue
            n = len(partition)
            by_column = list(zip(*partition, strict=True))
            arrays: list[pa.Array] = [
                pa.array(np.arange(rows + 1, rows + n + 1, dtype=np.int64)),
                pa.nulls(n, pa.string()),
            ]
            arrays += [pa.array([value_text(v) for v in by_column[j]], pa.string()) for j in range(width)]
            writer.write(pa.RecordBatch.from_arrays(arrays, schema=writer.arrow_schema))
            if source.watermark is not None:
                seen = [v for v in by_column[width] if v is not None]
                if seen:
                    high = max(seen)
                    top = high if top is None or high > top else top
            rows += n
            if progress is not None:
                progress(rows)
    finally:
        result.close()
    return rows, top
