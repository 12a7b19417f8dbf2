"""Reads of data collection for pages and the API, scoped to what the actor may see. Reading
government data (a version's rows, quarantined rows) is audited. Every row leaves here through
`presenters` (the one masking decision): the provider unit's data managers see values clear
(they collect and correct them), everyone else — the data authority included — sees the
personal/sensitive items masked by their catalog 脱敏方式, reasons and report samples too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.services import record_event
from zhengwu.catalog.constants import UPDATE_CYCLE_PERIOD, EntryStatus, UpdateCycle
from zhengwu.catalog.models import CatalogEntry
from zhengwu.core.errors import DomainError, Gone, NotFound, PermissionDenied
from zhengwu.directory.models import Unit

from . import lake
from .constants import BatchStatus
from .models import DataSource, IngestBatch, PushToken, ResourceRule, ResourceVersion
from .presenters import RowPresenter, presenter_for
from .schema import ResourceSchema, schema_for
from .services import can_collect, is_authority_data_admin

# Weights of the quality score (0–100): documented in docs/datahub.md.
WEIGHTS = {"completeness": 0.2, "validity": 0.3, "uniqueness": 0.15, "consistency": 0.15, "timeliness": 0.2}
DIMENSIONS = {
    "completeness": "完整性", "validity": "有效性", "uniqueness": "唯一性", "consistency": "一致性", "timeliness": "及时性",
}


def _ensure_staff(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active or actor.admin_role:
        raise PermissionDenied("仅各单位业务人员可以查看数据归集信息")


def entry_for(actor: Any, resource_code: str) -> CatalogEntry:
    _ensure_staff(actor)
    entry = CatalogEntry.objects.select_related("provider").filter(resource_code=resource_code).first()
    if entry is None:
        raise NotFound(f"信息资源代码 {resource_code} 不存在", "resource_code")
    if not can_collect(actor, entry.provider):
        raise PermissionDenied(f"只有{entry.provider.name}或数据主管部门的数据管理员可以查看该资源的归集数据")
    return entry


def collectable_entries(actor: Any) -> QuerySet[CatalogEntry]:
    """Published resources the actor may collect (own unit's; all for the data authority)."""
    _ensure_staff(actor)
    qs = CatalogEntry.objects.filter(status=EntryStatus.PUBLISHED, is_live=True).select_related("provider")
    qs = qs.filter(items__isnull=False).distinct()
    if is_authority_data_admin(actor):
        return qs.order_by("resource_code")
    from zhengwu.catalog.services import data_admin_units

    return qs.filter(provider__in=data_admin_units(actor)).order_by("resource_code")


def visible_batches(actor: Any) -> QuerySet[IngestBatch]:
    _ensure_staff(actor)
    qs = IngestBatch.objects.select_related("unit", "created_by", "source")
    if is_authority_data_admin(actor):
        return qs
    from zhengwu.catalog.services import data_admin_units

    return qs.filter(unit__in=data_admin_units(actor))


# --- the 工作台's to-dos: "of my unit" means the units where the actor is 数据管理员 (the data
# authority's staff see other units' batches on the list, but their to-dos are their own). The
# 工作台's count and the filtered list (/datahub/?todo=…) both call these functions.

TODO_FILTERS = {"failed": "本单位失败待重新提交的批次", "quarantine": "本单位隔离区中待补正的批次", "overdue": "本单位逾期未更新的资源"}


def _own_units(actor: Any) -> list[Unit]:
    from zhengwu.catalog.services import data_admin_units

    if not getattr(actor, "is_authenticated", False) or actor.admin_role:
        return []
    return data_admin_units(actor)


def failed_batches(actor: Any) -> QuerySet[IngestBatch]:
    """Failed batches of the actor's units that no later batch of the same resource has made
    good (the resource's newest ended batch is still this failure)."""
    later_ok = IngestBatch.objects.filter(
        resource_code=OuterRef("resource_code"), unit=OuterRef("unit"), status=BatchStatus.SUCCEEDED, pk__gt=OuterRef("pk")
    )
    return (
        IngestBatch.objects.select_related("unit", "created_by", "source")
        .filter(unit__in=_own_units(actor), status=BatchStatus.FAILED)
        .exclude(Exists(later_ok))
        .order_by("-id")
    )


def quarantine_open_batches(actor: Any) -> QuerySet[IngestBatch]:
    """Finished batches of the actor's units with quarantined rows not yet corrected (补正)."""
    return (
        IngestBatch.objects.select_related("unit", "created_by", "source")
        .filter(unit__in=_own_units(actor), status=BatchStatus.SUCCEEDED, rows_refused__gt=F("rows_resolved"))
        .order_by("-id")
    )


def overdue_resources(actor: Any, now: datetime | None = None) -> list[CatalogEntry]:
    """Live resources of the actor's units whose data is older than their update cycle (the
    catalog's own rule: catalog.queries.overdue_entries)."""
    from zhengwu.catalog.queries import overdue_entries

    units = {u.pk for u in _own_units(actor)}
    return [o.entry for o in overdue_entries(now) if o.entry.provider_id in units]


def get_batch(actor: Any, batch_id: int) -> IngestBatch:
    batch = visible_batches(actor).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("批次不存在或无权查看", "batch")
    return batch


def get_pushed_batch(token: PushToken, batch_id: int) -> IngestBatch:
    """A batch a unit's system pushed with this token (so the system can follow its progress)."""
    batch = IngestBatch.objects.select_related("unit").filter(pk=batch_id, push_token=token).first()
    if batch is None:
        raise NotFound("批次不存在，或不是用该令牌推送的", "batch")
    return batch


def batches_for(actor: Any, resource_code: str) -> QuerySet[IngestBatch]:
    entry_for(actor, resource_code)
    return visible_batches(actor).filter(resource_code=resource_code)


def versions_for(actor: Any, resource_code: str) -> QuerySet[ResourceVersion]:
    entry_for(actor, resource_code)
    return ResourceVersion.objects.filter(resource_code=resource_code).select_related("batch", "batch__source", "created_by")


def rules_for(actor: Any, resource_code: str) -> tuple[ResourceSchema, list[Any], QuerySet[ResourceRule]]:
    """(schema, derived rules, custom rules) of a resource."""
    from .rules import derive_rules

    entry_for(actor, resource_code)
    schema = schema_for(resource_code)
    custom = ResourceRule.objects.filter(resource_code=resource_code).order_by("id")
    derived = derive_rules(schema, [])
    return schema, derived, custom


def sources_for(actor: Any, resource_code: str | None = None) -> QuerySet[DataSource]:
    _ensure_staff(actor)
    qs = DataSource.objects.select_related("unit")
    if resource_code:
        entry_for(actor, resource_code)
        qs = qs.filter(resource_code=resource_code)
    if is_authority_data_admin(actor):
        return qs
    from zhengwu.catalog.services import data_admin_units

    return qs.filter(unit__in=data_admin_units(actor))


def tokens_for(actor: Any) -> QuerySet[PushToken]:
    _ensure_staff(actor)
    from zhengwu.catalog.services import data_admin_units

    return PushToken.objects.filter(unit__in=data_admin_units(actor)).select_related("unit", "created_by")


def presenter(actor: Any, resource_code: str, *, entry: CatalogEntry | None = None) -> RowPresenter:
    """How `actor` sees the rows of a resource (values, reasons, report samples, errors)."""
    return presenter_for(actor, resource_code, entry=entry)


def batch_presenter(actor: Any, batch: IngestBatch) -> RowPresenter:
    """How the reader of a batch (a staff member, or None for a push token) sees its rows."""
    return presenter_for(actor, batch.resource_code)


def hidden_versions(resource_code: str) -> set[int]:
    """Lake versions that are not data: commits undone after their batch failed or died, and the
    commits that undid them (together they change nothing). The change feed skips both."""
    hidden: set[int] = set()
    for number, undoes in ResourceVersion.objects.filter(resource_code=resource_code).filter(
        Q(undone=True) | Q(undoes__isnull=False)
    ).values_list("lake_version", "undoes"):
        hidden.add(number)
        if undoes is not None:
            hidden.add(undoes)
    return hidden


def served_version(resource_code: str, version: int | None) -> int:
    """The lake version whose rows may be served: the latest recorded version that was not undone
    (None), or `version` if it is such a version. An undone version, or a commit no batch ever
    recorded (its process died), is refused (410) — it never was the resource's data."""
    recorded = ResourceVersion.objects.filter(resource_code=resource_code)
    if version is None:
        latest = recorded.filter(undone=False).order_by("-lake_version").first()
        if latest is None:
            raise DomainError("该资源还没有任何数据版本", "version")
        return latest.lake_version
    row = recorded.filter(lake_version=version).first()
    if row is not None and row.undone:
        who = f"批次 {row.batch_id} " if row.batch_id else ""
        raise Gone(f"版本 {version} 由{who}写入，该批次失败或中断后已撤销，不提供其数据；请查看当前版本", "version")
    if row is None:
        newest = lake.current_version(resource_code)
        if newest is None:
            raise DomainError("该资源还没有任何数据版本", "version")
        if version < 0 or version > newest:
            raise DomainError(f"版本 {version} 不存在（现有 0 到 {newest}）", "version")
        raise Gone(f"版本 {version} 未登记（写入它的批次处理中断，提交已撤销），不提供其数据；请查看当前版本", "version")
    return version


def version_rows(
    actor: Any, resource_code: str, version: int | None = None, *, offset: int = 0, limit: int = 50,
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    """A page of a version's rows (time travel), sensitive values masked unless the actor may see
    them clear. Audited."""
    entry = entry_for(actor, resource_code)
    if limit < 1 or limit > 500:
        raise DomainError("每页行数必须在 1 到 500 之间", "limit")
    if offset < 0:
        raise DomainError("起始行不能为负数", "offset")
    version = served_version(resource_code, version)
    columns, rows, total = lake.read_rows(resource_code, version, offset=offset, limit=limit)
    seen = presenter(actor, resource_code, entry=entry)
    shown = seen.rows(rows)
    current = lake.current_version(resource_code)
    record_event(
        actor, "datahub.version.read", object_type="resource", object_id=resource_code, request=request,
        details={"version": version if version is not None else current, "offset": offset, "rows": len(rows)},
    )
    return {
        "version": version if version is not None else current, "columns": columns, "rows": shown, "total": total,
        "masked_fields": seen.masked_fields, "code_names": [seen.code_names(r) for r in shown],
    }


def quarantine(
    actor: Any, batch: IngestBatch, *, offset: int = 0, limit: int | None = 50, request: HttpRequest | None = None,
    purpose: str = "view",
) -> dict[str, Any]:
    """A batch's refused rows with reasons: clear for the provider's data managers (they correct
    them), masked (values and the reasons that quote them) for everyone else. Audited."""
    entry = entry_for(actor, batch.resource_code)
    if batch.status != BatchStatus.SUCCEEDED:
        return {"columns": [], "rows": [], "total": 0, "masked_fields": [], "code_names": []}
    columns, rows, total = lake.quarantine_rows(batch.resource_code, batch.pk, offset=offset, limit=limit)
    record_event(
        actor, "datahub.quarantine.read" if purpose == "view" else "datahub.quarantine.export",
        object_type="resource", object_id=batch.resource_code, request=request,
        details={"batch": batch.pk, "offset": offset, "rows": len(rows)},
    )
    shown = presenter(actor, batch.resource_code, entry=entry)
    seen = shown.rows(rows)
    return {
        "columns": columns, "rows": seen, "total": total, "masked_fields": shown.masked_fields,
        "code_names": [shown.code_names(r) for r in seen],
    }


# --- quality scorecards ------------------------------------------------------------------------------------


@dataclass
class ResourceScore:
    resource_code: str
    name: str
    unit_id: int
    unit_name: str
    update_cycle: str
    has_data: bool
    last_data_at: datetime | None
    batch_id: int | None
    completeness: float = 0.0
    validity: float = 0.0
    uniqueness: float = 0.0
    consistency: float = 0.0
    timeliness: float = 0.0
    rows_in: int = 0
    rows_refused: int = 0

    @property
    def score(self) -> float:
        return round(100 * sum(getattr(self, k) * w for k, w in WEIGHTS.items()), 1)

    @property
    def dimensions(self) -> list[tuple[str, float]]:
        return [(label, round(100 * getattr(self, key), 1)) for key, label in DIMENSIONS.items()]


@dataclass
class UnitScore:
    unit_id: int
    unit_name: str
    resources: list[ResourceScore] = field(default_factory=list)

    def _mean(self, attr: str) -> float:
        if not self.resources:
            return 0.0
        return sum(getattr(r, attr) for r in self.resources) / len(self.resources)

    @property
    def score(self) -> float:
        return round(self._mean("score"), 1)

    @property
    def collected(self) -> int:
        return sum(1 for r in self.resources if r.has_data)

    @property
    def dimensions(self) -> list[tuple[str, float]]:
        return [(label, round(100 * self._mean(key), 1)) for key, label in DIMENSIONS.items()]


def timeliness(update_cycle: str, last_data_at: datetime | None, now: datetime) -> float:
    """1 while data is within its update cycle; falls linearly to 0 at three cycles late. 不定时
    data counts as timely once it has arrived; no data at all scores 0."""
    if last_data_at is None:
        return 0.0
    period = UPDATE_CYCLE_PERIOD.get(update_cycle)
    if period is None or update_cycle == UpdateCycle.IRREGULAR:
        return 1.0
    late = (now - last_data_at) - period
    if late.total_seconds() <= 0:
        return 1.0
    return round(max(0.0, 1 - late / (2 * period)), 4)


@dataclass(frozen=True)
class Period:
    """An assessment period of the scorecard, both days included (local dates)."""

    start: date
    end: date

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, the day after end 00:00) in the local time zone."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"


MAX_PERIOD_DAYS = 3660


def parse_period(start: str | None, end: str | None) -> Period | None:
    """The period from two YYYY-MM-DD texts (either may be empty: from the first day / to today);
    None when both are empty. DomainError names the field (from / to) in Chinese."""
    start, end = (start or "").strip(), (end or "").strip()
    if not start and not end:
        return None
    days: dict[str, date] = {}
    for name, label, value in (("from", "开始日期", start), ("to", "结束日期", end)):
        if not value:
            continue
        try:
            days[name] = date.fromisoformat(value) if len(value) == 10 else date.fromisoformat("x")
        except ValueError:
            raise DomainError(f"{label}应为 YYYY-MM-DD 格式的有效日期，实为“{value[:20]}”", name) from None
    first = days.get("from", date(2000, 1, 1))
    last = days.get("to", timezone.localdate())
    if first > last:
        raise DomainError(f"开始日期 {first.isoformat()} 晚于结束日期 {last.isoformat()}", "from")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise DomainError(f"评分期间最长 {MAX_PERIOD_DAYS} 天，请缩短开始日期到结束日期的范围", "from")
    return Period(first, last)


def resource_scores(
    now: datetime | None = None, unit: Unit | None = None, period: Period | None = None
) -> list[ResourceScore]:
    """The scorecard of every published resource that lists information items (data is expected
    for it): the latest finished batch's quality measures and timeliness against its cycle.

    For a `period`: the quality measures of the latest batch finished within it, and timeliness as
    of the period's end from the last data arrival before that end (a batch that accepted rows)."""
    now = now or timezone.now()
    entries = CatalogEntry.objects.filter(status=EntryStatus.PUBLISHED, is_live=True, items__isnull=False)
    entries = entries.select_related("provider").distinct().order_by("resource_code")
    if unit is not None:
        entries = entries.filter(provider=unit)
    latest: dict[str, IngestBatch] = {}
    finished = IngestBatch.objects.filter(status=BatchStatus.SUCCEEDED, rows_in__gt=0).only(
        "resource_code", "finished_at", "completeness", "validity", "uniqueness", "consistency", "rows_in",
        "rows_refused", "rows_accepted",
    )
    arrivals: dict[str, datetime] = {}
    if period is not None:
        start, stop = period.bounds
        now = min(now, stop)
        for done in finished.filter(finished_at__lt=stop, rows_accepted__gt=0).order_by("resource_code", "-finished_at"):
            if done.finished_at is not None:
                arrivals.setdefault(done.resource_code, done.finished_at)
        finished = finished.filter(finished_at__gte=start, finished_at__lt=stop)
    for done in finished.order_by("resource_code", "-finished_at", "-id"):
        latest.setdefault(done.resource_code, done)
    scores = []
    for entry in entries:
        batch = latest.get(entry.resource_code)
        arrived = entry.last_data_at if period is None else arrivals.get(entry.resource_code)
        score = ResourceScore(
            resource_code=entry.resource_code, name=entry.name, unit_id=entry.provider_id, unit_name=entry.provider.name,
            update_cycle=entry.update_cycle, has_data=batch is not None, last_data_at=arrived,
            batch_id=batch.pk if batch else None,
            timeliness=timeliness(entry.update_cycle, arrived, now),
        )
        if batch is not None:
            score.completeness = batch.completeness or 0.0
            score.validity = batch.validity or 0.0
            score.uniqueness = batch.uniqueness or 0.0
            score.consistency = batch.consistency or 0.0
            score.rows_in, score.rows_refused = batch.rows_in, batch.rows_refused
        scores.append(score)
    return scores


def unit_ranking(now: datetime | None = None, period: Period | None = None) -> list[UnitScore]:
    """Units ranked by the mean score of their resources (the bureau's assessment)."""
    units: dict[int, UnitScore] = {}
    for score in resource_scores(now, period=period):
        units.setdefault(score.unit_id, UnitScore(score.unit_id, score.unit_name)).resources.append(score)
    return sorted(units.values(), key=lambda u: (-u.score, u.unit_name))


def quality_overview(
    actor: Any, *, period: Period | None = None, request: HttpRequest | None = None, action: str = "datahub.quality.read",
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Scorecards for the ranking page (and its Excel/PDF export, `action`="datahub.quality.export"):
    every staff member may see scores (no data values)."""
    _ensure_staff(actor)
    now = timezone.now()
    resources = sorted(resource_scores(now, period=period), key=lambda r: (-r.score, r.resource_code))
    ranking = unit_ranking(now, period=period)
    extra = dict(details or {})
    if period is not None:
        extra.update({"from": period.start.isoformat(), "to": period.end.isoformat()})
    record_event(actor, action, object_type="quality", object_id="ranking", request=request, details=extra or None)
    return {"resources": resources, "units": ranking, "weights": WEIGHTS, "dimensions": DIMENSIONS, "period": period}


def scorecard_table(units: list[UnitScore]) -> tuple[list[str], list[list[Any]]]:
    """The unit ranking as export rows (Excel and PDF): rank, unit, score, resources, collected,
    then the five dimensions (0–100)."""
    header = ["排名", "单位", "评分", "资源数", "已归集", *DIMENSIONS.values()]
    rows = [
        [rank, u.unit_name, u.score, len(u.resources), u.collected, *(value for _label, value in u.dimensions)]
        for rank, u in enumerate(units, start=1)
    ]
    return header, rows
