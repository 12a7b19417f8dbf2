"""How core writes an audit record without importing `audit` (which sits above core).

The audit app registers its `record_event` here at start-up (audit/apps.py `ready()`); core's
own state changes (notifications marked read) call `record`, inside their transaction, so the
record and the change are committed together. Without a recorder core refuses to change state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_recorder: Callable[..., Any] | None = None


def register_recorder(recorder: Callable[..., Any]) -> None:
    global _recorder
    _recorder = recorder


def record(actor: Any, action: str, **kwargs: Any) -> Any:
    if _recorder is None:
        raise RuntimeError("audit recorder not registered (zhengwu.audit must be installed)")
    return _recorder(actor, action, **kwargs)
