"""Chinese names of audit actions and object types, registered by each app at start-up.

The audit log stores codes (`identity.login`, `data_source`) — stable, searchable, hashed into
the chain. People read names: each app registers, in its `apps.py` `ready()`, every action and
object type it records::

    from zhengwu.core.audit_names import register_actions, register_object_types

    register_actions("身份认证", {"identity.login": "登录", ...})
    register_object_types("身份认证", {"directory.user": "用户账号", ...})

The first argument is the group the names appear under in the audit console's dropdowns (the
app's Chinese name). `tests/audit/test_audit_names.py` reads the source of every app and fails
when an action or object type passed to `record_event` has no registered name.

A code without a name (a record written by an older release, or a test) is shown as its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditName:
    code: str
    name: str
    group: str


_ACTIONS: dict[str, AuditName] = {}
_OBJECT_TYPES: dict[str, AuditName] = {}


def _register(target: dict[str, AuditName], kind: str, group: str, names: Mapping[str, str]) -> None:
    for code, name in names.items():
        if not code or not name.strip():
            raise ValueError(f"审计{kind}的代码和中文名称都不能为空：{code!r} → {name!r}")
        existing = target.get(code)
        if existing is not None:
            # Two apps may record the same object type (单位); one name, the first group.
            if existing.name != name:
                raise ValueError(f"审计{kind} {code} 已登记为“{existing.name}”（{existing.group}），不能再登记为“{name}”")
            continue
        target[code] = AuditName(code, name, group)


def register_actions(group: str, names: Mapping[str, str]) -> None:
    """Register the Chinese names of actions (code → name) under `group` (the app's name)."""
    _register(_ACTIONS, "操作", group, names)


def register_object_types(group: str, names: Mapping[str, str]) -> None:
    """Register the Chinese names of object types (code → name) under `group`."""
    _register(_OBJECT_TYPES, "对象类型", group, names)


def action_label(code: str) -> str:
    """The action's Chinese name, or the code itself when none is registered."""
    entry = _ACTIONS.get(code)
    return entry.name if entry else code


def object_type_label(code: str) -> str:
    """The object type's Chinese name, the code when none is registered, "" for no object."""
    entry = _OBJECT_TYPES.get(code)
    return entry.name if entry else code


def is_action_registered(code: str) -> bool:
    return code in _ACTIONS


def is_object_type_registered(code: str) -> bool:
    return code in _OBJECT_TYPES


def actions() -> dict[str, AuditName]:
    return dict(_ACTIONS)


def object_types() -> dict[str, AuditName]:
    return dict(_OBJECT_TYPES)


def _grouped(target: dict[str, AuditName]) -> list[tuple[str, list[AuditName]]]:
    groups: dict[str, list[AuditName]] = {}
    for entry in target.values():
        groups.setdefault(entry.group, []).append(entry)
    return [(group, sorted(items, key=lambda e: e.code)) for group, items in groups.items()]


def grouped_actions() -> list[tuple[str, list[AuditName]]]:
    """Actions by group, in registration order of the groups, codes sorted inside a group."""
    return _grouped(_ACTIONS)


def grouped_object_types() -> list[tuple[str, list[AuditName]]]:
    return _grouped(_OBJECT_TYPES)


def _matching(target: dict[str, AuditName], text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    return sorted(e.code for e in target.values() if text in e.name or text in e.group)


def actions_named(text: str) -> list[str]:
    """Codes of the actions whose name (or group) contains `text`: 登录 → identity.login, ..."""
    return _matching(_ACTIONS, text)


def object_types_named(text: str) -> list[str]:
    return _matching(_OBJECT_TYPES, text)
