"""State changes of the public accounts: registration, SMS codes, real-name verification (实名核验),
enterprises (法人) and their 经办人, the public login, and the PIPL rights (export, closing).

Every function checks its permission, writes in one transaction with its audit record
(zhengwu.audit.services.record_event), and refuses bad input with a Chinese DomainError naming
the field. Identity numbers never reach an audit record or a log in clear: they are masked
(zhengwu.core.masking) there. Real-name checks ask the verifier registry (zhengwu.core.verifiers);
nothing of the base data is kept here.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import record_event
from zhengwu.core import verifiers
from zhengwu.core.crypto import encrypt_field
from zhengwu.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from zhengwu.core.http import client_ip
from zhengwu.core.masking import mask_text
from zhengwu.core.validators import check_mobile, check_resident_id, check_uscc
from zhengwu.directory.models import AccountKind
from zhengwu.identity import services as identity_services
from zhengwu.identity.models import TOTPDevice

from . import queries, sms
from .models import (
    AgentRole,
    AssuranceLevel,
    Enterprise,
    EnterpriseAuthorisation,
    PublicProfile,
    RateEvent,
    SmsCode,
    SmsPurpose,
)

IN_PERSON_ROLE = "identity_verifier"  # 实名核验员 (data migration 0002)
ACTIVE_STATUSES = ("存续", "在业")

PERSON_MISMATCH = "姓名与公民身份号码核验不一致，未通过实名核验。请核对后重试，或携带身份证到政务服务窗口办理。"
ENTERPRISE_MISMATCH = (
    "统一社会信用代码、企业名称或法定代表人与市场主体登记信息不一致，未通过企业认证。"
    "只有已实名的法定代表人本人可以认证企业。"
)
AGENT_NOT_FOUND = "未找到与该姓名和公民身份号码一致的已实名用户：请对方先注册并完成实名认证，再核对姓名和号码。"
BAD_SMS_CODE = "短信验证码不正确或已失效，请重新获取"

_NAME = re.compile(r"^[\u3400-\u9fffA-Za-z·•．. ]{2,50}$")


class RateLimited(DomainError):
    """Too many attempts: HTTP 429 with a Chinese message saying when to try again."""

    status = 429


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --- rate limits --------------------------------------------------------------------------------
def _check_rate(kind: str, value: str, *, limit: int, window: timedelta, what: str, now: datetime,
                field: str | None = None) -> None:
    """Refuse (429) when `limit` events of `kind` for `value` happened within `window`; else count one."""
    if not value:
        return
    key = queries.keyed_hash(f"rate:{kind}", value)[:64]
    since = now - window
    events = RateEvent.objects.filter(kind=kind, key=key, occurred_at__gt=since)
    if events.count() >= limit:
        oldest = events.order_by("occurred_at").values_list("occurred_at", flat=True).first() or now
        minutes = max(1, int(((oldest + window) - now).total_seconds() // 60) + 1)
        raise RateLimited(f"{what}过于频繁，请 {minutes} 分钟后再试", field)
    RateEvent.objects.create(kind=kind, key=key, occurred_at=now)


def do_purge_rate_events(*, now: datetime | None = None) -> int:
    """Delete counters older than a day (the longest window)."""
    deleted, _ = RateEvent.objects.filter(occurred_at__lt=_now(now) - timedelta(days=1)).delete()
    SmsCode.objects.filter(expires_at__lt=_now(now) - timedelta(days=1)).delete()
    return deleted


# --- input checks -------------------------------------------------------------------------------
def clean_name(value: str, field: str = "name") -> str:
    name = " ".join((value or "").split())
    if not name:
        raise DomainError("姓名：请填写", field)
    if not _NAME.match(name):
        raise DomainError("姓名：应为 2—50 个汉字或字母（可含间隔号“·”）", field)
    return name


def clean_id_no(value: str, field: str = "id_no") -> str:
    result = check_resident_id(value)
    if not result.ok:
        raise DomainError(f"公民身份号码：{result.reason}", field)
    return result.normalized


def clean_mobile(value: str, field: str = "mobile") -> str:
    result = check_mobile(value)
    if not result.ok:
        raise DomainError(f"手机号码：{result.reason}", field)
    return result.normalized


def _code_hash(mobile: str, code: str) -> str:
    return queries.keyed_hash("sms", f"{mobile}:{code}")


# --- SMS codes ------------------------------------------------------------------------------------
def do_send_sms_code(request: HttpRequest | None, mobile: str, purpose: str = SmsPurpose.REGISTER,
                     *, now: datetime | None = None) -> SmsCode:
    """Send a six-digit code (valid ZHENGWU_SMS_CODE_MINUTES, default 5) to a mobile number.
    Rate limited: one a minute and a few an hour per number, and per source address."""
    now = _now(now)
    mobile = clean_mobile(mobile)
    if purpose not in SmsPurpose.values:
        raise DomainError("验证码用途不正确", "purpose")
    ip = client_ip(request)
    with transaction.atomic():
        _check_rate("sms_min", mobile, limit=1, window=timedelta(seconds=60), what="获取验证码", now=now, field="mobile")
        _check_rate("sms_mobile", mobile, limit=_setting("PUBLIC_SMS_PER_MOBILE_HOUR", 5), window=timedelta(hours=1),
                    what="该手机号码获取验证码", now=now, field="mobile")
        _check_rate("sms_ip", ip, limit=_setting("PUBLIC_SMS_PER_ADDRESS_HOUR", 20), window=timedelta(hours=1),
                    what="您所在网络地址获取验证码", now=now, field="mobile")
    code = f"{secrets.randbelow(1_000_000):06d}"
    minutes = _setting("SMS_CODE_MINUTES", 5)
    with transaction.atomic():
        # A new code replaces the earlier ones of the same number and purpose.
        SmsCode.objects.filter(mobile=mobile, purpose=purpose, used_at__isnull=True).update(used_at=now)
        row = SmsCode.objects.create(
            mobile=mobile, purpose=purpose, code_hash=_code_hash(mobile, code), created_at=now,
            expires_at=now + timedelta(minutes=minutes), source_ip=ip,
        )
        sms.sender().send(mobile, f"【{_platform()}】您的验证码为 {code}，{minutes} 分钟内有效。请勿告诉他人。")
        record_event(None, "public.sms_send", object_type="public.sms_code", object_id=row.pk,
                     details={"mobile": mask_text(mobile), "purpose": purpose}, request=request)
    return row


def _platform() -> str:
    return str(getattr(settings, "PLATFORM_NAME", "政务服务"))


def _check_sms_code(mobile: str, code: str, purpose: str, now: datetime) -> int:
    """The id of the matching live code. A wrong code counts a try in its own transaction, so the
    count survives the refusal; the fifth wrong try burns the code. The caller consumes the code
    (`_consume_sms_code`) in the transaction of what it proves."""
    cleaned = re.sub(r"\s+", "", code or "")
    if not re.fullmatch(r"\d{6}", cleaned):
        raise DomainError("短信验证码：应为 6 位数字", "sms_code")
    matched = None
    with transaction.atomic():
        row = (
            SmsCode.objects.select_for_update()
            .filter(mobile=mobile, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at").first()
        )
        if row is not None:
            if hmac.compare_digest(row.code_hash, _code_hash(mobile, cleaned)):
                matched = row.pk
            else:
                tries = row.failed_tries + 1
                SmsCode.objects.filter(pk=row.pk).update(
                    failed_tries=tries, used_at=now if tries >= _setting("SMS_CODE_MAX_TRIES", 5) else None
                )
    if matched is None:
        raise DomainError(f"短信验证码：{BAD_SMS_CODE}", "sms_code")
    return matched


def _consume_sms_code(code_id: int, now: datetime) -> None:
    if not SmsCode.objects.filter(pk=code_id, used_at__isnull=True).update(used_at=now):
        raise DomainError(f"短信验证码：{BAD_SMS_CODE}", "sms_code")  # used meanwhile by another request


# --- registration ---------------------------------------------------------------------------------
def do_register_person(
    request: HttpRequest | None, *, name: str, id_no: str, mobile: str, sms_code: str, password: str,
    password2: str, consent: bool, terms_version: str, now: datetime | None = None,
) -> Any:
    """Register a 自然人 (未实名 until 实名核验). Every field is checked first; nothing is written
    unless all pass. Rate limited per source address and per mobile number. `terms_version` is
    the version of the 用户协议/隐私政策 shown to the person (the portal keeps the texts), recorded
    with the time of consent."""
    now = _now(now)
    ip = client_ip(request)
    raw_mobile = (mobile or "").strip()
    with transaction.atomic():
        _check_rate("register_ip", ip, limit=_setting("PUBLIC_REGISTER_PER_ADDRESS_HOUR", 10),
                    window=timedelta(hours=1), what="您所在网络地址的注册", now=now)
        mobile_key = check_mobile(raw_mobile).normalized or raw_mobile
        _check_rate("register_mobile", mobile_key, limit=_setting("PUBLIC_REGISTER_PER_MOBILE_HOUR", 5),
                    window=timedelta(hours=1), what="该手机号码的注册", now=now, field="mobile")
    name = clean_name(name)
    id_no = clean_id_no(id_no)
    mobile = clean_mobile(mobile)
    if not password:
        raise DomainError("密码：请填写", "password")
    user_model = get_user_model()
    user = user_model(
        username=f"p{secrets.token_hex(8)}", full_name=name, account_kind=AccountKind.PUBLIC, unit=None,
        mobile=mobile,
    )
    try:
        identity_services.check_new_password(password, user)
    except DomainError as exc:
        raise DomainError(f"密码：{exc.message}", "password") from exc
    if password != password2:
        raise DomainError("确认密码：两次输入的密码不一致", "password2")
    if not consent:
        raise DomainError("用户协议：请阅读并同意《用户协议》和《隐私政策》后再注册", "consent")
    code_id = _check_sms_code(mobile, sms_code, SmsPurpose.REGISTER, now)
    with transaction.atomic():
        _consume_sms_code(code_id, now)
        if PublicProfile.objects.filter(mobile=mobile).exists():
            raise Conflict("手机号码：该手机号码已注册，请直接登录", "mobile")
        id_hash = queries.keyed_hash("id_no", id_no)
        if PublicProfile.objects.filter(id_no_hash=id_hash).exists():
            raise Conflict("公民身份号码：该号码已注册账号；如非本人注册，请到政务服务窗口办理", "id_no")
        user.set_password(password)
        user.password_changed_at = now
        user.save()
        profile = PublicProfile.objects.create(
            user=user, mobile=mobile, id_no_hash=id_hash,
            id_no_encrypted=encrypt_field(id_no, queries.id_no_context(user.pk)),
            terms_version=terms_version[:32], terms_accepted_at=now,
        )
        record_event(user, "public.register", object_type="directory.user", object_id=user.pk, request=request,
                     details={"mobile": mask_text(mobile), "id_no": mask_text(id_no),
                              "terms_version": profile.terms_version})
    return user


# --- login ----------------------------------------------------------------------------------------
def do_public_login(request: HttpRequest, identifier: str, password: str, *, next_url: str = "",
                    now: datetime | None = None) -> identity_services.LoginResult:
    """Password step of the portal login (mobile number or identity number): the staff login's
    machinery (lockout of the account and of the address, audit), for public accounts only."""
    return identity_services.do_password_step(
        request, identifier, password, next_url=next_url, now=now, population=AccountKind.PUBLIC
    )


def _ensure_public(actor: Any) -> PublicProfile:
    profile = queries.profile_of(actor)
    if profile is None or not actor.is_active or profile.closed_at is not None:
        raise PermissionDenied("请先用公众账号登录门户")
    return profile


# --- real-name verification -----------------------------------------------------------------------
def do_verify_real_name(actor: Any, *, name: str, id_no: str, request: HttpRequest | None = None,
                        now: datetime | None = None) -> PublicProfile:
    """实名核验: the name and number must match the population base resource (via core.verifiers).
    A wrong pair gets one message whether or not the number exists there. Rate limited."""
    now = _now(now)
    profile = _ensure_public(actor)
    with transaction.atomic():
        _check_rate("verify_account", str(actor.pk), limit=_setting("PUBLIC_VERIFY_PER_ACCOUNT_DAY", 5),
                    window=timedelta(days=1), what="实名核验", now=now)
        _check_rate("verify_ip", client_ip(request), limit=_setting("PUBLIC_VERIFY_PER_ADDRESS_HOUR", 20),
                    window=timedelta(hours=1), what="您所在网络地址的实名核验", now=now)
    name = clean_name(name)
    id_no = clean_id_no(id_no)
    match = verifiers.verify_person(id_no, name)
    details = {"id_no": mask_text(id_no), "source": match.source}
    if not match.matched:
        record_event(actor, "public.realname_verify", object_type="directory.user", object_id=actor.pk,
                     result=AuditResult.FAILURE, details=details, request=request)
        raise DomainError(PERSON_MISMATCH, "id_no")
    id_hash = queries.keyed_hash("id_no", id_no)
    with transaction.atomic():
        if PublicProfile.objects.filter(id_no_hash=id_hash).exclude(pk=profile.pk).exists():
            record_event(actor, "public.realname_verify", object_type="directory.user", object_id=actor.pk,
                         result=AuditResult.FAILURE, details={**details, "reason": "held_by_other"}, request=request)
            raise Conflict("公民身份号码：该号码已被另一账号实名，请到政务服务窗口办理", "id_no")
        profile = PublicProfile.objects.select_for_update().get(pk=profile.pk)
        profile.id_no_hash = id_hash
        profile.id_no_encrypted = encrypt_field(id_no, queries.id_no_context(actor.pk))
        profile.level = max(int(profile.level), AssuranceLevel.VERIFIED)
        profile.verified_at = now
        profile.save(update_fields=["id_no_hash", "id_no_encrypted", "level", "verified_at"])
        actor.full_name = name
        actor.save(update_fields=["full_name"])
        record_event(actor, "public.realname_verify", object_type="directory.user", object_id=actor.pk,
                     details=details, request=request)
    return profile


def is_in_person_verifier(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and user.is_active
        and getattr(user, "account_kind", "") == AccountKind.STAFF and not user.admin_role
        and user.role_grants.filter(role__code=IN_PERSON_ROLE).exists()
    )


def do_verify_in_person(actor: Any, *, name: str, id_no: str, request: HttpRequest | None = None,
                        now: datetime | None = None) -> PublicProfile:
    """高级实名: staff at a service window (实名核验员) checked the person's identity card in person."""
    now = _now(now)
    if not is_in_person_verifier(actor):
        raise PermissionDenied("只有实名核验员可以办理高级实名")
    name = clean_name(name)
    id_no = clean_id_no(id_no)
    with transaction.atomic():
        profile = queries.profile_by_id_no(id_no)
        if (profile is None or profile.closed_at is not None or profile.level < AssuranceLevel.VERIFIED
                or profile.user.full_name != name):
            raise NotFound("未找到该姓名和公民身份号码的已实名账号：请本人先在门户注册并完成实名认证", "id_no")
        if profile.level >= AssuranceLevel.ADVANCED:
            raise Conflict("该账号已是高级实名", "id_no")
        profile = PublicProfile.objects.select_for_update().get(pk=profile.pk)
        profile.level = AssuranceLevel.ADVANCED
        profile.advanced_at = now
        profile.advanced_by = actor
        profile.save(update_fields=["level", "advanced_at", "advanced_by"])
        record_event(actor, "public.realname_in_person", object_type="directory.user", object_id=profile.user_id,
                     details={"id_no": mask_text(id_no)}, request=request)
    return profile


# --- enterprises ----------------------------------------------------------------------------------
def do_bind_enterprise(actor: Any, *, uscc: str, ent_name: str, request: HttpRequest | None = None,
                       now: datetime | None = None) -> Enterprise:
    """企业认证: the verified legal representative binds the enterprise with its credit code; the
    code, the name and the legal representative (= the actor) must match 市场主体登记信息, and the
    enterprise must be 存续/在业."""
    now = _now(now)
    profile = _ensure_public(actor)
    if profile.level < AssuranceLevel.VERIFIED:
        raise PermissionDenied("请先完成个人实名认证，再认证企业")
    result = check_uscc(uscc)
    if not result.ok:
        raise DomainError(f"统一社会信用代码：{result.reason}", "uscc")
    code = result.normalized
    ent_name = " ".join((ent_name or "").split())
    if not ent_name:
        raise DomainError("企业名称：请填写", "ent_name")
    if len(ent_name) > 200:
        raise DomainError("企业名称：最多 200 字", "ent_name")
    with transaction.atomic():
        _check_rate("enterprise_verify", str(actor.pk), limit=_setting("PUBLIC_ENTERPRISE_VERIFY_PER_ACCOUNT_DAY", 10),
                    window=timedelta(days=1), what="企业认证", now=now)
    record = verifiers.find_enterprise(code)
    details: dict[str, Any] = {"uscc": code, "source": record.source if record else ""}
    if record is None or record.name != ent_name or record.legal_representative != actor.full_name:
        record_event(actor, "public.enterprise_bind", object_type="public.enterprise", object_id=code,
                     result=AuditResult.FAILURE, details=details, request=request)
        raise DomainError(ENTERPRISE_MISMATCH, "uscc")
    if record.status not in ACTIVE_STATUSES:
        record_event(actor, "public.enterprise_bind", object_type="public.enterprise", object_id=code,
                     result=AuditResult.FAILURE, details={**details, "status": record.status}, request=request)
        raise DomainError(f"统一社会信用代码：该企业登记状态为“{record.status}”，只有存续（在业）的企业可以认证", "uscc")
    with transaction.atomic():
        enterprise = Enterprise.objects.select_for_update().filter(uscc=code).first()
        if enterprise is None:
            enterprise = Enterprise.objects.create(
                uscc=code, name=record.name, legal_representative=actor, registration_status=record.status,
                verified_at=now,
            )
        else:
            if enterprise.legal_representative_id == actor.pk and queries.represented(actor, enterprise.pk):
                raise Conflict("您已认证该企业", "uscc")
            # The registry now names the actor: the earlier representative's rights end here.
            EnterpriseAuthorisation.objects.filter(
                enterprise=enterprise, role=AgentRole.LEGAL_REPRESENTATIVE, revoked_at__isnull=True
            ).update(revoked_at=now, revoked_by=actor)
            EnterpriseAuthorisation.objects.filter(
                enterprise=enterprise, person=actor, revoked_at__isnull=True
            ).update(revoked_at=now, revoked_by=actor)
            enterprise.name, enterprise.legal_representative = record.name, actor
            enterprise.registration_status, enterprise.verified_at = record.status, now
            enterprise.save()
        EnterpriseAuthorisation.objects.create(
            enterprise=enterprise, person=actor, role=AgentRole.LEGAL_REPRESENTATIVE, granted_by=None, granted_at=now
        )
        record_event(actor, "public.enterprise_bind", object_type="public.enterprise", object_id=enterprise.pk,
                     details={**details, "name": enterprise.name}, request=request)
    return enterprise


def do_authorise_agent(actor: Any, enterprise_id: Any, *, name: str, id_no: str,
                       request: HttpRequest | None = None, now: datetime | None = None) -> EnterpriseAuthorisation:
    """The legal representative authorises a verified 自然人 (by name and identity number) as 经办人."""
    now = _now(now)
    _ensure_public(actor)
    enterprise = queries.represented(actor, enterprise_id)
    if enterprise is None:
        raise PermissionDenied("只有企业的法定代表人可以授权经办人")
    name = clean_name(name)
    id_no = clean_id_no(id_no)
    profile = queries.profile_by_id_no(id_no)
    if (profile is None or profile.closed_at is not None or profile.level < AssuranceLevel.VERIFIED
            or not profile.user.is_active or profile.user.full_name != name):
        raise DomainError(AGENT_NOT_FOUND, "id_no")
    person = profile.user
    if person.pk == actor.pk:
        raise DomainError("公民身份号码：法定代表人本人无需授权为经办人", "id_no")
    with transaction.atomic():
        if EnterpriseAuthorisation.objects.filter(enterprise=enterprise, person=person, revoked_at__isnull=True).exists():
            raise Conflict("该用户已是本企业的经办人", "id_no")
        try:
            with transaction.atomic():
                auth = EnterpriseAuthorisation.objects.create(
                    enterprise=enterprise, person=person, role=AgentRole.AGENT, granted_by=actor, granted_at=now
                )
        except IntegrityError as exc:
            raise Conflict("该用户已是本企业的经办人", "id_no") from exc
        record_event(actor, "public.agent_authorise", object_type="public.enterprise", object_id=enterprise.pk,
                     details={"agent": person.get_username(), "id_no": mask_text(id_no)}, request=request)
    return auth


def do_revoke_agent(actor: Any, authorisation_id: Any, *, request: HttpRequest | None = None,
                    now: datetime | None = None) -> EnterpriseAuthorisation:
    """The legal representative revokes an 经办人: the agent loses access on their next request."""
    now = _now(now)
    _ensure_public(actor)
    try:
        pk = int(authorisation_id)
    except (TypeError, ValueError):
        raise NotFound("授权不存在", "authorisation") from None
    with transaction.atomic():
        auth = (
            EnterpriseAuthorisation.objects.select_for_update()
            .filter(pk=pk, role=AgentRole.AGENT).select_related("enterprise").first()
        )
        if auth is None or queries.represented(actor, auth.enterprise_id) is None:
            raise NotFound("授权不存在", "authorisation")
        if auth.revoked_at is not None:
            raise Conflict("该授权已撤销", "authorisation")
        auth.revoked_at, auth.revoked_by = now, actor
        auth.save(update_fields=["revoked_at", "revoked_by"])
        record_event(actor, "public.agent_revoke", object_type="public.enterprise", object_id=auth.enterprise_id,
                     details={"agent": auth.person.get_username()}, request=request)
    return auth


def do_switch_enterprise(request: HttpRequest, enterprise_id: Any) -> EnterpriseAuthorisation | None:
    """Act for an enterprise (kept in the session), or as oneself (`enterprise_id` empty)."""
    actor = request.user
    _ensure_public(actor)
    if enterprise_id in (None, "", "0"):
        request.session.pop(queries.ACTING_ENTERPRISE_KEY, None)
        record_event(actor, "public.enterprise_switch", object_type="directory.user", object_id=actor.pk,
                     details={"enterprise": None}, request=request)
        return None
    auth = queries.authorisation(actor, enterprise_id)
    if auth is None:
        raise PermissionDenied("您不是该企业的法定代表人或经办人，或授权已撤销", "enterprise")
    request.session[queries.ACTING_ENTERPRISE_KEY] = auth.enterprise_id
    record_event(actor, "public.enterprise_switch", object_type="public.enterprise", object_id=auth.enterprise_id,
                 details={"role": auth.role}, request=request)
    return auth


# --- PIPL: export and closing ---------------------------------------------------------------------
def do_export_my_data(actor: Any, *, request: HttpRequest | None = None) -> list[dict[str, str]]:
    """The person's own data (as listed on the 个人信息 page), for download; audited."""
    _ensure_public(actor)
    rows = queries.held_data(actor)
    record_event(actor, "public.data_export", object_type="directory.user", object_id=actor.pk,
                 details={"items": len(rows)}, request=request)
    return rows


def do_close_account(actor: Any, *, password: str, request: HttpRequest | None = None,
                     now: datetime | None = None) -> None:
    """注销账号: deletes the name, identity number, mobile number, TOTP secret and SMS codes; ends
    the enterprise authorisations held or given; keeps the audit records and the login history
    (network-security law: logs at least six months). The session ends."""
    now = _now(now)
    profile = _ensure_public(actor)
    if len(password or "") > identity_services.MAX_PASSWORD_LENGTH or not actor.check_password(password or ""):
        raise DomainError("密码：当前密码不正确", "password")
    mobile = profile.mobile or ""
    with transaction.atomic():
        EnterpriseAuthorisation.objects.filter(person=actor, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor
        )
        for enterprise_id in Enterprise.objects.filter(legal_representative=actor).values_list("pk", flat=True):
            EnterpriseAuthorisation.objects.filter(enterprise_id=enterprise_id, revoked_at__isnull=True).update(
                revoked_at=now, revoked_by=actor
            )
        TOTPDevice.objects.filter(user=actor).delete()
        if mobile:
            SmsCode.objects.filter(mobile=mobile).delete()
        profile.mobile = None
        profile.id_no_hash = None
        profile.id_no_encrypted = ""
        profile.level = AssuranceLevel.NONE
        profile.closed_at = now
        profile.save()
        actor.full_name = "已注销用户"
        actor.mobile = ""
        actor.email = ""
        actor.first_name = actor.last_name = ""
        actor.is_active = False
        actor.set_unusable_password()
        actor.save()
        record_event(actor, "public.account_close", object_type="directory.user", object_id=actor.pk,
                     request=request)
    if request is not None:
        identity_services.do_logout(request)
