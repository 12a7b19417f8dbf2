"""The 工作台 and the global navigation, for every demo role: the menu shows exactly the entries
the user may open, to-do counts are scoped like the lists they open, and no link on any console
page leads to 无权访问."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.shell.conftest import client_for, entry_data

DEMO_USERS = ["xtadmin", "aqadmin", "sjadmin", "gaj_data", "scj_data", "dsj_data", "zwb_clerk", "zwb_review", "mjq_clerk"]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.nav: list[str] = []  # data-console keys inside the main menu
        self.current: list[str] = []
        self.todos: dict[str, int] = {}
        self._in_nav = 0
        self._todo: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "nav" and a.get("id") == "mainnav":
            self._in_nav = 1
        if tag == "a" and a.get("href"):
            self.hrefs.append(str(a["href"]))
            if self._in_nav and a.get("data-console"):
                self.nav.append(str(a["data-console"]))
                if a.get("aria-current"):
                    self.current.append(str(a["data-console"]))
        if tag == "li" and a.get("data-todo"):
            self._todo = str(a["data-todo"])
        if tag == "span" and self._todo and a.get("data-count") is not None:
            self.todos[self._todo] = int(str(a["data-count"]))
            self._todo = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self._in_nav:
            self._in_nav = 0


def parse(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def home(user: Any) -> Links:
    page = client_for(user).get("/")
    assert page.status_code == 200
    return parse(page.content.decode())


def test_menu_shows_exactly_what_each_role_may_open(city: dict[str, Any]) -> None:
    from zhengwu.core import consoles

    expected_in = {
        "xtadmin": {"directory.units", "directory.users"},
        "aqadmin": {"identity.locks", "identity.policy", "identity.egress"},
        "sjadmin": {"audit"},
        "gaj_data": {"catalog.mine", "datahub.mine", "catalog.search"},
        "dsj_data": {"catalog.review", "catalog.mine"},
        "zwb_review": {"catalog.search", "catalog.stats", "datahub.quality"},
    }
    expected_out = {
        "xtadmin": {"audit", "identity.locks", "catalog.review", "datahub.mine"},
        "aqadmin": {"audit", "directory.users"},
        "sjadmin": {"directory.users", "identity.locks", "catalog.mine"},
        "gaj_data": {"catalog.review", "audit", "directory.users"},
        "zwb_review": {"catalog.review", "catalog.mine", "datahub.mine"},  # 审核人 is not a catalog reviewer
        "zwb_clerk": {"catalog.review", "catalog.mine", "datahub.mine"},
    }
    for name in DEMO_USERS:
        user = city[name]
        links = home(user)
        allowed = {e.key for e in consoles.entries_for(user)}
        assert set(links.nav) == allowed, name
        assert expected_in.get(name, set()) <= allowed, name
        assert not (expected_out.get(name, set()) & allowed), name
        assert {"identity.account", "core.notifications"} <= allowed


def test_current_place_is_highlighted_with_breadcrumbs(city: dict[str, Any]) -> None:
    page = client_for(city["gaj_data"]).get("/catalog/mine/")
    html = page.content.decode()
    links = parse(html)
    assert links.current == ["catalog.mine"]
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', html, re.S)
    assert crumbs is not None
    text = re.sub(r"<[^>]+>|\s+", "", crumbs.group(0))
    assert text == "工作台数据本单位目录编制"
    assert 'aria-current="page">本单位目录编制' in crumbs.group(0)
    # Below an entry's page the entry is the current location, not the page.
    detail = client_for(city["sjadmin"]).get("/audit/verify/").content.decode()
    assert 'data-console="audit" aria-current="location"' in detail
    assert re.sub(r"<[^>]+>|\s+", "", re.search(r'<nav class="crumbs".*?</nav>', detail, re.S).group(0)) == (
        "工作台管理审计查询审计链核验"
    )


def _internal(href: str) -> str | None:
    href = urldefrag(href)[0]
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not href.startswith("/"):
        return None
    if href.startswith(("/static/", "/api/", "/logout")):
        return None
    return href


@pytest.mark.parametrize("username", DEMO_USERS)
def test_no_link_on_any_console_page_is_refused(city: dict[str, Any], gaj_entry: Any, username: str) -> None:
    """Walk the 工作台, every page its links open, and every link on those pages (two levels):
    none answers 403 or shows 无权访问 to the user who was shown the link."""
    client = client_for(city[username])
    seen: set[str] = set()
    frontier = ["/"]
    for _depth in range(3):
        following: list[str] = []
        for url in frontier:
            if url in seen or len(seen) >= 120:
                continue
            seen.add(url)
            response = client.get(url)
            assert response.status_code != 403, f"{username}: {url} → 403"
            assert response.status_code in (200, 302), f"{username}: {url} → {response.status_code}"
            if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
                continue
            html = response.content.decode()
            assert "无权访问" not in html, f"{username}: {url} shows 无权访问"
            assert '<nav class="crumbs" aria-label="当前位置">' in html, f"{username}: {url} has no breadcrumbs"
            for href in parse(html).hrefs:
                target = _internal(href)
                if target and target not in seen:
                    following.append(target)
        frontier = following
    assert len(seen) > 5
    menu = {e.url for e in __import__("zhengwu.core.consoles", fromlist=["x"]).entries_for(city[username])}
    assert menu <= seen, f"{username}: menu entries not walked: {menu - seen}"


def _todos(user: Any) -> dict[str, int]:
    return home(user).todos


def test_catalog_todos_are_scoped_like_their_lists(city: dict[str, Any], gaj_entry: Any) -> None:
    from zhengwu.catalog import services

    gaj, scj, dsj, clerk = city["gaj_data"], city["scj_data"], city["dsj_data"], city["zwb_clerk"]
    assert _todos(dsj)["catalog.review"] == 0
    draft = services.do_create_entry(gaj, entry_data("机动车驾驶证信息"))
    services.do_submit_entry(gaj, draft)
    assert _todos(dsj)["catalog.review"] == 1
    review = client_for(dsj).get("/catalog/review/").content.decode()
    assert "机动车驾驶证信息" in review
    assert "catalog.review" not in _todos(gaj) and "catalog.review" not in _todos(scj)

    services.do_return_entry(dsj, draft, reason="数据项说明不完整，请补充")
    assert _todos(dsj)["catalog.review"] == 0
    assert _todos(gaj)["catalog.returned"] == 1 and _todos(scj)["catalog.returned"] == 0
    returned = client_for(gaj).get("/catalog/mine/?status=returned").content.decode()
    assert "机动车驾驶证信息" in returned and "人口基本信息" not in returned
    assert "机动车驾驶证信息" not in client_for(scj).get("/catalog/mine/?status=returned").content.decode()

    services.do_request_correction(clerk, gaj_entry, content="户籍地址字段长度应为 200 个字符")
    assert _todos(gaj)["catalog.corrections"] == 1
    assert _todos(scj)["catalog.corrections"] == 0
    assert "户籍地址字段长度" in client_for(gaj).get("/catalog/mine/").content.decode()
    assert "户籍地址字段长度" not in client_for(scj).get("/catalog/mine/").content.decode()
    assert "catalog.corrections" not in _todos(clerk)  # a clerk has no such to-do at all


def _upload(user: Any, code: str, path: Any, django_capture_on_commit_callbacks: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from zhengwu.datahub import services

    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.do_submit_upload(user, code, upload)
    batch.refresh_from_db()
    return batch


def test_datahub_todos_are_scoped_and_failures_notify_the_uploader(
    city: dict[str, Any], gaj_entry: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.datahub.conftest import people_csv, person, write_csv
    from zhengwu.core.models import Notification

    gaj, scj, dsj = city["gaj_data"], city["scj_data"], city["dsj_data"]
    code = gaj_entry.resource_code
    bad = write_csv(tmp_path / "错表头.csv", ["完全无关的列"], [["x"]])
    failed = _upload(gaj, code, bad, django_capture_on_commit_callbacks)
    assert failed.status == "failed"
    assert _todos(gaj)["datahub.failed"] == 1
    assert _todos(scj)["datahub.failed"] == 0
    assert _todos(dsj)["datahub.failed"] == 0  # the authority sees other units' batches, its to-dos are its own
    page = client_for(gaj).get("/datahub/?todo=failed").content.decode()
    assert f"批次 #{failed.pk}" in page
    other = client_for(scj).get("/datahub/?todo=failed").content.decode()
    assert f"批次 #{failed.pk}" not in other and "没有需要处理的批次" in other
    note = Notification.objects.get(recipient=gaj, kind="datahub.batch.failed")
    assert note.url == f"/datahub/batches/{failed.pk}/" and str(failed.pk) in note.title
    assert not Notification.objects.filter(kind="datahub.batch.failed").exclude(recipient=gaj).exists()

    rows = [person(1), person(2, id_no="123")]
    ok = _upload(gaj, code, people_csv(tmp_path / "一行不合格.csv", rows), django_capture_on_commit_callbacks)
    assert ok.status == "succeeded" and ok.rows_refused == 1
    todos = _todos(gaj)
    assert todos["datahub.quarantine"] == 1
    assert todos["datahub.failed"] == 0  # a later good batch of the resource made the failure good
    assert _todos(scj)["datahub.quarantine"] == 0
    assert f"批次 #{ok.pk}" in client_for(gaj).get("/datahub/?todo=quarantine").content.decode()


def test_overdue_resources_are_counted_for_the_provider_only(city: dict[str, Any], gaj_entry: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from zhengwu.catalog.models import CatalogEntry

    gaj, scj = city["gaj_data"], city["scj_data"]
    assert _todos(gaj)["datahub.overdue"] == 0
    CatalogEntry.objects.filter(pk=gaj_entry.pk).update(last_data_at=timezone.now() - timedelta(days=3))  # 每日
    assert _todos(gaj)["datahub.overdue"] == 1
    assert _todos(scj)["datahub.overdue"] == 0
    assert gaj_entry.name in client_for(gaj).get("/datahub/?todo=overdue").content.decode()
    assert gaj_entry.name not in client_for(scj).get("/datahub/?todo=overdue").content.decode()


def test_security_and_audit_admin_todos(city: dict[str, Any]) -> None:
    from django.utils import timezone

    from zhengwu.identity.models import LoginLock

    aq, sj = city["aqadmin"], city["sjadmin"]
    assert _todos(aq)["identity.locks"] == 0
    from django.test import Client

    from zhengwu.identity.queries import get_policy

    stranger = Client()
    for _ in range(get_policy().account_lock_threshold):
        stranger.post("/login/", {"username": "gaj_data", "password": "wrong-Password-1"})
    assert LoginLock.objects.filter(unlocked_at__isnull=True, locked_until__gt=timezone.now()).count() == 1
    assert _todos(aq)["identity.locks"] == 1
    assert "gaj_data" in client_for(aq).get("/security/").content.decode()
    assert "identity.locks" not in _todos(sj)

    assert _todos(sj)["audit.attention"] == 1  # never verified
    client = client_for(sj)
    assert "审计链尚未核验过" in client.get("/audit/verify/").content.decode()
    client.post("/audit/verify/")
    assert _todos(sj)["audit.attention"] == 0
