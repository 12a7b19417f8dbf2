"""Read helpers for identity: the policy, locks, login history, second factors (TOTP, WebAuthn)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.directory.models import AdminRole, RoleGrant
from zhengwu.directory.permissions import ensure_admin

from .models import LockKind, LoginAttempt, LoginLock, SecurityPolicy, TOTPDevice, WebAuthnCredential

_REQUEST_CACHE_ATTR = "_identity_security_policy"


def get_policy(request: HttpRequest | None = None) -> SecurityPolicy:
    """The security policy (defaults when never saved). Cached on `request` for its lifetime."""
    if request is not None:
        cached = getattr(request, _REQUEST_CACHE_ATTR, None)
        if cached is not None:
            return cached
    policy = SecurityPolicy.objects.filter(pk=SecurityPolicy.SINGLETON_ID).first()
    if policy is None:
        policy = SecurityPolicy(pk=SecurityPolicy.SINGLETON_ID)
    if request is not None:
        setattr(request, _REQUEST_CACHE_ATTR, policy)
    return policy


def forget_cached_policy(request: HttpRequest | None) -> None:
    if request is not None and hasattr(request, _REQUEST_CACHE_ATTR):
        delattr(request, _REQUEST_CACHE_ATTR)


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()[:150]


def totp_required(user: Any, policy: SecurityPolicy | None = None) -> bool:
    """Whether the user must have a second factor: administrators always; everyone else when the
    policy says so. (The name is historical: a WebAuthn credential satisfies it as well as TOTP.)"""
    if getattr(user, "admin_role", ""):
        return True
    return bool((policy or get_policy()).totp_required_for_all)


def confirmed_totp_device(user: Any) -> TOTPDevice | None:
    if user is None or user.pk is None:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_totp(user: Any) -> bool:
    return confirmed_totp_device(user) is not None


def second_factor_required(user: Any, policy: SecurityPolicy | None = None) -> bool:
    return totp_required(user, policy)


def webauthn_credentials_of(user: Any) -> list[WebAuthnCredential]:
    """The user's own registered security keys / platform authenticators, oldest first."""
    if user is None or user.pk is None:
        return []
    return list(WebAuthnCredential.objects.filter(user=user).order_by("created_at", "id"))


def has_webauthn(user: Any) -> bool:
    return user is not None and user.pk is not None and WebAuthnCredential.objects.filter(user=user).exists()


def second_factors(user: Any) -> list[str]:
    """The second factors the user can log in with, the one offered first first: "webauthn"
    (phishing-resistant) before "totp"."""
    factors = []
    if has_webauthn(user):
        factors.append("webauthn")
    if has_totp(user):
        factors.append("totp")
    return factors


def webauthn_holders(actor: Any, username: str = "") -> QuerySet[WebAuthnCredential]:
    """Every registered security key, or those of one account (安全管理员 only)."""
    ensure_admin(actor, AdminRole.SECURITY)
    qs = WebAuthnCredential.objects.select_related("user").order_by("user__username", "created_at")
    if username:
        qs = qs.filter(user__username__iexact=username.strip())
    return qs


def active_lock(kind: str, key: str, now: datetime | None = None) -> LoginLock | None:
    """The lock in force on this account name or address, if any."""
    if not key:
        return None
    now = now or timezone.now()
    return (
        LoginLock.objects.filter(kind=kind, key=key, unlocked_at__isnull=True, locked_until__gt=now)
        .order_by("-locked_until")
        .first()
    )


def latest_lock(kind: str, key: str) -> LoginLock | None:
    return LoginLock.objects.filter(kind=kind, key=key).order_by("-locked_at", "-id").first()


def active_locks(actor: Any, now: datetime | None = None) -> QuerySet[LoginLock]:
    """Every lock in force (安全管理员 only)."""
    ensure_admin(actor, AdminRole.SECURITY)
    now = now or timezone.now()
    return LoginLock.objects.filter(unlocked_at__isnull=True, locked_until__gt=now).select_related("user")


def recent_failures(actor: Any, limit: int = 50) -> QuerySet[LoginAttempt]:
    ensure_admin(actor, AdminRole.SECURITY)
    return LoginAttempt.objects.filter(success=False).select_related("user")[:limit]


def password_expires_at(user: Any, policy: SecurityPolicy | None = None) -> datetime | None:
    policy = policy or get_policy()
    changed = getattr(user, "password_changed_at", None) or getattr(user, "date_joined", None)
    if changed is None:
        return None
    return changed + timedelta(days=policy.password_max_age_days)


def password_change_reason(
    user: Any, policy: SecurityPolicy | None = None, now: datetime | None = None
) -> str:
    """Why the user must change their password before anything else: "must_change", "expired" or ""."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if getattr(user, "must_change_password", False):
        return "must_change"
    expires = password_expires_at(user, policy)
    if expires is not None and expires <= (now or timezone.now()):
        return "expired"
    return ""


def last_logins(user: Any, limit: int = 5) -> list[LoginAttempt]:
    """The user's own recent login attempts (successes and failures) for the 账号与安全 page."""
    return list(
        LoginAttempt.objects.filter(Q(user=user) | Q(username=normalise_username(user.get_username())))[
            :limit
        ]
    )


def previous_successful_login(user: Any) -> LoginAttempt | None:
    """The successful login before the current one (the current session's is the newest)."""
    rows = list(LoginAttempt.objects.filter(user=user, success=True)[:2])
    return rows[1] if len(rows) > 1 else None


def failures_since_last_login(user: Any) -> int:
    last_two = list(LoginAttempt.objects.filter(user=user, success=True)[:2])
    qs = LoginAttempt.objects.filter(username=normalise_username(user.get_username()), success=False)
    if len(last_two) == 2:
        qs = qs.filter(occurred_at__gt=last_two[1].occurred_at, occurred_at__lt=last_two[0].occurred_at)
    elif last_two:
        qs = qs.filter(occurred_at__lt=last_two[0].occurred_at)
    return qs.count()


def business_roles(user: Any) -> list[dict[str, Any]]:
    grants = (
        RoleGrant.objects.filter(user=user).select_related("role", "unit").order_by("role__code", "unit_id")
    )
    return [
        {"code": g.role.code, "name": g.role.name, "unit_id": g.unit_id, "unit_name": g.unit.name}
        for g in grants
    ]


def lock_kind_label(kind: str) -> str:
    return str(LockKind(kind).label)
