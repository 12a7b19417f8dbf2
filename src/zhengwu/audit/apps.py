from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "zhengwu.audit"
    label = "audit"
    verbose_name = "安全审计"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from zhengwu.core.consoles import ConsoleEntry, register

        from . import db_guards

        connection_created.connect(db_guards.on_connection_created, dispatch_uid="zhengwu_audit_guards")
        register(
            ConsoleEntry(
                key="audit",
                title="安全审计",
                description="按时间、操作人、单位、操作、对象、结果检索审计记录，导出 CSV，核验审计链完整性",
                url_name="audit:records",
                allowed=lambda u: u.admin_role == "audit_admin",
                group="审计管理",
                order=10,
            )
        )
