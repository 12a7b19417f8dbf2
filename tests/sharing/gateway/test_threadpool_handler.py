"""The gateway's reads on core.threadpool_handler: the same answers as Django's own ASGI handler
(status, body, every header — the security headers included), on a fixed set of reused threads,
and a streaming answer on a pooled route is refused rather than read into memory.

The two ASGI applications are driven in-process with httpx's ASGI transport; the rows are
committed (transactional_db) so the pool's threads, with their own database connections, see them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest

from zhengwu.core import threadpool_handler
from zhengwu.sharing.gateway.models import GatewayCall

from .conftest import id_no

V1 = "/gateway/v1"
pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on a thread of its own: an earlier browser test may leave an event loop running here."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in out:
        raise out["error"]
    return out["value"]


async def _get(app: Any, requests: list[tuple[str, str, dict[str, str]]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return [await client.request(method, path, headers=headers) for method, path, headers in requests]


@pytest.fixture
def apps() -> Iterator[tuple[Any, Any]]:
    from zhengwu.asgi import application, django_application

    yield application, django_application


# What only the browser-session middleware adds (LocaleMiddleware, SessionMiddleware's Vary), and
# the page CSP, which the machine routes replace by the strictest one.
SESSION_ONLY_HEADERS = ("vary", "content-language")
PAGE_HEADERS = (*SESSION_ONLY_HEADERS, "content-security-policy")


def _comparable(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in ("date", *PAGE_HEADERS))
    return response.status_code, response.content, headers


def test_pooled_answers_equal_djangos_asgi_answers(
    apps: tuple[Any, Any], granted: Callable[..., Any], population: Any, consumer_token: str,
) -> None:
    granted(scope={"division_code": ["441402"]})
    code = population.resource_code
    bearer = {"Authorization": f"Bearer {consumer_token}"}
    requests = [
        ("GET", f"{V1}/resources/{code}/records/{id_no(2)}", bearer),  # 200, masked
        ("GET", f"{V1}/resources/{code}/records/{id_no(4, '441403')}", bearer),  # outside the row scope: 404
        ("GET", f"{V1}/resources/{code}/records?fields=household_address", bearer),  # outside the grant: 400
        ("GET", f"{V1}/resources/{code}/records/{id_no(2)}", {}),  # no credential: 401
        ("GET", f"{V1}/resources/{code}/records/{id_no(2)}", {"Authorization": "Bearer nope"}),  # bad token: 401
        ("POST", f"{V1}/resources/{code}/records/{id_no(2)}", bearer),  # 405
        ("GET", f"{V1}/no/such/route", bearer),  # the gateway's JSON 404
        ("GET", f"{V1}/services", bearer),
        ("GET", f"{V1}/health", {}),
    ]
    pooled, plain = apps
    assert threadpool_handler.is_pooled(requests[0][1]) and not threadpool_handler.is_pooled(f"{V1}/resources/{code}/extract")
    got = run(_get(pooled, requests))
    expected = run(_get(plain, requests))
    assert [r.status_code for r in got] == [200, 404, 400, 401, 401, 405, 404, 200, 200]
    for mine, djangos in zip(got, expected, strict=True):
        assert _comparable(mine) == _comparable(djangos)
    shown = got[0].json()["record"]
    assert shown["id_no"] != id_no(2) and shown["id_no"].endswith(id_no(2)[-4:])
    for response in got:
        assert not set(SESSION_ONLY_HEADERS) & set(response.headers)
        assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers.get("cache-control") == "no-store" or response.request.url.path.endswith(("/route", "/health"))
        assert response.headers["content-type"].startswith("application/json")
    # every data call, refusals included, is in the call log — from both handlers alike
    assert GatewayCall.objects.filter(remote_addr="10.1.2.3").count() == 2 * 7  # all but the 404 route and health


def test_machine_middleware_is_middleware_without_the_browser_session_layers(settings: Any) -> None:
    machine, full = settings.MACHINE_MIDDLEWARE, settings.MIDDLEWARE
    assert "zhengwu.core.middleware.MachineContentSecurityPolicyMiddleware" in machine
    machine = [m for m in machine if m != "zhengwu.core.middleware.MachineContentSecurityPolicyMiddleware"]
    assert [m for m in full if m in machine] == machine  # the rest: a subset, in the same order
    dropped = set(full) - set(machine)
    assert dropped == {"csp.middleware.CSPMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.locale.LocaleMiddleware", "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware", "django.contrib.auth.middleware.AuthenticationMiddleware",
        "zhengwu.identity.middleware.SessionPolicyMiddleware", "django.contrib.messages.middleware.MessageMiddleware",
    }


def test_a_staff_session_is_no_credential_for_the_gateway(
    apps: tuple[Any, Any], client: Any, make_user: Callable[..., Any], consumer: Any, granted: Callable[..., Any],
    population: Any,
) -> None:
    granted()
    staff = make_user("rs_staff_session", unit=consumer)
    client.force_login(staff)
    cookie = f"{settings_cookie_name()}={client.cookies[settings_cookie_name()].value}"
    pooled, _ = apps
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    answer = run(_get(pooled, [("GET", path, {"Cookie": cookie})]))[0]
    assert answer.status_code == 401 and "缺少访问凭证" in answer.json()["error"]["message"]
    assert "set-cookie" not in answer.headers and id_no(1)[-4:] not in answer.text


def settings_cookie_name() -> str:
    from django.conf import settings

    return str(settings.SESSION_COOKIE_NAME)


def test_the_pool_reuses_a_fixed_set_of_threads(
    apps: tuple[Any, Any], settings: Any, granted: Callable[..., Any], population: Any, consumer_token: str,
) -> None:
    granted()
    pooled, _ = apps
    path = f"{V1}/resources/{population.resource_code}/records/{id_no(1)}"
    before = {t.ident for t in threading.enumerate() if t.name.startswith("zhengwu-sync")}
    answers = run(_get(pooled, [("GET", path, {"Authorization": f"Bearer {consumer_token}"})] * 30))
    assert {r.status_code for r in answers} == {200}
    after = {t.ident for t in threading.enumerate() if t.name.startswith("zhengwu-sync")}
    assert len(after) <= settings.SYNC_THREADS and len(after - before) <= settings.SYNC_THREADS


def test_a_streamed_answer_on_a_pooled_route_is_refused(
    apps: tuple[Any, Any], granted: Callable[..., Any], population: Any, consumer_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    granted()
    pooled, plain = apps
    path = f"{V1}/resources/{population.resource_code}/extract"
    bearer = {"Authorization": f"Bearer {consumer_token}"}
    streamed = run(_get(plain, [("GET", path, bearer)]))[0]
    assert streamed.status_code == 200 and id_no(1)[-4:] in streamed.text  # the extract streams on Django's path

    def misrouted(p: str) -> bool:
        return p == path

    threadpool_handler.register_route(misrouted)
    try:
        refused = run(_get(pooled, [("GET", path, bearer)]))[0]
    finally:
        threadpool_handler._routes.remove(misrouted)
    assert refused.status_code == 500 and "问题已记录" in refused.text and id_no(1)[-4:] not in refused.text
    assert "不应登记到线程池" in caplog.text



async def _raw_get(app: Any, path: str) -> tuple[int, bytes]:
    """A GET with the path exactly as given (httpx, like browsers, would remove dot segments;
    an attacker's client need not)."""
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"testserver")], "client": ("10.1.2.3", 50000), "server": ("testserver", 80),
             "scheme": "http", "root_path": "", "http_version": "1.1", "asgi": {"version": "3.0"}}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_page_cannot_be_reached_through_the_pooled_prefix(apps: tuple[Any, Any]) -> None:
    """The pooled routes run without the session, CSRF and login layers, so no page may be reached
    under /gateway/v1/: dot segments are not normalised into another app's path."""
    pooled, _ = apps
    for path in (f"{V1}/../portal/", f"{V1}/../../sharing/", f"{V1}//portal/", f"{V1}/./../audit/"):
        assert threadpool_handler.is_pooled(path)
        status, body = run(_raw_get(pooled, path))
        assert status == 404 and b'"status":404' in body.replace(b" ", b"") and b"<html" not in body.lower()
