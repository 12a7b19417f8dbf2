"""The read API of the serving store (服务库): key look-ups, filtered and paginated queries,
counts and flat-memory iteration over a resource's served rows.

!!! NO PERMISSION LOGIC HERE !!!
These functions answer for whatever the CALLER allows: the caller (the data gateway for a grant,
the open data portal for an open resource) decides which `columns` may be read and which row
`scope` applies, and masks personal values afterwards (catalog.queries.clear_items_for +
core.masking). Never pass a user's request through unchecked: pass only granted items, and the
grant's row scope as `scope`.

Contract:
- `served(code)` — the live table and its version, or None when nothing is served.
- Values come back JSON-ready and identical to the lake's: text as text, numbers as canonical
  decimal text (readers.decimal_text: "1.5", "100"), dates and timestamps as ISO text, booleans
  as booleans, empty cells as None — the same on SQLite and PostgreSQL.
- Filter values, `key` values and `after` values are text (or JSON scalars), converted to the
  column's type; an unknown field or operator, or a value that is not of the column's type, raises
  `ServingError` (400) naming the field; a resource that is not served raises `NotServed` (404).
- `scope` = {field: allowed codes} is ANDed (field IN codes). On a division column (GB/T 2260
  行政区划代码, `ServedColumn.division`) a code allows itself and its descendants: 440000 → every
  code starting 44, 441400 → 4414…, a county 441402 → 441402 and its 9/12-digit township and
  village codes; a 9-digit township code allows its villages. An empty code list allows no row.
- Keyset pagination: rows are ordered by `order` (nulls last) then the key columns; `after` is
  the previous page's `next_after` (the order column and key values, JSON); `next_after` is None
  on the last page. `Page.lake_version` is the version the rows belong to.
- One call reads one version: the pointer is read once; `query` takes its rows and their version
  from one statement; if the table was dropped meanwhile (a rebuild past its grace period) the
  call retries once on the new pointer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import DatabaseError, connection, transaction

from zhengwu.core import divisions
from zhengwu.core.errors import DomainError, NotFound

from . import store
from .models import ServedResource, ServedTable
from .store import BOOLEAN, DATE, NUMBER, TEXT, TIMESTAMP, ServedColumn, quote

MAX_LIMIT = 10_000
MAX_IN_VALUES = 1_000
OPS = ("eq", "in", "gt", "gte", "lt", "lte", "between", "prefix")
OP_NAMES = {"eq": "等于", "in": "属于", "gt": "大于", "gte": "大于等于", "lt": "小于", "lte": "小于等于",
            "between": "介于", "prefix": "前缀"}
_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_VERSION = "_srv_version"
T = TypeVar("T")


class ServingError(DomainError):
    """A read the serving store refuses: unknown field or operator, a value not of the field's type."""


class NotServed(NotFound):
    """The resource has no live table in the serving store (no data, not published, or not shareable)."""


@dataclass(frozen=True)
class Filter:
    field: str
    op: str  # eq, in, gt, gte, lt, lte, between, prefix
    values: tuple[Any, ...]


@dataclass(frozen=True)
class ServedInfo:
    resource_code: str
    table: str
    table_id: int
    lake_version: int
    columns: tuple[ServedColumn, ...]
    keys: tuple[str, ...]
    rows: int
    built_at: datetime | None
    refreshed_at: datetime | None = None

    def column(self, name: str, what: str = "字段") -> ServedColumn:
        if isinstance(name, str):
            for c in self.columns:
                if c.field == name:
                    return c
        raise ServingError(f"{what}“{str(name)[:64]}”不是资源 {self.resource_code} 的信息项", str(name)[:64])

    @property
    def public_columns(self) -> tuple[ServedColumn, ...]:
        """The catalog's items (without the hidden row number of a resource without a key)."""
        return tuple(c for c in self.columns if c.field != store.ROW_KEY)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_after: dict[str, Any] | None
    lake_version: int
    extra: dict[str, Any] = field(default_factory=dict)


def _info(table: ServedTable) -> ServedInfo:
    return ServedInfo(
        resource_code=table.resource_code, table=table.table_name, table_id=table.pk, lake_version=table.lake_version,
        columns=tuple(ServedColumn.from_json(c) for c in table.columns), keys=tuple(table.key_columns),
        rows=table.row_count, built_at=table.built_at, refreshed_at=table.refreshed_at,
    )


def served(resource_code: str) -> ServedInfo | None:
    """The live table of a resource (None: nothing is served)."""
    pointer = ServedResource.objects.select_related("live").filter(resource_code=resource_code).first()
    if pointer is None or pointer.live is None:
        return None
    return _info(pointer.live)


def _require(resource_code: str) -> ServedInfo:
    info = served(resource_code)
    if info is None:
        raise NotServed(f"资源 {resource_code} 不在服务库中（没有可提供的数据版本，或未发布、不予共享且不予开放）", "resource_code")
    return info


def _with_retry(resource_code: str, work: Callable[[ServedInfo], T]) -> T:
    """Run `work` on the live table; if that table vanished under us (dropped after a rebuild's
    grace period), read the pointer again and retry once."""
    info = _require(resource_code)
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: a failed statement must not spoil the caller's transaction
                return work(info)
        return work(info)
    except DatabaseError:
        again = _require(resource_code)
        if again.table == info.table:
            raise
        return work(again)


# --- values ------------------------------------------------------------------------------------------

_TRUE, _FALSE = {"true", "1", "是", "t", "yes"}, {"false", "0", "否", "f", "no"}


def convert(column: ServedColumn, value: Any) -> Any:
    """A filter/key/cursor value (text or JSON scalar) as the column's Python type, for the database."""
    name = column.title
    if value is None:
        raise ServingError(f"{name}：缺少取值", column.field)
    if isinstance(value, bool) and column.kind != BOOLEAN:
        raise ServingError(f"{name}：取值类型不对，应为{store.KIND_NAMES[column.kind]}", column.field)
    if not isinstance(value, str | int | float | bool | Decimal):
        raise ServingError(f"{name}：取值必须是文本", column.field)
    text = value if isinstance(value, str) else str(value)
    if len(text) > 4000:
        raise ServingError(f"{name}：取值过长（最多 4000 个字符）", column.field)
    if "\x00" in text:
        raise ServingError(f"{name}：取值不能包含空字符（\\x00）", column.field)
    try:
        if column.kind == TEXT:
            return store.db_param(TEXT, text)
        if column.kind == NUMBER:
            number = Decimal(text.strip())
            if not number.is_finite():
                raise InvalidOperation
            return store.db_param(NUMBER, number)
        if column.kind == DATE:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
                raise ValueError
            return store.db_param(DATE, date.fromisoformat(text.strip()))
        if column.kind == TIMESTAMP:
            moment = datetime.fromisoformat(text.strip())
            if moment.tzinfo is not None:
                raise ServingError(f"{name}：时间不带时区（按数据的本地时间），请去掉时区部分", column.field)
            return store.db_param(TIMESTAMP, moment)
        if column.kind == BOOLEAN:
            if isinstance(value, bool):
                return store.db_param(BOOLEAN, value)
            lowered = text.strip().lower()
            if lowered in _TRUE:
                return store.db_param(BOOLEAN, True)
            if lowered in _FALSE:
                return store.db_param(BOOLEAN, False)
            raise ValueError
    except (InvalidOperation, ValueError, ArithmeticError):
        examples = {NUMBER: "如 12 或 3.5", DATE: "格式 YYYY-MM-DD", TIMESTAMP: "格式 YYYY-MM-DDTHH:MM:SS",
                    BOOLEAN: "true 或 false"}
        raise ServingError(
            f"{name}：“{text[:40]}”不是有效的{store.KIND_NAMES[column.kind]}（{examples.get(column.kind, '')}）", column.field,
        ) from None
    raise ServingError(f"{name}：不支持的数据类型", column.field)


def _division_prefixes(column: ServedColumn, codes: Sequence[Any]) -> tuple[str, ...]:
    """The prefixes a scope's division codes cover: `core.divisions.scope_prefixes`, the one rule
    the exchange's row matcher applies too."""
    try:
        return divisions.scope_prefixes(codes)
    except divisions.ScopeCodeError as exc:
        raise ServingError(f"{column.title}：{exc}", column.field) from None


def _code_shape_sql(column_sql: str) -> str:
    """`column is 6, 9 or 12 digits` (`core.divisions.is_code`): only codes are inside a scope."""
    if store.vendor() == "postgresql":
        return f"{column_sql} ~ '^([0-9]{{6}}|[0-9]{{9}}|[0-9]{{12}})$'"
    lengths = ", ".join(str(n) for n in divisions.CODE_LENGTHS)
    return f"(length({column_sql}) IN ({lengths}) AND {column_sql} NOT GLOB '*[^0-9]*')"


def _prefix_sql(column_sql: str, prefix: str) -> tuple[str, list[Any]]:
    """`column starts with prefix`, in a form the column's index serves."""
    if store.vendor() == "postgresql":
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{column_sql} LIKE %s", [escaped + "%"]
    escaped = re.sub(r"([*?\[])", r"[\1]", prefix)
    return f"{column_sql} GLOB %s", [escaped + "*"]


def _values(f: Filter) -> tuple[Any, ...]:
    if isinstance(f.values, str | bytes) or not isinstance(f.values, Sequence):
        return (f.values,)
    return tuple(f.values)


def _filter_sql(info: ServedInfo, f: Filter) -> tuple[str, list[Any]]:
    column = info.column(f.field)
    if f.op not in OPS:
        raise ServingError(f"{column.title}：不支持的条件“{str(f.op)[:20]}”（可用：{'、'.join(OPS)}）", column.field)
    values = _values(f)
    col = quote(column.field)
    need = {"in": None, "between": 2}.get(f.op, 1)
    if f.op == "in":
        if not values or len(values) > MAX_IN_VALUES:
            raise ServingError(f"{column.title}：in 条件需要 1 到 {MAX_IN_VALUES} 个取值", column.field)
    elif len(values) != need:
        raise ServingError(f"{column.title}：{OP_NAMES[f.op]}条件需要 {need} 个取值，收到 {len(values)} 个", column.field)
    if column.kind == BOOLEAN and f.op not in ("eq", "in"):
        raise ServingError(f"{column.title}：布尔项只能用 eq 或 in 条件", column.field)
    if f.op == "prefix":
        if column.kind != TEXT:
            raise ServingError(f"{column.title}：只有文本项能用 prefix 条件", column.field)
        if not isinstance(values[0], str) or not values[0]:
            raise ServingError(f"{column.title}：前缀不能为空", column.field)
        return _prefix_sql(col, convert(column, values[0]))
    params = [convert(column, v) for v in values]
    if f.op == "eq":
        return f"{col} = %s", params
    if f.op == "in":
        return f"{col} IN ({', '.join(['%s'] * len(params))})", params
    expr = store.number_expr(col, column.kind)
    mark = store.number_expr("%s", column.kind)
    if f.op == "between":
        return f"{expr} BETWEEN {mark} AND {mark}", params
    return f"{expr} {_COMPARE[f.op]} {mark}", params


def _scope_sql(
    info: ServedInfo, scope: Mapping[str, Sequence[Any]] | None, alias: str = "",
) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if scope is None:
        return clauses, params
    if not isinstance(scope, Mapping):
        raise ServingError("行范围格式不对：应为 {字段: [代码, …]}", "scope")
    for name, codes in scope.items():
        column = info.column(name, "行范围字段")
        if isinstance(codes, str | bytes) or not isinstance(codes, Sequence):
            raise ServingError(f"{column.title}：行范围应为代码列表", column.field)
        if not codes:
            clauses.append("1 = 0")  # an empty scope allows nothing
            continue
        if len(codes) > MAX_IN_VALUES:
            raise ServingError(f"{column.title}：行范围最多 {MAX_IN_VALUES} 个代码", column.field)
        col = alias + quote(column.field)
        if column.division and column.kind == TEXT:
            parts = []
            for prefix in _division_prefixes(column, codes):
                sql, values = _prefix_sql(col, prefix)
                parts.append(sql)
                params.extend(values)
            clauses.append("(" + " OR ".join(parts) + ") AND " + _code_shape_sql(col))
        else:
            converted = [convert(column, code) for code in codes]
            clauses.append(f"{col} IN ({', '.join(['%s'] * len(converted))})")
            params.extend(converted)
    return clauses, params


def _where(info: ServedInfo, filters: Sequence[Filter], scope: Mapping[str, Sequence[Any]] | None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if isinstance(filters, Filter):
        filters = (filters,)
    for f in filters:
        if not isinstance(f, Filter):
            raise ServingError("筛选条件格式不对", "filters")
        sql, values = _filter_sql(info, f)
        clauses.append(sql)
        params.extend(values)
    scoped, values = _scope_sql(info, scope)
    return clauses + scoped, params + values


def _columns(info: ServedInfo, columns: Sequence[str]) -> list[ServedColumn]:
    if isinstance(columns, str) or not columns:
        raise ServingError("请指定要读取的信息项（columns）", "columns")
    chosen: list[ServedColumn] = []
    for name in columns:
        column = info.column(name, "信息项")
        if column.field == store.ROW_KEY:
            raise ServingError(f"信息项“{name}”不是资源 {info.resource_code} 的信息项", name)
        if column not in chosen:
            chosen.append(column)
    return chosen


def _row(columns: Sequence[ServedColumn], values: Sequence[Any]) -> dict[str, Any]:
    return {c.field: store.json_value(c.kind, v) for c, v in zip(columns, values, strict=False)}


def _where_text(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


# --- the API -------------------------------------------------------------------------------------------


# The live tables' descriptions by resource, per process: a table's columns never change (a
# catalog change makes a new table), and every look-up checks in its own statement that the
# pointer still names the cached table.
_known: dict[str, ServedInfo] = {}


def _known_info(resource_code: str, *, fresh: bool = False) -> ServedInfo:
    info = None if fresh else _known.get(resource_code)
    if info is None:
        _known.pop(resource_code, None)
        info = _require(resource_code)
        _known[resource_code] = info
    return info


def lookup(
    resource_code: str, key: Mapping[str, Any], *, columns: Sequence[str],
    scope: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, Any] | None:
    """The row with this key (all key columns, as text), or None (absent, or outside `scope`).

    One statement reads the pointer and the row together (LEFT JOIN from the pointer), so the
    answer belongs to the table the pointer names at that instant."""

    def work(info: ServedInfo) -> tuple[int | None, dict[str, Any] | None]:
        chosen = _columns(info, columns)
        if info.keys == (store.ROW_KEY,):
            raise ServingError(f"资源 {resource_code} 没有主键信息项，不能按主键查询", "key")
        if not isinstance(key, Mapping):
            raise ServingError("主键格式不对：应为 {主键字段: 取值}", "key")
        for name in key:
            if name not in info.keys:
                raise ServingError(f"“{str(name)[:64]}”不是资源 {resource_code} 的主键（主键：{'、'.join(info.keys)}）", str(name)[:64])
        clauses, params = [], []
        for name in info.keys:
            column = info.column(name)
            if name not in key:
                raise ServingError(f"缺少主键 {column.title} 的取值", name)
            clauses.append(f"t.{quote(name)} = %s")
            params.append(convert(column, key[name]))
        scoped, values = _scope_sql(info, scope, alias="t.")
        select = ", ".join(f"t.{quote(c.field)}" for c in chosen)
        present = f"t.{quote(info.keys[0])}"
        sql = (
            f"SELECT p.live_id, {present}, {select} FROM {quote(ServedResource._meta.db_table)} p"  # noqa: S608 (quoted schema names, values are parameters)
            f" LEFT JOIN {quote(info.table)} t ON {' AND '.join(clauses + scoped)} WHERE p.resource_code = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *values, resource_code])
            row = cursor.fetchone()
        if row is None:
            return None, None
        return row[0], (None if row[1] is None else _row(chosen, row[2:]))

    for attempt in range(3):
        info = _known_info(resource_code, fresh=attempt > 0)
        try:
            if connection.in_atomic_block:
                with transaction.atomic():  # a savepoint: a failed statement must not spoil the caller's transaction
                    live_id, found = work(info)
            else:
                live_id, found = work(info)
        except DatabaseError:
            if attempt == 2:
                raise
            continue  # the cached table was dropped after a rebuild: read the pointer again
        except ServingError:
            if attempt > 0:
                raise
            # The cached description may be of another table with the same id (a database restored
            # from a backup, a test database): judge the input against a fresh one before refusing.
            continue
        if live_id == info.table_id:
            return found
        if live_id is None:
            _known.pop(resource_code, None)
            _require(resource_code)  # raises NotServed
    raise NotServed(f"资源 {resource_code} 的服务表正在切换，请稍后重试", "resource_code")


def _order_columns(info: ServedInfo, order: str | None) -> list[ServedColumn]:
    keys = [info.column(k) for k in info.keys]
    if order is None or order == "":
        return keys
    column = info.column(order, "排序字段")
    if column.field == store.ROW_KEY:
        raise ServingError(f"排序字段“{order}”不是资源 {info.resource_code} 的信息项", order)
    return keys if column.field in info.keys and len(info.keys) == 1 else [column] + [k for k in keys if k != column]


def _keyset(info: ServedInfo, ordering: list[ServedColumn], after: Mapping[str, Any], descending: bool,
            nullable_first: bool) -> tuple[str, list[Any]]:
    """Rows after `after` in the order (first column nulls last when it is not a key, then keys)."""
    if not isinstance(after, Mapping):
        raise ServingError("翻页位置格式不对", "after")
    for name in after:
        if name not in {c.field for c in ordering}:
            raise ServingError(f"翻页位置中的“{str(name)[:64]}”不是排序或主键字段", "after")
    sign = "<" if descending else ">"
    keys = ordering[1:] if nullable_first else ordering

    def chain(cols: list[ServedColumn]) -> tuple[str, list[Any]]:
        # (c1 > v1) OR (c1 = v1 AND c2 > v2) OR …
        ors: list[str] = []
        params: list[Any] = []
        for i, column in enumerate(cols):
            ands: list[str] = []
            for previous in cols[:i]:
                ands.append(f"{store.number_expr(quote(previous.field), previous.kind)} = {store.number_expr('%s', previous.kind)}")
                params.append(_after_value(previous, after))
            ands.append(f"{store.number_expr(quote(column.field), column.kind)} {sign} {store.number_expr('%s', column.kind)}")
            params.append(_after_value(column, after))
            ors.append("(" + " AND ".join(ands) + ")")
        return "(" + " OR ".join(ors) + ")", params

    if not nullable_first:
        return chain(keys)
    first = ordering[0]
    col = quote(first.field)
    key_sql, key_params = chain(keys)
    if first.field not in after:
        raise ServingError(f"翻页位置缺少排序字段 {first.title}", "after")
    if after[first.field] is None:
        return f"({col} IS NULL AND {key_sql})", key_params
    value = _after_value(first, after)
    expr = store.number_expr(col, first.kind)
    mark = store.number_expr("%s", first.kind)
    sql = f"(({col} IS NOT NULL AND ({expr} {sign} {mark} OR ({expr} = {mark} AND {key_sql}))) OR {col} IS NULL)"
    return sql, [value, value, *key_params]


def _after_value(column: ServedColumn, after: Mapping[str, Any]) -> Any:
    if column.field not in after or after[column.field] is None:
        raise ServingError(f"翻页位置缺少 {column.title} 的取值", "after")
    return convert(column, after[column.field])


def _order_sql(ordering: list[ServedColumn], descending: bool, nullable_first: bool) -> str:
    direction = " DESC" if descending else ""
    parts = []
    for i, column in enumerate(ordering):
        col = quote(column.field)
        if i == 0 and nullable_first:
            parts.append(f"CASE WHEN {col} IS NULL THEN 1 ELSE 0 END")
        parts.append(store.number_expr(col, column.kind) + direction)
    return ", ".join(parts)


def query(
    resource_code: str, *, columns: Sequence[str], filters: Sequence[Filter] = (),
    scope: Mapping[str, Sequence[Any]] | None = None, after: Mapping[str, Any] | None = None, limit: int = 100,
    order: str | None = None, descending: bool = False,
) -> Page:
    """One page of rows matching every filter and the scope, in keyset order."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ServingError(f"每页行数（limit）应为 1 到 {MAX_LIMIT} 的整数", "limit")

    def work(info: ServedInfo) -> Page:
        chosen = _columns(info, columns)
        ordering = _order_columns(info, order)
        nullable_first = ordering[0].field not in info.keys
        clauses, params = _where(info, filters, scope)
        if after is not None:
            sql, values = _keyset(info, ordering, after, descending, nullable_first)
            clauses.append(sql)
            params.extend(values)
        selected = list(chosen) + [c for c in ordering if c not in chosen]
        select = ", ".join(quote(c.field) for c in selected)
        version = f"(SELECT lake_version FROM {quote(ServedTable._meta.db_table)} WHERE id = %s) AS {quote(_VERSION)}"  # noqa: S608 (platform names)
        sql = (
            f"SELECT {select}, {version} FROM {quote(info.table)}{_where_text(clauses)}"  # noqa: S608 (quoted schema names, values are parameters)
            f" ORDER BY {_order_sql(ordering, descending, nullable_first)} LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [info.table_id, *params, limit + 1])
            fetched = cursor.fetchall()
        lake_version = int(fetched[0][-1]) if fetched and fetched[0][-1] is not None else info.lake_version
        more = len(fetched) > limit
        fetched = fetched[:limit]
        rows = [_row(chosen, r[: len(chosen)]) for r in fetched]
        next_after = None
        if more and fetched:
            last = _row(selected, fetched[-1][: len(selected)])
            next_after = {c.field: last[c.field] for c in ordering}
        return Page(rows=rows, next_after=next_after, lake_version=lake_version)

    return _with_retry(resource_code, work)


def count(resource_code: str, *, filters: Sequence[Filter] = (), scope: Mapping[str, Sequence[Any]] | None = None) -> int:
    """How many rows match every filter and the scope."""

    def work(info: ServedInfo) -> int:
        clauses, params = _where(info, filters, scope)
        if not clauses:
            return info.rows
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {quote(info.table)}{_where_text(clauses)}", params)  # noqa: S608 (quoted names, parameters)
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    return _with_retry(resource_code, work)


def iter_rows(
    resource_code: str, *, columns: Sequence[str], filters: Sequence[Filter] = (),
    scope: Mapping[str, Sequence[Any]] | None = None, batch_size: int = 5000,
) -> Iterator[list[dict[str, Any]]]:
    """Every matching row in key order, `batch_size` rows at a time, from one statement (one
    version): a server-side cursor on PostgreSQL, SQLite's stepping cursor — memory stays flat."""
    if not isinstance(batch_size, int) or not 1 <= batch_size <= 100_000:
        raise ServingError("每批行数（batch_size）应为 1 到 100000 的整数", "batch_size")
    info = _require(resource_code)
    chosen = _columns(info, columns)
    clauses, params = _where(info, filters, scope)  # refuse bad input before the first batch is asked for
    return _stream(resource_code, info, chosen, clauses, params, batch_size)


def _stream(
    resource_code: str, info: ServedInfo, chosen: list[ServedColumn], clauses: list[str], params: list[Any], batch_size: int,
) -> Iterator[list[dict[str, Any]]]:
    ordering = ", ".join(store.number_expr(quote(k), info.column(k).kind) for k in info.keys)
    select = ", ".join(quote(c.field) for c in chosen)

    def open_cursor(table: str) -> Any:
        cursor = connection.chunked_cursor()
        cursor.execute(f"SELECT {select} FROM {quote(table)}{_where_text(clauses)} ORDER BY {ordering}", params)  # noqa: S608 (quoted names, parameters)
        return cursor

    try:
        cursor = open_cursor(info.table)
    except DatabaseError:
        again = _require(resource_code)
        if again.table == info.table:
            raise
        cursor = open_cursor(again.table)
    try:
        while True:
            fetched = cursor.fetchmany(batch_size)
            if not fetched:
                return
            yield [_row(chosen, r) for r in fetched]
    finally:
        cursor.close()
