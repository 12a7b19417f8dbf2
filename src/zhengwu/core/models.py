import ipaddress

from django.conf import settings
from django.db import models


class PeriodicJobRun(models.Model):
    """When each periodic job was last enqueued (see core/periodic.py)."""

    name = models.CharField(max_length=100, unique=True)
    last_enqueued_at = models.DateTimeField()

    class Meta:
        verbose_name = "定期任务记录"

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_enqueued_at:%Y-%m-%d %H:%M}"


class EgressDestination(models.Model):
    """One allowed outbound destination (the 安全管理员's allowlist, see core/egress.py): a host
    name, or an IP network in CIDR notation (a single address is stored as /32 or /128), and a
    port range. Rows are changed only through identity.services (permission check + audit)."""

    host = models.CharField("主机或网段", max_length=255, help_text="主机名（如 db.gaj.example.gov.cn）或网段（如 10.12.0.0/16）")
    port_min = models.PositiveIntegerField("起始端口")
    port_max = models.PositiveIntegerField("结束端口")
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField("添加时间", auto_now_add=True)
    created_by_username = models.CharField("添加人", max_length=150, blank=True)

    class Meta:
        verbose_name = "出站白名单条目"
        ordering = ["host", "port_min"]
        constraints = [
            models.UniqueConstraint(fields=["host", "port_min", "port_max"], name="core_egress_destination_unique"),
            models.CheckConstraint(
                condition=models.Q(port_min__gte=1, port_max__lte=65535, port_min__lte=models.F("port_max")),
                name="core_egress_destination_ports",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.host}:{self.ports}"

    @property
    def ports(self) -> str:
        return str(self.port_min) if self.port_min == self.port_max else f"{self.port_min}-{self.port_max}"

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        """The IP network of a network row; None for a host-name row."""
        if not any(ch in self.host for ch in "/:") and not self.host.replace(".", "").isdigit():
            return None
        try:
            return ipaddress.ip_network(self.host, strict=False)
        except ValueError:
            return None


class Notification(models.Model):
    """An in-app notification: work has arrived for this person (core/notifications.py). Rows are
    created by the apps' services through `notifications.notify`, and marked read only by
    their recipient through `notifications.do_mark_notification_read` (audited)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name="接收人"
    )
    kind = models.CharField("类别", max_length=60, blank=True)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=500, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = "站内通知"
        verbose_name_plural = "站内通知"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="core_notif_recipient_read")]

    def __str__(self) -> str:
        return self.title


class HolidayOverride(models.Model):
    """One day of the working-day calendar set by hand (core/workdays.py): a correction to the
    chinesecalendar package, or a day of a year the package does not cover yet. Rows are
    changed only through workdays.do_set_holiday_override / do_remove_holiday_override
    (系统管理员, audited)."""

    date = models.DateField("日期", unique=True)
    is_working_day = models.BooleanField("是否工作日")
    note = models.CharField("说明", max_length=200, help_text="如：国庆节、国庆调休上班；写明依据的放假通知")
    who = models.CharField("录入人", max_length=150)
    updated_at = models.DateTimeField("录入时间", auto_now=True)

    class Meta:
        verbose_name = "节假日调整"
        verbose_name_plural = "节假日调整"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {'上班' if self.is_working_day else '放假'}"


class HolidayYear(models.Model):
    """A year whose whole holiday arrangement has been entered in HolidayOverride by an operator
    (for a year chinesecalendar does not cover): only then are its other days counted as plain
    weekdays and weekends. Without this row such a year is refused, never guessed."""

    year = models.PositiveIntegerField("年度", unique=True)
    basis = models.CharField("依据", max_length=200, help_text="国务院办公厅关于该年部分节假日安排的通知（文号）")
    who = models.CharField("登记人", max_length=150)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "已录入放假安排的年度"
        verbose_name_plural = "已录入放假安排的年度"
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)
