"""Fixtures for the OpenID provider tests: a real server (pytest-django live_server), real clients
(Authlib, requests), registered and approved through the services."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from tests.conftest import STRONG_PASSWORD


@pytest.fixture
def issuer(live_server: Any) -> str:
    return str(live_server.url)


@pytest.fixture
def system_admin(make_user: Callable[..., Any]) -> Any:
    return make_user("sysadmin", admin_role="system_admin")


@pytest.fixture
def app_admin(make_user: Callable[..., Any], make_unit: Callable[..., Any]) -> Any:
    from zhengwu.directory.models import BusinessRole, RoleGrant

    unit = make_unit("示范市市场监督管理局", uscc="11441400MB2C99999X")
    user = make_user("appadmin", unit=unit)
    # get_or_create: transactional tests flush the rows data migrations wrote.
    role, _ = BusinessRole.objects.get_or_create(code="app_admin", defaults={"name": "应用系统管理员", "app_label": "oidc"})
    RoleGrant.objects.create(user=user, role=role, unit=unit)
    return user


@pytest.fixture
def register(app_admin: Any, system_admin: Any) -> Callable[..., tuple[Any, str]]:
    from zhengwu.identity.oidc import services

    def make(*, approve: bool = True, **kwargs: Any) -> tuple[Any, str]:
        args: dict[str, Any] = {
            "unit": app_admin.unit, "name": "企业登记系统", "kind": "web", "audience": "staff",
            "scopes": ["openid", "profile", "unit", "roles"],
            "redirect_uris": ["http://127.0.0.1:9999/callback"],
            "post_logout_redirect_uris": ["http://127.0.0.1:9999/"],
        }
        args.update(kwargs)
        registration, secret = services.do_register_client(app_admin, **args)
        if approve:
            services.do_approve_client(system_admin, registration.pk)
            registration.refresh_from_db()
        return registration, secret

    return make


def browser_login(issuer: str, username: str, password: str = STRONG_PASSWORD) -> requests.Session:
    """A requests session logged in at the platform's own login page."""
    browser = requests.Session()
    page = browser.get(f"{issuer}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = browser.post(
        f"{issuer}/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return browser


class Receiver:
    """A small HTTP server that records back-channel logout POSTs."""

    def __init__(self) -> None:
        self.received: list[dict[str, list[str]]] = []
        self.event = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                outer.received.append(parse_qs(self.rfile.read(length).decode()))
                outer.event.set()
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/backchannel-logout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings: Any, db: Any) -> Iterator[Receiver]:
    """A back-channel receiver on loopback, allowed by the deployment (ZHENGWU_EGRESS_ALLOW_LOCAL)
    and the 安全管理员's allowlist, as core/egress.py requires."""
    from zhengwu.core.models import EgressDestination

    r = Receiver()
    settings.EGRESS_ALLOW_LOCAL = [f"127.0.0.1:{r.port}"]
    EgressDestination.objects.create(host="127.0.0.1/32", port_min=r.port, port_max=r.port)
    yield r
    r.close()
