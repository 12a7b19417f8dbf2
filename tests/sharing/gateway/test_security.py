"""Attacks on the gateway, each through the real endpoints with real credentials: a real SERVICE
client's token from /oidc/token, real rows in the serving store built from the lake."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from zhengwu.sharing.gateway import auth, enforcement
from zhengwu.sharing.gateway.models import DataUse, GatewayCall, GatewayKey, GrantLimits

from .conftest import fetch_token, id_no, signed_headers

pytestmark = pytest.mark.django_db

V1 = "/gateway/v1"


def _clear() -> None:
    auth.clear_caches()
    enforcement.clear_caches()


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_lookup_is_masked_and_accounted_without_the_number(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any]
) -> None:
    grant = granted()
    code = population.resource_code
    number = id_no(2)
    r = call(f"{V1}/resources/{code}/records/{number}", consumer_token, HTTP_X_ZHENGWU_PURPOSE="社保参保登记 SB-2026-001")
    assert r.status_code == 200, r.content
    record = r.json()["record"]
    assert set(record) == {"id_no", "person_name", "birth_date", "division_code"}
    assert record["id_no"] != number and record["id_no"].startswith("441") and record["id_no"].endswith(number[-4:])
    assert record["person_name"] != "张四2" and record["division_code"] == "441402"
    c = GatewayCall.objects.get()
    assert (c.status, c.operation, c.row_count, c.keys_touched, c.grant_id) == (200, "lookup", 1, 1, grant.pk)
    assert c.case_ref == "社保参保登记SB-2026-001" and c.purpose.startswith("办理社会保险")
    use = DataUse.objects.get()
    from zhengwu.sharing.gateway.services import subject_hash

    assert use.subject_hash == subject_hash("person", number) and use.call_id == c.pk
    stored = json.dumps(list(GatewayCall.objects.values()), default=str) + json.dumps(list(DataUse.objects.values()), default=str)
    assert number not in stored


def test_clear_values_only_when_the_grant_allows(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any]
) -> None:
    granted(clear_items=["id_no"])
    r = call(f"{V1}/resources/{population.resource_code}/records/{id_no(2)}", consumer_token)
    assert r.json()["record"]["id_no"] == id_no(2)
    assert r.json()["record"]["person_name"] != "张四2"  # not asked clear: still masked


def test_no_grant_is_403_and_recorded(population: Any, consumer_token: str, call: Callable[..., Any]) -> None:
    r = call(f"{V1}/resources/{population.resource_code}/records/{id_no(1)}", consumer_token)
    assert r.status_code == 403 and "共享授权" in r.json()["error"]["message"]
    c = GatewayCall.objects.get()
    assert c.status == 403 and "共享授权" in c.error and c.unit_name == "市人力资源和社会保障局" and c.row_count == 0
    assert not DataUse.objects.exists()


def test_items_outside_the_grant_never_appear(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any]
) -> None:
    granted()  # household_address and gender are not granted
    code = population.resource_code
    base = f"{V1}/resources/{code}"
    hidden = ("household_address", "户籍地址", "江南路", "gender")
    unknown = call(f"{base}/records?fields=no_such_item", consumer_token)
    outside = call(f"{base}/records?fields=household_address", consumer_token)
    assert unknown.status_code == outside.status_code == 400
    assert unknown.json()["error"]["message"] == "未知字段：no_such_item"
    assert outside.json()["error"]["message"] == "未知字段：household_address"
    assert call(f"{base}/records?household_address=江南路1号", consumer_token).status_code == 400
    assert call(f"{base}/records?order=household_address", consumer_token).status_code == 400
    answers = [
        call(f"{base}/records", consumer_token), call(f"{base}/records?format=csv", consumer_token),
        call(f"{base}/records/{id_no(1)}", consumer_token), call(f"{base}/extract?format=csv", consumer_token),
        call(f"{V1}/services/{code}/openapi.json", consumer_token), call(f"{V1}/services", consumer_token),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.content
        text = _body(answer).decode("utf-8")
        assert not any(h in text for h in hidden), (answer.request["PATH_INFO"], text[:300])
    parquet = call(f"{base}/extract?format=parquet", consumer_token)
    table = pq.read_table(io.BytesIO(_body(parquet)))
    assert table.column_names == ["id_no", "person_name", "birth_date", "division_code"] and table.num_rows == 5
    assert id_no(1) not in table.column("id_no").to_pylist()  # masked in the extract too


def test_row_scope_holds_for_lookup_query_and_extract(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any]
) -> None:
    granted(scope={"division_code": ["441402"]})
    base = f"{V1}/resources/{population.resource_code}"
    assert call(f"{base}/records/{id_no(1)}", consumer_token).status_code == 200
    outside = call(f"{base}/records/{id_no(4, '441403')}", consumer_token)
    assert outside.status_code == 404 and "授权范围" in outside.json()["error"]["message"]
    rows = call(f"{base}/records?limit=100", consumer_token).json()["rows"]
    assert sorted(r["division_code"] for r in rows) == ["441402"] * 3
    assert call(f"{base}/records?division_code=441403", consumer_token).json()["rows"] == []
    csv_text = _body(call(f"{base}/extract?format=csv", consumer_token)).decode("utf-8-sig")
    assert csv_text.count("441403") == 0 and len(csv_text.strip().splitlines()) == 4
    extract = GatewayCall.objects.filter(operation="extract").get()
    assert extract.row_count == 3 and DataUse.objects.filter(call=extract).count() == 3


def test_expired_and_revoked_tokens_are_401(
    granted: Callable[..., Any], population: Any, client: Any, consumer: Any, service_client: Callable[..., Any],
    call: Callable[..., Any], system_admin: Any,
) -> None:
    from oauth2_provider.models import AccessToken

    from zhengwu.identity.oidc import services as oidc

    granted()
    registration, secret = service_client(consumer)
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    token = fetch_token(client, registration, secret)
    assert call(path, token).status_code == 200
    AccessToken.objects.update(expires=timezone.now() - timezone.timedelta(seconds=1))
    _clear()
    assert call(path, token).status_code == 401
    token = fetch_token(client, registration, secret)
    assert call(path, token).status_code == 200
    r = client.post("/oidc/revoke/", {"token": token, "client_id": registration.application.client_id, "client_secret": secret})
    assert r.status_code == 200
    _clear()
    assert call(path, token).status_code == 401
    token = fetch_token(client, registration, secret)
    oidc.do_set_client_enabled(system_admin, registration.pk, False)
    _clear()
    denied = call(path, token)
    assert denied.status_code == 401 and denied["WWW-Authenticate"].startswith("Bearer")
    assert call(path, "not-a-token").status_code == 401
    assert call(path).status_code == 401
    assert GatewayCall.objects.filter(status=401).count() == 5


def test_a_token_without_the_sharing_scope_is_refused(
    granted: Callable[..., Any], population: Any, client: Any, consumer: Any, service_client: Callable[..., Any],
    call: Callable[..., Any],
) -> None:
    granted()
    registration, secret = service_client(consumer, scopes=["introspection"])
    token = fetch_token(client, registration, secret, scope="introspection")
    assert call(f"{V1}/resources/{population.resource_code}/records/{id_no(1)}", token).status_code == 401


def test_another_units_token_cannot_use_this_units_grant(
    granted: Callable[..., Any], population: Any, client: Any, make_unit: Callable[..., Any],
    service_client: Callable[..., Any], call: Callable[..., Any],
) -> None:
    granted()
    other = make_unit("市民政局", division_code="441400")
    registration, secret = service_client(other, name="民政业务系统")
    token = fetch_token(client, registration, secret)
    r = call(f"{V1}/resources/{population.resource_code}/records/{id_no(1)}", token)
    assert r.status_code == 403
    assert call(f"{V1}/services", token).json()["services"] == []


def test_revoked_grant_stops_within_the_cache(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any], provider_reviewer: Any,
    settings: Any,
) -> None:
    from zhengwu.sharing import services

    grant = granted()
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    assert call(path, consumer_token).status_code == 200
    services.do_revoke_share_grant(provider_reviewer, grant, reason="业务已办结，收回授权")
    settings.GATEWAY_CACHE_SECONDS = 0  # the TTL has passed
    assert call(path, consumer_token).status_code == 403


def test_signed_requests_replay_bad_signature_and_revoked_key(
    granted: Callable[..., Any], population: Any, client: Any, consumer_admin: Any,
) -> None:
    from zhengwu.sharing.gateway import services

    granted()
    key, secret = services.do_create_gateway_key(consumer_admin, name="旧版社保系统")
    assert GatewayKey.objects.get().secret_encrypted != secret and secret not in GatewayKey.objects.get().secret_encrypted
    path = f"{V1}/resources/{population.resource_code}/records"
    query = "limit=2&fields=id_no,division_code"
    headers = signed_headers(key.key_id, secret, path, query)
    ok = client.get(f"{path}?{query}", **headers)
    assert ok.status_code == 200, ok.content
    assert len(ok.json()["rows"]) == 2
    replay = client.get(f"{path}?{query}", **headers)
    assert replay.status_code == 401 and "已使用过" in replay.json()["error"]["message"]
    # same query parameters in another order sign the same canonical string
    assert client.get(f"{path}?fields=id_no,division_code&limit=2", **signed_headers(key.key_id, secret, path, query)).status_code == 200
    tampered = signed_headers(key.key_id, secret, path, query)
    assert client.get(f"{path}?limit=3&fields=id_no,division_code", **tampered).status_code == 401
    wrong = signed_headers(key.key_id, "x" * 43, path, query)
    assert client.get(f"{path}?{query}", **wrong).status_code == 401
    stale = signed_headers(key.key_id, secret, path, query, timestamp=int(timezone.now().timestamp()) - 301)
    r = client.get(f"{path}?{query}", **stale)
    assert r.status_code == 401 and "300 秒" in r.json()["error"]["message"]
    services.do_revoke_gateway_key(consumer_admin, key)
    _clear()
    assert client.get(f"{path}?{query}", **signed_headers(key.key_id, secret, path, query)).status_code == 401


def test_injection_in_filters_is_refused_before_any_query(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any],
) -> None:
    granted()
    base = f"{V1}/resources/{population.resource_code}/records"
    for query in (
        "fields=id_no;DROP TABLE gateway_gatewaycall",
        'fields=id_no"%20FROM%20x--',
        "id_no__regex=.*",
        "id_no__gt=1",  # masked item: no range
        "birth_date__gte=1990-01-01%27%20OR%201=1--&birth_date__foo=1",
        '%22id_no%22%20OR%201=1--=1',
        "limit=0", "limit=-1", "limit=1e3", "cursor=abc.def",
        "birth_date__gte=not-a-date",
    ):
        r = call(f"{base}?{query}", consumer_token)
        assert r.status_code == 400, (query, r.content)
        assert r.json()["error"]["message"]
    # a value is a parameter, never SQL: it just matches nothing
    r = call(f"{base}?person_name=x%27%20OR%20%271%27=%271", consumer_token)
    assert r.status_code == 200 and r.json()["rows"] == []
    assert len(call(f"{base}?limit=100", consumer_token).json()["rows"]) == 5


def test_refused_source_address_is_403(
    granted: Callable[..., Any], population: Any, client: Any, consumer: Any, consumer_admin: Any,
    service_client: Callable[..., Any], call: Callable[..., Any],
) -> None:
    from zhengwu.sharing.gateway import services

    granted()
    registration, secret = service_client(consumer)
    token = fetch_token(client, registration, secret)
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    services.do_set_client_sources(consumer_admin, registration.pk, "10.20.0.0/16")
    _clear()
    r = call(path, token)
    assert r.status_code == 403 and "127.0.0.1" in r.json()["error"]["message"]
    assert call(path, token, REMOTE_ADDR="10.20.3.4").status_code == 200
    services.do_set_client_sources(consumer_admin, registration.pk, "")
    _clear()
    assert call(path, token).status_code == 200


def test_rate_limit_and_quota_are_429_with_retry_after(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any], provider_reviewer: Any,
    consumer_admin: Any,
) -> None:
    from zhengwu.core.errors import PermissionDenied
    from zhengwu.sharing.gateway import services

    grant = granted()
    with pytest.raises(PermissionDenied):
        services.do_set_grant_limits(consumer_admin, grant, rate_per_minute=1000, daily_quota=100000)
    services.do_set_grant_limits(provider_reviewer, grant, rate_per_minute=2, daily_quota=100)
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    assert [call(path, consumer_token).status_code for _ in range(2)] == [200, 200]
    r = call(path, consumer_token)
    assert r.status_code == 429 and 1 <= int(r["Retry-After"]) <= 60 and "每分钟" in r.json()["error"]["message"]
    GrantLimits.objects.filter(grant=grant).update(rate_per_minute=1000, daily_quota=4)
    _clear()
    assert call(path, consumer_token).status_code == 200
    r = call(path, consumer_token)
    assert r.status_code == 429 and "配额" in r.json()["error"]["message"] and int(r["Retry-After"]) > 0


def test_pagination_with_a_signed_cursor(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any],
) -> None:
    granted()
    base = f"{V1}/resources/{population.resource_code}/records"
    first = call(f"{base}?limit=2&fields=id_no,division_code", consumer_token).json()
    assert len(first["rows"]) == 2 and first["next_cursor"]
    seen = list(first["rows"])
    cursor = first["next_cursor"]
    while cursor:
        page = call(f"{base}?limit=2&fields=id_no,division_code&cursor={cursor}", consumer_token).json()
        seen += page["rows"]
        cursor = page["next_cursor"]
    assert len(seen) == 5 and len({r["id_no"] for r in seen}) == 5
    forged = first["next_cursor"][:-2] + ("00" if not first["next_cursor"].endswith("00") else "11")
    assert call(f"{base}?limit=2&fields=id_no,division_code&cursor={forged}", consumer_token).status_code == 400
    other_query = call(f"{base}?limit=2&fields=id_no&cursor={first['next_cursor']}", consumer_token)
    assert other_query.status_code == 400


def test_csv_neutralises_formulas(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any],
) -> None:
    granted(items=["id_no", "household_address", "division_code"])
    r = call(f"{V1}/resources/{population.resource_code}/records?format=csv&fields=household_address", consumer_token)
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeffhousehold_address") and "'=HYPERLINK" in text


def test_openapi_describes_only_the_grant(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any],
) -> None:
    granted(scope={"division_code": ["441402"]})
    doc = call(f"{V1}/services/{population.resource_code}/openapi.json", consumer_token).json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["components"]["schemas"]["Record"]["properties"]) == {"id_no", "person_name", "birth_date", "division_code"}
    names = {p["name"] for p in doc["paths"][f"{V1}/resources/{population.resource_code}/records"]["get"]["parameters"]}
    assert "birth_date__gte" in names and "id_no__in" in names and "id_no__gt" not in names
    listing = call(f"{V1}/services", consumer_token).json()["services"]
    assert [s["code"] for s in listing] == [population.resource_code]
    assert call(f"{V1}/health").json() == {"status": "ok"}
    assert call(f"{V1}/openapi.json").status_code == 200
