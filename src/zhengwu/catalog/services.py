"""State changes of the catalog. Each `do_*` checks permission, writes in one transaction and
records its audit event in that transaction; a refusal changes nothing and is itself audited."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import CONFLICT, audited_attempt, record_event
from zhengwu.core import limits, notifications
from zhengwu.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from zhengwu.directory.models import Unit
from zhengwu.directory.permissions import has_business_role

from . import search
from .constants import CATALOG_REVIEWER_ROLE, DATA_ADMIN_ROLE, CorrectionStatus, EntryStatus
from .models import CatalogEntry, CatalogEntryVersion, CatalogItem, CodeSequence, CorrectionRequest
from .rules import (
    ENTRY_FIELDS,
    FIELD_LABELS,
    ITEM_FIELDS,
    ITEM_FLAGS,
    ITEM_LABELS,
    item_flag,
    normalise_entry,
    validate_entry,
)


class EntryInvalid(DomainError):
    """The entry breaks one or more catalog rules; `problems` lists them all."""

    status = 422

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("；".join(m for _, m in problems[:5]), problems[0][0] if problems else None)
        self.problems = problems


# --- who may do what -------------------------------------------------------------------------------


def authority_unit_name() -> str:
    return str(getattr(settings, "CATALOG_AUTHORITY_UNIT_NAME", "大数据管理局"))


def authority_unit() -> Unit | None:
    """The data authority: the unit named exactly so, else the city-level unit whose name ends so
    (e.g. "示范市大数据管理局" for the default "大数据管理局")."""
    name = authority_unit_name()
    exact = Unit.objects.filter(name=name, is_active=True).order_by("id").first()
    if exact is not None:
        return exact
    return (
        Unit.objects.filter(name__endswith=name, is_active=True, level__in=["province", "city"])
        .order_by("id")
        .first()
    )


def is_data_admin(actor: Any, unit: Unit | None) -> bool:
    return unit is not None and has_business_role(actor, DATA_ADMIN_ROLE, unit)


def is_catalog_reviewer(actor: Any) -> bool:
    """目录审核员 (granted in any unit), or a 数据管理员 of the data authority (大数据管理局)."""
    if has_business_role(actor, CATALOG_REVIEWER_ROLE):
        return True
    unit = getattr(actor, "unit", None)
    if unit is None or not has_business_role(actor, DATA_ADMIN_ROLE, unit):
        return False
    authority = authority_unit()
    return authority is not None and authority.pk == unit.pk


def data_admin_units(actor: Any) -> list[Unit]:
    from zhengwu.directory.models import RoleGrant

    if not getattr(actor, "is_authenticated", False) or actor.admin_role or not actor.is_active:
        return []
    return [g.unit for g in RoleGrant.objects.filter(user=actor, role__code=DATA_ADMIN_ROLE).select_related("unit")]


def catalog_reviewers() -> list[Any]:
    """Everyone who may review entries (is_catalog_reviewer): 目录审核员 of any unit and the
    data authority's 数据管理员 — the recipients of "an entry is waiting for review"."""
    from zhengwu.directory.models import User

    cond = Q(role_grants__role__code=CATALOG_REVIEWER_ROLE)
    authority = authority_unit()
    if authority is not None:
        cond |= Q(role_grants__role__code=DATA_ADMIN_ROLE, role_grants__unit=authority, unit=authority)
    return list(User.objects.filter(cond, is_active=True, admin_role="").distinct())


def reverse_review() -> str:
    from django.urls import reverse

    return reverse("catalog:review")


def _reverse_mine_corrections() -> str:
    from django.urls import reverse

    return reverse("catalog:mine") + "#corrections"


def _entry_url(entry: CatalogEntry) -> str:
    from django.urls import reverse

    return reverse("catalog:entry_detail", args=[entry.pk])


def _ensure_editor(actor: Any, unit: Unit) -> None:
    if not is_data_admin(actor, unit):
        raise PermissionDenied(f"只有{unit.name}的数据管理员可以编制和提交本单位的目录")


def _ensure_reviewer(actor: Any) -> None:
    if not is_catalog_reviewer(actor):
        raise PermissionDenied(f"只有数据主管部门（{authority_unit_name()}）的目录审核员可以审核目录")


# --- snapshots and differences -----------------------------------------------------------------------


def snapshot(entry: CatalogEntry) -> dict[str, Any]:
    """The full content of an entry as plain JSON (what a version stores and exports carry)."""
    data: dict[str, Any] = {"resource_code": entry.resource_code}
    for key in ENTRY_FIELDS:
        value = getattr(entry, key)
        data[key] = value.isoformat() if key == "publish_date" and value else value
    data["provider"] = entry.provider.name
    data["provider_id"] = entry.provider_id
    data["items"] = [
        {k: getattr(item, k) for k in ITEM_FIELDS} for item in entry.items.all().order_by("position", "id")
    ]
    return data


def _item_value(item: dict[str, Any], key: str) -> Any:
    # Snapshots of versions published before an item property existed lack it: read its default.
    return item_flag(item, key) if key in ITEM_FLAGS else item.get(key)


def diff_snapshots(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Field-by-field differences; items matched by field name (added / removed / changed).
    Either side may be a snapshot of a version published before 必填 existed."""
    old = old or {}
    fields = []
    for key in ("name", *[k for k in ENTRY_FIELDS if k != "name"], "provider"):
        if old.get(key) != new.get(key):
            fields.append({"field": key, "label": FIELD_LABELS.get(key, "提供方"), "old": old.get(key), "new": new.get(key)})
    old_items = {i["field_name"].lower(): i for i in old.get("items") or []}
    new_items = {i["field_name"].lower(): i for i in new.get("items") or []}
    added = [new_items[k] for k in new_items if k not in old_items]
    removed = [old_items[k] for k in old_items if k not in new_items]
    changed = []
    for key in new_items:
        if key in old_items:
            before, after = old_items[key], new_items[key]
            changes = [
                {"field": f, "label": ITEM_LABELS[f], "old": _item_value(before, f), "new": _item_value(after, f)}
                for f in ITEM_FIELDS
                if _item_value(before, f) != _item_value(after, f)
            ]
            if changes:
                changed.append({"field_name": new_items[key]["field_name"], "name": new_items[key]["name"], "changes": changes})
    return {
        "fields": fields,
        "items_added": added,
        "items_removed": removed,
        "items_changed": changed,
        "empty": not (fields or added or removed or changed),
    }


# --- helpers -------------------------------------------------------------------------------------------


def _attempt(
    actor: Any, action: str, object_id: Any = "", request: HttpRequest | None = None,
    details: dict[str, Any] | None = None, *, object_type: str = "catalog_entry",
    conflict: tuple[str, str | None] = CONFLICT,
) -> AbstractContextManager[None]:
    """audit.services.audited_attempt for the catalog (its entries by default)."""
    return audited_attempt(
        actor, action, object_type=object_type, object_id=object_id, request=request, details=details, conflict=conflict,
    )


def _lock(entry: CatalogEntry) -> CatalogEntry:
    locked = CatalogEntry.objects.select_for_update().select_related("provider").filter(pk=entry.pk).first()
    if locked is None:
        raise NotFound("目录条目不存在")
    return locked


def _next_code(class_code: str) -> str:
    seq, _ = CodeSequence.objects.select_for_update().get_or_create(class_code=class_code)
    while True:
        seq.last += 1
        code = f"{class_code}/{seq.last:05d}"
        if not CatalogEntry.objects.filter(resource_code=code).exists():
            break
    seq.save(update_fields=["last"])
    return code


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    clean = normalise_entry(data)
    problems = validate_entry(clean)
    if problems:
        raise EntryInvalid(problems)
    return clean


def _write(entry: CatalogEntry, clean: dict[str, Any]) -> None:
    for key in ENTRY_FIELDS:
        value = clean[key]
        if key == "publish_date":
            value = datetime.fromisoformat(value).date() if value else None
        setattr(entry, key, value)
    if not entry.provider_code:
        entry.provider_code = entry.provider.uscc or ""
    entry.save()
    entry.items.all().delete()
    CatalogItem.objects.bulk_create(
        [
            CatalogItem(entry=entry, position=i, **{k: item[k] if k != "length" else (int(item[k]) if item[k] else None) for k in ITEM_FIELDS})
            for i, item in enumerate(clean["items"])
        ]
    )


def _published_snapshot(entry: CatalogEntry) -> dict[str, Any] | None:
    if not entry.published_version:
        return None
    version = CatalogEntryVersion.objects.filter(entry=entry, version=entry.published_version).first()
    return version.snapshot if version else None


# --- compile -------------------------------------------------------------------------------------------


def do_create_entry(
    actor: Any, data: dict[str, Any], *, provider: Unit | None = None, request: HttpRequest | None = None
) -> CatalogEntry:
    """A new draft for `provider` (default: the actor's unit). Its resource code is assigned now."""
    unit = provider or getattr(actor, "unit", None)
    with _attempt(actor, "catalog.entry.create", request=request, details={"name": str(data.get("name", ""))[:200]}):
        if unit is None:
            raise PermissionDenied("您的账号不属于任何单位，不能编制目录")
        _ensure_editor(actor, unit)
        clean = _checked(data)
        class_code = f"{clean['category']}{clean['class_item']}{clean['class_sub']}{clean['class_detail']}"
        entry = CatalogEntry(provider=unit, created_by=actor, resource_code=_next_code(class_code))
        _write(entry, clean)
        record_event(
            actor, "catalog.entry.create", object_type="catalog_entry", object_id=entry.resource_code,
            details={"name": entry.name, "provider": unit.name}, request=request,
        )
    return entry


def do_update_entry(
    actor: Any, entry: CatalogEntry, data: dict[str, Any], *, request: HttpRequest | None = None
) -> CatalogEntry:
    """Edit a draft, or start a change (new version) of a published entry. The classification is
    part of the resource code and cannot change."""
    with _attempt(actor, "catalog.entry.update", entry.resource_code, request):
        entry = _lock(entry)
        _ensure_editor(actor, entry.provider)
        if entry.status == EntryStatus.PENDING:
            raise Conflict("条目正在审核中，不能修改；如需修改请先撤回", "status")
        if entry.status == EntryStatus.RETIRED:
            raise Conflict("条目已下线，不能修改", "status")
        clean = _checked(data)
        for key in ("category", "class_item", "class_sub", "class_detail"):
            if clean[key] != getattr(entry, key):
                raise DomainError(
                    f"{FIELD_LABELS[key]}：分类决定资源代码 {entry.resource_code}，创建后不能修改；"
                    "如分类有误，请新建条目并下线本条目",
                    key,
                )
        if not clean["publish_date"] and entry.publish_date:
            clean["publish_date"] = entry.publish_date.isoformat()  # set at first publication; kept
        before = snapshot(entry)
        was_published = entry.status == EntryStatus.PUBLISHED
        _write(entry, clean)
        entry.status = EntryStatus.DRAFT
        entry.save(update_fields=["status", "updated_at"])
        changes = diff_snapshots(before, snapshot(entry))
        record_event(
            actor, "catalog.entry.update", object_type="catalog_entry", object_id=entry.resource_code,
            details={
                "changed_fields": [c["field"] for c in changes["fields"]],
                "items_added": [i["field_name"] for i in changes["items_added"]],
                "items_removed": [i["field_name"] for i in changes["items_removed"]],
                "items_changed": [i["field_name"] for i in changes["items_changed"]],
                "starts_new_version": was_published,
            },
            request=request,
        )
    return entry


# --- lifecycle -----------------------------------------------------------------------------------------


def do_submit_entry(
    actor: Any, entry: CatalogEntry, *, note: str = "", request: HttpRequest | None = None
) -> CatalogEntry:
    """草稿 → 待审核, by the provider's 数据管理员."""
    with _attempt(actor, "catalog.entry.submit", entry.resource_code, request):
        entry = _lock(entry)
        _ensure_editor(actor, entry.provider)
        if entry.status != EntryStatus.DRAFT:
            raise Conflict(f"只有草稿可以提交审核，当前状态为{entry.get_status_display()}", "status")
        problems = validate_entry(normalise_entry(snapshot(entry)))
        if problems:
            raise EntryInvalid(problems)
        if entry.published_version and diff_snapshots(_published_snapshot(entry), snapshot(entry))["empty"]:
            raise Conflict("与已发布版本相比没有任何变更，无需提交", "status")
        entry.status = EntryStatus.PENDING
        entry.submitted_by = actor
        entry.submitted_at = timezone.now()
        entry.review_comment = ""
        entry.save(update_fields=["status", "submitted_by", "submitted_at", "review_comment", "updated_at"])
        record_event(
            actor, "catalog.entry.submit", object_type="catalog_entry", object_id=entry.resource_code,
            details={"note": note[:500], "next_version": entry.published_version + 1}, request=request,
        )
        notifications.notify(
            catalog_reviewers(), exclude=actor, kind="catalog.review",
            title=f"待审核目录：{entry.name}",
            body=f"{entry.provider.name}提交了目录“{entry.name}”（{entry.resource_code}），等待审核。",
            url=reverse_review(),
        )
    return entry


def do_withdraw_entry(actor: Any, entry: CatalogEntry, *, request: HttpRequest | None = None) -> CatalogEntry:
    """待审核 → 草稿, by the provider's 数据管理员 before the authority decides."""
    with _attempt(actor, "catalog.entry.withdraw", entry.resource_code, request):
        entry = _lock(entry)
        _ensure_editor(actor, entry.provider)
        if entry.status != EntryStatus.PENDING:
            raise Conflict("只有待审核的条目可以撤回", "status")
        entry.status = EntryStatus.DRAFT
        entry.save(update_fields=["status", "updated_at"])
        record_event(actor, "catalog.entry.withdraw", object_type="catalog_entry", object_id=entry.resource_code, request=request)
    return entry


def do_approve_entry(
    actor: Any, entry: CatalogEntry, *, comment: str = "", request: HttpRequest | None = None
) -> CatalogEntryVersion:
    """待审核 → 已发布 by the data authority: a new immutable version, indexed for search."""
    with _attempt(actor, "catalog.entry.approve", entry.resource_code, request):
        entry = _lock(entry)
        _ensure_reviewer(actor)
        if entry.status != EntryStatus.PENDING:
            raise Conflict(f"只有待审核的条目可以审核，当前状态为{entry.get_status_display()}", "status")
        if entry.submitted_by_id is not None and entry.submitted_by_id == getattr(actor, "pk", None):
            raise PermissionDenied("不能审核自己提交的目录（审核与提交须由不同人员完成）")
        limits.check_length(comment, limits.TEXT, "审核意见", "comment")
        now = timezone.now()
        if entry.publish_date is None:
            entry.publish_date = timezone.localdate()
        previous = _published_snapshot(entry)
        entry.published_version += 1
        entry.status = EntryStatus.PUBLISHED
        entry.is_live = True
        entry.review_comment = comment
        entry.save()
        snap = snapshot(entry)
        version = CatalogEntryVersion.objects.create(
            entry=entry, version=entry.published_version, snapshot=snap, published_at=now,
            published_by=actor, submitted_by=entry.submitted_by, change_note=comment,
        )
        search.index_entry(entry.pk, snap)
        changes = diff_snapshots(previous, snap) if previous else None
        record_event(
            actor, "catalog.entry.approve", object_type="catalog_entry", object_id=entry.resource_code,
            details={
                "version": version.version,
                "comment": comment[:500],
                "changed_fields": [c["field"] for c in changes["fields"]] if changes else [],
            },
            request=request,
        )
        notifications.notify(
            [entry.submitted_by], exclude=actor, kind="catalog.approved",
            title=f"目录已发布：{entry.name}",
            body=f"您提交的目录“{entry.name}”已审核通过，发布为第 {version.version} 版。" + (f"审核意见：{comment}" if comment else ""),
            url=_entry_url(entry),
        )
    return version


def do_return_entry(
    actor: Any, entry: CatalogEntry, *, reason: str, request: HttpRequest | None = None
) -> CatalogEntry:
    """待审核 → 草稿 with the authority's reasons (退回修改)."""
    with _attempt(actor, "catalog.entry.return", entry.resource_code, request):
        entry = _lock(entry)
        _ensure_reviewer(actor)
        if entry.status != EntryStatus.PENDING:
            raise Conflict("只有待审核的条目可以退回", "status")
        if len(reason.strip()) < 2:
            raise DomainError("退回理由：必须写明退回原因，供提供单位修改", "reason")
        limits.check_length(reason.strip(), limits.TEXT, "退回理由", "reason")
        entry.status = EntryStatus.DRAFT
        entry.review_comment = reason.strip()
        entry.save(update_fields=["status", "review_comment", "updated_at"])
        record_event(
            actor, "catalog.entry.return", object_type="catalog_entry", object_id=entry.resource_code,
            details={"reason": reason.strip()[:1000]}, request=request,
        )
        notifications.notify(
            [entry.submitted_by], exclude=actor, kind="catalog.returned",
            title=f"目录被退回：{entry.name}",
            body=f"您提交的目录“{entry.name}”被退回修改。退回理由：{reason.strip()}",
            url=_entry_url(entry),
        )
    return entry


def do_retire_entry(
    actor: Any, entry: CatalogEntry, *, reason: str, request: HttpRequest | None = None
) -> CatalogEntry:
    """已发布 → 已下线, by the provider's 数据管理员 or the authority. Versions are kept; the code is
    never given to another resource."""
    with _attempt(actor, "catalog.entry.retire", entry.resource_code, request):
        entry = _lock(entry)
        if not (is_data_admin(actor, entry.provider) or is_catalog_reviewer(actor)):
            raise PermissionDenied("只有提供单位的数据管理员或目录审核员可以下线目录")
        if entry.status == EntryStatus.RETIRED:
            raise Conflict("条目已经下线", "status")
        if not entry.published_version:
            raise Conflict("未发布过的草稿不需要下线", "status")
        if len(reason.strip()) < 2:
            raise DomainError("下线原因：必须填写", "reason")
        limits.check_length(reason.strip(), limits.TEXT, "下线原因", "reason")
        entry.status = EntryStatus.RETIRED
        entry.is_live = False
        entry.retired_at = timezone.now()
        entry.retire_reason = reason.strip()
        entry.save()
        search.unindex_entry(entry.pk)
        record_event(
            actor, "catalog.entry.retire", object_type="catalog_entry", object_id=entry.resource_code,
            details={"reason": reason.strip()[:1000]}, request=request,
        )
    return entry


# --- error correction ----------------------------------------------------------------------------------


def do_request_correction(
    actor: Any, entry: CatalogEntry, *, content: str, field: str = "", request: HttpRequest | None = None
) -> CorrectionRequest:
    """纠错: any unit's staff report a problem in a published entry."""
    with _attempt(actor, "catalog.correction.create", entry.resource_code, request):
        unit = getattr(actor, "unit", None)
        if unit is None or not getattr(actor, "is_authenticated", False) or actor.admin_role:
            raise PermissionDenied("只有单位工作人员可以提交纠错")
        if not entry.is_live:
            raise Conflict("只能对已发布的目录提出纠错", "status")
        if len(content.strip()) < 5:
            raise DomainError("纠错内容：请具体说明哪里有误、应当如何（至少 5 个字）", "content")
        limits.check_length(content.strip(), limits.TEXT, "纠错内容", "content")
        if field and field not in FIELD_LABELS:
            raise DomainError("涉及字段：不是目录的字段", "field")
        correction = CorrectionRequest.objects.create(
            entry=entry, version=entry.published_version, field=field, content=content.strip(),
            reporter=actor, reporter_unit=unit,
        )
        record_event(
            actor, "catalog.correction.create", object_type="catalog_entry", object_id=entry.resource_code,
            details={"correction": correction.pk, "field": field, "content": content.strip()[:500]}, request=request,
        )
        notifications.notify(
            role=DATA_ADMIN_ROLE, unit=entry.provider, exclude=actor, kind="catalog.correction",
            title=f"待答复的纠错：{entry.name}",
            body=f"{unit.name}对目录“{entry.name}”提出纠错：{content.strip()[:200]}",
            url=_reverse_mine_corrections(),
        )
    return correction


def do_answer_correction(
    actor: Any, correction: CorrectionRequest, *, accepted: bool, answer: str, request: HttpRequest | None = None
) -> CorrectionRequest:
    """The provider answers a 纠错 (accepting it means it will change the entry in a new version)."""
    entry = correction.entry
    with _attempt(actor, "catalog.correction.answer", entry.resource_code, request):
        correction = CorrectionRequest.objects.select_for_update().select_related("entry__provider").get(pk=correction.pk)
        _ensure_editor(actor, correction.entry.provider)
        if correction.status != CorrectionStatus.OPEN:
            raise Conflict("该纠错已经答复", "status")
        if len(answer.strip()) < 2:
            raise DomainError("答复：必须填写", "answer")
        limits.check_length(answer.strip(), limits.TEXT, "答复", "answer")
        correction.status = CorrectionStatus.ACCEPTED if accepted else CorrectionStatus.REJECTED
        correction.answer = answer.strip()
        correction.answered_by = actor
        correction.answered_at = timezone.now()
        correction.save()
        record_event(
            actor, "catalog.correction.answer", object_type="catalog_entry", object_id=entry.resource_code,
            details={"correction": correction.pk, "accepted": accepted, "answer": answer.strip()[:500]}, request=request,
        )
    return correction


# --- data arrival (called by datahub) ------------------------------------------------------------------


def do_record_data_arrival(resource_code: str, at: datetime, *, actor: Any = None) -> CatalogEntry:
    """Record that a new batch of the resource's data arrived (datahub calls this). Drives the
    overdue statistics: a published entry is overdue when its last data is older than its cycle."""
    with _attempt(actor, "catalog.entry.data_arrival", resource_code):
        entry = CatalogEntry.objects.select_for_update().filter(resource_code=resource_code).first()
        if entry is None:
            raise NotFound(f"资源代码 {resource_code} 不存在", "resource_code")
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        if entry.last_data_at is None or at > entry.last_data_at:
            entry.last_data_at = at
            entry.save(update_fields=["last_data_at"])
        record_event(
            actor, "catalog.entry.data_arrival", object_type="catalog_entry", object_id=resource_code,
            details={"at": at.isoformat()},
        )
    return entry


# --- import ----------------------------------------------------------------------------------------------


class ImportRecord:
    """One resource read from a file: where it came from, its data and the problems found while
    reading it (unreadable cells, items pointing to no resource …)."""

    def __init__(
        self,
        row: str,
        data: dict[str, Any],
        problems: list[tuple[str, str]] | None = None,
        item_rows: list[str] | None = None,
    ):
        self.row = row
        self.data = data
        self.problems: list[tuple[str, str]] = list(problems or [])
        self.item_rows = item_rows or []  # where each information item came from, if elsewhere

    def where(self, field: str) -> str:
        match = re.match(r"items\[(\d+)\]", field)
        if match and int(match.group(1)) < len(self.item_rows):
            return self.item_rows[int(match.group(1))]
        return self.row


class ImportReport:
    def __init__(self) -> None:
        self.imported = False
        self.created: list[str] = []
        self.updated: list[str] = []
        self.unchanged: list[str] = []
        self.problems: list[dict[str, str]] = []

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "problems": self.problems,
        }


def _comparable(snap: dict[str, Any]) -> dict[str, Any]:
    clean = normalise_entry(snap)
    clean.pop("provider_code", None)
    for item in clean["items"]:
        item["length"] = int(item["length"]) if item["length"] not in (None, "") else None
    return clean


def do_import_entries(
    actor: Any,
    records: list[ImportRecord],
    *,
    good_rows_only: bool = False,
    source: str = "json",
    extra_problems: list[dict[str, str]] | None = None,
    request: HttpRequest | None = None,
) -> ImportReport:
    """Import a unit's catalog. A record whose `resource_code` names an entry of the unit updates
    it (a published one gets a new draft version); otherwise a new draft is created. With any bad
    record nothing is imported, unless `good_rows_only` is chosen explicitly."""
    report = ImportReport()
    report.problems.extend(extra_problems or [])
    unit = getattr(actor, "unit", None)
    with _attempt(actor, "catalog.import", source, request):
        if unit is None:
            raise PermissionDenied("您的账号不属于任何单位，不能导入目录")
        _ensure_editor(actor, unit)
    assert unit is not None
    plan: list[tuple[ImportRecord, CatalogEntry | None, dict[str, Any]]] = []
    seen_codes: set[str] = set()
    for record in records:
        problems = list(record.problems)
        clean = normalise_entry(record.data)
        problems.extend(validate_entry(clean))
        code = str(record.data.get("resource_code") or "").strip()
        provider_name = str(record.data.get("provider") or "").strip()
        if provider_name and provider_name != unit.name:
            problems.append(("provider", f"提供方：只能导入本单位（{unit.name}）的目录，此行为“{provider_name}”"))
        existing = None
        if code:
            if code in seen_codes:
                problems.append(("resource_code", f"资源代码：{code} 在文件中重复出现"))
            seen_codes.add(code)
            existing = CatalogEntry.objects.filter(resource_code=code).first()
            if existing is None:
                problems.append(("resource_code", f"资源代码：{code} 不存在；新资源请留空，由平台生成代码"))
            elif existing.provider_id != unit.pk:
                problems.append(("resource_code", f"资源代码：{code} 属于其他单位，不能导入修改"))
                existing = None
            elif existing.status in (EntryStatus.PENDING, EntryStatus.RETIRED):
                problems.append(("resource_code", f"资源代码：{code} 当前为{existing.get_status_display()}，不能修改"))
                existing = None
            else:
                for key in ("category", "class_item", "class_sub", "class_detail"):
                    if clean[key] != getattr(existing, key):
                        problems.append((key, f"{FIELD_LABELS[key]}：分类决定资源代码，已有资源不能修改分类"))
                        break
        for field, message in problems:
            report.problems.append({"row": record.where(field), "field": field, "message": message})
        if not problems:
            plan.append((record, existing, clean))
    if report.problems and not good_rows_only:
        record_event(
            actor, "catalog.import", object_type="catalog_entry", object_id=source, result=AuditResult.FAILURE,
            details={"records": len(records), "bad_records": len({p["row"] for p in report.problems}), "imported": 0},
            request=request,
        )
        return report
    with transaction.atomic():
        for _record, existing, clean in plan:
            if existing is None:
                entry = do_create_entry(actor, clean, provider=unit, request=request)
                report.created.append(entry.resource_code)
            elif _comparable(snapshot(existing)) == _comparable(clean):
                report.unchanged.append(existing.resource_code)
            else:
                do_update_entry(actor, existing, clean, request=request)
                report.updated.append(existing.resource_code)
        report.imported = True
        record_event(
            actor, "catalog.import", object_type="catalog_entry", object_id=source,
            details={
                "records": len(records),
                "created": report.created,
                "updated": report.updated,
                "unchanged": len(report.unchanged),
                "skipped_bad_records": len({p["row"] for p in report.problems}),
            },
            request=request,
        )
    return report


# --- search synonyms (检索同义词) ------------------------------------------------------------------

SYNONYM_TERM_MAX = 20
SYNONYM_MAX = 30
_SYNONYM_TEXT = re.compile(r"^[\w\u4e00-\u9fff]+(?: [\w\u4e00-\u9fff]+)*$")


def _ensure_synonym_keeper(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied("请先登录")
    if actor.admin_role:
        raise PermissionDenied("系统管理员、安全管理员和审计管理员不能维护检索同义词，请用业务人员账号")
    if not is_catalog_reviewer(actor):
        raise PermissionDenied(
            f"只有数据主管部门（{authority_unit_name()}）的目录审核员或数据管理员可以维护检索同义词"
        )


def _synonym_text(value: str, label: str, field: str, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise DomainError(f"{label}：必须填写", field)
    if len(text) > limit:
        raise DomainError(f"{label}：不能超过 {limit} 个字（现为 {len(text)} 个字）", field)
    if not _SYNONYM_TEXT.match(text):
        raise DomainError(f"{label}：只能含汉字、字母、数字和空格，不能含标点符号", field)
    return text


def _synonym_attempt(
    actor: Any, action: str, object_id: str, request: HttpRequest | None, details: dict[str, Any] | None = None
) -> Any:
    return _attempt(
        actor, action, object_id, request, details, object_type="search_synonym",
        conflict=("同义词或全称：该同义词已在同义词表中（可能刚被他人添加），请刷新后查看", "synonym"),
    )


def _bump_synonyms() -> None:
    from django.db.models import F

    from .models import CatalogIndexStat

    CatalogIndexStat.objects.get_or_create(id=1)
    CatalogIndexStat.objects.filter(id=1).update(synonyms_generation=F("synonyms_generation") + 1)
    search._synonym_cache.clear()


def do_add_search_synonym(
    actor: Any, term: str, synonym: str, *, note: str = "", request: HttpRequest | None = None
) -> Any:
    """A pair of the search synonym dictionary: a query containing either word also searches the
    other. Kept by the catalog authority (目录审核员, or a 数据管理员 of the data authority)."""
    from django.db.models import Q

    from .models import SearchSynonym

    details = {"term": str(term)[:50], "synonym": str(synonym)[:50]}
    with _synonym_attempt(actor, "catalog.synonym.add", details["term"], request, details):
        _ensure_synonym_keeper(actor)
        clean_term = _synonym_text(term, "检索词", "term", SYNONYM_TERM_MAX)
        clean_synonym = _synonym_text(synonym, "同义词或全称", "synonym", SYNONYM_MAX)
        clean_note = " ".join(str(note or "").split())
        if len(clean_note) > 100:
            raise DomainError(f"说明：不能超过 100 个字（现为 {len(clean_note)} 个字）", "note")
        if clean_term.lower() == clean_synonym.lower():
            raise DomainError("同义词或全称：与检索词相同，无需添加", "synonym")
        a, b = clean_term.lower(), clean_synonym.lower()
        existing = SearchSynonym.objects.filter(
            Q(term__iexact=a, synonym__iexact=b) | Q(term__iexact=b, synonym__iexact=a)
        ).first()
        if existing is not None:
            raise Conflict(f"同义词或全称：“{existing.term} → {existing.synonym}”已在同义词表中", "synonym")
        pair = SearchSynonym.objects.create(term=clean_term, synonym=clean_synonym, note=clean_note, created_by=actor)
        _bump_synonyms()
        record_event(
            actor, "catalog.synonym.add", object_type="search_synonym", object_id=str(pair.pk),
            details={"term": pair.term, "synonym": pair.synonym, "note": pair.note}, request=request,
        )
    return pair


def do_remove_search_synonym(actor: Any, pair_id: int, *, request: HttpRequest | None = None) -> None:
    """Remove a pair from the search synonym dictionary (the catalog authority only)."""
    from .models import SearchSynonym

    with _synonym_attempt(actor, "catalog.synonym.remove", str(pair_id), request):
        _ensure_synonym_keeper(actor)
        pair = SearchSynonym.objects.select_for_update().filter(pk=pair_id).first()
        if pair is None:
            raise NotFound("同义词：该同义词不存在或已被删除", "synonym")
        details = {"term": pair.term, "synonym": pair.synonym, "note": pair.note}
        pair.delete()
        _bump_synonyms()
        record_event(
            actor, "catalog.synonym.remove", object_type="search_synonym", object_id=str(pair_id),
            details=details, request=request,
        )
