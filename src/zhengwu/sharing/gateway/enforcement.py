"""The grant, enforced on every call: which resource, which grant in force for the calling unit,
which items (and which of them clear), which rows, how many calls.

`grant_for(caller, code)` gives a `GrantView`: the granted items in catalog order, the display
method of each (core.masking.display_method, with the clear items decided by
sharing.queries.clear_items_for_application — the one rule), the row scope in the serving store's
form (the serving store lets a division code admit its subdivisions), the subject columns (公民身份号码 / 统一社会信用代码 by their schema semantic) and the limits.
It is cached per process for a few seconds (auth.cache_seconds); a revoked or expired grant
stops working within that TTL, and its validity dates are checked on every call.

Filters come from the query string: `field=v` (等于), `field__in=a,b`, `field__gt|gte|lt|lte=v`,
`field__prefix=v`. A field name outside the grant is answered exactly like an unknown one
("未知字段"), so a refusal never reveals what the resource holds beyond the grant. A masked item
can be filtered only by equality or a list (a range or prefix over a masked value would reveal it
piece by piece), and is never a sort key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from zhengwu.core.masking import display_method, mask_value

from .auth import Caller, _TTLCache
from .errors import GatewayError

FIELD_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
OPS = {"": "eq", "in": "in", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "prefix": "prefix"}
RESERVED = {"fields", "limit", "cursor", "format", "order", "desc"}
MAX_VALUE_CHARS = 200
MAX_IN_VALUES = 100
MAX_FILTERS = 20
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def default_rate_per_minute() -> int:
    return int(getattr(settings, "GATEWAY_RATE_PER_MINUTE", 600))


def default_daily_quota() -> int:
    return int(getattr(settings, "GATEWAY_DAILY_QUOTA", 100_000))


@dataclass(frozen=True)
class Item:
    field_name: str
    label: str
    data_type: str
    is_key: bool
    method: str  # "" clear, else the masking method


@dataclass(frozen=True)
class GrantView:
    grant_id: int
    entry_id: int
    code: str
    name: str
    provider_id: int
    provider_name: str
    purpose: str
    valid_from: date
    valid_until: date
    items: tuple[Item, ...]
    scope: dict[str, list[str]]
    subject_columns: dict[str, str] = field(default_factory=dict)  # field -> "person" | "enterprise"
    rate_per_minute: int = 0
    daily_quota: int = 0

    @property
    def names(self) -> list[str]:
        return [i.field_name for i in self.items]

    @property
    def keys(self) -> list[str]:
        return [i.field_name for i in self.items if i.is_key]

    def item(self, name: str) -> Item | None:
        for i in self.items:
            if i.field_name == name:
                return i
        return None


_grants = _TTLCache()
_entries = _TTLCache()


def clear_caches() -> None:
    _grants.clear()
    _entries.clear()
    _seen_counts.clear()


def _entry(code: str) -> Any:
    from zhengwu.catalog.models import CatalogEntry

    found = _entries.get(code)
    if found is None:
        found = CatalogEntry.objects.select_related("provider").filter(resource_code=code, is_live=True).first() or False
        _entries.put(code, found)
    return found or None


def _load(caller: Caller, entry: Any) -> GrantView | None:
    from zhengwu.catalog.queries import masked_items, published_snapshot
    from zhengwu.datahub.schema import RESIDENT_ID, USCC, semantic_of
    from zhengwu.sharing.queries import active_grant, clear_items_for_application

    from .models import GrantLimits

    grant = active_grant(caller.unit_id, entry.pk)
    if grant is None:
        return None
    clear = clear_items_for_application(caller.unit_id, grant)
    masks = masked_items(entry)
    snapshot = published_snapshot(entry) or {}
    granted = set(grant.items)
    items: list[Item] = []
    subjects: dict[str, str] = {}
    for raw in snapshot.get("items") or []:
        name = str(raw.get("field_name") or "")
        semantic = semantic_of(str(raw.get("name") or ""), name)
        if semantic == RESIDENT_ID:
            subjects[name] = "person"
        elif semantic == USCC:
            subjects[name] = "enterprise"
        if name not in granted:
            continue
        method = display_method(masks.get(name), actor_may_see_clear=name in clear)
        items.append(Item(name, str(raw.get("name") or name), str(raw.get("data_type") or "字符"), bool(raw.get("is_key")), method))
    limits = GrantLimits.objects.filter(grant=grant).first()
    return GrantView(
        grant_id=grant.pk, entry_id=entry.pk, code=entry.resource_code, name=entry.name,
        provider_id=entry.provider_id, provider_name=entry.provider.name,
        purpose=str(grant.request.purpose)[:300], valid_from=grant.valid_from, valid_until=grant.valid_until,
        items=tuple(items), scope={k: list(v) for k, v in (grant.scope or {}).items()}, subject_columns=subjects,
        rate_per_minute=limits.rate_per_minute if limits else default_rate_per_minute(),
        daily_quota=limits.daily_quota if limits else default_daily_quota(),
    )


def grant_for(caller: Caller, code: str) -> GrantView:
    """The grant in force for the caller's unit on resource `code`, or 404 / 403."""
    if not re.fullmatch(r"[A-Za-z0-9_./-]{1,64}", code or ""):
        raise GatewayError(404, "信息资源不存在", "code")
    entry = _entry(code)
    if entry is None:
        raise GatewayError(404, "信息资源不存在或未发布", "code")
    key = (caller.unit_id, entry.pk)
    view = _grants.get(key)
    if view is None:
        view = _load(caller, entry) or False
        _grants.put(key, view)
    today = timezone.localdate()
    if view is False or not (view.valid_from <= today <= view.valid_until):
        raise GatewayError(403, f"本单位没有“{entry.name}”的有效共享授权，请先提交共享申请", "code")
    return view


def granted_views(caller: Caller) -> list[GrantView]:
    """Every resource the caller's unit holds a grant in force for (the directory of services)."""
    from zhengwu.sharing.models import GrantStatus, ShareGrant

    today = timezone.localdate()
    codes = (
        ShareGrant.objects.filter(consumer_id=caller.unit_id, status=GrantStatus.ACTIVE, valid_from__lte=today,
                                  valid_until__gte=today, entry__is_live=True)
        .values_list("entry__resource_code", flat=True).distinct()
    )
    out = []
    for code in sorted(set(codes)):
        try:
            out.append(grant_for(caller, code))
        except GatewayError:
            continue
    return out


# --- items and filters ---------------------------------------------------------------------------------


def unknown_field(name: str, param: str) -> GatewayError:
    shown = name if FIELD_RE.match(name) else "（非法字段名）"
    return GatewayError(400, f"未知字段：{shown}", param)


def choose_fields(view: GrantView, raw: str | None) -> list[str]:
    if not raw:
        return view.names
    out: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if view.item(name) is None:
            raise unknown_field(name, "fields")
        if name not in out:
            out.append(name)
    if not out:
        raise GatewayError(400, "fields：至少列出一个信息项", "fields")
    return out


@dataclass(frozen=True)
class ParsedFilter:
    field: str
    op: str
    values: tuple[str, ...]


def parse_filters(view: GrantView, params: Any) -> list[ParsedFilter]:
    """Filters from the query string (a QueryDict); anything malformed is a 400 before any query runs."""
    out: list[ParsedFilter] = []
    for name in params:
        if name in RESERVED or name.startswith("key."):
            continue
        base, _, suffix = name.partition("__")
        if suffix not in OPS:
            raise GatewayError(400, f"不支持的查询条件：{name[:40] if FIELD_RE.match(base) else '（非法参数名）'}"
                               "（支持 字段=值、__in、__gt、__gte、__lt、__lte、__prefix）", name[:40])
        item = view.item(base)
        if item is None:
            raise unknown_field(base, name[:40])
        op = OPS[suffix]
        if item.method and op not in ("eq", "in"):
            raise GatewayError(400, f"{item.label}（{base}）是脱敏信息项，只能按等于或列举（__in）查询", name)
        for value in params.getlist(name):
            values = tuple(v.strip() for v in value.split(",")) if op == "in" else (value,)
            if op == "in" and len(values) > MAX_IN_VALUES:
                raise GatewayError(400, f"{name}：最多列举 {MAX_IN_VALUES} 个值", name)
            if any(len(v) > MAX_VALUE_CHARS for v in values) or any("\x00" in v for v in values):
                raise GatewayError(400, f"{name}：值过长（最多 {MAX_VALUE_CHARS} 个字符）或含非法字符", name)
            if not values or (any(v == "" for v in values) and op != "eq"):
                raise GatewayError(400, f"{name}：值不能为空", name)
            out.append(ParsedFilter(base, op, values))
    if len(out) > MAX_FILTERS:
        raise GatewayError(400, f"查询条件最多 {MAX_FILTERS} 个", "filters")
    return out


def parse_limit(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise GatewayError(400, f"limit：必须是 1 到 {MAX_LIMIT} 的整数", "limit")
    return int(raw)


def parse_order(view: GrantView, raw: str | None) -> str | None:
    if not raw:
        return None
    item = view.item(raw)
    if item is None:
        raise unknown_field(raw, "order")
    if item.method:
        raise GatewayError(400, f"{item.label}（{raw}）是脱敏信息项，不能作为排序字段", "order")
    return raw


def mask_rows(view: GrantView, rows: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    """Only `fields` (all granted), each masked as the grant and catalog say."""
    methods = []
    for name in fields:
        item = view.item(name)
        methods.append((name, item.method if item is not None else "全部遮盖"))
    out = []
    for row in rows:
        shown: dict[str, Any] = {}
        for name, method in methods:
            value = row.get(name)
            shown[name] = mask_value(value, method) if method else value
        out.append(shown)
    return out


# --- rate limit and quota ------------------------------------------------------------------------------


def windows(now: Any = None) -> tuple[Any, Any]:
    """The starts of the current minute and of today (local time) — the counters' windows."""
    now = now or timezone.now()
    return now.replace(second=0, microsecond=0), timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


# The counts the database gave back for each grant on this process's last logged call:
# {grant_id: {(period, window start): count}}.
_seen_counts: dict[int, dict[tuple[str, Any], int]] = {}


def note_counts(grant_id: int, rows: list[tuple[str, Any, int]]) -> None:
    """Remember the window counts returned by the statement that logged (and counted) a call."""
    _seen_counts[grant_id] = {(period, started): int(count) for period, started, count in rows}


def check_limits(view: GrantView) -> None:
    """429 (with Retry-After) when the grant's minute or day window is full.

    Every call on a grant is counted in the database by the same statement that logs it (one
    upsert per window, shared by every web worker; see services.record_call), and that statement
    returns the windows' counts. The check before the read compares the counts this process last
    saw for the grant's current windows — so no extra round trip per call. Across N web worker
    processes the limit can be passed by at most one call per process in a window (each learns
    the shared count from its own previous call). A refused call is counted too, so hammering
    past the limit does not reset it."""
    from .models import UsageCounter

    now = timezone.now()
    minute, day_start = windows(now)
    seen = _seen_counts.get(view.grant_id, {})
    if seen.get((UsageCounter.MINUTE, minute), 0) >= view.rate_per_minute:
        wait = max(1, 60 - now.second)
        raise GatewayError(429, f"调用过于频繁：该授权每分钟最多 {view.rate_per_minute} 次，请 {wait} 秒后重试",
                           retry_after=wait)
    if seen.get((UsageCounter.DAY, day_start), 0) >= view.daily_quota:
        wait = int((day_start + timedelta(days=1) - timezone.localtime(now)).total_seconds()) + 1
        raise GatewayError(429, f"今日调用次数已达该授权的配额（{view.daily_quota} 次），请明日再试", retry_after=wait)


def count_sql(grant_id: int, now: Any = None) -> tuple[str, list[Any]]:
    """The upsert of the grant's two windows, RETURNING period, started, count (table: the model's own)."""
    from .models import UsageCounter

    minute, day_start = windows(now)
    table = UsageCounter._meta.db_table
    sql = (
        f"INSERT INTO {table} (grant_id, period, started, count) VALUES (%s, %s, %s, 1), (%s, %s, %s, 1) "  # noqa: S608
        f"ON CONFLICT (grant_id, period, started) DO UPDATE SET count = {table}.count + 1 RETURNING period, started, count"
    )
    return sql, [grant_id, UsageCounter.MINUTE, minute, grant_id, UsageCounter.DAY, day_start]


def purge_counters(now: Any = None) -> int:
    from .models import UsageCounter

    now = now or timezone.now()
    deleted, _ = UsageCounter.objects.filter(started__lt=now - timedelta(days=2)).delete()
    return int(deleted)
