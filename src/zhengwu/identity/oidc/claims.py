"""Claims by scope: what a unit's system learns about the person who signs in.

| scope   | claims |
|---------|--------|
| openid  | `sub` (a random identifier kept per user, stable, never the username), `account_kind` |
| profile | `name` |
| unit    | `unit`: {"name", "code" (统一社会信用代码), "division_code", "level", "level_name"} (staff) |
| roles   | `roles`: [{"code", "name", "unit"}] — the staff member's business roles |

Public accounts (公众用户) carry only what the account has: `sub`, `account_kind`, `name`. The
public-accounts app adds its own claims (e.g. the real-name assurance level) by registering a
provider with `register_public_claims(fn)`: fn(user, scopes) -> dict, called for public accounts
only; its keys must be listed in `PUBLIC_CLAIM_SCOPES` through the same call.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

SCOPES: dict[str, str] = {
    "openid": "确认您的身份（唯一标识）",
    "profile": "姓名",
    "unit": "所在单位（名称、统一社会信用代码、层级）",
    "roles": "在各单位担任的业务角色",
    "introspection": "核验其他系统出示的访问令牌（仅限服务端系统）",
    "sharing": "通过数据服务网关读取本单位获得共享授权的数据（仅限服务端系统）",
}
# Scopes a unit may ask for when registering (introspection and sharing only for service clients).
USER_SCOPES = ["openid", "profile", "unit", "roles"]
SERVICE_SCOPES = ["introspection", "sharing"]
CLAIM_SCOPE: dict[str, str] = {
    "sub": "openid",
    "account_kind": "openid",
    "sid": "openid",
    "name": "profile",
    "unit": "unit",
    "roles": "roles",
}

PublicClaims = Callable[[Any, list[str]], dict[str, Any]]
_public_providers: list[PublicClaims] = []


def register_public_claims(provider: PublicClaims, claim_scopes: dict[str, str] | None = None) -> None:
    """Extension point for the public-accounts app (see the module doc)."""
    if provider not in _public_providers:
        _public_providers.append(provider)
    CLAIM_SCOPE.update(claim_scopes or {})


def subject_for(user: Any) -> str:
    """The user's `sub`: created on first use, then never changed."""
    from .models import Subject

    existing = Subject.objects.filter(user=user).values_list("sub", flat=True).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Subject.objects.create(user=user, sub=secrets.token_urlsafe(24)).sub
    except IntegrityError:  # created meanwhile by another request
        return Subject.objects.get(user=user).sub


def _unit(unit: Any) -> dict[str, Any]:
    return {
        "name": unit.name,
        "code": unit.uscc or "",
        "division_code": unit.division_code,
        "level": unit.level,
        "level_name": unit.get_level_display(),
    }


def claims_for(user: Any, scopes: list[str]) -> dict[str, Any]:
    """Every claim the scopes allow for this user (no `sid`: that belongs to the session)."""
    from zhengwu.directory.models import AccountKind, RoleGrant

    granted = set(scopes)
    claims: dict[str, Any] = {"sub": subject_for(user), "account_kind": user.account_kind}
    if "profile" in granted:
        claims["name"] = user.full_name
    if user.account_kind == AccountKind.PUBLIC:
        for provider in _public_providers:
            extra = provider(user, list(granted))
            claims.update({k: v for k, v in extra.items() if CLAIM_SCOPE.get(k) in granted})
        return claims
    if "unit" in granted and user.unit_id:
        claims["unit"] = _unit(user.unit)
    if "roles" in granted:
        grants = RoleGrant.objects.filter(user=user).select_related("role", "unit").order_by("role__code", "unit_id")
        claims["roles"] = [{"code": g.role.code, "name": g.role.name, "unit": g.unit.name} for g in grants]
    return claims


def claim_names_for(scopes: list[str]) -> list[str]:
    """The Chinese descriptions shown on the consent page."""
    return [SCOPES[s] for s in scopes if s in SCOPES]
