"""The /api/v1/validators endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

BASE = "/api/v1/validators"


@pytest.fixture
def client(make_user: Callable[..., Any]) -> Client:
    c = Client()
    c.force_login(make_user())
    return c


def post(client: Client, path: str, body: Any) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(BASE + path, data=raw, content_type="application/json")


# --- authentication ---------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/resident-id"), ("post", "/uscc"), ("post", "/division-code"), ("post", "/mobile"),
     ("get", "/divisions"), ("get", "/divisions/110105")],
)
def test_login_required(method: str, path: str) -> None:
    anonymous = Client()
    if method == "post":
        response = anonymous.post(BASE + path, data={"value": "x"}, content_type="application/json")
    else:
        response = anonymous.get(BASE + path)
    assert response.status_code == 401
    assert response.json()["detail"] == "未登录或会话已过期，请先登录"


# --- checks -----------------------------------------------------------------------------------------
def test_resident_id_valid(client: Client) -> None:
    response = post(client, "/resident-id", {"value": "11010519491231002x"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["reason"] == ""
    assert body["normalized"] == "11010519491231002X"
    assert body["birth_date"] == "1949-12-31"
    assert body["gender"] == "女"
    assert body["area_code"] == "110105" and body["area_is_current"] is True


def test_resident_id_historical_area(client: Client) -> None:
    body = post(client, "/resident-id", {"value": "440524188001010014"}).json()
    assert body["ok"] is True and body["area_is_current"] is False and "潮阳县" in body["area_name"]


def test_resident_id_invalid_answers_200_with_reason(client: Client) -> None:
    response = post(client, "/resident-id", {"value": "110105194912310023"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert body["reason"] == "校验码错误：应为 X，实为 3"
    assert body["birth_date"] is None and body["gender"] == ""


def test_uscc(client: Client) -> None:
    body = post(client, "/uscc", {"value": "91110000600037341L"}).json()
    assert body["ok"] is True
    assert body["authority_code"] == "9" and body["entity_type_name"] == "企业"
    assert body["area_name"] == "北京市" and body["organization_code"] == "600037341"
    bad = post(client, "/uscc", {"value": "91110000600037341M"}).json()
    assert bad["ok"] is False and bad["reason"] == "校验码错误：应为 L，实为 M"


def test_division_code(client: Client) -> None:
    body = post(client, "/division-code", {"value": "110105"}).json()
    assert body["ok"] is True
    assert body["name"] == "朝阳区" and body["level"] == "county" and body["level_name"] == "县级"
    assert body["parent_code"] == "110100" and body["full_name"] == "北京市朝阳区"
    bad = post(client, "/division-code", {"value": "999999"}).json()
    assert bad == {
        "ok": False, "reason": "行政区划代码 999999 不是已知的行政区划代码", "normalized": "999999",
        "name": "", "level": "", "level_name": "", "parent_code": None, "full_name": "",
    }


def test_mobile(client: Client) -> None:
    assert post(client, "/mobile", {"value": "+86 138-0013-8000"}).json() == {
        "ok": True, "reason": "", "normalized": "13800138000",
    }
    body = post(client, "/mobile", {"value": "12800138000"}).json()
    assert body["ok"] is False and body["reason"] == "手机号码第 2 位应为 3—9，实为 2"


# --- malformed requests: 422 with a Chinese message naming the field, never 500 --------------------
@pytest.mark.parametrize("path", ["/resident-id", "/uscc", "/division-code", "/mobile"])
def test_very_long_value_is_422(client: Client, path: str) -> None:
    response = post(client, path, {"value": "1" * 10_000})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "待校验的值：长度不能超过 64 个字符"
    assert body["errors"] == [{"field": "value", "message": "待校验的值：长度不能超过 64 个字符"}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "待校验的值：必须填写"),
        ({"value": 123}, "待校验的值：必须是文本"),
        ({"value": None}, "待校验的值：必须是文本"),
        ({"value": ["x"]}, "待校验的值：必须是文本"),
        ([], "待校验的值：必须填写"),  # a JSON array has no "value"
    ],
)
def test_malformed_bodies(client: Client, body: Any, message: str) -> None:
    response = post(client, "/resident-id", body)
    assert response.status_code == 422
    assert message in response.json()["detail"]


@pytest.mark.parametrize("raw", ["{not json", "", "\"just a string\""])
def test_invalid_json(client: Client, raw: str) -> None:
    response = post(client, "/uscc", raw)
    assert response.status_code in (400, 422)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["detail"])


def test_odd_text_is_checked_not_crashed(client: Client) -> None:
    for value in ["", "   ", "\x00\x01", "😀" * 10, "１２３", "<script>"]:
        for path in ["/resident-id", "/uscc", "/division-code", "/mobile"]:
            response = post(client, path, {"value": value})
            if "\x00" in value:  # refused up front by core.middleware.RejectNulMiddleware
                assert response.status_code == 400 and "空字符" in response.json()["detail"], (path, value)
                continue
            assert response.status_code == 200, (path, value)
            assert response.json()["ok"] is False


# --- divisions --------------------------------------------------------------------------------------
def test_divisions_default_lists_provinces(client: Client) -> None:
    body = client.get(BASE + "/divisions").json()
    codes = [d["code"] for d in body["items"]]
    assert "110000" in codes and "440000" in codes
    assert all(d["level"] == "province" for d in body["items"])
    assert "990000" not in codes
    assert body["count"] == len(body["items"]) and body["truncated"] is False


def test_divisions_children_of_parent(client: Client) -> None:
    body = client.get(BASE + "/divisions", {"parent": "441400"}).json()
    assert body["items"] and all(d["parent_code"] == "441400" for d in body["items"])
    assert all(d["level"] == "county" for d in body["items"])


def test_divisions_search_and_limit(client: Client) -> None:
    body = client.get(BASE + "/divisions", {"q": "朝阳"}).json()
    assert {"110105", "211300"} <= {d["code"] for d in body["items"]}
    limited = client.get(BASE + "/divisions", {"q": "44", "limit": "3"}).json()
    assert limited["count"] == 3 and limited["truncated"] is True
    assert all(d["code"].startswith("44") for d in limited["items"])
    within = client.get(BASE + "/divisions", {"q": "区", "parent": "110100"}).json()
    assert within["items"] and all(d["parent_code"] == "110100" for d in within["items"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 201}, "limit（最多返回条数）：不能大于 200"),
        ({"limit": 0}, "limit（最多返回条数）：不能小于 1"),
        ({"limit": "many"}, "limit（最多返回条数）：必须是整数"),
        ({"q": "x" * 51}, "查找内容：长度不能超过 50 个字符"),
        ({"parent": "1234567"}, "上级区划代码：长度不能超过 6 个字符"),
    ],
)
def test_divisions_bad_query(client: Client, params: dict[str, Any], message: str) -> None:
    response = client.get(BASE + "/divisions", params)
    # Paging out of its range is a bad request naming the parameter; other fields are 422.
    assert response.status_code == (400 if "limit" in params else 422)
    assert response.json()["detail"] == message


def test_divisions_unknown_parent_is_404(client: Client) -> None:
    response = client.get(BASE + "/divisions", {"parent": "999999"})
    assert response.status_code == 404
    assert response.json()["detail"] == "上级行政区划代码 999999 不存在"


def test_division_detail(client: Client) -> None:
    response = client.get(BASE + "/divisions/110105")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "朝阳区" and body["full_name"] == "北京市朝阳区"
    assert [a["code"] for a in body["ancestors"]] == ["110000", "110100"]
    assert body["children"] == []
    province = client.get(BASE + "/divisions/440000").json()
    assert any(c["code"] == "441400" for c in province["children"])


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("999999", "行政区划代码 999999 不存在"),
        ("110105001", "行政区划代码 110105001 格式有效，但没有乡级、村级区划的名称数据"),
        ("abc", "行政区划代码只能包含数字，实为“ABC”"),
    ],
)
def test_division_detail_not_found(client: Client, code: str, message: str) -> None:
    response = client.get(f"{BASE}/divisions/{code}")
    assert response.status_code == 404
    body = response.json()
    assert body["detail"] == message
    assert body["errors"] == [{"field": "code", "message": message}]


def test_division_detail_too_long_path_is_422(client: Client) -> None:
    response = client.get(f"{BASE}/divisions/{'1' * 5000}")
    assert response.status_code == 422
    assert response.json()["detail"] == "行政区划代码：长度不能超过 12 个字符"


def test_openapi_documents_the_schemas(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ["/resident-id", "/uscc", "/division-code", "/mobile", "/divisions", "/divisions/{code}"]:
        assert f"{BASE}{path}" in paths
    components = schema["components"]["schemas"]
    assert components["ValueIn"]["properties"]["value"]["maxLength"] == 64
    assert "birth_date" in components["ResidentIdOut"]["properties"]
    assert "children" in components["DivisionDetailOut"]["properties"]
