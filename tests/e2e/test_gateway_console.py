"""The gateway's console pages in a real browser, as the demo city's roles that use them, at 1366 px
and 375 px: 人社局's 数据管理员 rsj_data (its system's calls, statistics with the chart), 公安局's
共享审核员 gaj_share (calls on its data, grant limits), the data authority dsj_data (all
statistics) and the 审计管理员 sjadmin (数据使用记录). The demo city is loaded by its own loaders;
人社局's 社保业务系统 reads through the gateway with the demo's client credentials. Screenshots in
/tmp/shots/gateway/ (or ZHENGWU_SCREENSHOT_DIR); no page is wider than the screen; every page keeps
the CSP (the page fixture fails on a violation)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("ZHENGWU_SCREENSHOT_DIR") or "/tmp/shots/gateway")
ROLE_MIGRATIONS = [
    ("zhengwu.directory.migrations.0002_base_business_roles", "directory"),
    ("zhengwu.catalog.migrations.0002_catalog_reviewer_role", "catalog"),
    ("zhengwu.sharing.migrations.0002_share_reviewer_role", "sharing"),
    ("zhengwu.identity.oidc.migrations.0002_app_admin_role", "oidc"),
    ("zhengwu.opendata.migrations.0002_themes_and_reviewer_role", "opendata"),
    ("zhengwu.portal.migrations.0002_portal_editor_role", "portal"),
    ("zhengwu.identity.public.migrations.0002_in_person_verifier_role", "public_accounts"),
]
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def sharing_demo(tmp_path: Path, settings: Any, client: Any) -> dict[str, Any]:
    """The demo city with 人社局's granted population resource (a small lake), and four gateway calls by
    人社局's 社保业务系统: two look-ups that find a person, one that finds nobody (404), one refused
    item (400)."""
    import importlib

    from tests.sharing.gateway.conftest import fetch_token
    from zhengwu.datahub import lake
    from zhengwu.directory.models import BusinessRole, User
    from zhengwu.identity.oidc.models import ClientRegistration
    from zhengwu.sharing.gateway import auth, enforcement
    from zhengwu.sharing.models import ShareGrant

    auth.clear_caches()
    enforcement.clear_caches()
    # A transactional test flushes the tables, data migrations' rows too: put the business roles back.
    for module, app_label in ROLE_MIGRATIONS:
        found = importlib.import_module(module)
        for role_code, name, description in getattr(found, "BASE_ROLES", None) or found.ROLES:
            BusinessRole.objects.get_or_create(
                code=role_code, defaults={"name": name, "app_label": app_label, "description": description}
            )
    settings.DATA_DIR = tmp_path
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    settings.EXCHANGE_MAX_ATTEMPTS = 2
    call_command("load_demo_city")
    call_command("load_demo_catalog")
    call_command(
        "load_demo_data", "--people", "200", "--companies", "20", "--licences", "20", "--addresses", "20"
    )
    call_command("load_demo_sharing")
    User.objects.update(must_change_password=False)
    grant = ShareGrant.objects.select_related("entry", "consumer", "provider").get()
    code = grant.entry.resource_code
    registration = ClientRegistration.objects.get(name="社保业务系统")
    secret = json.loads((tmp_path / "gateway_demo_clients.json").read_text())["secret"]
    token = fetch_token(client, registration, secret)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    _, rows, _ = lake.read_rows(code, None, limit=2)
    number, other = str(rows[0]["id_no"]), str(rows[1]["id_no"])
    assert (
        client.get(
            f"/gateway/v1/resources/{code}/records/{number}", HTTP_X_ZHENGWU_PURPOSE="SB-DEMO-0001", **bearer
        ).status_code
        == 200
    )
    assert client.get(f"/gateway/v1/resources/{code}/records/{other}", **bearer).status_code == 200
    assert client.get(f"/gateway/v1/resources/{code}/records/441402199001019999", **bearer).status_code == 404
    assert (
        client.get(f"/gateway/v1/resources/{code}/records", {"fields": "no_such_item"}, **bearer).status_code
        == 400
    )
    return {"grant": grant, "code": code, "number": number, "token": token, "registration": registration}


def cookie_for(live_server: Any, username: str) -> dict[str, Any]:
    """A session for a demo account (administrators' TOTP step is tested in test_login.py)."""
    from django.conf import settings
    from django.test import Client

    from zhengwu.directory.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


def sign_in(page: Any, live_server: Any, username: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies([cookie_for(live_server, username)])


def shots(page: Any, name: str) -> None:
    """Screenshots at 1366 and 375 px; neither is wider than the screen."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        assert page.evaluate(OVERFLOW_JS) <= 0, f"{name} 在 {width} px 下比屏幕宽"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def open_page(page: Any, url: str) -> str:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response.status if response else None)
    return str(page.locator("main").inner_text())


def test_consumer_walks_overview_calls_and_statistics(
    live_server: Any, page: Any, sharing_demo: dict[str, Any]
) -> None:
    base, code = live_server.url, sharing_demo["code"]
    sign_in(page, live_server, "rsj_data")
    text = open_page(page, f"{base}/gateway/")
    assert "数据服务网关 · 示范市人力资源和社会保障局" in text or "数据服务网关 · " in text
    assert page.locator("#calls-24h").inner_text() == "4"
    assert page.locator("#calls-table tbody tr").count() == 4
    shots(page, "gateway-index-rsj")

    text = open_page(page, f"{base}/gateway/calls/")
    assert "本单位系统的调用记录" in text
    rows = page.locator("#calls-table tbody tr")
    assert rows.count() == 4
    table = page.locator("#calls-table").inner_text()
    assert table.count("社保业务系统") == 4 and table.count(code) == 4
    assert "SB-DEMO-0001" in table and "404" in table and "400" in table
    shots(page, "gateway-calls-rsj")

    # The statistics: the chart renders with its labelled bars and the per-resource table adds up.
    text = open_page(page, f"{base}/gateway/stats/")
    assert "本单位系统的调用统计" in text and "调用次数（每小时）" in text
    chart = page.locator("#calls-chart svg")
    assert chart.count() == 1
    assert chart.get_attribute("role") == "img" and "调用次数" in (chart.get_attribute("aria-label") or "")
    stats = page.locator("#stats-table tbody tr")
    assert stats.count() == 1
    assert stats.nth(0).locator("td").nth(1).inner_text() == "4"  # calls
    assert stats.nth(0).locator("td").nth(2).inner_text() == "2"  # refused or failed: the 404 and the 400
    shots(page, "gateway-stats-rsj")
    page.select_option("select[name=days]", "7")
    page.select_option("select[name=by]", "consumer")
    page.click("#stats-form button[type=submit]")
    page.wait_for_url("**/gateway/stats/?*days=7*")
    assert "调用次数（每天）" in page.locator("#calls-chart").inner_text()
    assert page.locator("#stats-table thead").inner_text().startswith("调用单位")
    shots(page, "gateway-stats-rsj-7d")


def test_provider_reviewer_and_authority(live_server: Any, page: Any, sharing_demo: dict[str, Any]) -> None:
    base = live_server.url
    sign_in(page, live_server, "gaj_share")
    text = open_page(page, f"{base}/gateway/calls/?scope=provided")
    assert "本单位数据被调用的记录" in text
    assert page.locator("#calls-table tbody tr").count() == 4
    shots(page, "gateway-provided-gaj")
    text = open_page(page, f"{base}/gateway/stats/?scope=provided")
    assert "本单位资源的调用统计" in text
    assert (
        page.locator("#stats-table tbody tr").nth(0).locator("td").nth(0).inner_text()
        == sharing_demo["grant"].consumer.name
    )
    shots(page, "gateway-stats-provided-gaj")
    text = open_page(page, f"{base}/gateway/grants/")
    assert "授权调用限制" in text and "人口基本信息" in text
    page.fill("#limits-table input[name=rate_per_minute]", "30")
    page.click("#limits-table button[type=submit]")
    page.wait_for_url(f"{base}/gateway/grants/")
    assert "已保存调用限制" in page.locator("main").inner_text()
    assert page.locator("#limits-table input[name=rate_per_minute]").input_value() == "30"
    shots(page, "gateway-limits-gaj")

    sign_in(page, live_server, "dsj_data")
    text = open_page(page, f"{base}/gateway/stats/?scope=all")
    assert "全部调用统计" in text
    assert page.locator("#calls-chart svg").count() == 1
    shots(page, "gateway-stats-all-dsj")


def test_unit_without_calls_sees_chinese_empty_states(
    live_server: Any, page: Any, sharing_demo: dict[str, Any]
) -> None:
    base = live_server.url
    sign_in(page, live_server, "scj_data")
    open_page(page, f"{base}/gateway/")
    assert page.locator("#calls-table tbody").inner_text().strip() == "没有调用记录。"
    text = open_page(page, f"{base}/gateway/stats/")
    assert "这段时间没有调用。" in page.locator("#calls-chart").inner_text()
    assert page.locator("#stats-table tbody").inner_text().strip() == "这段时间没有调用。"
    shots(page, "gateway-stats-empty-scj")
    text = open_page(page, f"{base}/gateway/keys/")
    assert "本单位还没有服务类应用系统。" in text and "还没有网关密钥。" in text
    shots(page, "gateway-keys-scj")
    # Registering a signing key: a bad source address is refused in Chinese, naming the field …
    page.fill("#new-key input[name=name]", "旧版登记系统")
    page.fill("#new-key textarea[name=allowed_sources]", "10.0.0.0/33")
    page.click("#new-key button[type=submit]")
    page.wait_for_load_state()
    error = page.locator("#new-key [role=alert]").inner_text()
    assert error.startswith("允许的来源地址：") and "不是有效的 IP 地址或 CIDR 网段" in error, error
    assert page.locator("#new-secret").count() == 0
    assert page.locator("#new-key input[name=name]").input_value() == "旧版登记系统"  # the form kept
    shots(page, "gateway-keys-error-scj")
    # … a good one creates the key, its secret shown this once.
    page.fill("#new-key textarea[name=allowed_sources]", "10.20.0.0/16")
    page.click("#new-key button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#new-secret").inner_text().startswith("新密钥（只显示这一次）")
    assert page.locator("#keys-table tbody tr").count() == 1
    assert "旧版登记系统" in page.locator("#keys-table").inner_text()
    shots(page, "gateway-keys-created-scj")


def test_audit_admin_lists_who_used_a_citizens_data(
    live_server: Any, page: Any, sharing_demo: dict[str, Any]
) -> None:
    from zhengwu.audit.models import AuditRecord

    base = live_server.url
    sign_in(page, live_server, "sjadmin")
    text = open_page(page, f"{base}/gateway/data-use/")
    assert "数据使用记录" in text and "公民身份号码或统一社会信用代码" in text
    shots(page, "gateway-data-use-empty-sjadmin")
    page.fill("input[name=identifier]", sharing_demo["number"])
    page.click("#data-use-form button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("#data-use-table tbody tr")
    assert rows.count() == 1
    row = rows.nth(0).inner_text()
    assert sharing_demo["grant"].consumer.name in row and "社保业务系统" in row and "SB-DEMO-0001" in row
    assert f"#{sharing_demo['grant'].pk}" in row
    assert AuditRecord.objects.filter(action="gateway.data_use.query").count() == 1
    shots(page, "gateway-data-use-sjadmin")
    # A well-formed number nobody read: the empty state, in Chinese.
    from tests.sharing.gateway.conftest import id_no

    page.fill("input[name=identifier]", id_no(999, "441481"))
    page.click("#data-use-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#data-use-table tbody").inner_text().strip() == "没有读取记录。"
    # A wrong check digit: a Chinese error naming the field, no table.
    page.fill(
        "input[name=identifier]",
        sharing_demo["number"][:17] + ("0" if sharing_demo["number"][17] != "0" else "1"),
    )
    page.click("#data-use-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#data-use-form [role=alert]").inner_text().startswith("证件号码：校验码错误")
    assert page.locator("#data-use-table").count() == 0
    shots(page, "gateway-data-use-error-sjadmin")
