"""The 安全管理员 console and the 账号与安全 page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import STRONG_PASSWORD
from tests.identity.conftest import audit_actions, post_login
from zhengwu.identity.models import SecurityPolicy

pytestmark = pytest.mark.django_db

CONSOLE_PAGES = ["/security/", "/security/policy/", "/security/totp-reset/"]


def policy_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "password_min_length": 12,
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
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ["system_admin", "audit_admin", ""])
@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_console_is_forbidden_to_others(role: str, path: str, make_user: Any) -> None:
    client = Client()
    client.force_login(make_user(admin_role=role))
    response = client.get(path)
    assert response.status_code == 403
    assert "仅限安全管理员" in response.content.decode()


def test_unlock_is_forbidden_to_others(make_user: Any) -> None:
    client = Client()
    client.force_login(make_user(admin_role="system_admin"))
    assert client.post("/security/locks/1/unlock/").status_code == 403


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_console_requires_login(path: str, db: Any) -> None:
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_console_pages_open_for_the_security_admin(path: str, admin_client: Any) -> None:
    client, _ = admin_client("security_admin")
    assert client.get(path).status_code == 200


def test_policy_defaults_are_shown(admin_client: Any) -> None:
    client, _ = admin_client("security_admin")
    body = client.get("/security/policy/").content.decode()
    assert 'name="password_min_length" value="10"' in body
    assert 'name="session_idle_minutes" value="30"' in body


def test_policy_edit_saves_and_audits(admin_client: Any) -> None:
    client, admin = admin_client("security_admin")
    response = client.post(
        "/security/policy/", policy_form(password_min_length=12, totp_required_for_all="on")
    )
    assert response.status_code == 302
    policy = SecurityPolicy.objects.get()
    assert policy.password_min_length == 12 and policy.totp_required_for_all
    assert policy.updated_by == admin
    record = audit_actions("identity.policy_change", actor=admin.username)[-1]
    assert set(record.details["fields"]) == {"password_min_length", "totp_required_for_all"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password_min_length", 6, "密码最小长度不能小于 8"),
        ("password_min_length", 65, "密码最小长度不能大于 64"),
        ("password_min_classes", 5, "密码须包含的字符类别数不能大于 4"),
        ("session_idle_minutes", 0, "会话空闲超时（分钟）不能小于 5"),
        ("account_lock_threshold", "abc", "账号锁定阈值（失败次数）必须是整数"),
        ("password_history", "", "请填写不得重复使用的历史密码个数"),
        ("password_history", -1, "不得重复使用的历史密码个数不能小于 0"),
    ],
)
def test_policy_edit_refuses_bad_values_in_chinese(
    field: str, value: Any, message: str, admin_client: Any
) -> None:
    client, _ = admin_client("security_admin")
    response = client.post("/security/policy/", policy_form(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SecurityPolicy.objects.exists()


def test_policy_change_takes_effect_for_new_passwords(make_user: Any) -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from zhengwu.identity import services

    admin = make_user(admin_role="security_admin")
    services.do_update_policy(admin, {"password_min_length": 16})
    with pytest.raises(ValidationError, match="不能少于 16 位"):
        validate_password("Fifteen-chars-1")


def test_security_home_lists_recent_failures(make_user: Any, admin_client: Any) -> None:
    post_login(Client(), "someone", "Wrong-Pass-1", ip="198.51.100.3")
    client, _ = admin_client("security_admin")
    body = client.get("/security/").content.decode()
    assert "someone" in body and "198.51.100.3" in body and "账号不存在" in body


def test_account_page_shows_login_info(make_user: Any) -> None:
    make_user("mine", full_name="本人")
    post_login(Client(), "mine", "Wrong-Pass-1", ip="203.0.113.1")
    post_login(Client(), "mine", STRONG_PASSWORD, ip="203.0.113.2")
    client = Client()
    post_login(client, "mine", STRONG_PASSWORD, ip="203.0.113.3")
    body = client.get("/account/").content.decode()
    assert "账号与安全" in body
    assert "203.0.113.2" in body  # previous login address
    assert "修改密码" in body and "启用动态口令" in body


def test_account_page_requires_login(db: Any) -> None:
    assert Client().get("/account/")["Location"].startswith("/login/")
