"""Portal pages of open data: no login to browse; downloads stream the open items only."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from zhengwu.opendata import queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinics(open_dataset: Any, themes: None) -> Any:
    return open_dataset()


def page_url(entry: Any) -> str:
    return f"/portal/opendata/dataset/{queries.dataset_name(entry.resource_code)}/"


def test_home_search_and_dataset_page_for_anonymous(client: Any, clinics: Any) -> None:
    home = client.get("/portal/opendata/")
    assert home.status_code == 200
    text = home.content.decode()
    assert "医疗机构执业登记信息" in text and "医疗卫生" in text and "市卫生健康局" in text
    found = client.get("/portal/opendata/search/", {"q": "医疗", "groups": "health"})
    assert found.status_code == 200 and 'data-total="1"' in found.content.decode()
    none = client.get("/portal/opendata/search/", {"groups": "transport"})
    assert 'data-total="0"' in none.content.decode()
    page = client.get(page_url(clinics))
    body = page.content.decode()
    assert page.status_code == 200
    assert "PDY000001" in body  # preview
    assert "负责人电话" not in body and "13907530001" not in body  # the closed item never shows
    assert "datastore_search?resource_id=" in body
    assert 'data-score="' in body
    assert client.get("/portal/opendata/dataset/nothing/").status_code == 404


def test_downloads_csv_xlsx_json(client: Any, clinics: Any) -> None:
    from openpyxl import load_workbook

    csv = client.get(page_url(clinics) + "download.csv")
    content = b"".join(csv.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0] == "机构代码,机构名称,机构类别,床位数,行政区划代码,登记日期"
    assert len(lines) == 21 and "1390753" not in content.decode()
    xlsx = client.get(page_url(clinics) + "download.xlsx")
    assert xlsx.streaming and xlsx["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    chunks = list(xlsx.streaming_content)
    assert chunks[0].startswith(b"PK\x03\x04") and len(chunks) >= 2  # the package parts leave before the rows
    book = load_workbook(io.BytesIO(b"".join(chunks)))
    rows = list(book.active.values)
    assert rows[0] == ("机构代码", "机构名称", "机构类别", "床位数", "行政区划代码", "登记日期") and len(rows) == 21
    assert rows[1][:4] == ("PDY000001", "梅州市第1医疗机构", "中医医院", 7) and rows[1][5].date().isoformat() == "2011-02-11"
    data = json.loads(b"".join(client.get(page_url(clinics) + "download.json").streaming_content))
    assert len(data) == 20 and set(data[0]) == {"org_code", "org_name", "category", "beds", "division_code", "reg_date"}
    assert client.get(page_url(clinics) + "download.exe").status_code == 404
    assert queries.use_totals()[clinics.resource_code]["downloads"] == 3


def test_conditional_dataset_shows_metadata_but_no_rows(client: Any, open_dataset: Any, themes: None) -> None:
    entry = open_dataset(name="公共信用信息", open_type="有条件开放", category="1", class_item="04")
    page = client.get(page_url(entry))
    body = page.content.decode()
    assert page.status_code == 200 and "申请使用" in body and "PDY000001" not in body
    refused = client.get(page_url(entry) + "download.csv")
    assert refused.status_code == 403 and "有条件开放" in refused.content.decode()


def test_portal_registrations(client: Any, clinics: Any) -> None:
    from zhengwu.portal import sections

    assert "opendata" in [n.key for n in sections.nav_items()]
    assert "opendata" in [q.key for q in sections.quick_entries()]
    results = sections.search("医疗机构", None)
    group = next(g for g in results if g.key == "opendata")
    assert group.results and group.results[0].url == page_url(clinics)
    assert sections.get_section("person.opendata") is not None
    assert "开放数据" in client.get("/portal/").content.decode()

