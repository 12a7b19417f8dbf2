"""The session API under /api/v1/exchange/ and the console pages, for the consumer and the provider."""

from __future__ import annotations

from typing import Any

from django.test import Client

from .conftest import expected_copy
from .test_delivery import V1


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_api_feed_subscription_and_lists(
    grant: Any, consumer_admin: Any, provider_admin: Any, other_admin: Any, ingest: Any,
) -> None:
    from zhengwu.audit.models import AuditRecord

    v1 = ingest(grant.entry.resource_code, V1)
    rs = client_for(consumer_admin)
    created = rs.post("/api/v1/exchange/subscriptions", {"grant": grant.pk, "kind": "feed", "name": "人社拉取"},
                      content_type="application/json")
    assert created.status_code == 201, created.content
    sub = created.json()
    assert sub["kind"] == "feed" and sub["secret"] is None and sub["position"] is None
    refused = rs.post("/api/v1/exchange/subscriptions", {"grant": grant.pk, "kind": "webhook", "name": "推送",
                                                           "webhook_url": "http://127.0.0.1:1/x"}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "webhook_url"
    listed = rs.get("/api/v1/exchange/subscriptions").json()
    assert listed["count"] == 1
    feed = rs.get(f"/api/v1/exchange/subscriptions/{sub['id']}/feed?limit=100").json()
    copy = {c["key"]: {k: v for k, v in c["row"].items() if k != "_zw_key"} for c in feed["changes"]}
    assert copy == expected_copy(grant, v1) and feed["version"] == v1 and feed["next_cursor"]
    # 数据使用记录: one DataUse (operation feed) per person whose row the pull handed out
    from zhengwu.sharing.gateway.models import DataUse, GatewayCall

    pulled = GatewayCall.objects.get(operation="feed", grant_id=grant.pk)
    assert (pulled.client_name, pulled.row_count, pulled.unit_id) == ("人社拉取", len(copy), grant.consumer_id)
    assert DataUse.objects.filter(call=pulled, operation="feed").count() == len(copy) == pulled.keys_touched
    bad = rs.get(f"/api/v1/exchange/subscriptions/{sub['id']}/feed?cursor=forged")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"
    assert AuditRecord.objects.filter(action="exchange.feed.read", object_id=str(sub["id"])).count() == 1
    paused = rs.post(f"/api/v1/exchange/subscriptions/{sub['id']}/pause").json()
    assert paused["status"] == "paused"
    assert rs.get(f"/api/v1/exchange/subscriptions/{sub['id']}/feed").status_code == 400
    # the provider sees who subscribes (no destination details); another unit sees nothing
    ga = client_for(provider_admin)
    subscribers = ga.get("/api/v1/exchange/subscribers").json()
    assert subscribers["count"] == 1 and subscribers["items"][0]["consumer"] == grant.consumer.name
    assert ga.get(f"/api/v1/exchange/subscriptions/{sub['id']}/feed").status_code == 404
    assert client_for(other_admin).get(f"/api/v1/exchange/subscriptions/{sub['id']}").status_code == 404
    assert rs.get("/api/v1/exchange/dead-letters").json()["count"] == 0


def test_pages_for_consumer_and_provider(grant: Any, consumer_admin: Any, provider_admin: Any, receiver: Any) -> None:
    rs = client_for(consumer_admin)
    page = rs.get("/exchange/")
    assert page.status_code == 200 and "数据交换" in page.content.decode()
    form = rs.get("/exchange/new/")
    assert form.status_code == 200 and grant.entry.name in form.content.decode()
    bad = rs.post("/exchange/new/", {"grant": grant.pk, "kind": "database", "name": "前置库", "db_engine": "mysql",
                                     "db_host": "127.0.0.1", "db_name": "h3_dest", "db_user": "root", "db_table": "1bad"})
    assert bad.status_code == 400 and "表名只能由字母开头" in bad.content.decode()
    made = rs.post("/exchange/new/", {"grant": grant.pk, "kind": "webhook", "name": "接收系统", "webhook_url": receiver.url})
    assert made.status_code == 200 and "只显示这一次" in made.content.decode()
    from zhengwu.sharing.exchange.models import Subscription

    sub = Subscription.objects.get()
    detail = rs.get(f"/exchange/subscriptions/{sub.pk}/")
    assert detail.status_code == 200 and receiver.url.replace("&", "&amp;") in detail.content.decode()
    paused = rs.post(f"/exchange/subscriptions/{sub.pk}/pause/", follow=True)
    assert "订阅已暂停" in paused.content.decode()
    sub.refresh_from_db()
    assert sub.status == "paused"
    ga = client_for(provider_admin)
    listed = ga.get("/exchange/subscribers/").content.decode()
    assert grant.consumer.name in listed
    seen = ga.get(f"/exchange/subscriptions/{sub.pk}/").content.decode()
    assert receiver.url not in seen and "暂停" not in seen.split("<h2>投递记录")[0].split("</dl>")[1]
    assert ga.post(f"/exchange/subscriptions/{sub.pk}/resume/").status_code == 404
    sub.refresh_from_db()
    assert sub.status == "paused"  # the provider cannot act on the consumer's subscription
