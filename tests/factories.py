"""Small builders the app test suites share (one copy, not one per conftest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Business roles come from data migrations; a transactional test flushes them, so a builder
# creates the role it needs under its usual name.
ROLE_NAMES = {
    "data_admin": "数据管理员", "catalog_reviewer": "目录审核员", "clerk": "业务经办人",
    "share_reviewer": "共享审核员",
}


def grant(user: Any, code: str, unit: Any) -> None:
    """Give `user` the business role `code` within `unit` (the role is created if missing)."""
    from zhengwu.directory.models import BusinessRole, RoleGrant

    role, _ = BusinessRole.objects.get_or_create(code=code, defaults={"name": ROLE_NAMES.get(code, code), "app_label": "catalog"})
    RoleGrant.objects.get_or_create(user=user, role=role, unit=unit)


def role_holder(make_user: Callable[..., Any], username: str, unit: Any, full_name: str, role: str) -> Any:
    """A staff account of `unit` holding `role` there."""
    user = make_user(username, unit=unit, full_name=full_name)
    grant(user, role, unit)
    return user
