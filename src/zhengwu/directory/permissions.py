"""Permission checks shared by every app's services, queries and views.

三权分立: each administrator works only in their own console, so a view for the audit console
requires exactly `AdminRole.AUDIT`; a system administrator is refused there, and vice versa.
Administrators reach a console only after their second factor (identity logs them in only then).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from zhengwu.core.errors import PermissionDenied

from .models import AdminRole, RoleGrant, Unit

F = TypeVar("F", bound=Callable[..., HttpResponse])


def is_admin(user: Any, role: str) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.admin_role == role)


def ensure_admin(actor: Any, role: str) -> None:
    """Raise PermissionDenied unless `actor` is the given administrator."""
    if not is_admin(actor, role):
        raise PermissionDenied(f"仅{AdminRole(role).label}可执行此操作")


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


def require_admin_role(role: str) -> Callable[[F], F]:
    """View decorator: only the given administrator may open the page (403 page otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not is_admin(request.user, role):
                return render(
                    request,
                    "403.html",
                    {
                        "reason": f"此功能仅限{AdminRole(role).label}使用（三权分立：管理员只能使用本角色的控制台）。"
                    },
                    status=403,
                )
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
