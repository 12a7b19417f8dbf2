"""datastore_search_sql: one read-only SELECT over one open resource's open columns.

Three locks, each enough on its own for what it guards:
1. The text is parsed (sqlglot, DuckDB dialect): exactly one statement, a SELECT (UNION,
   INSERT, COPY, PRAGMA, ATTACH … refused); every table it names is the same resource id (CTE
   names aside); no table function (read_csv, read_parquet, glob …) and no function of a
   denied family (files, settings, environment, extensions).
2. It runs in a fresh in-memory DuckDB whose only relation is a view holding the resource's
   allowed columns (a closed item is not there: asked by name it is "unknown"), with
   `enable_external_access = false` and the configuration locked, so no file, URL or
   extension can be reached whatever the parser missed.
3. A timer interrupts it after ZHENGWU_OPENDATA_SQL_TIMEOUT_SECONDS; at most
   ZHENGWU_OPENDATA_SQL_MAX_ROWS rows come back (`records_truncated` says when more matched).
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from zhengwu.core.errors import DomainError, NotFound

from . import conf, data, queries, services

DENIED_PREFIXES = ("read_", "parquet_", "sniff_", "delta_", "iceberg_", "glob", "getenv", "current_setting",
                   "duckdb_", "pragma_", "load", "install", "query", "query_table", "sqlite_", "postgres_", "mysql_",
                   "httpfs", "write_", "copy", "export", "import", "checkpoint", "which_secret", "file")


def _refuse(message: str) -> DomainError:
    return DomainError(message, "sql")


def _function_name(node: Any) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name or "").lower()
    return str(getattr(node, "sql_name", lambda: "")() or node.key).lower()


def check(text: str) -> tuple[exp.Expression, str]:
    """The parsed statement and the one resource id it reads, or a refusal."""
    if not text.strip():
        raise _refuse("sql：缺少 SQL 语句")
    if len(text) > 10_000:
        raise _refuse("sql：语句不能超过 10000 字")
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise _refuse(f"sql：语法错误（{str(exc).splitlines()[0][:200]}）") from None
    if len(statements) != 1:
        raise _refuse("sql：只能执行一条 SELECT 语句")
    statement = statements[0]
    if not isinstance(statement, exp.Select):
        raise _refuse(f"sql：只允许只读的 SELECT 查询，不能执行 {statement.key.upper()}")
    for node in statement.walk():
        if isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Command,
                             exp.Copy, exp.Pragma, exp.Set, exp.Into, exp.Union, exp.Except, exp.Intersect)):
            raise _refuse(f"sql：只允许单个只读 SELECT 查询（发现 {node.key.upper()}）")
    ctes = {str(c.alias_or_name).lower() for c in statement.find_all(exp.CTE)}
    names: set[str] = set()
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise _refuse("sql：FROM 只能是数据资源的 id（不能使用表函数读取文件或其他数据）")
        if table.args.get("db") or table.args.get("catalog"):
            raise _refuse(f"sql：不认识的表“{table.sql()[:60]}”")
        name = str(table.name).lower()
        if name not in ctes:
            names.add(name)
    for node in statement.find_all(exp.Func):
        name = _function_name(node)
        if any(name.startswith(p) for p in DENIED_PREFIXES):
            raise _refuse(f"sql：不允许使用函数 {name}")
    if len(names) != 1:
        raise _refuse("sql：一条查询只能读取一个数据资源（FROM \"<资源 id>\"）" if names else "sql：缺少 FROM \"<资源 id>\"")
    return statement, names.pop()


def run(text: str, caller: Any) -> dict[str, Any]:
    from .ckan import CkanError, allowed_fields

    statement, resource = check(text)
    try:
        dataset, _fmt = queries.dataset_for_resource(resource)
    except NotFound:
        raise NotFound(f"资源“{resource[:60]}”不存在", "sql") from None
    try:
        allowed, api_key = allowed_fields(dataset, caller, "datastore_search_sql")
    except CkanError as exc:
        from zhengwu.core.errors import PermissionDenied

        raise PermissionDenied(exc.message, "sql") from None
    source = data.version_dataset(dataset.resource_code, dataset.version.lake_version)
    max_rows = conf.sql_max_rows()
    con = duckdb.connect(config={"threads": 2})
    timer = threading.Timer(conf.sql_timeout_seconds(), con.interrupt)
    try:
        hidden = "src_" + dataset.id.replace("-", "")
        if source is not None:
            con.register(hidden, source)
            columns = ", ".join(data.quote(f) for f in allowed)
            con.execute(f"CREATE TEMP VIEW {data.quote(resource)} AS SELECT {columns} FROM {hidden}")  # noqa: S608
        else:
            con.execute(f"CREATE TEMP TABLE {data.quote(resource)} ({', '.join(data.quote(f) + ' VARCHAR' for f in allowed)})")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        # The user's query may only see the view: the registered source keeps a name nobody knows.
        if hidden in text.lower():
            raise _refuse("sql：不认识的表")
        timer.start()
        try:
            cursor = con.execute(f"SELECT * FROM ({statement.sql(dialect='duckdb')}) LIMIT {max_rows + 1}")  # noqa: S608
            fields = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall()
        except duckdb.InterruptException:
            raise _refuse(f"sql：查询超过 {conf.sql_timeout_seconds():g} 秒，已中止；请缩小范围或加上条件") from None
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0][:300]
            if "Referenced column" in message or "not found" in message.lower():
                raise _refuse(f"sql：字段或表不存在（{message}）") from None
            raise _refuse(f"sql：无法执行（{message}）") from None
    finally:
        timer.cancel()
        con.close()
    truncated = len(rows) > max_rows
    rows = rows[:max_rows]
    services.record_use(dataset.resource_code, "api_calls")
    if api_key is not None:
        services.record_key_use(api_key, "datastore_search_sql", request=caller.request, rows=len(rows))
    return {
        "sql": text, "fields": [{"id": f, "type": "text"} for f in fields],
        "records": [{f: data.plain(v) for f, v in zip(fields, row, strict=True)} for row in rows],
        "records_truncated": truncated,
    }
