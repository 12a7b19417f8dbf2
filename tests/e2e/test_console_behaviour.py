"""Page behaviour under the Content-Security-Policy: with no inline script allowed, the console's
confirmations, copy buttons and charts run from the platform's own console.js.

The first test shows that the `page` fixture's CSP watch can fail: an inline script injected into
a page is blocked and reported."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import STRONG_PASSWORD
from tests.datahub.conftest import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_an_injected_inline_script_is_blocked(live_server: Any, browser: Any) -> None:
    context = browser.new_context(locale="zh-CN")
    pg = context.new_page()
    messages: list[str] = []
    pg.on("console", lambda msg: messages.append(msg.text))
    pg.goto(f"{live_server.url}/login/")
    pg.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                   document.body.appendChild(s); }"""
    )
    pg.wait_for_timeout(200)
    assert pg.evaluate("window.__ran") is None
    assert any("Content Security Policy" in m for m in messages)
    context.close()


def test_confirm_and_copy_work_without_inline_script(
    live_server: Any, page: Any, make_unit: Any, make_user: Any
) -> None:
    from zhengwu.datahub.models import PushToken

    unit = make_unit("市公安局")
    admin = make_user("ga_token", unit=unit, full_name="公安数据员")
    grant(admin, "data_admin", unit)
    base = live_server.url
    _login(page, base, "ga_token")

    page.goto(f"{base}/datahub/tokens/")
    page.fill("input[name=name]", "人口库同步程序")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#token-secret")
    secret = page.locator("#token-secret").inner_text()
    assert secret.startswith("zwp_")
    page.click("#copy-token")
    note = page.locator("#copy-note")
    expect(note).not_to_have_text("也可以选中上面的文字手动复制。")
    assert note.inner_text() in {"已复制到剪贴板。", "已选中，请按 Ctrl+C 复制。", "无法自动复制，请选中上面的文字手动复制。"}

    # Revoking asks first; declining keeps the token.
    dialogs: list[str] = []

    def dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#token-list button:has-text('吊销')")
    page.wait_for_timeout(300)
    assert dialogs == ["吊销后使用该令牌的推送将被拒绝，且不能恢复。确定吊销？"]
    assert PushToken.objects.get().revoked_at is None

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#token-list button:has-text('吊销')")
    assert "已吊销" in page.locator("#token-list").inner_text()
    assert PushToken.objects.get().revoked_at is not None
