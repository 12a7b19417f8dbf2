"""Who is told when a resource's current lake version changes.

Apps that keep something derived from a resource's data (the serving store, the exchange's
subscriptions, later the open data portal) register a listener in their `AppConfig.ready()`.
datahub calls `version_changed` wherever the current version moves — an accepted batch, a
rollback, the undoing of a dead batch's commit — and each listener runs after the surrounding
transaction commits, so it never sees a version that was rolled back.

Contract of a listener: `listener(resource_code, lake_version)`, where `lake_version` is
`NO_DATA` (-1) when the resource's table was removed (a dead first batch undone); it must be quick (enqueue a task,
do not copy data inline) and must not raise: an exception is logged and the other listeners
still run. A listener must also be safe to call twice for one version and to miss a call (a
periodic catch-up compares with `lake.current_version`), because a crash between the commit and
the call loses the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

log = logging.getLogger(__name__)

Listener = Callable[[str, int], None]
NO_DATA = -1
_listeners: dict[str, Listener] = {}


def register_version_listener(name: str, listener: Listener) -> None:
    """Register (or replace) the listener called `name`."""
    _listeners[name] = listener


def listeners() -> dict[str, Listener]:
    return dict(_listeners)


def _notify(resource_code: str, lake_version: int) -> None:
    for name, listener in list(_listeners.items()):
        try:
            listener(resource_code, lake_version)
        except Exception:
            log.exception("version listener %s failed for %s v%s", name, resource_code, lake_version)


def version_changed(resource_code: str, lake_version: int) -> None:
    """Tell every listener, after the current transaction commits, that `resource_code`'s current
    version is now `lake_version`."""
    transaction.on_commit(lambda: _notify(resource_code, lake_version))
