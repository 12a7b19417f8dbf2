"""Personal data is shown clear only to the provider unit's data managers (issue 8, critical).

The review's attack: 大数据管理局's data manager opened 公安局's batch and read clear identity
numbers, names, phones and addresses in the quarantine. Here every place that shows rows — the
quarantine (page, API, CSV, XLSX), the batch report's samples, version rows (page preview and
API), the change feed — is opened by the data authority's data manager, another unit's data
manager and the administrators: none of them gets a raw value; the provider's data manager does.
A masked download cannot come back as a correction.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from zhengwu.catalog.queries import clear_items_for
from zhengwu.core.masking import FULL, PARTIAL, MaskedItem, display_method, mask_text, mask_value
from zhengwu.datahub.models import IngestBatch

from .conftest import valid_id, write_csv

pytestmark = pytest.mark.django_db

API = "/api/v1/datahub"

ITEMS: list[dict[str, Any]] = [
    {"name": "公民身份号码", "field_name": "id_no", "data_type": "字符", "length": 18, "is_key": True,
     "is_sensitive": True, "masking": "部分遮盖"},
    {"name": "姓名", "field_name": "person_name", "data_type": "字符", "length": 20, "is_sensitive": True,
     "masking": "部分遮盖", "required": True},
    {"name": "联系电话", "field_name": "phone", "data_type": "字符", "length": 11, "is_sensitive": True,
     "masking": "部分遮盖"},
    {"name": "现住址", "field_name": "address", "data_type": "字符", "length": 60, "is_sensitive": True,
     "masking": "全部遮盖"},
    {"name": "备注", "field_name": "note", "data_type": "字符", "length": 100},
]
LABELS = [i["name"] for i in ITEMS]
SENSITIVE = ["id_no", "person_name", "phone", "address"]


def row(seq: int, **overrides: str) -> dict[str, str]:
    values = {
        "id_no": valid_id(seq=seq),
        "person_name": f"欧阳{'明华建国秀英'[seq % 5]}{seq}",
        "phone": f"1391234{seq:04d}",
        "address": f"梅江区彬芳大道{seq}号{seq}栋",
        "note": f"备注{seq}",
    }
    values.update(overrides)
    return values


def rows_with_errors() -> list[dict[str, str]]:
    rows = [row(i) for i in range(1, 9)]
    good = rows[1]["id_no"]
    rows[1]["id_no"] = good[:-1] + ("0" if good[-1] != "0" else "1")  # check digit: "应为 …，实为 …"
    rows[3]["id_no"] = valid_id(birth="19900230", seq=4)  # "出生日期 19900230 不是有效日期"
    rows[5]["phone"] = "139123400060000"  # too long: 15 characters
    return rows


def people_file(path: Path, people: list[dict[str, str]]) -> Path:
    return write_csv(path, LABELS, [[p[i["field_name"]] for i in ITEMS] for p in people])


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def raw_values(people: list[dict[str, str]]) -> list[str]:
    return [p[f] for p in people for f in SENSITIVE]


def body(response: Any) -> str:
    """The response as text to search (JSON re-serialised without \\u escapes)."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode()


@pytest.fixture
def published(publish: Callable[..., Any], data_admin: Any) -> Any:
    return publish(data_admin, name="常住人口联系信息", items=ITEMS)


@pytest.fixture
def batch(tmp_path: Path, published: Any, data_admin: Any, django_capture_on_commit_callbacks: Any) -> IngestBatch:
    """公安局's data manager uploads 8 people, 3 refused (quarantined), 5 accepted (v0)."""
    api = client_for(data_admin)
    code = published.resource_code.replace("/", "%2F")
    with django_capture_on_commit_callbacks(execute=True), people_file(tmp_path / "人口.csv", rows_with_errors()).open("rb") as fh:
        response = api.post(f"{API}/resources/{code}/batches", {"file": fh, "mode": "full"})
    assert response.status_code == 202, response.content
    done = IngestBatch.objects.get(pk=response.json()["id"])
    assert (done.status, done.rows_refused, done.rows_accepted) == ("succeeded", 3, 5), done.error_message
    return done


def _row_urls(code: str) -> list[tuple[str, dict[str, Any]]]:
    quoted = code.replace("/", "%2F")
    return [
        (f"{API}/resources/{quoted}/versions/0/rows", {}),
        (f"{API}/resources/{quoted}/rows", {}),
        (f"{API}/resources/{quoted}/changes", {"from_version": 0}),
    ]


def _batch_urls(batch_id: int) -> list[str]:
    return [
        f"{API}/batches/{batch_id}",
        f"{API}/batches/{batch_id}/quarantine",
        f"{API}/batches/{batch_id}/quarantine.csv",
        f"/datahub/batches/{batch_id}/",
    ]


def test_the_decision_in_core() -> None:
    id_item = MaskedItem("id_no", True, PARTIAL)
    assert display_method(id_item, actor_may_see_clear=True) == ""
    assert display_method(id_item, actor_may_see_clear=False) == PARTIAL
    assert display_method(MaskedItem("note", False, "不脱敏"), actor_may_see_clear=False) == ""
    assert display_method(MaskedItem("x", True, "不脱敏"), actor_may_see_clear=False) == FULL  # never clear
    assert display_method(None, actor_may_see_clear=False) == FULL  # a column the catalog does not know
    assert mask_value("441402199001010015", PARTIAL) == "441***********0015"


def test_who_may_see_clear(
    published: Any, data_admin: Any, authority_admin: Any, other_unit_admin: Any, make_user: Callable[..., Any]
) -> None:
    every = {i["field_name"] for i in ITEMS}
    assert clear_items_for(data_admin, published) == every
    assert clear_items_for(authority_admin, published) == frozenset()
    assert clear_items_for(other_unit_admin, published) == frozenset()
    clerk = make_user("ga_clerk", unit=published.provider)  # the provider's staff, but not a data manager
    assert clear_items_for(clerk, published) == frozenset()
    for role in ("system_admin", "security_admin", "audit_admin"):
        assert clear_items_for(make_user(f"m_{role}", admin_role=role, unit=published.provider), published) == frozenset()
    # The plug for a later sharing grant: it names the fields it allows clear (unknown ones ignored).
    assert clear_items_for(authority_admin, published, granted_clear={"phone", "nope"}) == {"phone"}


def test_the_data_authority_sees_another_units_batch_masked_everywhere(
    batch: IngestBatch, published: Any, authority_admin: Any
) -> None:
    people = rows_with_errors()
    raw = raw_values(people)
    bureau = client_for(authority_admin)
    pages = {url: bureau.get(url) for url in _batch_urls(batch.pk)}
    pages.update({url: bureau.get(url, params) for url, params in _row_urls(published.resource_code)})
    pages[f"/datahub/resources/{published.resource_code}/?version=0"] = bureau.get(
        f"/datahub/resources/{published.resource_code}/", {"version": "0"}
    )
    xlsx = bureau.get(f"{API}/batches/{batch.pk}/quarantine.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True).active
    pages["quarantine.xlsx"] = "\n".join(str(c) for r in sheet.iter_rows(values_only=True) for c in r)
    for url, response in pages.items():
        text = response if isinstance(response, str) else body(response)
        if not isinstance(response, str):
            assert response.status_code == 200, (url, text[:300])
        leaked = [v for v in raw if v in text]
        assert not leaked, (url, leaked)
    # Reasons that quoted the identity number say only which rule failed.
    quarantine = bureau.get(f"{API}/batches/{batch.pk}/quarantine").json()
    assert quarantine["masked_fields"] == SENSITIVE
    reasons = {item["row"]: item["reasons"] for item in quarantine["items"]}
    assert set(reasons) == {2, 4, 6}
    assert reasons[2] == ["公民身份号码(id_no)：不是有效的公民身份号码"]
    assert reasons[4] == ["公民身份号码(id_no)：不是有效的公民身份号码"]
    assert reasons[6] == ["联系电话(phone)：长度不能超过 11 个字符"]
    values = {item["row"]: item["values"] for item in quarantine["items"]}
    assert values[6]["phone"] == mask_text("139123400060000")
    assert values[6]["address"] == "******" and values[6]["note"] == "备注6"  # 全部遮盖; not sensitive
    samples = bureau.get(f"{API}/batches/{batch.pk}").json()["report"]["samples"]
    assert samples and all("19900230" not in s["message"] for items in samples.values() for s in items)
    rows = bureau.get(f"{API}/resources/{published.resource_code.replace('/', '%2F')}/versions/0/rows").json()
    assert rows["masked_fields"] == SENSITIVE
    assert {r["id_no"] for r in rows["items"]} == {mask_text(people[i]["id_no"]) for i in (0, 2, 4, 6, 7)}
    page = body(pages[f"/datahub/batches/{batch.pk}/"])
    assert 'id="quarantine-masked"' in page and 'id="correction-form"' not in page


def test_the_provider_sees_clear_and_others_see_nothing_raw(
    batch: IngestBatch, published: Any, data_admin: Any, other_unit_admin: Any, make_user: Callable[..., Any]
) -> None:
    raw = raw_values(rows_with_errors())
    provider = client_for(data_admin)
    quarantine = provider.get(f"{API}/batches/{batch.pk}/quarantine").json()
    assert quarantine["masked_fields"] == []
    reasons = {item["row"]: item["reasons"] for item in quarantine["items"]}
    assert any("实为" in r for r in reasons[2]) and any("19900230" in r for r in reasons[4])
    seen = "".join(body(provider.get(url)) for url in _batch_urls(batch.pk))
    seen += "".join(body(provider.get(url, params)) for url, params in _row_urls(published.resource_code))
    accepted = [p for i, p in enumerate(rows_with_errors()) if i not in (1, 3, 5)]
    for value in raw:
        assert value in seen, value  # refused rows in the quarantine, accepted ones in the versions
    assert accepted[0]["id_no"] in body(provider.get(f"/datahub/resources/{published.resource_code}/", {"version": "0"}))

    others = [client_for(other_unit_admin)]
    others += [client_for(make_user(f"x_{r}", admin_role=r)) for r in ("system_admin", "security_admin", "audit_admin")]
    for client in others:
        for url in [*_batch_urls(batch.pk), f"{API}/batches/{batch.pk}/quarantine.xlsx"]:
            response = client.get(url)
            assert response.status_code in (302, 403, 404), (url, response.status_code)
            assert not [v for v in raw if v in body(response)]
        for url, params in _row_urls(published.resource_code):
            response = client.get(url, params)
            assert response.status_code in (403, 404) and not [v for v in raw if v in body(response)]


def test_a_masked_download_cannot_come_back_as_a_correction(
    batch: IngestBatch, authority_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    bureau = client_for(authority_admin)
    masked = b"".join(bureau.get(f"{API}/batches/{batch.pk}/quarantine.csv").streaming_content)
    upload = io.BytesIO(masked)
    upload.name = "隔离数据.csv"
    with django_capture_on_commit_callbacks(execute=True):
        refused = bureau.post(f"{API}/batches/{batch.pk}/corrections", {"file": upload})
    assert refused.status_code == 403
    assert "补正重报只能由市公安局的数据管理员办理" in refused.json()["detail"]
    upload.seek(0)
    with django_capture_on_commit_callbacks(execute=True):
        page = bureau.post(f"/datahub/batches/{batch.pk}/", {"file": upload})
    assert page.status_code == 403 and "补正重报只能由市公安局的数据管理员办理" in page.content.decode()
    assert IngestBatch.objects.count() == 1


# --- formulas in downloads ---------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", "\t=1+1"]
# What the quarantine holds: readers strip the whitespace around every value, so the tab is gone
# before the export sees it (the export itself keeps a tab: tests/core/test_exports.py).
STORED = [f.strip() for f in FORMULAS]


@pytest.fixture
def formula_batch(tmp_path: Path, published: Any, data_admin: Any, django_capture_on_commit_callbacks: Any) -> IngestBatch:
    """Six rows refused for their identity number, each with a formula in 备注, and one good row."""
    people = []
    for i, formula in enumerate(FORMULAS, start=1):
        good = valid_id(seq=i)
        people.append(row(i, id_no=good[:-1] + ("0" if good[-1] != "0" else "1"), note=formula))
    people.append(row(7))  # one good row: the resource has data (v0) before the correction
    api = client_for(data_admin)
    code = published.resource_code.replace("/", "%2F")
    with django_capture_on_commit_callbacks(execute=True), people_file(tmp_path / "f.csv", people).open("rb") as fh:
        response = api.post(f"{API}/resources/{code}/batches", {"file": fh, "mode": "full"})
    done = IngestBatch.objects.get(pk=response.json()["id"])
    assert (done.status, done.rows_refused) == ("succeeded", 6), done.error_message
    return done


def test_quarantine_csv_neutralises_formulas_and_corrections_restore_them(
    formula_batch: IngestBatch, published: Any, data_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = client_for(data_admin)
    raw = b"".join(api.get(f"{API}/batches/{formula_batch.pk}/quarantine.csv").streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert table[0] == ["行号", "错误原因", *LABELS]
    assert [r[-1] for r in table[1:]] == ["'" + s for s in STORED]
    # The provider corrects the identity numbers in the downloaded file and uploads it back: the
    # apostrophes the export added are gone again, the formulas' text is kept as data.
    fixed = [table[0]] + [[*r[:2], valid_id(seq=int(r[0])), *r[3:]] for r in table[1:]]
    out = io.StringIO(newline="")
    csv.writer(out).writerows(fixed)
    upload = io.BytesIO(out.getvalue().encode("utf-8-sig"))
    upload.name = "补正.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{API}/batches/{formula_batch.pk}/corrections", {"file": upload})
    assert response.status_code == 202, response.content
    correction = api.get(response.json()["progress_url"]).json()
    assert (correction["status"], correction["rows_accepted"]) == ("succeeded", 6), correction["error_message"]
    rows = api.get(f"{API}/resources/{published.resource_code.replace('/', '%2F')}/rows").json()["items"]
    assert sorted(r["note"] for r in rows) == sorted([*STORED, "备注7"])


def test_quarantine_xlsx_stores_formulas_as_text(formula_batch: IngestBatch, data_admin: Any) -> None:
    response = client_for(data_admin).get(f"{API}/batches/{formula_batch.pk}/quarantine.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == [1, 2, 3, 4, 5, 6]  # 行号: numbers, as numbers
    notes = [r[-1] for r in rows]
    assert all(c.data_type == "s" for c in notes)
    assert [c.value for c in notes] == ["'" + s for s in STORED]
