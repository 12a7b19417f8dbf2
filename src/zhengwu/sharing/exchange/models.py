"""Tables of 数据交换: a consumer unit's subscriptions to a granted resource and the deliveries
that carry each new version's changes to it.

A subscription's `position` is the last lake version fully delivered (None: nothing yet, the
first delivery is the whole current content). A delivery is one page of one step from
`from_version` to `to_version`; a step's pages go out in order and the position moves to
`to_version` only after its last page succeeded. Rows change only through `services.py` and the
delivery engine (`delivery.py`), which audit every state change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SubscriptionKind(models.TextChoices):
    WEBHOOK = "webhook", "推送（Webhook）"
    FEED = "feed", "变更订阅（拉取）"
    DATABASE = "database", "库表交换"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "正常"
    PAUSED = "paused", "已暂停"
    RESYNC = "resync", "待全量同步"
    DISABLED = "disabled", "已停用"


class DatabaseEngine(models.TextChoices):
    POSTGRESQL = "postgresql", "PostgreSQL"
    MYSQL = "mysql", "MySQL/MariaDB"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "待投递"
    DELIVERED = "delivered", "已投递"
    FAILED = "failed", "失败待重试"
    DEAD = "dead", "死信"


class DeliveryKind(models.TextChoices):
    CHANGES = "changes", "变更"
    RESYNC = "resync", "全量同步通知"
    SNAPSHOT = "snapshot", "全量内容"


class Subscription(models.Model):
    """A consumer unit's subscription to the changes of a resource it holds a grant for."""

    grant = models.ForeignKey("sharing.ShareGrant", verbose_name="共享授权", on_delete=models.PROTECT, related_name="subscriptions")
    consumer = models.ForeignKey("directory.Unit", verbose_name="订阅单位", on_delete=models.PROTECT, related_name="+")
    resource_code = models.CharField("信息资源代码", max_length=40, db_index=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("方式", max_length=10, choices=SubscriptionKind.choices)
    status = models.CharField("状态", max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    status_reason = models.CharField("状态说明", max_length=300, blank=True)
    position = models.IntegerField("已投递到的版本", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    # webhook
    webhook_url = models.CharField("推送地址", max_length=500, blank=True)
    secret_encrypted = models.TextField("签名密钥（加密）", blank=True)
    # 库表交换
    db_engine = models.CharField("数据库类型", max_length=10, choices=DatabaseEngine.choices, blank=True)
    db_host = models.CharField("主机", max_length=253, blank=True)
    db_port = models.PositiveIntegerField("端口", null=True, blank=True)
    db_name = models.CharField("数据库名", max_length=64, blank=True)
    db_user = models.CharField("用户名", max_length=64, blank=True)
    db_password_encrypted = models.TextField("密码（加密）", blank=True)
    db_table = models.CharField("表名", max_length=64, blank=True)
    # the delivery engine's claim (one run per subscription at a time) and its last outcome
    lease_until = models.DateTimeField(null=True, blank=True)
    last_delivered_at = models.DateTimeField("最近投递时间", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "交换订阅"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["resource_code", "status"], name="exchange_sub_resource_status")]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_kind_display()}）"


class Delivery(models.Model):
    """One page of one delivery step (from_version → to_version) of a subscription."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField("投递编号", max_length=40, unique=True)
    kind = models.CharField("内容", max_length=10, choices=DeliveryKind.choices)
    from_version = models.IntegerField("起始版本", null=True, blank=True)
    to_version = models.IntegerField("目标版本")
    page = models.PositiveIntegerField("页码", default=1)
    pages = models.PositiveIntegerField("总页数", default=1)
    status = models.CharField("状态", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试时间", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    rows_upserted = models.PositiveIntegerField("新增或更新行数", default=0)
    rows_deleted = models.PositiveIntegerField("删除行数", default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    attempted_at = models.DateTimeField("最近尝试时间", null=True, blank=True)
    delivered_at = models.DateTimeField("投递成功时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "交换投递"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["subscription", "status"], name="exchange_delivery_sub_status"),
            models.Index(fields=["status", "next_attempt_at"], name="exchange_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}（{self.get_status_display()}）"
