"""Reads of the catalog, scoped to what the actor may see, each access audited.

The catalog itself is visible to every unit (shareability governs the data, not the catalog):
every staff member sees all live entries (their latest published version); a unit's own staff
also see its drafts and working copies; catalog reviewers see what is waiting for review.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.services import record_event
from zhengwu.core.errors import NotFound, PermissionDenied
from zhengwu.core.masking import ENCRYPT, FULL, GENERALISE, HASH, NONE, PARTIAL, MaskedItem

from . import search
from .constants import UPDATE_CYCLE_PERIOD, Category, EntryStatus, OpenType, ShareType, class_item_name
from .models import CatalogEntry, CatalogEntryVersion, CorrectionRequest
from .services import is_catalog_reviewer, is_data_admin, snapshot


def _ensure_staff(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied("请先登录")


def visible_entries(actor: Any) -> QuerySet[CatalogEntry]:
    _ensure_staff(actor)
    cond = Q(is_live=True)
    if getattr(actor, "unit_id", None):
        cond |= Q(provider_id=actor.unit_id)
    if is_catalog_reviewer(actor):
        cond |= Q(status=EntryStatus.PENDING)
    return CatalogEntry.objects.filter(cond).select_related("provider")


def can_see_working_copy(actor: Any, entry: CatalogEntry) -> bool:
    return bool(
        getattr(actor, "unit_id", None) == entry.provider_id
        or (entry.status == EntryStatus.PENDING and is_catalog_reviewer(actor))
    )


def get_entry(actor: Any, key: int | str, *, request: HttpRequest | None = None, audit: bool = True) -> CatalogEntry:
    """An entry by id or resource code, if the actor may see it."""
    qs = visible_entries(actor)
    entry = qs.filter(pk=key).first() if isinstance(key, int) or (str(key).isascii() and str(key).isdigit()) else None
    if entry is None:
        code = str(key)
        entry = qs.filter(resource_code=code).first()
        if entry is None and "/" not in code and "-" in code:
            # In URLs a code may be written with "-" for its "/": 101001-00001.
            head, _, tail = code.rpartition("-")
            entry = qs.filter(resource_code=f"{head}/{tail}").first()
    if entry is None:
        raise NotFound("目录条目不存在或无权查看")
    if audit:
        record_event(actor, "catalog.entry.read", object_type="catalog_entry", object_id=entry.resource_code, request=request)
    return entry


def published_snapshot(entry: CatalogEntry, version: int | None = None) -> dict[str, Any] | None:
    number = version or entry.published_version
    if not number:
        return None
    found = CatalogEntryVersion.objects.filter(entry=entry, version=number).first()
    return found.snapshot if found else None


# --- who sees which values clear (脱敏) ---------------------------------------------------------------

# From the least to the most hiding: where the published version and the working copy differ,
# the stricter method wins (a change that is not yet published never shows more).
_STRICTNESS = (NONE, PARTIAL, GENERALISE, HASH, FULL, ENCRYPT)


def _stricter(a: str, b: str) -> str:
    rank = {m: i for i, m in enumerate(_STRICTNESS)}
    return a if rank.get(a, len(_STRICTNESS)) >= rank.get(b, len(_STRICTNESS)) else b


def masked_items(entry: CatalogEntry) -> dict[str, MaskedItem]:
    """{field name: its 个人/敏感信息 flag and 脱敏方式} for every information item of the entry, from
    its latest published version and its working copy together: an item is sensitive if either
    says so, with the stricter method."""
    found: dict[str, MaskedItem] = {}
    published = published_snapshot(entry) or {}
    working = [
        {"field_name": i.field_name, "is_sensitive": i.is_sensitive, "masking": i.masking} for i in entry.items.all()
    ]
    for item in [*(published.get("items") or []), *working]:
        name = str(item.get("field_name") or "")
        if not name:
            continue
        sensitive = bool(item.get("is_sensitive"))
        method = str(item.get("masking") or NONE)
        before = found.get(name)
        if before is not None:
            sensitive = sensitive or before.is_sensitive
            method = _stricter(method, before.masking)
        found[name] = MaskedItem(name, sensitive, method)
    return found


def clear_items_for(actor: Any, entry: CatalogEntry, *, granted_clear: Collection[str] = ()) -> frozenset[str]:
    """The field names of the entry's information items whose values `actor` may see clear.

    Raw values go only to the data managers (数据管理员) of the provider unit: they collected the
    data and correct it. Everyone else — other units, the data authority (大数据管理局) that
    collects on their behalf, the administrators — sees personal/sensitive items masked by their
    脱敏方式 (`core.masking.display_method`), non-sensitive items as they are.

    `granted_clear` is where a later right to clear values plugs in: the sharing app, which sits
    above the catalog, passes the fields its approved grant allows clear for this actor (it is
    never filled from a request). Fields it names that the entry does not have are ignored."""
    items = masked_items(entry)
    if is_data_admin(actor, entry.provider):
        return frozenset(items)
    return frozenset(name for name in granted_clear if name in items)


def entry_view(actor: Any, entry: CatalogEntry) -> dict[str, Any]:
    """What the actor reads: the working copy for the provider (and reviewers of a pending
    change), the latest published version for everyone else."""
    if can_see_working_copy(actor, entry):
        return snapshot(entry)
    published = published_snapshot(entry)
    if published is None:
        raise NotFound("目录条目不存在或无权查看")
    return published


def versions(entry: CatalogEntry) -> list[CatalogEntryVersion]:
    return list(CatalogEntryVersion.objects.filter(entry=entry).select_related("published_by").order_by("-version"))


def get_version(actor: Any, entry: CatalogEntry, number: int, *, request: HttpRequest | None = None) -> CatalogEntryVersion:
    version = CatalogEntryVersion.objects.filter(entry=entry, version=number).select_related("published_by").first()
    if version is None:
        raise NotFound(f"版本 {number} 不存在", "version")
    record_event(
        actor, "catalog.version.read", object_type="catalog_entry", object_id=entry.resource_code,
        details={"version": number}, request=request,
    )
    return version


def pending_diff(entry: CatalogEntry) -> dict[str, Any] | None:
    """Changes of the working copy against the latest published version (None if never published)."""
    from .services import diff_snapshots

    published = published_snapshot(entry)
    if published is None:
        return None
    return diff_snapshots(published, snapshot(entry))


RETURNED = "returned"  # a pseudo-status of the 本单位目录 filter: drafts the authority sent back


def my_unit_entries(actor: Any, status: str = "") -> QuerySet[CatalogEntry]:
    """The actor's unit's entries; `status` an EntryStatus or RETURNED (退回待修改: a draft with
    the reviewer's reasons, until it is submitted again)."""
    _ensure_staff(actor)
    qs = CatalogEntry.objects.filter(provider_id=getattr(actor, "unit_id", None)).select_related("provider")
    if status == RETURNED:
        qs = qs.filter(status=EntryStatus.DRAFT).exclude(review_comment="")
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at")


def review_queue(actor: Any) -> QuerySet[CatalogEntry]:
    if not is_catalog_reviewer(actor):
        raise PermissionDenied("只有目录审核员可以查看待审核目录")
    return CatalogEntry.objects.filter(status=EntryStatus.PENDING).select_related("provider", "submitted_by").order_by("submitted_at")


def corrections_for_entry(actor: Any, entry: CatalogEntry) -> QuerySet[CorrectionRequest]:
    qs = CorrectionRequest.objects.filter(entry=entry).select_related("reporter_unit", "reporter", "answered_by")
    if not (can_see_working_copy(actor, entry) or is_catalog_reviewer(actor)):
        qs = qs.filter(reporter_unit_id=getattr(actor, "unit_id", None))
    return qs


def open_corrections_for_unit(actor: Any) -> QuerySet[CorrectionRequest]:
    unit = getattr(actor, "unit", None)
    if not is_data_admin(actor, unit):
        return CorrectionRequest.objects.none()
    return CorrectionRequest.objects.filter(entry__provider=unit, status="open").select_related("entry", "reporter_unit")


# --- search ----------------------------------------------------------------------------------------------


def text_ranks(text: str) -> dict[int, float]:
    """Entry id → rank key (higher first) of the live entries matching `text` by the catalog's
    search (`search.text_ranks`); live entries are public metadata, so no actor is needed."""
    return search.text_ranks(text)


def search_entries(
    actor: Any,
    text: str = "",
    filters: dict[str, Any] | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
    request: HttpRequest | None = None,
) -> search.SearchResult:
    """Full-text search of live entries; the actor's own unit's unpublished drafts that contain
    any of the words (or a synonym) are added after them."""
    _ensure_staff(actor)
    filters = {k: v for k, v in (filters or {}).items() if v}
    extra: list[int] = []
    unit_id = getattr(actor, "unit_id", None)
    if unit_id and text.strip():
        drafts = search.apply_filters(
            CatalogEntry.objects.filter(provider_id=unit_id, is_live=False).exclude(status=EntryStatus.RETIRED), filters
        )
        # Like the index: a draft containing any of the words (or a synonym of one) is listed.
        synonyms = search.synonym_map()
        words = search.query_terms(text) or [text.strip()]
        wanted = Q()
        for word in dict.fromkeys([*words, *(s for w in words for s in synonyms.get(w, []))]):
            wanted |= Q(name__icontains=word) | Q(abstract__icontains=word) | Q(items__name__icontains=word) | Q(items__field_name__icontains=word)
        drafts = drafts.filter(wanted)
        extra = list(drafts.values_list("id", flat=True).distinct()[:50])
    result = search.search(text, filters, offset=offset, limit=limit, extra_ids=extra)
    record_event(
        actor, "catalog.search", object_type="catalog_entry", object_id="search",
        details={"q": text[:200], "filters": filters, "total": result.total}, request=request,
    )
    return result


# --- statistics ---------------------------------------------------------------------------------------------


@dataclass
class OverdueEntry:
    entry: CatalogEntry
    due_at: datetime
    days_late: int


def overdue_entries(now: datetime | None = None) -> list[OverdueEntry]:
    """Live entries whose data has arrived at least once and whose last arrival is older than
    the update cycle. Until datahub reports arrivals, no entry has `last_data_at` and none is overdue."""
    now = now or timezone.now()
    out = []
    for entry in CatalogEntry.objects.filter(is_live=True, last_data_at__isnull=False).select_related("provider"):
        period = UPDATE_CYCLE_PERIOD.get(entry.update_cycle)
        if period is None or entry.last_data_at is None:
            continue
        due = entry.last_data_at + period
        if due < now:
            out.append(OverdueEntry(entry, due, (now - due).days))
    return sorted(out, key=lambda o: o.due_at)


def statistics(actor: Any, *, request: HttpRequest | None = None) -> dict[str, Any]:
    _ensure_staff(actor)
    live = CatalogEntry.objects.filter(is_live=True)
    total = live.count()
    by_unit = list(live.values("provider__name").annotate(n=Count("id")).order_by("-n", "provider__name"))
    by_class = [
        {
            "category": Category(r["category"]).label,
            "item": class_item_name(r["category"], r["class_item"]) or r["class_item"],
            "code": f"{r['category']}{r['class_item']}",
            "n": r["n"],
        }
        for r in live.values("category", "class_item").annotate(n=Count("id")).order_by("category", "class_item")
    ]
    by_category = {Category(r["category"]).label: r["n"] for r in live.values("category").annotate(n=Count("id"))}
    share = {r["share_type"]: r["n"] for r in live.values("share_type").annotate(n=Count("id"))}
    opened = {r["open_type"]: r["n"] for r in live.values("open_type").annotate(n=Count("id"))}
    shareable = share.get(ShareType.UNCONDITIONAL, 0) + share.get(ShareType.CONDITIONAL, 0)
    openable = opened.get(OpenType.UNCONDITIONAL, 0) + opened.get(OpenType.CONDITIONAL, 0)
    status_counts = {
        EntryStatus(r["status"]).label: r["n"] for r in CatalogEntry.objects.values("status").annotate(n=Count("id"))
    }
    overdue = overdue_entries()
    record_event(actor, "catalog.statistics.read", object_type="catalog_entry", object_id="statistics", request=request)
    return {
        "total": total,
        "by_unit": by_unit,
        "by_class": by_class,
        "by_category": by_category,
        "share": share,
        "open": opened,
        "shareable": shareable,
        "openable": openable,
        "shareable_rate": round(100 * shareable / total, 1) if total else 0.0,
        "openable_rate": round(100 * openable / total, 1) if total else 0.0,
        "status_counts": status_counts,
        "overdue": overdue,
        "with_arrivals": live.filter(last_data_at__isnull=False).count(),
    }


# --- search synonyms ------------------------------------------------------------------------------------


def search_synonyms(actor: Any, text: str = "") -> QuerySet[Any]:
    """The search synonym dictionary for its keepers (the catalog authority), optionally filtered."""
    from .models import SearchSynonym
    from .services import _ensure_synonym_keeper

    _ensure_synonym_keeper(actor)
    qs = SearchSynonym.objects.select_related("created_by").order_by("term", "synonym")
    text = text.strip()
    if text:
        qs = qs.filter(Q(term__icontains=text) | Q(synonym__icontains=text) | Q(note__icontains=text))
    return qs


def names_by_code(codes: Iterable[str]) -> dict[str, str]:
    """The live catalog names of these resource codes (names are not confidential: every staff
    member sees the catalog); codes without a live entry are left out."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return dict(CatalogEntry.objects.filter(resource_code__in=wanted, is_live=True).values_list("resource_code", "name"))

