"""A consumer down for a day misses nothing; a rollback makes every channel resync and converge;
a page that keeps failing goes to the dead letters after N attempts and blocks what follows
until it is redelivered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from .conftest import ITEMS, as_text, drop_table, expected_copy, person, table_copy, table_name
from .test_delivery import V1, v2_rows


def _webhook(run_committed: Any, admin: Any, grant: Any, receiver: Any) -> Any:
    from zhengwu.sharing.exchange import services

    sub, secret = run_committed(services.do_create_subscription, admin, grant, kind="webhook", name="接收系统",
                                webhook_url=receiver.url)
    receiver.secret = secret
    from zhengwu.sharing.exchange import delivery

    delivery.run_due(now=timezone.now() + timedelta(seconds=61))  # the first attempt met a receiver without the secret
    sub.refresh_from_db()
    return sub


def _database(run_committed: Any, admin: Any, grant: Any, port: int, table: str) -> Any:
    from zhengwu.sharing.exchange import services

    sub, _ = run_committed(services.do_create_subscription, admin, grant, kind="database", name="前置库",
                           db_engine="mysql", db_host="127.0.0.1", db_port=port, db_name="h3_dest", db_user="root",
                           db_table=table)
    sub.refresh_from_db()
    return sub


def _head_failure(sub: Any) -> Any:
    return sub.deliveries.filter(status__in=("failed", "pending")).order_by("page", "id").first()


def test_consumer_down_for_a_day_converges(
    grant: Any, consumer_admin: Any, receiver: Any, mariadb_proxy: Any, ingest: Any, run_committed: Any, settings: Any,
) -> None:
    from zhengwu.audit.models import AuditRecord
    from zhengwu.sharing.exchange import delivery

    settings.EXCHANGE_MAX_ATTEMPTS = 12  # 60 s × 2^k: eleven waits cover more than a day
    code = grant.entry.resource_code
    table = table_name()
    try:
        v1 = ingest(code, V1)
        hook = _webhook(run_committed, consumer_admin, grant, receiver)
        db = _database(run_committed, consumer_admin, grant, mariadb_proxy.port, table)
        assert hook.position == v1 and db.position == v1
        assert table_copy("mysql", table, ITEMS) == as_text(expected_copy(grant, v1))

        receiver.stop()
        mariadb_proxy.close()
        pages_before = len(receiver.pages)
        v2 = ingest(code, v2_rows())
        v3 = ingest(code, [*v2_rows(), person(10), person(11, "441403")], mode="full")
        v4 = ingest(code, [person(12), person(1, person_name="赵一")], mode="incremental")
        assert v4 == v3 + 1 == v2 + 2

        start = timezone.now()
        now = start
        attempts = 0
        while True:
            for sub in (hook, db):
                head = _head_failure(sub)
                assert head is not None and head.status == "failed"
                assert head.from_version == v1 and head.to_version == v2  # the step fixed at the first failure
                assert head.last_error.startswith("无法连接该")  # the one egress message
            now = min(_head_failure(s).next_attempt_at for s in (hook, db)) + timedelta(seconds=1)
            if now >= start + timedelta(days=1):
                break
            delivery.run_due(now=now)
            attempts += 1
        hook.refresh_from_db()
        db.refresh_from_db()
        assert hook.position == v1 and db.position == v1  # nothing advanced while down
        assert len(receiver.pages) == pages_before
        assert _head_failure(hook).attempts >= 9 and _head_failure(db).attempts >= 9 and attempts >= 9
        assert not hook.deliveries.filter(status="dead").exists() and not db.deliveries.filter(status="dead").exists()
        assert AuditRecord.objects.filter(action="exchange.delivery.fail", object_id=str(db.pk)).count() >= 8

        receiver.start()  # the same port
        mariadb_proxy.open()
        delivery.run_due(now=max(_head_failure(s).next_attempt_at for s in (hook, db)) + timedelta(seconds=1))
        hook.refresh_from_db()
        db.refresh_from_db()
        assert hook.position == v4 and db.position == v4
        assert receiver.copy == expected_copy(grant, v4)
        assert table_copy("mysql", table, ITEMS) == as_text(expected_copy(grant, v4))
        # in order: every step starts where the previous one ended
        for sub in (hook, db):
            steps = []
            for d in sub.deliveries.order_by("id"):
                if d.kind == "changes" and (d.from_version, d.to_version) not in steps:
                    steps.append((d.from_version, d.to_version))
            assert steps == [(v1, v2), (v2, v4)]
    finally:
        drop_table("mysql", table)


def test_rollback_resyncs_every_channel(
    grant: Any, consumer_admin: Any, provider_admin: Any, receiver: Any, local_databases: Any, ingest: Any,
    run_committed: Any,
) -> None:
    from zhengwu.audit.models import AuditRecord
    from zhengwu.datahub import services as datahub
    from zhengwu.sharing.exchange import queries
    from zhengwu.sharing.exchange.models import Subscription

    code = grant.entry.resource_code
    table = table_name()
    try:
        v1 = ingest(code, V1)
        v2 = ingest(code, v2_rows())
        hook = _webhook(run_committed, consumer_admin, grant, receiver)
        db = _database(run_committed, consumer_admin, grant, 3306, table)
        feed = queries.feed_page(grant, None, 100)
        assert feed.version == v2 and feed.next_cursor
        assert hook.position == v2 and db.position == v2

        restored = run_committed(datahub.do_rollback, provider_admin, code, v1, reason="版本 2 的源数据有误，回滚")
        v3 = restored.lake_version
        hook.refresh_from_db()
        db.refresh_from_db()
        assert hook.position == v3 and db.position == v3 and hook.status == db.status == "active"
        assert receiver.events.count("resync") == 2  # the first load and the rollback
        assert receiver.copy == expected_copy(grant, v3) == expected_copy(grant, v1)
        assert table_copy("mysql", table, ITEMS) == as_text(expected_copy(grant, v1))
        assert AuditRecord.objects.filter(action="exchange.subscription.resync").count() == 2
        # the feed consumer is told to start again; a fresh start converges on the current content
        after = queries.feed_page(grant, feed.next_cursor, 100)
        assert after.resync_required and after.changes == [] and after.next_cursor is None
        fresh = queries.feed_page(grant, None, 100)
        assert {c["key"]: {k: v for k, v in c["row"].items() if k != "_zw_key"} for c in fresh.changes} == expected_copy(grant, v3)
        assert Subscription.objects.filter(status="resync").count() == 0
    finally:
        drop_table("mysql", table)


def test_dead_letter_after_n_attempts_and_redelivery(
    grant: Any, consumer_admin: Any, receiver: Any, ingest: Any, run_committed: Any,
) -> None:
    from zhengwu.audit.models import AuditRecord
    from zhengwu.core.models import Notification
    from zhengwu.sharing.exchange import delivery, services

    code = grant.entry.resource_code
    v1 = ingest(code, V1)
    receiver.status = 503
    sub, secret = run_committed(services.do_create_subscription, consumer_admin, grant, kind="webhook", name="接收系统",
                                webhook_url=receiver.url)
    receiver.secret = secret
    now = timezone.now()
    waits = []
    for _ in range(10):
        head = sub.deliveries.filter(status__in=("failed", "dead")).order_by("page").first()
        if head.status == "dead":
            break
        waits.append(round((head.next_attempt_at - (head.attempted_at or now)).total_seconds()))
        now = head.next_attempt_at + timedelta(seconds=1)
        delivery.run_due(now=now)
    head = sub.deliveries.get(page=0)
    assert head.status == "dead" and head.attempts == 4  # ZHENGWU_EXCHANGE_MAX_ATTEMPTS in the tests
    assert waits == [60, 120, 240]  # base 60 s, factor 2
    assert AuditRecord.objects.filter(action="exchange.delivery.dead", object_id=str(sub.pk)).count() == 1
    assert Notification.objects.filter(recipient=consumer_admin, kind="exchange.dead").exists()

    v2 = ingest(code, v2_rows())  # blocked behind the dead letter: nothing of v2 goes out first
    assert delivery.run_due(now=now + timedelta(days=2)) == {}
    sub.refresh_from_db()
    assert sub.position is None and receiver.copy == {}

    receiver.status = 200
    redelivered = run_committed(services.do_redeliver, consumer_admin, head.pk)
    assert redelivered.delivery_id == head.delivery_id  # the same id: consumers de-duplicate
    sub.refresh_from_db()
    assert sub.position == v2
    assert receiver.copy == expected_copy(grant, v2)
    assert receiver.events[:1] == ["resync"]
    # redelivery of what already arrived is harmless: the receiver drops a delivery id it has seen
    body_page = sub.deliveries.get(page=1, to_version=v1)
    from zhengwu.core.crypto import decrypt_field
    from zhengwu.sharing.exchange import changes, destinations

    view = changes.view_for(grant)
    rows = [r for _, page_rows, _ in changes.snapshot_pages(view, v1, 1000) for r in page_rows or ()]
    body = delivery.body_of(sub, body_page, view, [(r["_zw_key"], "upsert", r) for r in rows])
    status = destinations.post_webhook(sub.webhook_url, decrypt_field(sub.secret_encrypted, delivery.secret_context(sub.pk)),
                                       body_page.delivery_id, "snapshot", body)
    assert status == 200 and receiver.duplicates == 1
    assert receiver.copy == expected_copy(grant, v2)
