"""Which data is open, and reads of open data for the portal, the CKAN API and DCAT.

The one rule (`open_datasets`): a dataset is a catalog entry that is live (published, not
retired) whose **published** version says 无条件开放 or 有条件开放, and whose resource has a
recorded, not undone data version in the lake. Its open information items are the published
items that neither the published version nor the working copy marks 个人/敏感 or masks (the
catalog's `masked_items` decides; the stricter of the two wins), and that the lake version
holds. Nothing else ever leaves: a closed item or a closed dataset asked for by name is
"unknown" (the same answer as a name that does not exist).

Reads here need no login: open data is public. Rows of 有条件开放 datasets are only read with an
API key (services.authenticate_api_key), limited to the key's items.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from django.db.models import Case, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from zhengwu.catalog.constants import UPDATE_CYCLE_PERIOD, Category, OpenType, class_item_name
from zhengwu.catalog.models import CatalogEntry, CatalogEntryVersion
from zhengwu.core.errors import NotFound

from . import conf
from .models import (
    ApiKey,
    ApplicationStatus,
    DataApplication,
    DatasetDailyStat,
    DatasetProfile,
    Discussion,
    ModerationStatus,
    Reuse,
    Theme,
)

OPEN_TYPES = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)
FALLBACK_THEME = "government"
ID_NAMESPACE = uuid.UUID("6f1d3c52-9a0e-4f4e-9d55-0b7c61e0a0de")  # ids of packages and resources
NONE_METHOD = "不脱敏"


def dataset_name(resource_code: str) -> str:
    """The CKAN name of a dataset: its resource code with "-" for "/" (101001-00001)."""
    return resource_code.replace("/", "-").lower()


def dataset_id(resource_code: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"package:{resource_code}"))


def resource_id(resource_code: str, fmt: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"resource:{resource_code}:{fmt}"))


def organization_name(unit_id: int) -> str:
    return f"org-{unit_id}"


@dataclass(frozen=True)
class OpenItem:
    name: str  # Chinese name
    field_name: str
    data_type: str
    length: int | None
    code_table: str
    is_key: bool


@dataclass(frozen=True)
class DataVersion:
    lake_version: int
    operation: str
    rows_total: int
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    created_at: datetime


@dataclass
class Dataset:
    """One open dataset as the public sees it (its published catalog version and current data)."""

    entry: CatalogEntry
    snapshot: dict[str, Any]
    published_at: datetime
    version: DataVersion
    theme: Theme | None
    licence: str
    keywords: list[str] = field(default_factory=list)

    @property
    def resource_code(self) -> str:
        return self.entry.resource_code

    @property
    def name(self) -> str:
        return dataset_name(self.entry.resource_code)

    @property
    def id(self) -> str:
        return dataset_id(self.entry.resource_code)

    @property
    def title(self) -> str:
        return str(self.snapshot.get("name") or self.entry.name)

    @property
    def abstract(self) -> str:
        return str(self.snapshot.get("abstract") or "")

    @property
    def open_type(self) -> str:
        return str(self.snapshot.get("open_type") or "")

    @property
    def conditional(self) -> bool:
        return self.open_type == OpenType.CONDITIONAL.value

    @property
    def open_condition(self) -> str:
        return str(self.snapshot.get("open_condition") or "")

    @property
    def update_cycle(self) -> str:
        return str(self.snapshot.get("update_cycle") or "")

    @property
    def resource_format(self) -> str:
        return str(self.snapshot.get("resource_format") or "")

    @property
    def provider(self) -> Any:
        return self.entry.provider

    @property
    def class_code(self) -> str:
        return f"{self.snapshot.get('category', '')}-{self.snapshot.get('class_item', '')}"

    @property
    def class_label(self) -> str:
        cat, item = self.snapshot.get("category", ""), self.snapshot.get("class_item", "")
        try:
            head = Category(cat).label
        except ValueError:
            head = cat
        return f"{head} · {class_item_name(cat, item) or item}"

    @property
    def metadata_modified(self) -> datetime:
        """The later of the catalog publication and the last data version: a harvester asking for
        changes since a time gets a dataset whose metadata or data changed."""
        return max(self.published_at, self.version.created_at)

    @property
    def metadata_created(self) -> datetime:
        return _first_published(self.entry)

    @property
    def licence_title(self) -> str:
        return conf.LICENCES[self.licence][0]

    @property
    def licence_url(self) -> str:
        return conf.LICENCES[self.licence][1]

    @cached_property
    def items(self) -> list[OpenItem]:
        return open_items(self.entry, self.snapshot, self.version.lake_version)

    @property
    def field_names(self) -> list[str]:
        return [i.field_name for i in self.items]

    @property
    def formats(self) -> list[str]:
        return ["CSV", "XLSX", "JSON"]


# --- the open rule ------------------------------------------------------------------------------


def _candidates() -> QuerySet[CatalogEntry]:
    return CatalogEntry.objects.filter(is_live=True, published_version__gt=0, open_type__in=OPEN_TYPES).select_related(
        "provider"
    )


def _versions_for(codes: Iterable[str]) -> dict[str, DataVersion]:
    """The latest recorded, not undone data version of each resource."""
    from zhengwu.datahub.models import ResourceVersion

    codes = list(codes)
    if not codes:
        return {}
    latest = dict(
        ResourceVersion.objects.filter(resource_code__in=codes, undone=False)
        .values("resource_code").annotate(v=Max("lake_version")).values_list("resource_code", "v")
    )
    if not latest:
        return {}
    cond = Q()
    for code, number in latest.items():
        cond |= Q(resource_code=code, lake_version=number)
    out = {}
    for row in ResourceVersion.objects.filter(cond):
        out[row.resource_code] = DataVersion(
            row.lake_version, row.operation, row.rows_total, row.rows_inserted, row.rows_updated, row.rows_deleted,
            row.created_at,
        )
    return out


def _first_published(entry: CatalogEntry) -> datetime:
    first = CatalogEntryVersion.objects.filter(entry=entry).order_by("version").values_list("published_at", flat=True).first()
    return first or entry.created_at


def _themes() -> tuple[dict[str, Theme], dict[str, Theme]]:
    by_code = {t.code: t for t in Theme.objects.all()}
    by_class: dict[str, Theme] = {}
    for theme in by_code.values():
        for cls in theme.class_codes or []:
            by_class.setdefault(str(cls), theme)
    return by_code, by_class


def open_datasets(codes: Iterable[str] | None = None) -> list[Dataset]:
    """Every open dataset (or those of `codes`), by resource code."""
    candidates = _candidates()
    if codes is not None:
        candidates = candidates.filter(resource_code__in=list(codes))
    entries = list(candidates)
    versions = _versions_for(e.resource_code for e in entries)
    entries = [e for e in entries if e.resource_code in versions]
    published = {
        (v.entry_id, v.version): v
        for v in CatalogEntryVersion.objects.filter(
            entry__in=entries, version__in={e.published_version for e in entries}
        ).only("entry_id", "version", "snapshot", "published_at")
    }
    profiles = {p.resource_code: p for p in DatasetProfile.objects.filter(resource_code__in=[e.resource_code for e in entries])}
    by_code, by_class = _themes()
    out = []
    for entry in entries:
        found = published.get((entry.pk, entry.published_version))
        if found is None or found.snapshot.get("open_type") not in OPEN_TYPES:
            continue
        profile = profiles.get(entry.resource_code)
        cls = f"{found.snapshot.get('category', '')}-{found.snapshot.get('class_item', '')}"
        theme = (profile.theme if profile and profile.theme_id else None) or by_class.get(cls) or by_code.get(FALLBACK_THEME)
        licence = profile.licence if profile and profile.licence in conf.LICENCES else conf.default_licence()
        out.append(Dataset(
            entry, found.snapshot, found.published_at, versions[entry.resource_code], theme, licence,
            list(profile.keywords) if profile else [],
        ))
    out.sort(key=lambda d: d.resource_code)
    for d in out:
        _ids[d.id] = d.resource_code
        for fmt in d.formats:
            _ids[resource_id(d.resource_code, fmt)] = d.resource_code
    return out


# uuid (package or resource id) → resource code, learnt from every listing (ids are derived from
# the code, so an entry is never wrong; a miss only means a full listing).
_ids: dict[str, str] = {}


def _codes_for(key: str) -> list[str] | None:
    """The resource codes `key` can name, or None when only a full listing can tell."""
    if key in _ids:
        return [_ids[key]]
    if "/" in key:
        return [key]
    head, sep, tail = key.rpartition("-")
    if sep and head and tail.isalnum() and len(key) < 36:
        return [f"{head}/{tail}".upper(), f"{head}/{tail}", key]
    return None


def get_dataset(key: str) -> Dataset:
    """An open dataset by its name (101001-00001), id (uuid) or resource code; anything else —
    a closed or retired dataset included — is not found."""
    key = str(key or "").strip().lower()
    for dataset in open_datasets(_codes_for(key)):
        if key in (dataset.name, dataset.id, dataset.resource_code.lower()):
            return dataset
    raise NotFound(f"数据集“{key[:60]}”不存在", "id")


def dataset_for_resource(key: str) -> tuple[Dataset, str]:
    """(dataset, format) for a resource id; the dataset's name stands for its CSV resource."""
    key = str(key or "").strip().lower()
    for dataset in open_datasets(_codes_for(key)):
        for fmt in dataset.formats:
            if key == resource_id(dataset.resource_code, fmt):
                return dataset, fmt
        if key in (dataset.name, dataset.id):
            return dataset, "CSV"
    raise NotFound(f"资源“{key[:60]}”不存在", "resource_id")


_columns_cache: dict[tuple[str, int], list[str]] = {}


def lake_columns(resource_code: str, lake_version: int) -> list[str]:
    """Column names of a lake version (cached: a version never changes)."""
    key = (resource_code, lake_version)
    if key not in _columns_cache:
        from zhengwu.datahub import lake

        table = lake.open_version(resource_code, lake_version)
        _columns_cache[key] = [f.name for f in table.schema().to_arrow()]  # type: ignore[attr-defined]
    return _columns_cache[key]


def open_items(entry: CatalogEntry, snapshot: dict[str, Any], lake_version: int) -> list[OpenItem]:
    """The published items nobody marks personal/sensitive or masks, that the lake version holds."""
    from zhengwu.catalog.queries import masked_items

    masked = masked_items(entry)
    columns = set(lake_columns(entry.resource_code, lake_version))
    out = []
    for item in snapshot.get("items") or []:
        name = str(item.get("field_name") or "")
        flags = masked.get(name)
        if not name or name not in columns or item.get("is_sensitive"):
            continue
        if flags is not None and (flags.is_sensitive or flags.masking != NONE_METHOD):
            continue
        out.append(OpenItem(
            str(item.get("name") or name), name, str(item.get("data_type") or "字符"), item.get("length"),
            str(item.get("code_table") or ""), bool(item.get("is_key")),
        ))
    return out


# --- lists, facets and search --------------------------------------------------------------------


def organizations() -> list[dict[str, Any]]:
    """Providers with at least one open dataset: (unit, dataset count)."""
    counts: dict[int, list[Any]] = {}
    for d in open_datasets():
        counts.setdefault(d.provider.pk, [d.provider, 0])[1] += 1
    return [{"unit": u, "count": n, "name": organization_name(u.pk)} for u, n in sorted(counts.values(), key=lambda x: x[0].name)]


def get_organization(key: str) -> dict[str, Any]:
    key = str(key or "").strip().lower()
    for org in organizations():
        if key in (org["name"], str(org["unit"].pk)):
            return org
    raise NotFound(f"组织“{key[:60]}”不存在", "id")


def themes_with_counts() -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for d in open_datasets():
        if d.theme is not None:
            counts[d.theme.code] = counts.get(d.theme.code, 0) + 1
    return [{"theme": t, "count": counts.get(t.code, 0)} for t in Theme.objects.all()]


def get_theme(key: str) -> Theme:
    theme = Theme.objects.filter(code=str(key or "").strip().lower()).first()
    if theme is None:
        raise NotFound(f"主题“{str(key)[:60]}”不存在", "id")
    return theme


def tags() -> list[str]:
    """Tags: the dataset keywords and the Chinese names of the open items' themes (sorted)."""
    found: set[str] = set()
    for d in open_datasets():
        found.update(dataset_tags(d))
    return sorted(found)


def dataset_tags(dataset: Dataset) -> list[str]:
    words = list(dataset.keywords)
    words.append(dataset.update_cycle)
    words.append(class_item_name(str(dataset.snapshot.get("category", "")), str(dataset.snapshot.get("class_item", ""))))
    return [w for w in dict.fromkeys(words) if w]


# --- statistics ---------------------------------------------------------------------------------


def use_totals(codes: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    qs = DatasetDailyStat.objects.all()
    if codes is not None:
        qs = qs.filter(resource_code__in=list(codes))
    out: dict[str, dict[str, int]] = {}
    for row in qs.values("resource_code").annotate(v=Sum("views"), d=Sum("downloads"), a=Sum("api_calls")):
        out[row["resource_code"]] = {"views": row["v"] or 0, "downloads": row["d"] or 0, "api_calls": row["a"] or 0}
    return out


def popularity(totals: dict[str, int] | None) -> int:
    if not totals:
        return 0
    return totals["downloads"] + totals["api_calls"] + totals["views"] // 10


def daily_use(resource_code: str, days: int = 30, today: date | None = None) -> list[dict[str, Any]]:
    """The last `days` days' views, downloads and API calls (zeros for days without use)."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = {
        r.day: r for r in DatasetDailyStat.objects.filter(resource_code=resource_code, day__gte=start, day__lte=today)
    }
    out = []
    for i in range(days):
        day = start + timedelta(days=i)
        row = rows.get(day)
        out.append({
            "day": day, "views": row.views if row else 0, "downloads": row.downloads if row else 0,
            "api_calls": row.api_calls if row else 0,
        })
    return out


def update_history(resource_code: str, limit: int = 20) -> list[DataVersion]:
    """The data versions the public may see (commits undone after a failed batch, and the commits
    that undid them, are not data: hidden)."""
    from zhengwu.datahub.models import ResourceVersion
    from zhengwu.datahub.queries import hidden_versions

    hidden = hidden_versions(resource_code)
    out = []
    for row in ResourceVersion.objects.filter(resource_code=resource_code).order_by("-lake_version")[: limit + len(hidden)]:
        if row.lake_version in hidden:
            continue
        out.append(DataVersion(
            row.lake_version, row.get_operation_display(), row.rows_total, row.rows_inserted, row.rows_updated,
            row.rows_deleted, row.created_at,
        ))
    return out[:limit]


# --- quality (like uData's score) ---------------------------------------------------------------------


@dataclass(frozen=True)
class QualityCheck:
    key: str
    label: str
    passed: bool
    hint: str


def quality(dataset: Dataset, now: datetime | None = None) -> tuple[int, list[QualityCheck]]:
    """A 0–100 score from nine equally weighted checks, after uData's metadata quality score."""
    now = now or timezone.now()
    period = UPDATE_CYCLE_PERIOD.get(dataset.update_cycle)
    on_time = period is None or dataset.version.created_at + period >= now
    items = dataset.items
    types = {i.data_type for i in items}
    names = {i.field_name for i in items}
    checks = [
        QualityCheck("licence", "有开放许可协议", dataset.licence in conf.LICENCES, "数据集注明可再利用的许可协议"),
        QualityCheck("description", "说明充分", len(dataset.abstract) >= 40, "摘要不少于 40 字"),
        QualityCheck("frequency", "注明更新周期", dataset.update_cycle not in ("", "不定时"), "目录注明更新周期"),
        QualityCheck("on_time", "按时更新", on_time, "最近一次数据更新在更新周期之内"),
        QualityCheck("open_format", "开放格式", True, "提供 CSV、JSON 等非专有格式"),
        QualityCheck("documented", "数据字典完整", bool(items) and all(i.name and i.data_type for i in items),
                     "每个开放信息项都有中文名称和数据类型"),
        QualityCheck("temporal", "有时间信息", bool(types & {"日期", "日期时间", "时间戳"}), "含日期或时间信息项"),
        QualityCheck("spatial", "有空间信息", bool(names & {"division_code", "address", "longitude", "latitude"})
                     or any("区划" in i.name or "地址" in i.name for i in items), "含行政区划、地址或经纬度"),
        QualityCheck("available", "数据可用", dataset.version.rows_total > 0, "当前数据版本有数据"),
    ]
    score = round(100 * sum(c.passed for c in checks) / len(checks))
    return score, checks


# --- applications, keys, reuses, discussions -------------------------------------------------------------


def applications_of(user: Any) -> QuerySet[DataApplication]:
    """The signed-in person's own applications (individual ones: no enterprise)."""
    if not getattr(user, "is_authenticated", False):
        return DataApplication.objects.none()
    return DataApplication.objects.filter(applicant=user, enterprise__isnull=True).select_related("api_key")


def applications_of_enterprise(user: Any, enterprise: Any) -> QuerySet[DataApplication]:
    """Applications made for `enterprise`, for someone who acts for it now (the caller checked)."""
    if enterprise is None:
        return DataApplication.objects.none()
    return DataApplication.objects.filter(enterprise=enterprise).select_related("api_key", "applicant")


def review_queue(actor: Any) -> QuerySet[DataApplication]:
    """Applications for data of the units the actor reviews for, pending first."""
    from .services import reviewed_units

    units = reviewed_units(actor)
    codes = list(CatalogEntry.objects.filter(provider__in=units).values_list("resource_code", flat=True))
    pending_first = Case(When(status=ApplicationStatus.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField())
    return DataApplication.objects.filter(resource_code__in=codes).select_related("applicant", "enterprise").order_by(
        pending_first, "due_date", "-id"
    )


def published_reuses(resource_code: str | None = None) -> list[Reuse]:
    qs = Reuse.objects.filter(status=ModerationStatus.PUBLISHED)
    reuses = list(qs)
    if resource_code is not None:
        reuses = [r for r in reuses if resource_code in (r.resource_codes or [])]
    return reuses


def moderation_queue(actor: Any) -> QuerySet[Reuse]:
    from .services import is_moderator

    if not is_moderator(actor):
        return Reuse.objects.none()
    return Reuse.objects.filter(status=ModerationStatus.PENDING).select_related("submitter")


def discussions(resource_code: str) -> QuerySet[Discussion]:
    return Discussion.objects.filter(resource_code=resource_code).select_related("answered_by")


def keys_in_force(user: Any) -> QuerySet[ApiKey]:
    today = timezone.localdate()
    return ApiKey.objects.filter(
        application__applicant=user, application__status=ApplicationStatus.APPROVED, revoked_at__isnull=True,
        valid_from__lte=today, valid_until__gte=today,
    )
