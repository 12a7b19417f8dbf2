"""Open data in a browser: search from the open-data home, open a dataset, download its CSV (UTF-8
with BOM, open items only), then — signed in as a registered person — apply for a conditional
dataset. Screenshots at 1366 and 375 px in /tmp/shots/opendata/ (no sideways scrolling)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.opendata.conftest import (  # noqa: F401 - fixtures
    authority,
    catalog_reviewer,
    data_admin,
    lake_dir,
    open_dataset,
    provider,
    public_person,
    themes,
)

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path("/tmp/shots/opendata")


def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"e2e-{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{name} 在 {width} px 宽度下出现横向滚动"
    page.set_viewport_size({"width": 1280, "height": 800})


def _sign_in(page: Any, base: str, user: Any) -> None:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": base}])


def test_search_open_download_and_apply(
    live_server: Any, page: Any, open_dataset: Any, public_person: Any, themes: None, tmp_path: Path,  # noqa: F811
    calendar_ahead: list[int],  # the application is filed with the real today
) -> None:
    from django.utils import timezone

    from zhengwu.opendata.models import DataApplication

    clinics = open_dataset()
    credit = open_dataset(name="公共信用信息", open_type="有条件开放", category="1", class_item="04")
    base = live_server.url

    page.goto(f"{base}/portal/opendata/")
    _shoot(page, "home")
    page.fill("#od-q", "医疗机构")
    page.press("#od-q", "Enter")
    page.wait_for_url(f"{base}/portal/opendata/search/?q=*")
    _shoot(page, "search")
    page.click("li.od-item a:has-text('医疗机构执业登记信息')")
    page.wait_for_selector("#dictionary")
    assert "负责人电话" not in page.content()
    assert page.locator("#preview tbody tr").count() == 10
    _shoot(page, "dataset")

    with page.expect_download() as info:
        page.click("a[data-format=CSV]")
    saved = tmp_path / "download.csv"
    info.value.save_as(saved)
    content = saved.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("机构代码,机构名称") and len(lines) == 21 and "电话" not in lines[0]
    page.reload()
    assert page.locator("#download-count").inner_text() == "1"

    # A conditional dataset: no preview, no download; sign in and apply.
    page.goto(f"{base}/portal/opendata/search/?open_type=有条件开放")
    page.click("li.od-item a:has-text('公共信用信息')")
    assert page.locator("#preview").count() == 0
    _sign_in(page, base, public_person)
    page.click("#apply-link")
    page.wait_for_selector("#apply-form")
    page.fill("#purpose", "研究本市信用体系建设情况，撰写公开的研究报告")
    page.fill("#scenario", "高校科研项目，数据仅用于统计分析，不对外提供")
    page.fill("#period_end", (timezone.localdate() + timedelta(days=60)).isoformat())
    _shoot(page, "apply")
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector(".p-msg.success")
    assert "申请已提交" in page.locator(".p-messages").inner_text()
    application = DataApplication.objects.get()
    assert application.resource_code == credit.resource_code and application.applicant == public_person
    page.goto(f"{base}/portal/me/")
    assert "公共信用信息" in page.locator("#section-person\\.opendata").inner_text()
    _shoot(page, "me")
    assert clinics.resource_code != credit.resource_code
