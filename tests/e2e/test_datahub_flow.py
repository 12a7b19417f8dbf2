"""Collect data through the pages in headless Chromium: a provider's 数据管理员 uploads a GBK CSV
with bad rows, reads the batch's quality report and quarantine, downloads the quarantined rows,
corrects them in the downloaded file and uploads it back (补正重报), sees them resolved; then the
quality ranking on a 375 px phone."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD
from tests.datahub.conftest import PEOPLE_ITEMS, grant, people_csv, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _publish(admin: Any, reviewer: Any) -> Any:
    from zhengwu.catalog import services as catalog

    entry = catalog.do_create_entry(admin, {
        "category": "1", "class_item": "01", "class_sub": "001", "name": "常住人口基本信息",
        "abstract": "本市常住人口的身份、性别、出生日期和户籍地址，用于数据归集的浏览器测试。",
        "resource_format": "数据库", "share_type": "无条件共享", "share_method": "共享平台",
        "open_type": "不予开放", "open_basis": "《中华人民共和国个人信息保护法》", "update_cycle": "每日",
        "security_level": "敏感", "items": PEOPLE_ITEMS,
    })
    catalog.do_submit_entry(admin, entry)
    catalog.do_approve_entry(reviewer, entry)
    entry.refresh_from_db()
    return entry


def _no_horizontal_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_upload_quarantine_download_correct_and_rank(
    live_server: Any, browser: Any, page: Any, make_unit: Any, make_user: Any, tmp_path: Path, settings: Any
) -> None:
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    authority = make_unit("大数据管理局")
    provider = make_unit("市公安局")
    admin = make_user("ga_shuju", unit=provider, full_name="公安数据员")
    grant(admin, "data_admin", provider)
    reviewer = make_user("dsj_shenhe", unit=authority, full_name="目录审核员")
    grant(reviewer, "catalog_reviewer", authority)
    entry = _publish(admin, reviewer)
    people = [person(i) for i in range(1, 11)]
    people[3]["person_name"] = ""  # row 4: 姓名 is required
    people[6]["gender"] = "5"  # row 7: not a GB/T 2261.1 code
    source = people_csv(tmp_path / "常住人口.csv", people, encoding="gbk")
    base = live_server.url

    # 1. Upload the GBK file from the 数据归集 page.
    _login(page, base, "ga_shuju")
    page.goto(f"{base}/datahub/")
    row = page.locator(f"tr[data-code='{entry.resource_code}']")
    assert "常住人口基本信息" in row.inner_text() and "尚无数据" in row.inner_text()
    row.locator("summary").click()
    row.locator("input[type=file]").set_input_files(str(source))
    row.locator("select[name=mode]").select_option("full")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/datahub/batches/*/")
    batch_url = page.url

    # 2. The batch page: finished, the report and the two quarantined rows with their reasons.
    page.wait_for_selector("#report", timeout=60000)
    assert page.locator("#batch-encoding").inner_text() == "GBK"
    assert page.locator("#rows-in").inner_text() == "10"
    assert page.locator("#rows-accepted").inner_text() == "8"
    assert page.locator("#rows-refused").inner_text() == "2"
    assert "性别" in page.locator("#rule-report").inner_text()
    quarantine = page.locator("#quarantine-table tbody tr")
    assert quarantine.count() == 2
    assert "姓名" in quarantine.nth(0).inner_text() and "性别" in quarantine.nth(1).inner_text()
    assert page.locator("#resolved-count").inner_text() == "0"

    # 3. Download the quarantined rows, correct them in the file, upload it back.
    with page.expect_download() as info:
        page.click("#quarantine-download")
    download = info.value
    content = Path(download.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:2] == ["行号", "错误原因"] and "公民身份号码" in rows[0]
    assert [r[0] for r in rows[1:]] == ["4", "7"]
    name_col, gender_col = rows[0].index("姓名"), rows[0].index("性别")
    rows[1][name_col] = "李四"
    rows[2][gender_col] = "2"
    corrected = tmp_path / "隔离数据-已改正.csv"
    with corrected.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    page.locator("#correction-form input[type=file]").set_input_files(str(corrected))
    page.locator("#correction-form button[type=submit]").click()
    page.wait_for_url(lambda url: url != batch_url and "/datahub/batches/" in url)
    page.wait_for_selector("#report", timeout=60000)
    assert page.locator("#rows-accepted").inner_text() == "2"
    assert page.locator("#rows-refused").inner_text() == "0"

    # 4. The original batch shows both rows resolved; the resource has two versions.
    page.goto(batch_url)
    assert page.locator("#resolved-count").inner_text() == "2"
    page.goto(f"{base}/datahub/resources/{entry.resource_code}/")
    assert page.locator("#current-version").inner_text() == "v1"

    # 5. A queued batch's page follows its progress by itself: it polls the API and shows the report
    #    once the worker (here: this test) has run the batch.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from zhengwu.datahub import services

    more = people_csv(tmp_path / "增量.csv", [person(i) for i in range(20, 25)], encoding="gbk")
    queued = services.do_submit_upload(
        admin, entry.resource_code, SimpleUploadedFile(more.name, more.read_bytes()), mode="incremental", enqueue=False
    )
    page.goto(f"{base}/datahub/batches/{queued.pk}/")
    assert page.locator("#live-note").is_visible() and page.locator("#report").count() == 0
    services.run_batch(queued.pk)
    page.wait_for_selector("#report", timeout=15000)
    assert page.locator("#rows-accepted").inner_text() == "5"
    assert page.locator("#live-note").count() == 0

    # 6. The quality ranking on a phone: readable without horizontal scrolling.
    phone = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True)
    mobile = phone.new_page()
    try:
        _login(mobile, base, "ga_shuju")
        mobile.goto(f"{base}/datahub/quality/")
        assert "市公安局" in mobile.locator("#unit-ranking").inner_text()
        assert mobile.locator("#unit-chart svg").count() == 1
        assert mobile.locator("#unit-chart svg").bounding_box()["width"] <= 375
        _no_horizontal_scroll(mobile)
        mobile.goto(batch_url)
        _no_horizontal_scroll(mobile)
        mobile.goto(f"{base}/datahub/")
        _no_horizontal_scroll(mobile)
    finally:
        phone.close()
