"""Tables of open data: what the catalog does not hold.

The catalog says WHICH data is open (its 开放类型 and information items); the lake holds the rows.
Here live the open-data portal's own facts: themes (主题, mapped from catalog classes), each
dataset's licence and keywords, daily use counts, applications for 有条件开放 data with the API
keys they give, reuses (应用成果) and discussions (纠错 / 需求). Datasets are referred to by their
catalog resource code (the catalog's stable key), never copied.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Theme(models.Model):
    """主题: a group of datasets on the portal and a CKAN group / DCAT theme. Entries fall in a
    theme by their catalog class (类-项, e.g. "2-11" 生态环保); a dataset profile may override."""

    code = models.SlugField("主题代码", max_length=40, unique=True)
    name = models.CharField("主题名称", max_length=30)
    description = models.CharField("说明", max_length=200, blank=True)
    class_codes = models.JSONField("对应的目录分类", default=list, help_text='如 ["2-11", "3-11"]')
    eu_theme = models.CharField("对应的 EU 数据主题", max_length=10, blank=True, help_text="如 ENVI、ECON")
    order = models.PositiveIntegerField("排序", default=100)

    class Meta:
        verbose_name = verbose_name_plural = "开放数据主题"
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class DatasetProfile(models.Model):
    """What a dataset carries on the open-data portal beyond its catalog entry (licence, keywords,
    theme override). Absent means the defaults (the default licence, the theme of its class)."""

    resource_code = models.CharField("信息资源代码", max_length=40, unique=True)
    licence = models.CharField("许可协议", max_length=20, blank=True)
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    keywords = models.JSONField("关键词", default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "开放数据集设置"

    def __str__(self) -> str:
        return self.resource_code


class DatasetDailyStat(models.Model):
    """Use of one dataset on one day: page views, downloads and API calls (counted, not audited:
    open data is public; conditional data reached with an API key is audited besides)."""

    resource_code = models.CharField("信息资源代码", max_length=40)
    day = models.DateField("日期")
    views = models.PositiveIntegerField("浏览", default=0)
    downloads = models.PositiveIntegerField("下载", default=0)
    api_calls = models.PositiveIntegerField("接口调用", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "开放数据使用统计"
        constraints = [models.UniqueConstraint(fields=["resource_code", "day"], name="opendata_stat_unique")]
        indexes = [models.Index(fields=["day", "resource_code"])]

    def __str__(self) -> str:
        return f"{self.resource_code} {self.day}"


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已同意"
    REFUSED = "refused", "不予同意"
    WITHDRAWN = "withdrawn", "已撤回"


class DataApplication(models.Model):
    """An application for 有条件开放 data by a registered 自然人 (or for a 法人 they act for)."""

    resource_code = models.CharField("信息资源代码", max_length=40, db_index=True)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="申请人"
    )
    enterprise = models.ForeignKey(
        "public_accounts.Enterprise", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="申请企业",
    )
    purpose = models.TextField("用途")
    scenario = models.TextField("应用场景")
    items = models.JSONField("申请的信息项", default=list)
    period_start = models.DateField("使用期限起")
    period_end = models.DateField("使用期限止")
    status = models.CharField("状态", max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING)
    due_date = models.DateField("答复期限")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="审核人",
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decision_reason = models.TextField("审核意见", blank=True)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "有条件开放数据申请"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"申请 {self.pk}（{self.get_status_display()}）"


class ApiKey(models.Model):
    """The key an approved application gives: this dataset, these items, this period. Only its
    SHA-256 digest is kept; the key itself is shown once, to the applicant."""

    application = models.OneToOneField(DataApplication, on_delete=models.PROTECT, related_name="api_key")
    digest = models.CharField("密钥摘要", max_length=64, unique=True)
    prefix = models.CharField("密钥前缀", max_length=12)
    resource_code = models.CharField("信息资源代码", max_length=40)
    items = models.JSONField("可用信息项", default=list)
    valid_from = models.DateField("有效期起")
    valid_until = models.DateField("有效期止")
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "开放数据接口密钥"

    def __str__(self) -> str:
        return f"{self.prefix}… → {self.resource_code}"


class ModerationStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    PUBLISHED = "published", "已发布"
    REJECTED = "rejected", "未通过"


class Reuse(models.Model):
    """应用成果: an application, study or visualisation built on open datasets, shown once moderated."""

    title = models.CharField("名称", max_length=100)
    description = models.TextField("简介")
    url = models.URLField("访问地址", blank=True)
    resource_codes = models.JSONField("使用的数据集", default=list)
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状态", max_length=10, choices=ModerationStatus.choices, default=ModerationStatus.PENDING)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderation_note = models.TextField("审核意见", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "应用成果"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class DiscussionKind(models.TextChoices):
    CORRECTION = "纠错"
    REQUEST = "需求"


class Discussion(models.Model):
    """A 纠错 (this data is wrong) or 需求 (we need more) on a dataset, answered by its provider."""

    resource_code = models.CharField("信息资源代码", max_length=40, db_index=True)
    kind = models.CharField("类型", max_length=4, choices=DiscussionKind.choices)
    title = models.CharField("标题", max_length=100)
    body = models.TextField("内容")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answer = models.TextField("答复", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "数据集留言"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}：{self.title}"
