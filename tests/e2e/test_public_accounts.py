"""A citizen and an enterprise in a browser at phone width (375 px): register with the SMS code,
log in, 实名认证 against the population data in the lake, see 个人中心; bind the enterprise as its
legal representative and authorise an 经办人, who then acts for it in 企业中心. Screenshots of every
page at 1366 and 375 px in /tmp/shots/public/ (no sideways scrolling at either width)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD
from tests.identity.public.conftest import (  # noqa: F401 - fixtures
    COMPANIES,
    NAMES,
    authority,
    base_data,
    data_admin,
    lake_dir,
    outbox_code,
    pid,
    provider,
    publish,
    queued,
    register,
    rf_request,
    verified,
)

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path("/tmp/shots/public")
PHONE = {"width": 375, "height": 800}


def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{name} 在 {width} px 宽度下出现横向滚动"
    page.set_viewport_size(PHONE)


def _login(page: Any, base: str, identifier: str) -> None:
    page.goto(f"{base}/portal/account/login/")
    page.fill("#f-identifier", identifier)
    page.fill("#f-password", STRONG_PASSWORD)
    page.click("form.pa-form button[type=submit]")
    page.wait_for_url(f"{base}/portal/me/")


def test_citizen_registers_verifies_logs_in_and_enterprise_authorises_an_agent(
    live_server: Any, page: Any, browser: Any, base_data: Any, verified: Any, settings: Any,  # noqa: F811
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    base = live_server.url
    page.set_viewport_size(PHONE)

    # Register (with the SMS code from the development outbox).
    page.goto(f"{base}/portal/account/register/")
    page.fill("#f-name", NAMES[1])
    page.fill("#f-id_no", pid(1))
    page.fill("#f-mobile", "13900005555")
    page.click("button[value=send_code]")
    page.wait_for_selector(".p-msg.success")
    assert page.input_value("#f-name") == NAMES[1]  # the form keeps what was typed
    page.fill("#f-sms_code", outbox_code("13900005555"))
    page.fill("#f-password", STRONG_PASSWORD)
    page.fill("#f-password2", STRONG_PASSWORD)
    page.check("input[name=consent]")
    _shoot(page, "register")
    page.press("#f-password2", "Enter")  # Enter registers (the form's default button), never re-sends the code
    page.wait_for_url(f"{base}/portal/account/login/")
    assert "注册成功" in page.content()
    _shoot(page, "login")

    # Log in at phone width and see 个人中心; verify the real name.
    _login(page, base, "13900005555")
    assert page.locator("h1").inner_text() == "个人中心"
    assert "未实名" in page.locator("#section-person\\.account").inner_text()
    _shoot(page, "me-unverified")
    page.click("#section-person\\.account a[href='/portal/account/realname/']")
    page.fill("#f-id_no", pid(1))
    _shoot(page, "realname")
    page.click("form.pa-form button[type=submit]")
    page.wait_for_url(f"{base}/portal/me/")
    assert "已实名" in page.locator("#section-person\\.account").inner_text()
    _shoot(page, "me-verified")

    # 我的账号 / 个人信息 (PIPL).
    page.goto(f"{base}/portal/account/")
    assert pid(1) not in page.content()
    _shoot(page, "account")

    # 企业认证 as the legal representative, then authorise an 经办人.
    agent = verified(2, mobile="13900006666")
    uscc, name, _, _ = COMPANIES[0]
    page.goto(f"{base}/portal/account/enterprise/bind/")
    page.fill("#f-uscc", uscc)
    page.fill("#f-ent_name", name)
    _shoot(page, "enterprise-bind")
    page.click("form.pa-form button[type=submit]")
    page.wait_for_url(f"{base}/portal/enterprise/")
    assert name in page.content()
    _shoot(page, "enterprise")
    page.click("a[href$='/agents/']")
    page.fill("#f-name", NAMES[2])
    page.fill("#f-id_no", pid(2))
    page.click("form.pa-form button[type=submit]")
    page.wait_for_selector("#agent-list li[data-active='1']")
    _shoot(page, "agents")

    # The agent logs in on their own phone and acts for the enterprise.
    other = browser.new_context(locale="zh-CN", viewport=PHONE)
    agent_page = other.new_page()
    try:
        _login(agent_page, base, "13900006666")
        agent_page.goto(f"{base}/portal/account/enterprise/switch/")
        agent_page.click(f"button[name=enterprise][value='{agent.enterprise_authorisations.get().enterprise_id}']")
        agent_page.wait_for_url(f"{base}/portal/enterprise/")
        assert name in agent_page.content() and "经办人" in agent_page.content()
        _shoot(agent_page, "agent-enterprise")

        # Revoked by the legal representative: the agent's next page no longer shows the enterprise.
        page.click("#agent-list li[data-active='1'] button")
        page.wait_for_selector("#agent-list li[data-active='0']")
        agent_page.reload()
        assert name not in agent_page.content() and "尚未选择办理企业" in agent_page.content()
    finally:
        other.close()
