"""Single sign-on in a browser: a staff member logs in once at the platform and is signed in to a
unit system (the demo relying party, a real Authlib client) without a second password prompt; logging
out at the platform ends the unit system's session too (back-channel logout)."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path("/tmp/shots/oidc")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{name} 在 {width} px 宽度下出现横向滚动"
    page.set_viewport_size({"width": 1280, "height": 800})


def test_staff_signs_in_once_and_logout_ends_the_unit_system(live_server: Any, page: Any, make_user: Any, make_unit: Any,
                                                            settings: Any) -> None:
    from zhengwu.core.models import EgressDestination
    from zhengwu.directory.models import BusinessRole, RoleGrant
    from zhengwu.identity.oidc import services
    from zhengwu.identity.oidc.management.commands.demo_unit_system import DemoRP, make_handler

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    port = _free_port()
    settings.EGRESS_ALLOW_LOCAL = [f"127.0.0.1:{port}"]
    EgressDestination.objects.create(host="127.0.0.1/32", port_min=port, port_max=port)
    unit = make_unit("示范市市场监督管理局", uscc="11441400MB2C99999X")
    staff = make_user("scj_data", unit=unit, full_name="马丽华")
    role, _ = BusinessRole.objects.get_or_create(code="app_admin", defaults={"name": "应用系统管理员", "app_label": "oidc"})
    RoleGrant.objects.create(user=staff, role=role, unit=unit)
    admin = make_user("xtadmin", admin_role="system_admin")
    base = f"http://127.0.0.1:{port}"
    registration, secret = services.do_register_client(
        staff, unit=unit, name="企业登记系统", kind="web", audience="staff", scopes=["openid", "profile", "unit", "roles"],
        redirect_uris=[f"{base}/callback"], post_logout_redirect_uris=[f"{base}/"], backchannel_logout_uri=f"{base}/backchannel-logout",
    )
    services.do_approve_client(admin, registration.pk)
    entry = {"client_id": registration.application.client_id, "secret": secret, "name": "企业登记系统", "unit": unit.name}
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(DemoRP(live_server.url, entry, port)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "scj_data")
        page.fill("input[name=password]", STRONG_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

        page.goto(f"{base}/")
        assert page.locator("#signed-out").is_visible()
        page.click("#login")
        page.wait_for_selector("#signed-in")  # no password asked: the platform session is the SSO session
        assert page.url == f"{base}/"
        assert "马丽华" in page.locator("#signed-in").inner_text()
        assert "示范市市场监督管理局" in page.content()

        # The console pages of the unit's 应用系统管理员.
        page.goto(f"{live_server.url}/sso/clients/")
        assert "企业登记系统" in page.content()
        _shoot(page, "clients")
        page.goto(f"{live_server.url}/sso/clients/{registration.pk}/")
        _shoot(page, "client-detail")
        page.goto(f"{live_server.url}/sso/clients/new/")
        _shoot(page, "client-form")

        # Logging out at the platform ends the unit system's session (back-channel).
        page.goto(f"{live_server.url}/")
        page.locator(".userbar form button").click()
        page.wait_for_url("**/login/**")
        page.goto(f"{base}/")
        assert page.locator("#signed-out").is_visible()
    finally:
        server.shutdown()
        server.server_close()


def test_review_page_screens(live_server: Any, page: Any, make_user: Any, make_unit: Any) -> None:
    from django.conf import settings as django_settings
    from django.test import Client

    from zhengwu.directory.models import BusinessRole, RoleGrant
    from zhengwu.identity.oidc import services

    unit = make_unit("示范市公安局")
    staff = make_user("gaj_data", unit=unit)
    role, _ = BusinessRole.objects.get_or_create(code="app_admin", defaults={"name": "应用系统管理员", "app_label": "oidc"})
    RoleGrant.objects.create(user=staff, role=role, unit=unit)
    services.do_register_client(staff, unit=unit, name="户政管理系统", kind="web", audience="staff", scopes=["openid", "profile"],
                                redirect_uris=["https://hz.gaj.example.gov.cn/oidc/callback"])
    admin = make_user("xtadmin", admin_role="system_admin")
    client = Client()
    client.force_login(admin)  # administrators log in with TOTP; the login itself is tested in tests/e2e/test_login.py
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
    page.goto(f"{live_server.url}/sso/review/")
    assert "户政管理系统" in page.content()
    _shoot(page, "review")
    page.goto(f"{live_server.url}/")
    assert "待审核的应用系统接入" in page.content()


def test_consent_page_screens(live_server: Any, page: Any, make_user: Any, make_unit: Any) -> None:
    import base64
    import struct
    import zlib
    from urllib.parse import urlencode

    from django.conf import settings as django_settings
    from django.test import Client

    from zhengwu.directory.models import BusinessRole, RoleGrant
    from zhengwu.identity.oidc import services

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xb2\x22\x1c" * 32 for _ in range(32))
    logo = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    unit = make_unit("示范市人力资源和社会保障局")
    staff = make_user("rsj_app", unit=unit, full_name="林晓")
    role, _ = BusinessRole.objects.get_or_create(code="app_admin", defaults={"name": "应用系统管理员", "app_label": "oidc"})
    RoleGrant.objects.create(user=staff, role=role, unit=unit)
    registration, _secret = services.do_register_client(
        staff, unit=unit, name="社保经办系统", kind="web", audience="both", scopes=["openid", "profile"],
        redirect_uris=["https://sb.rsj.example.gov.cn/callback"], logo=logo)
    services.do_approve_client(make_user("xtadmin", admin_role="system_admin"), registration.pk)
    client = Client()
    client.force_login(staff)
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
    challenge = base64.urlsafe_b64encode(b"x" * 32).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": registration.application.client_id, "scope": "openid profile",
                       "redirect_uri": "https://sb.rsj.example.gov.cn/callback", "code_challenge": challenge,
                       "code_challenge_method": "S256", "state": "s"})
    page.goto(f"{live_server.url}/oidc/authorize/?{query}")
    assert page.locator("text=同意并登录").is_visible()
    assert page.evaluate("document.querySelector('.oidc-logo').naturalWidth") == 32
    _shoot(page, "consent")
