"""Layering: lower apps never import higher ones (core < audit < directory < identity < catalog
< datahub < sharing < portal < opendata). The audit console's administrator check lives in core.roles, so audit imports no
domain app while directory writes audit records."""

from __future__ import annotations

import ast
from pathlib import Path

import zhengwu

SRC = Path(zhengwu.__file__).parent
# audit sits right above core: every app (directory included) writes audit records, and audit
# imports no domain app (its administrator check is core.roles).
ORDER = ["core", "audit", "directory", "identity", "catalog", "datahub", "sharing", "portal", "opendata"]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(app: str) -> list[str]:
    higher = ORDER[ORDER.index(app) + 1 :]
    out = []
    for path in sorted((SRC / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for module in _imported_modules(path):
            parts = module.split(".")
            if len(parts) >= 2 and parts[0] == "zhengwu" and parts[1] in higher:
                out.append(f"{path.relative_to(SRC)} imports {module}")
    return out


def test_audit_imports_no_domain_app() -> None:
    bad = []
    for path in sorted((SRC / "audit").rglob("*.py")):
        for module in _imported_modules(path):
            if module.split(".")[:2] in (["zhengwu", "directory"], ["zhengwu", "identity"], ["zhengwu", "catalog"], ["zhengwu", "datahub"]):
                bad.append(f"{path.relative_to(SRC)} imports {module}")
    assert bad == []


def test_lower_apps_import_no_higher_app() -> None:
    for app in ORDER:
        assert _violations(app) == [], app


def test_directory_admin_role_is_the_core_one() -> None:
    from zhengwu.core.roles import AdminRole as CoreAdminRole
    from zhengwu.core.roles import ensure_admin as core_ensure_admin
    from zhengwu.directory.models import AdminRole
    from zhengwu.directory.permissions import ensure_admin

    assert AdminRole is CoreAdminRole
    assert ensure_admin is core_ensure_admin
    assert AdminRole.AUDIT.label == "审计管理员"
