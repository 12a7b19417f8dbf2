"""Permission checks shared by every app's services, queries and views.

三权分立: each administrator works only in their own console, so a view for the audit console
requires exactly `AdminRole.AUDIT`; a system administrator is refused there, and vice versa.
Administrators reach a console only after their second factor (identity logs them in only then).
"""

from __future__ import annotations

from typing import Any

from zhengwu.core.errors import PermissionDenied
from zhengwu.core.roles import AdminRole, ensure_admin, is_admin, require_admin_role

from .models import RoleGrant, Unit

__all__ = ["AdminRole", "ensure_admin", "ensure_business_role", "has_business_role", "is_admin", "require_admin_role"]


def has_business_role(user: Any, role_code: str, unit: Unit | None = None) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.admin_role:
        return False
    grants = RoleGrant.objects.filter(user=user, role__code=role_code)
    if unit is not None:
        grants = grants.filter(unit=unit)
    return grants.exists()


def ensure_business_role(actor: Any, role_code: str, unit: Unit | None = None) -> None:
    if not has_business_role(actor, role_code, unit):
        raise PermissionDenied("您没有执行此操作所需的业务角色")
