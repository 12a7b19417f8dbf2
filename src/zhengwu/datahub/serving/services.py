"""State changes of the serving store (服务库): refresh a resource's served table from the lake.

`do_refresh_served(resource_code)` decides from the lake and the catalog:
- nothing to serve (no lake data, the table removed, no recorded version that is data, the entry
  not published or both 不予共享 and 不予开放) → the live table is retired;
- the live table is at version v, the target is later, every version in between is an ordinary
  recorded commit (no rollback, no undone commit or its undoing), the schema is the same and the
  versions changed fewer than SERVING_INCREMENTAL_MAX_SHARE of the rows → the change data feed
  (collapsed per key: the last post-image wins, deletions delete) is applied to the live table in
  ONE transaction that also moves its lake_version: readers see the old version or the new;
- otherwise a full rebuild: a new table is loaded (PostgreSQL: COPY of Arrow batches as CSV;
  SQLite: executemany), indexed, then the pointer is switched in one transaction. The previous
  table is kept SERVING_GRACE_SECONDS for reads in flight, then dropped.

The target version is the newest recorded version that is neither undone nor the commit that
undid one (datahub.queries.hidden_versions): an undone version is never served.

One refresh of a resource runs at a time: the caller claims `ServedResource` with a
compare-and-set; a request arriving during a refresh sets `rerun` and returns at once
("coalesced"), and the running refresh goes round again before it lets go. A claim older than
SERVING_CLAIM_STALE_SECONDS (its process died) is taken over.

Each refresh that changes what is served writes one `serving.refresh` audit record (actor None)
with the version, mode (full / incremental / retire), rows and seconds.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import record_event
from zhengwu.catalog.constants import EntryStatus, OpenType, ShareType
from zhengwu.catalog.models import CatalogEntry
from zhengwu.catalog.queries import published_snapshot
from zhengwu.core.errors import DomainError
from zhengwu.datahub import lake
from zhengwu.datahub.constants import VersionOperation
from zhengwu.datahub.models import ResourceVersion
from zhengwu.datahub.queries import hidden_versions
from zhengwu.datahub.schema import schema_for

from . import store
from .models import ServedResource, ServedTable, TableState
from .store import ServedColumn

log = logging.getLogger(__name__)

FULL, INCREMENTAL, RETIRE, CURRENT, COALESCED = "full", "incremental", "retire", "current", "coalesced"
MODE_NAMES = {FULL: "全量重建", INCREMENTAL: "增量更新", RETIRE: "停止服务", CURRENT: "已是最新", COALESCED: "已合并到进行中的刷新"}


def grace_seconds() -> int:
    return int(getattr(settings, "SERVING_GRACE_SECONDS", 600))


def incremental_max_share() -> float:
    return float(getattr(settings, "SERVING_INCREMENTAL_MAX_SHARE", 0.2))


def claim_stale_seconds() -> int:
    return int(getattr(settings, "SERVING_CLAIM_STALE_SECONDS", 1800))


@dataclass(frozen=True)
class RefreshResult:
    resource_code: str
    mode: str  # full / incremental / retire / current / coalesced
    lake_version: int | None
    rows: int = 0
    seconds: float = 0.0
    table: str = ""


# --- what is served --------------------------------------------------------------------------------


def servable(resource_code: str) -> str:
    """Why a resource is not served ("" when it is): its catalog entry must be published (not
    下线) and not both 不予共享 and 不予开放."""
    entry = CatalogEntry.objects.filter(resource_code=resource_code).first()
    if entry is None:
        return "目录中没有该资源"
    if entry.status == EntryStatus.RETIRED or not entry.published_version:
        return "目录条目未发布或已下线"
    snap = published_snapshot(entry) or {}
    share = snap.get("share_type") or entry.share_type
    opened = snap.get("open_type") or entry.open_type
    if share == ShareType.NONE and opened == OpenType.NONE:
        return "不予共享且不予开放"
    return ""


def target_version(resource_code: str) -> int | None:
    """The lake version to serve: the newest recorded one that is data (not undone, not an
    undoing commit), provided the lake table exists; None when there is none."""
    hidden = hidden_versions(resource_code)
    versions = (
        ResourceVersion.objects.filter(resource_code=resource_code, undone=False)
        .exclude(lake_version__in=hidden).order_by("-lake_version").values_list("lake_version", flat=True)
    )
    latest = versions.first()
    if latest is None:
        return None
    current = lake.current_version(resource_code)
    if current is None or latest > current:
        return None
    return int(latest)


def candidates() -> list[str]:
    """Resources the catch-up looks at: every resource with a recorded version, and every one served."""
    codes = set(ResourceVersion.objects.values_list("resource_code", flat=True).distinct())
    codes |= set(ServedResource.objects.filter(live__isnull=False).values_list("resource_code", flat=True))
    return sorted(codes)


def needs_refresh(resource_code: str) -> bool:
    pointer = ServedResource.objects.select_related("live").filter(resource_code=resource_code).first()
    live = pointer.live if pointer else None
    target = target_version(resource_code) if not servable(resource_code) else None
    if target is None:
        return live is not None
    if live is None or live.lake_version != target:
        return True
    try:
        columns, keys = store.served_columns(schema_for(resource_code))
    except DomainError:
        return True  # no usable schema any more: the refresh retires the table
    return live.columns != [c.as_json() for c in columns] or live.key_columns != keys  # the catalog changed


# --- the claim ------------------------------------------------------------------------------------


def _claim(resource_code: str) -> str | None:
    """Take the refresh claim (a token), or None when another refresh holds it (then it is asked
    to go round again)."""
    ServedResource.objects.get_or_create(resource_code=resource_code)
    token = uuid.uuid4().hex
    now = timezone.now()
    free = ServedResource.objects.filter(resource_code=resource_code, claimed_at__isnull=True)
    if free.update(claim_token=token, claimed_at=now, rerun=False):
        return token
    stale = ServedResource.objects.filter(
        resource_code=resource_code, claimed_at__lt=now - timedelta(seconds=claim_stale_seconds()),
    )
    if stale.update(claim_token=token, claimed_at=now, rerun=False):
        log.warning("serving: took over a stale refresh claim of %s", resource_code)
        return token
    ServedResource.objects.filter(resource_code=resource_code).exclude(claim_token=token).update(rerun=True)
    return None


def _release(resource_code: str, token: str) -> bool:
    """Let go of the claim; False (claim kept, rerun cleared) when a request came in meanwhile."""
    mine = ServedResource.objects.filter(resource_code=resource_code, claim_token=token)
    if mine.filter(rerun=False).update(claim_token="", claimed_at=None):
        return True
    mine.update(rerun=False, claimed_at=timezone.now())
    return not mine.exists()  # lost to a take-over: stop


def _release_after_error(resource_code: str, token: str) -> None:
    ServedResource.objects.filter(resource_code=resource_code, claim_token=token).update(
        claim_token="", claimed_at=None, rerun=False,
    )


# --- refreshing -----------------------------------------------------------------------------------------


def do_refresh_served(resource_code: str, *, full: bool = False) -> RefreshResult:
    """Bring the served table of `resource_code` to its target version (see the module); `full`
    rebuilds even when the table is current or could be patched."""
    token = _claim(resource_code)
    if token is None:
        pointer = ServedResource.objects.select_related("live").get(resource_code=resource_code)
        return RefreshResult(resource_code, COALESCED, pointer.live.lake_version if pointer.live else None)
    try:
        _drop_orphan_builds(resource_code)
        results: list[RefreshResult] = []
        while True:  # again while requests came in meanwhile (coalesced into this refresh)
            results.append(_refresh_once(resource_code, full=full))
            full = False
            if _release(resource_code, token):
                break
        changed = [r for r in results if r.mode != CURRENT]
        result = changed[-1] if changed else results[-1]
    except BaseException:
        _release_after_error(resource_code, token)
        raise
    drop_expired_tables()
    return result


def _live(resource_code: str) -> ServedTable | None:
    pointer = ServedResource.objects.select_related("live").get(resource_code=resource_code)
    return pointer.live


def _refresh_once(resource_code: str, *, full: bool = False) -> RefreshResult:
    live = _live(resource_code)
    reason = servable(resource_code)
    target = None if reason else target_version(resource_code)
    columns: list[ServedColumn] = []
    keys: list[str] = []
    catalog_version = 0
    if target is not None:
        try:
            schema = schema_for(resource_code)
        except DomainError as exc:
            reason, target = exc.message, None
        else:
            columns, keys = store.served_columns(schema)
            catalog_version = schema.catalog_version
    if target is None:
        if live is None:
            return RefreshResult(resource_code, CURRENT, None)
        return _retire(resource_code, live, reason or "没有可提供的数据版本")
    same_shape = live is not None and live.columns == [c.as_json() for c in columns] and live.key_columns == keys
    if live is not None and same_shape and live.lake_version == target and not full:
        return RefreshResult(resource_code, CURRENT, target, live.row_count, 0.0, live.table_name)
    if live is not None and same_shape and live.lake_version < target and not full:
        result = _try_incremental(resource_code, live, target, columns, keys)
        if result is not None:
            return result
    return _full_build(resource_code, target, columns, keys, catalog_version)


def _retire(resource_code: str, live: ServedTable, reason: str) -> RefreshResult:
    started = time.monotonic()
    with transaction.atomic():
        ServedResource.objects.filter(resource_code=resource_code).update(live=None)
        ServedTable.objects.filter(pk=live.pk).update(state=TableState.RETIRED, retired_at=timezone.now())
        seconds = time.monotonic() - started
        record_event(
            None, "serving.refresh", object_type="served_table", object_id=resource_code,
            details={"mode": RETIRE, "version": None, "previous_version": live.lake_version, "rows": 0,
                     "seconds": round(seconds, 3), "table": live.table_name, "reason": reason[:200]},
        )
    return RefreshResult(resource_code, RETIRE, None, 0, seconds, live.table_name)


def _ordinary_range(resource_code: str, since: int, target: int) -> tuple[bool, int]:
    """Whether every version in (since, target] is an ordinary recorded commit, and how many rows
    they changed (by their records)."""
    hidden = hidden_versions(resource_code)
    records = list(
        ResourceVersion.objects.filter(resource_code=resource_code, lake_version__gt=since, lake_version__lte=target)
        .values_list("lake_version", "operation", "rows_inserted", "rows_updated", "rows_deleted", "undone")
    )
    if hidden & set(range(since, target + 1)) or len(records) != target - since:
        return False, 0
    changed = 0
    for _, operation, inserted, updated, deleted, undone in records:
        if undone or operation in (VersionOperation.ROLLBACK, VersionOperation.CREATE):
            return False, 0
        changed += inserted + updated + deleted
    return True, changed


def _try_incremental(
    resource_code: str, live: ServedTable, target: int, columns: list[ServedColumn], keys: list[str],
) -> RefreshResult | None:
    if keys == [store.ROW_KEY]:
        return None  # rows without a key cannot be patched
    ordinary, changed = _ordinary_range(resource_code, live.lake_version, target)
    limit = incremental_max_share() * max(live.row_count, 1)
    if not ordinary or changed > limit:
        return None
    started = time.monotonic()
    try:
        feed = lake.changes(resource_code, live.lake_version + 1, target)
    except Exception:
        log.warning("serving: change feed of %s v%s..v%s unreadable; full rebuild", resource_code, live.lake_version + 1, target,
                    exc_info=True)
        return None
    upserts, deletes = _collapse(feed, columns, keys)
    if len(upserts) + len(deletes) > limit:
        return None
    with transaction.atomic():
        locked = ServedTable.objects.select_for_update().get(pk=live.pk)
        if locked.state != TableState.LIVE or locked.lake_version != live.lake_version:
            return None
        touched = [tuple(row[k] for k in keys) for row in upserts] + deletes
        store.delete_keys(live.table_name, columns, keys, touched)
        store.insert_rows(live.table_name, columns, upserts)
        rows = store.count_table(live.table_name)
        now = timezone.now()
        seconds = time.monotonic() - started
        ServedTable.objects.filter(pk=live.pk).update(lake_version=target, row_count=rows, refreshed_at=now)
        record_event(
            None, "serving.refresh", object_type="served_table", object_id=resource_code,
            details={"mode": INCREMENTAL, "version": target, "previous_version": live.lake_version, "rows": rows,
                     "upserted": len(upserts), "deleted": len(deletes), "seconds": round(seconds, 3),
                     "table": live.table_name},
        )
    return RefreshResult(resource_code, INCREMENTAL, target, rows, seconds, live.table_name)


def _collapse(feed: Any, columns: list[ServedColumn], keys: list[str]) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """The change feed per key: the last post-image (insert / update_postimage) wins; a key whose
    last change is a delete is deleted."""
    latest: dict[tuple[Any, ...], tuple[int, int, str, dict[str, Any]]] = {}
    names = set(feed.column_names)
    wanted = [c.field for c in columns if c.field in names]
    types = feed.column("_change_type").to_pylist()
    versions = feed.column("_commit_version").to_pylist()
    data = {name: feed.column(name).to_pylist() for name in wanted}
    for i, (kind, version) in enumerate(zip(types, versions, strict=True)):
        if kind == "update_preimage":
            continue
        row = {name: data[name][i] for name in wanted}
        key = tuple(row.get(k) for k in keys)
        order = (int(version), 1 if kind != "delete" else 0)  # within one commit a post-image follows a delete
        seen = latest.get(key)
        if seen is None or order >= (seen[0], seen[1]):
            latest[key] = (order[0], order[1], kind, row)
    upserts = [row for _, _, kind, row in latest.values() if kind != "delete"]
    deletes = [key for key, (_, _, kind, _) in latest.items() if kind == "delete"]
    return upserts, deletes


def _full_build(
    resource_code: str, target: int, columns: list[ServedColumn], keys: list[str], catalog_version: int,
) -> RefreshResult:
    started = time.monotonic()
    try:
        with transaction.atomic():
            building = ServedTable.objects.create(
                resource_code=resource_code, lake_version=target, catalog_version=catalog_version,
                table_name=f"srv_tmp_{uuid.uuid4().hex[:20]}", columns=[c.as_json() for c in columns],
                key_columns=keys, state=TableState.BUILDING,
            )
            building.table_name = store.table_name_for(resource_code, building.pk)
            building.save(update_fields=["table_name"])
    except IntegrityError:
        raise DomainError(f"资源 {resource_code} 已有服务库表正在构建", "resource_code") from None
    table = building.table_name
    try:
        with transaction.atomic():
            store.create_table(table, columns)
            dataset = lake.version_dataset(resource_code, target)
            rows = store.load_rows(table, columns, store.arrow_batches(dataset, columns))
            loaded = time.monotonic()
            store.create_indexes(table, columns, keys)
            indexed = time.monotonic()
    except Exception as exc:
        ServedTable.objects.filter(pk=building.pk).delete()
        with transaction.atomic():
            store.drop_table(table)
            record_event(
                None, "serving.refresh", object_type="served_table", object_id=resource_code, result=AuditResult.FAILURE,
                details={"mode": FULL, "version": target, "table": table, "error": str(exc)[:300]},
            )
        raise
    seconds = time.monotonic() - started
    now = timezone.now()
    with transaction.atomic():
        pointer = ServedResource.objects.select_for_update().get(resource_code=resource_code)
        previous = pointer.live
        if previous is not None:
            ServedTable.objects.filter(pk=previous.pk).update(state=TableState.RETIRED, retired_at=now)
        ServedTable.objects.filter(pk=building.pk).update(
            state=TableState.LIVE, row_count=rows, built_at=now, refreshed_at=now, build_seconds=seconds,
        )
        ServedResource.objects.filter(pk=pointer.pk).update(live=building.pk)
        record_event(
            None, "serving.refresh", object_type="served_table", object_id=resource_code,
            details={"mode": FULL, "version": target, "previous_version": previous.lake_version if previous else None,
                     "rows": rows, "seconds": round(seconds, 3), "table": table,
                     "load_seconds": round(loaded - started, 3), "index_seconds": round(indexed - loaded, 3),
                     "rows_per_second": round(rows / seconds) if seconds > 0 else None},
        )
    return RefreshResult(resource_code, FULL, target, rows, seconds, table)


def _drop_orphan_builds(resource_code: str) -> None:
    """Building rows left by a refresh whose process died (we hold the claim: no build runs)."""
    for orphan in ServedTable.objects.filter(resource_code=resource_code, state=TableState.BUILDING):
        store.drop_table(orphan.table_name)
        orphan.delete()


def drop_expired_tables(now: Any = None) -> list[str]:
    """Drop retired tables past the grace period (reads in flight on them have finished)."""
    now = now or timezone.now()
    dropped: list[str] = []
    expired = ServedTable.objects.filter(
        state=TableState.RETIRED, retired_at__lte=now - timedelta(seconds=grace_seconds()),
    )
    for table in expired:
        with transaction.atomic():
            store.drop_table(table.table_name)
            table.delete()
        dropped.append(table.table_name)
    return dropped


def do_catch_up() -> dict[str, Any]:
    """The periodic catch-up: refresh every resource whose served version is not its target (a
    listener call lost to a crash, a catalog change), and drop expired tables."""
    refreshed: dict[str, str] = {}
    for code in candidates():
        try:
            if needs_refresh(code):
                refreshed[code] = do_refresh_served(code).mode
        except Exception:
            log.exception("serving: catch-up refresh of %s failed", code)
            refreshed[code] = "error"
    return {"refreshed": refreshed, "dropped": drop_expired_tables()}
