"""Tables of data collection. The data itself lives in the lake (Delta Lake tables, see lake.py);
these tables hold what is needed to find, explain and govern it: batches with their quality
reports, lake versions with their lineage, sources, push tokens and custom rules."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .constants import (
    ENDED_STATUSES,
    BatchStage,
    BatchStatus,
    FileEncoding,
    LoadMode,
    RuleKind,
    SourceKind,
    VersionOperation,
)


class DataSource(models.Model):
    """A unit's own database the platform pulls from: an SQLAlchemy URL (kept encrypted, SM4)
    plus a table or a query, loaded in full or incrementally by a watermark column."""

    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="data_sources")
    resource_code = models.CharField("信息资源代码", max_length=40, db_index=True)
    name = models.CharField("来源名称", max_length=100)
    url_encrypted = models.TextField("连接地址（SM4 加密）")
    url_display = models.CharField("连接地址（已隐去口令）", max_length=300)
    table = models.CharField("表名", max_length=200, blank=True)
    query = models.TextField("查询语句", blank=True)
    mode = models.CharField("抽取方式", max_length=12, choices=LoadMode.choices, default=LoadMode.FULL)
    watermark_column = models.CharField("增量标识列", max_length=100, blank=True)
    watermark_value = models.CharField("已抽取到", max_length=100, blank=True)
    scheduled = models.BooleanField("按更新周期自动抽取", default=True)
    next_run_at = models.DateTimeField("下次抽取时间", null=True, blank=True)
    last_run_at = models.DateTimeField("上次抽取时间", null=True, blank=True)
    enabled = models.BooleanField("启用", default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "数据库来源"
        ordering = ["resource_code", "name"]

    def __str__(self) -> str:
        return f"{self.name}（{self.resource_code}）"


class PushToken(models.Model):
    """A credential a unit's own system uses to push records (Authorization: Bearer …).
    Only an HMAC-SM3 digest of the token is kept; the token is shown once when created."""

    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="push_tokens")
    name = models.CharField("系统名称", max_length=100)
    prefix = models.CharField("令牌前缀", max_length=16, unique=True)
    digest = models.CharField("令牌摘要", max_length=64, unique=True)
    resource_codes = models.JSONField("可推送的资源（空为本单位全部）", default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "推送令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name}（{self.prefix}…）"


class IngestBatch(models.Model):
    """One delivery of a resource's data: read, checked, and (its accepted rows) committed as one
    lake version. Refused rows are kept in the resource's quarantine table with their reasons."""

    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="ingest_batches")
    resource_code = models.CharField("信息资源代码", max_length=40, db_index=True)
    catalog_version = models.PositiveIntegerField("目录版本", default=0)
    source_kind = models.CharField("来源", max_length=12, choices=SourceKind.choices)
    source = models.ForeignKey(DataSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches")
    push_token = models.ForeignKey(PushToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections", verbose_name="补正的批次"
    )
    mode = models.CharField("方式", max_length=12, choices=LoadMode.choices, default=LoadMode.INCREMENTAL)
    file_name = models.CharField("文件名", max_length=255, blank=True)
    file_path = models.CharField("待处理文件", max_length=500, blank=True)
    file_size = models.BigIntegerField("文件大小（字节）", default=0)
    file_sha256 = models.CharField("文件 SHA-256", max_length=64, blank=True)
    file_format = models.CharField("文件格式", max_length=10, blank=True)
    encoding = models.CharField("文件编码", max_length=20, blank=True)
    requested_encoding = models.CharField(
        "指定的文件编码", max_length=10, choices=FileEncoding.choices, default=FileEncoding.AUTO, blank=True
    )
    idempotency_key = models.CharField("幂等键", max_length=100, blank=True)
    payload_sha256 = models.CharField("推送内容摘要", max_length=64, blank=True)
    engine = models.CharField("计算引擎", max_length=10, blank=True)

    status = models.CharField("状态", max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    stage = models.CharField("阶段", max_length=10, choices=BatchStage.choices, default=BatchStage.QUEUED)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    rows_in = models.BigIntegerField("读入行数", default=0)
    rows_accepted = models.BigIntegerField("入库行数", default=0)
    rows_refused = models.BigIntegerField("隔离行数", default=0)
    rows_resolved = models.BigIntegerField("已补正行数", default=0)
    rows_inserted = models.BigIntegerField("新增", default=0)
    rows_updated = models.BigIntegerField("更新", default=0)
    rows_deleted = models.BigIntegerField("删除", default=0)
    lake_version = models.IntegerField("湖表版本", null=True, blank=True)
    report = models.JSONField("质量报告", default=dict, blank=True)
    notes = models.JSONField("处理说明", default=list, blank=True)
    error_message = models.TextField("失败原因", blank=True)
    error_field = models.CharField("出错字段", max_length=100, blank=True)
    completeness = models.FloatField("完整性", null=True, blank=True)
    validity = models.FloatField("有效性", null=True, blank=True)
    uniqueness = models.FloatField("唯一性", null=True, blank=True)
    consistency = models.FloatField("一致性", null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近心跳", null=True, blank=True)
    worker_host = models.CharField("处理主机", max_length=100, blank=True)
    worker_pid = models.IntegerField("处理进程", null=True, blank=True)
    input_purged_at = models.DateTimeField("原始输入清除时间", null=True, blank=True)
    # A full load's figures before it commits (lake version they were computed on, current rows,
    # rows it would insert/update/delete, the share deleted and the threshold); a batch over the
    # threshold waits (待确认) until confirmed or cancelled.
    preview = models.JSONField("全量替换预览", default=dict, blank=True)
    awaiting_since = models.DateTimeField("等待确认开始时间", null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="确认人"
    )
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "归集批次"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_code", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="datahub_batch_idempotency_key_unique",
            )
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"批次 {self.pk}（{self.resource_code}）"

    @property
    def finished(self) -> bool:
        return self.status in ENDED_STATUSES

    @property
    def live(self) -> bool:
        """Still being processed (queued or running): its page polls for progress."""
        return self.status in {BatchStatus.PENDING, BatchStatus.RUNNING}


class ResourceVersion(models.Model):
    """One commit of a resource's lake table, and where it came from (lineage)."""

    resource_code = models.CharField("信息资源代码", max_length=40, db_index=True)
    lake_version = models.IntegerField("湖表版本")
    operation = models.CharField("操作", max_length=10, choices=VersionOperation.choices)
    batch = models.ForeignKey(IngestBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="versions")
    restored_from = models.IntegerField("回滚到的版本", null=True, blank=True)
    rows_total = models.BigIntegerField("总行数", default=0)
    rows_inserted = models.BigIntegerField("新增", default=0)
    rows_updated = models.BigIntegerField("更新", default=0)
    rows_deleted = models.BigIntegerField("删除", default=0)
    reason = models.TextField("说明", blank=True)
    # A commit made by a batch that then failed or died, undone by the commit `undoes` names:
    # kept for the record (lineage), never served as data, skipped by the change feed.
    undone = models.BooleanField("已撤销", default=False)
    undoes = models.IntegerField("撤销的版本", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("提交时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "资源数据版本"
        ordering = ["resource_code", "-lake_version"]
        constraints = [
            models.UniqueConstraint(fields=["resource_code", "lake_version"], name="datahub_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.resource_code} v{self.lake_version}"


class ResourceRule(models.Model):
    """A custom validation rule a provider adds to a resource, beyond those derived from the
    catalog's information items."""

    resource_code = models.CharField("信息资源代码", max_length=40, db_index=True)
    kind = models.CharField("规则类型", max_length=15, choices=RuleKind.choices)
    field = models.CharField("字段", max_length=64)
    params = models.JSONField("参数", default=dict, blank=True)
    message = models.CharField("不通过时的提示", max_length=200, blank=True)
    enabled = models.BooleanField("启用", default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "自定义校验规则"
        ordering = ["resource_code", "id"]

    def __str__(self) -> str:
        return f"{self.resource_code} {self.get_kind_display()} {self.field}"
