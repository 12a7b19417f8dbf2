from django.apps import AppConfig

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "audit.search": "检索审计记录",
    "audit.view": "查看审计记录",
    "audit.export": "导出审计记录",
    "audit.verify": "核验审计链",
    "audit.checkpoint": "签署审计检查点",
    "audit.purge": "清理过期审计记录",
}
AUDIT_OBJECT_TYPES = {
    "audit_record": "审计记录",
    "audit_chain": "审计链",
    "audit_checkpoint": "审计检查点",
}


class AuditConfig(AppConfig):
    name = "zhengwu.audit"
    label = "audit"
    verbose_name = "安全审计"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

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
