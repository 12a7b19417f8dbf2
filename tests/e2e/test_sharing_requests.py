"""人社局 requests 公安局's population resource through the pages — as the catalog says it is
无条件共享, but it asks for clear 公民身份号码, so the request goes to 公安局's 共享审核员 —
who approves it with narrowed items, a narrowed row scope and no clear values. Both units see
the same timeline. Screenshots at 1366 and 375 px in /tmp/shots/sharing/; no page is wider
than the screen; every page keeps the CSP (the page fixture fails on a violation)."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD
from tests.sharing.conftest import POPULATION_ITEMS, grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/sharing")
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _shots(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        assert page.evaluate(OVERFLOW_JS) <= 0, f"{name} 在 {width} px 下比屏幕宽"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_request_and_narrowed_approval(
    live_server: Any, browser: Any, page: Any, make_unit: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.catalog.conftest import BASE_ENTRY
    from zhengwu.catalog import search
    from zhengwu.catalog import services as catalog
    from zhengwu.sharing import services
    from zhengwu.sharing.models import ShareGrant, ShareRequest

    monkeypatch.setattr(services, "_today", lambda: date(2026, 12, 1))
    search._stats_cache.clear()
    search._facet_cache.clear()
    authority = make_unit("示范市大数据管理局", division_code="441400")
    police = make_unit("示范市公安局", division_code="441400", uscc="11441400007000000J")
    hrss = make_unit("示范市人力资源和社会保障局", division_code="441400")
    dsj = make_user("dsj_data", unit=authority, full_name="戴晓东")
    grant(dsj, "data_admin", authority)
    gaj = make_user("gaj_data", unit=police, full_name="高建国")
    grant(gaj, "data_admin", police)
    reviewer = make_user("gaj_share", unit=police, full_name="罗文静")
    grant(reviewer, "share_reviewer", police)
    requester = make_user("rsj_data", unit=hrss, full_name="孙立群")
    grant(requester, "data_admin", hrss)
    data = copy.deepcopy(BASE_ENTRY)
    data.update({"name": "人口基本信息", "items": copy.deepcopy(POPULATION_ITEMS)})  # 无条件共享, as the demo catalog
    entry = catalog.do_create_entry(gaj, data)
    catalog.do_submit_entry(gaj, entry)
    catalog.do_approve_entry(dsj, entry)
    base = live_server.url

    # 1. 人社局's 数据管理员 picks the resource and files the request.
    _login(page, base, "rsj_data")
    page.goto(f"{base}/sharing/")
    page.click("#new-request")
    page.fill("input[name=q]", "人口")
    page.click("form[role=search] button")
    page.click("#entries a:text('申请')")
    assert "申请共享：人口基本信息" in page.content()
    page.fill("#id_purpose", "办理社会保险参保登记、待遇资格认证时核验参保人身份，免交身份证复印件")
    page.fill("#id_legal_basis", "《中华人民共和国社会保险法》第五十七条")
    page.uncheck("input[name=items][value=household_address]")
    page.check("input[name=clear_items][value=id_no]")
    page.fill("#id_scope_division_code", "441402, 441403")
    page.fill("#id_valid_from", "2026-12-01")
    page.fill("#id_valid_until", "2027-11-30")
    _shots(page, "request-form")
    # Bad input first: a division outside 示范市 is refused, naming the field; nothing filed.
    page.fill("#id_scope_division_code", "110105")
    page.click("#request-form button[type=submit]")
    assert "不在申请单位" in page.locator("#err_scope").inner_text()
    assert ShareRequest.objects.count() == 0
    page.fill("#id_scope_division_code", "441402, 441403")
    page.check("input[name=clear_items][value=id_no]")
    page.uncheck("input[name=items][value=household_address]")
    page.click("#request-form button[type=submit]")
    page.wait_for_url("**/sharing/requests/*/")
    assert page.locator("#request-status").inner_text() == "待审核"
    assert "2026-12-15" in page.content()  # 10 working days, the day of filing not counted
    request_url = page.url
    _shots(page, "request-pending")

    # 2. 公安局's 共享审核员 sees it on the 工作台 and approves it, narrowed.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    rev = context.new_page()
    violations: list[str] = []
    rev.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        _login(rev, base, "gaj_share")
        assert "待我审核的共享申请" in rev.content()
        rev.goto(f"{base}/sharing/review/")
        _shots(rev, "review-queue")
        rev.click("#review-table a:text('人口基本信息')")
        assert rev.url == request_url
        _shots(rev, "request-review")
        rev.uncheck("#approve-form input[name=items][value=birth_date]")
        rev.uncheck("#approve-form input[name=items][value=gender]")
        rev.uncheck("#approve-form input[name=clear_items][value=id_no]")
        rev.fill("#approve-form #id_scope_division_code", "441402")
        rev.fill("#approve-form #id_comment", "出生日期、性别非办理所需；身份号码按目录脱敏")
        rev.click("#approve-form button[type=submit]")
        rev.wait_for_load_state()
        assert "已同意共享" in rev.content()
        assert rev.locator("#grant-status").inner_text() == "有效"
        assert "按目录脱敏" in rev.locator("#granted-clear").inner_text()
        _shots(rev, "request-approved")
    finally:
        context.close()
    assert violations == []

    g = ShareGrant.objects.get()
    assert g.items == ["id_no", "person_name", "division_code"]
    assert g.clear_items == [] and g.scope == {"division_code": ["441402"]} and g.granted_by_id == reviewer.pk

    # 3. 人社局 sees the same timeline and the grant.
    page.goto(request_url)
    timeline = page.locator("#timeline").inner_text()
    assert "提交申请" in timeline and "审核通过" in timeline and "示范市公安局" in timeline
    page.goto(f"{base}/sharing/grants/")
    assert "人口基本信息" in page.locator("#grants-received").inner_text()
    _shots(page, "grants")

    # 4. A need for data not yet in the catalog: refused without a description, then posted.
    page.goto(f"{base}/sharing/needs/")
    page.fill("#id_title", "流动人口就业意向")
    page.fill("#id_need_purpose", "开展就业帮扶和技能培训")
    page.click("#need-form button[type=submit]")
    assert "需求说明" in page.locator("#err_description").inner_text()
    page.fill("#id_description", "需要流动人口的居住街道和就业意向，按街道统计，每月更新")
    page.click("#need-form button[type=submit]")
    page.wait_for_url(f"{base}/sharing/needs/")
    assert "共享需求已提交" in page.content()
    _shots(page, "needs")
