"""The public-account pages through the real middleware and views: register (with the SMS
code), log in (mobile or identity number), 实名认证, 个人中心, 企业认证, 经办人 (revoked → no access on
the next request), PIPL export and closing; the two populations kept apart (staff consoles and
staff login refuse public accounts, the portal login refuses staff), lockout."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import STRONG_PASSWORD
from tests.datahub.conftest import grant
from zhengwu.identity.models import LoginLock
from zhengwu.identity.public import services
from zhengwu.identity.public.models import AssuranceLevel, PublicProfile

from .conftest import COMPANIES, NAMES, outbox_code, pid

pytestmark = pytest.mark.django_db


def login(client: Client, identifier: str, password: str = STRONG_PASSWORD, ip: str = "10.9.0.1") -> Any:
    return client.post("/portal/account/login/", {"identifier": identifier, "password": password}, REMOTE_ADDR=ip)


def signed_in(user: Any) -> Client:
    client = Client()
    response = login(client, PublicProfile.objects.get(user=user).mobile)
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_register_with_sms_code_then_log_in_and_see_the_personal_centre(base_data: Any) -> None:
    client = Client()
    page = client.get("/portal/account/register/")
    assert page.status_code == 200 and "注册个人账号" in page.content.decode() and "用户协议" in page.content.decode()
    sent = client.post("/portal/account/register/", {"action": "send_code", "mobile": "13900001111"}, REMOTE_ADDR="10.9.0.2")
    assert sent.status_code == 200 and "验证码已发送至" in sent.content.decode()
    form = {"action": "register", "name": NAMES[1], "id_no": pid(1), "mobile": "13900001111",
            "sms_code": outbox_code("13900001111"), "password": STRONG_PASSWORD, "password2": STRONG_PASSWORD,
            "consent": "on"}
    done = client.post("/portal/account/register/", form, REMOTE_ADDR="10.9.0.2")
    assert done.status_code == 302 and done["Location"] == "/portal/account/login/"
    assert PublicProfile.objects.get(mobile="13900001111").terms_version == "2026-12-01/2026-12-01"
    response = login(client, "13900001111")
    assert response.status_code == 302 and response["Location"] == "/portal/me/"
    me = client.get("/portal/me/").content.decode()
    assert "个人中心" in me and "账号与实名" in me and "未实名" in me and pid(1) not in me
    verify = client.post("/portal/account/realname/", {"name": NAMES[1], "id_no": pid(1)})
    assert verify.status_code == 302
    me = client.get("/portal/me/").content.decode()
    assert "已实名" in me and NAMES[1] not in me  # the name is shown masked (张**)


def test_a_bad_field_on_the_page_is_named_in_chinese(rf_request: Any) -> None:
    client = Client()
    response = client.post("/portal/account/register/", {
        "action": "register", "name": NAMES[1], "id_no": "441402199001010010", "mobile": "13900002222",
        "sms_code": "123456", "password": STRONG_PASSWORD, "password2": STRONG_PASSWORD, "consent": "on",
    })
    body = response.content.decode()
    assert response.status_code == 400 and "公民身份号码：" in body and 'aria-invalid="true"' in body
    assert not PublicProfile.objects.exists()


def test_login_by_identity_number_and_wrong_pair_page_message(register: Any, base_data: Any) -> None:
    user = register(1)
    client = Client()
    assert login(client, pid(1))["Location"] == "/portal/me/"
    wrong = client.post("/portal/account/realname/", {"name": "王五岳", "id_no": pid(1)})
    unknown = client.post("/portal/account/realname/", {"name": NAMES[1], "id_no": pid(88)})
    assert wrong.status_code == unknown.status_code == 400
    for response in (wrong, unknown):
        assert services.PERSON_MISMATCH in response.content.decode()
    assert PublicProfile.objects.get(user=user).level == AssuranceLevel.NONE


def test_public_accounts_are_refused_by_staff_consoles_and_staff_login(register: Any) -> None:
    user = register(1)
    client = signed_in(user)
    for path in ("/", "/catalog/", "/datahub/", "/directory/", "/audit/", "/account/", "/public-accounts/outbox/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/portal/", path
    api = client.get("/api/v1/identity/me")
    assert api.status_code == 403 and "公众用户" in api.json()["detail"]
    assert client.get("/portal/me/").status_code == 200  # the portal stays theirs
    # The staff login does not know public accounts, whatever name is typed.
    for name in (user.username, "13800000010", pid(1)):
        staff = Client().post("/login/", {"username": name, "password": STRONG_PASSWORD}, REMOTE_ADDR="10.9.0.3")
        assert staff.status_code == 200 and "用户名或密码错误" in staff.content.decode(), name


def test_staff_accounts_are_refused_by_the_portal_login(make_user: Any) -> None:
    make_user("clerk1", full_name="工作人员甲", mobile="13700001111")
    for identifier in ("clerk1", "13700001111"):
        response = login(Client(), identifier)
        assert response.status_code == 400 and "账号或密码错误" in response.content.decode()
    staff = Client()
    staff.post("/login/", {"username": "clerk1", "password": STRONG_PASSWORD})
    assert staff.get("/portal/me/").status_code == 403  # 个人中心 is for public accounts


def test_portal_login_locks_the_account_after_repeated_failures(register: Any) -> None:
    user = register(1, mobile="13900003333")
    client = Client()
    for _ in range(5):
        response = login(client, "13900003333", "Wrong-Pass-1", ip="10.9.0.4")
    assert "锁定" in response.content.decode()
    lock = LoginLock.objects.get(kind="account")
    assert lock.key == user.username  # the opaque account name, never the mobile or identity number
    right = login(client, pid(1), ip="10.9.0.5")  # the identity number shares the account's counter
    assert right.status_code == 400 and "锁定" in right.content.decode()


def test_enterprise_binding_agents_and_revocation_on_the_next_request(verified: Any) -> None:
    rep_user, agent_user = verified(1), verified(2)
    rep, agent = signed_in(rep_user), signed_in(agent_user)
    uscc, name, _, _ = COMPANIES[0]
    bad = rep.post("/portal/account/enterprise/bind/", {"uscc": uscc, "ent_name": "别的公司"})
    assert bad.status_code == 400 and services.ENTERPRISE_MISMATCH in bad.content.decode()
    bound = rep.post("/portal/account/enterprise/bind/", {"uscc": uscc, "ent_name": name})
    assert bound.status_code == 302 and bound["Location"] == "/portal/enterprise/"
    assert name in rep.get("/portal/enterprise/").content.decode()
    enterprise_id = rep_user.represented_enterprises.get().pk
    agents_url = f"/portal/account/enterprise/{enterprise_id}/agents/"
    assert agent.get(agents_url).status_code == 403  # not the legal representative
    added = rep.post(agents_url, {"name": NAMES[2], "id_no": pid(2)})
    assert added.status_code == 302
    switched = agent.post("/portal/account/enterprise/switch/", {"enterprise": str(enterprise_id)})
    assert switched.status_code == 302
    assert name in agent.get("/portal/enterprise/").content.decode()
    auth_id = rep_user.represented_enterprises.get().authorisations.get(role="agent").pk
    assert rep.post(f"/portal/account/enterprise/agents/{auth_id}/revoke/").status_code == 302
    after = agent.get("/portal/enterprise/").content.decode()
    assert name not in after and "尚未选择办理企业" in after  # the very next request
    again = agent.post("/portal/account/enterprise/switch/", {"enterprise": str(enterprise_id)})
    assert again.status_code == 302 and again["Location"] == "/portal/account/enterprise/switch/"


def test_held_data_export_and_closing(verified: Any) -> None:
    user = verified(1)
    client = signed_in(user)
    page = client.get("/portal/account/").content.decode()
    assert "平台保存的我的个人信息" in page and pid(1) not in page and "用途" in page
    assert client.get("/portal/account/").headers["Cache-Control"] == "no-store, private"
    as_json = client.get("/portal/account/export/?format=json")
    held = json.loads(as_json.content)["held"]
    assert as_json.status_code == 200 and any(r["item"] == "公民身份号码" for r in held)
    assert pid(1) not in as_json.content.decode()
    as_xlsx = client.get("/portal/account/export/?format=xlsx")
    assert as_xlsx.status_code == 200 and as_xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    refused = client.post("/portal/account/close/", {"password": STRONG_PASSWORD})
    assert refused.status_code == 400 and "确认注销" in refused.content.decode()
    closed = client.post("/portal/account/close/", {"password": STRONG_PASSWORD, "confirm": "on"})
    assert closed.status_code == 302
    assert login(Client(), pid(1)).status_code == 400  # gone: neither the number nor the mobile finds it


def test_sms_outbox_is_for_the_system_administrator(make_user: Any, rf_request: Any) -> None:
    services.do_send_sms_code(rf_request(), "13900004444")
    admin = make_user("xtadmin1", admin_role="system_admin", full_name="系统管理员")
    admin.unit = None
    client = Client()
    client.force_login(admin)
    page = client.get("/public-accounts/outbox/")
    assert page.status_code == 200 and "13900004444" in page.content.decode() and "验证码为" in page.content.decode()
    clerk = Client()
    clerk.force_login(make_user("clerk2"))
    assert clerk.get("/public-accounts/outbox/").status_code == 403


def test_in_person_page_for_the_window_verifier(verified: Any, make_user: Any) -> None:
    verified(1)
    clerk = make_user("window2", full_name="窗口人员")
    client = Client()
    client.force_login(clerk)
    assert client.get("/public-accounts/in-person/").status_code == 403
    grant(clerk, services.IN_PERSON_ROLE, clerk.unit)
    assert client.get("/public-accounts/in-person/").status_code == 200
    done = client.post("/public-accounts/in-person/", {"name": NAMES[1], "id_no": pid(1)})
    assert done.status_code == 302
    assert PublicProfile.objects.get(level=AssuranceLevel.ADVANCED)


def test_optional_totp_for_a_public_account(register: Any) -> None:
    from tests.identity.conftest import current_code

    user = register(1, mobile="13900007777")
    client = signed_in(user)
    page = client.get("/portal/account/security/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    bad = client.post("/portal/account/security/", {"action": "enable", "code": "000000"})
    assert bad.status_code == 400
    assert client.post("/portal/account/security/", {"action": "enable", "code": current_code(user)}).status_code == 302
    fresh = Client()
    first = login(fresh, "13900007777")
    assert first.status_code == 302 and first["Location"] == "/portal/account/login/totp/"
    assert fresh.get("/portal/me/").status_code == 302  # not signed in before the second step
    done = fresh.post("/portal/account/login/totp/", {"code": current_code(user, 30)})
    assert done.status_code == 302 and done["Location"] == "/portal/me/"
    assert fresh.get("/portal/me/").status_code == 200
