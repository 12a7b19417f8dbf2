"""Who may edit the portal: staff holding the business role 门户编辑 (granted in any unit)."""

from __future__ import annotations

from typing import Any

from zhengwu.directory.permissions import has_business_role

PORTAL_EDITOR_ROLE = "portal_editor"


def is_portal_editor(user: Any) -> bool:
    # has_business_role refuses administrators and inactive accounts; public accounts never hold a role.
    return getattr(user, "account_kind", "staff") != "public" and has_business_role(user, PORTAL_EDITOR_ROLE)
