"""The installable app: manifest, service worker, icons; and the registries' contracts."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_manifest_is_valid_json_with_the_fields_an_install_needs(client: Client) -> None:
    r = client.get("/portal/manifest.webmanifest")
    assert r.status_code == 200 and r["Content-Type"] == "application/manifest+json"
    manifest = json.loads(r.content)
    assert manifest["name"] == "我的示范市"
    assert manifest["start_url"] == "/portal/" and manifest["scope"] == "/portal/"
    assert manifest["display"] == "standalone" and manifest["lang"] == "zh-CN"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_manifest_follows_the_city_setting(client: Client, settings: Any) -> None:
    settings.PORTAL_CITY_NAME = "连云港市"
    assert json.loads(client.get("/portal/manifest.webmanifest").content)["name"] == "我的连云港市"
    assert "连云港市" in client.get("/portal/").content.decode()


@pytest.mark.parametrize("size", [192, 512])
def test_icons_are_pngs_of_their_size(client: Client, size: int) -> None:
    from PIL import Image

    r = client.get(f"/portal/icons/icon-{size}.png")
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.format == "PNG" and image.size == (size, size)
    assert image.convert("RGB").getpixel((2, 2)) == (0xB3, 0x26, 0x1E)  # brand red edge (maskable safe zone)
    assert image.convert("RGB").getpixel((size // 2, int(size * 0.72))) == (255, 255, 255)  # the steps


def test_other_icon_sizes_are_not_found(client: Client) -> None:
    assert client.get("/portal/icons/icon-64.png").status_code == 404


def _sw_config(body: str) -> dict[str, Any]:
    match = re.search(r"const CONFIG = (\{.*?\});\n", body, re.S)
    assert match, body[:300]
    return json.loads(match.group(1))


def test_service_worker_is_javascript_with_scope_portal(client: Client) -> None:
    r = client.get("/portal/sw.js")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/javascript")
    assert r["Service-Worker-Allowed"] == "/portal/"
    assert r["Cache-Control"] == "no-cache"
    config = _sw_config(r.content.decode())
    assert re.fullmatch(r"portal-shell-[0-9a-f]{12}", config["cache"])
    assert config["scope"] == "/portal/" and config["offline"] == "/portal/offline/"
    assert set(config["shell"]) == {
        "/static/portal/portal.css", "/static/portal/portal.js", "/portal/icons/icon-192.png",
        "/portal/icons/icon-512.png", "/portal/offline/",
    }
    for personal in ("/portal/me/", "/portal/enterprise/", "/portal/account/"):
        assert personal in config["private"]
        assert not any(url.startswith(personal) for url in config["shell"])
    for url in config["shell"]:
        assert client.get(url).status_code == 200, url


def test_service_worker_never_stores_post_or_navigations(client: Client) -> None:
    """The worker's only cache writes are the precache in install: no cache.put anywhere, non-GET
    requests are not intercepted, navigations go to the network first."""
    body = client.get("/portal/sw.js").content.decode()
    assert ".put(" not in body
    assert 'if (request.method !== "GET") return;' in body
    assert "fetch(request).catch(" in body
    assert 'credentials: "omit"' in body


def test_cache_name_changes_when_the_shell_changes(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhengwu.portal import pwa

    pwa.shell_version.cache_clear()
    before = _sw_config(client.get("/portal/sw.js").content.decode())["cache"]
    real = pwa.draw_icon

    def changed(size: int) -> bytes:
        return real(size) + b"changed"

    monkeypatch.setattr(pwa, "draw_icon", changed)
    pwa.shell_version.cache_clear()
    try:
        after = _sw_config(client.get("/portal/sw.js").content.decode())["cache"]
    finally:
        monkeypatch.undo()
        pwa.shell_version.cache_clear()
    assert before != after


def test_personal_pages_are_never_stored(client: Client, public_user: Any) -> None:
    client.force_login(public_user)
    for url in ("/portal/me/", "/portal/enterprise/"):
        assert client.get(url)["Cache-Control"] == "no-store, private"


def test_section_registry_fills_a_slot_and_keeps_the_empty_text_otherwise(
    client: Client, public_user: Any, test_templates: None
) -> None:
    from zhengwu.portal import sections

    original = sections.get_section("person.cases")
    assert original is not None and original.is_slot

    def context(request: Any, holder: sections.Holder) -> dict[str, Any] | None:
        assert holder.user == public_user and holder.audience == sections.PERSON
        return {"names": ["<b>户籍迁移</b>"]}

    sections.register_section(
        "person.cases", "我的办件", sections.PERSON, empty_text="x", order=20,
        template="portal/tests/cases_block.html", context=context,
    )
    try:
        client.force_login(public_user)
        html = client.get("/portal/me/").content.decode()
    finally:
        sections._sections["person.cases"] = original
    assert "&lt;b&gt;户籍迁移&lt;/b&gt;" in html  # the provider's template, escaped
    assert "一网通办上线后" not in html
    assert "电子证照库接入后" in html  # the other slots keep their empty text


def test_a_provider_with_nothing_shows_the_empty_text(client: Client, public_user: Any, test_templates: None) -> None:
    from zhengwu.portal import sections

    original = sections.get_section("person.tickets")
    assert original is not None
    sections.register_section(
        "person.tickets", "我的诉求", sections.PERSON, empty_text="您还没有提出过诉求。", order=30,
        template="portal/tests/cases_block.html", context=lambda request, holder: None,
    )
    try:
        client.force_login(public_user)
        html = client.get("/portal/me/").content.decode()
    finally:
        sections._sections["person.tickets"] = original
    assert "您还没有提出过诉求。" in html


def test_section_needs_a_known_audience_and_both_template_and_context() -> None:
    from zhengwu.portal import sections

    with pytest.raises(ValueError):
        sections.Section("k", "t", "citizen", "e")
    with pytest.raises(ValueError):
        sections.Section("k", "t", sections.PERSON, "e", template="x.html")


def test_navigation_from_the_registry_marks_the_current_item(client: Client) -> None:
    from zhengwu.portal import sections

    registered = [item.title for item in sections.nav_items()]
    sections.register_nav("test-item", "测试栏目", "/portal/help/", order=31)
    try:
        html = client.get("/portal/help/").content.decode()
    finally:
        sections._nav.pop("test-item")
    nav = html.split('id="p-nav"', 1)[1].split("</nav>", 1)[0]
    titles = re.findall(r">([^<>]+)</a>", nav)
    assert "开放数据" in registered  # the opendata app registers its item at start-up
    assert titles[0] == "首页" and titles[-1] == "帮助中心" and "测试栏目" in titles
    assert sorted(titles[1:-1]) == sorted([*[t for t in registered if t not in ("首页", "帮助中心")], "测试栏目"])
    assert 'href="/portal/help/" aria-current="page">帮助中心' in nav
    assert 'href="/portal/" aria-current' not in nav


class _Enterprise:
    pk = -1

    def __str__(self) -> str:
        return "梅州市梅江区鸿达贸易有限公司"


def test_enterprise_centre_asks_the_registered_resolver(
    client: Client, public_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhengwu.portal import sections

    seen = []

    def resolver(request: Any) -> Any:
        seen.append(request.user)
        return _Enterprise()

    # Only the portal's own slots: the public-accounts sections read their own tables.
    monkeypatch.setattr(sections, "_sections", {})
    sections.register_slots()

    previous = list(sections._enterprise_resolver)
    sections.register_enterprise_resolver(resolver)
    try:
        client.force_login(public_user)
        html = client.get("/portal/enterprise/").content.decode()
    finally:
        sections._enterprise_resolver[:] = previous
    assert seen == [public_user]
    assert "当前办理企业：<strong>梅州市梅江区鸿达贸易有限公司</strong>" in html
    assert 'data-section="enterprise.cases"' in html and "以本企业名义申请的事项" in html
