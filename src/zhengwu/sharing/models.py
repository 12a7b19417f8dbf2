"""Tables of 共享交换's first part: requests for a catalogued resource (申请), the grants they
produce (授权), the timeline both units see, and 共享需求 (a need for data not yet catalogued).

Rows change only through `services.py` (permission check, one transaction, audit record).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RequestStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已授权"
    REFUSED = "refused", "不予共享"
    WITHDRAWN = "withdrawn", "已撤回"


class GrantStatus(models.TextChoices):
    ACTIVE = "active", "有效"
    REVOKED = "revoked", "已撤销"
    EXPIRED = "expired", "已过期"


class NeedStatus(models.TextChoices):
    OPEN = "open", "待分派"
    ASSIGNED = "assigned", "待答复"
    CATALOGUED = "catalogued", "已编目"
    DECLINED = "declined", "不能提供"


class ShareRequest(models.Model):
    """A consumer unit asks for a published resource: purpose, legal basis, the information items,
    a row scope and a validity period. 有条件共享 waits for the provider's 共享审核员."""

    entry = models.ForeignKey(
        "catalog.CatalogEntry", verbose_name="信息资源", on_delete=models.PROTECT, related_name="share_requests"
    )
    entry_version = models.PositiveIntegerField("申请时的目录版本")
    share_type = models.CharField("申请时的共享类型", max_length=10)
    consumer = models.ForeignKey(
        "directory.Unit", verbose_name="申请单位", on_delete=models.PROTECT, related_name="share_requests_made"
    )
    provider = models.ForeignKey(
        "directory.Unit", verbose_name="提供单位", on_delete=models.PROTECT, related_name="share_requests_received"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    purpose = models.TextField("用途")
    legal_basis = models.TextField("依据")
    items = models.JSONField("申请的信息项", default=list, help_text="字段名列表")
    clear_items = models.JSONField("申请明文的信息项", default=list, blank=True)
    scope = models.JSONField("数据范围", default=dict, blank=True, help_text="{字段名: [允许的代码]}；空为全部")
    valid_from = models.DateField("有效期起")
    valid_until = models.DateField("有效期止")
    status = models.CharField("状态", max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    filed_at = models.DateTimeField("申请时间", auto_now_add=True)
    answer_days = models.PositiveIntegerField("答复时限（工作日）", null=True, blank=True)
    deadline = models.DateField("答复截止日", null=True, blank=True, help_text="按工作日计算，申请当日不计")
    overdue_notified_at = models.DateTimeField("逾期提醒时间", null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decision_note = models.TextField("审核意见或不予共享理由", blank=True)
    renews = models.ForeignKey(
        "ShareGrant", verbose_name="续期的授权", null=True, blank=True, on_delete=models.SET_NULL, related_name="renewals"
    )

    class Meta:
        verbose_name = "共享申请"
        verbose_name_plural = "共享申请"
        ordering = ["-filed_at", "-id"]
        indexes = [
            models.Index(fields=["provider", "status", "deadline"], name="sharing_req_provider_status"),
            models.Index(fields=["consumer", "status"], name="sharing_req_consumer_status"),
            models.Index(fields=["status", "deadline"], name="sharing_req_status_deadline"),
        ]

    def __str__(self) -> str:
        return f"共享申请 {self.pk}（{self.get_status_display()}）"


class ShareGrant(models.Model):
    """What a consumer unit was granted: items, row scope, period, which items clear."""

    request = models.OneToOneField(ShareRequest, on_delete=models.PROTECT, related_name="grant")
    entry = models.ForeignKey("catalog.CatalogEntry", on_delete=models.PROTECT, related_name="share_grants")
    consumer = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="share_grants_received")
    provider = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="share_grants_given")
    items = models.JSONField("授权的信息项", default=list)
    clear_items = models.JSONField("可见明文的信息项", default=list, blank=True, help_text="其余个人/敏感信息项按目录脱敏")
    scope = models.JSONField("数据范围", default=dict, blank=True)
    valid_from = models.DateField("有效期起")
    valid_until = models.DateField("有效期止")
    status = models.CharField("状态", max_length=10, choices=GrantStatus.choices, default=GrantStatus.ACTIVE)
    granted_at = models.DateTimeField("授权时间", auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="无条件共享自动授权时为空",
    )
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.TextField("撤销理由", blank=True)
    expired_at = models.DateTimeField("过期时间", null=True, blank=True)
    reminded_at = models.DateTimeField("续期提醒时间", null=True, blank=True)

    class Meta:
        verbose_name = "共享授权"
        verbose_name_plural = "共享授权"
        ordering = ["-granted_at", "-id"]
        indexes = [
            models.Index(fields=["status", "valid_until"], name="sharing_grant_status_until"),
            models.Index(fields=["consumer", "entry", "status"], name="sharing_grant_consumer_entry"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(valid_from__lte=models.F("valid_until")), name="sharing_grant_period"),
        ]

    def __str__(self) -> str:
        return f"共享授权 {self.pk}（{self.get_status_display()}）"


class ShareNeed(models.Model):
    """共享需求: a unit needs data not in the catalog; the data authority assigns it to the unit
    responsible, which answers with a catalogued resource or with reasons."""

    title = models.CharField("需求名称", max_length=100)
    description = models.TextField("需求说明", help_text="需要哪些数据项、什么范围、更新频率")
    purpose = models.TextField("用途")
    legal_basis = models.TextField("依据", blank=True)
    requester_unit = models.ForeignKey("directory.Unit", verbose_name="提出单位", on_delete=models.PROTECT, related_name="+")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("提出时间", auto_now_add=True)
    status = models.CharField("状态", max_length=10, choices=NeedStatus.choices, default=NeedStatus.OPEN)
    assigned_unit = models.ForeignKey(
        "directory.Unit", verbose_name="责任单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField("分派时间", null=True, blank=True)
    answer_entry = models.ForeignKey(
        "catalog.CatalogEntry", verbose_name="对应的目录", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answer = models.TextField("答复", blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)

    class Meta:
        verbose_name = "共享需求"
        verbose_name_plural = "共享需求"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ShareEvent(models.Model):
    """One step of a request's or a need's timeline, shown to both units (the audit chain holds
    the same step; this table is what the request page reads)."""

    request = models.ForeignKey(ShareRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    need = models.ForeignKey(ShareNeed, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField("时间", auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField("操作人", max_length=100, blank=True)
    actor_unit = models.CharField("操作单位", max_length=100, blank=True)
    kind = models.CharField("步骤", max_length=40)
    text = models.TextField("说明", blank=True)

    class Meta:
        verbose_name = "共享办理记录"
        verbose_name_plural = "共享办理记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.at:%Y-%m-%d %H:%M}"
