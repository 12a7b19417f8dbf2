"""Attacks on the OpenID provider, each against the running server or the services."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from .conftest import browser_login
from .test_flow import REDIRECT, authorize, client_for, discover


def png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(
        b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


live = pytest.mark.django_db(transaction=True)


def forced_session(issuer: str, user: Any) -> requests.Session:
    """A browser session of `user` (public accounts log in at the portal, not at the staff login)."""
    from django.conf import settings
    from django.test import Client

    django_client = Client()
    django_client.force_login(user)
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME, django_client.cookies[settings.SESSION_COOKIE_NAME].value)
    return browser


@live
def test_code_reuse_refused_and_revokes_its_tokens(issuer: str, register: Any) -> None:
    from zhengwu.audit.models import AuditRecord

    registration, secret = register()
    meta = discover(issuer)
    client = client_for(registration, secret)
    location, verifier, _ = authorize(browser_login(issuer, "appadmin"), client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(meta["userinfo_endpoint"], headers=bearer, timeout=10).status_code == 200
    again = OAuth2Session(registration.application.client_id, secret, redirect_uri=REDIRECT)
    with pytest.raises(Exception, match="invalid_grant"):
        again.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert requests.get(meta["userinfo_endpoint"], headers=bearer, timeout=10).status_code == 401
    assert AuditRecord.objects.filter(action="oidc.code_reuse").exists()


@live
def test_wrong_or_extra_redirect_uri_refused(issuer: str, register: Any) -> None:
    registration, secret = register()
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    for uri in ("http://127.0.0.1:9999/callback/evil", "http://127.0.0.1:9999/callback?x=1", "https://evil.example/callback",
                "http://127.0.0.1:9998/callback"):
        client = OAuth2Session(registration.application.client_id, secret, scope="openid", redirect_uri=uri, code_challenge_method="S256")
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=generate_token(48))
        response = browser.get(url, allow_redirects=False)
        assert response.status_code == 400 and "无法登录该应用系统" in response.text, uri
    # A code issued for the registered URI cannot be exchanged for another one.
    client = client_for(registration, secret)
    location, verifier, _ = authorize(browser, client, meta)
    code = location.split("code=")[1].split("&")[0]
    refused = requests.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                            "redirect_uri": "http://127.0.0.1:9999/other"}, auth=(registration.application.client_id, secret), timeout=10)
    assert refused.status_code in (400, 401)


@live
def test_pkce_required_for_public_clients(issuer: str, register: Any) -> None:
    registration, secret = register(kind="public")
    assert secret == ""
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    plain = OAuth2Session(registration.application.client_id, None, scope="openid", redirect_uri=REDIRECT)
    url, _ = plain.create_authorization_url(meta["authorization_endpoint"])
    response = browser.get(url, allow_redirects=False)
    assert response.status_code == 302 and "error=invalid_request" in response.headers["Location"]
    # With PKCE, the public client gets tokens without a secret, and a wrong verifier is refused.
    client = client_for(registration, "")
    location, verifier, _ = authorize(browser, client, meta)
    code = location.split("code=")[1].split("&")[0]
    wrong = requests.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                          "client_id": registration.application.client_id, "code_verifier": generate_token(48)}, timeout=10)
    assert wrong.status_code == 400
    location, verifier, _ = authorize(browser, client, meta)
    assert "access_token" in client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)


@live
def test_unapproved_and_disabled_clients_refused_and_tokens_stop(issuer: str, register: Any, app_admin: Any) -> None:
    from zhengwu.identity.oidc import services

    pending, pending_secret = register(approve=False)
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    url, _ = client_for(pending, pending_secret).create_authorization_url(meta["authorization_endpoint"], code_verifier=generate_token(48))
    assert browser.get(url, allow_redirects=False).status_code == 400
    registration, secret = register(name="另一个系统")
    client = client_for(registration, secret)
    location, verifier, _ = authorize(browser, client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    services.do_set_client_enabled(app_admin, registration.pk, False)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(meta["userinfo_endpoint"], headers=bearer, timeout=10).status_code == 401
    assert client.introspect_token(meta["introspection_endpoint"], token=token["access_token"]).status_code == 401
    refresh = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                            auth=(registration.application.client_id, secret), timeout=10)
    assert refresh.status_code in (400, 401)


@live
def test_staff_only_client_refuses_a_public_account(issuer: str, register: Any) -> None:
    from tests.conftest import STRONG_PASSWORD
    from zhengwu.audit.models import AuditRecord
    from zhengwu.directory.models import User

    registration, secret = register()
    User.objects.create_user("citizen1", password=STRONG_PASSWORD, full_name="张三", account_kind="public", unit=None)
    meta = discover(issuer)
    browser = forced_session(issuer, User.objects.get(username="citizen1"))
    url, _ = client_for(registration, secret).create_authorization_url(meta["authorization_endpoint"], code_verifier=generate_token(48))
    response = browser.get(url, allow_redirects=False)
    assert response.status_code == 403 and "仅供工作人员使用" in response.text
    assert AuditRecord.objects.filter(action="oidc.refuse_account", result="failure").exists()


def test_secret_shown_once_and_hashed(client: Any, register: Any, app_admin: Any) -> None:
    registration, secret = register(approve=False)
    assert secret and registration.application.client_secret != secret
    client.force_login(app_admin)
    session = client.session
    session["oidc_secret_once"] = {"id": registration.pk, "secret": secret}
    session.save()
    first = client.get(f"/sso/clients/{registration.pk}/")
    assert secret in first.content.decode()
    assert secret not in client.get(f"/sso/clients/{registration.pk}/").content.decode()


def test_register_through_the_page_shows_secret_once(client: Any, app_admin: Any) -> None:
    from zhengwu.identity.oidc.models import ClientRegistration

    client.force_login(app_admin)
    response = client.post("/sso/clients/new/", {
        "unit": app_admin.unit.pk, "name": "企业登记系统", "kind": "web", "audience": "staff", "scopes": ["openid", "profile"],
        "redirect_uris": "https://qydj.example.gov.cn/callback",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    registration = ClientRegistration.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "仅显示这一次" in page and registration.application.client_id in page
    assert "仅显示这一次" not in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("redirect_uris", ["https://a.example/*"], "通配符"),
        ("redirect_uris", ["https://a.example/cb#x"], "片段"),
        ("redirect_uris", ["http://a.example/cb"], "https"),
        ("redirect_uris", [], "至少填写一个回调地址"),
        ("post_logout_redirect_uris", ["javascript:alert(1)"], "退出后返回地址"),
        ("scopes", ["openid", "admin"], "不能申请范围"),
    ],
)
def test_bad_registration_refused_with_the_field(register: Any, field: str, value: Any, message: str) -> None:
    from zhengwu.core.errors import DomainError
    from zhengwu.identity.oidc.models import ClientRegistration

    with pytest.raises(DomainError) as exc:
        register(approve=False, **{field: value})
    assert message in exc.value.message and exc.value.field == field
    assert not ClientRegistration.objects.exists()


def test_logo_checked_by_magic_bytes_and_size(register: Any, settings: Any) -> None:
    from zhengwu.core.errors import DomainError

    registration, _ = register(approve=False, logo=png())
    assert registration.logo_type == "image/png"
    for bad, message in ((b"<svg xmlns='http://www.w3.org/2000/svg'/>", "PNG 或 JPEG"), (b"\x89PNG\r\n\x1a\nnot really", "损坏"),
                         (png()[:8] + b"\x00" * (settings.OIDC_LOGO_MAX_KB * 1024), "不能超过")):
        with pytest.raises(DomainError) as exc:
            register(approve=False, name="带标志的系统", logo=bad)
        assert message in exc.value.message and exc.value.field == "logo"


def test_other_units_staff_cannot_manage_a_client(register: Any, make_user: Any, client: Any) -> None:
    from zhengwu.core.errors import PermissionDenied
    from zhengwu.directory.models import BusinessRole, RoleGrant
    from zhengwu.identity.oidc import services

    registration, _ = register()
    outsider = make_user("otheradmin")
    role = BusinessRole.objects.get(code="app_admin")
    RoleGrant.objects.create(user=outsider, role=role, unit=outsider.unit)
    with pytest.raises(PermissionDenied):
        services.do_rotate_client_secret(outsider, registration.pk)
    with pytest.raises(PermissionDenied):
        services.do_set_client_enabled(outsider, registration.pk, False)
    with pytest.raises(PermissionDenied):
        services.do_register_client(outsider, unit=registration.unit, name="冒名系统", kind="web", audience="staff",
                                    scopes=["openid"], redirect_uris=["https://x.example/cb"])
    client.force_login(outsider)
    assert client.get(f"/sso/clients/{registration.pk}/").status_code == 404
    assert client.post(f"/sso/clients/{registration.pk}/secret/").status_code == 404
    registration.refresh_from_db()
    assert registration.enabled


def test_backchannel_uri_refused_by_egress_at_registration(register: Any) -> None:
    from zhengwu.core.egress import EgressRefused

    for uri in ("http://127.0.0.1:8000/x", "https://169.254.169.254/latest", "https://10.0.0.5/logout"):
        with pytest.raises(EgressRefused):
            register(approve=False, backchannel_logout_uri=uri)


@live
def test_backchannel_uri_refused_at_delivery_never_blocks_logout(issuer: str, register: Any, receiver: Any, settings: Any) -> None:
    from zhengwu.audit.models import AuditRecord

    registration, secret = register(backchannel_logout_uri=receiver.url)
    settings.EGRESS_ALLOW_LOCAL = []  # the deployment no longer allows the address
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    location, verifier, _ = authorize(browser, client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    out = browser.get(meta["end_session_endpoint"], params={"id_token_hint": token["id_token"]}, allow_redirects=False)
    assert out.status_code == 302
    assert receiver.received == []
    assert AuditRecord.objects.filter(action="oidc.backchannel_logout", result="failure").exists()
    assert browser.get(f"{issuer}/", allow_redirects=False).status_code == 302


def test_review_needs_the_system_admin_and_a_reason(register: Any, app_admin: Any, system_admin: Any) -> None:
    from zhengwu.core.consoles import todos_for
    from zhengwu.core.errors import DomainError, PermissionDenied
    from zhengwu.identity.oidc import services

    registration, _ = register(approve=False)
    assert any(t.key == "oidc.pending" and t.count == 1 for t in todos_for(system_admin))
    with pytest.raises(PermissionDenied):
        services.do_approve_client(app_admin, registration.pk)
    with pytest.raises(DomainError) as exc:
        services.do_refuse_client(system_admin, registration.pk, " ")
    assert exc.value.field == "reason"
    services.do_refuse_client(system_admin, registration.pk, "回调地址不是本单位域名")
    registration.refresh_from_db()
    assert registration.status == "refused" and not registration.usable
