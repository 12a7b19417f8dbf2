"""System checks for the audit log's external copies (run by `check`, the deploy ones by `check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security)
def check_syslog_setting(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from .sink import syslog_address

    try:
        syslog_address()
    except ValueError as exc:
        return [Error(str(exc), hint="例如 ZHENGWU_AUDIT_SYSLOG=10.0.8.20:6514", id="zhengwu.audit.E001")]
    return []


@register(Tags.security, deploy=True)
def check_external_copy(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if str(settings.AUDIT_SINK_FILE or "").strip() or settings.AUDIT_SYSLOG:
        return []
    return [
        Warning(
            "审计记录没有数据库之外的副本：有数据库写权限的人可以改写最近一个检查点之后的记录而不被发现",
            hint="设置 ZHENGWU_AUDIT_SINK_FILE（挂载的一次写入卷上的文件）和/或 ZHENGWU_AUDIT_SYSLOG（主机:端口）",
            id="zhengwu.audit.W001",
        )
    ]
