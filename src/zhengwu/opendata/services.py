"""State changes of open data: use counts, applications for 有条件开放 data and their API keys,
reuses (应用成果) and discussions (纠错 / 需求). Each `do_*` checks who may act, writes in one
transaction with its audit record (refusals audited too, through `audited_attempt`) and refuses
bad input with a Chinese message naming the field, changing nothing."""

from __future__ import annotations

import hashlib
import secrets
from contextlib import AbstractContextManager
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.services import audited_attempt, record_event
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied

from . import conf
from .models import (
    ApiKey,
    ApplicationStatus,
    DataApplication,
    DatasetDailyStat,
    Discussion,
    DiscussionKind,
    ModerationStatus,
    Reuse,
)

REVIEWER_ROLE = "opendata_reviewer"
KEY_PREFIX = "zwod_"
USES = ("views", "downloads", "api_calls")
MAX_PERIOD_DAYS = 366


def _attempt(
    actor: Any, action: str, object_id: Any = "", request: HttpRequest | None = None,
    details: dict[str, Any] | None = None, *, object_type: str,
) -> AbstractContextManager[None]:
    """audit.services.audited_attempt for open data."""
    return audited_attempt(actor, action, object_type=object_type, object_id=object_id, request=request, details=details)


# --- who is who -------------------------------------------------------------------------------------


def is_public_person(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and getattr(user, "account_kind", "") == "public")


def is_reviewer(actor: Any, unit: Any) -> bool:
    """开放数据审核员 of the unit, or its 数据管理员 (staff only: has_business_role refuses others)."""
    from zhengwu.catalog.services import is_data_admin
    from zhengwu.directory.permissions import has_business_role

    if unit is None or getattr(actor, "account_kind", "staff") == "public":
        return False
    return has_business_role(actor, REVIEWER_ROLE, unit) or is_data_admin(actor, unit)


def reviewed_units(actor: Any) -> list[Any]:
    unit = getattr(actor, "unit", None)
    return [unit] if unit is not None and is_reviewer(actor, unit) else []


def is_moderator(actor: Any) -> bool:
    """Reuses are moderated by the data authority's reviewers (大数据管理局)."""
    from zhengwu.catalog.services import authority_unit

    return is_reviewer(actor, authority_unit())


# --- use counts ----------------------------------------------------------------------------------------


def record_use(resource_code: str, kind: str, n: int = 1, *, day: date | None = None) -> None:
    """Count a view, download or API call of an open dataset (one row per dataset and day)."""
    if kind not in USES:
        raise ValueError(kind)
    day = day or timezone.localdate()
    updated = DatasetDailyStat.objects.filter(resource_code=resource_code, day=day).update(**{kind: F(kind) + n})
    if updated:
        return
    try:
        with transaction.atomic():
            DatasetDailyStat.objects.create(resource_code=resource_code, day=day, **{kind: n})
    except IntegrityError:  # another request created today's row first
        DatasetDailyStat.objects.filter(resource_code=resource_code, day=day).update(**{kind: F(kind) + n})


# --- applications for 有条件开放 data ------------------------------------------------------------------------


def _clean_text(value: Any, field: str, label: str, *, minimum: int, maximum: int) -> str:
    text = str(value or "").replace("\x00", "").strip()
    if len(text) < minimum:
        raise DomainError(f"{label}：至少 {minimum} 个字", field)
    if len(text) > maximum:
        raise DomainError(f"{label}：不能超过 {maximum} 个字", field)
    return text


def _as_date(value: Any, field: str, label: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise DomainError(f"{label}：请填写日期（YYYY-MM-DD）", field) from None


def do_file_application(
    actor: Any, resource_code: str, *, purpose: str, scenario: str, items: list[str] | None,
    period_start: Any, period_end: Any, enterprise: Any = None, request: HttpRequest | None = None,
) -> DataApplication:
    """A registered person applies for a 有条件开放 dataset (for themselves, or for the enterprise
    they act for now — the caller passes the acting enterprise, never one from the form)."""
    from zhengwu.core import workdays

    from . import queries

    with _attempt(actor, "opendata.application.file", resource_code, request, object_type="opendata_application"):
        if not is_public_person(actor):
            raise PermissionDenied("请先以注册的个人或企业账号登录门户再申请", "applicant")
        dataset = queries.get_dataset(resource_code)
        if not dataset.conditional:
            raise DomainError("该数据集无条件开放，无需申请，可直接下载或调用", "resource_code")
        purpose_text = _clean_text(purpose, "purpose", "用途", minimum=10, maximum=2000)
        scenario_text = _clean_text(scenario, "scenario", "应用场景", minimum=10, maximum=2000)
        open_fields = dataset.field_names
        wanted = [str(i) for i in (items or open_fields)]
        unknown = [i for i in wanted if i not in open_fields]
        if unknown:
            raise DomainError(f"信息项：{'、'.join(unknown[:5])} 不存在", "items")
        if not wanted:
            raise DomainError("信息项：至少选择一项", "items")
        start = _as_date(period_start, "period_start", "使用期限起")
        end = _as_date(period_end, "period_end", "使用期限止")
        today = timezone.localdate()
        if start < today:
            raise DomainError("使用期限起：不能早于今天", "period_start")
        if end < start:
            raise DomainError("使用期限止：不能早于开始日期", "period_end")
        if (end - start).days > MAX_PERIOD_DAYS:
            raise DomainError(f"使用期限：最长 {MAX_PERIOD_DAYS} 天", "period_end")
        pending = DataApplication.objects.filter(
            resource_code=dataset.resource_code, applicant=actor, status=ApplicationStatus.PENDING,
            enterprise=enterprise,
        )
        if pending.exists():
            raise DomainError("您已有一份该数据集的申请在审核中，请等待答复", "resource_code")
        try:
            due = workdays.add_working_days(today, conf.answer_working_days())
        except workdays.CalendarNotCovered as exc:
            # The staff's message names the operator's commands; the public is told what it means for them.
            raise DomainError(
                f"暂时无法受理申请：答复期限要按 {exc.year} 年的法定节假日安排计算，平台尚未录入该年的安排。"
                "平台管理员录入后即可申请，请过几天再试", "calendar",
            ) from exc
        application = DataApplication.objects.create(
            resource_code=dataset.resource_code, applicant=actor, enterprise=enterprise, purpose=purpose_text,
            scenario=scenario_text, items=[i for i in open_fields if i in wanted], period_start=start, period_end=end,
            due_date=due,
        )
        record_event(
            actor, "opendata.application.file", object_type="opendata_application", object_id=application.pk,
            request=request, details={"resource": dataset.resource_code, "items": application.items,
                                      "enterprise": enterprise.pk if enterprise is not None else None},
        )
    return application


def _application_for_review(actor: Any, application_id: int) -> tuple[DataApplication, Any]:
    from zhengwu.catalog.models import CatalogEntry

    application = DataApplication.objects.select_for_update().filter(pk=application_id).first()
    if application is None:
        raise NotFound("申请不存在", "application")
    entry = CatalogEntry.objects.select_related("provider").filter(resource_code=application.resource_code).first()
    if entry is None or not is_reviewer(actor, entry.provider):
        raise PermissionDenied("只有数据提供单位的开放数据审核员或数据管理员可以审核该申请", "application")
    if application.status != ApplicationStatus.PENDING:
        raise DomainError(f"该申请{application.get_status_display()}，不能再审核", "application")
    return application, entry


def _key_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def do_approve_application(
    actor: Any, application_id: int, *, reason: str = "", request: HttpRequest | None = None,
) -> DataApplication:
    """Approve: the applicant may then issue an API key for that dataset, its applied items and
    period (do_issue_api_key), shown to them once."""
    with _attempt(actor, "opendata.application.approve", application_id, request, object_type="opendata_application"):
        application, _entry = _application_for_review(actor, application_id)
        note = str(reason or "").replace("\x00", "").strip()[:2000]
        application.status = ApplicationStatus.APPROVED
        application.decided_by = actor
        application.decided_at = timezone.now()
        application.decision_reason = note
        application.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record_event(
            actor, "opendata.application.approve", object_type="opendata_application", object_id=application.pk,
            request=request, details={"resource": application.resource_code, "items": application.items,
                                      "until": application.period_end.isoformat()},
        )
    return application


def do_issue_api_key(actor: Any, application_id: int, *, request: HttpRequest | None = None) -> tuple[ApiKey, str]:
    """The applicant of an approved application gets its API key (a new one replaces the old:
    only a digest is kept, so a lost key cannot be shown again). Returns the key, once."""
    with _attempt(actor, "opendata.key.issue", application_id, request, object_type="opendata_application"):
        application = DataApplication.objects.select_for_update().filter(pk=application_id).first()
        if application is None or application.applicant_id != getattr(actor, "pk", None):
            raise NotFound("申请不存在", "application")
        if application.status != ApplicationStatus.APPROVED:
            raise DomainError(f"该申请{application.get_status_display()}，没有接口密钥", "application")
        if application.period_end < timezone.localdate():
            raise DomainError("该申请的使用期限已过，请重新申请", "application")
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key, created = ApiKey.objects.update_or_create(application=application, defaults={
            "digest": _key_digest(raw), "prefix": raw[:12], "resource_code": application.resource_code,
            "items": list(application.items), "valid_from": application.period_start,
            "valid_until": application.period_end, "revoked_at": None,
        })
        record_event(actor, "opendata.key.issue", object_type="opendata_application", object_id=application.pk,
                     request=request, details={"resource": application.resource_code, "prefix": key.prefix,
                                               "replaced": not created})
    return key, raw


def do_refuse_application(
    actor: Any, application_id: int, *, reason: str, request: HttpRequest | None = None,
) -> DataApplication:
    with _attempt(actor, "opendata.application.refuse", application_id, request, object_type="opendata_application"):
        application, _entry = _application_for_review(actor, application_id)
        note = _clean_text(reason, "reason", "不予同意的理由", minimum=5, maximum=2000)
        application.status = ApplicationStatus.REFUSED
        application.decided_by = actor
        application.decided_at = timezone.now()
        application.decision_reason = note
        application.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record_event(
            actor, "opendata.application.refuse", object_type="opendata_application", object_id=application.pk,
            request=request, details={"resource": application.resource_code, "reason": note},
        )
    return application


def authenticate_api_key(raw: str, resource_code: str) -> ApiKey | None:
    """The key in force for this dataset today, or None (unknown, revoked, expired, other dataset)."""
    raw = str(raw or "").strip()
    if not raw.startswith(KEY_PREFIX):
        return None
    key = ApiKey.objects.select_related("application").filter(digest=_key_digest(raw)).first()
    today = timezone.localdate()
    if key is None or key.resource_code != resource_code or key.revoked_at is not None:
        return None
    if not (key.valid_from <= today <= key.valid_until) or key.application.status != ApplicationStatus.APPROVED:
        return None
    return key


def record_key_use(key: ApiKey, what: str, *, request: HttpRequest | None = None, rows: int = 0) -> None:
    """Conditional data leaves only with a key: each use is audited, as the applicant."""
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    record_event(
        key.application.applicant, "opendata.key.use", object_type="opendata_api_key", object_id=key.pk,
        request=request, details={"resource": key.resource_code, "what": what, "rows": rows},
    )


# --- reuses (应用成果) ---------------------------------------------------------------------------------------


def _check_url(url: str) -> str:
    url = str(url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise DomainError("访问地址：请填写以 http:// 或 https:// 开头的网址", "url")
    return url


def do_submit_reuse(
    actor: Any, *, title: str, description: str, url: str, resource_codes: list[str], request: HttpRequest | None = None,
) -> Reuse:
    from . import queries

    with _attempt(actor, "opendata.reuse.submit", "", request, object_type="opendata_reuse"):
        if not is_public_person(actor):
            raise PermissionDenied("请先以注册的个人或企业账号登录门户再提交应用成果", "submitter")
        title_text = _clean_text(title, "title", "名称", minimum=2, maximum=100)
        text = _clean_text(description, "description", "简介", minimum=10, maximum=4000)
        link = _check_url(url)
        codes = []
        for code in resource_codes or []:
            codes.append(queries.get_dataset(code).resource_code)
        if not codes:
            raise DomainError("使用的数据集：至少选择一个", "resource_codes")
        reuse = Reuse.objects.create(
            title=title_text, description=text, url=link, resource_codes=list(dict.fromkeys(codes)), submitter=actor,
        )
        record_event(actor, "opendata.reuse.submit", object_type="opendata_reuse", object_id=reuse.pk, request=request,
                     details={"title": title_text, "datasets": reuse.resource_codes})
    return reuse


def do_moderate_reuse(
    actor: Any, reuse_id: int, *, publish: bool, note: str = "", request: HttpRequest | None = None,
) -> Reuse:
    with _attempt(actor, "opendata.reuse.publish" if publish else "opendata.reuse.reject", reuse_id, request,
                  object_type="opendata_reuse"):
        if not is_moderator(actor):
            raise PermissionDenied("只有数据主管部门的开放数据审核员可以审核应用成果")
        reuse = Reuse.objects.select_for_update().filter(pk=reuse_id).first()
        if reuse is None:
            raise NotFound("应用成果不存在", "reuse")
        if reuse.status != ModerationStatus.PENDING:
            raise DomainError(f"该应用成果{reuse.get_status_display()}，不能再审核", "reuse")
        text = str(note or "").replace("\x00", "").strip()[:2000]
        if not publish and len(text) < 5:
            raise DomainError("审核意见：未通过时请说明理由（至少 5 个字）", "note")
        reuse.status = ModerationStatus.PUBLISHED if publish else ModerationStatus.REJECTED
        reuse.moderated_by, reuse.moderated_at, reuse.moderation_note = actor, timezone.now(), text
        reuse.save(update_fields=["status", "moderated_by", "moderated_at", "moderation_note"])
        record_event(actor, "opendata.reuse.publish" if publish else "opendata.reuse.reject", object_type="opendata_reuse",
                     object_id=reuse.pk, request=request, details={"note": text})
    return reuse


# --- discussions (纠错 / 需求) ---------------------------------------------------------------------------------


def do_post_discussion(
    actor: Any, resource_code: str, *, kind: str, title: str, body: str, request: HttpRequest | None = None,
) -> Discussion:
    from . import queries

    with _attempt(actor, "opendata.discussion.post", resource_code, request, object_type="opendata_discussion"):
        if not is_public_person(actor):
            raise PermissionDenied("请先以注册的个人或企业账号登录门户再留言", "author")
        dataset = queries.get_dataset(resource_code)
        if kind not in DiscussionKind.values:
            raise DomainError("类型：请选择“纠错”或“需求”", "kind")
        item = Discussion.objects.create(
            resource_code=dataset.resource_code, kind=kind,
            title=_clean_text(title, "title", "标题", minimum=2, maximum=100),
            body=_clean_text(body, "body", "内容", minimum=5, maximum=4000), author=actor,
        )
        record_event(actor, "opendata.discussion.post", object_type="opendata_discussion", object_id=item.pk,
                     request=request, details={"resource": dataset.resource_code, "kind": kind})
    return item


def do_answer_discussion(actor: Any, discussion_id: int, *, answer: str, request: HttpRequest | None = None) -> Discussion:
    from zhengwu.catalog.models import CatalogEntry

    with _attempt(actor, "opendata.discussion.answer", discussion_id, request, object_type="opendata_discussion"):
        item = Discussion.objects.select_for_update().filter(pk=discussion_id).first()
        if item is None:
            raise NotFound("留言不存在", "discussion")
        entry = CatalogEntry.objects.select_related("provider").filter(resource_code=item.resource_code).first()
        if entry is None or not is_reviewer(actor, entry.provider):
            raise PermissionDenied("只有数据提供单位的开放数据审核员或数据管理员可以答复")
        if item.answered_at is not None:
            raise DomainError("该留言已答复", "discussion")
        item.answer = _clean_text(answer, "answer", "答复", minimum=5, maximum=4000)
        item.answered_by, item.answered_at = actor, timezone.now()
        item.save(update_fields=["answer", "answered_by", "answered_at"])
        record_event(actor, "opendata.discussion.answer", object_type="opendata_discussion", object_id=item.pk,
                     request=request, details={"resource": item.resource_code})
    return item
