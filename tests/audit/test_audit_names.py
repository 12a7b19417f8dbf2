"""Every audit action and object type the platform records has a registered Chinese name.

The scan reads the source of every app: each call of `record_event` (and of the apps' `_attempt`
wrappers, which record the failure of the action they are given) names its action and object
type; a literal, a module constant, or both branches of a conditional are resolved; an f-string
must start with the prefix of a registered code. A name that cannot be resolved fails the test,
so a new dynamic action has to be made checkable rather than slip by.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zhengwu.core import audit_names

SRC = Path(__file__).resolve().parents[2] / "src" / "zhengwu"
# Functions that take (actor, action, ...) and record it; `object_type` by keyword or position.
WRAPPERS = {"record_event": None, "_attempt": None, "audited_attempt": None}
DIRECTORY_ATTEMPT_OBJECT_TYPE_POSITION = 2  # directory.services._attempt(actor, action, object_type, ...)


def _module_constants(tree: ast.Module) -> dict[str, str]:
    constants: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def _parameters(tree: ast.Module) -> dict[ast.AST, set[str]]:
    """For every node inside a function: the names of that function's parameters."""
    scope: dict[ast.AST, set[str]] = {}
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            names = {a.arg for a in func.args.args + func.args.kwonlyargs}
            for inner in ast.walk(func):
                scope.setdefault(inner, set()).update(names)
    return scope


def _values(node: ast.AST, constants: dict[str, str], params: set[str], where: str) -> list[tuple[str, str]]:
    """("exact", code) / ("prefix", text) / ("param", name) for one argument."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [("exact", node.value)]
    if isinstance(node, ast.IfExp):
        return _values(node.body, constants, params, where) + _values(node.orelse, constants, params, where)
    if isinstance(node, ast.Name):
        if node.id in constants:
            return [("exact", constants[node.id])]
        if node.id in params:
            return [("param", node.id)]
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return [("prefix", str(node.values[0].value))]
    raise AssertionError(f"{where}: 无法静态确定的审计操作/对象类型 {ast.unparse(node)}")


def _recorded() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    actions: list[tuple[str, str, str]] = []
    object_types: list[tuple[str, str, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_constants(tree)
        scopes = _parameters(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name not in WRAPPERS or len(node.args) < 2:
                continue
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            params = scopes.get(node, set())
            for kind, value in _values(node.args[1], constants, params, where):
                actions.append((kind, value, where))
            type_nodes = [k.value for k in node.keywords if k.arg == "object_type"]
            if name == "_attempt" and path.parts[-2] == "directory" and len(node.args) > DIRECTORY_ATTEMPT_OBJECT_TYPE_POSITION:
                type_nodes.append(node.args[DIRECTORY_ATTEMPT_OBJECT_TYPE_POSITION])
            for type_node in type_nodes:
                for kind, value in _values(type_node, constants, params, where):
                    object_types.append((kind, value, where))
    return actions, object_types


def _missing(found: list[tuple[str, str, str]], registered: dict[str, audit_names.AuditName]) -> list[str]:
    missing = []
    for kind, value, where in found:
        if kind == "param" or value == "":
            continue  # a wrapper passing on its own argument: its callers are scanned
        if kind == "exact" and value not in registered:
            missing.append(f"{where}: {value}")
        if kind == "prefix" and not any(code.startswith(value) for code in registered):
            missing.append(f"{where}: {value}…")
    return missing


def test_the_scan_sees_the_platforms_actions() -> None:
    actions, object_types = _recorded()
    codes = {v for k, v, _ in actions if k == "exact"}
    # The scan is not vacuous: it finds actions of every app, including the wrapped ones.
    for code in ("identity.login", "identity.egress_add", "identity.unlock", "datahub.input.purge",
                 "directory.unit.create", "catalog.entry.approve", "audit.checkpoint", "audit.export"):
        assert code in codes
    assert {v for k, v, _ in object_types if k == "exact"} >= {"data_source", "catalog_entry", "unit", "work_space"}
    assert ("prefix", "identity.lock.") in {(k, v) for k, v, _ in object_types}


def test_every_recorded_action_has_a_chinese_name() -> None:
    actions, _ = _recorded()
    assert _missing(actions, audit_names.actions()) == []


def test_every_recorded_object_type_has_a_chinese_name() -> None:
    _, object_types = _recorded()
    assert _missing(object_types, audit_names.object_types()) == []


def test_names_are_chinese() -> None:
    for entry in [*audit_names.actions().values(), *audit_names.object_types().values()]:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.name), entry
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.group), entry


def test_registered_names() -> None:
    assert audit_names.action_label("identity.login") == "登录"
    assert audit_names.object_type_label("data_source") == "数据库来源"
    assert audit_names.action_label("sharing.approve") == "sharing.approve"  # unknown: the code
    assert "identity.login" in audit_names.actions_named("登录")
    with pytest.raises(ValueError, match="已登记为"):
        audit_names.register_actions("身份认证", {"identity.login": "签到"})
