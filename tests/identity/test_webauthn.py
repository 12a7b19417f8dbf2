"""WebAuthn as a second factor, driven through the real pages with real WebAuthn responses.

The responses come from tests/identity/soft_authenticator.py: P-256 keys, "none" attestation,
ECDSA signatures over authenticatorData || SHA-256(clientDataJSON), exactly what a security key
and the browser produce; py_webauthn verifies them in the server. Each attack test (replayed
challenge, wrong origin, wrong RP ID, counter regression, another user's or a removed credential)
succeeds when the corresponding check in identity/webauthn.py or services.py is taken out.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from tests.conftest import STRONG_PASSWORD
from tests.identity.conftest import Clock, audit_actions, current_code, post_login
from tests.identity.soft_authenticator import SoftAuthenticator
from zhengwu.core.errors import DomainError
from zhengwu.identity import services, webauthn
from zhengwu.identity.models import LoginAttempt, LoginLock, TOTPDevice, WebAuthnCredential

pytestmark = pytest.mark.django_db


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def register_key(client: Client, key: SoftAuthenticator, name: str = "办公室 U 盾", **create: Any) -> Any:
    """Register a credential from the 账号与安全 page of a logged-in client."""
    options = client.post("/account/webauthn/options/")
    assert options.status_code == 200 and options["Content-Type"] == "application/json"
    return client.post("/account/webauthn/", {"name": name, "credential": key.create(options.json(), **create)})


def staff_with_key(make_user: Any, username: str, key: SoftAuthenticator, **user: Any) -> Any:
    person = make_user(username, **user)
    client = Client()
    client.force_login(person)
    response = register_key(client, key)
    assert response.status_code == 302, response.content.decode()
    return person


def start_login(username: str, ip: str = "10.0.0.1") -> Client:
    client = Client()
    response = post_login(client, username, STRONG_PASSWORD, ip=ip)
    assert response["Location"] == "/login/webauthn/"
    assert not is_logged_in(client)
    return client


def login_options(client: Client) -> dict[str, Any]:
    response = client.post("/login/webauthn/options/")
    assert response.status_code == 200, response.content.decode()
    return dict(response.json())


def post_assertion(client: Client, assertion: str) -> Any:
    return client.post("/login/webauthn/", {"credential": assertion}, REMOTE_ADDR="10.0.0.1")


def last_failure_detail() -> Any:
    return audit_actions("identity.login", result="failure")[-1].details


# --- enrolment and login ---------------------------------------------------------------------
def test_staff_registers_a_key_and_logs_in_with_password_and_key(make_user: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    person = make_user("zhangsan", full_name="张三")
    client = Client()
    client.force_login(person)
    account = client.get("/account/").content.decode()
    assert "安全密钥（WebAuthn）" in account and "未登记" in account

    response = register_key(client, key, name="  办公室   U 盾 ")
    assert response.status_code == 302 and response["Location"] == "/account/"
    credential = WebAuthnCredential.objects.get(user=person)
    assert credential.name == "办公室 U 盾"  # spaces collapsed
    assert credential.transports == "usb" and credential.sign_count == 0 and credential.user_verified
    assert credential.credential_id == webauthn.bytes_to_base64url(key.credentials[0].credential_id)
    registered = audit_actions("identity.webauthn_register", actor="zhangsan", result="success")
    assert registered and registered[0].details["rp_id"] == "testserver"
    page = client.get("/account/").content.decode()
    assert "办公室 U 盾" in page and "尚未用于登录" in page and "安全密钥（USB）" in page

    # A new session: password, then the key.
    browser = start_login("zhangsan")
    page = browser.get("/login/webauthn/").content.decode()
    assert 'data-webauthn="get"' in page and "identity/webauthn.js" in page
    assert "改用动态口令" not in page  # no TOTP device to switch to
    options = login_options(browser)
    assert options["rpId"] == "testserver" and options["userVerification"] == "preferred"
    assert [d["id"] for d in options["allowCredentials"]] == [credential.credential_id]
    response = post_assertion(browser, key.get(options))
    assert response.status_code == 302 and response["Location"] == "/"
    assert is_logged_in(browser)
    credential.refresh_from_db()
    assert credential.sign_count == 1 and credential.last_used_at == clock.now()
    login = audit_actions("identity.login", actor="zhangsan", result="success")[-1]
    assert login.details["method"] == "password+webauthn"
    assert "尚未用于登录" not in browser.get("/account/").content.decode()


def test_administrator_enrols_a_key_at_first_login_instead_of_totp(make_user: Any, clock: Clock) -> None:
    admin = make_user("secadmin", full_name="安全员", admin_role="security_admin")
    key = SoftAuthenticator(transports=["internal"])
    client = Client()
    assert post_login(client, "secadmin", STRONG_PASSWORD)["Location"] == "/login/totp/enrol/"
    enrol_page = client.get("/login/totp/enrol/").content.decode()
    assert "/login/webauthn/enrol/" in enrol_page  # both offered
    page = client.get("/login/webauthn/enrol/").content.decode()
    assert 'data-webauthn="create"' in page and "改用动态口令" in page

    options = client.post("/login/webauthn/enrol/options/").json()
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["user"]["name"] == "secadmin" and options["user"]["id"] != "secadmin"
    # a name is required; the refusal changes nothing
    empty = client.post("/login/webauthn/enrol/", {"name": "", "credential": key.create(options)})
    assert "请为这个安全密钥起一个名称" in empty.content.decode() and not is_logged_in(client)
    options = client.post("/login/webauthn/enrol/options/").json()
    response = client.post("/login/webauthn/enrol/", {"name": "我的电脑", "credential": key.create(options)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert is_logged_in(client)
    credential = WebAuthnCredential.objects.get(user=admin)
    assert credential.kind_label.startswith("本机认证器")
    assert not TOTPDevice.objects.filter(user=admin, confirmed=True).exists()

    # Next login: the key is the administrator's mandatory second factor, no TOTP asked.
    again = start_login("secadmin")
    assert post_assertion(again, key.get(login_options(again)))["Location"] == "/"
    assert is_logged_in(again)


def test_user_with_totp_and_a_key_may_choose_either(make_user: Any, enrolled: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    admin = staff_with_key(make_user, "auditadmin", key, admin_role="audit_admin")
    enrolled(admin)
    client = start_login("auditadmin")
    page = client.get("/login/webauthn/").content.decode()
    assert "改用动态口令" in page
    totp_page = client.get("/login/totp/").content.decode()
    assert totp_page.count("改用安全密钥") == 1
    response = client.post("/login/totp/", {"code": current_code(admin)})
    assert response["Location"] == "/" and is_logged_in(client)
    assert audit_actions("identity.login", actor="auditadmin", result="success")[-1].details["method"] == "password+totp"


def test_a_second_factor_page_needs_a_pending_login(make_user: Any, clock: Clock) -> None:
    client = Client()
    assert client.get("/login/webauthn/")["Location"] == "/login/"
    refused = client.post("/login/webauthn/options/")
    assert refused.status_code == 409 and "登录步骤已超时" in refused.json()["detail"]
    # a password-only user (no key) cannot jump to the WebAuthn step either
    make_user("nokey")
    post_login(client, "nokey", STRONG_PASSWORD)
    assert client.post("/login/webauthn/options/").status_code == 409


# --- attacks ------------------------------------------------------------------------------------
def test_replayed_assertion_and_reused_challenge_are_refused(make_user: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    person = staff_with_key(make_user, "lisi", key)
    client = start_login("lisi")
    recorded = key.get(login_options(client))
    assert post_assertion(client, recorded)["Location"] == "/"

    # An eavesdropper replays the recorded assertion in a new login (new challenge issued).
    thief = start_login("lisi", ip="10.0.0.9")
    login_options(thief)
    response = post_assertion(thief, recorded)
    assert response.status_code == 200 and "安全密钥验证未通过" in response.content.decode()
    assert not is_logged_in(thief)
    assert last_failure_detail()["webauthn"] == "challenge_mismatch"

    # A challenge is used once, even by a failed attempt: a valid answer to it afterwards is refused.
    options = login_options(thief)
    post_assertion(thief, key.get(options, origin="http://evil.example"))
    response = post_assertion(thief, key.get(options))
    assert "请求已失效" in response.content.decode() and not is_logged_in(thief)
    assert last_failure_detail()["webauthn"] == "no_challenge"
    assert LoginAttempt.objects.filter(user=person, reason="bad_webauthn").count() == 3


def test_challenge_expires(make_user: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    staff_with_key(make_user, "wangwu", key)
    client = start_login("wangwu")
    options = login_options(client)
    clock.advance(seconds=webauthn.CHALLENGE_SECONDS + 1)
    response = post_assertion(client, key.get(options))
    assert "请求已失效" in response.content.decode() and not is_logged_in(client)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"origin": "http://evil.example"}, "origin_mismatch"),
        ({"origin": "https://testserver"}, "origin_mismatch"),  # scheme counts
        ({"rp_id": "evil.example"}, "rp_id_mismatch"),
    ],
)
def test_wrong_origin_or_rp_id_is_refused(make_user: Any, clock: Clock, tamper: dict[str, str], reason: str) -> None:
    key = SoftAuthenticator()
    person = staff_with_key(make_user, "zhaoliu", key)
    client = start_login("zhaoliu")
    response = post_assertion(client, key.get(login_options(client), **tamper))
    assert response.status_code == 200 and "安全密钥验证未通过" in response.content.decode()
    assert not is_logged_in(client)
    assert last_failure_detail()["webauthn"] == reason
    assert WebAuthnCredential.objects.get(user=person).last_used_at is None


def test_registration_with_wrong_origin_or_rp_id_is_refused(make_user: Any, clock: Clock) -> None:
    person = make_user("sunqi")
    client = Client()
    client.force_login(person)
    for tamper in ({"origin": "http://evil.example"}, {"rp_id": "evil.example"}):
        response = register_key(client, SoftAuthenticator(), **tamper)
        assert response.status_code == 200 and "未能登记该安全密钥" in response.content.decode()
    assert not WebAuthnCredential.objects.filter(user=person).exists()
    reasons = [r.details["reason"] for r in audit_actions("identity.webauthn_register", result="failure")]
    assert reasons == ["origin_mismatch", "rp_id_mismatch"]


def test_counter_regression_is_refused_and_audited_as_a_clone(make_user: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    person = staff_with_key(make_user, "zhouba", key)
    client = start_login("zhouba")
    assert post_assertion(client, key.get(login_options(client)))["Location"] == "/"  # counter 1
    WebAuthnCredential.objects.filter(user=person).update(sign_count=10)  # the original key is at 10

    for counter in (5, 10):  # a copy lagging behind, or standing still
        copy = start_login("zhouba")
        response = post_assertion(copy, key.get(login_options(copy), counter=counter))
        assert "签名计数异常" in response.content.decode() and not is_logged_in(copy)
    clones = audit_actions("identity.webauthn_clone", actor="zhouba")
    assert [(c.details["stored_count"], c.details["received_count"]) for c in clones] == [(10, 5), (10, 10)]
    assert last_failure_detail()["webauthn"] == "counter_regression"
    assert WebAuthnCredential.objects.get(user=person).sign_count == 10  # not moved back

    ok = start_login("zhouba")
    assert post_assertion(ok, key.get(login_options(ok), counter=11))["Location"] == "/"


def test_another_users_credential_is_refused(make_user: Any, clock: Clock) -> None:
    alice_key, bob_key = SoftAuthenticator(), SoftAuthenticator()
    staff_with_key(make_user, "alice", alice_key)
    staff_with_key(make_user, "bob", bob_key)
    client = start_login("bob")
    options = login_options(client)
    # Alice's key (validly signed, right origin) answering Bob's challenge.
    response = post_assertion(client, alice_key.get(options, credential=alice_key.credentials[0]))
    assert "安全密钥验证未通过" in response.content.decode() and not is_logged_in(client)
    assert last_failure_detail()["webauthn"] == "unknown_credential"


def test_removed_credential_is_refused(make_user: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    person = staff_with_key(make_user, "wujiu", key)
    client = start_login("wujiu")
    options = login_options(client)
    # Meanwhile the owner removes the key in another session (password re-entered).
    owner = Client()
    owner.force_login(person)
    credential = WebAuthnCredential.objects.get(user=person)
    removed = owner.post(f"/account/webauthn/{credential.pk}/remove/", {"password": STRONG_PASSWORD})
    assert removed["Location"] == "/account/"
    response = post_assertion(client, key.get(options))
    assert "安全密钥验证未通过" in response.content.decode() and not is_logged_in(client)
    assert last_failure_detail()["webauthn"] == "unknown_credential"


def test_webauthn_failures_count_towards_the_lock(make_user: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    person = staff_with_key(make_user, "zhengshi", key)
    client = start_login("zhengshi")
    for _ in range(4):
        response = post_assertion(client, key.get(login_options(client), origin="http://evil.example"))
        assert response.status_code == 200
    response = post_assertion(client, key.get(login_options(client), origin="http://evil.example"))
    assert response.status_code == 302 and response["Location"] == "/login/"
    lock = LoginLock.objects.get(key="zhengshi")
    assert lock.user == person and lock.failures == 5
    # locked: even a correct key is refused now
    assert post_login(Client(), "zhengshi", STRONG_PASSWORD).status_code == 200


# --- managing credentials ---------------------------------------------------------------------------
def test_registration_refuses_bad_input_and_duplicates(make_user: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    person = staff_with_key(make_user, "chen", key)  # "办公室 U 盾"
    client = Client()
    client.force_login(person)
    same_name = register_key(client, SoftAuthenticator(), name="办公室 U 盾")
    assert "您已有名为“办公室 U 盾”的安全密钥" in same_name.content.decode()
    too_long = register_key(client, SoftAuthenticator(), name="长" * 41)
    assert "名称不能超过 40 个字" in too_long.content.decode()
    client.post("/account/webauthn/options/")
    garbage = client.post("/account/webauthn/", {"name": "备用", "credential": "{not json"})
    assert "未能登记该安全密钥" in garbage.content.decode()
    missing = client.post("/account/webauthn/", {"name": "备用"})
    assert "请点击按钮" in missing.content.decode() and "Hidden field" not in missing.content.decode()
    # the same authenticator credential a second time (excludeCredentials ignored by a rogue client)
    options = client.post("/account/webauthn/options/").json()
    assert [d["id"] for d in options["excludeCredentials"]] == [WebAuthnCredential.objects.get().credential_id]
    dup = key.create(options, reuse=key.credentials[0])
    response = client.post("/account/webauthn/", {"name": "同一个", "credential": dup})
    assert "已经登记过" in response.content.decode()
    assert WebAuthnCredential.objects.filter(user=person).count() == 1
    assert register_key(client, SoftAuthenticator(), name="备用")["Location"] == "/account/"


def test_removal_needs_the_password_and_keeps_an_admins_last_factor(
    make_user: Any, enrolled: Any, clock: Clock
) -> None:
    key = SoftAuthenticator()
    admin = staff_with_key(make_user, "sysadmin", key, admin_role="system_admin")
    credential = WebAuthnCredential.objects.get(user=admin)
    client = Client()
    client.force_login(admin)
    page = client.get(f"/account/webauthn/{credential.pk}/remove/").content.decode()
    assert "请输入当前登录密码" in page

    wrong = client.post(f"/account/webauthn/{credential.pk}/remove/", {"password": "not-the-password"})
    assert "密码不正确" in wrong.content.decode()
    assert audit_actions("identity.webauthn_remove", result="failure")[0].details["reason"] == "bad_password"
    last = client.post(f"/account/webauthn/{credential.pk}/remove/", {"password": STRONG_PASSWORD})
    assert "不能移除最后一个第二重身份鉴别方式" in last.content.decode()
    assert WebAuthnCredential.objects.filter(pk=credential.pk).exists()

    enrolled(admin)  # with TOTP as well, the key may go
    gone = client.post(f"/account/webauthn/{credential.pk}/remove/", {"password": STRONG_PASSWORD})
    assert gone["Location"] == "/account/"
    assert not WebAuthnCredential.objects.filter(pk=credential.pk).exists()
    assert audit_actions("identity.webauthn_remove", result="success")[0].details == {"name": "办公室 U 盾"}
    # nor can one remove someone else's key
    other_key = SoftAuthenticator()
    other = staff_with_key(make_user, "other", other_key)
    theirs = WebAuthnCredential.objects.get(user=other)
    assert client.get(f"/account/webauthn/{theirs.pk}/remove/")["Location"] == "/account/"
    with pytest.raises(DomainError):
        services.do_remove_webauthn(admin, theirs.pk, STRONG_PASSWORD)
    assert WebAuthnCredential.objects.filter(pk=theirs.pk).exists()


def test_admin_with_a_key_may_stop_using_totp(make_user: Any, enrolled: Any, clock: Clock) -> None:
    admin = make_user("auditor", admin_role="audit_admin")
    enrolled(admin)
    with pytest.raises(DomainError, match="请先登记一个安全密钥"):
        services.do_disable_totp(admin)
    client = Client()
    client.force_login(admin)
    register_key(client, SoftAuthenticator())
    assert client.post("/account/totp/disable/")["Location"] == "/account/"
    assert not TOTPDevice.objects.filter(user=admin).exists()


def test_security_admin_resets_a_users_keys(make_user: Any, admin_client: Any, clock: Clock) -> None:
    key = SoftAuthenticator()
    admin = staff_with_key(make_user, "lostkey", key, admin_role="system_admin")
    security, _officer = admin_client("security_admin")
    page = security.get("/security/webauthn-reset/").content.decode()
    assert "lostkey" in page and "办公室 U 盾" in page
    response = security.post("/security/webauthn-reset/", {"username": "LostKey"})
    assert response["Location"] == "/security/webauthn-reset/"
    assert not WebAuthnCredential.objects.filter(user=admin).exists()
    reset = audit_actions("identity.webauthn_reset")
    assert reset[0].details == {"username": "lostkey", "names": ["办公室 U 盾"]}
    again = security.post("/security/webauthn-reset/", {"username": "lostkey"})
    assert "没有登记安全密钥" in again.content.decode()
    # the administrator must enrol a second factor again at next login
    assert post_login(Client(), "lostkey", STRONG_PASSWORD)["Location"] == "/login/totp/enrol/"
    # and only the 安全管理员 may reset
    system, _ = admin_client("system_admin")
    assert system.post("/security/webauthn-reset/", {"username": "lostkey"}).status_code == 403


# --- relying party settings -----------------------------------------------------------------------------
def test_relying_party_from_settings_or_request(settings: Any) -> None:
    request = RequestFactory().get("/login/", HTTP_HOST="localhost:8000")
    settings.SITE_URL = ""
    assert webauthn.relying_party(request).rp_id == "localhost"
    assert webauthn.relying_party(request).origins == ("http://localhost:8000",)
    settings.SITE_URL = "https://zw.example.gov.cn/"
    assert webauthn.relying_party(request).origins == ("https://zw.example.gov.cn",)
    settings.WEBAUTHN_RP_ID = "example.gov.cn"
    settings.WEBAUTHN_ORIGINS = ["https://zw.example.gov.cn:443", "https://m.example.gov.cn"]
    rp = webauthn.relying_party(request)
    assert rp.rp_id == "example.gov.cn" and rp.origins == ("https://zw.example.gov.cn", "https://m.example.gov.cn")
    settings.WEBAUTHN_ORIGINS = ["https://evil-example.gov.cn"]  # not a subdomain, only a suffix
    with pytest.raises(ImproperlyConfigured, match="ZHENGWU_WEBAUTHN_RP_ID"):
        webauthn.relying_party(request)


def test_configured_rp_id_is_what_the_server_checks(make_user: Any, clock: Clock, settings: Any) -> None:
    settings.WEBAUTHN_RP_ID = "example.gov.cn"
    settings.WEBAUTHN_ORIGINS = ["https://zw.example.gov.cn"]
    key = SoftAuthenticator(origin="https://zw.example.gov.cn", rp_id="example.gov.cn")
    person = staff_with_key(make_user, "configured", key)
    assert WebAuthnCredential.objects.filter(user=person).exists()
    client = start_login("configured")
    options = login_options(client)
    assert options["rpId"] == "example.gov.cn"
    # the development default (the request host) is no longer accepted
    post_assertion(client, key.get(options, origin="http://testserver"))
    assert not is_logged_in(client) and last_failure_detail()["webauthn"] == "origin_mismatch"
    assert post_assertion(client, key.get(login_options(client)))["Location"] == "/"


def test_an_ip_address_page_is_told_to_use_a_domain(make_user: Any, clock: Clock, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    person = make_user("byip")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(person)
    refused = client.post("/account/webauthn/options/")
    assert refused.status_code == 409 and "不能在以 IP 地址打开的页面上使用" in refused.json()["detail"]
    assert webauthn.CHALLENGE_KEY not in client.session


def test_system_check_reports_settings_that_can_never_match(settings: Any) -> None:
    from django.core.checks import run_checks

    settings.WEBAUTHN_RP_ID = "example.gov.cn"
    settings.WEBAUTHN_ORIGINS = ["https://zw.other.cn"]
    errors = [e for e in run_checks() if e.id == "zhengwu.identity.E001"]
    assert len(errors) == 1 and "必须等于来源 https://zw.other.cn 的主机名" in errors[0].msg
    settings.WEBAUTHN_ORIGINS = ["https://zw.example.gov.cn"]
    assert not [e for e in run_checks() if e.id == "zhengwu.identity.E001"]
