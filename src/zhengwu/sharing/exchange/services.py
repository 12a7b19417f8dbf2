"""State changes of 数据交换. Each `do_*` checks permission, writes in one transaction with its
audit record (a refusal changes nothing and is itself audited, `audited_attempt`).

Who does what: the consumer unit's 数据管理员 creates subscriptions on a grant in force of its
unit, tests, pauses, resumes, resyncs and stops them, and redelivers dead letters. The provider
only reads who subscribes to its resources (queries). The delivery engine (`delivery.py`, run by
the worker) makes the deliveries.
"""

from __future__ import annotations

import secrets
from contextlib import AbstractContextManager
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.services import audited_attempt, record_event
from zhengwu.core import egress, limits
from zhengwu.core.crypto import encrypt_field
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied
from zhengwu.sharing.models import ShareGrant
from zhengwu.sharing.services import is_unit_data_admin

from . import changes, delivery, destinations
from .models import (
    DatabaseEngine,
    Delivery,
    DeliveryStatus,
    Subscription,
    SubscriptionKind,
    SubscriptionStatus,
)

MAX_SUBSCRIPTIONS_PER_GRANT = 10


def _attempt(
    actor: Any, action: str, object_id: Any = "", request: HttpRequest | None = None,
    details: dict[str, Any] | None = None, *, object_type: str,
) -> AbstractContextManager[None]:
    return audited_attempt(
        actor, action, object_type=object_type, object_id=object_id, request=request, details=details,
        conflict=("数据已被他人修改，请刷新后重试", None),
    )


def _ensure_consumer_admin(actor: Any, consumer_id: int) -> None:
    if not is_unit_data_admin(actor):
        raise PermissionDenied("只有本单位的数据管理员可以管理数据交换订阅")
    if actor.unit_id != consumer_id:
        raise PermissionDenied("只能使用本单位获得的共享授权订阅数据")


def _grant_for(actor: Any, grant: ShareGrant | int) -> ShareGrant:
    pk = grant.pk if isinstance(grant, ShareGrant) else grant
    found = ShareGrant.objects.select_related("entry", "consumer", "provider").filter(pk=pk).first()
    if found is None or found.consumer_id != getattr(actor, "unit_id", None):
        raise NotFound("共享授权不存在或不属于本单位", "grant")
    return found


def enqueue(subscription_id: int) -> None:
    """Run the subscription's deliveries in the worker once the current transaction commits."""
    from .tasks import deliver_subscription

    transaction.on_commit(lambda: deliver_subscription.enqueue(subscription_id))


def _text(value: Any, label: str, field: str, limit: int) -> str:
    text = str(value or "").strip()
    if not text:
        raise DomainError(f"请填写{label}", field)
    if len(text) > limit:
        raise DomainError(f"{label}不能超过 {limit} 个字符", field)
    limits.check_length(text, limit, label, field)
    return text


def do_create_subscription(
    actor: Any, grant: ShareGrant | int, *, kind: str, name: str, webhook_url: str = "", db_engine: str = "",
    db_host: str = "", db_port: Any = None, db_name: str = "", db_user: str = "", db_password: str = "",
    db_table: str = "", request: HttpRequest | None = None,
) -> tuple[Subscription, str]:
    """Subscribe to a grant's resource. Returns (subscription, webhook secret — shown once; "" for
    other kinds). The destination passes the egress policy now and again at every delivery."""
    grant_id = grant.pk if isinstance(grant, ShareGrant) else grant
    with _attempt(actor, "exchange.subscription.create", "", request, {"grant": grant_id, "kind": kind},
                  object_type="exchange_subscription"):
        if not is_unit_data_admin(actor):
            raise PermissionDenied("只有本单位的数据管理员可以订阅数据交换")
        found = _grant_for(actor, grant_id)
        _ensure_consumer_admin(actor, found.consumer_id)
        if not delivery.grant_in_force(Subscription(grant=found)):
            raise DomainError("该共享授权已撤销、过期或未到生效日期，不能订阅", "grant")
        if kind not in SubscriptionKind.values:
            raise DomainError(f"交换方式只能是 {'、'.join(SubscriptionKind.values)} 之一", "kind")
        title = _text(name, "订阅名称", "name", 100)
        changes.view_for(found)  # the entry must have a key to exchange changes by
        if Subscription.objects.filter(grant=found).exclude(status=SubscriptionStatus.DISABLED).count() >= MAX_SUBSCRIPTIONS_PER_GRANT:
            raise DomainError(f"一个授权最多 {MAX_SUBSCRIPTIONS_PER_GRANT} 个订阅", "grant")
        sub = Subscription(
            grant=found, consumer_id=found.consumer_id, resource_code=found.entry.resource_code, name=title,
            kind=kind, created_by=actor, status=SubscriptionStatus.ACTIVE,
        )
        secret = ""
        details: dict[str, Any] = {"grant": found.pk, "kind": kind, "resource_code": sub.resource_code}
        if kind == SubscriptionKind.WEBHOOK:
            host, port, url = destinations.check_webhook_url(webhook_url)
            destination = egress.resolve_destination(host, port, purpose=destinations.WEBHOOK_PURPOSE, field="webhook_url")
            sub.webhook_url = url
            details["destination"] = f"{destination.ip}:{destination.port}"
        elif kind == SubscriptionKind.DATABASE:
            if db_engine not in DatabaseEngine.values:
                raise DomainError("数据库类型只能是 postgresql 或 mysql（MySQL/MariaDB）", "db_engine")
            host = _text(db_host, "数据库主机", "db_host", 253)
            try:
                port = int(str(db_port).strip()) if db_port not in (None, "") else egress.DEFAULT_DB_PORTS[db_engine]
            except ValueError:
                raise DomainError("端口必须是 1–65535 的整数", "db_port") from None
            if not 1 <= port <= 65535:
                raise DomainError("端口必须是 1–65535 的整数", "db_port")
            database = _text(db_name, "数据库名", "db_name", 64)
            user = _text(db_user, "用户名", "db_user", 64)
            if len(db_password or "") > 200:
                raise DomainError("密码不能超过 200 个字符", "db_password")
            table = destinations.check_table_name(db_table)
            destination = egress.resolve_destination(
                host, port, purpose=destinations.DATABASE_PURPOSE, database=database, field="db_host"
            )
            sub.db_engine, sub.db_host, sub.db_port, sub.db_name, sub.db_user, sub.db_table = (
                db_engine, host, port, database, user, table
            )
            details.update(destination=f"{destination.ip}:{destination.port}/{database}", table=table)
        sub.save()
        if kind == SubscriptionKind.WEBHOOK:
            secret = secrets.token_urlsafe(32)
            sub.secret_encrypted = encrypt_field(secret, delivery.secret_context(sub.pk))
        if kind == SubscriptionKind.DATABASE and db_password:
            sub.db_password_encrypted = encrypt_field(db_password, delivery.password_context(sub.pk))
        sub.save(update_fields=["secret_encrypted", "db_password_encrypted"])
        record_event(actor, "exchange.subscription.create", object_type="exchange_subscription", object_id=sub.pk,
                     request=request, details=details)
        if kind != SubscriptionKind.FEED:
            enqueue(sub.pk)
    return sub, secret


def _own_subscription(actor: Any, subscription: Subscription | int, *, lock: bool = True) -> Subscription:
    pk = subscription.pk if isinstance(subscription, Subscription) else subscription
    qs = Subscription.objects.select_related("grant", "grant__entry")
    if lock:
        qs = qs.select_for_update()
    found = qs.filter(pk=pk).first()
    if found is None or found.consumer_id != getattr(actor, "unit_id", None):
        raise NotFound("订阅不存在或不属于本单位", "subscription")
    _ensure_consumer_admin(actor, found.consumer_id)
    return found


def do_pause_subscription(actor: Any, subscription: Subscription | int, *, request: HttpRequest | None = None) -> Subscription:
    pk = subscription.pk if isinstance(subscription, Subscription) else subscription
    with _attempt(actor, "exchange.subscription.pause", pk, request, object_type="exchange_subscription"):
        sub = _own_subscription(actor, pk)
        if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.RESYNC):
            raise DomainError(f"订阅当前为“{sub.get_status_display()}”，不能暂停", "status")
        sub.status_reason = f"暂停前状态：{sub.status}"
        sub.status = SubscriptionStatus.PAUSED
        sub.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(actor, "exchange.subscription.pause", object_type="exchange_subscription", object_id=pk, request=request)
    return sub


def do_resume_subscription(actor: Any, subscription: Subscription | int, *, request: HttpRequest | None = None) -> Subscription:
    pk = subscription.pk if isinstance(subscription, Subscription) else subscription
    with _attempt(actor, "exchange.subscription.resume", pk, request, object_type="exchange_subscription"):
        sub = _own_subscription(actor, pk)
        if sub.status != SubscriptionStatus.PAUSED:
            raise DomainError("只有已暂停的订阅可以恢复", "status")
        if not delivery.grant_in_force(sub):
            raise DomainError("该共享授权已撤销或过期，订阅不能恢复", "grant")
        sub.status = SubscriptionStatus.RESYNC if sub.status_reason.endswith(SubscriptionStatus.RESYNC) else SubscriptionStatus.ACTIVE
        sub.status_reason = ""
        sub.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(actor, "exchange.subscription.resume", object_type="exchange_subscription", object_id=pk, request=request)
        if sub.kind != SubscriptionKind.FEED:
            enqueue(pk)
    return sub


def do_resync_subscription(actor: Any, subscription: Subscription | int, *, request: HttpRequest | None = None) -> Subscription:
    """The consumer asks for the whole content again (its copy was damaged, or it is rebuilding)."""
    pk = subscription.pk if isinstance(subscription, Subscription) else subscription
    with _attempt(actor, "exchange.subscription.resync", pk, request, object_type="exchange_subscription"):
        sub = _own_subscription(actor, pk)
        if sub.kind == SubscriptionKind.FEED:
            raise DomainError("变更订阅（拉取）不需要全量同步：不带游标重新拉取即可", "kind")
        if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.RESYNC):
            raise DomainError(f"订阅当前为“{sub.get_status_display()}”，不能全量同步", "status")
        if sub.deliveries.filter(status__in=delivery.OPEN).exists():
            raise DomainError("订阅还有未完成的投递（待重试或死信），请先处理", "status")
        sub.status = SubscriptionStatus.RESYNC
        sub.status_reason = "订阅单位要求全量同步"
        sub.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(actor, "exchange.subscription.resync", object_type="exchange_subscription", object_id=pk,
                     request=request, details={"requested": True})
        enqueue(pk)
    return sub


def do_disable_subscription(actor: Any, subscription: Subscription | int, *, request: HttpRequest | None = None) -> Subscription:
    """Stop a subscription for good (its history stays)."""
    pk = subscription.pk if isinstance(subscription, Subscription) else subscription
    with _attempt(actor, "exchange.subscription.disable", pk, request, object_type="exchange_subscription"):
        sub = _own_subscription(actor, pk)
        if sub.status == SubscriptionStatus.DISABLED:
            raise DomainError("订阅已停用", "status")
        sub.status = SubscriptionStatus.DISABLED
        sub.status_reason = "订阅单位停用"
        sub.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(actor, "exchange.subscription.disable", object_type="exchange_subscription", object_id=pk, request=request)
    return sub


def do_redeliver(actor: Any, delivery_pk: int, *, request: HttpRequest | None = None) -> Delivery:
    """Send a dead page again (same delivery id: consumers de-duplicate), and what follows it."""
    with _attempt(actor, "exchange.delivery.redeliver", delivery_pk, request, object_type="exchange_delivery"):
        found = Delivery.objects.select_for_update().select_related("subscription").filter(pk=delivery_pk).first()
        if found is None or found.subscription.consumer_id != getattr(actor, "unit_id", None):
            raise NotFound("投递记录不存在或不属于本单位", "delivery")
        sub = _own_subscription(actor, found.subscription_id)
        if found.status != DeliveryStatus.DEAD:
            raise DomainError("只有死信可以重新投递", "delivery")
        if sub.status == SubscriptionStatus.DISABLED:
            raise DomainError("订阅已停用，不能重新投递", "status")
        found.status = DeliveryStatus.PENDING
        found.attempts = 0
        found.next_attempt_at = None
        found.save(update_fields=["status", "attempts", "next_attempt_at"])
        record_event(actor, "exchange.delivery.redeliver", object_type="exchange_delivery", object_id=found.pk,
                     request=request, details={"delivery": found.delivery_id, "subscription": sub.pk})
        enqueue(sub.pk)
    return found


def do_test_subscription(actor: Any, subscription: Subscription | int, *, request: HttpRequest | None = None) -> str:
    """A test delivery: a signed `ping` to the webhook, or a connection that makes sure the
    destination tables exist. No data is sent. Returns a Chinese sentence of the outcome."""
    pk = subscription.pk if isinstance(subscription, Subscription) else subscription
    with _attempt(actor, "exchange.subscription.test", pk, request, object_type="exchange_subscription"):
        sub = _own_subscription(actor, pk, lock=False)
        if sub.kind == SubscriptionKind.WEBHOOK:
            import json

            from zhengwu.core.crypto import decrypt_field

            body = json.dumps({"event": "ping", "subscription": sub.pk, "resource_code": sub.resource_code,
                               "at": timezone.now().isoformat()}, ensure_ascii=False).encode("utf-8")
            secret = decrypt_field(sub.secret_encrypted, delivery.secret_context(sub.pk))
            status = destinations.post_webhook(sub.webhook_url, secret, f"ping-{secrets.token_hex(8)}", "ping", body)
            if not 200 <= status < 300:
                raise DomainError(f"推送地址返回 HTTP {status}（应为 2xx）", "webhook_url")
            outcome = f"测试推送成功（HTTP {status}）"
        elif sub.kind == SubscriptionKind.DATABASE:
            destinations.probe_database(delivery.database_target(sub), changes.view_for(sub.grant).items)
            outcome = f"连接成功，表 {sub.db_table} 已就绪"
        else:
            raise DomainError("变更订阅（拉取）由对方系统拉取，无需测试投递", "kind")
        record_event(actor, "exchange.subscription.test", object_type="exchange_subscription", object_id=pk,
                     request=request, details={"outcome": outcome})
    return outcome
