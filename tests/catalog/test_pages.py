from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from zhengwu.catalog import services
from zhengwu.catalog.models import CatalogEntry

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def form_post(data: dict[str, Any]) -> dict[str, Any]:
    post = {k: v for k, v in data.items() if k not in ("items", "category", "class_item")}
    post["klass"] = f"{data['category']}-{data['class_item']}"
    items = data["items"]
    post.update({"items-TOTAL_FORMS": str(len(items) + 1), "items-INITIAL_FORMS": "0"})
    for i, item in enumerate(items):
        for k, v in item.items():
            if isinstance(v, bool):
                if v:
                    post[f"items-{i}-{k}"] = "on"
            else:
                post[f"items-{i}-{k}"] = v
    return post


def test_compile_through_pages_then_review_and_search(
    data_admin: Any, reviewer: Any, other_unit_user: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    page = login(data_admin)
    assert page.get("/catalog/entries/new/").status_code == 200
    bad = page.post("/catalog/entries/new/", form_post(entry_data(share_type="有条件共享")))
    assert bad.status_code == 200 and "共享依据" in bad.content.decode()
    ok = page.post("/catalog/entries/new/", form_post(entry_data()))
    entry = CatalogEntry.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/catalog/entries/{entry.pk}/"
    assert entry.items.count() == 4
    detail = page.get(f"/catalog/entries/{entry.pk}/").content.decode()
    assert "提交审核" in detail and "公民身份号码" in detail
    page.post(f"/catalog/entries/{entry.pk}/submit/")
    review = login(reviewer)
    assert entry.name in review.get("/catalog/review/").content.decode()
    assert review.post(f"/catalog/entries/{entry.pk}/approve/", {"comment": "同意"}).status_code == 302
    other = login(other_unit_user)
    found = other.get("/catalog/", {"q": "常住人口"}).content.decode()
    assert entry.name in found and "市公安局" in found
    assert other.get("/catalog/", {"q": "常住人口", "share_type": "不予共享"}).content.decode().count(entry.name) == 0
    assert other.get(f"/catalog/entries/{entry.pk}/versions/1/").status_code == 200
    stats = other.get("/catalog/stats/").content.decode()
    assert "<svg" in stats and "100.0%" in stats
    assert other.get("/catalog/entries/new/").status_code == 200  # 民政局 compiles its own catalog
    assert other.get(f"/catalog/entries/{entry.pk}/edit/").status_code == 403


def test_home_shows_catalog_consoles(data_admin: Any) -> None:
    from zhengwu.core.consoles import entries_for

    keys = {e.key for e in entries_for(data_admin)}
    assert {"catalog.search", "catalog.mine", "catalog.stats"} <= keys
    assert "catalog.review" not in keys


def test_import_page_reports_problems(data_admin: Any, entry_data: Callable[..., dict[str, Any]]) -> None:
    import io
    import json

    page = login(data_admin)
    services.do_create_entry(data_admin, entry_data())
    payload = {"entries": [dict(entry_data(), resource_code="", share_type="不予共享")]}
    upload = io.BytesIO(json.dumps(payload, ensure_ascii=False).encode())
    upload.name = "catalog.json"
    response = page.post("/catalog/import/", {"file": upload})
    text = response.content.decode()
    assert "未导入任何内容" in text and "基础信息资源" in text


def test_browse_without_words_lists_live_entries_with_facets(published: Any, other_unit_user: Any) -> None:
    from zhengwu.catalog import search

    result = search.search("", {})
    assert result.total == 1 and result.entries[0].pk == published.pk
    assert result.facets["share_type"] == [("无条件共享", "无条件共享", 1)]
    assert search.search("", {"open_type": "无条件开放"}).total == 0
    text = login(other_unit_user).get("/catalog/").content.decode()
    assert published.name in text and "基础 · 人口" in text
    assert search.search("person_name").total == 1  # field names are searchable whole
