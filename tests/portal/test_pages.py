"""Public pages of the portal for an anonymous visitor, a public account and staff."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

PUBLIC_PAGES = ["/portal/", "/portal/search/?q=注册", "/portal/notices/", "/portal/help/", "/portal/privacy/",
                "/portal/terms/", "/portal/contact/", "/portal/offline/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_render_for_anonymous(client: Client, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 200
    html = r.content.decode()
    assert '<html lang="zh-CN">' in html
    assert "示范市" in html and "政务服务门户" in html
    for text in ("帮助", "隐私政策", "用户协议", "联系我们"):
        assert text in html
    if url != "/portal/offline/":  # the offline shell has no account area (tested below)
        assert 'href="/portal/account/login/"' in html
    assert 'rel="manifest" href="/portal/manifest.webmanifest"' in html
    assert "<script>" not in html and " style=" not in html and "onclick" not in html


@pytest.mark.django_db
def test_public_account_sees_its_name_masked_and_centres(client: Client, public_user: Any) -> None:
    client.force_login(public_user)
    html = client.get("/portal/").content.decode()
    assert "王*" in html and "王小明" not in html  # the header is seen over a shoulder
    assert 'href="/portal/me/"' in html and 'href="/portal/enterprise/"' in html
    assert 'action="/portal/logout/"' in html


@pytest.mark.django_db
def test_me_lists_the_slots_with_what_will_come(client: Client, public_user: Any) -> None:
    client.force_login(public_user)
    r = client.get("/portal/me/")
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store, private"
    html = r.content.decode()
    for key, title, what in [
        ("person.cases", "我的办件", "一网通办上线后"),
        ("person.tickets", "我的诉求", "12345"),
        ("person.licences", "我的证照", "电子证照库接入后"),
        ("person.data_use", "我的数据使用记录", "实名认证后"),
    ]:
        assert f'data-section="{key}"' in html
        assert title in html and what in html


@pytest.mark.django_db
def test_enterprise_without_an_acting_enterprise_says_how(client: Client, public_user: Any) -> None:
    client.force_login(public_user)
    r = client.get("/portal/enterprise/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-state="no-enterprise"' in html
    assert "企业办件" in html and "企业数据使用记录" in html


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/portal/me/", "/portal/enterprise/"])
def test_centres_send_anonymous_to_the_public_login(client: Client, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 302
    assert r["Location"].startswith("/portal/account/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/portal/me/", "/portal/enterprise/"])
def test_centres_refuse_staff(client: Client, make_user: Any, url: str) -> None:
    client.force_login(make_user())
    r = client.get(url)
    assert r.status_code == 403
    assert "仅供公众用户使用" in r.content.decode()


@pytest.mark.django_db
def test_logout_ends_the_session_and_returns_to_the_portal(client: Client, public_user: Any) -> None:
    client.force_login(public_user)
    r = client.post("/portal/logout/")
    assert r.status_code == 302 and r["Location"] == "/portal/"
    assert client.get("/portal/me/").status_code == 302
    assert client.get("/portal/logout/").status_code == 405  # GET never signs out


@pytest.mark.django_db
def test_offline_page_holds_nothing_personal(client: Client, public_user: Any) -> None:
    client.force_login(public_user)
    html = client.get("/portal/offline/").content.decode()
    assert "王" not in html and "个人中心</a>" not in html and "csrfmiddlewaretoken" not in html
    assert "data-offline-page" in html


@pytest.mark.django_db
def test_site_root_sends_a_public_account_to_the_portal(client: Client, public_user: Any) -> None:
    client.force_login(public_user)
    r = client.get("/")
    assert r.status_code == 302 and r["Location"] == "/portal/"


@pytest.mark.django_db
def test_staff_on_the_portal_see_the_way_back_to_the_workbench(client: Client, make_user: Any) -> None:
    client.force_login(make_user(full_name="赵工作"))
    html = client.get("/portal/").content.decode()
    assert "赵**（工作人员）" in html and 'href="/">进入工作台' in html
    assert 'href="/portal/me/"' not in html.split('class="p-account"', 1)[1].split("</nav>", 1)[0]
