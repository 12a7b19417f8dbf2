"""Attacks on the gateway that tests/sharing/gateway/test_security.py does not already make:

- /metrics with the token anywhere but the Authorization header (query string, another header,
  Basic, a prefix of it), and the metrics at the gateway's prefix (no such route);
- a consumer whose grant expires or is revoked in the middle of a session — with a token and a
  next-page cursor it already holds — on every kind of endpoint (look-up, query JSON and CSV, next
  page, extract, change feed, per-grant OpenAPI): 403 with a Chinese JSON error that carries no
  item, no row value and no internal name, and the service list no longer offers the resource;
- error bodies on a live grant: none names an item outside the grant or a row value, nor a table,
  SQL or a stack trace.

Real endpoints, a real SERVICE client's token from /oidc/token, real rows in the serving store."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from .conftest import id_no

pytestmark = pytest.mark.django_db


V1 = "/gateway/v1"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Names that must never reach a consumer: items outside the grant (the fixture's grant has id_no,
# person_name, birth_date, division_code), row values, and the platform's insides.
HIDDEN = ("household_address", "户籍地址", "江南路", "gender", "张")
INTERNALS = (
    "Traceback",
    'File "',
    "SELECT",
    "INSERT",
    "psycopg",
    "sqlite",
    "django.",
    "zhengwu.",
    "gateway_gatewaycall",
    "sharing_sharegrant",
    "serving_",
    "Exception",
    "Error:",
)


def _body(response: Any) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode("utf-8", "replace")


def _assert_clean_refusal(response: Any, status: int, *, hidden: tuple[str, ...] = HIDDEN) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, _body(response)[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    text = _body(response)
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    assert CHINESE.search(body["error"]["message"]), body
    for word in (*hidden, *INTERNALS):
        assert word not in text, (word, text)
    return dict(body["error"])


# --- /metrics -----------------------------------------------------------------------------------


def test_metrics_token_only_counts_in_the_authorization_header(client: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = "m3trics-t0ken-abcdef"
    token = settings.METRICS_TOKEN
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    )  # the way that works
    refused = [
        client.get("/metrics"),
        client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token"),
        client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token[:-1]}"),  # a prefix
        client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}x"),  # longer
        client.get("/metrics", HTTP_AUTHORIZATION=f"Token {token}"),
        client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {token}"),
        client.get("/metrics", HTTP_AUTHORIZATION=token),
        client.get(f"/metrics?token={token}"),
        client.get(f"/metrics?access_token={token}"),
        client.get(f"/metrics?authorization=Bearer%20{token}"),
        client.get("/metrics", HTTP_X_METRICS_TOKEN=token),
        client.get("/metrics", HTTP_COOKIE=f"token={token}"),
        client.post("/metrics", {"access_token": token}),
    ]
    for response in refused:
        assert response.status_code == 401, response.content
        assert response.content.decode("utf-8") == "需要正确的访问令牌"
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"zhengwu_gateway" not in response.content


def test_no_metrics_under_the_gateway_prefix(client: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = "m3trics-t0ken-abcdef"
    for path in (f"{V1}/metrics", f"{V1}/metrics?token=m3trics-t0ken-abcdef"):
        response = client.get(path, HTTP_AUTHORIZATION="Bearer m3trics-t0ken-abcdef")
        assert response.status_code == 404
        assert b"zhengwu_gateway" not in response.content


# --- a grant that ends mid-session ----------------------------------------------------------------


def _fresh() -> None:
    from zhengwu.sharing.gateway import auth, enforcement

    auth.clear_caches()
    enforcement.clear_caches()


def _session(population: Any, consumer_token: str, call: Callable[..., Any]) -> dict[str, str]:
    """What a consumer's system holds in the middle of its work: a token and a next-page cursor."""
    base = f"{V1}/resources/{population.resource_code}"
    first = call(f"{base}/records?limit=2", consumer_token)
    assert first.status_code == 200 and len(first.json()["rows"]) == 2
    feed = call(f"{base}/changes?limit=2", consumer_token)
    assert feed.status_code == 200, feed.content
    return {"cursor": first.json()["next_cursor"], "feed_cursor": feed.json()["next_cursor"]}


def _every_endpoint(
    population: Any, consumer_token: str, call: Callable[..., Any], held: dict[str, str]
) -> list[Any]:
    code = population.resource_code
    base = f"{V1}/resources/{code}"
    return [
        call(f"{base}/records/{id_no(1)}", consumer_token),
        call(f"{base}/record?key.id_no={id_no(1)}", consumer_token),
        call(f"{base}/records?limit=2&cursor={held['cursor']}", consumer_token),
        call(f"{base}/records?format=csv", consumer_token),
        call(f"{base}/records?person_name=张四2&fields=id_no", consumer_token),
        call(f"{base}/extract?format=csv", consumer_token),
        call(f"{base}/extract?format=parquet", consumer_token),
        call(f"{base}/changes?cursor={held['feed_cursor']}", consumer_token),
        call(f"{base}/changes", consumer_token),
        call(f"{V1}/services/{code}/openapi.json", consumer_token),
    ]


def test_grant_expiring_mid_session_is_refused_at_once_on_every_endpoint(
    granted: Callable[..., Any],
    population: Any,
    consumer_token: str,
    call: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from zhengwu.sharing.gateway.models import DataUse, GatewayCall
    from zhengwu.sharing.models import ShareGrant

    grant = granted()
    today = timezone.localdate()
    ShareGrant.objects.filter(pk=grant.pk).update(
        valid_from=today - timedelta(days=30), valid_until=today
    )  # its last day
    _fresh()
    held = _session(population, consumer_token, call)
    uses = DataUse.objects.count()
    # Midnight passes in the middle of the session. No cache clearing: the validity period is
    # checked on every call (docs/gateway.md), the grant cached by the process has ended.
    tomorrow = today + timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    before = GatewayCall.objects.count()
    answers = _every_endpoint(population, consumer_token, call, held)
    for answer in answers:
        _assert_clean_refusal(answer, 403)
    assert GatewayCall.objects.count() == before + len(answers)
    assert set(
        GatewayCall.objects.filter(id__gt=0).order_by("-id")[: len(answers)].values_list("status", flat=True)
    ) == {403}
    assert DataUse.objects.count() == uses  # nobody's data was used
    assert call(f"{V1}/services", consumer_token).json()["services"] == []


def test_grant_revoked_mid_session_is_refused_on_every_endpoint(
    granted: Callable[..., Any],
    population: Any,
    consumer_token: str,
    call: Callable[..., Any],
    provider_reviewer: Any,
    settings: Any,
) -> None:
    from zhengwu.sharing import services
    from zhengwu.sharing.gateway.models import DataUse

    grant = granted()
    held = _session(population, consumer_token, call)
    uses = DataUse.objects.count()
    services.do_revoke_share_grant(provider_reviewer, grant, reason="业务已办结，收回授权")
    settings.GATEWAY_CACHE_SECONDS = 0  # the documented few seconds have passed
    for answer in _every_endpoint(population, consumer_token, call, held):
        error = _assert_clean_refusal(answer, 403)
        assert "共享授权" in error["message"]
    assert DataUse.objects.count() == uses
    assert call(f"{V1}/services", consumer_token).json()["services"] == []


def test_token_revoked_mid_session_is_401_in_chinese(
    granted: Callable[..., Any],
    population: Any,
    client: Any,
    consumer: Any,
    service_client: Callable[..., Any],
    call: Callable[..., Any],
) -> None:
    from oauth2_provider.models import AccessToken

    from tests.sharing.gateway.conftest import fetch_token
    from zhengwu.sharing.gateway import auth

    granted()
    registration, secret = service_client(consumer)
    token = fetch_token(client, registration, secret)
    held = _session(population, token, call)
    AccessToken.objects.all().delete()  # revoked at the identity provider
    auth.clear_caches()
    for answer in _every_endpoint(population, token, call, held):
        _assert_clean_refusal(answer, 401)
        assert answer["WWW-Authenticate"].startswith("Bearer")


# --- error bodies on a live grant -----------------------------------------------------------------


def test_error_bodies_name_no_item_outside_the_grant_and_no_row(
    granted: Callable[..., Any],
    population: Any,
    consumer_token: str,
    call: Callable[..., Any],
) -> None:
    granted(scope={"division_code": ["441402"]})
    code = population.resource_code
    base = f"{V1}/resources/{code}"
    # Each answer may echo what the caller itself sent (an unknown field's name), nothing else.
    cases = [
        (f"{base}/records?gender=1", 400, ("household_address", "户籍地址", "江南路", "张")),
        (
            f"{base}/records?fields=id_no,gender&format=csv",
            400,
            ("household_address", "户籍地址", "江南路", "张"),
        ),
        (f"{base}/records?order=gender", 400, ("household_address", "户籍地址", "江南路", "张")),
        (f"{base}/records?id_no__prefix=4414", 400, HIDDEN),  # a masked item: no prefix search
        (f"{base}/records?birth_date__gte=1990-13-45", 400, HIDDEN),
        (f"{base}/records?limit=100000", 400, HIDDEN),
        (f"{base}/records?cursor=eyJhIjoxfQ.AAAA", 400, HIDDEN),
        (f"{base}/records/{id_no(4, '441403')}", 404, HIDDEN),  # outside the row scope: "does not exist"
        (f"{base}/records/{id_no(9)}", 404, HIDDEN),
        (f"{base}/records/'%20OR%201=1--", 404, HIDDEN),
        (f"{base}/record?key.gender=1", 400, ("household_address", "户籍地址", "江南路", "张")),
        (f"{base}/extract?format=xlsx", 400, HIDDEN),
        (f"{base}/changes?cursor=forged", 400, HIDDEN),
        (f"{base}/changes?limit=0", 400, HIDDEN),
        (f"{V1}/resources/999999/99999/records", 404, HIDDEN),
    ]
    for path, status, hidden in cases:
        _assert_clean_refusal(call(path, consumer_token), status, hidden=hidden)
    # The row outside the scope and a key that does not exist answer the same words.
    outside = call(f"{base}/records/{id_no(4, '441403')}", consumer_token).json()["error"]["message"]
    missing = call(f"{base}/records/{id_no(9)}", consumer_token).json()["error"]["message"]
    assert outside == missing
