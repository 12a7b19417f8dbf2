"""The change feed through the gateway: a unit's system pulls the grant's rows and then its changes
with a cursor, masked and scoped as the grant says; a forged cursor, a bad limit and no grant are
refused with Chinese JSON errors, and every call is in the call log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import id_no, person

pytestmark = pytest.mark.django_db


def _feed(call: Callable[..., Any], code: str, token: str, **params: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return call(f"/gateway/v1/resources/{code}/changes" + (f"?{query}" if query else ""), token)


def test_feed_gives_the_scoped_masked_rows_then_the_changes(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any],
    load: Callable[..., Any],
) -> None:
    from zhengwu.sharing.gateway.models import GatewayCall

    granted(scope={"division_code": ["441402"]})
    code = population.resource_code
    first = _feed(call, code, consumer_token, limit="2")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["resync_required"] is False and "id_no" in body["masked_items"]
    rows = list(body["changes"])
    cursor = body["next_cursor"]
    while True:  # page through the bulk part
        page = _feed(call, code, consumer_token, cursor=cursor, limit="2").json()
        if not page["changes"]:
            break
        rows += page["changes"]
        cursor = page["next_cursor"]
    assert len(rows) == 3 and {r["op"] for r in rows} == {"upsert"}  # 梅江区's three people only
    text = first.content.decode() + str(rows)
    assert id_no(1) not in text and id_no(4, "441403") not in text  # masked, and 梅县区 is out of scope
    assert all(r["row"]["division_code"] == "441402" for r in rows)

    load(population, [{**person(2), "household_address": "新址9号"}, person(9)])
    changed = _feed(call, code, consumer_token, cursor=cursor).json()
    # person 9 is new in 梅江区; person 2's new address reaches the consumer only if the grant has it.
    expected = 1 + ("household_address" in changed["items"])
    assert [c["op"] for c in changed["changes"]] == ["upsert"] * expected
    assert id_no(9) not in str(changed)
    assert GatewayCall.objects.filter(operation="feed", status=200).count() >= 3


def test_feed_refuses_forged_cursor_bad_limit_and_no_grant(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any],
) -> None:
    from zhengwu.sharing.gateway.models import GatewayCall

    code = population.resource_code
    refused = _feed(call, code, consumer_token)
    assert refused.status_code == 403 and "授权" in refused.json()["error"]["message"]
    granted()
    from zhengwu.sharing.gateway import enforcement

    enforcement.clear_caches()  # a new grant is seen within the per-process cache time; here at once
    forged = _feed(call, code, consumer_token, cursor="eyJnIjoxfQ:forged")
    assert forged.status_code == 400 and forged.json()["error"]["field"] == "cursor"
    for limit in ("0", "-1", "abc", "999999"):
        bad = _feed(call, code, consumer_token, limit=limit)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "limit", limit
    assert call(f"/gateway/v1/resources/{code}/changes").status_code == 401
    assert GatewayCall.objects.filter(operation="feed", status=400).count() == 5


def test_feed_pulls_are_in_the_data_use_record_of_the_people_pulled(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any],
    load: Callable[..., Any],
) -> None:
    """数据使用记录 lists a pull of the change feed as it lists look-ups and pushes: one DataUse per
    person whose row a page carried (operation feed), none for people outside the scope or the page."""
    from zhengwu.sharing.gateway.models import DataUse, GatewayCall
    from zhengwu.sharing.gateway.queries import data_use_of_subject

    granted(scope={"division_code": ["441402"]})
    code = population.resource_code
    first = _feed(call, code, consumer_token, limit="2").json()  # bulk: 2 of 梅江区's 3 people
    assert len(first["changes"]) == 2
    call_one = GatewayCall.objects.get(operation="feed", status=200)
    assert call_one.keys_touched == 2 and call_one.row_count == 2
    assert DataUse.objects.filter(call=call_one, operation="feed").count() == 2
    rest = _feed(call, code, consumer_token, cursor=first["next_cursor"], limit="2").json()
    assert len(rest["changes"]) == 1
    pulled_bulk = {seq for seq in (1, 2, 3) if data_use_of_subject("person", id_no(seq)).filter(operation="feed").exists()}
    assert pulled_bulk == {1, 2, 3}  # each of 梅江区's people, once
    assert all(data_use_of_subject("person", id_no(seq)).count() == 1 for seq in (1, 2, 3))
    assert not data_use_of_subject("person", id_no(4, "441403")).exists()  # 梅县区: outside the scope
    caught_up = _feed(call, code, consumer_token, cursor=rest["next_cursor"]).json()
    assert caught_up["changes"] == []
    assert DataUse.objects.filter(call__in=GatewayCall.objects.filter(operation="feed")).count() == 3

    load(population, [person(9), person(6, "441403")])
    changed = _feed(call, code, consumer_token, cursor=rest["next_cursor"]).json()
    assert [c["op"] for c in changed["changes"]] == ["upsert"]  # person 9; person 6 is outside the scope
    uses = list(data_use_of_subject("person", id_no(9)))
    assert [(u.operation, u.resource_code, u.unit_name) for u in uses] == [
        ("feed", code, GatewayCall.objects.filter(operation="feed").first().unit_name)  # type: ignore[union-attr]
    ]
    assert not data_use_of_subject("person", id_no(6, "441403")).exists()
    assert DataUse.objects.filter(operation="feed").count() == 4


def test_a_feed_pull_shows_in_the_citizens_data_use_list(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any], client: Any,
) -> None:
    from .test_portal_data_use import _public

    granted(scope={"division_code": ["441402"]})
    body = _feed(call, population.resource_code, consumer_token).json()
    assert len(body["changes"]) == 3
    client.force_login(_public("pub_feed", id_no(2)))
    html = client.get("/portal/me/").content.decode()
    assert 'data-section="person.data_use"' in html
    assert html.count("读取了") == 1 and "变更订阅（拉取）" in html and "社保业务系统" in html
