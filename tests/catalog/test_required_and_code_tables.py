"""必填 and 代码表/值域 through services, versions, pages, the API and Excel/JSON exchange."""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from openpyxl import load_workbook

from zhengwu.catalog import excel, queries, services
from zhengwu.catalog.models import CatalogEntry, CatalogEntryVersion, CatalogItem
from zhengwu.core.errors import Conflict

pytestmark = pytest.mark.django_db

EXTRA_ITEMS: list[dict[str, Any]] = [
    {"name": "性别", "field_name": "gender", "data_type": "字符", "length": 1, "required": True,
     "code_table": "GB/T 2261.1"},
    {"name": "行政区划代码", "field_name": "division_code", "data_type": "字符", "length": 6, "code_table": "GB/T 2260"},
    {"name": "婚姻状况", "field_name": "marital_status", "data_type": "字符", "length": 2,
     "code_table": "10=未婚;20=已婚;30=丧偶;40=离婚"},
]


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def rich(entry_data: Callable[..., dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    data = entry_data(**overrides)
    data["items"] = data["items"] + [dict(i) for i in EXTRA_ITEMS]
    return data


def flags(entry: CatalogEntry) -> dict[str, bool]:
    return dict(entry.items.values_list("field_name", "required"))


def test_required_is_stored_snapshotted_and_key_forced(
    data_admin: Any, reviewer: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    data = rich(entry_data)
    data["items"][0]["required"] = False  # the key
    entry = services.do_create_entry(data_admin, data)
    assert flags(entry) == {
        "id_no": True, "person_name": False, "household_address": False, "birth_date": False,
        "gender": True, "division_code": False, "marital_status": False,
    }
    services.do_submit_entry(data_admin, entry)
    version = services.do_approve_entry(reviewer, entry)
    items = {i["field_name"]: i for i in version.snapshot["items"]}
    assert items["gender"]["required"] is True and items["gender"]["code_table"] == "GB/T 2261.1"
    assert items["person_name"]["required"] is False


def test_code_table_problems_refuse_the_save_and_change_nothing(
    data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    data = rich(entry_data)
    data["items"][4]["code_table"] = "[0,1]"          # gender: range on a 字符 item
    data["items"][5]["data_type"] = "数字"            # division code as a number
    data["items"][6]["code_table"] = "10=未婚;10=已婚"  # duplicate code
    with pytest.raises(services.EntryInvalid) as info:
        services.do_create_entry(data_admin, data)
    found = dict(info.value.problems)
    assert set(found) == {"items[4].code_table", "items[5].code_table", "items[6].code_table"}
    assert "只适用于数字、日期或日期时间" in found["items[4].code_table"]
    assert "只适用于字符类型" in found["items[5].code_table"]
    assert "重复" in found["items[6].code_table"]
    assert not CatalogEntry.objects.exists()


def _strip_required(version: CatalogEntryVersion) -> None:
    """Make the stored snapshot look like one published before 必填 existed."""
    snap = version.snapshot
    for item in snap["items"]:
        item.pop("required")
    CatalogEntryVersion.objects.filter(pk=version.pk).update(snapshot=snap)


def test_versions_published_before_required_existed_still_read(
    data_admin: Any, reviewer: Any, other_unit_user: Any, published: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    v1 = CatalogEntryVersion.objects.get(entry=published, version=1)
    _strip_required(v1)
    v1.refresh_from_db()
    assert all("required" not in i for i in v1.snapshot["items"])

    # Nothing changed: the key was required all along (missing = False, but a key is required).
    services.do_update_entry(data_admin, published, entry_data())
    published.refresh_from_db()
    diff = queries.pending_diff(published)
    assert diff is not None and diff["empty"], diff
    with pytest.raises(Conflict, match="没有任何变更"):
        services.do_submit_entry(data_admin, published)

    # Making a non-key item required is a change, shown against the old version.
    changed = entry_data()
    changed["items"][1]["required"] = True
    services.do_update_entry(data_admin, published, changed)
    published.refresh_from_db()
    diff = queries.pending_diff(published)
    assert diff is not None
    assert diff["items_changed"] == [
        {"field_name": "person_name", "name": "姓名",
         "changes": [{"field": "required", "label": "必填", "old": False, "new": True}]},
    ]
    page = login(data_admin).get(f"/catalog/entries/{published.pk}/").content.decode()
    assert "信息项 person_name · 必填" in page
    services.do_submit_entry(data_admin, published)
    v2 = services.do_approve_entry(reviewer, published)
    assert services.diff_snapshots(v1.snapshot, v2.snapshot)["items_changed"][0]["field_name"] == "person_name"

    # The old version's page renders; its key shows as required, other items as not.
    old_page = login(other_unit_user).get(f"/catalog/entries/{published.pk}/versions/1/")
    assert old_page.status_code == 200
    text = old_page.content.decode()
    assert text.count('<span class="badge">必填</span>') == 1
    new_page = login(other_unit_user).get(f"/catalog/entries/{published.pk}/versions/2/").content.decode()
    assert new_page.count('<span class="badge">必填</span>') == 2
    assert "信息项 person_name · 必填" in new_page and "<td data-label=\"新值\" class=\"diff-new\">是</td>" in new_page

    # An old JSON export (no 必填) still imports: keys required, the rest not.
    old_record = dict(v1.snapshot, resource_code="", name="流动人口信息")
    report = services.do_import_entries(data_admin, [services.ImportRecord("第 1 条", old_record)])
    assert report.imported, report.problems
    created = CatalogEntry.objects.get(resource_code=report.created[0])
    assert flags(created) == {"id_no": True, "person_name": False, "household_address": False, "birth_date": False}


def test_migration_marks_existing_key_items_required(published: Any) -> None:
    CatalogItem.objects.update(required=False)
    migration = importlib.import_module("zhengwu.catalog.migrations.0004_item_required")
    migration.key_items_are_required(apps, None)
    assert flags(published) == {"id_no": True, "person_name": False, "household_address": False, "birth_date": False}


def test_entry_page_shows_required_and_what_a_code_table_means(
    data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    entry = services.do_create_entry(data_admin, rich(entry_data))
    text = login(data_admin).get(f"/catalog/entries/{entry.pk}/").content.decode()
    assert "<th>必填</th>" in text
    assert "<code>GB/T 2261.1</code>" in text and "GB/T 2261.1 人的性别代码（0、1、2、9）" in text
    assert 'title="0 未知的性别；1 男性；2 女性；9 未说明的性别"' in text
    assert "GB/T 2260 行政区划代码" in text
    assert "<code>10=未婚;20=已婚;30=丧偶;40=离婚</code>" in text and "代码表（10、20、30、40）" in text
    assert text.count('<span class="badge">必填</span>') == 2  # the key and gender


def test_entry_form_page_saves_required_and_reports_code_table_problems(
    data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    from .test_pages import form_post

    page = login(data_admin)
    form = page.get("/catalog/entries/new/").content.decode()
    assert "<th>必填</th>" in form and 'name="items-0-required"' in form
    bad = rich(entry_data)
    bad["items"][4]["code_table"] = "GB/T 9999"
    response = page.post("/catalog/entries/new/", form_post(bad))
    assert response.status_code == 200
    assert "第 5 个信息项：不认识的代码表“GB/T 9999”" in response.content.decode()
    assert not CatalogEntry.objects.exists()
    good = rich(entry_data)
    good["items"][3]["required"] = True
    assert page.post("/catalog/entries/new/", form_post(good)).status_code == 302
    entry = CatalogEntry.objects.get()
    assert flags(entry)["birth_date"] and flags(entry)["gender"] and not flags(entry)["person_name"]
    assert entry.items.get(field_name="gender").code_table == "GB/T 2261.1"
    edit = page.get(f"/catalog/entries/{entry.pk}/edit/").content.decode()
    assert 'name="items-3-required" id="id_items-3-required" checked' in edit


def test_api_carries_required_and_reports_code_table_errors(
    data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    api = login(data_admin)
    bad = rich(entry_data)
    bad["items"][5]["length"] = 4
    refused = api.post("/api/v1/catalog/entries", bad, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "items[5].code_table", "message": "第 6 个信息项：GB/T 2260 行政区划代码是 6 位代码，信息项长度至少为 6，当前为 4"},
    ]
    created = api.post("/api/v1/catalog/entries", rich(entry_data), content_type="application/json")
    assert created.status_code == 201
    items = {i["field_name"]: i for i in created.json()["content"]["items"]}
    assert items["id_no"]["required"] and items["gender"]["required"] and not items["division_code"]["required"]
    schema = api.get("/api/v1/openapi.json").json()["components"]["schemas"]["ItemIn"]["properties"]
    assert schema["required"]["type"] == "boolean"


def test_json_round_trip_keeps_required_and_code_tables(
    data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    services.do_create_entry(data_admin, rich(entry_data))
    api = login(data_admin)
    exported = api.get("/api/v1/catalog/export.json").json()
    items = {i["field_name"]: i for i in exported["entries"][0]["items"]}
    assert items["gender"]["required"] is True and items["marital_status"]["code_table"].startswith("10=未婚")
    again = api.post("/api/v1/catalog/import", exported, content_type="application/json").json()
    assert again["imported"] and again["unchanged"] == ["101001/00001"]
    for item in exported["entries"][0]["items"]:
        if item["field_name"] == "gender":
            item["required"] = "否"
        if item["field_name"] == "division_code":
            item["required"] = "是"
    changed = api.post("/api/v1/catalog/import", exported, content_type="application/json").json()
    assert changed["updated"] == ["101001/00001"], changed
    entry = CatalogEntry.objects.get()
    assert not flags(entry)["gender"] and flags(entry)["division_code"]


def _sheet_rows(content: bytes, sheet: str) -> tuple[list[str], list[list[Any]]]:
    ws = load_workbook(io.BytesIO(content))[sheet]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return [str(h) for h in rows[0]], rows[1:]


def test_excel_has_a_required_column_and_round_trips(
    data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    services.do_create_entry(data_admin, rich(entry_data))
    page = login(data_admin)
    content = page.get("/catalog/export.xlsx").content
    wb = load_workbook(io.BytesIO(content))
    ws = wb[excel.ITEM_SHEET]
    header, rows = _sheet_rows(content, excel.ITEM_SHEET)
    col = header.index("必填")
    assert header[col - 1] == "是否主键"
    letter = ws.cell(row=1, column=col + 1).column_letter
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists[f"{letter}2:{letter}{excel.MAX_ROWS + 1}"] == '"是,否"'
    assert {r[2]: r[col] for r in rows} == {
        "id_no": "是", "person_name": "否", "household_address": "否", "birth_date": "否",
        "gender": "是", "division_code": "否", "marital_status": "否",
    }
    help_text = " ".join(str(c) for row in wb[excel.HELP_SHEET].iter_rows(values_only=True) for c in row if c)
    assert "必填" in help_text and "GB/T 2261.1" in help_text and "[0,100]" in help_text

    records, orphans = excel.parse_workbook(content)
    assert orphans == []
    report = services.do_import_entries(data_admin, records, source="excel")
    assert report.imported and report.unchanged == ["101001/00001"], report.problems

    # Mark 婚姻状况 required and break the gender code table: both read from the sheet.
    field_col = header.index("字段名")
    for row in ws.iter_rows(min_row=2):
        if row[field_col].value == "marital_status":
            row[col].value = "是"
    out = io.BytesIO()
    wb.save(out)
    records, _ = excel.parse_workbook(out.getvalue())
    report = services.do_import_entries(data_admin, records, source="excel")
    assert report.updated == ["101001/00001"], report.problems
    assert flags(CatalogEntry.objects.get())["marital_status"]


def test_excel_from_an_older_template_without_required_still_imports(
    data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    services.do_create_entry(data_admin, entry_data())
    content = login(data_admin).get("/catalog/export.xlsx").content
    wb = load_workbook(io.BytesIO(content))
    ws = wb[excel.ITEM_SHEET]
    header = [c.value for c in ws[1]]
    ws.delete_cols(header.index("必填") + 1)
    for row in ws.iter_rows(min_row=2):
        if row[0].value:
            row[1].value = f"{row[1].value}（新）"
            row[0].value = "新1"
    res = wb[excel.RESOURCE_SHEET]
    res.cell(row=2, column=1).value = "新1"
    res.cell(row=2, column=[c.value for c in res[1]].index("信息资源名称") + 1).value = "流动人口信息"
    out = io.BytesIO()
    wb.save(out)
    records, orphans = excel.parse_workbook(out.getvalue())
    assert orphans == []
    report = services.do_import_entries(data_admin, records, source="excel")
    assert report.imported and report.created == ["101001/00002"], report.problems
    created = CatalogEntry.objects.get(resource_code="101001/00002")
    assert flags(created) == {"id_no": True, "person_name": False, "household_address": False, "birth_date": False}


def test_template_shows_required_and_code_table_examples() -> None:
    header, rows = _sheet_rows(excel.template_workbook(), excel.ITEM_SHEET)
    by_field = {r[header.index("字段名")]: r for r in rows}
    assert by_field["reg_status"][header.index("必填")] == "是"
    assert by_field["reg_status"][header.index("代码表/值域")] == "1=存续;2=在业;3=吊销;4=注销;5=迁出"
    assert by_field["reg_capital"][header.index("代码表/值域")] == "[0,]"
    records, _ = excel.parse_workbook(excel.template_workbook())
    from zhengwu.catalog.rules import normalise_entry, validate_entry

    assert validate_entry(normalise_entry(records[0].data)) == []
