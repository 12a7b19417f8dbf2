"""What a consumer receives: a resource's rows or changes as its grant lets it see them.

`view_for(grant)` fixes, once per delivery, how the grant shapes a row: only the granted items
(in catalog order), only rows inside the grant's row scope, personal items masked per the grant
(`sharing.queries.clear_items_for_grant` → `catalog.queries.clear_items_for` → `core.masking`,
applied by datahub's `RowPresenter`, the one masking rule), and a row key `_zw_key`.

`_zw_key` is the consumer's key of a row: hex HMAC-SM3 of the resource's key values under a key
derived from the platform secret, the consumer unit and the resource. It is stable (the same row
has the same `_zw_key` in every channel and version), it never reveals a key the grant masks (an
identity number shown as 441***********1234 cannot be a primary key — many people share the
mask), and two units cannot match their copies by it.

`change_set(view, p, v)` is the change from version p to v from Delta's change data feed (hidden,
i.e. undone, versions skipped), collapsed per key: the key's state at p and at v decide —
in scope at v → upsert (its values at v); in scope at p but deleted or out of scope at v → delete;
never in scope → nothing (the consumer never learns of rows outside its scope).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from zhengwu.catalog.codetables import CodeTableError, parse_code_table
from zhengwu.catalog.queries import masked_items, published_snapshot
from zhengwu.core import divisions
from zhengwu.core.crypto import hmac_sm3
from zhengwu.core.errors import DomainError
from zhengwu.core.masking import mask_value
from zhengwu.datahub import lake
from zhengwu.datahub import queries as datahub_queries
from zhengwu.datahub.constants import VersionOperation
from zhengwu.datahub.models import ResourceVersion
from zhengwu.datahub.presenters import RowPresenter
from zhengwu.datahub.schema import RESIDENT_ID, USCC, semantic_of
from zhengwu.sharing.models import ShareGrant
from zhengwu.sharing.queries import clear_items_for_grant

KEY_COLUMN = "_zw_key"
KEY_SEPARATOR = "\x1f"  # between the text of a compound key's values
_PRE = {"update_preimage": 0, "delete": 0, "insert": 1, "update_postimage": 1}


class ResyncRequired(Exception):
    """The change feed cannot carry the consumer from its position to the target (a rollback, or
    the CDF is not readable across it): the consumer must take the whole content again."""


@dataclass
class ConsumerPrincipal:
    """The consumer unit as a reader with no personal rights: the unit's systems receive what the
    grant allows the unit, never what one of its staff may see as a provider's data manager."""

    unit_id: int
    is_authenticated: bool = False
    is_active: bool = False
    admin_role: str = ""
    pk: None = None


@dataclass
class GrantView:
    grant: ShareGrant
    resource_code: str
    items: list[str]  # granted fields, catalog order
    keys: list[str]
    presenter: RowPresenter
    in_scope: Callable[[dict[str, Any]], bool]
    key_secret: bytes
    labels: dict[str, str] = field(default_factory=dict)
    # Columns naming a person or an enterprise (identity number, credit code) -> "person" | "enterprise":
    # read (never shown unless granted) so that each delivered row is accounted for in 数据使用记录.
    subject_columns: dict[str, str] = field(default_factory=dict)

    @cached_property
    def methods(self) -> dict[str, str]:
        """Each granted item's masking method for this consumer ("" = shown as it is)."""
        return {name: self.presenter.method(name) for name in self.items}

    @property
    def masked_fields(self) -> list[str]:
        return [f for f in self.items if self.methods[f]]

    def row_key(self, row: dict[str, Any]) -> str:
        text = KEY_SEPARATOR.join(_key_text(row.get(k)) for k in self.keys)
        return hmac_sm3(self.key_secret, text.encode("utf-8")).hex()

    def shown(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row as the consumer receives it: `_zw_key`, then each granted item (masked or plain)."""
        out: dict[str, Any] = {KEY_COLUMN: self.row_key(row)}
        for name, method in self.methods.items():
            value = row.get(name)
            out[name] = plain(mask_value(value, method) if method else value)
        return out

    @cached_property
    def columns(self) -> list[str]:
        """The columns a delivery reads: keys, granted items and the scope's fields."""
        wanted = [*self.keys, *self.items, *[str(f) for f in (self.grant.scope or {})], *self.subject_columns]
        return list(dict.fromkeys(wanted))

    def subject_values(self, row: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        """(kind, identity number / credit code) of each person / enterprise a raw row names."""
        out = []
        for name, kind in self.subject_columns.items():
            value = row.get(name)
            if value not in (None, ""):
                out.append((kind, str(value)))
        return tuple(out)

    def subjects(self, rows: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
        """(kind, keyed hash) of each person / enterprise the raw rows name, once each (the gateway's
        hash, so 数据使用记录 finds pushed rows as it finds read ones)."""
        return hashed_subjects(self.subject_values(row) for row in rows)

    def same_items(self, a: dict[str, Any], b: dict[str, Any]) -> bool:
        return all(a.get(name) == b.get(name) for name in self.items)


def hashed_subjects(values: Iterable[Iterable[tuple[str, str]]]) -> list[tuple[str, str]]:
    """(kind, keyed hash) of (kind, number) pairs, once each, in first-seen order."""
    from zhengwu.sharing.gateway.services import subject_hash

    found: dict[tuple[str, str], None] = {}
    for pairs in values:
        for kind, value in pairs:
            found[(kind, subject_hash(kind, value))] = None
    return list(found)


def _key_text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def plain(value: Any) -> Any:
    """A JSON value: dates ISO 8601, decimals as text, bytes base64."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _scope_matcher(grant: ShareGrant, items: list[dict[str, Any]]) -> Callable[[dict[str, Any]], bool]:
    """A row is in scope when, for every field the grant's scope names, its value is one of the
    codes — for a 行政区划代码 field, the code itself or a place under it (GB/T 2260), by
    `core.divisions.scope_matcher`: the same rule as the serving store's SQL."""
    scope = {str(k): {str(c) for c in v} for k, v in (grant.scope or {}).items()}
    if not scope:
        return lambda row: True
    tests: dict[str, Callable[[Any], bool]] = {}
    for name, codes in scope.items():
        tests[name] = codes.__contains__
    for item in items:
        name = str(item.get("field_name") or "")
        if name in scope:
            try:
                table = parse_code_table(str(item.get("code_table") or ""))
            except CodeTableError:
                table = None
            if table is not None and table.kind == "division":
                try:
                    tests[name] = divisions.scope_matcher(scope[name])
                except divisions.ScopeCodeError as exc:
                    raise DomainError(f"共享授权的数据范围有误：{exc}", "scope") from None

    def allowed(name: str, value: Any) -> bool:
        return value is not None and tests[name](str(value))

    return lambda row: all(allowed(name, row.get(name)) for name in scope)


def key_secret(consumer_id: int, resource_code: str) -> bytes:
    base = str(settings.SECRET_KEY).encode("utf-8")
    return hmac_sm3(base, f"zhengwu.exchange.row-key:{consumer_id}:{resource_code}".encode())


def view_for(grant: ShareGrant) -> GrantView:
    entry = grant.entry
    snapshot = published_snapshot(entry) or {}
    items = list(snapshot.get("items") or [])
    granted = set(grant.items or [])
    names = [str(i["field_name"]) for i in items if i.get("field_name") in granted]
    keys = [str(i["field_name"]) for i in items if i.get("is_key")]
    if not keys:
        raise DomainError(f"资源“{entry.name}”的目录没有主键信息项，无法按主键交换变更", "grant")
    subjects: dict[str, str] = {}
    for item in items:
        semantic = semantic_of(str(item.get("name") or ""), str(item.get("field_name") or ""))
        if semantic in (RESIDENT_ID, USCC):
            subjects[str(item["field_name"])] = "person" if semantic == RESIDENT_ID else "enterprise"
    clear = clear_items_for_grant(ConsumerPrincipal(unit_id=grant.consumer_id), grant)
    presenter = RowPresenter(entry.resource_code, masked_items(entry), clear)
    return GrantView(
        grant=grant, resource_code=entry.resource_code, items=names, keys=keys, presenter=presenter,
        in_scope=_scope_matcher(grant, items), key_secret=key_secret(grant.consumer_id, entry.resource_code),
        labels={str(i["field_name"]): str(i.get("name") or "") for i in items if i.get("field_name") in granted},
        subject_columns=subjects,
    )


# --- versions ------------------------------------------------------------------------------------


def target_version(resource_code: str) -> int | None:
    """The version a consumer should be brought to: the latest recorded version that is not undone."""
    latest = (
        ResourceVersion.objects.filter(resource_code=resource_code, undone=False).order_by("-lake_version").first()
    )
    return None if latest is None else latest.lake_version


def rollback_between(resource_code: str, start: int, end: int) -> bool:
    """Whether a rollback (not the undoing of a failed batch's commit) lies in (start, end]."""
    return ResourceVersion.objects.filter(
        resource_code=resource_code, lake_version__gt=start, lake_version__lte=end,
        operation=VersionOperation.ROLLBACK, undoes__isnull=True,
    ).exists()


# --- rows and changes -------------------------------------------------------------------------------


@dataclass
class ChangeSet:
    """Upserts (rows as shown) and deletes (`_zw_key`s), each ordered by `_zw_key`."""

    upserts: list[dict[str, Any]]
    deletes: list[str]
    subjects: list[tuple[str, str]] = field(default_factory=list)  # whose rows the upserts carry
    # Each upsert's `_zw_key` -> the (kind, number) of the people / enterprises its raw row names
    # (for the pull channel, which accounts for each page it hands out).
    subject_values: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.upserts) + len(self.deletes)

    def ops(self) -> list[tuple[str, str, dict[str, Any] | None]]:
        """(key, "upsert"|"delete", row) ordered by key."""
        out: list[tuple[str, str, dict[str, Any] | None]] = [(r[KEY_COLUMN], "upsert", r) for r in self.upserts]
        out += [(k, "delete", None) for k in self.deletes]
        out.sort(key=lambda o: o[0])
        return out


def _plain_strings(table: pa.Table) -> pa.Table:
    return table.cast(pa.schema([
        pa.field(f.name, pa.string()) if pa.types.is_string_view(f.type) else f for f in table.schema
    ]))


def change_set(view: GrantView, start: int, end: int) -> ChangeSet:
    """The consumer's changes from version `start` (exclusive) to `end` (inclusive)."""
    if end <= start:
        return ChangeSet([], [])
    if rollback_between(view.resource_code, start, end):
        raise ResyncRequired(f"版本 {start} 与 {end} 之间有回滚")
    try:
        table = lake.changes(view.resource_code, start + 1, end)
    except Exception as exc:  # the CDF is not readable across this range (vacuumed, restored, …)
        raise ResyncRequired(f"无法读取版本 {start + 1} 到 {end} 的变更：{exc}") from exc
    table = _plain_strings(table)
    hidden = datahub_queries.hidden_versions(view.resource_code)
    if hidden and table.num_rows:
        table = table.filter(pc.invert(pc.is_in(table["_commit_version"], pa.array(sorted(hidden), pa.int64()))))
    present = set(table.column_names)
    table = table.select([c for c in [*view.columns, "_change_type", "_commit_version"] if c in present])
    records = table.to_pylist()
    records.sort(key=lambda r: (int(r["_commit_version"]), _PRE.get(str(r["_change_type"]), 1)))
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    last: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        key = tuple(record.get(k) for k in view.keys)
        first.setdefault(key, record)
        last[key] = record
    upserts: list[dict[str, Any]] = []
    deletes: list[str] = []
    raw_upserts: list[dict[str, Any]] = []
    values: dict[str, tuple[tuple[str, str], ...]] = {}
    for key, head in first.items():
        tail = last[key]
        before = head if head["_change_type"] in ("update_preimage", "delete") else None
        after = tail if tail["_change_type"] in ("insert", "update_postimage") else None
        was_in = before is not None and view.in_scope(before)
        is_in = after is not None and view.in_scope(after)
        if is_in:
            assert after is not None
            if was_in and before is not None and view.same_items(before, after):
                continue  # only items outside the grant changed
            shown = view.shown(after)
            upserts.append(shown)
            raw_upserts.append(after)
            if view.subject_columns:
                values[shown[KEY_COLUMN]] = view.subject_values(after)
        elif was_in:
            assert before is not None
            deletes.append(view.row_key(before))
    upserts.sort(key=lambda r: r[KEY_COLUMN])
    deletes.sort()
    return ChangeSet(upserts, deletes, view.subjects(raw_upserts), values)


def iter_version_rows(resource_code: str, version: int, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
    dataset = lake.version_dataset(resource_code, version)
    if dataset is None:
        return
    if columns is not None:
        columns = [c for c in columns if c in dataset.schema.names]
    for batch in dataset.to_batches(batch_size=65536, columns=columns):
        yield from batch.to_pylist()


def snapshot_slice(
    view: GrantView, version: int, start: int, limit: int
) -> tuple[list[dict[str, Any]], list[tuple[tuple[str, str], ...]], int | None]:
    """Up to `limit` rows of `version` in the consumer's scope, as shown, from raw position `start`
    of the fixed order of `_ordered_rows`; with whom each names (`subject_values`) and the position
    of the next row in scope, None when none follows. Files and row groups wholly before `start`
    are skipped by their metadata, so a page costs its own rows, not the version's: never more than
    the page and one read batch in memory (the change feed's bulk pages, one call each)."""
    rows: list[dict[str, Any]] = []
    named: list[tuple[tuple[str, str], ...]] = []
    for position, raw in _ordered_rows_from(view.resource_code, version, view.columns, start):
        if not view.in_scope(raw):
            continue
        if len(rows) == limit:
            return rows, named, position
        rows.append(view.shown(raw))
        named.append(view.subject_values(raw) if view.subject_columns else ())
    return rows, named, None


def _ordered_rows_from(
    resource_code: str, version: int, columns: list[str], start: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(position, raw row) of `_ordered_rows` from position `start` on."""
    dataset = lake.version_dataset(resource_code, version)
    if dataset is None:
        return
    names = [c for c in columns if c in dataset.schema.names]
    position = 0
    for fragment in sorted(dataset.get_fragments(), key=lambda f: str(f.path)):
        for group in fragment.split_by_row_group():
            count = group.row_groups[0].num_rows
            if position + count <= start:
                position += count
                continue
            for batch in group.to_batches(schema=dataset.schema, columns=names, batch_size=SNAPSHOT_READ_ROWS):
                skip = max(0, start - position)
                if skip < batch.num_rows:
                    yield from enumerate(batch.slice(skip).to_pylist(), position + skip)
                position += batch.num_rows


def _ordered_rows(resource_code: str, version: int, columns: list[str]) -> Iterator[dict[str, Any]]:
    """The raw rows of `version` in a fixed order — its files by path, each file's rows in file
    order — so that the same version gives the same sequence every time (a retried page, a
    redelivery, the next page of the feed), read batch by batch."""
    for _, raw in _ordered_rows_from(resource_code, version, columns, 0):
        yield raw


SNAPSHOT_READ_ROWS = 16384


def snapshot_count(view: GrantView, version: int) -> int:
    """How many rows of `version` the consumer may have (reads only the scope's fields)."""
    fields = [str(f) for f in (view.grant.scope or {})]
    dataset = lake.version_dataset(view.resource_code, version)
    if dataset is None:
        return 0
    if not fields:
        return int(dataset.count_rows())
    return sum(1 for r in _ordered_rows(view.resource_code, version, fields) if view.in_scope(r))


def snapshot_pages(
    view: GrantView, version: int, size: int, *, first_page: int = 1
) -> Iterator[tuple[int, list[dict[str, Any]] | None, int]]:
    """The rows of `version` the consumer may have, as shown, in pages of `size` rows in the fixed
    order of `_ordered_rows`: (page number, rows, row count). Pages before `first_page` are counted
    but not shaped (rows None: no masking or row keys computed for them). Never more than one page
    and one read batch in memory, whatever the version's size. A version with no row in scope
    gives one empty page 1."""
    page, rows, count = 1, [], 0
    for raw in _ordered_rows(view.resource_code, version, view.columns):
        if not view.in_scope(raw):
            continue
        count += 1
        if page >= first_page:
            rows.append(view.shown(raw))
        if count == size:
            yield page, (rows if page >= first_page else None), count
            page, rows, count = page + 1, [], 0
    if count or page == 1:
        yield page, (rows if page >= first_page else None), count


def snapshot_subjects(view: GrantView, version: int) -> list[tuple[str, str]]:
    """Whose rows a snapshot of `version` carries (the rows in the consumer's scope)."""
    columns = list(dict.fromkeys([*view.subject_columns, *[str(f) for f in (view.grant.scope or {})]]))
    if not view.subject_columns:
        return []
    return view.subjects(r for r in iter_version_rows(view.resource_code, version, columns) if view.in_scope(r))


def pages(count: int) -> int:
    size = page_rows()
    return max(1, -(-count // size))


def page_rows() -> int:
    return max(1, int(getattr(settings, "EXCHANGE_PAGE_ROWS", 1000)))
