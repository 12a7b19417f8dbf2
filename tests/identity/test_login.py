"""Login page: success, generic errors, per-account and per-address locks, CSRF, malformed input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import STRONG_PASSWORD
from tests.identity.conftest import Clock, audit_actions, post_login
from zhengwu.identity import services
from zhengwu.identity.models import LockKind, LoginAttempt, LoginLock

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese() -> None:
    response = Client().get("/login/")
    body = response.content.decode()
    assert response.status_code == 200 and "登录" in body and 'name="username"' in body


def test_successful_login_rotates_session_and_is_audited(make_user: Any) -> None:
    make_user("zhangsan", full_name="张三")
    client = Client()
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    response = post_login(client, "zhangsan", STRONG_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session.session_key != before
    assert client.get("/").status_code == 200
    record = audit_actions("identity.login", actor="zhangsan", result="success")[-1]
    assert record.source_ip == "10.0.0.1" and record.details["method"] == "password"
    assert LoginAttempt.objects.filter(username="zhangsan", success=True).count() == 1


def test_username_is_case_insensitive(make_user: Any) -> None:
    make_user("LiSi", full_name="李四")
    assert post_login(Client(), "lisi", STRONG_PASSWORD).status_code == 302


def test_next_parameter_is_followed_only_when_local(make_user: Any) -> None:
    make_user("nexter", full_name="跳转")
    response = post_login(Client(), "nexter", STRONG_PASSWORD, next="/account/")
    assert response["Location"] == "/account/"
    response = post_login(Client(), "nexter", STRONG_PASSWORD, next="https://evil.example/")
    assert response["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_error(make_user: Any) -> None:
    make_user("wangwu", full_name="王五")
    wrong = post_login(Client(), "wangwu", "Wrong-Pass-123")
    unknown = post_login(Client(), "nobody-here", "Wrong-Pass-123")
    assert wrong.status_code == unknown.status_code == 200
    for response in (wrong, unknown):
        assert "用户名或密码错误" in response.content.decode()
    assert (
        audit_actions("identity.login", actor="wangwu", result="failure")[-1].details["reason"]
        == "bad_password"
    )
    unknown_record = audit_actions("identity.login", actor="nobody-here", result="failure")[-1]
    assert unknown_record.details["reason"] == "unknown_user"


def test_inactive_user_gets_the_generic_error(make_user: Any) -> None:
    make_user("gone", full_name="离职", is_active=False)
    response = post_login(Client(), "gone", STRONG_PASSWORD)
    assert "用户名或密码错误" in response.content.decode()
    assert audit_actions("identity.login", actor="gone")[-1].details["reason"] == "inactive"


def test_account_locks_after_five_failures_and_unlocks_after_thirty_minutes(
    make_user: Any, clock: Clock
) -> None:
    make_user("locky", full_name="锁定")
    client = Client()
    for i in range(4):
        response = post_login(client, "locky", f"Wrong-Pass-{i}", ip=f"10.1.0.{i}")
        assert "用户名或密码错误" in response.content.decode()
    response = post_login(client, "locky", "Wrong-Pass-4", ip="10.1.0.9")
    body = response.content.decode()
    assert "该账号因多次登录失败已被锁定" in body
    assert "2026-03-02 09:30" in body  # unlock time in local time
    lock = LoginLock.objects.get(kind=LockKind.ACCOUNT, key="locky")
    assert lock.failures == 5
    assert audit_actions("identity.lock", object_id=str(lock.pk))

    # even the right password is refused while locked, and the refusal is audited
    clock.advance(minutes=29)
    response = post_login(client, "locky", STRONG_PASSWORD, ip="10.2.0.1")
    assert "已被锁定" in response.content.decode()
    assert audit_actions("identity.login", actor="locky")[-1].details["reason"] == "locked"

    clock.advance(minutes=1, seconds=1)
    assert post_login(client, "locky", STRONG_PASSWORD, ip="10.2.0.1").status_code == 302


def test_failures_outside_the_window_do_not_lock(make_user: Any, clock: Clock) -> None:
    make_user("slowpoke", full_name="慢")
    for i in range(4):
        post_login(Client(), "slowpoke", "Wrong-Pass-1", ip=f"10.3.0.{i}")
    clock.advance(minutes=31)
    post_login(Client(), "slowpoke", "Wrong-Pass-1", ip="10.3.0.9")
    assert not LoginLock.objects.filter(key="slowpoke").exists()


def test_success_resets_the_account_count(make_user: Any) -> None:
    make_user("resetme", full_name="重置")
    for i in range(4):
        post_login(Client(), "resetme", "Wrong-Pass-1", ip=f"10.4.0.{i}")
    post_login(Client(), "resetme", STRONG_PASSWORD, ip="10.4.1.1")
    post_login(Client(), "resetme", "Wrong-Pass-1", ip="10.4.1.2")
    assert not LoginLock.objects.filter(key="resetme").exists()


def test_unknown_usernames_lock_the_same_way(db: Any) -> None:
    for i in range(5):
        response = post_login(Client(), "ghost", "Wrong-Pass-1", ip=f"10.5.0.{i}")
    assert "该账号因多次登录失败已被锁定" in response.content.decode()
    assert LoginLock.objects.filter(kind=LockKind.ACCOUNT, key="ghost").exists()


def test_five_failures_from_one_address_do_not_lock_other_accounts(make_user: Any) -> None:
    """The review: five failures from 127.0.0.1 locked every account under `make run`, the
    administrators included. Per-account lockout stays at five; the address threshold is higher."""
    make_user("operator", full_name="运维", admin_role="system_admin")
    for i in range(5):
        post_login(Client(), f"typo{i}", "Wrong-Pass-1", ip="127.0.0.1")
    assert not LoginLock.objects.filter(kind=LockKind.ADDRESS).exists()
    assert post_login(Client(), "operator", STRONG_PASSWORD, ip="127.0.0.1").status_code == 302


def test_source_address_locks_after_the_address_threshold(make_user: Any, clock: Clock) -> None:
    from zhengwu.identity.models import SecurityPolicy

    threshold = SecurityPolicy._meta.get_field("address_lock_threshold").default
    assert threshold == 30
    make_user("victim", full_name="受害者")
    for i in range(threshold):
        response = post_login(Client(), f"guess{i}", "Wrong-Pass-1", ip="192.0.2.7")
    assert "您所在的网络地址因多次登录失败已被暂时锁定" in response.content.decode()
    assert LoginLock.objects.filter(kind=LockKind.ADDRESS, key="192.0.2.7").exists()
    # a valid account cannot log in from that address either …
    response = post_login(Client(), "victim", STRONG_PASSWORD, ip="192.0.2.7")
    assert "网络地址" in response.content.decode()
    # … but can from another one
    assert post_login(Client(), "victim", STRONG_PASSWORD, ip="192.0.2.8").status_code == 302
    clock.advance(minutes=31)
    assert post_login(Client(), "victim", STRONG_PASSWORD, ip="192.0.2.7").status_code == 302


def test_address_threshold_is_a_separate_setting(make_user: Any) -> None:
    from zhengwu.identity.models import SecurityPolicy

    SecurityPolicy.objects.create(pk=1, address_lock_threshold=10)
    for i in range(9):
        post_login(Client(), f"probe{i}", "Wrong-Pass-1", ip="192.0.2.50")
    assert not LoginLock.objects.filter(kind=LockKind.ADDRESS).exists()
    post_login(Client(), "probe9", "Wrong-Pass-1", ip="192.0.2.50")
    assert LoginLock.objects.filter(kind=LockKind.ADDRESS, key="192.0.2.50").exists()


def test_address_threshold_must_be_higher_than_the_account_threshold(make_user: Any) -> None:
    from zhengwu.core.errors import DomainError
    from zhengwu.identity.models import SecurityPolicy

    admin = make_user(admin_role="security_admin")
    with pytest.raises(DomainError) as refused:
        services.do_update_policy(admin, {"account_lock_threshold": 12, "address_lock_threshold": 12})
    assert refused.value.field == "address_lock_threshold"
    assert "来源地址锁定阈值（失败次数）必须大于账号锁定阈值" in refused.value.message
    assert not SecurityPolicy.objects.filter(account_lock_threshold=12).exists()  # nothing changed


def test_operator_unlocks_an_address_and_an_account_from_the_command_line(make_user: Any) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from zhengwu.identity.models import SecurityPolicy

    SecurityPolicy.objects.create(pk=1, address_lock_threshold=10)
    make_user("lockedout", full_name="被锁")
    for i in range(10):
        post_login(Client(), "lockedout" if i < 5 else f"other{i}", "Wrong-Pass-1", ip="198.51.100.9")
    assert post_login(Client(), "lockedout", STRONG_PASSWORD, ip="198.51.100.10").status_code == 200
    assert post_login(Client(), "someone", STRONG_PASSWORD, ip="198.51.100.9").status_code == 200

    out = StringIO()
    call_command("unlock", "--address", "198.51.100.9", stdout=out)
    assert "已解除来源地址 198.51.100.9 的锁定" in out.getvalue()
    call_command("unlock", "--account", "LockedOut", stdout=out)
    assert "已解除账号 lockedout 的锁定" in out.getvalue()
    assert post_login(Client(), "lockedout", STRONG_PASSWORD, ip="198.51.100.9").status_code == 302
    records = audit_actions("identity.unlock")
    assert [r.details["kind"] for r in records] == ["address", "account"]
    assert all(r.details["via"] == "zhengwu unlock" and r.details["operator"] for r in records)

    call_command("unlock", "--account", "lockedout", stdout=out)
    assert "当前没有生效的锁定" in out.getvalue()
    with pytest.raises(CommandError, match="不是合法的 IP 地址"):
        call_command("unlock", "--address", "not-an-ip")


def test_security_admin_unlocks_an_account(make_user: Any, admin_client: Any) -> None:
    make_user("unlockme", full_name="待解锁")
    for i in range(5):
        post_login(Client(), "unlockme", "Wrong-Pass-1", ip=f"10.6.0.{i}")
    lock = LoginLock.objects.get(key="unlockme")
    client, admin = admin_client("security_admin")
    page = client.get("/security/")
    assert "unlockme" in page.content.decode()
    response = client.post(f"/security/locks/{lock.pk}/unlock/")
    assert response.status_code == 302
    lock.refresh_from_db()
    assert lock.unlocked_at is not None and lock.unlocked_by == admin
    assert audit_actions("identity.unlock", actor=admin.username, object_id=str(lock.pk))
    # the failures before the unlock no longer count
    assert post_login(Client(), "unlockme", "Wrong-Pass-1", ip="10.6.1.1").status_code == 200
    assert post_login(Client(), "unlockme", STRONG_PASSWORD, ip="10.6.1.1").status_code == 302


def test_unlocking_twice_is_refused(make_user: Any) -> None:
    admin = make_user(admin_role="security_admin")
    for i in range(5):
        post_login(Client(), "twice", "Wrong-Pass-1", ip=f"10.7.0.{i}")
    lock = LoginLock.objects.get(key="twice")
    services.do_unlock(admin, lock.pk)
    from zhengwu.core.errors import Conflict

    with pytest.raises(Conflict):
        services.do_unlock(admin, lock.pk)


def test_missing_csrf_token_gets_a_chinese_page(make_user: Any) -> None:
    make_user("csrfuser", full_name="跨站")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "csrfuser", "password": STRONG_PASSWORD})
    assert response.status_code == 403
    assert "请求已过期或无效" in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": ""},
        {"username": "a" * 500, "password": "x"},
        {"username": "bad\x00name", "password": "x"},
        {"username": "ok", "password": "p" * 5000},
        {"username": ["a", "b"], "password": "x"},
    ],
)
def test_malformed_input_never_fails_with_500(data: dict[str, Any], db: Any) -> None:
    response = Client().post("/login/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "请填写此项" in body or "不能" in body or "用户名或密码错误" in body or "过长" in body


def test_overlong_password_is_refused_without_error(make_user: Any) -> None:
    make_user("longpw", full_name="长")
    response = Client().post("/login/", {"username": "longpw", "password": STRONG_PASSWORD + "x" * 5000})
    assert response.status_code == 200


def test_logout_is_post_only_and_audited(make_user: Any) -> None:
    make_user("leaver", full_name="退出者")
    client = Client()
    post_login(client, "leaver", STRONG_PASSWORD)
    page = client.get("/logout/")
    assert page.status_code == 200 and "确定要退出" in page.content.decode()
    assert client.get("/").status_code == 200  # GET did not log out
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302
    assert audit_actions("identity.logout", actor="leaver")


def test_put_to_login_is_refused() -> None:
    assert Client().put("/login/").status_code == 405


def test_home_lists_the_account_console_for_everyone(make_user: Any) -> None:
    user = make_user()
    client = Client()
    client.force_login(user)
    body = client.get("/").content.decode()
    assert 'data-console="identity.account"' in body
    assert 'data-console="identity.policy"' not in body


def test_home_lists_security_consoles_for_the_security_admin(admin_client: Any) -> None:
    client, _ = admin_client("security_admin")
    body = client.get("/").content.decode()
    assert 'data-console="identity.policy"' in body and 'data-console="identity.locks"' in body
