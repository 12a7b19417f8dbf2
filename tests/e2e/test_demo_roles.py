"""Every demo account through its 工作台 in a real browser, at 1366 px and 375 px: each to-do it
shows and each menu entry it is offered opens (200, never 无权访问), fits the screen and keeps the
Content-Security-Policy. Screenshots of each 工作台 go under tmp_path (or ZHENGWU_SCREENSHOT_DIR).

Administrators are signed in with a session made by force_login (their TOTP step is tested in
test_login.py); everyone else's first-login password change is tested in test_workbench.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_workbench import demo  # the demo city with a review waiting and a failed batch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["demo"]

LINKS_JS = """() => Array.from(document.querySelectorAll("[data-todo] a, nav a"))
    .map(a => a.getAttribute("href")).filter(h => h && h.startsWith("/") && !h.startsWith("//"))"""
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _cookie(live_server: Any, user: Any) -> dict[str, Any]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url}


def test_every_demo_role_walks_its_workbench_at_both_widths(
    live_server: Any, browser: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    from zhengwu.directory.models import User

    User.objects.update(must_change_password=False)
    shots = Path(os.environ.get("ZHENGWU_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    visited = 0
    users = list(User.objects.order_by("username"))
    assert len(users) == 9  # the README's demo accounts
    for user in users:
        for width in (1366, 375):
            context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
            context.add_cookies([_cookie(live_server, user)])
            page = context.new_page()
            page.set_default_timeout(15000)
            violations: list[str] = []
            page.on("console", lambda m, v=violations: v.append(m.text) if "Content Security Policy" in m.text else None)
            try:
                response = page.goto(f"{live_server.url}/")
                assert response is not None and response.status == 200, f"{user.username} 工作台打不开"
                page.screenshot(path=str(shots / f"workbench_{user.username}_{width}.png"), full_page=True)
                # A link to a part of a page (#locks) is the page itself.
                links = sorted({href.split("#", 1)[0] for href in page.evaluate(LINKS_JS)})
                for href in links:
                    if href.startswith(("/logout", "/static/")):
                        continue
                    response = page.goto(f"{live_server.url}{href}")
                    visited += 1
                    where = f"{user.username}（{width} px）→ {href}"
                    if response is None or response.status != 200:
                        problems.append(f"{where}：状态 {response.status if response else '无响应'}")
                        continue
                    if "无权访问" in page.locator("main").inner_text():
                        problems.append(f"{where}：页面显示无权访问")
                    overflow = page.evaluate(OVERFLOW_JS)
                    if overflow > 0:
                        problems.append(f"{where}：页面比屏幕宽 {overflow} px")
            finally:
                context.close()
            problems.extend(f"{user.username}（{width} px）：{v}" for v in violations)
    assert visited > 2 * len(users)
    assert problems == [], "\n".join(problems)
