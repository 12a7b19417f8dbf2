"""Webhook and 库表交换 deliveries end to end: real lake versions made by datahub's push service,
a real HTTP receiver verifying HMAC-SM3, real MariaDB and PostgreSQL destination tables; the
consumer's copy is compared row for row with the provider's version, masked and scoped as granted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import ITEMS, as_text, drop_table, expected_copy, person, state_version, table_copy, table_name

V1 = [person(1), person(2), person(3), person(4, "441403"), person(5), person(6, "441403"), person(7)]


def v2_rows() -> list[dict[str, Any]]:
    """Version 2 (a full load): 1 updated (name), 2 deleted, 3 moves out of scope (→ 梅县区),
    4 moves into scope, 5 unchanged, 6 (out of scope) updated, 7 changes an item outside the grant
    only, 8 and 9 inserted (9 out of scope)."""
    return [
        person(1, person_name="李一一"), person(3, division_code="441403"), person(4, "441403", division_code="441402"),
        person(5), person(6, "441403", person_name="王六"), person(7, household_address="新地址7号"),
        person(8), person(9, "441403"),
    ]


def _subscribe_webhook(consumer_admin: Any, grant: Any, receiver: Any, run_committed: Any) -> Any:
    from zhengwu.sharing.exchange import services

    sub, secret = run_committed(services.do_create_subscription, consumer_admin, grant, kind="webhook",
                                name="人社局接收系统", webhook_url=receiver.url)
    receiver.secret = secret
    return sub


def test_webhook_receives_exactly_the_granted_changes(
    grant: Any, consumer_admin: Any, receiver: Any, ingest: Any, run_committed: Any,
) -> None:
    from zhengwu.sharing.exchange import delivery
    from zhengwu.sharing.exchange.models import Delivery, Subscription

    code = grant.entry.resource_code
    v1 = ingest(code, V1)
    # The secret exists only after the subscription: the first delivery (queued at creation)
    # reaches a receiver that does not know it yet and is refused (401), then retried.
    sub = _subscribe_webhook(consumer_admin, grant, receiver, run_committed)
    assert receiver.bad_signatures >= 1 and receiver.copy == {}
    delivery.run_due(now=_later(61))
    sub.refresh_from_db()
    assert sub.position == v1 and sub.status == "active"
    assert receiver.events[0] == "resync"  # the first delivery is the whole content, led by resync
    assert receiver.copy == expected_copy(grant, v1)
    assert len(receiver.copy) == 5  # 梅江区 only

    v2 = ingest(code, v2_rows())
    sub.refresh_from_db()
    assert sub.position == v2
    assert receiver.copy == expected_copy(grant, v2)
    changes_pages = [p for p in receiver.pages if p["event"] == "changes"]
    upserts = [r for p in changes_pages for r in p["upserts"]]
    deletes = [k for p in changes_pages for k in p["deletes"]]
    # 1 updated, 4 moved in, 8 inserted → upserts; 2 deleted, 3 moved out → deletes; 5, 6, 7: nothing
    assert len(upserts) == 3 and len(deletes) == 2
    assert all(len(p.get("upserts", [])) + len(p.get("deletes", [])) <= 3 for p in receiver.pages)
    assert {p["page"] for p in changes_pages} == {1, 2} and all(p["pages"] == 2 for p in changes_pages)
    # masking and scope hold on the wire: no clear identity number or name, nothing of 梅县区
    wire = b"".join(receiver.bodies).decode()
    for seq in range(1, 10):
        row = person(seq, "441403" if seq in (4, 6, 9) else "441402")
        assert row["id_no"] not in wire and row["person_name"] not in wire
    assert "household_address" not in wire  # not granted
    assert json.loads(receiver.bodies[-1])["masked_items"] == ["id_no", "person_name"]
    assert Delivery.objects.filter(subscription=sub, status="delivered").count() == len(receiver.pages)
    assert Subscription.objects.get(pk=sub.pk).last_error == ""


def _later(seconds: float) -> Any:
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(seconds=seconds)


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_database_table_matches_the_version(
    engine: str, grant: Any, consumer_admin: Any, local_databases: Any, ingest: Any, run_committed: Any,
) -> None:
    from zhengwu.sharing.exchange import delivery, destinations, services

    code = grant.entry.resource_code
    table = table_name()
    v1 = ingest(code, V1)
    try:
        sub, secret = run_committed(
            services.do_create_subscription, consumer_admin, grant, kind="database", name="人社局前置库",
            db_engine=engine, db_host="127.0.0.1", db_port=3306 if engine == "mysql" else 5432, db_name="h3_dest",
            db_user="root" if engine == "mysql" else "postgres", db_password="", db_table=table,
        )
        assert secret == ""
        sub.refresh_from_db()
        assert sub.position == v1
        assert table_copy(engine, table, ITEMS) == as_text(expected_copy(grant, v1))
        v2 = ingest(code, v2_rows())
        sub.refresh_from_db()
        assert sub.position == v2
        assert table_copy(engine, table, ITEMS) == as_text(expected_copy(grant, v2))
        assert state_version(engine, sub.pk, table) == v2
        # the same step delivered again is a no-op (the bookkeeping row says it was applied)
        last = sub.deliveries.order_by("-id").first()
        assert last is not None and last.rows_deleted == 2 and last.rows_upserted == 3
        view = __import__("zhengwu.sharing.exchange.changes", fromlist=["view_for"]).view_for(grant)
        cs = __import__("zhengwu.sharing.exchange.changes", fromlist=["change_set"]).change_set(view, v1, v2)
        assert destinations.write_step(delivery.database_target(sub), sub.pk, last.delivery_id, view.items, v2,
                                       cs.upserts, cs.deletes, replace=False) is False
        assert table_copy(engine, table, ITEMS) == as_text(expected_copy(grant, v2))
    finally:
        drop_table(engine, table)
