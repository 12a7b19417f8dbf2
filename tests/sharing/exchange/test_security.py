"""Egress at registration and at delivery, who may subscribe, a revoked grant stops deliveries,
clear values only where the grant allows them, and the change feed's cursor."""

from __future__ import annotations

from typing import Any

import pytest

from zhengwu.core.egress import EgressRefused
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied

from .conftest import expected_copy, person
from .test_delivery import V1, v2_rows


def test_refused_address_at_registration(grant: Any, consumer_admin: Any, local_databases: Any, platform_database: Any) -> None:
    from zhengwu.audit.models import AuditRecord
    from zhengwu.sharing.exchange import services
    from zhengwu.sharing.exchange.models import Subscription

    for url in ("http://127.0.0.1:9/hook", "http://2130706433:8080/x", "http://10.255.1.1/hook", "http://[::1]:80/"):
        with pytest.raises(EgressRefused) as refused:
            services.do_create_subscription(consumer_admin, grant, kind="webhook", name="推送", webhook_url=url)
        assert refused.value.message.startswith("无法连接该推送地址：目标不在允许范围内或暂时不可达")
        assert refused.value.field == "webhook_url"
    name, port = platform_database
    with pytest.raises(EgressRefused) as refused:  # the platform's own database, even on an allowed address
        services.do_create_subscription(consumer_admin, grant, kind="database", name="库", db_engine="postgresql",
                                        db_host="127.0.0.1", db_port=port, db_name=name, db_user="postgres", db_table="t1")
    assert refused.value.message.startswith("无法连接该目标数据库") and refused.value.field == "db_host"
    for bad, field in (({"db_table": "_zw_exchange_state"}, "db_table"), ({"db_table": "a;drop"}, "db_table"),
                       ({"db_engine": "oracle"}, "db_engine"), ({"db_port": "70000"}, "db_port")):
        values = {"db_engine": "mysql", "db_host": "127.0.0.1", "db_port": 3306, "db_name": "h3_dest", "db_user": "root",
                  "db_table": "t1", **bad}
        with pytest.raises(DomainError) as error:
            services.do_create_subscription(consumer_admin, grant, kind="database", name="库", **values)
        assert error.value.field == field
    with pytest.raises(DomainError) as error:
        services.do_create_subscription(consumer_admin, grant, kind="webhook", name="推送", webhook_url="ftp://x/y")
    assert error.value.field == "webhook_url"
    assert not Subscription.objects.exists()
    failures = AuditRecord.objects.filter(action="exchange.subscription.create", result="failure")
    assert failures.count() == 10
    assert "本机、链路本地或保留地址" in failures.order_by("id").first().details["detail"]


def test_address_removed_from_the_allowlist_is_refused_at_delivery(
    grant: Any, consumer_admin: Any, receiver: Any, ingest: Any, run_committed: Any, settings: Any,
) -> None:
    from zhengwu.core.models import EgressDestination
    from zhengwu.sharing.exchange import delivery, services

    code = grant.entry.resource_code
    ingest(code, V1)
    sub, secret = run_committed(services.do_create_subscription, consumer_admin, grant, kind="webhook", name="推送",
                                webhook_url=receiver.url)
    receiver.secret = secret
    from datetime import timedelta

    from django.utils import timezone

    delivery.run_due(now=timezone.now() + timedelta(seconds=61))
    sub.refresh_from_db()
    assert sub.position is not None
    pages = len(receiver.pages)
    EgressDestination.objects.filter(port_min=receiver.port).delete()  # the 安全管理员 removes the entry
    ingest(code, v2_rows())
    head = sub.deliveries.filter(status="failed").get()
    assert head.last_error.startswith("无法连接该推送地址") and len(receiver.pages) == pages
    settings.EGRESS_ALLOW_LOCAL = []  # and the deployment no longer allows loopback either
    delivery.run_due(now=timezone.now() + timedelta(hours=1))
    head.refresh_from_db()
    assert head.attempts == 2 and head.status == "failed" and len(receiver.pages) == pages


def test_only_the_consumer_units_data_admin_subscribes(
    grant: Any, consumer_admin: Any, staff_of_consumer: Any, other_admin: Any, provider_admin: Any, receiver: Any,
) -> None:
    from zhengwu.sharing.exchange import services
    from zhengwu.sharing.exchange.models import Subscription

    with pytest.raises(NotFound):
        services.do_create_subscription(other_admin, grant, kind="feed", name="别人的授权")
    with pytest.raises(NotFound):
        services.do_create_subscription(provider_admin, grant, kind="feed", name="提供方")
    with pytest.raises(PermissionDenied):
        services.do_create_subscription(staff_of_consumer, grant, kind="feed", name="经办人")
    sub, _ = services.do_create_subscription(consumer_admin, grant, kind="feed", name="拉取")
    for actor in (other_admin, provider_admin):
        with pytest.raises(NotFound):
            services.do_pause_subscription(actor, sub)
    with pytest.raises(PermissionDenied):
        services.do_pause_subscription(staff_of_consumer, sub)
    assert Subscription.objects.count() == 1


def test_revoked_grant_stops_deliveries(
    grant: Any, consumer_admin: Any, provider_reviewer: Any, receiver: Any, ingest: Any, run_committed: Any,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from zhengwu.sharing import services as sharing
    from zhengwu.sharing.exchange import delivery, queries, services

    code = grant.entry.resource_code
    v1 = ingest(code, V1)
    sub, secret = run_committed(services.do_create_subscription, consumer_admin, grant, kind="webhook", name="推送",
                                webhook_url=receiver.url)
    receiver.secret = secret
    delivery.run_due(now=timezone.now() + timedelta(seconds=61))
    sub.refresh_from_db()
    assert sub.position == v1
    pages = len(receiver.pages)
    sharing.do_revoke_share_grant(provider_reviewer, grant, reason="人社局的用途已变更，停止共享")
    ingest(code, v2_rows())
    sub.refresh_from_db()
    assert sub.status == "disabled" and sub.position == v1 and len(receiver.pages) == pages
    grant.refresh_from_db()
    with pytest.raises(PermissionDenied):
        queries.feed_page(grant, None, 10)
    with pytest.raises(DomainError):
        services.do_resume_subscription(consumer_admin, sub)


def _apply(copy: dict[str, dict[str, Any]], page: Any) -> None:
    for change in page.changes:
        if change["op"] == "upsert":
            copy[change["key"]] = {k: v for k, v in change["row"].items() if k != "_zw_key"}
        else:
            copy.pop(change["key"], None)


def test_feed_pages_with_a_signed_cursor(grant: Any, ingest: Any, publish: Any, ask: Any) -> None:
    from zhengwu.sharing.exchange import queries

    code = grant.entry.resource_code
    v1 = ingest(code, V1)
    copy: dict[str, dict[str, Any]] = {}
    page = queries.feed_page(grant, None, 2)
    bulk_pages = 1
    _apply(copy, page)
    while page.next_cursor and len(page.changes) == 2:
        page = queries.feed_page(grant, page.next_cursor, 2)
        _apply(copy, page)
        bulk_pages += 1
    assert bulk_pages == 3 and copy == expected_copy(grant, v1)
    cursor = page.next_cursor
    assert cursor is not None
    caught_up = queries.feed_page(grant, cursor, 2)
    assert caught_up.changes == [] and not caught_up.resync_required
    v2 = ingest(code, v2_rows())
    page = queries.feed_page(grant, cursor, 2)
    _apply(copy, page)
    seen = len(page.changes)
    while len(page.changes) == 2:
        page = queries.feed_page(grant, page.next_cursor, 2)
        _apply(copy, page)
        seen += len(page.changes)
    assert seen == 5 and copy == expected_copy(grant, v2)  # 3 upserts, 2 deletes
    # a tampered cursor, garbage, and another grant's cursor are refused
    for bad in (cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"), "abc", "x" * 300):
        with pytest.raises(DomainError) as error:
            queries.feed_page(grant, bad, 2)
        assert error.value.field == "cursor"
    other = ask(publish("无条件共享", name="人口基本信息（副本）"), items=["id_no", "person_name", "division_code"])
    other.refresh_from_db()
    with pytest.raises(DomainError) as error:
        queries.feed_page(other.grant, cursor, 2)
    assert error.value.field == "cursor"
    with pytest.raises(DomainError):
        queries.feed_page(grant, None, 0)


def test_clear_values_only_where_the_grant_allows(
    population: Any, ask: Any, provider_reviewer: Any, ingest: Any,
) -> None:
    from zhengwu.sharing import services as sharing
    from zhengwu.sharing.exchange import queries

    req = ask(population, items=["id_no", "person_name", "division_code"], clear_items=["person_name"])
    grant = sharing.do_approve_share_request(provider_reviewer, req)
    assert grant.clear_items == ["person_name"]
    code = population.resource_code
    v1 = ingest(code, [*V1, person(20, "441403")])
    page = queries.feed_page(grant, None, 100)
    names = {c["row"]["person_name"] for c in page.changes}
    ids = {c["row"]["id_no"] for c in page.changes}
    assert names == {p["person_name"] for p in [*V1, person(20, "441403")]}  # no row scope: all 8 rows, names clear
    assert all("*" in i for i in ids)  # identity numbers stay masked
    assert page.masked_items == ["id_no"]
    copy: dict[str, dict[str, Any]] = {}
    _apply(copy, page)
    assert copy == expected_copy(grant, v1)
