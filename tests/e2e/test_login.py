"""Log in through the real login page in headless Chromium and reach the home page (工作台)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_business_user_logs_in_and_reaches_home(live_server: Any, page: Any, make_user: Any) -> None:
    make_user("zhangsan", full_name="张三")

    page.goto(f"{live_server.url}/login/")
    assert "登录" in page.title()
    page.fill("input[name=username]", "zhangsan")
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "工作台"
    assert "张三" in page.locator(".userbar").inner_text()


def test_wrong_password_shows_chinese_error(live_server: Any, page: Any, make_user: Any) -> None:
    make_user("lisi", full_name="李四")

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "lisi")
    page.fill("input[name=password]", "wrong-password-1")
    page.click("button[type=submit]")

    assert page.url.startswith(f"{live_server.url}/login/")
    assert "用户名或密码" in page.content()


def test_home_page_is_usable_on_a_phone(live_server: Any, browser: Any, make_user: Any) -> None:
    make_user("wangwu", full_name="王五")
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "wangwu")
        page.fill("input[name=password]", STRONG_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        # Nothing wider than the screen: no horizontal scrolling on a phone.
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 375
    finally:
        context.close()
