from django.apps import AppConfig


def _signed_in(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


class CoreConfig(AppConfig):
    name = "zhengwu.core"
    label = "core"
    verbose_name = "平台核心"

    def ready(self) -> None:
        from .audit_names import register_actions, register_object_types
        from .consoles import ConsoleEntry, register

        register_actions(self.verbose_name, {
            "core.notification.read": "标记通知已读",
            "core.notification.read_all": "全部通知标为已读",
            "core.holiday.set": "设置节假日调整",
            "core.holiday.remove": "删除节假日调整",
            "core.holiday.year": "登记年度放假安排",
        })
        register_object_types(self.verbose_name, {"notification": "站内通知", "holiday_override": "节假日调整"})

        from .consoles import register_todo
        from .roles import AdminRole, is_admin

        def is_system_admin(user: object) -> bool:
            return is_admin(user, AdminRole.SYSTEM)

        def years_to_enter(user: object) -> int:
            from django.utils import timezone

            from . import workdays

            return len(workdays.years_to_enter(timezone.localdate()))

        def calendar_url(user: object) -> str:
            from django.urls import reverse

            return reverse("core:calendar")

        register(ConsoleEntry(
            key="core.calendar", title="工作日历", description="法定节假日和调休安排：以工作日计的期限按它计算；新年度的安排在此录入",
            url_name="core:calendar", allowed=is_system_admin, group="系统管理", family="管理", order=15,
        ))
        register_todo("core.calendar", "待录入节假日安排的年度", "管理", years_to_enter, calendar_url, is_system_admin, order=15)
        register(ConsoleEntry(
            key="core.notifications", title="站内通知", description="到达您的待办和处理结果：审核、退回、纠错、失败的批次",
            url_name="core:notifications", allowed=_signed_in, group="个人", family="个人", order=910,
        ))
