"""服务库 (serving store): indexed relational copies of each resource's current lake version, switched atomically."""

from __future__ import annotations

import logging

from django.apps import AppConfig

log = logging.getLogger(__name__)

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "serving.refresh": "刷新服务库",
}
AUDIT_OBJECT_TYPES = {
    "served_table": "服务库表",
}


def _on_version_changed(resource_code: str, lake_version: int) -> None:
    """datahub's version listener: queue a refresh (quick, never raises; see datahub.listeners)."""
    from .tasks import refresh_served

    try:
        refresh_served.enqueue(resource_code)
    except Exception:
        log.exception("serving: could not queue the refresh of %s v%s; the catch-up will", resource_code, lake_version)


class ServingConfig(AppConfig):
    """服务库 (serving store): indexed relational copies of each resource's current lake version, switched atomically."""

    name = "zhengwu.datahub.serving"
    label = "serving"
    verbose_name = "数据服务库"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

        from zhengwu.datahub.listeners import register_version_listener

        register_version_listener("serving", _on_version_changed)

        from datetime import timedelta

        from zhengwu.core import periodic

        from .tasks import serving_catch_up

        periodic.register(
            "serving.catch_up", serving_catch_up, timedelta(minutes=5),
            "数据服务库：补刷服务版本落后于数据湖的资源，删除过了保留期的旧服务表",
        )
