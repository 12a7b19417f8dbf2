"""The portal in headless Chromium at 1366 px and 375 px: home, search, help, the centres, and the
installable app — manifest, service worker registered with scope /portal/, and with the network
down a navigation shows the offline page (and no personal page is ever in the cache)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("ZHENGWU_SHOTS_DIR", "/tmp/shots")) / "portal"
WIDTHS = [(1366, 900, False), (375, 740, True)]


def _context(browser: Any, width: int, height: int, mobile: bool) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile,
        service_workers="allow",
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return context, page, problems


def _fits(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} 比屏幕宽：{scroll} > {width}"


def _shot(page: Any, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def _public_user() -> Any:
    from django.utils import timezone

    from zhengwu.directory.models import User

    user = User(username="pub-e2e", full_name="王小明", unit=None, account_kind="public",
                password_changed_at=timezone.now())
    user.set_password(STRONG_PASSWORD)
    user.save()
    return user


def _notice(author: Any, title: str, body: str, pinned: bool = False) -> None:
    from django.utils import timezone

    from zhengwu.portal.models import Notice

    Notice.objects.create(title=title, body=body, pinned=pinned, published_at=timezone.now(), created_by=author)


def _sign_in(context: Any, live_server: Any, user: Any) -> None:
    """A session of `user` (the public login page is the public-accounts app's own test)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])


@pytest.mark.parametrize(("width", "height", "mobile"), WIDTHS, ids=["1366", "375"])
def test_portal_pages_and_offline_app(
    live_server: Any, browser: Any, make_user: Any, width: int, height: int, mobile: bool
) -> None:
    author, public_user = make_user(), _public_user()
    _notice(author, "示范市政务服务门户开始试运行", "门户今天开始试运行。\n\n如何注册：点击右上角的“注册”。", pinned=True)
    _notice(author, "如何注册账号和完成实名认证", "第一步：注册。第二步：实名认证。")
    base = live_server.url
    context, page, problems = _context(browser, width, height, mobile)
    try:
        page.goto(f"{base}/")  # an anonymous visitor of the site root is at the portal
        assert page.url == f"{base}/portal/"
        assert page.locator("h1").inner_text() == "欢迎访问示范市政务服务门户"
        assert "示范市政务服务门户开始试运行" in page.locator(".p-list").first.inner_text()
        nav = page.locator("#p-nav")
        if mobile:
            assert not nav.is_visible()
            page.click(".p-nav-toggle")
            assert nav.is_visible() and page.get_attribute(".p-nav-toggle", "aria-expanded") == "true"
            _shot(page, "home-menu", width)
            page.click(".p-nav-toggle")
        else:
            assert nav.is_visible() and not page.locator(".p-nav-toggle").is_visible()
        _fits(page, width)
        _shot(page, "home", width)

        # The service worker registers with scope /portal/ and precaches the shell.
        scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == f"{base}/portal/"
        cached = page.evaluate("""async () => {
            const keys = await caches.keys();
            const out = [];
            for (const key of keys) {
                const cache = await caches.open(key);
                for (const req of await cache.keys()) out.push(key + ' ' + new URL(req.url).pathname);
            }
            return out;
        }""")
        paths = sorted(line.split(" ", 1)[1] for line in cached)
        assert paths == sorted(["/static/portal/portal.css", "/static/portal/portal.js", "/portal/icons/icon-192.png",
                                "/portal/icons/icon-512.png", "/portal/offline/"])
        assert all(line.startswith("portal-shell-") for line in cached)
        # A POST inside the scope goes past the worker to the network and is never stored.
        status = page.evaluate("fetch('/portal/search/?q=x', {method: 'POST'}).then(r => r.status)")
        assert status in (403, 405)
        assert sorted(page.evaluate("""async () => {
            const out = [];
            for (const key of await caches.keys()) {
                for (const req of await (await caches.open(key)).keys()) out.push(new URL(req.url).pathname);
            }
            return out;
        }""")) == paths
        manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
        assert manifest["name"] == "我的示范市" and manifest["scope"] == "/portal/"

        # Search from the home page's search box (the header's is hidden there: one box, not two).
        assert not page.locator("#p-search-q").is_visible()
        page.fill("#hero-q", "注册")
        page.press("#hero-q", "Enter")
        page.wait_for_url("**/portal/search/?q=*")
        assert page.locator("h1").inner_text() == "搜索"
        notices = page.locator('[data-kind="notices"]')
        assert "如何注册账号和完成实名认证" in notices.inner_text()
        assert "一网通办上线后可在这里搜索" in page.locator('[data-kind="services"]').inner_text()
        assert page.locator("#p-search-q").input_value() == "注册"  # the header keeps the query
        _fits(page, width)
        _shot(page, "search", width)

        page.click("footer >> text=帮助")
        page.wait_for_url("**/portal/help/")
        assert page.locator("h1").inner_text() == "帮助中心"
        _fits(page, width)
        _shot(page, "help", width)

        # Signed in as a public account: 个人中心 with its sections.
        _sign_in(context, live_server, public_user)
        page.goto(f"{base}/portal/me/")
        assert page.locator("h1").inner_text() == "个人中心"
        assert "王*" in page.locator(".p-account").inner_text()
        assert "一网通办上线后" in page.locator('[data-section="person.cases"]').inner_text()
        _fits(page, width)
        _shot(page, "me", width)
        page.goto(f"{base}/portal/enterprise/")
        assert page.locator("h1").inner_text() == "企业中心"
        _fits(page, width)
        _shot(page, "enterprise", width)

        # The network goes down: navigations show the offline page, personal ones too, from the cache.
        context.set_offline(True)
        page.goto(f"{base}/portal/help/")
        assert page.locator("h1").inner_text() == "网络未连接"
        assert page.locator("[data-offline-page]").is_visible()
        assert page.locator(".p-account").count() == 0  # nothing personal in the cached page
        _fits(page, width)
        _shot(page, "offline", width)
        page.goto(f"{base}/portal/me/")
        assert page.locator("h1").inner_text() == "网络未连接"
        cached_after = page.evaluate("""async () => {
            const out = [];
            for (const key of await caches.keys()) {
                const cache = await caches.open(key);
                for (const req of await cache.keys()) out.push(new URL(req.url).pathname);
            }
            return out;
        }""")
        assert not [p for p in cached_after if p.startswith(("/portal/me/", "/portal/enterprise/", "/portal/account/"))]
        assert sorted(cached_after) == paths  # browsing stored nothing beyond the shell
        context.set_offline(False)
        page.goto(f"{base}/portal/me/")
        assert page.locator("h1").inner_text() == "个人中心"
    finally:
        context.close()
    csp = [p for p in problems if "Content Security Policy" in p]
    assert csp == [], csp
    # The offline navigations log net::ERR_INTERNET_DISCONNECTED from the worker's failed fetch; nothing else.
    # And the deliberate POST above is refused (403, no CSRF token), which the console reports once.
    others = [p for p in problems if "ERR_INTERNET_DISCONNECTED" not in p and "Failed to fetch" not in p]
    forbidden = [p for p in others if "status of 403" in p]
    assert len(forbidden) <= 1, forbidden
    others = [p for p in others if "status of 403" not in p]
    assert others == [], others


@pytest.mark.parametrize(("width", "height", "mobile"), WIDTHS, ids=["1366", "375"])
def test_editor_publishes_a_notice_the_public_then_reads(
    live_server: Any, browser: Any, make_user: Any, width: int, height: int, mobile: bool
) -> None:
    from zhengwu.directory.models import BusinessRole, RoleGrant

    editor = make_user(full_name="李编辑")
    role, _ = BusinessRole.objects.get_or_create(code="portal_editor", defaults={"name": "门户编辑", "app_label": "portal"})
    RoleGrant.objects.create(user=editor, role=role, unit=editor.unit)
    base = live_server.url
    context, page, problems = _context(browser, width, height, mobile)
    try:
        _sign_in(context, live_server, editor)
        page.goto(f"{base}/")  # the 工作台 offers the console entry in 服务
        page.goto(base + page.get_attribute('[data-console="portal.notices"]', "href"))
        assert page.locator("h1").inner_text() == "通知公告"
        page.click("text=新建通知")
        page.fill("#f-title", "关于系统维护的通知")
        page.fill("#f-body", "本周六 22:00 至 24:00 系统维护。\n\n维护期间暂停网上服务。")
        page.click("form.stacked button[type=submit]")  # no publish time: a draft
        page.wait_for_url("**/portal/console/notices/")
        row = page.locator("tr", has_text="关于系统维护的通知")
        assert "草稿" in row.inner_text()
        _fits(page, width)
        _shot(page, "console-notices", width)
        row.locator("text=立即发布").click()
        page.wait_for_url("**/portal/console/notices/")
        assert "已发布" in page.locator("tr", has_text="关于系统维护的通知").inner_text()

        visitor, public, _ = _context(browser, width, height, mobile)
        try:
            public.goto(f"{base}/portal/")
            public.click("text=关于系统维护的通知")
            assert public.locator("h1").inner_text() == "关于系统维护的通知"
            assert public.locator(".p-article p").nth(2).inner_text() == "维护期间暂停网上服务。"
            _fits(public, width)
            _shot(public, "notice", width)
        finally:
            visitor.close()
    finally:
        context.close()
    assert [p for p in problems if "Content Security Policy" in p] == []
