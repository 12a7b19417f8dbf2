"""The delivery engine: brings a push subscription (webhook or 库表交换) from its position to the
resource's current version, one step at a time, in order.

A run claims the subscription (a lease: one run per subscription at a time, on any number of
workers), then repeats:

1. an open step (deliveries pending, failed or dead) is finished first: a dead page blocks the
   subscription until the consumer redelivers it; a failed page waits for its next attempt;
2. otherwise a new step from `position` to the target version (the latest recorded, not undone)
   is made: the changes between them (`changes.change_set`), or — for the first delivery, after a
   rollback, or when the change feed cannot span the range — the whole content (a resync);
3. pages are sent in order; the position moves to the step's `to_version` only after its last
   page succeeded. A failure counts an attempt and schedules the next one after
   BASE × FACTOR^(attempts−1) seconds; after MAX_ATTEMPTS the page is dead (死信).

Nothing is stored of the rows themselves: a page is rebuilt from the lake (versions are immutable)
when it is retried, so a retry sends the same body under the same delivery id.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from zhengwu.audit.services import record_event
from zhengwu.core.crypto import decrypt_field
from zhengwu.core.errors import DomainError
from zhengwu.sharing.gateway.models import Operation
from zhengwu.sharing.gateway.services import record_delivery
from zhengwu.sharing.models import GrantStatus

from . import changes, destinations
from .models import Delivery, DeliveryKind, DeliveryStatus, Subscription, SubscriptionKind, SubscriptionStatus

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=15)
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.DEAD)
MAX_STEPS_PER_RUN = 20


def secret_context(subscription_id: int) -> str:
    return f"exchange.webhook:{subscription_id}"


def password_context(subscription_id: int) -> str:
    return f"exchange.database:{subscription_id}"


def retry_delay(attempts: int) -> timedelta:
    base = float(getattr(settings, "EXCHANGE_RETRY_BASE_SECONDS", 60))
    factor = float(getattr(settings, "EXCHANGE_RETRY_FACTOR", 2))
    return timedelta(seconds=base * factor ** max(0, attempts - 1))


def max_attempts() -> int:
    return max(1, int(getattr(settings, "EXCHANGE_MAX_ATTEMPTS", 12)))


def grant_in_force(subscription: Subscription, today: Any = None) -> bool:
    grant = subscription.grant
    today = today or timezone.localdate()
    return grant.status == GrantStatus.ACTIVE and grant.valid_from <= today <= grant.valid_until


def database_target(subscription: Subscription) -> destinations.DatabaseTarget:
    password = decrypt_field(subscription.db_password_encrypted, password_context(subscription.pk)) if subscription.db_password_encrypted else ""
    return destinations.DatabaseTarget(
        engine=subscription.db_engine, host=subscription.db_host, port=int(subscription.db_port or 0),
        database=subscription.db_name, user=subscription.db_user, password=password, table=subscription.db_table,
    )


@contextmanager
def _claimed(subscription_id: int, now: datetime) -> Iterator[bool]:
    taken = Subscription.objects.filter(pk=subscription_id).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).update(lease_until=now + LEASE)
    try:
        yield bool(taken)
    finally:
        if taken:
            Subscription.objects.filter(pk=subscription_id).update(lease_until=None)


def run_subscription(subscription_id: int, now: datetime | None = None) -> str:
    """Deliver what is due for one subscription; returns what happened ("current", "waiting",
    "dead", "failed", "busy", "paused", "disabled", "feed", "no-data")."""
    now = now or timezone.now()
    with _claimed(subscription_id, now) as taken:
        if not taken:
            return "busy"
        outcome = "current"
        for _ in range(MAX_STEPS_PER_RUN):
            outcome = _one_step(subscription_id, now)
            if outcome != "advanced":
                break
        return outcome


def _one_step(subscription_id: int, now: datetime) -> str:
    sub = Subscription.objects.select_related("grant", "grant__entry", "consumer").get(pk=subscription_id)
    if sub.status == SubscriptionStatus.DISABLED:
        return "disabled"
    if sub.status == SubscriptionStatus.PAUSED:
        return "paused"
    if sub.kind == SubscriptionKind.FEED:
        return "feed"
    if not grant_in_force(sub):
        _disable(sub, "共享授权已撤销或已过期，订阅停止投递")
        return "disabled"
    open_pages = list(sub.deliveries.filter(status__in=OPEN).order_by("page", "id"))
    if open_pages:
        if any(d.status == DeliveryStatus.DEAD for d in open_pages):
            return "dead"
        head = open_pages[0]
        if head.status == DeliveryStatus.FAILED and head.next_attempt_at and head.next_attempt_at > now:
            return "waiting"
        return _send(sub, open_pages, now)
    target = changes.target_version(sub.resource_code)
    if target is None:
        return "no-data"
    if sub.position == target and sub.status != SubscriptionStatus.RESYNC:
        return "current"
    view = changes.view_for(sub.grant)
    full = sub.position is None or sub.status == SubscriptionStatus.RESYNC
    change_set: changes.ChangeSet | None = None
    if not full:
        assert sub.position is not None
        try:
            change_set = changes.change_set(view, sub.position, target)
        except changes.ResyncRequired as exc:
            full = True
            _mark_resync(sub, str(exc))
    if full:
        _plan(sub, target, None, count=changes.snapshot_count(view, target))
    else:
        assert change_set is not None
        if not len(change_set):
            _advance(sub, target, now, None)  # nothing the consumer sees changed
            return "advanced"
        _plan(sub, target, change_set)
    open_pages = list(sub.deliveries.filter(status__in=OPEN).order_by("page", "id"))
    return _send(sub, open_pages, now, view=view, change_set=change_set)


def _plan(sub: Subscription, target: int, change_set: changes.ChangeSet | None, *, count: int = 0) -> None:
    """Create the deliveries of one step: a database gets one (one transaction); a webhook gets a
    page per ZHENGWU_EXCHANGE_PAGE_ROWS rows, a resync led by its `resync` event (page 0).
    `count`: the rows of a snapshot step (`changes.snapshot_count`)."""
    kind = DeliveryKind.CHANGES if change_set is not None else DeliveryKind.SNAPSHOT
    count = len(change_set) if change_set is not None else count
    from_version = sub.position if change_set is not None else None
    made: list[Delivery] = []
    if sub.kind == SubscriptionKind.DATABASE:
        made.append(Delivery(subscription=sub, kind=kind, from_version=from_version, to_version=target, page=1, pages=1))
    else:
        total = changes.pages(count)
        if change_set is None:
            made.append(Delivery(subscription=sub, kind=DeliveryKind.RESYNC, to_version=target, page=0, pages=total))
        made += [
            Delivery(subscription=sub, kind=kind, from_version=from_version, to_version=target, page=n, pages=total)
            for n in range(1, total + 1)
        ]
    for d in made:
        d.delivery_id = uuid.uuid4().hex
    with transaction.atomic():
        Delivery.objects.bulk_create(made)


def _page_ops(ops: list[tuple[str, str, dict[str, Any] | None]], page: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    size = changes.page_rows()
    return ops[(page - 1) * size: page * size]


def body_of(
    sub: Subscription, delivery: Delivery, view: changes.GrantView, ops: list[tuple[str, str, dict[str, Any] | None]],
    *, paged: bool = False,
) -> bytes:
    """The JSON body of a webhook page (deterministic: a retry sends the same bytes). `ops` are
    the step's operations, or with `paged` this page's own."""
    payload: dict[str, Any] = {
        "event": delivery.kind, "delivery_id": delivery.delivery_id, "subscription": sub.pk,
        "resource_code": sub.resource_code, "from_version": delivery.from_version, "to_version": delivery.to_version,
        "page": delivery.page, "pages": delivery.pages, "key": changes.KEY_COLUMN, "items": view.items,
        "masked_items": view.masked_fields,
    }
    if delivery.kind != DeliveryKind.RESYNC:
        page = ops if paged else _page_ops(ops, delivery.page)
        payload["upserts"] = [row for _, op, row in page if op == "upsert"]
        payload["deletes"] = [key for key, op, _ in page if op == "delete"]
    else:
        payload["reason"] = "首次同步或数据回滚：请清空本地副本，随后各页为该版本的全部内容"
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _send(
    sub: Subscription, open_pages: list[Delivery], now: datetime, *, view: changes.GrantView | None = None,
    change_set: changes.ChangeSet | None = None,
) -> str:
    head = open_pages[0]
    view = view or changes.view_for(sub.grant)
    if head.kind != DeliveryKind.CHANGES:
        return _send_snapshot(sub, open_pages, now, view)
    if change_set is None:
        assert head.from_version is not None
        try:
            change_set = changes.change_set(view, head.from_version, head.to_version)
        except changes.ResyncRequired as exc:
            # The step can no longer be rebuilt: drop it, take the whole content instead.
            sub.deliveries.filter(status__in=OPEN).delete()
            _mark_resync(sub, str(exc))
            return "advanced"
    ops = change_set.ops()
    upserts, deletes = change_set.upserts, change_set.deletes
    for delivery in open_pages:

        def send(delivery: Delivery = delivery) -> None:
            if sub.kind == SubscriptionKind.DATABASE:
                applied = destinations.write_step(
                    database_target(sub), sub.pk, delivery.delivery_id, view.items, delivery.to_version, upserts, deletes,
                    replace=False,
                )
                delivery.rows_upserted, delivery.rows_deleted = (len(upserts), len(deletes)) if applied else (0, 0)
            else:
                page = _page_ops(ops, delivery.page)
                _post(sub, delivery, view, page)
                delivery.rows_upserted = sum(1 for _, op, _ in page if op == "upsert")
                delivery.rows_deleted = sum(1 for _, op, _ in page if op == "delete")

        failed = _try_send(sub, delivery, now, send)
        if failed:
            return failed
    if upserts:
        # Whose rows reached the consumer: the step's upserts (deletes carry no data), once per step.
        _record(sub, len(upserts), change_set.subjects)
    _advance(sub, head.to_version, now, head)
    return "advanced"


def _send_snapshot(sub: Subscription, open_pages: list[Delivery], now: datetime, view: changes.GrantView) -> str:
    """A resync / first load: the whole content of the step's version, streamed from the lake a
    page at a time (`changes.snapshot_pages`) — the version is never held in memory; a retried
    page is rebuilt from the same fixed order."""
    head = open_pages[0]
    version = head.to_version
    total = 0
    if sub.kind == SubscriptionKind.DATABASE:
        counted = {"rows": 0}

        def stream() -> Iterator[dict[str, Any]]:
            for _, rows, _ in changes.snapshot_pages(view, version, WRITE_BATCH_ROWS):
                counted["rows"] += len(rows or ())
                yield from rows or ()

        for delivery in open_pages:

            def write(delivery: Delivery = delivery) -> None:
                applied = destinations.write_step(
                    database_target(sub), sub.pk, delivery.delivery_id, view.items, version, stream(), [], replace=True,
                )
                delivery.rows_upserted, delivery.rows_deleted = (counted["rows"], 0) if applied else (0, 0)

            failed = _try_send(sub, delivery, now, write)
            if failed:
                return failed
        total = counted["rows"] or changes.snapshot_count(view, version)
    else:
        pages = changes.snapshot_pages(view, version, changes.page_rows(), first_page=max(1, head.page))
        current: tuple[int, list[dict[str, Any]] | None, int] | None = None
        for delivery in open_pages:
            rows: list[dict[str, Any]] = []
            if delivery.kind != DeliveryKind.RESYNC:
                while current is None or current[0] < delivery.page:
                    current = next(pages, (delivery.page, [], 0))
                rows = list(current[1] or [])

            def post(delivery: Delivery = delivery, rows: list[dict[str, Any]] = rows) -> None:
                _post(sub, delivery, view, [(r[changes.KEY_COLUMN], "upsert", r) for r in rows], paged=True)
                delivery.rows_upserted, delivery.rows_deleted = len(rows), 0

            failed = _try_send(sub, delivery, now, post)
            if failed:
                return failed
        total = changes.snapshot_count(view, version)  # the step's rows (pages of earlier runs too)
    if total:
        _record(sub, total, changes.snapshot_subjects(view, version))
    _advance(sub, version, now, head)
    return "advanced"


WRITE_BATCH_ROWS = 5000


def _post(sub: Subscription, delivery: Delivery, view: changes.GrantView, ops: list[Any], *, paged: bool = True) -> None:
    body = body_of(sub, delivery, view, ops, paged=paged)
    secret = decrypt_field(sub.secret_encrypted, secret_context(sub.pk))
    status = destinations.post_webhook(sub.webhook_url, secret, delivery.delivery_id, delivery.kind, body)
    if not 200 <= status < 300:
        raise DomainError(f"推送地址返回 HTTP {status}", "webhook_url")


def _try_send(sub: Subscription, delivery: Delivery, now: datetime, send: Any) -> str | None:
    """One attempt at one delivery: "dead" / "failed" when it failed (counted, retry scheduled),
    None when it went through (marked delivered)."""
    Subscription.objects.filter(pk=sub.pk).update(lease_until=now + LEASE)
    delivery.attempts += 1
    delivery.attempted_at = now
    try:
        send()
    except DomainError as exc:
        _failed(sub, delivery, exc, now)
        return "dead" if delivery.status == DeliveryStatus.DEAD else "failed"
    with transaction.atomic():
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.last_error = ""
        delivery.save()
    return None


def _record(sub: Subscription, row_count: int, subjects: list[tuple[str, str]]) -> None:
    record_delivery(
        sub.grant, operation=Operation.TABLE if sub.kind == SubscriptionKind.DATABASE else Operation.PUSH,
        channel=sub.name, row_count=row_count, subjects=subjects,
    )


def _failed(sub: Subscription, delivery: Delivery, exc: DomainError, now: datetime) -> None:
    detail = str(getattr(exc, "detail", "") or "")
    dead = delivery.attempts >= max_attempts()
    with transaction.atomic():
        delivery.status = DeliveryStatus.DEAD if dead else DeliveryStatus.FAILED
        delivery.next_attempt_at = None if dead else now + retry_delay(delivery.attempts)
        delivery.last_error = exc.message[:1000]
        delivery.save()
        Subscription.objects.filter(pk=sub.pk).update(last_error=exc.message[:1000])
        record_event(
            None, "exchange.delivery.dead" if dead else "exchange.delivery.fail", object_type="exchange_subscription",
            object_id=sub.pk, result="failure",
            details={"delivery": delivery.delivery_id, "page": delivery.page, "to_version": delivery.to_version,
                     "attempts": delivery.attempts, "reason": exc.message, "detail": detail[:1000],
                     "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None},
        )
    if dead:
        _notify_dead(sub, delivery)


def _notify_dead(sub: Subscription, delivery: Delivery) -> None:
    """Tell the subscription's creator and the consumer unit's 数据管理员 (a dead page blocks it)."""
    try:
        from django.urls import reverse

        from zhengwu.catalog.constants import DATA_ADMIN_ROLE
        from zhengwu.core import notifications

        notifications.notify(
            [sub.created_by], role=DATA_ADMIN_ROLE, unit=sub.consumer, kind="exchange.dead",
            title=f"数据交换订阅“{sub.name}”投递失败，已转入死信",
            body=f"投递 {delivery.delivery_id}（版本 {delivery.to_version}，第 {delivery.page} 页）重试 {delivery.attempts} 次仍失败："
                 f"{delivery.last_error}。排除故障后请在订阅页“重新投递”，之后的版本才会继续投递。",
            url=reverse("exchange:detail", args=[sub.pk]),
        )
    except Exception:
        log.exception("could not notify the dead letter of subscription %s", sub.pk)


def _advance(sub: Subscription, version: int, now: datetime, head: Delivery | None) -> None:
    with transaction.atomic():
        was = sub.status
        fields: dict[str, Any] = {"position": version, "last_delivered_at": timezone.now(), "last_error": ""}
        if was == SubscriptionStatus.RESYNC:
            fields.update(status=SubscriptionStatus.ACTIVE, status_reason="")
        Subscription.objects.filter(pk=sub.pk).update(**fields)
        record_event(
            None, "exchange.delivery.deliver", object_type="exchange_subscription", object_id=sub.pk,
            details={"from": sub.position, "to": version, "kind": head.kind if head else "nothing-visible",
                     "pages": head.pages if head else 0, "resync": was == SubscriptionStatus.RESYNC},
        )


def _mark_resync(sub: Subscription, why: str) -> None:
    with transaction.atomic():
        Subscription.objects.filter(pk=sub.pk).update(status=SubscriptionStatus.RESYNC, status_reason=why[:300])
        sub.status = SubscriptionStatus.RESYNC
        record_event(None, "exchange.subscription.resync", object_type="exchange_subscription", object_id=sub.pk,
                     details={"position": sub.position, "reason": why[:300]})


def _disable(sub: Subscription, why: str) -> None:
    with transaction.atomic():
        Subscription.objects.filter(pk=sub.pk).update(status=SubscriptionStatus.DISABLED, status_reason=why[:300])
        record_event(None, "exchange.subscription.disable", object_type="exchange_subscription", object_id=sub.pk,
                     details={"grant": sub.grant_id, "reason": why})


def due_subscriptions(now: datetime | None = None) -> list[int]:
    """Push subscriptions with something to do: behind the current version, or with a failed page
    whose next attempt is due."""
    now = now or timezone.now()
    out: list[int] = []
    subs = Subscription.objects.filter(
        status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.RESYNC),
        kind__in=(SubscriptionKind.WEBHOOK, SubscriptionKind.DATABASE),
    )
    targets: dict[str, int | None] = {}
    for sub in subs:
        opened = sub.deliveries.filter(status__in=OPEN)
        if opened.filter(status=DeliveryStatus.DEAD).exists():
            continue
        if opened.exists():
            if opened.filter(Q(status=DeliveryStatus.PENDING) | Q(next_attempt_at__lte=now)).exists():
                out.append(sub.pk)
            continue
        if sub.resource_code not in targets:
            targets[sub.resource_code] = changes.target_version(sub.resource_code)
        target = targets[sub.resource_code]
        if target is not None and (sub.position != target or sub.status == SubscriptionStatus.RESYNC):
            out.append(sub.pk)
    return out


def run_due(now: datetime | None = None) -> dict[int, str]:
    """The periodic job's work: retry due pages and catch up subscriptions behind the current
    version (a missed listener call is caught up here). Also stops subscriptions whose grant ended."""
    now = now or timezone.now()
    for sub in Subscription.objects.exclude(status=SubscriptionStatus.DISABLED).select_related("grant"):
        if not grant_in_force(sub):
            _disable(sub, "共享授权已撤销或已过期，订阅停止投递")
    outcomes: dict[int, str] = {}
    for pk in due_subscriptions(now):
        try:
            outcomes[pk] = run_subscription(pk, now)
        except Exception:  # one broken subscription (e.g. its resource was retired) must not stop the others
            log.exception("exchange: delivery run of subscription %s failed", pk)
            outcomes[pk] = "error"
    return outcomes
