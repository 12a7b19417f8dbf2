"""In-app notifications (站内通知) and their email channel.

Services call `notify(...)` when work arrives for a person (a catalog entry to review, a
returned draft, a correction to answer, a failed batch), inside their own transaction: the
notification rows commit with the change that caused them. The e-mail copy, when SMTP is
configured (ZHENGWU_EMAIL_HOST, see docs/configuration.md), is sent after the commit; a failure
is logged, never raised, so a mail server that is down never undoes the work.

Recipients given as a role and a unit ("the data managers of 公安局") are resolved by a resolver
the directory registers at start-up (core cannot import directory).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from . import audit_hook
from .errors import NotFound, PermissionDenied
from .models import Notification

log = logging.getLogger(__name__)

TITLE_MAX = 200
BODY_MAX = 2000

_role_resolver: Callable[[str, Any], Iterable[Any]] | None = None


def register_role_resolver(resolver: Callable[[str, Any], Iterable[Any]]) -> None:
    """`resolver(role_code, unit)` → the active users holding that business role in that unit."""
    global _role_resolver
    _role_resolver = resolver


def users_with_role(role_code: str, unit: Any) -> list[Any]:
    if _role_resolver is None:
        raise RuntimeError("role resolver not registered (zhengwu.directory must be installed)")
    return list(_role_resolver(role_code, unit))


def notify(
    users: Iterable[Any] | None = None,
    *,
    title: str,
    body: str = "",
    url: str = "",
    kind: str = "",
    role: str = "",
    unit: Any = None,
    exclude: Any = None,
) -> list[Notification]:
    """Notify each user (and every holder of `role` in `unit`), once each; `exclude` (the actor
    who caused it) is not told about their own action. Returns the rows created."""
    recipients: dict[int, Any] = {}
    for user in list(users or []) + (users_with_role(role, unit) if role else []):
        if user is None or not getattr(user, "is_active", False):
            continue
        if exclude is not None and user.pk == getattr(exclude, "pk", None):
            continue
        recipients.setdefault(user.pk, user)
    rows = [
        Notification(recipient=u, kind=kind[:60], title=title[:TITLE_MAX], body=body[:BODY_MAX], url=url[:500])
        for u in recipients.values()
    ]
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    if getattr(settings, "EMAIL_HOST", ""):
        mails = [(u.email, title, body, url) for u in recipients.values() if getattr(u, "email", "")]
        if mails:
            transaction.on_commit(lambda: _send_mails(mails))
    return created


def _send_mails(mails: list[tuple[str, str, str, str]]) -> None:
    base = str(getattr(settings, "SITE_URL", "") or "").rstrip("/")
    for address, title, body, url in mails:
        text = body
        if url:
            text = f"{body}\n\n查看：{base}{url}" if base else f"{body}\n\n请登录平台查看：{url}"
        try:
            send_mail(f"[{settings.PLATFORM_NAME}] {title}", text, None, [address], fail_silently=False)
        except Exception:  # a mail server that is down must not undo the work; it is logged
            log.exception("notification e-mail to %s failed", address)


# --- reads ----------------------------------------------------------------------------------------


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for(user: Any, *, unread_only: bool = False) -> Any:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("请先登录")
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


# --- state changes --------------------------------------------------------------------------------


def do_mark_notification_read(actor: Any, notification_id: int, *, request: Any = None) -> Notification:
    """Mark one of the actor's own notifications read (someone else's is "not found")."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("请先登录")
    with transaction.atomic():
        row = Notification.objects.select_for_update().filter(pk=notification_id, recipient=actor).first()
        if row is None:
            raise NotFound("通知不存在", "notification")
        if row.read_at is None:
            row.read_at = timezone.now()
            row.save(update_fields=["read_at"])
            audit_hook.record(
                actor, "core.notification.read", object_type="notification", object_id=row.pk, request=request
            )
    return row


def do_mark_all_notifications_read(actor: Any, *, request: Any = None) -> int:
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("请先登录")
    with transaction.atomic():
        count = Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())
        if count:
            audit_hook.record(
                actor, "core.notification.read_all", object_type="notification", object_id="all",
                details={"count": count}, request=request,
            )
    return count
