"""Two-step login with TOTP: required for administrators, optional for others."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from tests.conftest import STRONG_PASSWORD
from tests.identity.conftest import Clock, audit_actions, current_code, device_secret, post_login
from zhengwu.core.errors import DomainError
from zhengwu.identity import services, totp
from zhengwu.identity.models import LoginLock, SecurityPolicy, TOTPDevice

pytestmark = pytest.mark.django_db


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_without_device_must_enrol_before_login(make_user: Any, clock: Clock) -> None:
    admin = make_user("secadmin", full_name="安全员", admin_role="security_admin")
    client = Client()
    response = post_login(client, "secadmin", STRONG_PASSWORD)
    assert response["Location"] == "/login/totp/enrol/"
    assert not is_logged_in(client)
    assert client.get("/").status_code == 302  # not logged in yet

    page = client.get("/login/totp/enrol/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "http://www.w3.org/2000/svg" in body
    assert "<img" not in body and 'src="http' not in body  # no external requests
    secret = device_secret(admin)
    assert totp.group_secret(secret) in body
    # stored encrypted, bound to the user
    device = TOTPDevice.objects.get(user=admin)
    assert secret not in device.secret_encrypted and not device.confirmed

    # wrong code: still not logged in
    wrong = client.post(
        "/login/totp/enrol/", {"code": "000000" if current_code(admin) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and "动态口令不正确" in wrong.content.decode()
    assert not is_logged_in(client)

    response = client.post("/login/totp/enrol/", {"code": current_code(admin)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert is_logged_in(client)
    device.refresh_from_db()
    assert device.confirmed and device.last_used_counter is not None
    assert audit_actions("identity.totp_enrol", actor="secadmin", result="success")
    assert (
        audit_actions("identity.login", actor="secadmin", result="success")[-1].details["method"]
        == "password+totp"
    )


def test_enrolment_page_shows_the_same_secret_on_reload(make_user: Any, clock: Clock) -> None:
    make_user("sysadmin", full_name="系统员", admin_role="system_admin")
    client = Client()
    post_login(client, "sysadmin", STRONG_PASSWORD)

    def shown_secret() -> str:
        body = client.get("/login/totp/enrol/").content.decode()
        return body.split("data-totp-secret>")[1].split("<")[0]

    assert shown_secret() == shown_secret()


def test_admin_with_device_must_enter_a_code(make_user: Any, enrolled: Any, clock: Clock) -> None:
    admin = make_user("auditadmin", full_name="审计员", admin_role="audit_admin")
    secret = enrolled(admin)
    client = Client()
    response = post_login(client, "auditadmin", STRONG_PASSWORD)
    assert response["Location"] == "/login/totp/"
    assert not is_logged_in(client)
    page = client.get("/login/totp/")
    assert "6 位数字" in page.content.decode()

    bad = client.post("/login/totp/", {"code": "12345"})
    assert "请输入 6 位数字" in bad.content.decode()
    wrong_code = "999999" if totp.code_at(secret, clock.now()) != "999999" else "888888"
    wrong = client.post("/login/totp/", {"code": wrong_code})
    assert "动态口令不正确" in wrong.content.decode() and not is_logged_in(client)
    assert (
        audit_actions("identity.login", actor="auditadmin", result="failure")[-1].details["reason"]
        == "bad_totp"
    )

    response = client.post("/login/totp/", {"code": totp.code_at(secret, clock.now())})
    assert response["Location"] == "/" and is_logged_in(client)


def test_code_from_the_previous_step_is_accepted(make_user: Any, enrolled: Any, clock: Clock) -> None:
    admin = make_user(admin_role="system_admin")
    secret = enrolled(admin)
    client = Client()
    post_login(client, admin.username, STRONG_PASSWORD)
    old = totp.code_at(secret, clock.now())
    clock.advance(seconds=30)
    assert client.post("/login/totp/", {"code": old})["Location"] == "/"


def test_code_two_steps_old_is_refused(make_user: Any, enrolled: Any, clock: Clock) -> None:
    admin = make_user(admin_role="system_admin")
    secret = enrolled(admin)
    client = Client()
    post_login(client, admin.username, STRONG_PASSWORD)
    old = totp.code_at(secret, clock.now())
    clock.advance(seconds=61)
    if old == totp.code_at(secret, clock.now()):
        pytest.skip("codes happen to coincide")
    assert client.post("/login/totp/", {"code": old}).status_code == 200
    assert not is_logged_in(client)


def test_replayed_code_is_refused(make_user: Any, enrolled: Any, clock: Clock) -> None:
    admin = make_user("replayer", full_name="重放", admin_role="system_admin")
    secret = enrolled(admin)
    code = totp.code_at(secret, clock.now())
    first = Client()
    post_login(first, "replayer", STRONG_PASSWORD)
    assert first.post("/login/totp/", {"code": code})["Location"] == "/"

    second = Client()
    post_login(second, "replayer", STRONG_PASSWORD, ip="10.0.0.2")
    response = second.post("/login/totp/", {"code": code}, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 200 and not is_logged_in(second)
    record = audit_actions("identity.login", actor="replayer", result="failure")[-1]
    assert record.details["reason"] == "bad_totp" and record.details["totp"] == "replayed"
    # the next time step's code works
    clock.advance(seconds=30)
    response = second.post(
        "/login/totp/", {"code": totp.code_at(secret, clock.now())}, REMOTE_ADDR="10.0.0.2"
    )
    assert response["Location"] == "/"


def test_pending_step_expires_after_five_minutes(make_user: Any, enrolled: Any, clock: Clock) -> None:
    admin = make_user(admin_role="security_admin")
    secret = enrolled(admin)
    client = Client()
    post_login(client, admin.username, STRONG_PASSWORD)
    clock.advance(minutes=5, seconds=1)
    response = client.post("/login/totp/", {"code": totp.code_at(secret, clock.now())})
    assert response["Location"] == "/login/"
    assert not is_logged_in(client)
    assert client.get("/login/totp/")["Location"] == "/login/"


def test_totp_page_without_password_step_redirects(db: Any) -> None:
    client = Client()
    assert client.get("/login/totp/")["Location"] == "/login/"
    assert client.get("/login/totp/enrol/")["Location"] == "/login/"
    assert client.post("/login/totp/", {"code": "123456"})["Location"] == "/login/"


def test_wrong_codes_count_towards_the_account_lock(make_user: Any, enrolled: Any, clock: Clock) -> None:
    admin = make_user("brute", full_name="暴力", admin_role="system_admin")
    secret = enrolled(admin)
    valid = {totp.code_at(secret, clock.now() + timedelta(seconds=s)) for s in (-30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    client = Client()
    post_login(client, "brute", STRONG_PASSWORD)
    for _ in range(4):
        client.post("/login/totp/", {"code": wrong})
    response = client.post("/login/totp/", {"code": wrong})
    assert response["Location"] == "/login/"
    assert LoginLock.objects.filter(key="brute").exists()
    assert not is_logged_in(client)


def test_business_user_logs_in_without_totp_by_default(make_user: Any) -> None:
    make_user("plain", full_name="普通")
    client = Client()
    assert post_login(client, "plain", STRONG_PASSWORD)["Location"] == "/"


def test_business_user_can_enrol_optional_totp_and_then_needs_it(make_user: Any, clock: Clock) -> None:
    user = make_user("optin", full_name="自愿")
    client = Client()
    client.force_login(user)
    page = client.get("/account/totp/")
    assert "<svg" in page.content.decode()
    response = client.post("/account/totp/", {"code": current_code(user)})
    assert response["Location"] == "/account/"
    assert TOTPDevice.objects.get(user=user).confirmed
    assert audit_actions("identity.totp_enrol", actor="optin", result="success")

    clock.advance(seconds=30)
    fresh = Client()
    assert post_login(fresh, "optin", STRONG_PASSWORD)["Location"] == "/login/totp/"
    assert fresh.post("/login/totp/", {"code": current_code(user)})["Location"] == "/"


def test_optional_totp_enrolment_wrong_code(make_user: Any, clock: Clock) -> None:
    user = make_user("optin2", full_name="自愿二")
    client = Client()
    client.force_login(user)
    client.get("/account/totp/")
    wrong = "000000" if current_code(user) != "000000" else "111111"
    response = client.post("/account/totp/", {"code": wrong})
    assert "动态口令不正确" in response.content.decode()
    assert audit_actions("identity.totp_enrol", actor="optin2", result="failure")


def test_business_user_can_disable_totp(make_user: Any, enrolled: Any) -> None:
    user = make_user("optout", full_name="退出")
    enrolled(user)
    client = Client()
    client.force_login(user)
    assert client.post("/account/totp/disable/")["Location"] == "/account/"
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert audit_actions("identity.totp_disable", actor="optout")


def test_admin_cannot_disable_totp(make_user: Any, enrolled: Any) -> None:
    admin = make_user(admin_role="audit_admin")
    enrolled(admin)
    with pytest.raises(DomainError, match="管理员必须使用动态口令"):
        services.do_disable_totp(admin)
    client = Client()
    client.force_login(admin)
    client.post("/account/totp/disable/")
    assert TOTPDevice.objects.filter(user=admin).exists()
    assert "不能停用" in client.get("/account/").content.decode()


def test_policy_can_require_totp_for_everyone(make_user: Any) -> None:
    SecurityPolicy.objects.create(pk=1, totp_required_for_all=True)
    make_user("mandated", full_name="强制")
    client = Client()
    assert post_login(client, "mandated", STRONG_PASSWORD)["Location"] == "/login/totp/enrol/"


def test_security_admin_resets_totp_and_admin_re_enrols(
    make_user: Any, enrolled: Any, admin_client: Any
) -> None:
    target = make_user("lostphone", full_name="丢手机", admin_role="system_admin")
    enrolled(target)
    client, security = admin_client("security_admin")
    response = client.post("/security/totp-reset/", {"username": "LOSTPHONE"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=target).exists()
    assert audit_actions("identity.totp_reset", actor=security.username, object_id=str(target.pk))
    assert post_login(Client(), "lostphone", STRONG_PASSWORD)["Location"] == "/login/totp/enrol/"


def test_totp_reset_of_unknown_or_unenrolled_user(make_user: Any, admin_client: Any) -> None:
    make_user("noDevice", full_name="无设备")
    client, _ = admin_client("security_admin")
    assert "账号不存在" in client.post("/security/totp-reset/", {"username": "nope"}).content.decode()
    assert (
        "尚未启用动态口令" in client.post("/security/totp-reset/", {"username": "nodevice"}).content.decode()
    )


def test_secret_cannot_be_decrypted_for_another_user(make_user: Any, enrolled: Any) -> None:
    from zhengwu.core.crypto import CryptoError, decrypt_field

    user = make_user()
    enrolled(user)
    device = TOTPDevice.objects.get(user=user)
    with pytest.raises(CryptoError):
        decrypt_field(device.secret_encrypted, f"totp:{user.pk + 1}")
