"""/api/v1/directory: CRUD, scoping of staff data, audited reads, Chinese 4xx answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import STRONG_PASSWORD
from zhengwu.directory.models import RoleGrant, Unit, User

from .conftest import audit_count

pytestmark = pytest.mark.django_db
BASE = "/api/v1/directory"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client: Client, method: str, path: str, body: Any) -> Any:
    return getattr(client, method)(f"{BASE}{path}", data=json.dumps(body), content_type="application/json")


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_anonymous_gets_401():
    response = Client().get(f"{BASE}/units")
    assert response.status_code == 401 and has_chinese(response.json()["detail"])


def test_units_flat_and_tree(clerk, tree):
    client = client_for(clerk)
    flat = client.get(f"{BASE}/units").json()["items"]
    assert {u["name"] for u in flat} >= {"示范市人民政府", "金山街道办事处"}
    county = client.get(f"{BASE}/units", {"level": "county"}).json()["items"]
    assert {u["name"] for u in county} == {"梅江区人民政府", "梅江区民政局"}
    assert all(u["division_name"] == "梅江区" for u in county)
    roots = client.get(f"{BASE}/units", {"format": "tree"}).json()["items"]
    assert [r["name"] for r in roots] == ["示范市人民政府"]
    assert {c["name"] for c in roots[0]["children"]} == {"示范市大数据管理局", "梅江区人民政府"}
    one = client.get(f"{BASE}/units/{tree.township.pk}").json()
    assert one["level_name"] == "乡镇街道" and one["parent_id"] == tree.county_gov.pk


def test_unit_crud(sysadmin, tree):
    client = client_for(sysadmin)
    body = {
        "name": "江南街道办事处",
        "parent_id": tree.county_gov.pk,
        "level": "township",
        "unit_type": "township",
        "division_code": tree.county_code,
    }
    response = send(client, "post", "/units", body)
    assert response.status_code == 201, response.content
    unit_id = response.json()["id"]
    response = send(client, "patch", f"/units/{unit_id}", {"short_name": "江南"})
    assert response.status_code == 200 and response.json()["short_name"] == "江南"
    response = send(client, "patch", f"/units/{unit_id}", {"is_active": False})
    assert response.json()["is_active"] is False
    response = send(client, "patch", f"/units/{tree.department.pk}", {"parent_id": tree.county_gov.pk})
    assert response.status_code == 400 and "不能隶属于" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "level"


def test_unit_rules_answer_in_chinese(sysadmin, tree):
    client = client_for(sysadmin)
    body = {
        "name": "坏单位",
        "parent_id": tree.government.pk,
        "level": "city",
        "unit_type": "department",
        "division_code": "441499",
    }
    response = send(client, "post", "/units", body)
    assert response.status_code == 400
    data = response.json()
    assert "GB/T 2260" in data["detail"] and data["errors"][0]["field"] == "division_code"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x" * 101, "level": "city", "unit_type": "department", "division_code": "441400"},
        {"name": "x", "level": "moon", "unit_type": "department", "division_code": "441400"},
        {"name": "x", "level": "city", "unit_type": "department", "division_code": "4414"},
        {"name": "x", "level": "city", "unit_type": "department", "division_code": "441400", "admin": 1},
        {
            "name": "x",
            "level": "city",
            "unit_type": "department",
            "division_code": "441400",
            "parent_id": 2**70,
        },
        {
            "name": "x",
            "level": "city",
            "unit_type": "department",
            "division_code": "441400",
            "sort_order": -5,
        },
        {"name": 5, "level": None, "unit_type": [], "division_code": {}},
    ],
)
def test_unit_input_limits_422(sysadmin, body):
    before = Unit.objects.count()
    response = send(client_for(sysadmin), "post", "/units", body)
    assert response.status_code == 422
    data = response.json()
    assert has_chinese(data["detail"]) and data["errors"]
    assert Unit.objects.count() == before


def test_bad_json_and_huge_ids(sysadmin):
    client = client_for(sysadmin)
    response = client.post(f"{BASE}/units", data="{not json", content_type="application/json")
    assert response.status_code in {400, 422} and has_chinese(response.json()["detail"])
    assert client.get(f"{BASE}/units/{2**70}").status_code == 422
    assert client.get(f"{BASE}/units/987654").status_code == 404
    assert client.get(f"{BASE}/users", {"limit": 201}).status_code == 400
    assert client.get(f"{BASE}/users", {"limit": 0}).status_code == 400


def test_business_user_cannot_write(clerk, tree):
    client = client_for(clerk)
    body = {
        "name": "x",
        "parent_id": tree.government.pk,
        "level": "city",
        "unit_type": "department",
        "division_code": tree.city_code,
    }
    response = send(client, "post", "/units", body)
    assert response.status_code == 403 and "仅系统管理员" in response.json()["detail"]
    response = send(client, "patch", f"/users/{clerk.pk}", {"full_name": "改名"})
    assert response.status_code == 403
    clerk.refresh_from_db()
    assert clerk.full_name == "经办人甲"


def test_user_scoping(sysadmin, clerk, auditadmin, make_user, tree):
    colleague = make_user("colleague", unit=tree.county_dept, mobile="13911112222")
    outsider = make_user("outsider", unit=tree.department)
    # the system admin sees everyone with contact details
    data = client_for(sysadmin).get(f"{BASE}/users", {"limit": 200}).json()
    assert {"clerk1", "colleague", "outsider"} <= {u["username"] for u in data["items"]}
    assert any(u["mobile"] == "13911112222" for u in data["items"])
    # a business user sees their own unit's staff, names only
    data = client_for(clerk).get(f"{BASE}/users").json()
    assert {u["full_name"] for u in data["items"]} == {clerk.full_name, colleague.full_name}
    assert all(u["mobile"] is None and u["username"] is None for u in data["items"])
    assert client_for(clerk).get(f"{BASE}/users/{outsider.pk}").status_code == 404
    one = client_for(clerk).get(f"{BASE}/users/{colleague.pk}").json()
    assert one["full_name"] == colleague.full_name and one["mobile"] is None
    # the audit admin sees everyone, names only
    data = client_for(auditadmin).get(f"{BASE}/users", {"limit": 200}).json()
    assert data["count"] >= 4 and all(u["mobile"] is None for u in data["items"])
    assert audit_count("directory.user.read", "success") == 4
    assert audit_count("directory.user.read", "failure") == 1


def test_user_paging_and_filters(sysadmin, tree, make_user):
    for i in range(7):
        make_user(f"page{i}", unit=tree.township)
    client = client_for(sysadmin)
    data = client.get(f"{BASE}/users", {"unit_id": tree.township.pk, "limit": 3, "offset": 3}).json()
    assert data["count"] == 7 and len(data["items"]) == 3 and data["offset"] == 3
    data = client.get(f"{BASE}/users", {"unit_id": tree.county_gov.pk, "include_subunits": True}).json()
    assert data["count"] == 7
    data = client.get(f"{BASE}/users", {"role": "system_admin"}).json()
    assert [u["username"] for u in data["items"]] == ["xtadmin"]


def test_user_crud_and_roles(sysadmin, tree):
    client = client_for(sysadmin)
    body = {
        "username": "qianqi",
        "full_name": "钱七",
        "unit_id": tree.county_dept.pk,
        "password": STRONG_PASSWORD,
        "mobile": "13600001234",
    }
    response = send(client, "post", "/users", body)
    assert response.status_code == 201, response.content
    user_id = response.json()["id"]
    assert User.objects.get(pk=user_id).must_change_password
    response = send(client, "post", "/users", body)
    assert response.status_code == 409 and "已被使用" in response.json()["detail"]
    response = send(client, "patch", f"/users/{user_id}", {"full_name": "钱七七", "is_active": False})
    assert response.json()["full_name"] == "钱七七" and response.json()["is_active"] is False
    send(client, "patch", f"/users/{user_id}", {"is_active": True})
    roles = client.get(f"{BASE}/roles").json()["items"]
    assert {"data_admin", "clerk", "reviewer"} <= {r["code"] for r in roles}
    response = send(client, "post", f"/users/{user_id}/roles", {"role": "reviewer"})
    assert response.status_code == 201 and response.json()["unit_id"] == tree.county_dept.pk
    grant_id = response.json()["id"]
    assert client.get(f"{BASE}/users/{user_id}").json()["roles"][0]["role"] == "reviewer"
    response = send(client, "post", f"/users/{user_id}/roles", {"role": "nope"})
    assert response.status_code == 404 and "业务角色不存在" in response.json()["detail"]
    assert client.delete(f"{BASE}/users/{user_id}/roles/{grant_id}").status_code == 204
    assert not RoleGrant.objects.filter(pk=grant_id).exists()
    assert client.delete(f"{BASE}/users/{user_id}/roles/{grant_id}").status_code == 404


def test_admin_role_cannot_be_set_through_api(sysadmin, clerk):
    response = send(client_for(sysadmin), "patch", f"/users/{clerk.pk}", {"admin_role": "audit_admin"})
    assert response.status_code == 422 and "不允许的字段" in response.json()["detail"]
    clerk.refresh_from_db()
    assert clerk.admin_role == ""


def test_self_disable_refused(sysadmin):
    response = send(client_for(sysadmin), "patch", f"/users/{sysadmin.pk}", {"is_active": False})
    assert response.status_code == 400 and "本人" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "full_name": "x", "unit_id": 1, "password": "x"},
        {"username": "a" * 65, "full_name": "x", "unit_id": 1, "password": "x"},
        {"username": "abc", "full_name": "x", "unit_id": 1, "password": "x" * 129},
        {"username": "abc", "full_name": "x", "unit_id": 0, "password": "x"},
        {"username": "abc", "full_name": "x", "unit_id": 1, "password": "x", "mobile": "1" * 12},
        {"username": "abc", "full_name": "x", "unit_id": 1, "password": "x", "admin_role": "system_admin"},
    ],
)
def test_user_input_limits_422(sysadmin, body):
    before = User.objects.count()
    response = send(client_for(sysadmin), "post", "/users", body)
    assert response.status_code == 422 and has_chinese(response.json()["detail"])
    assert User.objects.count() == before


def test_weak_password_refused_in_chinese(sysadmin, tree):
    body = {"username": "weakling", "full_name": "弱", "unit_id": tree.county_dept.pk, "password": "abc"}
    response = send(client_for(sysadmin), "post", "/users", body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "password" and "初始密码" in response.json()["detail"]
