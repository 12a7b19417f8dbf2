"""The gateway's and the exchange's errors are Chinese and tell nothing of the platform's insides (no
stack trace, SQL, table or module name, secret, address): gateway JSON errors on wrong methods,
unknown routes and a broken serving table; exchange pages on another unit's subscription, unknown
actions and deliveries; exchange API errors on malformed bodies and refused addresses. (Which shape
an unknown /gateway/v1/ route and a wrong method on a page answer is core.errorpages' contract,
tested in tests/core.)"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from .conftest import id_no

pytestmark = pytest.mark.django_db


V1 = "/gateway/v1"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
INTERNALS = (
    "Traceback",
    'File "',
    "SELECT",
    "INSERT",
    "UPDATE ",
    "psycopg",
    "sqlite",
    "pymysql",
    "django.",
    "zhengwu.",
    "ninja",
    "pydantic",
    "gateway_gatewaycall",
    "serving_",
    "sharing_",
    "exchange_",
    "Exception",
    "Error:",
    "DoesNotExist",
    "matching query",
    "Field required",
    "Input should be",
    "Not Found",
    "Server Error",
    "Method Not Allowed",
)


def _text(response: Any) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode("utf-8", "replace")


def _clean(response: Any, *extra: str) -> str:
    text = _text(response)
    assert CHINESE.search(text), text[:300]
    for word in (*INTERNALS, *extra):
        assert word not in text, (word, text[:500])
    return text


# --- gateway ------------------------------------------------------------------------------------


def test_gateway_wrong_method_is_a_chinese_json_405(
    granted: Callable[..., Any], population: Any, consumer_token: str, client: Any
) -> None:
    granted()
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    for method in (client.post, client.put, client.delete, client.patch):
        r = method(path, HTTP_AUTHORIZATION=f"Bearer {consumer_token}")
        assert r.status_code == 405 and r.json() == {
            "error": {"status": 405, "message": "只支持 GET 请求", "field": ""}
        }


def test_a_broken_serving_table_is_a_chinese_500_without_sql(
    granted: Callable[..., Any],
    population: Any,
    consumer_token: str,
    settings: Any,
) -> None:
    from django.db import connection

    from zhengwu.datahub.serving.models import ServedTable

    granted()
    client = Client(raise_request_exception=False)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {consumer_token}"}
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    assert client.get(path, **bearer).status_code == 200
    table = (
        ServedTable.objects.filter(resource_code=population.resource_code)
        .values_list("table_name", flat=True)
        .first()
    )
    assert table
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{table}"')
    from zhengwu.sharing.gateway import auth, enforcement

    auth.clear_caches()
    enforcement.clear_caches()
    for answer in (
        client.get(path, **bearer),
        client.get(f"{V1}/resources/{population.resource_code}/records", **bearer),
    ):
        assert answer.status_code == 500
        _clean(answer, table, str(settings.DATABASES["default"]["NAME"]))


def test_a_call_that_fails_with_500_is_still_logged(
    granted: Callable[..., Any], population: Any, consumer_token: str
) -> None:
    from django.db import connection

    from zhengwu.datahub.serving.models import ServedTable
    from zhengwu.sharing.gateway import auth, enforcement
    from zhengwu.sharing.gateway.models import GatewayCall

    granted()
    client = Client(raise_request_exception=False)
    table = (
        ServedTable.objects.filter(resource_code=population.resource_code)
        .values_list("table_name", flat=True)
        .first()
    )
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{table}"')
    auth.clear_caches()
    enforcement.clear_caches()
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {consumer_token}").status_code == 500
    assert GatewayCall.objects.filter(status=500, resource_code=population.resource_code).count() == 1


def test_an_unknown_gateway_route_is_a_chinese_answer(consumer_token: str, client: Any) -> None:
    """Chinese and without internals, whichever shape it has (core.errorpages decides whether
    /gateway/v1/ answers JSON; tests/core covers that)."""
    r = client.get(f"{V1}/no-such-endpoint", HTTP_AUTHORIZATION=f"Bearer {consumer_token}")
    assert r.status_code == 404
    _clean(r)


# --- exchange -----------------------------------------------------------------------------------


@pytest.fixture
def exchange_grant(granted: Callable[..., Any]) -> Any:
    return granted(items=["id_no", "person_name", "division_code"], scope={"division_code": ["441402"]})


def test_exchange_pages_answer_in_chinese_without_internals(
    exchange_grant: Any,
    client: Any,
    consumer_admin: Any,
    make_user: Callable[..., Any],
    make_unit: Callable[..., Any],
) -> None:
    from tests.factories import grant as grant_role
    from zhengwu.sharing.exchange import services

    sub, _ = services.do_create_subscription(consumer_admin, exchange_grant, kind="feed", name="拉取")
    stranger = make_user("mz_data", unit=make_unit("市民政局", division_code="441400"))
    grant_role(stranger, "data_admin", stranger.unit)
    client.force_login(stranger)
    answers = [
        client.get(f"/exchange/subscriptions/{sub.pk}/"),  # another unit's subscription
        client.get("/exchange/subscriptions/999999/"),
        client.post(f"/exchange/subscriptions/{sub.pk}/pause/"),
        client.post(f"/exchange/subscriptions/{sub.pk}/drop-table/"),  # no such action
        client.post("/exchange/deliveries/999999/redeliver/"),
        client.get("/exchange/no-such-page/"),
    ]
    for answer in answers:
        assert answer.status_code == 404, (answer.status_code, answer.request["PATH_INFO"])
        _clean(answer, "拉取")  # not even the subscription's name


def test_exchange_api_errors_are_chinese_json(
    exchange_grant: Any,
    client: Any,
    consumer_admin: Any,
    settings: Any,
) -> None:
    client.force_login(consumer_admin)
    base = "/api/v1/exchange"
    cases = [
        (client.get(f"{base}/subscriptions/999999"), 404),
        (client.post(f"{base}/subscriptions", "{not json", content_type="application/json"), 400),
        (client.post(f"{base}/subscriptions", {"grant": "abc"}, content_type="application/json"), 422),
        (
            client.post(
                f"{base}/subscriptions",
                {"grant": exchange_grant.pk, "kind": "ftp", "name": "x"},
                content_type="application/json",
            ),
            400,
        ),
        (
            client.post(
                f"{base}/subscriptions",
                {
                    "grant": exchange_grant.pk,
                    "kind": "webhook",
                    "name": "推送",
                    "webhook_url": "http://169.254.169.254/latest/meta-data/",
                },
                content_type="application/json",
            ),
            400,
        ),
        (
            client.post(
                f"{base}/subscriptions",
                {
                    "grant": exchange_grant.pk,
                    "kind": "database",
                    "name": "前置库",
                    "db_engine": "postgresql",
                    "db_host": "127.0.0.1",
                    "db_port": 5432,
                    "db_name": "postgres",
                    "db_user": "postgres",
                    "db_password": "pw-s3cret",
                    "db_table": "rk",
                },
                content_type="application/json",
            ),
            400,
        ),
        (client.post(f"{base}/deliveries/999999/redeliver"), 404),
        (client.post(f"{base}/subscriptions/999999/explode"), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.status_code, response.content[:300])
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert set(body) >= {"detail"} and CHINESE.search(body["detail"]), body
        for error in body.get("errors") or []:
            assert CHINESE.search(error["message"]), body
        text = json.dumps(body, ensure_ascii=False)
        for word in (*INTERNALS, "169.254", "pw-s3cret", "meta-data"):
            assert word not in text, (word, text)
