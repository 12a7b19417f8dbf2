from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from zhengwu.catalog import excel, services
from zhengwu.catalog.models import CatalogEntry, CatalogItem

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_api_compile_submit_approve_search(
    data_admin: Any, reviewer: Any, other_unit_user: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    api = client_for(data_admin)
    bad = api.post("/api/v1/catalog/entries", entry_data(share_type="不予共享"), content_type="application/json")
    assert bad.status_code == 422
    body = bad.json()
    assert {e["field"] for e in body["errors"]} >= {"share_type", "share_basis"}
    assert "基础信息资源" in body["detail"]

    created = api.post("/api/v1/catalog/entries", entry_data(), content_type="application/json")
    assert created.status_code == 201, created.content
    code = created.json()["resource_code"]
    key = code.replace("/", "-")
    assert api.post(f"/api/v1/catalog/entries/{key}/submit", {}, content_type="application/json").status_code == 200

    other = client_for(other_unit_user)
    assert other.get(f"/api/v1/catalog/entries/{key}").status_code == 404  # not published yet
    assert other.post(f"/api/v1/catalog/entries/{key}/approve", {}, content_type="application/json").status_code == 404

    rev = client_for(reviewer)
    assert [e["resource_code"] for e in rev.get("/api/v1/catalog/review-queue").json()["items"]] == [code]
    approved = rev.post(f"/api/v1/catalog/entries/{key}/approve", {"comment": "同意"}, content_type="application/json")
    assert approved.status_code == 200 and approved.json()["status"] == "published"

    found = other.get("/api/v1/catalog/entries", {"q": "人口 身份"}).json()
    assert found["count"] == 1 and found["items"][0]["resource_code"] == code
    assert found["facets"]["share_type"] == [{"value": "无条件共享", "label": "无条件共享", "count": 1}]
    assert other.get("/api/v1/catalog/entries", {"q": "人口", "share_type": "有条件共享"}).json()["count"] == 0
    assert other.get("/api/v1/catalog/entries", {"q": "household_address"}).json()["count"] == 1

    denied = other.put(f"/api/v1/catalog/entries/{key}", entry_data(name="改"), content_type="application/json")
    assert denied.status_code == 403 and "数据管理员" in denied.json()["detail"]

    corr = other.post(f"/api/v1/catalog/entries/{key}/corrections", {"content": "出生日期应为必填项"}, content_type="application/json")
    assert corr.status_code == 201
    answer = api.post(
        f"/api/v1/catalog/corrections/{corr.json()['id']}/answer", {"accepted": False, "answer": "已是必填"},
        content_type="application/json",
    )
    assert answer.json()["status"] == "rejected"

    changed = entry_data(name="常住人口信息")
    assert api.put(f"/api/v1/catalog/entries/{key}", changed, content_type="application/json").status_code == 200
    api.post(f"/api/v1/catalog/entries/{key}/submit", {}, content_type="application/json")
    returned = rev.post(f"/api/v1/catalog/entries/{key}/return", {"reason": "名称不规范"}, content_type="application/json")
    assert returned.json()["review_comment"] == "名称不规范"
    diff = api.get(f"/api/v1/catalog/entries/{key}/diff", {"base": 1}).json()
    assert diff["fields"][0]["field"] == "name"
    versions = api.get(f"/api/v1/catalog/entries/{key}/versions").json()["items"]
    assert [v["version"] for v in versions] == [1]
    retired = api.post(f"/api/v1/catalog/entries/{key}/retire", {"reason": "停止采集"}, content_type="application/json")
    assert retired.json()["status"] == "retired"
    assert other.get("/api/v1/catalog/entries", {"q": "人口"}).json()["count"] == 0
    stats = other.get("/api/v1/catalog/statistics").json()
    assert stats["total"] == 0


def test_api_requires_login() -> None:
    assert Client().get("/api/v1/catalog/entries").status_code == 401


def test_json_export_import_round_trip(data_admin: Any, entry_data: Callable[..., dict[str, Any]]) -> None:
    services.do_create_entry(data_admin, entry_data())
    api = client_for(data_admin)
    exported = api.get("/api/v1/catalog/export.json").json()
    assert len(exported["entries"]) == 1
    again = api.post("/api/v1/catalog/import", exported, content_type="application/json").json()
    assert again["imported"] and again["unchanged"] == ["101001/00001"]
    new = dict(exported["entries"][0], resource_code="", name="流动人口信息")
    bad = dict(exported["entries"][0], resource_code="", share_type="无效")
    refused = api.post("/api/v1/catalog/import", {"entries": [new, bad]}, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["row"] == "第 2 条"
    assert CatalogEntry.objects.count() == 1
    partial = api.post("/api/v1/catalog/import", {"entries": [new, bad], "good_rows_only": True}, content_type="application/json")
    assert partial.status_code == 200 and partial.json()["created"] == ["101001/00002"]


def _workbook_with_mixed_rows() -> bytes:
    wb = load_workbook(io.BytesIO(excel.template_workbook()))
    res, items = wb[excel.RESOURCE_SHEET], wb[excel.ITEM_SHEET]
    res.delete_rows(2, res.max_row)
    items.delete_rows(2, items.max_row)
    def row(key: str, name: str, share: str = "无条件共享", basis: str = "", fmt: str = "数据库") -> list[Any]:
        values = {
            "resource_code": key, "category": "3", "class_item": "05", "class_sub": "1", "name": name,
            "abstract": f"{name}，记录相关业务办理情况，供各部门核验使用", "resource_format": fmt, "share_type": share,
            "share_basis": basis, "share_method": "共享平台", "open_type": "无条件开放", "update_cycle": "每月",
            "security_level": "内部",
        }
        return [values.get(k, "") for _, k, _w in excel.RESOURCE_COLUMNS]
    res.append(row("新1", "机动车登记信息"))
    res.append(row("新2", "驾驶人信息", share="有条件共享"))            # no basis, no condition
    res.append(row("新3", "交通违法信息"))                              # item with bad length; two keys
    res.append(row("新4", "治安案件统计", fmt="电子文件"))
    def item(key: str, name: str, field: str, length: Any, key_flag: str, sensitive: str, masking: str,
             code_table: str = "", required: str = "否", data_type: str = "字符") -> list[Any]:
        values = {
            "resource_code": key, "name": name, "field_name": field, "data_type": data_type, "length": length,
            "is_key": key_flag, "required": required, "is_sensitive": sensitive, "masking": masking,
            "code_table": code_table,
        }
        return [values[k] for _, k, _w in excel.ITEM_COLUMNS]
    items.append(item("新1", "号牌号码", "plate_no", 20, "是", "否", "不脱敏"))
    items.append(item("新1", "车辆类型", "vehicle_type", 4, "否", "否", "不脱敏", "K11=大型普通客车;K33=轿车", required="是"))
    items.append(item("新2", "驾驶证号", "licence_no", 18, "是", "是", "部分遮盖"))
    items.append(item("新3", "决定书编号", "decision_no", "十八", "是", "否", "不脱敏"))
    items.append(item("新3", "当事人证件号", "party_id", 18, "是", "是", "不脱敏"))
    items.append(item("新9", "孤儿", "orphan", 1, "否", "否", "不脱敏"))
    items.append(item("新3", "违法行为代码", "offence_code", 5, "否", "否", "不脱敏", "GA 24.4"))        # row 8
    items.append(item("新3", "罚款金额", "fine", 10, "否", "否", "不脱敏", "[0,]"))                        # row 9: range on 字符
    items.append(item("新3", "处罚日期", "decided_on", "", "否", "否", "不脱敏", "", required="可能", data_type="日期"))  # row 10
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_excel_import_with_mixed_rows_reports_every_bad_row(data_admin: Any) -> None:
    content = _workbook_with_mixed_rows()
    records, orphans = excel.parse_workbook(content)
    report = services.do_import_entries(data_admin, records, extra_problems=orphans, source="excel")
    assert not report.imported and CatalogEntry.objects.count() == 0
    where = {(p["row"], p["field"]) for p in report.problems}
    assert ("信息资源 第 3 行", "share_basis") in where
    assert ("信息资源 第 3 行", "share_condition") in where
    assert ("信息项 第 5 行", "items[0].length") in where
    assert ("信息资源 第 4 行", "items") in where          # two keys
    assert ("信息项 第 6 行", "items[1].masking") in where  # sensitive without masking
    assert ("信息项 第 7 行", "resource_code") in where     # item of an unknown resource
    assert all(p["message"] for p in report.problems)
    messages = {(p["row"], p["field"]): p["message"] for p in report.problems}
    assert "不认识的代码表“GA 24.4”" in messages[("信息项 第 8 行", "items[2].code_table")]
    assert "只适用于数字、日期或日期时间" in messages[("信息项 第 9 行", "items[3].code_table")]
    assert messages[("信息项 第 10 行", "items[4].required")] == "必填：只能填“是”或“否”，当前为“可能”"

    report = services.do_import_entries(data_admin, records, extra_problems=orphans, good_rows_only=True, source="excel")
    assert report.imported
    names = set(CatalogEntry.objects.values_list("name", flat=True))
    assert names == {"机动车登记信息", "治安案件统计"}
    imported = {i.field_name: i for i in CatalogItem.objects.filter(entry__name="机动车登记信息")}
    assert imported["plate_no"].required and imported["plate_no"].is_key
    assert imported["vehicle_type"].required and imported["vehicle_type"].code_table == "K11=大型普通客车;K33=轿车"


def test_excel_export_import_round_trip_via_pages(
    data_admin: Any, published: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    services.do_create_entry(data_admin, entry_data(name="流动人口信息", related_codes=["101001/00001"], extra={"数据量": "约100万条"}))
    page = client_for(data_admin)
    response = page.get("/catalog/export.xlsx")
    assert response.status_code == 200
    records, orphans = excel.parse_workbook(response.content)
    assert orphans == []
    report = services.do_import_entries(data_admin, records, source="excel")
    assert report.imported and sorted(report.unchanged) == ["101001/00001", "101001/00002"], report.problems
    template = page.get("/catalog/template.xlsx")
    assert template.status_code == 200
    assert json.loads(json.dumps(excel.parse_workbook(template.content)[0][0].data))["name"].startswith("（示例")


@pytest.mark.parametrize("provider_id", ["99999999999999999999", "0", "-1"])
def test_search_refuses_a_provider_id_out_of_range(data_admin: Any, provider_id: str) -> None:
    """A provider id the database cannot hold (found by the API fuzz test: a 500 from SQLite's
    integer overflow) is a 422 naming the field, not a server error."""
    r = client_for(data_admin).get("/api/v1/catalog/entries", {"provider": provider_id})
    assert r.status_code == 422, r.content
    assert "provider" in {e["field"] for e in r.json()["errors"]}
