"""/api/v1/identity: who am I, the policy and locks (安全管理员)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.identity.conftest import audit_actions, post_login
from zhengwu.identity.models import LoginLock, SecurityPolicy

pytestmark = pytest.mark.django_db

BASE = "/api/v1/identity"


def full_policy(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "password_min_length": 10,
        "password_min_classes": 3,
        "password_history": 5,
        "password_max_age_days": 90,
        "account_lock_threshold": 5,
        "account_lock_window_minutes": 30,
        "account_lock_minutes": 30,
        "address_lock_threshold": 30,
        "address_lock_window_minutes": 30,
        "address_lock_minutes": 30,
        "session_idle_minutes": 30,
        "totp_required_for_all": False,
    }
    data.update(overrides)
    return data


def test_me_requires_login(db: Any) -> None:
    response = Client().get(f"{BASE}/me")
    assert response.status_code == 401 and "登录" in response.json()["detail"]


def test_me_describes_the_user(make_user: Any, make_unit: Any) -> None:
    from zhengwu.directory.models import BusinessRole, RoleGrant

    unit = make_unit("市数据局")
    user = make_user("meuser", full_name="我", unit=unit)
    role = BusinessRole.objects.get_or_create(
        code="test_role", defaults={"name": "测试角色", "app_label": "test"}
    )[0]
    RoleGrant.objects.create(user=user, role=role, unit=unit)
    client = Client()
    client.force_login(user)
    data = client.get(f"{BASE}/me").json()
    assert data["username"] == "meuser" and data["full_name"] == "我"
    assert data["unit"] == {"id": unit.pk, "name": "市数据局"}
    assert data["admin_role"] == "" and data["totp_enabled"] is False
    assert {"code": "test_role", "name": "测试角色", "unit_id": unit.pk, "unit_name": "市数据局"} in data[
        "business_roles"
    ]


def test_me_for_an_admin(admin_client: Any) -> None:
    client, _ = admin_client("audit_admin")
    data = client.get(f"{BASE}/me").json()
    assert data["admin_role"] == "audit_admin" and data["admin_role_label"] == "审计管理员"


@pytest.mark.parametrize("role", ["system_admin", "audit_admin", ""])
def test_policy_and_locks_are_forbidden_to_others(role: str, make_user: Any) -> None:
    client = Client()
    client.force_login(make_user(admin_role=role))
    for response in (
        client.get(f"{BASE}/policy"),
        client.put(f"{BASE}/policy", full_policy(), content_type="application/json"),
        client.get(f"{BASE}/locks"),
        client.post(f"{BASE}/locks/1/unlock"),
    ):
        assert response.status_code == 403
        assert "仅安全管理员" in response.json()["detail"]


def test_security_admin_reads_and_changes_the_policy(admin_client: Any) -> None:
    client, admin = admin_client("security_admin")
    assert client.get(f"{BASE}/policy").json()["password_min_length"] == 10
    response = client.put(
        f"{BASE}/policy",
        full_policy(password_min_length=14, session_idle_minutes=15),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["password_min_length"] == 14
    assert SecurityPolicy.objects.get().session_idle_minutes == 15
    assert audit_actions("identity.policy_change", actor=admin.username)


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"password_min_length": 4}, "password_min_length", "不能小于 8"),
        ({"password_min_classes": 5}, "password_min_classes", "不能大于 4"),
        ({"session_idle_minutes": "soon"}, "session_idle_minutes", "必须是整数"),
        ({"account_lock_minutes": 0}, "account_lock_minutes", "不能小于 1"),
        ({"unexpected": 1}, "unexpected", "不允许的字段"),
    ],
)
def test_bad_policy_values_get_a_chinese_422(
    overrides: dict[str, Any], field: str, fragment: str, admin_client: Any
) -> None:
    client, _ = admin_client("security_admin")
    response = client.put(f"{BASE}/policy", full_policy(**overrides), content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert any(e["field"] == field and fragment in e["message"] for e in body["errors"]), body
    assert not SecurityPolicy.objects.exists()


def test_missing_policy_field_gets_a_chinese_422(admin_client: Any) -> None:
    client, _ = admin_client("security_admin")
    data = full_policy()
    del data["session_idle_minutes"]
    response = client.put(f"{BASE}/policy", data, content_type="application/json")
    assert response.status_code == 422 and "必须填写" in response.json()["detail"]


def test_locks_list_and_unlock(admin_client: Any, db: Any) -> None:
    for i in range(5):
        post_login(Client(), "apilocked", "Wrong-Pass-1", ip=f"10.9.0.{i}")
    client, admin = admin_client("security_admin")
    locks = client.get(f"{BASE}/locks").json()["items"]
    assert [(lk["kind"], lk["key"]) for lk in locks] == [("account", "apilocked")]
    assert locks[0]["kind_label"] == "账号"
    response = client.post(f"{BASE}/locks/{locks[0]['id']}/unlock")
    assert response.status_code == 200 and response.json()["unlocked_at"]
    assert LoginLock.objects.get().unlocked_by == admin
    assert client.get(f"{BASE}/locks").json() == {"count": 0, "items": []}
    again = client.post(f"{BASE}/locks/{locks[0]['id']}/unlock")
    assert again.status_code == 409 and "已解除" in again.json()["detail"]
    assert client.post(f"{BASE}/locks/99999/unlock").status_code == 404
    assert audit_actions("identity.unlock", actor=admin.username)
