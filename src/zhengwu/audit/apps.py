from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "zhengwu.audit"
    label = "audit"
    verbose_name = "安全审计"

    def ready(self) -> None:
        from datetime import timedelta

        from django.conf import settings
        from django.db.backends.signals import connection_created

        from zhengwu.core import periodic
        from zhengwu.core.consoles import ConsoleEntry, register

        from . import checks, db_guards  # noqa: F401 - checks registers the system checks
        from .tasks import create_periodic_checkpoint, ship_audit_records

        connection_created.connect(db_guards.on_connection_created, dispatch_uid="zhengwu_audit_guards")
        register(
            ConsoleEntry(
                key="audit",
                title="审计查询",
                description="按时间、操作人、单位、操作、对象、结果检索审计记录，导出 CSV，核验审计链完整性",
                url_name="audit:records",
                allowed=lambda u: u.admin_role == "audit_admin",
                group="审计管理",
                order=10,
            )
        )
        periodic.register(
            "audit.checkpoint",
            create_periodic_checkpoint,
            timedelta(seconds=settings.AUDIT_CHECKPOINT_SECONDS),
            "审计链签名检查点（有新记录时）",
        )
        periodic.register(
            "audit.ship",
            ship_audit_records,
            timedelta(minutes=1),
            "审计记录补写外部副本（文件、syslog）",
        )
