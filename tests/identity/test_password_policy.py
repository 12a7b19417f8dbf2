"""Password rules, history, initial passwords, changing and the maximum age."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tests.conftest import STRONG_PASSWORD
from tests.identity.conftest import audit_actions, post_login
from zhengwu.core.errors import DomainError
from zhengwu.identity import services
from zhengwu.identity.models import PasswordHistory, SecurityPolicy
from zhengwu.identity.password_policy import PolicyPasswordValidator, character_classes

pytestmark = pytest.mark.django_db


def refusal(password: str, user: Any = None) -> str:
    with pytest.raises(ValidationError) as info:
        validate_password(password, user)
    return "；".join(info.value.messages)


def test_strong_password_is_accepted(make_user: Any) -> None:
    user = make_user("zhangsan", full_name="张三")
    validate_password("Qx7!mountain-river", user)  # no exception


def test_too_short_is_refused_with_the_length_rule() -> None:
    assert "密码长度不能少于 10 位" in refusal("Ab1!xyz9")


def test_exactly_min_length_is_accepted() -> None:
    validate_password("Ab1!xyzw9q")  # 10 characters, 4 classes


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("abcdefghijk12", "大写字母"),  # lower + digit only
        ("ABCDEFGHIJ!!", "小写字母"),  # upper + symbol only
        ("abcdefghijklmn", "数字"),  # one class
    ],
)
def test_too_few_character_classes_is_refused(password: str, missing: str) -> None:
    message = refusal(password)
    assert "至少 3 类" in message
    assert missing in message


def test_three_classes_of_four_are_enough() -> None:
    validate_password("abcdefgh12XY")  # lower, digit, upper; no symbol
    validate_password("abcdefgh12!!")  # lower, digit, symbol; no upper


def test_character_classes() -> None:
    assert character_classes("aA1!") == {"大写字母", "小写字母", "数字", "符号"}
    assert character_classes("中文abc") == {"小写字母", "符号"}


def test_password_containing_username_is_refused_case_insensitively(make_user: Any) -> None:
    user = make_user("wangwu88", full_name="王五")
    assert "不能包含用户名" in refusal("My-WANGWU88-pass!", user)


def test_password_containing_full_name_is_refused(make_user: Any) -> None:
    user = make_user("zhaoliu", full_name="赵六")
    assert "不能包含本人姓名" in refusal("赵六Abc-12345", user)


def test_policy_numbers_are_read_from_the_security_policy() -> None:
    SecurityPolicy.objects.create(pk=1, password_min_length=14, password_min_classes=4)
    message = refusal("Abcdefgh12!x")  # 12 chars, 4 classes
    assert "不能少于 14 位" in message
    validate_password("Abcdefgh12!xyz")
    assert "至少 4 类" in refusal("Abcdefgh12xyzw")


def test_help_text_describes_the_rules() -> None:
    text = PolicyPasswordValidator().get_help_text()
    assert "至少 10 位" in text and "3 类" in text and "90 天" in text


def test_history_refuses_the_last_five_passwords(make_user: Any) -> None:
    user = make_user("history1", full_name="历史")
    passwords = [f"Reuse-Pass-{i}x" for i in range(6)]
    for p in passwords:
        services.set_initial_password(user, p, must_change=False)
    # current and the four before it are refused
    for p in passwords[1:]:
        assert "最近 5 次" in refusal(p, user)
    # the sixth-newest is allowed again
    validate_password(passwords[0], user)


def test_history_is_trimmed(make_user: Any) -> None:
    user = make_user()
    for i in range(30):
        services.set_initial_password(user, f"Trim-Pass-{i:02d}x", must_change=False)
    assert PasswordHistory.objects.filter(user=user).count() == 24


def test_history_stores_hashes_not_passwords(make_user: Any) -> None:
    user = make_user()
    services.set_initial_password(user, "Stored-Hash-1x", must_change=False)
    entry = PasswordHistory.objects.filter(user=user).first()  # newest first
    assert entry is not None
    assert "Stored-Hash-1x" not in entry.password_hash
    assert entry.password_hash == user.password


def test_set_initial_password_sets_flags_history_and_audit(make_user: Any) -> None:
    admin = make_user(admin_role="system_admin")
    user = make_user("newbie", full_name="新人")
    services.set_initial_password(user, "Initial-Pass-1x", actor=admin)
    user.refresh_from_db()
    assert user.check_password("Initial-Pass-1x")
    assert user.must_change_password is True
    assert user.password_changed_at is not None
    records = audit_actions("identity.password_set", object_id=str(user.pk))
    assert records and records[-1].actor == admin.username and records[-1].details["must_change"] is True


def test_set_initial_password_refuses_weak_password_in_chinese(make_user: Any) -> None:
    user = make_user("weakling", full_name="弱")
    before = user.password
    with pytest.raises(DomainError) as info:
        services.set_initial_password(user, "short")
    assert info.value.field == "password"
    assert "不能少于 10 位" in info.value.message
    user.refresh_from_db()
    assert user.password == before


def test_set_initial_password_saves_a_new_user(make_unit: Any) -> None:
    from zhengwu.directory.models import User

    user = User(username="newcomer", full_name="新建", unit=make_unit())
    services.set_initial_password(user, "Fresh-Start-9x")
    assert user.pk is not None
    assert PasswordHistory.objects.filter(user=user).count() == 1


def test_the_sm3_hasher_is_used(make_user: Any, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["zhengwu.identity.hashers.PBKDF2SM3PasswordHasher"]
    user = make_user()
    services.set_initial_password(user, "Sm3-Hashed-Pw1", must_change=False)
    assert user.password.startswith("pbkdf2_sm3$")
    assert user.check_password("Sm3-Hashed-Pw1")


def test_change_password_page(make_user: Any) -> None:
    user = make_user("changer", full_name="改密")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/account/password/",
        {
            "old_password": STRONG_PASSWORD,
            "new_password": "Brand-New-Pass1",
            "new_password2": "Brand-New-Pass1",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Brand-New-Pass1")
    # still logged in (session hash updated)
    assert client.get("/account/").status_code == 200
    assert audit_actions("identity.password_change", actor="changer", result="success")


def test_change_password_wrong_old_password(make_user: Any) -> None:
    user = make_user("changer2", full_name="改密二")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/account/password/",
        {"old_password": "not-it", "new_password": "Brand-New-Pass1", "new_password2": "Brand-New-Pass1"},
    )
    assert response.status_code == 200
    assert "当前密码不正确" in response.content.decode()
    assert audit_actions("identity.password_change", actor="changer2", result="failure")


def test_change_password_policy_errors_are_shown(make_user: Any) -> None:
    user = make_user("changer3", full_name="改密三")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/account/password/", {"old_password": STRONG_PASSWORD, "new_password": "abc", "new_password2": "abc"}
    )
    body = response.content.decode()
    assert "不能少于 10 位" in body and "至少 3 类" in body


def test_change_password_mismatch_and_reuse(make_user: Any) -> None:
    user = make_user("changer4", full_name="改密四")
    with pytest.raises(DomainError, match="不能与当前密码相同"):
        services.do_change_password(user, STRONG_PASSWORD, STRONG_PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.post(
        "/account/password/",
        {
            "old_password": STRONG_PASSWORD,
            "new_password": "Brand-New-Pass1",
            "new_password2": "Brand-New-Pass2",
        },
    )
    assert "两次输入的新密码不一致" in response.content.decode()


def test_change_password_refuses_recent_password(make_user: Any) -> None:
    user = make_user("changer5", full_name="改密五")
    services.do_change_password(user, STRONG_PASSWORD, "Second-Pass-22")
    services.do_change_password(user, "Second-Pass-22", "Third-Pass-333")
    with pytest.raises(DomainError, match="最近 5 次"):
        services.do_change_password(user, "Third-Pass-333", "Second-Pass-22")


def test_expired_password_forces_change_before_anything_else(make_user: Any) -> None:
    user = make_user("oldpw", full_name="旧密码")
    user.password_changed_at = timezone.now() - timedelta(days=91)
    user.save()
    client = Client()
    response = post_login(client, "oldpw", STRONG_PASSWORD)
    assert response.status_code == 302  # logged in
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/account/password/"
    assert client.get("/account/").status_code == 302
    page = client.get("/account/password/")
    assert page.status_code == 200 and "超过安全策略规定的使用期限" in page.content.decode()
    api = client.get("/api/v1/identity/policy")
    assert api.status_code == 403 and "密码" in api.json()["detail"]
    client.post(
        "/account/password/",
        {
            "old_password": STRONG_PASSWORD,
            "new_password": "Renewed-Pass-1",
            "new_password2": "Renewed-Pass-1",
        },
    )
    assert client.get("/").status_code == 200


def test_password_within_max_age_is_not_forced(make_user: Any) -> None:
    user = make_user("freshpw", full_name="新密码")
    user.password_changed_at = timezone.now() - timedelta(days=89)
    user.save()
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200


def test_must_change_password_forces_change(make_user: Any) -> None:
    user = make_user("mustchange", full_name="须改")
    services.set_initial_password(user, "Admin-Set-Pass1", must_change=True)
    client = Client()
    post_login(client, "mustchange", "Admin-Set-Pass1")
    response = client.get("/")
    assert response["Location"] == "/account/password/"
    assert "管理员为您设置了初始密码" in client.get("/account/password/").content.decode()
    # logout still works while forced
    assert client.post("/logout/").status_code == 302


def test_password_reset_by_the_directory_enters_the_history(make_user: Any) -> None:
    """Passwords set outside identity (directory's reset) are remembered through Django's hook."""
    from zhengwu.directory import services as directory_services

    admin = make_user(admin_role="system_admin")
    user = make_user("resetme", full_name="重置")
    directory_services.do_reset_password(admin, user, "Reset-By-Admin-9x")
    user.refresh_from_db()
    assert PasswordHistory.objects.filter(user=user).first().password_hash == user.password
    # ... so the person cannot "change" back to the password the administrator gave them.
    with pytest.raises(DomainError, match="历史密码规则"):
        services.check_new_password("Reset-By-Admin-9x", user)
