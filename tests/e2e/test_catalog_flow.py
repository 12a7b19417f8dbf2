"""Compile a catalog entry through the pages, submit it, approve it as the data authority's
reviewer, and find it by Chinese full-text search — in headless Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import STRONG_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _grant(user: Any, code: str, unit: Any) -> None:
    from zhengwu.directory.models import BusinessRole, RoleGrant

    role, _ = BusinessRole.objects.get_or_create(code=code, defaults={"name": code, "app_label": "catalog"})
    RoleGrant.objects.get_or_create(user=user, role=role, unit=unit)


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_compile_submit_approve_search(live_server: Any, browser: Any, page: Any, make_unit: Any, make_user: Any) -> None:
    from zhengwu.catalog import search

    search._stats_cache.clear()
    search._facet_cache.clear()
    authority = make_unit("大数据管理局")
    provider = make_unit("市市场监督管理局")
    compiler = make_user("scj_data", unit=provider, full_name="市场监管数据员")
    _grant(compiler, "data_admin", provider)
    reviewer = make_user("dsj_shen", unit=authority, full_name="目录审核员")
    _grant(reviewer, "catalog_reviewer", authority)
    base = live_server.url

    # 1. The provider's 数据管理员 compiles an entry with its information items.
    _login(page, base, "scj_data")
    page.goto(f"{base}/catalog/entries/new/")
    page.select_option("select[name=klass]", "1-02")
    page.fill("input[name=name]", "市场主体登记信息")
    page.fill("textarea[name=abstract]", "企业和个体工商户设立、变更、注销登记的基本信息，用于政务服务核验")
    page.select_option("select[name=resource_format]", "数据库")
    page.select_option("select[name=share_type]", "无条件共享")
    page.select_option("select[name=share_method]", "共享平台")
    page.select_option("select[name=open_type]", "无条件开放")
    page.select_option("select[name=update_cycle]", "每日")
    page.fill("input[name=items-0-name]", "统一社会信用代码")
    page.fill("input[name=items-0-field_name]", "uscc")
    page.select_option("select[name=items-0-data_type]", "字符")
    page.fill("input[name=items-0-length]", "18")
    page.check("input[name=items-0-is_key]")
    page.fill("input[name=items-1-name]", "企业名称")
    page.fill("input[name=items-1-field_name]", "ent_name")
    page.select_option("select[name=items-1-data_type]", "字符")
    page.fill("input[name=items-1-length]", "200")
    page.click("#save-entry")
    page.wait_for_url("**/catalog/entries/*/")
    assert "已保存草稿" in page.content()
    detail_url = page.url

    # 2. Submit for review.
    page.click("#submit-entry")
    page.wait_for_load_state()
    assert page.locator("#entry-status").inner_text() == "待审核"

    # 3. The data authority's reviewer approves it.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    review = context.new_page()
    try:
        _login(review, base, "dsj_shen")
        review.goto(f"{base}/catalog/review/")
        review.click("text=市场主体登记信息")
        assert review.url == detail_url
        review.fill("input[name=comment]", "同意发布")
        review.click("#approve-entry")
        review.wait_for_url(f"{base}/catalog/review/")
        assert "已审核通过并发布" in review.content()

        # 4. Anyone finds it by Chinese full-text search, with facets.
        review.goto(f"{base}/catalog/?q=市场主体+登记")
        assert review.locator("#result-count").inner_text() == "1"
        assert review.locator(".hit h3 a").inner_text() == "市场主体登记信息"
        assert "市市场监督管理局" in review.locator(".facets").inner_text()
        review.goto(f"{base}/catalog/?q=信用代码")
        assert "市场主体登记信息" in review.locator(".hit").first.inner_text()
    finally:
        context.close()
