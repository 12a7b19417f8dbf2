"""State changes of the portal: 通知公告 (notices), edited by 门户编辑 in the staff console.

Each `do_<verb>_notice(actor, ...)` checks the role, writes in one transaction with its audit
record, and refuses bad input with a Chinese DomainError naming the field (nothing changed; the
refusal is audited too).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.services import audited_attempt, record_event
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied

from .models import BODY_MAX, TITLE_MAX, Notice
from .permissions import is_portal_editor

OBJECT_TYPE = "portal_notice"


def _attempt(
    actor: Any, action: str, object_id: Any = "", request: HttpRequest | None = None, details: dict[str, Any] | None = None
) -> AbstractContextManager[None]:
    """audit.services.audited_attempt for notices."""
    return audited_attempt(actor, action, object_type=OBJECT_TYPE, object_id=str(object_id), request=request, details=details)


def _ensure_editor(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied("请先登录")
    if getattr(actor, "admin_role", ""):
        raise PermissionDenied("系统管理员、安全管理员和审计管理员不能编辑通知公告，请用业务人员账号")
    if not is_portal_editor(actor):
        raise PermissionDenied("只有具有“门户编辑”角色的工作人员可以编辑通知公告")


def _text(value: Any, label: str, field: str, limit: int, *, multiline: bool) -> str:
    text = str(value or "")
    if "\x00" in text:
        raise DomainError(f"{label}：含有不允许的控制字符", field)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip() if multiline else " ".join(text.split())
    if not text:
        raise DomainError(f"{label}：必须填写", field)
    if len(text) > limit:
        raise DomainError(f"{label}：最多 {limit} 字（现为 {len(text)} 字）", field)
    return text


def _when(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value.year < 2000 or value.year > 2100:
        raise DomainError("发布时间：须在 2000 年至 2100 年之间", "published_at")
    return value


def _lock(pk: int) -> Notice:
    notice = Notice.objects.select_for_update().filter(pk=pk).first()
    if notice is None:
        raise NotFound("通知公告：该通知不存在或已被删除", "notice")
    return notice


def _summary(notice: Notice) -> dict[str, Any]:
    return {
        "title": notice.title,
        "pinned": notice.pinned,
        "published_at": notice.published_at.isoformat() if notice.published_at else None,
        "body_chars": len(notice.body),
    }


def do_create_notice(
    actor: Any, *, title: str, body: str, pinned: bool = False, published_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> Notice:
    """A new notice: a draft without `published_at`, else published at that time (now or later)."""
    # NUL stripped from the audit copy: PostgreSQL's JSON refuses \u0000 (the refusal itself would fail).
    attempted = str(title or "").replace("\x00", "")[:TITLE_MAX]
    with _attempt(actor, "portal.notice.create", "", request, {"title": attempted}):
        _ensure_editor(actor)
        notice = Notice.objects.create(
            title=_text(title, "标题", "title", TITLE_MAX, multiline=False),
            body=_text(body, "正文", "body", BODY_MAX, multiline=True),
            pinned=bool(pinned),
            published_at=_when(published_at),
            created_by=actor,
        )
        record_event(
            actor, "portal.notice.create", object_type=OBJECT_TYPE, object_id=str(notice.pk),
            details=_summary(notice), request=request,
        )
    return notice


def do_update_notice(
    actor: Any, pk: int, *, title: str, body: str, pinned: bool = False, published_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> Notice:
    with _attempt(actor, "portal.notice.update", pk, request):
        _ensure_editor(actor)
        notice = _lock(pk)
        before = _summary(notice)
        notice.title = _text(title, "标题", "title", TITLE_MAX, multiline=False)
        notice.body = _text(body, "正文", "body", BODY_MAX, multiline=True)
        notice.pinned = bool(pinned)
        notice.published_at = _when(published_at)
        notice.save()
        record_event(
            actor, "portal.notice.update", object_type=OBJECT_TYPE, object_id=str(notice.pk),
            details={"before": before, "after": _summary(notice)}, request=request,
        )
    return notice


def do_publish_notice(actor: Any, pk: int, *, request: HttpRequest | None = None) -> Notice:
    """Publish a draft now (a notice already published or scheduled keeps its time)."""
    with _attempt(actor, "portal.notice.publish", pk, request):
        _ensure_editor(actor)
        notice = _lock(pk)
        if notice.published_at is not None and notice.published_at <= timezone.now():
            raise DomainError("通知公告：该通知已发布", "notice")
        notice.published_at = timezone.now()
        notice.save(update_fields=["published_at", "updated_at"])
        record_event(
            actor, "portal.notice.publish", object_type=OBJECT_TYPE, object_id=str(notice.pk),
            details=_summary(notice), request=request,
        )
    return notice


def do_withdraw_notice(actor: Any, pk: int, *, request: HttpRequest | None = None) -> Notice:
    """Take a notice off the portal (it becomes a draft again)."""
    with _attempt(actor, "portal.notice.withdraw", pk, request):
        _ensure_editor(actor)
        notice = _lock(pk)
        if notice.published_at is None:
            raise DomainError("通知公告：该通知是草稿，尚未发布", "notice")
        before = notice.published_at.isoformat()
        notice.published_at = None
        notice.save(update_fields=["published_at", "updated_at"])
        record_event(
            actor, "portal.notice.withdraw", object_type=OBJECT_TYPE, object_id=str(notice.pk),
            details={"title": notice.title, "was_published_at": before}, request=request,
        )
    return notice


def do_delete_notice(actor: Any, pk: int, *, request: HttpRequest | None = None) -> None:
    """Delete a draft. A published notice is withdrawn first, so nothing disappears unseen."""
    with _attempt(actor, "portal.notice.delete", pk, request):
        _ensure_editor(actor)
        notice = _lock(pk)
        if notice.published_at is not None:
            raise DomainError("通知公告：已发布或定时发布的通知须先撤回再删除", "notice")
        details = _summary(notice)
        notice.delete()
        record_event(
            actor, "portal.notice.delete", object_type=OBJECT_TYPE, object_id=str(pk), details=details,
            request=request,
        )


def parse_publish_time(text: str) -> datetime | None:
    """The 发布时间 field of the notice form ("2026-12-01T09:30", local time); empty = a draft."""
    text = str(text or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return _when(datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise DomainError("发布时间：格式应为“年-月-日 时:分”，如 2026-12-01 09:30；留空则保存为草稿", "published_at")
