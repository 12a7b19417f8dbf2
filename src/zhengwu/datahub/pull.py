"""Pull from a unit's own database: a table or a SELECT query, in full or by a watermark column.

The source is an SQLAlchemy URL (the caller decrypts the stored credentials and passes the plain
URL; messages only ever show it masked, by parsing). Only network databases of the driver registry
(`DRIVERS`: PostgreSQL, MySQL/MariaDB) are reachable, and only through the egress policy
(core/egress.py): the host is resolved once, checked against the 安全管理员's allowlist, and the
driver connects to that address (PostgreSQL `hostaddr`, MySQL the IP). SQLite files only in the
test suite (settings.DATAHUB_FILE_SOURCES), read-only, never the platform's own database.

Every session is read-only (PostgreSQL BEGIN READ ONLY + default_transaction_read_only, MySQL
SESSION TRANSACTION READ ONLY + START TRANSACTION READ ONLY) with a statement timeout
(PULL_STATEMENT_TIMEOUT_S: PostgreSQL statement_timeout, MariaDB max_statement_time, MySQL
max_execution_time, plus a wall-clock watchdog that cancels a statement or fetch that outlives
it) and a row cap (PULL_MAX_ROWS). A connection failure is the one egress message; a read failure
is a Chinese reason with a reference number; the driver's own text goes only to the log and the
audit detail (`.detail` of the error).

Table names are reflected and quoted by SQLAlchemy; a query is wrapped as a subquery
(`SELECT … FROM (query) AS src`) so the watermark filter is added with a bound parameter, never by
formatting text into SQL. Rows are streamed (`stream_results`/`yield_per`) into a staged Parquet
file with the same contract as the file readers (see readers.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from django.conf import settings
from sqlalchemy import (
    Column as SAColumn,
)
from sqlalchemy import (
    MetaData,
    Table,
    column,
    create_engine,
    event,
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

from zhengwu.core import egress
from zhengwu.core.errors import DomainError

from .readers import StageResult, _StageWriter, decimal_text, match_columns, value_text
from .schema import ResourceSchema

CONNECT_TIMEOUT_S = 10
YIELD_PER = 5_000
PURPOSE = "datahub.source"

log = logging.getLogger(__name__)


def mask_url(url: str) -> str:
    """The URL with its password replaced by *** (by parsing it: never by replacing text)."""
    try:
        return make_url(url.strip()).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError, AttributeError):
        return "（无法解析的连接地址）"


def check_source(
    url: str, table: str, query: str, schema: ResourceSchema, watermark_column: str = ""
) -> None:
    """Connect, read zero rows, and check that the columns match the catalog and the watermark
    column exists. A DomainError names the field at fault: url, table, query or watermark_column."""
    engine = _engine(url)
    try:
        with _connect(engine, url) as conn, _Watchdog(conn, _statement_timeout_s() + 2):
            source = _resolve(conn, schema, table=table, query=query, watermark_column=watermark_column, url=url)
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
            with _Watchdog(conn, _statement_timeout_s() + 2):
                source = _resolve(conn, schema, table=table, query=query, watermark_column=watermark_column, url=url)
                bound = source.typed_since(conn, since, url) if (since and source.watermark is not None) else None
            stmt = source.statement(since=bound).limit(_max_rows() + 1)
            notes = list(source.notes)
            if source.watermark is not None:
                notes.append(
                    f"增量抽取：{source.watermark_name} 大于 {since} 的行"
                    if since
                    else f"按增量字段 {source.watermark_name} 全量抽取"
                )
            with _StageWriter(schema, Path(out)) as writer:
                try:
                    rows, top = _stream(conn, stmt, source, writer, progress, url)
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


@dataclass(frozen=True)
class Driver:
    """A database the platform can pull from: the SQLAlchemy driver it is reached with, the URL
    schemes that name it, its default port, the URL query options a user may set (every other
    option could redirect the connection: host=, hostaddr=, service=, unix_socket=, …), and how
    a session is made read-only with a statement timeout (see `_session_setup`)."""

    key: str
    label: str
    drivername: str
    schemes: tuple[str, ...]
    default_port: int
    options: dict[str, frozenset[str] | None]


# The registry (docs/datahub.md says how 达梦, 人大金仓 and Oracle would be added).
DRIVERS: dict[str, Driver] = {
    "postgresql": Driver(
        key="postgresql", label="PostgreSQL", drivername="postgresql+psycopg",
        schemes=("postgresql", "postgresql+psycopg", "postgres"), default_port=5432,
        options={"sslmode": frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}),
                 "application_name": None},
    ),
    "mysql": Driver(
        key="mysql", label="MySQL/MariaDB", drivername="mysql+pymysql",
        schemes=("mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql"), default_port=3306,
        options={"charset": frozenset({"utf8mb4", "utf8", "utf8mb3", "gbk", "gb18030", "latin1"})},
    ),
}  # fmt: skip
SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
SUPPORTED_TEXT = "PostgreSQL（postgresql+psycopg://）、MySQL/MariaDB（mysql+pymysql://）"


def _statement_timeout_s() -> int:
    return max(1, int(getattr(settings, "PULL_STATEMENT_TIMEOUT_S", 300)))


def _max_rows() -> int:
    return max(1, int(getattr(settings, "PULL_MAX_ROWS", 10_000_000)))


def _driver_for(parsed: URL) -> Driver | None:
    scheme = parsed.drivername.lower()
    return next((d for d in DRIVERS.values() if scheme in d.schemes), None)


def _parse(url: str) -> URL:
    if not url or not url.strip():
        raise DomainError("请填写数据库连接地址", "url")
    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise DomainError(
            "数据库连接地址格式不正确，应形如 postgresql+psycopg://用户名:密码@主机:端口/数据库名", "url"
        ) from exc


def _check_options(parsed: URL, driver: Driver) -> None:
    for key, value in parsed.query.items():
        if key not in driver.options:
            allowed = "、".join(driver.options) or "无"
            raise DomainError(f"连接地址不能带参数 {key}（{driver.label} 只允许：{allowed}）", "url")
        values = value if isinstance(value, tuple) else (value,)
        choices = driver.options[key]
        if len(values) != 1 or (choices is not None and values[0] not in choices):
            raise DomainError(f"连接地址参数 {key} 的值不正确（可选：{'、'.join(sorted(choices or []))}）", "url")


def _engine(url: str) -> Engine:
    """An engine bound to one checked address (core.egress), read-only, with timeouts."""
    parsed = _parse(url)
    if parsed.drivername.lower() in SQLITE_SCHEMES or parsed.drivername.lower().startswith("sqlite"):
        return _sqlite_engine(parsed)
    driver = _driver_for(parsed)
    if driver is None:
        raise DomainError(f"不支持的数据库类型：{parsed.drivername}（支持 {SUPPORTED_TEXT}）", "url")
    _check_options(parsed, driver)
    if not parsed.host:
        raise DomainError("连接地址必须写明数据库服务器的主机，如 postgresql+psycopg://用户@10.1.2.3:5432/库", "url")
    if not parsed.database:
        raise DomainError("连接地址必须写明数据库名，如 …@主机:端口/库名", "url")
    try:
        port = parsed.port or driver.default_port
    except ValueError:
        raise DomainError("连接地址中的端口不正确", "url") from None
    destination = egress.resolve_destination(parsed.host, port, purpose=PURPOSE, database=parsed.database)
    timeout = _statement_timeout_s()
    connect_timeout = max(1, int(getattr(settings, "PULL_CONNECT_TIMEOUT_S", CONNECT_TIMEOUT_S)))
    parsed = parsed.set(drivername=driver.drivername)
    connect_args: dict[str, Any]
    if driver.key == "postgresql":
        connect_args = {
            "host": destination.host, "hostaddr": destination.ip, "port": destination.port,
            "connect_timeout": connect_timeout,
            "options": f"-c default_transaction_read_only=on -c statement_timeout={timeout * 1000}",
        }  # fmt: skip
    else:
        connect_args = {
            "host": destination.ip, "port": destination.port, "connect_timeout": connect_timeout,
            # The handshake is bounded by the connect timeout; `_mysql_session` then lets reads
            # run for the statement timeout (a silent server must not hold a pull for minutes).
            "read_timeout": connect_timeout, "write_timeout": timeout + 5, "local_infile": False,
        }  # fmt: skip
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (NoSuchModuleError, ImportError, ArgumentError, TypeError) as exc:
        raise egress.refuse(PURPOSE, f"创建 {mask_url(url)} 的连接失败：{egress.describe(exc)}") from None
    if driver.key == "mysql":
        event.listen(engine, "connect", _mysql_session)
    return engine


def _mysql_session(dbapi_connection: Any, _record: Any) -> None:
    """Every MySQL/MariaDB session: transactions read-only, statements time-limited (MariaDB
    max_statement_time in seconds, MySQL max_execution_time in milliseconds)."""
    timeout = _statement_timeout_s()
    server = str(dbapi_connection.get_server_info() or "")
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        if "mariadb" in server.lower():
            cursor.execute(f"SET SESSION max_statement_time = {timeout}")
        else:
            cursor.execute(f"SET SESSION max_execution_time = {timeout * 1000}")
    finally:
        cursor.close()
    # PyMySQL applies `_read_timeout` to the socket before each read (pinned PyMySQL 1.2.4): from
    # here on a read may last as long as a statement may, plus a margin for the server's own limit.
    dbapi_connection._read_timeout = timeout + 5


def _sqlite_engine(parsed: URL) -> Engine:
    """A SQLite file, opened read-only (and never created): only where file sources are allowed
    (the test suite), never the platform's own database, no URI or query options."""
    if not getattr(settings, "DATAHUB_FILE_SOURCES", False):
        raise DomainError(f"不支持以文件作为数据库来源（支持 {SUPPORTED_TEXT}）", "url")
    database = parsed.database or ""
    if parsed.query or database.startswith("file:") or any(ch in database for ch in "?#%"):
        raise DomainError("SQLite 来源只能是一个数据库文件的路径，不能带 URI 或参数", "url")
    if not database or database == ":memory:":
        raise DomainError("SQLite 来源必须是一个数据库文件，例如 sqlite:////data/unit.db", "url")
    if egress.is_platform_database_file(database):
        raise egress.refuse(PURPOSE, f"平台自身的数据库文件 {database}")
    if not Path(database).is_file():
        raise DomainError(f"SQLite 数据库文件不存在：{database}", "url")
    ro = parsed.set(drivername="sqlite", database=f"file:{Path(database).resolve()}")
    return create_engine(ro.update_query_dict({"mode": "ro", "uri": "true"}), poolclass=NullPool)


def _driver_message(exc: BaseException) -> str:
    """The driver's own text of an error: for the log and the audit detail only."""
    orig = getattr(exc, "orig", None)
    return egress.describe(orig if orig is not None else exc)


def _scrub(message: str, url: str) -> str:
    """A driver message without the URL's password, for the log: the password is removed where it
    stands as a whole token (a password "p" does not touch "port")."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError, TypeError):
        password = None
    if password:
        message = re.sub(rf"(?<!\w){re.escape(str(password))}(?!\w)", "***", message)
    return " ".join(message.split())[:1000]


def _connect(engine: Engine, url: str) -> Connection:
    """Connect and start the read-only transaction. Any failure is the one egress message (the
    driver's text goes to the log and the audit detail only)."""
    try:
        conn = engine.connect()
    except (SQLAlchemyError, OSError) as exc:
        raise egress.refuse(PURPOSE, f"连接 {mask_url(url)} 失败：{_scrub(_driver_message(exc), url)}") from None
    try:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(postgresql_readonly=True)  # BEGIN READ ONLY
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql(f"SET statement_timeout = {_statement_timeout_s() * 1000}")
        elif engine.dialect.name == "mysql":
            conn.exec_driver_sql("START TRANSACTION READ ONLY")
    except (SQLAlchemyError, OSError) as exc:
        conn.close()
        raise egress.refuse(PURPOSE, f"设置 {mask_url(url)} 只读会话失败：{_scrub(_driver_message(exc), url)}") from None
    return conn


class _Watchdog:
    """A wall-clock limit around one statement or fetch, beside the server's statement timeout
    (a query can lower a PostgreSQL session's statement_timeout with set_config() for the fetches
    that follow): when it fires, the statement is cancelled from another thread."""

    def __init__(self, conn: Connection, seconds: float) -> None:
        self.conn = conn
        self.seconds = seconds
        self.fired = False
        self.timer: threading.Timer | None = None

    def _cancel(self) -> None:
        self.fired = True
        try:
            raw = self.conn.connection.driver_connection
        except Exception:  # already closed: nothing to cancel
            return
        for name in ("cancel_safe", "cancel", "interrupt"):
            method = getattr(raw, name, None)
            if method is not None:
                with contextlib.suppress(Exception):
                    method()
                return

    def __enter__(self) -> _Watchdog:
        self.timer = threading.Timer(self.seconds, self._cancel)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()


_TIMEOUT_CODES = {"57014", "1969", "3024", "2013"}
_REASONS: list[tuple[set[str], str]] = [
    (_TIMEOUT_CODES, "超时"),
    ({"42501", "1142", "1143", "1044", "1045"}, "当前数据库用户无权读取"),
    ({"25006", "1792", "1290", "1036"}, "试图修改数据，来源只能只读访问"),
    ({"42P01", "42703", "1146", "1054", "1109"}, "引用了不存在的表或列"),
    ({"42601", "1064", "1149"}, "语法错误"),
    ({"42883", "1305", "1582"}, "调用了不存在的函数"),
    ({"22P02", "22007", "22008", "22003", "1292", "1366"}, "数据类型不匹配"),
]


def _error_code(exc: BaseException) -> str:
    orig = getattr(exc, "orig", exc)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # MySQL/MariaDB error number
        return str(args[0])
    code = getattr(orig, "sqlstate", None)  # PostgreSQL SQLSTATE
    if code:
        return str(code)
    if isinstance(orig, sqlite3.OperationalError) and "interrupted" in str(orig):
        return "57014"
    return ""


class SourceReadError(DomainError):
    """A read from an allowed source failed: a Chinese reason and a reference number for the
    user; the driver's text in `detail` (log and audit record only)."""

    def __init__(self, message: str, field: str | None, detail: str, reference: str) -> None:
        super().__init__(message, field)
        self.detail = detail
        self.reference = reference


def _read_failure(exc: BaseException, what: str, field: str, url: str, *, watermark: str = "") -> SourceReadError:
    code = _error_code(exc)
    detail = _scrub(_driver_message(exc), url)
    reference = secrets.token_hex(4)
    log.warning("datahub source read failed [%s] %s: %s %s", reference, mask_url(url), code, detail)
    reason = next((zh for codes, zh in _REASONS if code in codes), "")
    if reason == "超时":
        return SourceReadError(
            f"{what}超时（超过 {_statement_timeout_s()} 秒）：请缩小范围、在来源库建立索引，或改用增量抽取"
            f"（参考编号 {reference}）", field, detail, reference,
        )  # fmt: skip
    if watermark and reason == "引用了不存在的表或列" and watermark.lower() in detail.lower():
        field = "watermark_column"
    text_reason = f"：{reason}" if reason else ""
    return SourceReadError(f"{what}出错{text_reason}（参考编号 {reference}）", field, detail, reference)


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

    def typed_since(self, conn: Connection, since: str, url: str) -> Any:
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
                raise _read_failure(exc, f"读取增量字段 {self.watermark_name} ", "watermark_column", url) from None
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
    conn: Connection, schema: ResourceSchema, *, table: str, query: str, watermark_column: str, url: str
) -> _Source:
    table = (table or "").strip()
    query = (query or "").strip()
    watermark_column = (watermark_column or "").strip()
    if table and query:
        raise DomainError("表名和查询语句只能填写一个", "query")
    if not table and not query:
        raise DomainError("请填写表名或查询语句（二选一）", "table")
    if table:
        return _resolve_table(conn, schema, table, watermark_column, url)
    return _resolve_query(conn, schema, query, watermark_column, url)


def _resolve_table(
    conn: Connection, schema: ResourceSchema, table: str, watermark_column: str, url: str
) -> _Source:
    schema_name, _, name = table.rpartition(".")
    if not name:
        raise DomainError(f"表名“{table}”不正确", "table")
    try:
        reflected = Table(name, MetaData(), schema=schema_name or None, autoload_with=conn)
    except NoSuchTableError:
        raise DomainError(f"表 {table} 不存在，或当前数据库用户无权访问", "table") from None
    except DBAPIError as exc:
        raise _read_failure(exc, f"读取表 {table} 的结构", "table", url) from None
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


def _resolve_query(
    conn: Connection, schema: ResourceSchema, query: str, watermark_column: str, url: str
) -> _Source:
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
        raise _read_failure(exc, "查询语句执行", "query", url, watermark=watermark_column) from None
    except SQLAlchemyError as exc:
        conn.rollback()
        raise _read_failure(exc, "查询语句", "query", url) from None
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
    watermark = source.watermark_name if source.watermark is not None else ""
    return _read_failure(exc, f"读取{source.label}", source.field, url, watermark=watermark)


# --------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------


def _stream(
    conn: Connection,
    stmt: Select[Any],
    source: _Source,
    writer: _StageWriter,
    progress: Callable[[int], None] | None,
    url: str,
) -> tuple[int, Any]:
    """Write the rows in partitions; every execute and every fetch runs under the watchdog, and
    more rows than PULL_MAX_ROWS refuse the pull (nothing half-loaded)."""
    width = len(source.columns)
    cap = _max_rows()
    limit = _statement_timeout_s() + 2
    rows = 0
    top: Any = None
    with _Watchdog(conn, limit):
        result = conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(stmt)
    try:
        partitions = result.partitions()
        while True:
            with _Watchdog(conn, limit):
                partition = next(partitions, None)
            if partition is None:
                break
            if not partition:
                continue
            n = len(partition)
            if rows + n > cap:
                raise DomainError(
                    f"{source.label}的行数超过单次抽取上限 {cap} 行（设置 ZHENGWU_PULL_MAX_ROWS）："
                    "请改用增量抽取，或缩小查询范围", source.field,
                )  # fmt: skip
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
        with contextlib.suppress(SQLAlchemyError):
            result.close()
    return rows, top
