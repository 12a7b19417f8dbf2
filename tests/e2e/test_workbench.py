"""The 工作台 in a real browser, as the demo's people use it: gaj_data signs in with the published
initial password, is sent to 修改密码 first, then sees the 工作台 with its to-do counts and opens
a to-do's list; dsj_data (the authority) sees the entry waiting for review and the bell; on a
375 px phone the menu is one button that opens it, and no page is wider than the screen.
Screenshots are saved under the test's tmp_path (ZHENGWU_SCREENSHOT_DIR keeps them elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.datahub.conftest import write_csv
from tests.shell.conftest import entry_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Gaj#Changed-2026"
OVERFLOW_JS = """() => ({scroll: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth})"""


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ZHENGWU_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _context(browser: Any, width: int, height: int) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15000)
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return context, page, violations


def _sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


@pytest.fixture
def demo(tmp_path: Path, settings: Any) -> dict[str, Any]:
    import importlib

    from django.core.files.uploadedfile import SimpleUploadedFile

    from zhengwu.catalog import services as catalog
    from zhengwu.datahub import services as datahub
    from zhengwu.directory import demo as city
    from zhengwu.directory.models import BusinessRole, User

    # A transactional test flushes the tables, data migrations' rows too: put the base roles back.
    base_roles = importlib.import_module("zhengwu.directory.migrations.0002_base_business_roles").BASE_ROLES
    for code, name, description in base_roles:
        BusinessRole.objects.get_or_create(code=code, defaults={"name": name, "app_label": "directory", "description": description})
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    city.load_demo_city()
    users = {u.username: u for u in User.objects.all()}
    gaj, dsj = users["gaj_data"], users["dsj_data"]
    entry = catalog.do_create_entry(gaj, entry_data())
    catalog.do_submit_entry(gaj, entry)
    catalog.do_approve_entry(dsj, entry)
    waiting = catalog.do_create_entry(gaj, entry_data("机动车驾驶证信息"))
    catalog.do_submit_entry(gaj, waiting)
    bad = write_csv(tmp_path / "错表头.csv", ["完全无关的列"], [["x"]])
    batch = datahub.do_submit_upload(gaj, entry.resource_code, SimpleUploadedFile(bad.name, bad.read_bytes()))
    batch.refresh_from_db()
    assert batch.status == "failed"
    User.objects.filter(username="dsj_data").update(must_change_password=False)
    return {"entry": entry, "batch": batch}


def test_first_login_then_workbench_todos_then_the_list(
    live_server: Any, browser: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    from zhengwu.directory.demo import DEFAULT_PASSWORD

    base = live_server.url
    shots = _shots(tmp_path)
    context, page, violations = _context(browser, 1366, 900)
    _sign_in(page, base, "gaj_data", DEFAULT_PASSWORD)
    page.wait_for_url(f"{base}/account/password/")
    page.goto(f"{base}/catalog/")  # every page leads to 修改密码 until it is changed
    page.wait_for_url(f"{base}/account/password/")
    page.fill("input[name=old_password]", DEFAULT_PASSWORD)
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=new_password2]", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/account/")

    page.goto(f"{base}/")
    failed = page.locator("[data-todo='datahub.failed'] .todo-count")
    expect(failed).to_have_text("1")
    expect(page.locator("[data-todo='catalog.returned'] .todo-count")).to_have_text("0")
    expect(page.locator("#mainnav [data-console='catalog.review']")).to_have_count(0)
    expect(page.locator(".bell-count")).to_have_text("2")  # the published entry and the failed batch
    page.screenshot(path=str(shots / "workbench-gaj-1366.png"), full_page=True)
    page.click("[data-todo='datahub.failed'] a")
    page.wait_for_url(f"{base}/datahub/?todo=failed")
    expect(page.locator("#todo-list")).to_contain_text(f"批次 #{demo['batch'].pk}")
    expect(page.locator("#mainnav [data-console='datahub.mine']")).to_have_attribute("aria-current", "page")
    expect(page.locator(".crumbs")).to_contain_text("失败待重新提交的批次")
    context.close()
    assert violations == []


def test_phone_menu_and_workbench_fit_375px(live_server: Any, browser: Any, demo: dict[str, Any], tmp_path: Path) -> None:
    from django.conf import settings
    from django.test import Client

    from zhengwu.directory.models import User

    base = live_server.url
    shots = _shots(tmp_path)
    client = Client()
    client.force_login(User.objects.get(username="dsj_data"))
    context, page, violations = _context(browser, 375, 740)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": base}])
    page.goto(f"{base}/")
    expect(page.locator("[data-todo='catalog.review'] .todo-count")).to_have_text("1")
    expect(page.locator(".bell-count")).to_have_text("2")  # both submissions reached the authority
    menu = page.locator("#mainnav")
    toggle = page.locator("button[data-nav-toggle]")
    expect(toggle).to_be_visible()
    expect(menu).to_be_hidden()
    size = page.evaluate(OVERFLOW_JS)
    assert size["scroll"] <= size["viewport"], size
    page.screenshot(path=str(shots / "workbench-dsj-375.png"), full_page=True)
    toggle.click()
    expect(menu).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    size = page.evaluate(OVERFLOW_JS)
    assert size["scroll"] <= size["viewport"], size
    page.screenshot(path=str(shots / "menu-dsj-375.png"), full_page=True)
    page.click("#mainnav [data-console='catalog.review']")
    page.wait_for_url(f"{base}/catalog/review/")
    expect(page.locator("main")).to_contain_text("机动车驾驶证信息")
    size = page.evaluate(OVERFLOW_JS)
    assert size["scroll"] <= size["viewport"], size
    page.screenshot(path=str(shots / "review-dsj-375.png"), full_page=True)
    print("screenshots:", shots)
    context.close()
    assert violations == []
