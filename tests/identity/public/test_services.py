"""Public accounts through their services, against a real lake: registration and its checks,
SMS codes, rate limits, 实名核验 (one message for every wrong pair), 高级实名, 法人 binding,
经办人 authorise/revoke, PIPL export and closing, and what the audit keeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import STRONG_PASSWORD
from zhengwu.audit.models import AuditRecord
from zhengwu.core.errors import DomainError, PermissionDenied
from zhengwu.core.verifiers import VerifierUnavailable
from zhengwu.directory.models import User
from zhengwu.identity.public import queries, services
from zhengwu.identity.public.models import (
    AssuranceLevel,
    Enterprise,
    EnterpriseAuthorisation,
    PublicProfile,
    RateEvent,
    SmsCode,
)

from .conftest import COMPANIES, NAMES, TERMS, outbox_code, pid

pytestmark = pytest.mark.django_db


def _fields(mobile: str, **over: Any) -> dict[str, Any]:
    fields = {"name": "张三丰", "id_no": pid(1), "mobile": mobile, "sms_code": "000000", "password": STRONG_PASSWORD,
              "password2": STRONG_PASSWORD, "consent": True, "terms_version": TERMS}
    fields.update(over)
    return fields


# --- registration -----------------------------------------------------------------------------
def test_registration_creates_an_unverified_public_account_with_the_number_protected(register: Any) -> None:
    user = register(1, mobile="13800001111")
    assert user.account_kind == "public" and user.unit_id is None and user.admin_role == ""
    profile = PublicProfile.objects.get(user=user)
    assert profile.level == AssuranceLevel.NONE and profile.mobile == "13800001111"
    assert profile.terms_version == TERMS and profile.terms_accepted_at is not None
    assert pid(1) not in profile.id_no_encrypted and pid(1) not in (profile.id_no_hash or "")
    assert queries.id_no_of(profile) == pid(1)
    assert queries.masked_id_no(profile) != pid(1) and queries.masked_id_no(profile).startswith(pid(1)[:3])
    record = AuditRecord.objects.get(action="public.register")
    assert pid(1) not in str(record.details) and "13800001111" not in str(record.details)


@pytest.mark.parametrize(("over", "field", "words"), [
    ({"name": ""}, "name", "姓名"),
    ({"name": "张3"}, "name", "姓名"),
    ({"id_no": "44140219900101001X"}, "id_no", "公民身份号码"),
    ({"id_no": "123"}, "id_no", "公民身份号码"),
    ({"mobile": "12345678901"}, "mobile", "手机号码"),
    ({"password": "short", "password2": "short"}, "password", "密码"),
    ({"password2": "Zw!Other-2026-pass"}, "password2", "确认密码"),
    ({"consent": False}, "consent", "用户协议"),
    ({"sms_code": "12ab"}, "sms_code", "短信验证码"),
    ({"sms_code": "999999"}, "sms_code", "短信验证码"),
])
def test_each_bad_field_is_refused_in_chinese_naming_it_and_nothing_is_written(
    rf_request: Any, over: dict[str, Any], field: str, words: str
) -> None:
    request = rf_request()
    services.do_send_sms_code(request, "13800002222")
    code = outbox_code("13800002222")
    fields = _fields("13800002222", sms_code=over.get("sms_code", code))
    fields.update({k: v for k, v in over.items() if k != "sms_code"})
    if over.get("sms_code") == "999999" and code == "999999":
        fields["sms_code"] = "999998"
    before = User.objects.count()
    with pytest.raises(DomainError) as caught:
        services.do_register_person(request, **fields)
    assert caught.value.field == field
    assert caught.value.message.startswith(words), caught.value.message
    assert User.objects.count() == before and not PublicProfile.objects.exists()
    assert not AuditRecord.objects.filter(action="public.register").exists()


def test_mobile_and_identity_number_are_unique(register: Any, rf_request: Any) -> None:
    register(1, mobile="13800003333")
    RateEvent.objects.all().delete()  # this test is about uniqueness, not the one-code-a-minute limit
    with pytest.raises(DomainError) as caught:
        register(2, mobile="13800003333")
    assert caught.value.field == "mobile" and "已注册" in caught.value.message
    with pytest.raises(DomainError) as caught:
        register(3, mobile="13800003334", id_no=pid(1))
    assert caught.value.field == "id_no"
    assert PublicProfile.objects.count() == 1


# --- SMS codes ------------------------------------------------------------------------------------
def test_an_sms_code_is_single_use(register: Any, rf_request: Any) -> None:
    request = rf_request()
    services.do_send_sms_code(request, "13800004444")
    code = outbox_code("13800004444")
    services.do_register_person(request, **_fields("13800004444", sms_code=code))
    with pytest.raises(DomainError) as caught:  # the same code again, for another account
        services.do_register_person(request, **_fields("13800004444", sms_code=code, id_no=pid(2), name="李四海"))
    assert caught.value.field == "sms_code"


def test_an_sms_code_expires(rf_request: Any) -> None:
    request = rf_request()
    sent = timezone.now() - timedelta(minutes=6)
    services.do_send_sms_code(request, "13800005555", now=sent)
    code = outbox_code("13800005555")
    with pytest.raises(DomainError) as caught:
        services.do_register_person(request, **_fields("13800005555", sms_code=code))
    assert caught.value.field == "sms_code" and not PublicProfile.objects.exists()


def test_five_wrong_codes_burn_it(rf_request: Any, settings: Any) -> None:
    settings.PUBLIC_REGISTER_PER_MOBILE_HOUR = 10
    request = rf_request()
    services.do_send_sms_code(request, "13800006666")
    code = outbox_code("13800006666")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(DomainError):
            services.do_register_person(request, **_fields("13800006666", sms_code=wrong))
    assert SmsCode.objects.get().failed_tries == 5
    with pytest.raises(DomainError) as caught:  # the right code no longer works
        services.do_register_person(request, **_fields("13800006666", sms_code=code))
    assert caught.value.field == "sms_code"


def test_sms_codes_are_rate_limited_per_number_and_address(rf_request: Any, settings: Any) -> None:
    now = timezone.now()
    services.do_send_sms_code(rf_request(), "13800007777", now=now)
    with pytest.raises(services.RateLimited) as caught:  # a second within the minute
        services.do_send_sms_code(rf_request(), "13800007777", now=now + timedelta(seconds=30))
    assert caught.value.status == 429 and "过于频繁" in caught.value.message and "分钟后再试" in caught.value.message
    settings.PUBLIC_SMS_PER_ADDRESS_HOUR = 3
    ip = rf_request("192.0.2.7")
    for i in range(3):
        services.do_send_sms_code(ip, f"1390000000{i}", now=now)
    with pytest.raises(services.RateLimited):
        services.do_send_sms_code(ip, "13900000009", now=now)


def test_registration_is_rate_limited_per_address_and_per_mobile(rf_request: Any, settings: Any) -> None:
    settings.PUBLIC_REGISTER_PER_ADDRESS_HOUR = 3
    request = rf_request("192.0.2.50")
    for _ in range(3):
        with pytest.raises(DomainError) as caught:
            services.do_register_person(request, **_fields("13800008888", name=""))
        assert caught.value.status == 400
    with pytest.raises(services.RateLimited) as caught:
        services.do_register_person(request, **_fields("13800008888"))
    assert caught.value.status == 429 and "注册过于频繁" in caught.value.message
    settings.PUBLIC_REGISTER_PER_MOBILE_HOUR = 2
    for n in range(2):
        with pytest.raises(DomainError):
            services.do_register_person(rf_request(f"192.0.2.{60 + n}"), **_fields("13800009999", name=""))
    with pytest.raises(services.RateLimited) as caught:
        services.do_register_person(rf_request("192.0.2.70"), **_fields("13800009999"))
    assert caught.value.field == "mobile"


# --- 实名核验 -----------------------------------------------------------------------------------
def test_real_name_verification_against_the_population_data(register: Any, rf_request: Any, base_data: Any) -> None:
    user = register(1)
    profile = services.do_verify_real_name(user, name=NAMES[1], id_no=pid(1), request=rf_request(user=user))
    assert profile.level == AssuranceLevel.VERIFIED and profile.verified_at is not None
    assert queries.has_level(user, AssuranceLevel.VERIFIED) and not queries.has_level(user, AssuranceLevel.ADVANCED)
    record = AuditRecord.objects.get(action="public.realname_verify")
    assert record.result == "success" and pid(1) not in str(record.details)
    assert "人口基本信息" in record.details["source"]


def test_a_wrong_pair_gets_one_message_whether_or_not_the_number_exists(
    register: Any, rf_request: Any, base_data: Any
) -> None:
    user = register(1)
    answers = []
    for name, number in [
        ("王五岳", pid(1)),  # a number the population data holds, with another person's name
        (NAMES[1], pid(77)),  # a well-formed number it does not hold
        (NAMES[1], pid(2)),  # another existing person's number
    ]:
        with pytest.raises(DomainError) as caught:
            services.do_verify_real_name(user, name=name, id_no=number, request=rf_request(user=user))
        answers.append((type(caught.value), caught.value.status, caught.value.field, caught.value.message))
    assert len(set(answers)) == 1 and answers[0][3] == services.PERSON_MISMATCH
    assert PublicProfile.objects.get(user=user).level == AssuranceLevel.NONE
    assert AuditRecord.objects.filter(action="public.realname_verify", result="failure").count() == 3


def test_verification_attempts_are_rate_limited(register: Any, rf_request: Any, base_data: Any) -> None:
    user = register(1)
    for _ in range(5):
        with pytest.raises(DomainError):
            services.do_verify_real_name(user, name="王五岳", id_no=pid(1), request=rf_request(user=user))
    with pytest.raises(services.RateLimited):  # even the right pair, until the window passes
        services.do_verify_real_name(user, name=NAMES[1], id_no=pid(1), request=rf_request(user=user))


def test_without_population_data_the_check_never_passes(register: Any, rf_request: Any) -> None:
    user = register(1)
    with pytest.raises(VerifierUnavailable) as caught:
        services.do_verify_real_name(user, name=NAMES[1], id_no=pid(1), request=rf_request(user=user))
    assert caught.value.status == 503
    assert PublicProfile.objects.get(user=user).level == AssuranceLevel.NONE


def test_advanced_level_only_by_an_in_person_verifier(
    verified: Any, rf_request: Any, make_user: Any, make_unit: Any
) -> None:
    from tests.datahub.conftest import grant

    citizen = verified(1)
    clerk = make_user("window", full_name="窗口人员")
    with pytest.raises(PermissionDenied):
        services.do_verify_in_person(clerk, name=NAMES[1], id_no=pid(1))
    grant(clerk, services.IN_PERSON_ROLE, clerk.unit)
    services.do_verify_in_person(clerk, name=NAMES[1], id_no=pid(1), request=rf_request(user=clerk))
    assert queries.has_level(citizen, AssuranceLevel.ADVANCED)
    record = AuditRecord.objects.get(action="public.realname_in_person")
    assert record.actor == "window" and pid(1) not in str(record.details)
    queries.require_level(citizen, AssuranceLevel.ADVANCED)
    with pytest.raises(PermissionDenied) as caught:
        queries.require_level(verified(2), AssuranceLevel.ADVANCED)
    assert "高级实名" in caught.value.message


# --- 法人 ------------------------------------------------------------------------------------------
def test_the_legal_representative_binds_the_enterprise(verified: Any, rf_request: Any) -> None:
    rep = verified(1)
    uscc, name, _, _ = COMPANIES[0]
    enterprise = services.do_bind_enterprise(rep, uscc=uscc, ent_name=name, request=rf_request(user=rep))
    assert enterprise.legal_representative_id == rep.pk and enterprise.registration_status == "存续"
    assert queries.represented(rep, enterprise.pk) == enterprise


@pytest.mark.parametrize(("company", "name", "message"), [
    (0, "梅州市梅江区别的公司", services.ENTERPRISE_MISMATCH),  # wrong name
    (2, None, services.ENTERPRISE_MISMATCH),  # the registry names another legal representative
    (1, None, "注销"),  # 注销: not 存续/在业
])
def test_binding_is_refused_when_the_registry_disagrees(
    verified: Any, rf_request: Any, company: int, name: str | None, message: str
) -> None:
    rep = verified(1)
    uscc, registered, _, _ = COMPANIES[company]
    with pytest.raises(DomainError) as caught:
        services.do_bind_enterprise(rep, uscc=uscc, ent_name=name or registered, request=rf_request(user=rep))
    assert message in caught.value.message and caught.value.field == "uscc"
    assert not Enterprise.objects.exists()


def test_binding_needs_a_verified_person_and_a_valid_code(register: Any, verified: Any) -> None:
    unverified = register(3)
    with pytest.raises(PermissionDenied):
        services.do_bind_enterprise(unverified, uscc=COMPANIES[0][0], ent_name=COMPANIES[0][1])
    rep = verified(1)
    with pytest.raises(DomainError) as caught:
        services.do_bind_enterprise(rep, uscc="91441402MA000000X0", ent_name="某公司")
    assert caught.value.field == "uscc" and caught.value.message.startswith("统一社会信用代码")


def test_agents_are_authorised_and_revoked(verified: Any, rf_request: Any) -> None:
    rep, agent = verified(1), verified(2)
    enterprise = services.do_bind_enterprise(rep, uscc=COMPANIES[0][0], ent_name=COMPANIES[0][1])
    with pytest.raises(DomainError) as caught:  # the name must go with the number
        services.do_authorise_agent(rep, enterprise.pk, name="王五岳", id_no=pid(2))
    assert caught.value.message == services.AGENT_NOT_FOUND
    auth = services.do_authorise_agent(rep, enterprise.pk, name=NAMES[2], id_no=pid(2))
    with pytest.raises(PermissionDenied):  # an agent cannot authorise others
        services.do_authorise_agent(agent, enterprise.pk, name=NAMES[3], id_no=pid(3))
    request = rf_request(user=agent)
    services.do_switch_enterprise(request, enterprise.pk)
    assert queries.acting_enterprise(request) == enterprise
    services.do_revoke_agent(rep, auth.pk)
    assert queries.acting_enterprise(request) is None  # the very next look-up
    assert queries.ACTING_ENTERPRISE_KEY not in request.session
    with pytest.raises(PermissionDenied):
        services.do_switch_enterprise(request, enterprise.pk)
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {"public.enterprise_bind", "public.agent_authorise", "public.agent_revoke", "public.enterprise_switch"} <= actions


def test_a_person_acts_for_several_enterprises(verified: Any, rf_request: Any) -> None:
    rep1, rep2 = verified(1), verified(2)
    first = services.do_bind_enterprise(rep1, uscc=COMPANIES[0][0], ent_name=COMPANIES[0][1])
    second = services.do_bind_enterprise(rep2, uscc=COMPANIES[2][0], ent_name=COMPANIES[2][1])
    services.do_authorise_agent(rep2, second.pk, name=NAMES[1], id_no=pid(1))
    assert {a.enterprise_id for a in queries.active_authorisations(rep1)} == {first.pk, second.pk}
    request = rf_request(user=rep1)
    services.do_switch_enterprise(request, second.pk)
    assert queries.acting_authorisation(request).role == "agent"  # type: ignore[union-attr]
    services.do_switch_enterprise(request, first.pk)
    assert queries.acting_authorisation(request).role == "legal_rep"  # type: ignore[union-attr]


# --- PIPL -----------------------------------------------------------------------------------------
def test_export_lists_what_is_held_masked_and_is_audited(verified: Any) -> None:
    user = verified(1)
    rows = services.do_export_my_data(user)
    items = {r["item"]: r for r in rows}
    assert {"姓名", "公民身份号码", "手机号码", "实名等级", "用户协议", "操作审计记录"} <= set(items)
    assert items["公民身份号码"]["value"] != pid(1) and "*" in items["公民身份号码"]["value"]
    assert AuditRecord.objects.filter(action="public.data_export").count() == 1


def test_closing_deletes_personal_data_ends_authorisations_and_keeps_the_audit(
    verified: Any, rf_request: Any
) -> None:
    rep = verified(1)
    verified(2)
    enterprise = services.do_bind_enterprise(rep, uscc=COMPANIES[0][0], ent_name=COMPANIES[0][1])
    services.do_authorise_agent(rep, enterprise.pk, name=NAMES[2], id_no=pid(2))
    with pytest.raises(DomainError) as caught:
        services.do_close_account(rep, password="wrong")
    assert caught.value.field == "password"
    audit_before = AuditRecord.objects.count()
    services.do_close_account(rep, password=STRONG_PASSWORD, request=rf_request(user=rep))
    rep.refresh_from_db()
    profile = PublicProfile.objects.get(user=rep)
    assert not rep.is_active and not rep.has_usable_password() and rep.full_name == "已注销用户" and rep.mobile == ""
    assert profile.id_no_hash is None and profile.id_no_encrypted == "" and profile.mobile is None
    assert profile.closed_at is not None and profile.level == AssuranceLevel.NONE
    assert not EnterpriseAuthorisation.objects.filter(enterprise=enterprise, revoked_at__isnull=True).exists()
    assert AuditRecord.objects.count() > audit_before  # nothing deleted; the closing itself recorded
    assert AuditRecord.objects.filter(action="public.account_close").exists()
    # The number is free again: the person may register anew.
    assert queries.profile_by_id_no(pid(1)) is None
