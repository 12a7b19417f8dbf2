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

        from zhengwu.core import audit_hook, periodic
        from zhengwu.core.consoles import ConsoleEntry, register

        from . import checks, db_guards  # noqa: F401 - checks registers the system checks
        from .services import record_event
        from .tasks import create_periodic_checkpoint, ship_audit_records

        audit_hook.register_recorder(record_event)
        connection_created.connect(db_guards.on_connection_created, dispatch_uid="zhengwu_audit_guards")
        register(
            ConsoleEntry(
                key="audit",
                title="审计查询",
                description="按时间、操作人、单位、操作、对象、结果检索审计记录，导出 CSV，核验审计链完整性",
                url_name="audit:records",
                allowed=lambda u: u.admin_role == "audit_admin",
                group="审计管理",
                family="管理",
                order=10,
            )
        )
        from zhengwu.core.consoles import register_todo

        def attention_count(user: object) -> int:
            from .queries import attention_items

            return len(attention_items(user))

        def verify_url(user: object) -> str:
            from django.urls import reverse

            return reverse("audit:verify")

        register_todo(
            "audit.attention", "审计链待关注的问题", "管理", attention_count, verify_url,
            lambda u: getattr(u, "admin_role", "") == "audit_admin", order=10,
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
