"""WebAuthn in headless Chromium with its virtual authenticator (Chrome DevTools Protocol).

The virtual authenticator is Chromium's own CTAP2 implementation behind the real
navigator.credentials API: the page's webauthn.js, the browser's origin and RP ID checks and
the server's verification all run as they would with a USB key or a phone's fingerprint.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/shots/webauthn"


def add_authenticator(page: Any, transport: str = "usb") -> tuple[Any, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": transport,
                "hasResidentKey": transport == "internal",
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, answer["authenticatorId"]


def shoot(page: Any, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def password_step(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def test_staff_enrols_a_key_logs_out_and_logs_in_with_password_and_key(
    live_server: Any, page: Any, make_user: Any
) -> None:
    from zhengwu.identity.models import WebAuthnCredential

    base = live_server.url
    person = make_user("zhangsan", full_name="张三")
    page.set_viewport_size({"width": 1366, "height": 900})
    cdp, authenticator = add_authenticator(page, "usb")
    password_step(page, base, "zhangsan")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/account/")
    page.click("text=登记安全密钥")
    page.wait_for_url(f"{base}/account/webauthn/")
    assert not page.locator("[data-webauthn-status]").is_visible()  # no empty message box
    # no name: the key is not touched, the page says why
    page.click("button:has-text('登记安全密钥')")
    assert "请先填写名称" in page.locator("[data-webauthn-status]").inner_text()
    page.fill("input[name=name]", "办公室 U 盾")
    assert not page.locator("[data-webauthn-status]").is_visible()  # the hint goes once a name is typed
    shoot(page, "register-1366")
    page.click("button:has-text('登记安全密钥')")
    page.wait_for_url(f"{base}/account/")
    assert "已登记" in page.locator(".messages").inner_text()
    row = page.locator("tr[data-webauthn-row]")
    assert "办公室 U 盾" in row.inner_text() and "尚未用于登录" in row.inner_text()
    shoot(page, "account-1366")
    credential = WebAuthnCredential.objects.get(user=person)
    assert credential.transports == "usb"

    page.click("button:has-text('退出')")
    page.wait_for_url(f"{base}/login/")

    password_step(page, base, "zhangsan")
    page.wait_for_url(f"{base}/login/webauthn/")
    shoot(page, "login-key-1366")
    page.click("button:has-text('使用安全密钥验证')")
    page.wait_for_url(f"{base}/")
    assert "张三" in page.locator(".userbar").inner_text()
    credential.refresh_from_db()
    assert credential.last_used_at is not None and credential.sign_count >= 1

    # A different authenticator (this key is not registered to the account): a Chinese message.
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    add_authenticator(page, "usb")
    page.click("button:has-text('退出')")
    password_step(page, base, "zhangsan")
    page.wait_for_url(f"{base}/login/webauthn/")
    page.click("button:has-text('使用安全密钥验证')")
    status = page.locator("[data-webauthn-status]")
    status.filter(has_text="未在本账号登记").wait_for()
    assert page.url == f"{base}/login/webauthn/"
    shoot(page, "login-wrong-key-1366")


def test_administrator_logs_in_with_a_platform_authenticator_instead_of_totp(
    live_server: Any, phone: Any, make_user: Any
) -> None:
    from zhengwu.identity.models import TOTPDevice, WebAuthnCredential

    base = live_server.url
    admin = make_user("secadmin", full_name="安全员", admin_role="security_admin")
    add_authenticator(phone, "internal")
    password_step(phone, base, "secadmin")
    phone.wait_for_url(f"{base}/login/totp/enrol/")
    no_horizontal_scroll(phone)
    shoot(phone, "admin-enrol-choice-375")
    phone.click("text=改为登记安全密钥")
    phone.wait_for_url(f"{base}/login/webauthn/enrol/")
    assert not phone.locator("[data-webauthn-status]").is_visible()
    phone.fill("input[name=name]", "我的手机")
    no_horizontal_scroll(phone)
    shoot(phone, "admin-enrol-key-375")
    phone.click("button:has-text('登记并登录')")
    phone.wait_for_url(f"{base}/")
    assert WebAuthnCredential.objects.get(user=admin).transports == "internal"
    assert not TOTPDevice.objects.filter(user=admin, confirmed=True).exists()

    phone.goto(f"{base}/account/")
    no_horizontal_scroll(phone)
    shoot(phone, "admin-account-375")
    # the 安全管理员's reset page lists the key; removing one's own asks for the password
    phone.goto(f"{base}/security/webauthn-reset/")
    assert "我的手机" in phone.locator("table").inner_text()
    no_horizontal_scroll(phone)
    shoot(phone, "security-reset-375")
    phone.goto(f"{base}/account/")
    phone.click("tr[data-webauthn-row] >> text=移除")
    phone.fill("input[name=password]", STRONG_PASSWORD)
    phone.click("button:has-text('确认移除')")
    assert "不能移除最后一个第二重身份鉴别方式" in phone.locator(".auth-box").inner_text()
    no_horizontal_scroll(phone)
    shoot(phone, "remove-refused-375")
    phone.goto(f"{base}/logout/")
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{base}/login/")

    password_step(phone, base, "secadmin")
    phone.wait_for_url(f"{base}/login/webauthn/")
    no_horizontal_scroll(phone)
    shoot(phone, "admin-login-key-375")
    phone.click("button:has-text('使用安全密钥验证')")
    phone.wait_for_url(f"{base}/")
    from tests.identity.conftest import audit_actions

    assert audit_actions("identity.login", actor="secadmin", result="success")[-1].details["method"] == (
        "password+webauthn"
    )


def test_a_browser_without_webauthn_is_told_so(live_server: Any, page: Any, make_user: Any) -> None:
    from zhengwu.identity.models import WebAuthnCredential

    base = live_server.url
    person = make_user("oldbrowser")
    WebAuthnCredential.objects.create(
        user=person, name="旧钥匙", credential_id="AAAA", public_key=b"\x00", created_at=person.date_joined
    )
    page.add_init_script("delete window.PublicKeyCredential;")
    password_step(page, base, "oldbrowser")
    page.wait_for_url(f"{base}/login/webauthn/")
    status = page.locator("[data-webauthn-status]")
    status.filter(has_text="不支持安全密钥").wait_for()
    assert page.locator("button:has-text('使用安全密钥验证')").is_disabled()
