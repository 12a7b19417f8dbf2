"""The platform's one append-only audit log, SM3 hash-chained."""

from __future__ import annotations

from django.db import models

from zhengwu.core import audit_names


class AuditResult(models.TextChoices):
    SUCCESS = "success", "成功"
    FAILURE = "failure", "失败"


class AuditRecord(models.Model):
    """One audited event. Never updated or deleted by the application."""

    seq = models.BigIntegerField("序号", unique=True)
    occurred_at = models.DateTimeField("时间", db_index=True)
    actor = models.CharField("操作人", max_length=150, db_index=True, help_text="账号名；系统或匿名时为空")
    actor_name = models.CharField("操作人姓名", max_length=50, blank=True)
    actor_unit = models.CharField("操作人单位", max_length=100, blank=True, db_index=True)
    actor_unit_id = models.BigIntegerField("操作人单位ID", null=True, blank=True)
    source_ip = models.CharField("来源地址", max_length=45, blank=True)
    action = models.CharField("操作", max_length=64, db_index=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True, db_index=True)
    object_id = models.CharField("对象标识", max_length=128, blank=True, db_index=True)
    result = models.CharField("结果", max_length=8, choices=AuditResult.choices, db_index=True)
    details = models.JSONField("详情", default=dict, blank=True)
    prev_hash = models.CharField("前一记录哈希", max_length=64)
    hash = models.CharField("本记录哈希", max_length=64)

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.result}"

    @property
    def action_label(self) -> str:
        """The action's Chinese name as its app registered it (the code when none is)."""
        return audit_names.action_label(self.action)

    @property
    def object_type_label(self) -> str:
        return audit_names.object_type_label(self.object_type)


class AuditChainHead(models.Model):
    """Singleton row: the last sequence number and hash. Locked to append in order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "审计链头"

    def __str__(self) -> str:
        return f"链头 #{self.seq}"


class AuditCheckpoint(models.Model):
    """An SM2-signed statement that the chain reached `seq` with `hash`.

    Written when old records are purged (the chain then starts after it) and periodically, so a
    wholesale rewrite of the table by someone without the signing key is detected.
    """

    KIND_PURGE = "purge"
    KIND_PERIODIC = "periodic"

    seq = models.BigIntegerField("序号")
    hash = models.CharField("哈希", max_length=64)
    kind = models.CharField("类型", max_length=16, choices=[(KIND_PURGE, "清理"), (KIND_PERIODIC, "定期")])
    created_at = models.DateTimeField("签署时间")
    purged_before = models.DateTimeField("清理截止时间", null=True, blank=True)
    purged_count = models.BigIntegerField("清理条数", default=0)
    signature = models.TextField("SM2 签名(hex)")
    public_key = models.TextField("签名公钥(PEM)")

    class Meta:
        verbose_name = "审计检查点"
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}检查点 #{self.seq}"


class AuditSinkCursor(models.Model):
    """How far an external copy that cannot be read back (the syslog collector) has received.

    `seq` only moves forward, and only after the collector acknowledged a batch by closing the
    connection; delivery failures leave it where it is, so the next attempt resends from there.
    """

    name = models.CharField("外部副本", max_length=32, primary_key=True)
    seq = models.BigIntegerField("已送达至序号", default=0)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    last_error = models.TextField("最近一次失败原因", blank=True)
    failing_since = models.DateTimeField("持续失败起始时间", null=True, blank=True)

    class Meta:
        verbose_name = "审计外部副本进度"

    def __str__(self) -> str:
        return f"{self.name} 已送达至 #{self.seq}"
