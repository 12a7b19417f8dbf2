"""Reads of 数据交换, scoped by the actor, and the change feed.

`feed_page(grant, cursor, limit)` is the pull channel, for this app's API and for the gateway to
mount for a unit's system: no cursor starts a bulk extract of the current version (every row the
grant allows, as upserts, in the version's fixed file order, each page read from the position its
cursor holds); when the extract ends the cursor moves to change
mode at that version, and each later call returns the changes since (collapsed per key, the same
as the push channels). The cursor is an opaque token signed with the platform secret (position,
page, grant); a tampered, foreign or malformed cursor is refused. After a rollback the answer is
`resync_required` with no changes: start again without a cursor.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db.models import QuerySet
from django.http import HttpRequest

from zhengwu.audit.services import record_event
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied
from zhengwu.sharing.models import ShareGrant
from zhengwu.sharing.services import _is_staff

from . import changes, delivery
from .models import Delivery, DeliveryStatus, Subscription, SubscriptionKind

FEED_SALT = "zhengwu.exchange.feed"
MAX_FEED_LIMIT = 5000


@dataclass
class FeedPage:
    changes: list[dict[str, Any]]
    next_cursor: str | None
    resync_required: bool
    version: int | None = None  # the version this page brings the consumer towards
    items: list[str] = field(default_factory=list)
    masked_items: list[str] = field(default_factory=list)
    # (kind, keyed hash) of each person / enterprise whose row this page carries (upserts only: a
    # delete carries no data) — the caller writes them to 数据使用记录 (DataUse, operation feed).
    subjects: list[tuple[str, str]] = field(default_factory=list)


def _encode(grant: ShareGrant, **state: Any) -> str:
    return signing.dumps({"g": grant.pk, **state}, salt=FEED_SALT, compress=True)


def _decode(grant: ShareGrant, cursor: str) -> dict[str, Any]:
    try:
        state = signing.loads(cursor, salt=FEED_SALT)
    except signing.BadSignature:
        raise DomainError("游标无效：已被修改或不是本平台签发的游标，请不带游标重新开始", "cursor") from None
    if not isinstance(state, dict) or state.get("g") != grant.pk or state.get("m") not in ("bulk", "changes"):
        raise DomainError("游标无效：不属于该共享授权，请不带游标重新开始", "cursor")
    if not isinstance(state.get("v"), int):
        raise DomainError("游标无效：缺少版本，请不带游标重新开始", "cursor")
    return state


def _after(keys: list[str], after: str) -> int:
    return bisect.bisect_right(keys, after) if after else 0


def feed_page(grant: ShareGrant, cursor: str | None, limit: int) -> FeedPage:
    """One page of the change feed of `grant` (see the module doc)."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_FEED_LIMIT:
        raise DomainError(f"limit 必须在 1 到 {MAX_FEED_LIMIT} 之间", "limit")
    if not delivery.grant_in_force(Subscription(grant=grant)):
        raise PermissionDenied("共享授权已撤销、过期或未生效，不能读取变更")
    state = _decode(grant, cursor) if cursor else None
    view = changes.view_for(grant)
    meta: dict[str, Any] = {"items": view.items, "masked_items": view.masked_fields}
    target = changes.target_version(view.resource_code)
    if target is None:
        return FeedPage([], cursor or None, False, None, **meta)
    if state is None or state["m"] == "bulk":
        version = int(state["v"]) if state else target
        # A bulk cursor holds the raw position reached in the version's fixed order; a cursor from
        # before positions (it held a key) starts the extract again: its pages are upserts, so the
        # rows already received are only written again.
        start = state.get("p", 0) if state else 0
        if not isinstance(start, int) or start < 0:
            raise DomainError("游标无效：位置不正确，请不带游标重新开始", "cursor")
        rows, named, following = changes.snapshot_slice(view, version, start, limit)
        out = [{"op": "upsert", "key": r[changes.KEY_COLUMN], "version": version, "row": r} for r in rows]
        who = changes.hashed_subjects(named)
        if following is None:
            return FeedPage(out, _encode(grant, m="changes", v=version), False, version, **meta, subjects=who)
        return FeedPage(out, _encode(grant, m="bulk", v=version, p=following), False, version, **meta, subjects=who)
    position = int(state["v"])
    end = int(state.get("t") or target)
    if end <= position:
        return FeedPage([], _encode(grant, m="changes", v=position), False, position, **meta)
    try:
        change_set = changes.change_set(view, position, end)
    except changes.ResyncRequired:
        return FeedPage([], None, True, target, **meta)
    ops = change_set.ops()
    keys = [o[0] for o in ops]
    start = _after(keys, str(state.get("k") or ""))
    page_ops = ops[start:start + limit]
    out = [
        {"op": op, "key": key, "version": end, **({"row": row} if row is not None else {})}
        for key, op, row in page_ops
    ]
    who = changes.hashed_subjects(change_set.subject_values.get(key, ()) for key, op, _ in page_ops if op == "upsert")
    if start + limit >= len(ops):
        return FeedPage(out, _encode(grant, m="changes", v=end), False, end, **meta, subjects=who)
    after = _encode(grant, m="changes", v=position, t=end, k=page_ops[-1][0])
    return FeedPage(out, after, False, end, **meta, subjects=who)


# --- the consumer's and the provider's views -----------------------------------------------------------


def _unit_id(actor: Any) -> int:
    if not _is_staff(actor):
        raise PermissionDenied("请用单位工作人员账号登录")
    return int(actor.unit_id)


def _subscriptions() -> QuerySet[Subscription]:
    return Subscription.objects.select_related("grant", "grant__entry", "grant__provider", "consumer", "created_by")


def my_subscriptions(actor: Any) -> QuerySet[Subscription]:
    """The subscriptions of the actor's unit (as consumer)."""
    return _subscriptions().filter(consumer_id=_unit_id(actor))


def subscribers_of_my_resources(actor: Any) -> QuerySet[Subscription]:
    """Who subscribes to the resources of the actor's unit (as provider)."""
    return _subscriptions().filter(grant__provider_id=_unit_id(actor))


def get_subscription(actor: Any, pk: int) -> Subscription:
    """A subscription of the actor's unit, or one to the actor's unit's resource (read only)."""
    unit_id = _unit_id(actor)
    found = _subscriptions().filter(pk=pk).first()
    if found is None or unit_id not in (found.consumer_id, found.grant.provider_id):
        raise NotFound("订阅不存在或无权查看", "subscription")
    return found


def deliveries_of(subscription: Subscription, status: str = "") -> QuerySet[Delivery]:
    qs = subscription.deliveries.all().order_by("-id")
    return qs.filter(status=status) if status else qs


def dead_letters(actor: Any) -> QuerySet[Delivery]:
    return Delivery.objects.select_related("subscription").filter(
        subscription__consumer_id=_unit_id(actor), status=DeliveryStatus.DEAD
    ).order_by("-id")


def feed_for(
    actor: Any, subscription_id: int, cursor: str | None, limit: int, *, request: HttpRequest | None = None
) -> FeedPage:
    """The change feed of a feed subscription of the actor's unit, for its staff. Audited."""
    sub = get_subscription(actor, subscription_id)
    if sub.consumer_id != actor.unit_id:
        raise NotFound("订阅不存在或无权查看", "subscription")
    if sub.kind != SubscriptionKind.FEED:
        raise DomainError("只有“变更订阅（拉取）”方式的订阅可以拉取变更", "subscription")
    if sub.status in ("paused", "disabled"):
        raise DomainError(f"订阅当前为“{sub.get_status_display()}”，不能拉取", "subscription")
    page = feed_page(sub.grant, cursor, limit)
    if page.subjects:  # 数据使用记录: the unit pulled these people's / enterprises' rows
        from zhengwu.sharing.gateway.models import Operation
        from zhengwu.sharing.gateway.services import record_delivery

        record_delivery(sub.grant, operation=Operation.FEED, channel=sub.name, row_count=len(page.changes),
                        subjects=page.subjects)
    record_event(
        actor, "exchange.feed.read", object_type="exchange_subscription", object_id=sub.pk, request=request,
        details={"grant": sub.grant_id, "rows": len(page.changes), "version": page.version,
                 "resync_required": page.resync_required, "bulk": cursor is None},
    )
    return page
