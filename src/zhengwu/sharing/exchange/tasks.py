"""Background work of 数据交换 (django-tasks): a subscription's deliveries after a new version
(queued by the version listener and by the consumer's actions), and the periodic job that retries
due pages and catches up subscriptions behind the current version (ExchangeConfig.ready()
registers it with core.periodic)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def deliver_subscription(subscription_id: int) -> dict[str, Any]:
    from .delivery import run_subscription

    return {"subscription": subscription_id, "outcome": run_subscription(subscription_id)}


@task()
def exchange_housekeeping() -> dict[str, Any]:
    from .delivery import run_due

    outcomes = run_due()
    return {"runs": len(outcomes), "outcomes": {str(k): v for k, v in outcomes.items()}}


def on_version_changed(resource_code: str, lake_version: int) -> None:
    """datahub's version listener: queue a delivery run for every push subscription of the
    resource (quick; safe to call twice or to miss — the periodic job catches up)."""
    from .models import Subscription, SubscriptionKind, SubscriptionStatus

    ids = list(
        Subscription.objects.filter(
            resource_code=resource_code, status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.RESYNC),
            kind__in=(SubscriptionKind.WEBHOOK, SubscriptionKind.DATABASE),
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        deliver_subscription.enqueue(pk)
