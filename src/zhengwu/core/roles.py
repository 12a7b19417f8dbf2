"""The three administrators (三权分立) and the checks every console needs, below every domain app.

The values are stored in `directory.User.admin_role`; this module reads only that attribute, so
`audit` (and any app) can check an administrator without importing `directory` — the layering
is core < directory < audit < identity < catalog < datahub, and directory writes audit records.
`directory.models.AdminRole` is this same class.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.db import models
from django.http import HttpRequest, HttpResponse

from .errors import PermissionDenied

F = TypeVar("F", bound=Callable[..., HttpResponse])


class AdminRole(models.TextChoices):
    """三权分立: one account holds at most one of these, and then no business role."""

    SYSTEM = "system_admin", "系统管理员"
    SECURITY = "security_admin", "安全管理员"
    AUDIT = "audit_admin", "审计管理员"


def is_admin(user: Any, role: str) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "admin_role", "") == role
    )


def ensure_admin(actor: Any, role: str) -> None:
    """Raise PermissionDenied unless `actor` is the given administrator."""
    if not is_admin(actor, role):
        raise PermissionDenied(f"仅{AdminRole(role).label}可执行此操作")


def refusal_reason(role: str) -> str:
    return f"此功能仅限{AdminRole(role).label}使用（三权分立：管理员只能使用本角色的控制台）。"


def require_admin_role(role: str) -> Callable[[F], F]:
    """View decorator: only the given administrator may open the page (403 page otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Imported here: directory.models imports this module before auth's forms can load.
            from django.contrib.auth.views import redirect_to_login
            from django.shortcuts import render

            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not is_admin(request.user, role):
                return render(request, "403.html", {"reason": refusal_reason(role)}, status=403)
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
