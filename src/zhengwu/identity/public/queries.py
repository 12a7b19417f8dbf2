"""Reads of the public accounts: look-ups by mobile / identity number, the acting enterprise,
levels of assurance, and what the platform holds about a person (PIPL).

For other apps
--------------
- `has_level(user, level)` / `require_level(user, level)`: whether the signed-in public account
  has at least `AssuranceLevel.VERIFIED` (已实名) or `ADVANCED` (高级实名); `require_level`
  raises `PermissionDenied` with the Chinese reason.
- `acting_enterprise(request)` / `acting_authorisation(request)`: the enterprise the signed-in
  person acts for now (kept in the session, re-checked against the authorisations on every call:
  a revoked 经办人 gets None at once).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from zhengwu.core.crypto import decrypt_field, field_key, hmac_sm3
from zhengwu.core.errors import PermissionDenied
from zhengwu.core.masking import mask_text
from zhengwu.core.validators import check_mobile, check_resident_id
from zhengwu.directory.models import AccountKind

from .models import (
    AgentRole,
    AssuranceLevel,
    Enterprise,
    EnterpriseAuthorisation,
    PublicProfile,
    SmsOutboxMessage,
)

ACTING_ENTERPRISE_KEY = "public_acting_enterprise"


def keyed_hash(kind: str, value: str) -> str:
    """HMAC-SM3 of a personal value under the field key: equal values give equal hashes (look-up,
    uniqueness, rate-limit keys) and nobody without the key can test a guess against it."""
    return hmac_sm3(field_key(), f"public:{kind}:{value}".encode()).hex()


def id_no_context(user_id: int) -> str:
    return f"public-id-no:{user_id}"


def is_public(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "account_kind", "") == AccountKind.PUBLIC)


def profile_of(user: Any) -> PublicProfile | None:
    if not is_public(user):
        return None
    return PublicProfile.objects.filter(user=user).first()


def id_no_of(profile: PublicProfile) -> str:
    if not profile.id_no_encrypted:
        return ""
    return decrypt_field(profile.id_no_encrypted, id_no_context(profile.user_id))


def masked_id_no(profile: PublicProfile) -> str:
    value = id_no_of(profile)
    return mask_text(value) if value else ""


def masked_mobile(mobile: str) -> str:
    return mask_text(mobile) if mobile else ""


def masked_name(name: str) -> str:
    """The surname and stars (张**), as the portal shows a person's name."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def profile_by_id_no(id_no: str) -> PublicProfile | None:
    return PublicProfile.objects.filter(id_no_hash=keyed_hash("id_no", id_no)).select_related("user").first()


def find_login_account(identifier: str) -> Any:
    """The active-or-not public account a login identifier (mobile number or identity number) names."""
    text = (identifier or "").strip()
    if not text:
        return None
    mobile = check_mobile(text)
    if mobile.ok:
        profile = PublicProfile.objects.filter(mobile=mobile.normalized).select_related("user").first()
    else:
        resident = check_resident_id(text)
        profile = profile_by_id_no(resident.normalized) if resident.ok else None
    if profile is None or profile.user.account_kind != AccountKind.PUBLIC:
        return None
    return profile.user


def login_key(identifier: str, user: Any) -> str:
    """The name the lockout machinery counts failures under: the account's (opaque) username when
    the identifier names an account — so its mobile number and its identity number share one
    counter — else a keyed hash of what was typed (never the number itself)."""
    if user is not None:
        return str(user.get_username()).lower()
    return "public:" + keyed_hash("login", (identifier or "").strip().upper())[:40]


def level_of(user: Any) -> int:
    profile = profile_of(user)
    return AssuranceLevel.NONE if profile is None or profile.closed_at else int(profile.level)


def has_level(user: Any, level: int) -> bool:
    return level_of(user) >= int(level)


def require_level(user: Any, level: int) -> None:
    if not has_level(user, level):
        label = AssuranceLevel(level).label
        raise PermissionDenied(f"该事项要求{label}，请先在个人中心完成实名认证（当前：{AssuranceLevel(level_of(user)).label}）")


# --- enterprises --------------------------------------------------------------------------------
def active_authorisations(user: Any) -> QuerySet[EnterpriseAuthorisation]:
    return (
        EnterpriseAuthorisation.objects.filter(person=user, revoked_at__isnull=True)
        .select_related("enterprise")
        .order_by("enterprise__name", "id")
    )


def authorisation(user: Any, enterprise_id: Any) -> EnterpriseAuthorisation | None:
    if not is_public(user):
        return None
    try:
        pk = int(enterprise_id)
    except (TypeError, ValueError):
        return None
    return active_authorisations(user).filter(enterprise_id=pk).first()


def acting_authorisation(request: HttpRequest) -> EnterpriseAuthorisation | None:
    """The authorisation the signed-in person acts under now, checked in the database on every
    call (not cached): when it was revoked the session forgets it and None is returned."""
    chosen = request.session.get(ACTING_ENTERPRISE_KEY)
    if chosen is None:
        return None
    found = authorisation(request.user, chosen)
    if found is None:
        request.session.pop(ACTING_ENTERPRISE_KEY, None)
    return found


def acting_enterprise(request: HttpRequest) -> Enterprise | None:
    """The enterprise of `acting_authorisation` (what the portal's 企业中心 shows), or None."""
    found = acting_authorisation(request)
    return None if found is None else found.enterprise


def represented(user: Any, enterprise_id: Any) -> Enterprise | None:
    """The enterprise when `user` is its legal representative (active), else None."""
    found = authorisation(user, enterprise_id)
    if found is None or found.role != AgentRole.LEGAL_REPRESENTATIVE:
        return None
    return found.enterprise


def agents_of(enterprise: Enterprise) -> QuerySet[EnterpriseAuthorisation]:
    return enterprise.authorisations.filter(role=AgentRole.AGENT).select_related("person", "granted_by")


# --- the SMS outbox (development sender) ----------------------------------------------------------
def outbox(limit: int = 100) -> list[SmsOutboxMessage]:
    return list(SmsOutboxMessage.objects.all()[:limit])


# --- PIPL: what is held ---------------------------------------------------------------------------
def held_data(user: Any) -> list[dict[str, str]]:
    """Every item held about the person: what, the value as shown (masked), why, how long."""
    profile = profile_of(user)
    if profile is None:
        return []
    from zhengwu.identity.models import LoginAttempt, TOTPDevice

    rows = [
        {"item": "姓名", "value": masked_name(user.full_name), "purpose": "识别账号本人；实名核验",
         "keep": "账号存续期间；注销时删除"},
        {"item": "公民身份号码", "value": masked_id_no(profile) or "（未填写）",
         "purpose": "实名核验；办事时证明身份（加密存储）", "keep": "账号存续期间；注销时删除"},
        {"item": "手机号码", "value": masked_mobile(profile.mobile or ""), "purpose": "登录；接收验证码和办理通知",
         "keep": "账号存续期间；注销时删除"},
        {"item": "实名等级", "value": profile.get_level_display(), "purpose": "办事事项要求的身份核验等级",
         "keep": "账号存续期间；注销时删除"},
        {"item": "用户协议", "value": f"版本 {profile.terms_version}，同意于 {_local(profile.terms_accepted_at)}",
         "purpose": "证明您同意了个人信息处理规则（个人信息保护法第十四条）", "keep": "账号存续期间"},
        {"item": "动态口令", "value": "已启用" if TOTPDevice.objects.filter(user=user, confirmed=True).exists() else "未启用",
         "purpose": "登录第二因素（密钥加密存储）", "keep": "停用或注销时删除"},
        {"item": "登录记录", "value": f"{LoginAttempt.objects.filter(user=user).count()} 条",
         "purpose": "账号安全（登录失败锁定）", "keep": "190 天（网络安全法第二十一条：日志不少于六个月）"},
    ]
    for auth in active_authorisations(user):
        rows.append({
            "item": "企业授权", "value": f"{auth.enterprise.name}（{auth.get_role_display()}）",
            "purpose": "代表企业办理事项", "keep": "授权存续期间；撤销后保留记录备查",
        })
    rows.append({
        "item": "操作审计记录", "value": "您的登录、核验、授权等操作", "purpose": "安全审计（网络安全法第二十一条）",
        "keep": "按法律要求保留，注销后不删除",
    })
    return rows


def _local(dt: Any) -> str:
    from django.utils import timezone

    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M") if dt else ""
