"""The whole OpenID Connect flow against the running server, driven by Authlib (a real RP library)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

from .conftest import browser_login

pytestmark = pytest.mark.django_db(transaction=True)
REDIRECT = "http://127.0.0.1:9999/callback"


def discover(issuer: str) -> dict[str, Any]:
    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == issuer
    return meta


def client_for(registration: Any, secret: str, **kwargs: Any) -> OAuth2Session:
    return OAuth2Session(
        registration.application.client_id, secret or None, scope="openid profile unit roles",
        redirect_uri=REDIRECT, code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none", **kwargs,
    )


def authorize(browser: requests.Session, client: OAuth2Session, meta: dict[str, Any], **params: Any) -> tuple[str, str, str]:
    """(callback URL, code verifier, nonce) after the browser went through the authorization endpoint."""
    verifier = generate_token(48)
    nonce = generate_token(16)
    url, _state = client.create_authorization_url(meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier, **params)
    response = browser.get(url, allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT), location
    return location, verifier, nonce


def verify_id_token(issuer: str, meta: dict[str, Any], id_token: str, client_id: str, nonce: str | None) -> Any:
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    options: dict[str, Any] = {"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id},
                               "exp": {"essential": True}}
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
    claims = jwt.decode(id_token, keys, claims_options=options)
    claims.validate()
    return claims


def test_code_pkce_id_token_userinfo_refresh_revoke_introspect(issuer: str, register: Any, app_admin: Any) -> None:
    from zhengwu.audit.models import AuditRecord
    from zhengwu.directory.models import BusinessRole, RoleGrant

    role, _ = BusinessRole.objects.get_or_create(code="data_admin", defaults={"name": "数据管理员", "app_label": "directory"})
    RoleGrant.objects.create(user=app_admin, role=role, unit=app_admin.unit)
    registration, secret = register()
    meta = discover(issuer)
    assert "S256" in meta["code_challenge_methods_supported"] and meta["backchannel_logout_supported"] is True
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    location, verifier, nonce = authorize(browser, client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    claims = verify_id_token(issuer, meta, token["id_token"], registration.application.client_id, nonce)
    assert claims["sub"] != app_admin.username and len(claims["sub"]) >= 24
    assert claims["sid"] and claims["name"] == app_admin.full_name
    assert claims["unit"]["name"] == "示范市市场监督管理局" and claims["unit"]["code"] == "11441400MB2C99999X"
    assert {r["code"] for r in claims["roles"]} == {"app_admin", "data_admin"}

    info = client.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["unit"]["level"] == "city"

    # Refresh: a new pair; the old refresh token is spent (rotation).
    old_refresh = token["refresh_token"]
    new = client.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    assert new["access_token"] != token["access_token"] and new["refresh_token"] != old_refresh
    assert requests.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).status_code == 401
    new_claims = verify_id_token(issuer, meta, new["id_token"], registration.application.client_id, None)
    assert new_claims["sid"] == claims["sid"]

    # Introspection: authenticated clients only; the sub, never the username.
    active = client.introspect_token(meta["introspection_endpoint"], token=new["access_token"]).json()
    assert active["active"] is True and active["sub"] == claims["sub"] and "username" not in active
    anonymous = requests.post(meta["introspection_endpoint"], data={"token": new["access_token"]}, timeout=10)
    assert anonymous.status_code == 401

    # Revocation (RFC 7009): the access token stops working at once.
    assert client.revoke_token(meta["revocation_endpoint"], token=new["access_token"]).status_code == 200
    assert requests.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {new['access_token']}"}, timeout=10).status_code == 401
    assert client.introspect_token(meta["introspection_endpoint"], token=new["access_token"]).json() == {"active": False}
    assert AuditRecord.objects.filter(action="oidc.authorize", result="success").count() == 1


def test_refresh_token_replay_revokes_the_family(issuer: str, register: Any) -> None:
    registration, secret = register()
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    location, verifier, _nonce = authorize(browser, client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    old_refresh = token["refresh_token"]
    new = client.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    auth = (registration.application.client_id, secret)
    replay = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": old_refresh}, auth=auth, timeout=10)
    assert replay.status_code == 400
    after = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]}, auth=auth, timeout=10)
    assert after.status_code == 400


def test_client_credentials_and_introspection_by_a_gateway(issuer: str, register: Any) -> None:
    service, service_secret = register(name="共享网关", kind="service", scopes=["introspection"], redirect_uris=[])
    other, other_secret = register(name="区县数据应用", kind="service", scopes=[], redirect_uris=[])
    meta = discover(issuer)
    app = OAuth2Session(other.application.client_id, other_secret)
    token = app.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    assert "id_token" not in token and "refresh_token" not in token
    gateway = OAuth2Session(service.application.client_id, service_secret)
    seen = gateway.introspect_token(meta["introspection_endpoint"], token=token["access_token"]).json()
    assert seen["active"] is True and seen["client_id"] == other.application.client_id and "sub" not in seen
    # Without the introspection scope a client sees only its own tokens.
    own = app.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    service_token = gateway.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    assert app.introspect_token(meta["introspection_endpoint"], token=service_token["access_token"]).json() == {"active": False}
    assert app.introspect_token(meta["introspection_endpoint"], token=own["access_token"]).json()["active"] is True
    wrong = requests.post(meta["token_endpoint"], data={"grant_type": "client_credentials"},
                          auth=(other.application.client_id, "wrong-secret"), timeout=10)
    assert wrong.status_code == 401


def test_key_rotation_old_tokens_verify_new_tokens_use_new_kid(issuer: str, register: Any) -> None:
    from zhengwu.identity.oidc import services

    registration, secret = register()
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    location, verifier, nonce = authorize(browser, client, meta)
    first = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    old_kid = jwt_header(first["id_token"])["kid"]
    new_kid, previous = services.do_rotate_signing_key()
    assert previous == old_kid and new_kid != old_kid
    published = {k["kid"] for k in requests.get(meta["jwks_uri"], timeout=10).json()["keys"]}
    assert published == {old_kid, new_kid}
    verify_id_token(issuer, meta, first["id_token"], registration.application.client_id, nonce)
    location, verifier, nonce = authorize(browser, client, meta)
    second = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert jwt_header(second["id_token"])["kid"] == new_kid
    verify_id_token(issuer, meta, second["id_token"], registration.application.client_id, nonce)


def test_old_key_leaves_jwks_after_its_tokens_expired(db: Any, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from zhengwu.identity.oidc import keys, services

    first = keys.active_key()
    services.do_rotate_signing_key()
    assert {k["kid"] for k in keys.jwks()["keys"]} >= {first.kid}
    later = timezone.now() + timedelta(seconds=settings.OIDC_ID_TOKEN_SECONDS) + timedelta(minutes=6)
    assert first.kid not in {k.kid for k in keys.published_keys(later)}
    assert keys.retire_expired(later) == [first.kid]


def jwt_header(token: str) -> dict[str, Any]:
    import base64
    import json

    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def test_back_channel_and_rp_initiated_logout(issuer: str, register: Any, receiver: Any) -> None:
    from zhengwu.audit.models import AuditRecord

    registration, secret = register(backchannel_logout_uri=receiver.url)
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    location, verifier, nonce = authorize(browser, client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    claims = verify_id_token(issuer, meta, token["id_token"], registration.application.client_id, nonce)

    # An open redirect is refused: a post_logout_redirect_uri the client did not register.
    evil = browser.get(meta["end_session_endpoint"], params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example/"}, allow_redirects=False)
    assert evil.status_code == 400 and "未在该应用系统登记" in evil.text
    assert browser.get(f"{issuer}/", allow_redirects=False).status_code == 200  # still signed in

    out = browser.get(meta["end_session_endpoint"], params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:9999/", "state": "s1"},
        allow_redirects=False)
    assert out.status_code == 302 and out.headers["Location"] == "http://127.0.0.1:9999/?state=s1"
    assert receiver.event.wait(10)
    logout_token = receiver.received[0]["logout_token"][0]
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    sent = jwt.decode(logout_token, keys)
    assert sent["sid"] == claims["sid"] and sent["sub"] == claims["sub"] and sent["iss"] == issuer
    assert sent["aud"] == registration.application.client_id and sent["jti"] and sent["iat"] <= time.time() + 1
    assert "http://schemas.openid.net/event/backchannel-logout" in sent["events"] and "nonce" not in sent
    assert jwt_header(logout_token)["typ"] == "logout+jwt"
    # The platform session ended through identity (audited), and the session's tokens with it.
    assert browser.get(f"{issuer}/", allow_redirects=False).status_code == 302
    assert AuditRecord.objects.filter(action="identity.logout").exists()
    assert AuditRecord.objects.filter(action="oidc.backchannel_logout", result="success").exists()
    assert requests.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).status_code == 401
    refresh = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                            auth=(registration.application.client_id, secret), timeout=10)
    assert refresh.status_code == 400


def test_platform_logout_ends_clients_session(issuer: str, register: Any, receiver: Any) -> None:
    import re

    registration, secret = register(backchannel_logout_uri=receiver.url)
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    location, verifier, _nonce = authorize(browser, client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    page = browser.get(f"{issuer}/logout/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    browser.post(f"{issuer}/logout/", data={"csrfmiddlewaretoken": csrf}, allow_redirects=False)
    assert receiver.event.wait(10)
    assert requests.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).status_code == 401


def test_prompt_login_and_max_age_send_the_user_to_login_again(issuer: str, register: Any) -> None:
    registration, secret = register()
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        time.sleep(1.1)
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], nonce="n", code_verifier=generate_token(48), **extra)
        response = browser.get(url, allow_redirects=False)
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login/", extra
        next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
        # Going back without logging in again is refused again.
        again = browser.get(f"{issuer}{next_url}", allow_redirects=False)
        assert urlsplit(again.headers["Location"]).path == "/login/"
        fresh = browser_login_again(browser, issuer)
        assert fresh
        done = browser.get(f"{issuer}{next_url}", allow_redirects=False)
        assert done.headers["Location"].startswith(REDIRECT), extra


def browser_login_again(browser: requests.Session, issuer: str) -> bool:
    import re

    from tests.conftest import STRONG_PASSWORD

    page = browser.get(f"{issuer}/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = browser.post(f"{issuer}/login/", data={"username": "appadmin", "password": STRONG_PASSWORD,
                                                       "csrfmiddlewaretoken": csrf}, allow_redirects=False)
    return response.status_code == 302


def test_consent_page_for_a_public_audience_client(issuer: str, register: Any) -> None:
    import re

    registration, secret = register(audience="both", scopes=["openid", "profile"])
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    too_much = client_for(registration, secret)  # asks for unit and roles, which were not registered
    url, _ = too_much.create_authorization_url(meta["authorization_endpoint"], code_verifier=generate_token(48))
    assert "error=invalid_scope" in browser.get(url, allow_redirects=False).headers["Location"]
    client = client_for(registration, secret)
    client.scope = "openid profile"
    verifier = generate_token(48)
    url, _state = client.create_authorization_url(meta["authorization_endpoint"], nonce="n1", code_verifier=verifier)
    page = browser.get(url, allow_redirects=False)
    assert page.status_code == 200, page.headers.get("Location")
    assert "同意并登录" in page.text and "姓名" in page.text and "企业登记系统" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    refused = browser.post(url, data={**fields}, allow_redirects=False)
    assert refused.status_code == 302 and "error=access_denied" in refused.headers["Location"]
    allowed = browser.post(url, data={**fields, "allow": "Authorize"}, allow_redirects=False)
    location = allowed.headers["Location"]
    assert location.startswith(REDIRECT) and "code=" in location
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert verify_id_token(issuer, meta, token["id_token"], registration.application.client_id, "n1")["name"]


def test_public_only_client_sends_to_the_portal_login(issuer: str, register: Any) -> None:
    registration, secret = register(audience="public", scopes=["openid", "profile"])
    meta = discover(issuer)
    url, _ = client_for(registration, secret).create_authorization_url(meta["authorization_endpoint"], code_verifier=generate_token(48))
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/portal/account/login/"
    staff = client_for(register(name="内部系统")[0], "")
    url, _ = staff.create_authorization_url(meta["authorization_endpoint"], code_verifier=generate_token(48))
    assert urlsplit(requests.get(url, allow_redirects=False, timeout=10).headers["Location"]).path == "/login/"


def test_rp_logout_after_the_platform_session_ended_still_ends_the_sso_session(issuer: str, register: Any) -> None:
    from zhengwu.identity.oidc.models import SsoSession

    registration, secret = register()
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    location, verifier, _ = authorize(browser, client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    # Another browser without the platform session sends the logout.
    other = requests.get(meta["end_session_endpoint"], params={"id_token_hint": token["id_token"],
                         "post_logout_redirect_uri": "http://127.0.0.1:9999/"}, allow_redirects=False, timeout=10)
    assert other.status_code == 302
    assert SsoSession.objects.get().ended_at is not None
    assert requests.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).status_code == 401


def test_idle_timeout_ends_the_sso_session(client: Any, register: Any, app_admin: Any, settings: Any) -> None:
    import base64
    import hashlib

    from zhengwu.identity.services import LAST_ACTIVITY_KEY

    registration, secret = register()
    client.force_login(app_admin)
    verifier = generate_token(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = client.get("/oidc/authorize/", {"response_type": "code", "client_id": registration.application.client_id,
                          "redirect_uri": REDIRECT, "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    token = client.post("/oidc/token/", {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                        "code_verifier": verifier, "client_id": registration.application.client_id, "client_secret": secret}).json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token['access_token']}"}
    assert client.get("/oidc/userinfo/", **bearer).status_code == 200
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - 24 * 3600
    session.save()
    client.get("/")  # the session policy middleware ends the idle session (identity.do_session_timeout)
    assert client.get("/oidc/userinfo/", **bearer).status_code == 401


def test_a_key_rotated_by_another_process_is_used_and_published(issuer: str, register: Any) -> None:
    """Several web processes: keys are read from the shared store (the database), not process memory."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    registration, secret = register()
    meta = discover(issuer)
    browser = browser_login(issuer, "appadmin")
    client = client_for(registration, secret)
    location, verifier, nonce = authorize(browser, client, meta)
    before = jwt_header(client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)["id_token"])["kid"]
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    command = Path(sys.executable).parent / "zhengwu"
    out = subprocess.run([str(command), "oidc_rotate_key"], env={**os.environ, "DATABASE_URL": url, "ZHENGWU_ENV": "test"},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    new_kid = out.split("kid=")[1].split("，")[0].split()[0]
    assert new_kid != before
    assert {k["kid"] for k in requests.get(meta["jwks_uri"], timeout=10).json()["keys"]} == {before, new_kid}
    location, verifier, nonce = authorize(browser, client, meta)
    after = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert jwt_header(after["id_token"])["kid"] == new_kid
    verify_id_token(issuer, meta, after["id_token"], registration.application.client_id, nonce)
