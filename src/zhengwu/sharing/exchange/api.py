"""/api/v1/exchange/… — the consumer unit's subscriptions (create, list, pause, resume, resync,
stop, test), their deliveries and dead letters (redeliver), the change feed of a feed subscription,
and the provider's list of subscribers. Session-authenticated, for the units' staff; a unit's
systems pull the feed through the gateway (`queries.feed_page`). Thin: rules in `services`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from zhengwu.core.errors import DomainError, NotFound
from zhengwu.core.listing import ListOut, listing

from . import queries, services
from .models import Delivery, DeliveryStatus, Subscription
from .schemas import CreatedOut, DeliveryOut, FeedOut, MessageOut, SubscriptionIn, SubscriptionOut

router = Router(tags=["数据交换"])


def _sub(s: Subscription, actor: Any) -> dict[str, Any]:
    mine = s.consumer_id == getattr(actor, "unit_id", None)
    out: dict[str, Any] = {
        "id": s.pk, "grant": s.grant_id, "resource_code": s.resource_code, "entry_name": s.grant.entry.name,
        "provider": s.grant.provider.name, "consumer": s.consumer.name, "name": s.name, "kind": s.kind,
        "kind_label": s.get_kind_display(), "status": s.status, "status_label": s.get_status_display(),
        "status_reason": s.status_reason, "position": s.position, "created_at": s.created_at,
        "last_delivered_at": s.last_delivered_at,
    }
    if mine:  # the destination and errors are the consumer's own business
        out["webhook_url"] = s.webhook_url or None
        out["database"] = f"{s.db_engine}://{s.db_host}:{s.db_port}/{s.db_name}#{s.db_table}" if s.db_engine else None
        out["last_error"] = s.last_error or None
    return out


def _delivery(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.pk, "delivery_id": d.delivery_id, "kind": d.kind, "from_version": d.from_version,
        "to_version": d.to_version, "page": d.page, "pages": d.pages, "status": d.status,
        "status_label": d.get_status_display(), "attempts": d.attempts, "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error, "rows_upserted": d.rows_upserted, "rows_deleted": d.rows_deleted,
        "created_at": d.created_at, "delivered_at": d.delivered_at,
    }


@router.get("/subscriptions", response=ListOut[SubscriptionOut], summary="本单位的数据交换订阅")
def my_subscriptions(request: HttpRequest) -> dict[str, Any]:
    return listing(_sub(s, request.user) for s in queries.my_subscriptions(request.user)[:500])


@router.post("/subscriptions", response={201: CreatedOut}, summary="订阅（webhook / feed / database）")
def create_subscription(request: HttpRequest, payload: SubscriptionIn) -> Any:
    sub, secret = services.do_create_subscription(
        request.user, payload.grant, kind=payload.kind, name=payload.name, webhook_url=payload.webhook_url,
        db_engine=payload.db_engine, db_host=payload.db_host, db_port=payload.db_port, db_name=payload.db_name,
        db_user=payload.db_user, db_password=payload.db_password, db_table=payload.db_table, request=request,
    )
    sub = queries.get_subscription(request.user, sub.pk)
    return Status(201, {**_sub(sub, request.user), "secret": secret or None})


@router.get("/subscriptions/{pk}", response=SubscriptionOut, summary="一个订阅（订阅单位或提供单位可见）")
def get_subscription(request: HttpRequest, pk: int) -> dict[str, Any]:
    return _sub(queries.get_subscription(request.user, pk), request.user)


@router.get("/subscriptions/{pk}/deliveries", response=ListOut[DeliveryOut], summary="投递记录（新的在前）")
def deliveries(request: HttpRequest, pk: int, status: str = "") -> dict[str, Any]:
    if status and status not in DeliveryStatus.values:
        raise DomainError(f"status：只能是 {'、'.join(DeliveryStatus.values)} 之一", "status")
    sub = queries.get_subscription(request.user, pk)
    return listing(_delivery(d) for d in queries.deliveries_of(sub, status)[:500])


class FeedQuery(Schema):
    cursor: str | None = Field(None, title="游标", max_length=4000)
    limit: int = Field(1000, title="每页条数", ge=1, le=queries.MAX_FEED_LIMIT)


@router.get("/subscriptions/{pk}/feed", response=FeedOut, summary="拉取变更（不带游标从全量开始）")
def feed(request: HttpRequest, pk: int, params: Query[FeedQuery]) -> dict[str, Any]:
    page = queries.feed_for(request.user, pk, params.cursor or None, params.limit, request=request)
    return {"changes": page.changes, "next_cursor": page.next_cursor, "resync_required": page.resync_required,
            "version": page.version, "items": page.items, "masked_items": page.masked_items}


ACTIONS = {
    "pause": services.do_pause_subscription,
    "resume": services.do_resume_subscription,
    "resync": services.do_resync_subscription,
    "disable": services.do_disable_subscription,
}


@router.post("/subscriptions/{pk}/{action}", response=SubscriptionOut | MessageOut,
             summary="订阅操作：暂停（pause）、恢复（resume）、重新同步（resync）、停用（disable）、测试投递（test）")
def subscription_action(request: HttpRequest, pk: int, action: str) -> Any:
    if action == "test":
        return {"detail": services.do_test_subscription(request.user, pk, request=request)}
    service = ACTIONS.get(action)
    if service is None:
        raise NotFound("没有这个操作：只能是 pause、resume、resync、disable、test", "action")
    service(request.user, pk, request=request)
    return _sub(queries.get_subscription(request.user, pk), request.user)


@router.get("/dead-letters", response=ListOut[DeliveryOut], summary="本单位的死信")
def dead_letters(request: HttpRequest) -> dict[str, Any]:
    return listing(_delivery(d) for d in queries.dead_letters(request.user)[:500])


@router.post("/deliveries/{pk}/redeliver", response=DeliveryOut, summary="重新投递死信（同一投递编号）")
def redeliver(request: HttpRequest, pk: int) -> dict[str, Any]:
    found = services.do_redeliver(request.user, pk, request=request)
    found.refresh_from_db()
    return _delivery(found)


@router.get("/subscribers", response=ListOut[SubscriptionOut], summary="订阅本单位资源的单位（提供单位）")
def subscribers(request: HttpRequest) -> dict[str, Any]:
    return listing(_sub(s, request.user) for s in queries.subscribers_of_my_resources(request.user)[:500])
