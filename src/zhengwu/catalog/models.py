"""Tables of the resource catalog: entries, their information items, published versions,
error-correction requests and the search index."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .constants import (
    Category,
    CorrectionStatus,
    DataType,
    EntryStatus,
    Masking,
    OpenType,
    ResourceFormat,
    SecurityLevel,
    ShareMethod,
    ShareType,
    UpdateCycle,
)


class CodeSequence(models.Model):
    """The last sequence number handed out per classification code: codes are never reused."""

    class_code = models.CharField("分类代码", max_length=20, unique=True)
    last = models.PositiveIntegerField("已用最大顺序号", default=0)

    class Meta:
        verbose_name = "资源代码顺序号"
        verbose_name_plural = "资源代码顺序号"

    def __str__(self) -> str:
        return f"{self.class_code}: {self.last}"


class CatalogEntry(models.Model):
    """The working copy of one information resource; published states live in versions."""

    resource_code = models.CharField("信息资源代码", max_length=40, unique=True)
    category = models.CharField("类", max_length=1, choices=Category.choices)
    class_item = models.CharField("项", max_length=2)
    class_sub = models.CharField("目", max_length=3, default="001")
    class_detail = models.CharField("细目", max_length=6, blank=True)
    name = models.CharField("信息资源名称", max_length=200)
    provider = models.ForeignKey(
        "directory.Unit", verbose_name="信息资源提供方", on_delete=models.PROTECT, related_name="catalog_entries"
    )
    provider_code = models.CharField("提供方代码", max_length=40, blank=True)
    abstract = models.TextField("信息资源摘要")
    resource_format = models.CharField("信息资源格式", max_length=10, choices=ResourceFormat.choices)
    share_type = models.CharField("共享类型", max_length=10, choices=ShareType.choices)
    share_condition = models.TextField("共享条件", blank=True)
    share_basis = models.TextField("不予/有条件共享依据", blank=True)
    share_method = models.CharField("共享方式", max_length=10, choices=ShareMethod.choices, blank=True)
    open_type = models.CharField("开放类型", max_length=10, choices=OpenType.choices)
    open_condition = models.TextField("开放条件", blank=True)
    open_basis = models.TextField("不予/有条件开放依据", blank=True)
    update_cycle = models.CharField("更新周期", max_length=10, choices=UpdateCycle.choices)
    publish_date = models.DateField("发布日期", null=True, blank=True)
    related_codes = models.JSONField("关联资源代码", default=list, blank=True)
    security_level = models.CharField("安全级别", max_length=10, choices=SecurityLevel.choices, default="内部")
    extra = models.JSONField("扩展元数据", default=dict, blank=True)

    status = models.CharField("状态", max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    published_version = models.PositiveIntegerField("已发布版本号", default=0)
    is_live = models.BooleanField("目录中可见", default=False, help_text="有已发布版本且未下线")
    review_comment = models.TextField("审核意见", blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    last_data_at = models.DateTimeField("最近数据到达时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    retired_at = models.DateTimeField("下线时间", null=True, blank=True)
    retire_reason = models.TextField("下线原因", blank=True)

    class Meta:
        verbose_name = "目录条目"
        verbose_name_plural = "目录条目"
        ordering = ["resource_code"]
        indexes = [
            models.Index(fields=["is_live", "provider"]),
            models.Index(fields=["provider", "status"]),
            models.Index(fields=["is_live", "category", "class_item"]),
        ]

    def __str__(self) -> str:
        return f"{self.resource_code} {self.name}"

    @property
    def class_code(self) -> str:
        return f"{self.category}{self.class_item}{self.class_sub}{self.class_detail}"

    @property
    def is_table(self) -> bool:
        from .constants import TABLE_FORMATS

        return self.resource_format in TABLE_FORMATS


class CatalogItem(models.Model):
    """信息项: one column / field of the resource (working copy)."""

    entry = models.ForeignKey(CatalogEntry, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField("序号", default=0)
    name = models.CharField("信息项名称", max_length=100)
    field_name = models.CharField("字段名", max_length=64)
    data_type = models.CharField("数据类型", max_length=10, choices=DataType.choices)
    length = models.PositiveIntegerField("长度", null=True, blank=True)
    is_key = models.BooleanField("主键", default=False)
    required = models.BooleanField("必填", default=False, help_text="数据中不能为空；主键总是必填")
    is_sensitive = models.BooleanField("个人/敏感信息", default=False)
    masking = models.CharField("脱敏方式", max_length=10, choices=Masking.choices, default=Masking.NONE)
    code_table = models.CharField("代码表/值域", max_length=300, blank=True)

    class Meta:
        verbose_name = "信息项"
        verbose_name_plural = "信息项"
        ordering = ["entry", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["entry", "field_name"], name="catalog_item_field_unique")]

    def __str__(self) -> str:
        return f"{self.name}（{self.field_name}）"


class CatalogEntryVersion(models.Model):
    """An immutable snapshot of one published version of an entry."""

    entry = models.ForeignKey(CatalogEntry, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField("版本号")
    snapshot = models.JSONField("快照")
    published_at = models.DateTimeField("发布时间")
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="审核发布人"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="提交人"
    )
    change_note = models.TextField("变更说明", blank=True)

    class Meta:
        verbose_name = "目录条目版本"
        verbose_name_plural = "目录条目版本"
        ordering = ["entry", "-version"]
        constraints = [models.UniqueConstraint(fields=["entry", "version"], name="catalog_version_unique")]

    def __str__(self) -> str:
        return f"{self.entry_id} v{self.version}"


class CorrectionRequest(models.Model):
    """纠错: a unit reports doubtful or wrong catalog content; the provider answers."""

    entry = models.ForeignKey(CatalogEntry, on_delete=models.PROTECT, related_name="corrections")
    version = models.PositiveIntegerField("针对的版本号")
    field = models.CharField("涉及字段", max_length=64, blank=True)
    content = models.TextField("纠错内容")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reporter_unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=CorrectionStatus.choices, default=CorrectionStatus.OPEN)
    answer = models.TextField("答复", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "纠错申请"
        verbose_name_plural = "纠错申请"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"纠错 {self.pk}（{self.get_status_display()}）"


class CatalogTerm(models.Model):
    """Posting of the search index: a term of one field of one live entry (its published version)."""

    FIELD_NAME = 1
    FIELD_ITEMS = 2
    FIELD_ABSTRACT = 3
    FIELD_PROVIDER = 4  # the provider unit's name and short names
    FIELD_CLASS = 5  # the classification's names (基础信息资源 · 人口)
    FIELD_NGRAM = 6  # "~"-marked character bigrams of title, item names and provider names

    term = models.CharField(max_length=64)
    entry = models.ForeignKey(CatalogEntry, on_delete=models.CASCADE, related_name="+")
    field = models.PositiveSmallIntegerField()
    tf = models.PositiveIntegerField()
    field_len = models.PositiveIntegerField()

    class Meta:
        verbose_name = "检索词"
        verbose_name_plural = "检索词"
        # Covering: a query is answered from the index alone (SQLite and PostgreSQL index-only scans).
        indexes = [models.Index(fields=["term", "entry", "field", "tf", "field_len"], name="catalog_term_cover")]

    def __str__(self) -> str:
        return f"{self.term} → {self.entry_id}"


class CatalogIndexStat(models.Model):
    """One row: size of the search index, kept current in the publishing transaction, and a
    generation number that tells every process when its in-memory facet rows are stale."""

    generation = models.PositiveBigIntegerField(default=0)
    entries = models.PositiveIntegerField(default=0)
    name_tokens = models.PositiveBigIntegerField(default=0)
    items_tokens = models.PositiveBigIntegerField(default=0)
    abstract_tokens = models.PositiveBigIntegerField(default=0)
    provider_tokens = models.PositiveBigIntegerField(default=0)
    class_tokens = models.PositiveBigIntegerField(default=0)
    ngram_tokens = models.PositiveBigIntegerField(default=0)
    synonyms_generation = models.PositiveBigIntegerField(
        default=0, help_text="检索同义词表每次变更加一，各进程据此刷新缓存"
    )

    class Meta:
        verbose_name = "检索索引统计"
        verbose_name_plural = "检索索引统计"

    def __str__(self) -> str:
        return f"第 {self.generation} 代，{self.entries} 条"


class SearchSynonym(models.Model):
    """检索同义词: a word staff type (社保) and what the catalog calls it (社会保险). A query
    containing either also searches the other; kept by the catalog authority in the console."""

    term = models.CharField("检索词", max_length=20)
    synonym = models.CharField("同义词或全称", max_length=30)
    note = models.CharField("说明", max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("添加时间", auto_now_add=True)

    class Meta:
        verbose_name = "检索同义词"
        verbose_name_plural = "检索同义词"
        ordering = ["term", "synonym"]
        constraints = [models.UniqueConstraint(fields=["term", "synonym"], name="catalog_synonym_unique")]

    def __str__(self) -> str:
        return f"{self.term} → {self.synonym}"
