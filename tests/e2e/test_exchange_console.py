"""The exchange's console pages in a real browser, on the demo city, at 1366 px and 375 px: 人社局's
数据管理员 rsj_data registers a webhook on a refused address (the Chinese refusal, nothing created),
then one on its receiver (the signing secret shown once, the first copy delivered and verified), a
pull subscription, and sees a dead letter (a receiver answering 503 past the attempts) redelivered
from the page; 公安局's 数据管理员 gaj_data sees who subscribes to its resource, without the
addresses. Screenshots in /tmp/shots/gateway/ (or ZHENGWU_SCREENSHOT_DIR); no page is wider than
the screen; every page keeps the CSP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.e2e.test_gateway_console import open_page, sharing_demo, shots, sign_in
from tests.sharing.exchange.conftest import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["sharing_demo"]


@pytest.fixture
def receiver(settings: Any) -> Any:
    from zhengwu.core.models import EgressDestination

    r = Receiver()
    r.start()
    settings.EGRESS_ALLOW_LOCAL = [*settings.EGRESS_ALLOW_LOCAL, f"127.0.0.1:{r.port}"]
    EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=r.port, port_max=r.port)
    yield r
    r.stop()


def _new_webhook(page: Any, base: str, name: str, url: str) -> None:
    page.goto(f"{base}/exchange/new/?kind=webhook")
    page.fill("input[name=name]", name)
    page.check("input[name=kind][value=webhook]")
    page.fill("input[name=webhook_url]", url)
    page.click("#subscription-form button[type=submit]")
    page.wait_for_load_state()


def test_consumer_subscribes_sees_deliveries_and_redelivers_a_dead_letter(
    live_server: Any,
    page: Any,
    sharing_demo: dict[str, Any],
    receiver: Any,
) -> None:
    from zhengwu.audit.models import AuditRecord
    from zhengwu.sharing.exchange import delivery
    from zhengwu.sharing.exchange.models import Subscription

    base = live_server.url
    grant = sharing_demo["grant"]
    sign_in(page, live_server, "rsj_data")
    text = open_page(page, f"{base}/exchange/")
    assert f"数据交换 · {grant.consumer.name}" in text
    assert page.locator("#subscriptions tbody").inner_text().strip().startswith("本单位还没有数据交换订阅。")
    assert page.locator("#dead-letters tbody").inner_text().strip() == "没有死信。"
    shots(page, "exchange-index-empty-rsj")

    # A webhook on an address the egress policy refuses (not on the allowlist): the one Chinese
    # sentence with a reference number, the form kept, nothing created.
    _new_webhook(page, base, "社保系统接收", "http://10.20.30.40:8080/hook")
    error = page.locator("#subscription-form p.error").first.inner_text()
    assert error.startswith("无法连接该推送地址：目标不在允许范围内或暂时不可达"), error
    assert "10.20.30.40" not in error
    assert page.locator("input[name=webhook_url]").input_value() == "http://10.20.30.40:8080/hook"
    assert Subscription.objects.count() == 0
    assert AuditRecord.objects.filter(action="exchange.subscription.create", result="failure").count() == 1
    shots(page, "exchange-new-refused-rsj")

    # On the receiver: the secret once, then the first copy (resync + snapshot) verified by HMAC-SM3.
    _new_webhook(page, base, "社保系统接收", receiver.url)
    assert "订阅“社保系统接收”已创建" in page.locator("main").inner_text()
    secret = page.locator("#webhook-secret").inner_text()
    assert len(secret) >= 32
    shots(page, "exchange-secret-rsj")
    sub = Subscription.objects.get(name="社保系统接收")
    receiver.secret = secret
    page.click("main a.button")
    page.wait_for_url(f"{base}/exchange/subscriptions/{sub.pk}/")
    # The first pages went out before the receiver knew the secret: it answered 401, they wait to
    # be retried; now it verifies them.
    delivery.run_due(now=timezone.now() + timedelta(hours=1))
    sub.refresh_from_db()
    assert sub.position is not None and receiver.bad_signatures >= 1
    page.reload()
    deliveries = page.locator("#deliveries tbody tr")
    assert deliveries.count() >= 2
    assert "已投递" in page.locator("#deliveries").inner_text()
    assert f"v{sub.position}" in page.locator("dl.facts").inner_text()
    shots(page, "exchange-detail-rsj")

    # A pull subscription: no address, its feed's path shown.
    page.goto(f"{base}/exchange/new/?kind=feed")
    page.fill("input[name=name]", "社保系统拉取")
    page.check("input[name=kind][value=feed]")
    page.click("#subscription-form button[type=submit]")
    page.wait_for_load_state()
    assert "已创建订阅“社保系统拉取”。" in page.locator("main").inner_text()
    assert "/feed?cursor=" in page.locator("main .hint").inner_text()

    # A receiver that answers 503 past the attempts: a dead letter on the index, redelivered there.
    receiver.status = 503
    _new_webhook(page, base, "故障接收端", receiver.url)
    dead_secret = page.locator("#webhook-secret").inner_text()
    dead_sub = Subscription.objects.get(name="故障接收端")
    for hours in (1, 3, 6):
        delivery.run_due(now=timezone.now() + timedelta(hours=hours))
    head = dead_sub.deliveries.order_by("to_version", "page").first()
    assert head is not None and head.status == "dead"
    text = open_page(page, f"{base}/exchange/")
    dead = page.locator("#dead-letters tbody tr")
    assert dead.count() == 1
    assert "故障接收端" in dead.nth(0).inner_text()
    shots(page, "exchange-index-dead-rsj")
    assert page.locator("#subscriptions tbody tr").count() == 3
    receiver.status, receiver.secret = 200, dead_secret  # the receiver is repaired
    dead.nth(0).locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/exchange/subscriptions/{dead_sub.pk}/")
    assert f"已重新投递 {head.delivery_id}。" in page.locator("main").inner_text()
    shots(page, "exchange-detail-redelivered-rsj")


def test_provider_sees_subscribers_without_addresses(
    live_server: Any,
    page: Any,
    sharing_demo: dict[str, Any],
    receiver: Any,
) -> None:
    from zhengwu.directory.models import User
    from zhengwu.sharing.exchange import services

    grant = sharing_demo["grant"]
    rsj = User.objects.get(username="rsj_data")
    sub, _ = services.do_create_subscription(
        rsj, grant, kind="webhook", name="社保系统接收", webhook_url=receiver.url
    )
    base = live_server.url
    sign_in(page, live_server, "gaj_data")
    text = open_page(page, f"{base}/exchange/subscribers/")
    assert "谁订阅了本单位的资源" in text
    rows = page.locator("#subscribers tbody tr")
    assert rows.count() == 1
    assert grant.consumer.name in rows.nth(0).inner_text() and "人口基本信息" in rows.nth(0).inner_text()
    shots(page, "exchange-subscribers-gaj")
    page.click("#subscribers a")
    page.wait_for_url(f"{base}/exchange/subscriptions/{sub.pk}/")
    main = page.locator("main").inner_text()
    assert str(receiver.port) not in main and "127.0.0.1" not in main
    assert page.locator("main .actions").count() == 0  # the provider cannot act on it
    shots(page, "exchange-detail-provider-gaj")

    sign_in(page, live_server, "scj_data")  # no grant, no subscriber
    text = open_page(page, f"{base}/exchange/subscribers/")
    assert page.locator("#subscribers tbody").inner_text().strip() == "还没有单位订阅本单位的资源。"
    text = open_page(page, f"{base}/exchange/new/")
    assert "本单位没有有效的共享授权" in text
    shots(page, "exchange-new-no-grant-scj")
