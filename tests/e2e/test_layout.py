"""Screenshot walk: every kind of demo role opens its main pages at 1366 px and at 375 px, and no
page is wider than the screen.

The data are made to be awkward: a batch whose quarantined rows carry a 200-character address, a
catalog entry with a long abstract and a long 纠错, many provider units (one with a very long
name) so the catalog's bar chart has more rows than fit, and audit records. On each page the test
asserts that `document.documentElement.scrollWidth` is at most the viewport's width and that no
element reaches past the viewport unless it sits inside a scroll container (a `.table-wrap` that
scrolls sideways), and saves a full-page screenshot under pytest's tmp_path (paths printed; run
with -s to see them; ZHENGWU_SCREENSHOT_DIR keeps them somewhere pytest does not clean). It also checks that the bar charts' text is no larger than the page's and
that every unit has its bar.

Admins sign in with TOTP; the test gives each browser a session made by Django's test client
(force_login), which is what the audit console tests do too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.datahub.conftest import PEOPLE_ITEMS, grant, people_csv, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1366, 900), "phone": (375, 740)}
LONG_ADDRESS = ("广东省示范市梅江区江南街道办事处江南路社区居民委员会第三居民小组" * 8)[:200]
LONG_UNIT = "示范市人力资源和社会保障局劳动保障监察支队第三大队（示范市劳动人事争议仲裁院）"

# What overflows: elements reaching past the viewport that no scrolling ancestor contains.
OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth;
  function inScroller(el) {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') { return true; }
    }
    return false;
  }
  function name(el) {
    let s = el.tagName.toLowerCase();
    if (el.id) { s += '#' + el.id; }
    if (el.className && typeof el.className === 'string') { s += '.' + el.className.trim().split(/\\s+/).join('.'); }
    return s + ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
  }
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) { continue; }
    if ((r.right > vw + 1 || r.left < -1) && !inScroller(el)) {
      wide.push(name(el) + ' ' + Math.round(r.left) + '–' + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, viewport: vw, wide: wide.slice(0, 8)};
}"""

# Every chart: the largest text in it (in CSS px as drawn) and how many bars it holds.
CHART_JS = """() => Array.from(document.querySelectorAll('svg.chart')).map(svg => ({
  font: Math.max(0, ...Array.from(svg.querySelectorAll('text')).map(
    t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)),  // font size × the viewBox's scale
  smallest: Math.min(99, ...Array.from(svg.querySelectorAll('text')).map(
    t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)),
  rows: svg.querySelectorAll('g > title').length,
  width: svg.getBoundingClientRect().width,
  body: parseFloat(getComputedStyle(document.body).fontSize),
}))"""


def _session_cookie(live_server: Any, user: Any) -> dict[str, Any]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url}


@pytest.fixture
def world(make_unit: Any, make_user: Any, tmp_path: Path, settings: Any) -> dict[str, Any]:
    """Units, one user of each kind of demo role, a published entry with a long abstract and a
    long 纠错, a batch with quarantined long addresses, and many providers for the charts."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from zhengwu.catalog import services as catalog
    from zhengwu.datahub import services as datahub

    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    authority = make_unit("示范市大数据管理局")
    provider = make_unit("示范市公安局", uscc="11441400007000000J")
    users = {
        "数据管理员": make_user("ga_data", unit=provider, full_name="高建国"),
        "目录审核员": make_user("dsj_review", unit=authority, full_name="黄志强"),
        "业务经办人": make_user("zwb_clerk", unit=make_unit("示范市政务服务数据管理局"), full_name="钟小梅"),
        "系统管理员": make_user("xtadmin", unit=authority, admin_role="system_admin", full_name="谢婷"),
        "安全管理员": make_user("aqadmin", unit=authority, admin_role="security_admin", full_name="安庆"),
        "审计管理员": make_user("sjadmin", unit=authority, admin_role="audit_admin", full_name="沈洁"),
    }
    grant(users["数据管理员"], "data_admin", provider)
    grant(users["目录审核员"], "catalog_reviewer", authority)
    grant(users["业务经办人"], "clerk", users["业务经办人"].unit)
    reviewer = users["目录审核员"]

    def publish(admin: Any, name: str, abstract: str | None = None) -> Any:
        entry = catalog.do_create_entry(admin, {
            "category": "1", "class_item": "01", "class_sub": "001", "name": name,
            "abstract": abstract or f"{name}：用于页面布局测试的信息资源，包含身份、地址等信息项。",
            "resource_format": "数据库", "share_type": "无条件共享", "share_method": "共享平台",
            "open_type": "不予开放", "open_basis": "《中华人民共和国个人信息保护法》", "update_cycle": "每日",
            "security_level": "敏感", "items": PEOPLE_ITEMS,
        })
        catalog.do_submit_entry(admin, entry)
        catalog.do_approve_entry(reviewer, entry)
        entry.refresh_from_db()
        return entry

    abstract = "本市常住人口的身份、性别、出生日期和户籍地址，由公安部门每日更新。" * 30
    entry = publish(users["数据管理员"], "常住人口基本信息（含户籍地址、迁入迁出记录及历年变更情况的完整汇总）", abstract)
    catalog.do_request_correction(users["业务经办人"], entry, content="户籍地址一项的说明不完整，" * 150)

    # Many providers (one with a long name) so the bar chart has more rows than fit.
    for i in range(18):
        unit = make_unit(LONG_UNIT if i == 0 else f"示范市第{i}测试局")
        admin = make_user(unit=unit)
        grant(admin, "data_admin", unit)
        publish(admin, f"测试资源{i}")

    people = [person(i) for i in range(1, 13)]
    for i in (2, 5, 8):
        people[i]["household_address"] = LONG_ADDRESS  # longer than the item's 60: quarantined
    source = people_csv(tmp_path / "常住人口.csv", people)
    batch = datahub.do_submit_upload(
        users["数据管理员"], entry.resource_code, SimpleUploadedFile(source.name, source.read_bytes()),
        mode="incremental", enqueue=False,
    )
    datahub.run_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.rows_refused == 3, batch.error_message
    return {"users": users, "entry": entry, "batch": batch}


def _pages(world: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    entry, batch = world["entry"], world["batch"]
    code = entry.resource_code
    catalog_pages = [("目录", "/catalog/"), ("目录详情", f"/catalog/entries/{entry.pk}/"), ("目录统计", "/catalog/stats/")]
    return {
        "数据管理员": [
            ("工作台", "/"), *catalog_pages, ("本单位目录", "/catalog/mine/"),
            ("数据归集", "/datahub/"), ("资源", f"/datahub/resources/{code}/?version=0#preview"),
            ("批次", f"/datahub/batches/{batch.pk}/"), ("数据质量", "/datahub/quality/"), ("推送令牌", "/datahub/tokens/"),
            ("编制目录", "/catalog/entries/new/"), ("修改目录", f"/catalog/entries/{entry.pk}/edit/"),
            ("目录版本", f"/catalog/entries/{entry.pk}/versions/1/"), ("目录导入", "/catalog/import/"),
        ],
        "目录审核员": [("工作台", "/"), ("目录审核", "/catalog/review/"), *catalog_pages, ("数据质量", "/datahub/quality/")],
        "业务经办人": [("工作台", "/"), *catalog_pages, ("机构目录", "/directory/"), ("账号与安全", "/account/")],
        "系统管理员": [
            ("工作台", "/"), ("单位管理", "/directory/units/"), ("用户管理", "/directory/users/"),
            ("账号详情", f"/directory/users/{world['users']['数据管理员'].pk}/"), ("工作日历", "/calendar/"),
        ],
        "安全管理员": [("工作台", "/"), ("安全管理", "/security/"), ("出站白名单", "/security/egress/")],
        "审计管理员": [("工作台", "/"), ("审计记录", "/audit/?q="), ("审计记录详情", "/audit/records/1/")],
    }


def _detail_shots(page: Any, stem: Path) -> list[Path]:
    """The tables and charts of a page, each cut to at most 1,000 px tall, for a closer look (a
    full-page screenshot of a tall page is too small to read once scaled to fit)."""
    out = []
    scrolled = page.evaluate("window.scrollY")  # boxes are relative to the viewport, clips to the page
    boxes = page.locator(".table-wrap, svg.chart, .chart-scroll")
    for i in range(min(boxes.count(), 6)):
        box = boxes.nth(i).bounding_box()
        if not box or box["height"] < 10:
            continue
        path = stem.with_name(f"{stem.name}-细节{i + 1}.png")
        page.screenshot(path=str(path), full_page=True, clip={
            "x": 0, "y": max(0, box["y"] + scrolled - 40), "width": page.viewport_size["width"], "height": min(box["height"] + 60, 1000),
        })
        out.append(path)
    return out


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_main_pages_fit_the_screen(
    live_server: Any, browser: Any, world: dict[str, Any], tmp_path: Path, width_name: str
) -> None:
    width, height = WIDTHS[width_name]
    out = Path(os.environ.get("ZHENGWU_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    shots: list[Path] = []
    for role, pages in _pages(world).items():
        context = browser.new_context(
            locale="zh-CN", viewport={"width": width, "height": height}, is_mobile=width < 500,
        )
        context.add_cookies([_session_cookie(live_server, world["users"][role])])
        page = context.new_page()
        page.set_default_timeout(15000)
        violations: list[str] = []
        page.on("console", lambda msg, v=violations: v.append(msg.text) if "Content Security Policy" in msg.text else None)
        try:
            for title, path in pages:
                response = page.goto(f"{live_server.url}{path}")
                where = f"{role} · {title}（{path}，{width} px）"
                if response is None or response.status != 200:
                    problems.append(f"{where}：状态 {response.status if response else '无响应'}")
                    continue
                found = page.evaluate(OVERFLOW_JS)
                if found["scrollWidth"] > width or found["wide"]:
                    problems.append(f"{where}：页面宽 {found['scrollWidth']} px；超出屏幕的元素 {found['wide']}")
                for chart in page.evaluate(CHART_JS):
                    if chart["font"] > chart["body"] + 0.01:
                        problems.append(f"{where}：图表文字 {chart['font']:.1f} px，大于正文 {chart['body']} px")
                    if chart["smallest"] < 10:
                        problems.append(f"{where}：图表文字只有 {chart['smallest']:.1f} px，看不清")
                    if chart["width"] > width:
                        problems.append(f"{where}：图表宽 {chart['width']} px")
                shot = out / f"{width_name}-{role}-{title}.png"
                page.screenshot(path=str(shot), full_page=True)
                shots.append(shot)
                shots.extend(_detail_shots(page, out / f"{width_name}-{role}-{title}"))
        finally:
            context.close()
        problems.extend(f"{role}：页面违反了内容安全策略（CSP）：{v}" for v in violations[:2])
    print("\n".join(["截图：", *map(str, shots)]))
    assert problems == [], "\n".join(problems)


def test_quarantine_long_address_is_clipped_and_opens_on_a_tap(
    live_server: Any, browser: Any, world: dict[str, Any]
) -> None:
    """On a phone the quarantine grid scrolls sideways inside its box with the row number fixed;
    the 200-character address shows one clipped line, a tap shows all of it."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    context.add_cookies([_session_cookie(live_server, world["users"]["数据管理员"])])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/datahub/batches/{world['batch'].pk}/")
        table = page.locator("#quarantine-table")
        assert table.locator("tbody tr").count() == 3
        cell = table.locator("tbody tr").first.locator("[data-expand]", has_text=LONG_ADDRESS)
        assert cell.count() == 1
        row_height = table.locator("tbody tr").first.bounding_box()["height"]
        assert row_height < 60, row_height  # one line, not a 200-character column
        assert cell.bounding_box()["width"] <= 16 * 15 + 1
        wrap = page.locator("#quarantine .table-wrap")
        assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")  # scrolls sideways in its box
        wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        first = table.locator("tbody tr").first.locator("td").first
        assert first.bounding_box()["x"] >= wrap.bounding_box()["x"] - 1  # 行号 stays in view
        cell.tap()
        assert cell.get_attribute("aria-expanded") == "true"
        assert cell.bounding_box()["height"] > 3 * 20  # the whole address, wrapped
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        cell.tap()
        assert cell.get_attribute("aria-expanded") == "false"
    finally:
        context.close()
