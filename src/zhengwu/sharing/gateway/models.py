"""Tables of the data gateway (数据服务网关).

- `GatewayKey`: an API key with request signing (HMAC-SM3) for a unit's system that cannot do
  OAuth2; the secret is kept encrypted with the platform's field key (it must be read back to
  check signatures) and shown once at creation.
- `SignatureNonce`: nonces of signed requests seen within the clock window (unique per key):
  a replayed signature collides here.
- `ClientSourceLimit`: optional source-address limits (CIDR list) of an OAuth2 SERVICE client.
- `GrantLimits`: per-grant rate limit and daily quota set by the provider's 共享审核员 (absent:
  the settings' defaults).
- `UsageCounter`: the per-minute and per-day call counts of each grant, counted in the database
  with one upsert per window so several web workers share them.
- `GatewayCall`: one row per call, never the payload (X-Road operational monitoring).
- `DataUse`: one row per person / enterprise touched by a call, keyed by a keyed hash of the
  identity number / credit code ("who used my data").
- `CallSeal`: the periodic seal of the calls since the previous one (SM3 over their rows, with the
  audit record that carries it) — tamper evidence without a lock per call.
- `CallStat`: the hourly rollup per resource and consumer that pages and /metrics read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class GatewayKey(models.Model):
    unit = models.ForeignKey("directory.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="gateway_keys")
    name = models.CharField("名称", max_length=100, help_text="哪个系统使用此密钥")
    key_id = models.CharField("密钥标识", max_length=40, unique=True)
    secret_encrypted = models.TextField("密钥（SM4 加密）")
    allowed_sources = models.TextField("允许的来源地址", blank=True, help_text="CIDR，每行一个；空为不限")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "网关密钥"
        verbose_name_plural = "网关密钥"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.key_id}）"

    @property
    def usable(self) -> bool:
        return self.revoked_at is None


class SignatureNonce(models.Model):
    key = models.ForeignKey(GatewayKey, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "nonce"], name="gateway_nonce_once")]

    def __str__(self) -> str:
        return self.nonce


class ClientSourceLimit(models.Model):
    registration = models.OneToOneField(
        "oidc.ClientRegistration", on_delete=models.CASCADE, related_name="gateway_sources"
    )
    allowed_sources = models.TextField("允许的来源地址", blank=True, help_text="CIDR，每行一个；空为不限")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "客户端来源地址限制"
        verbose_name_plural = "客户端来源地址限制"

    def __str__(self) -> str:
        return f"来源限制 {self.registration_id}"


class GrantLimits(models.Model):
    grant = models.OneToOneField("sharing.ShareGrant", on_delete=models.CASCADE, related_name="gateway_limits")
    rate_per_minute = models.PositiveIntegerField("每分钟调用上限")
    daily_quota = models.PositiveIntegerField("每日调用配额")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "授权调用限制"
        verbose_name_plural = "授权调用限制"

    def __str__(self) -> str:
        return f"{self.rate_per_minute}/分钟，{self.daily_quota}/日"


class UsageCounter(models.Model):
    MINUTE, DAY = "m", "d"
    grant = models.ForeignKey("sharing.ShareGrant", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=1)
    started = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grant", "period", "started"], name="gateway_usage_window")]

    def __str__(self) -> str:
        return f"{self.grant_id} {self.period} {self.started:%Y-%m-%d %H:%M} = {self.count}"


class Operation(models.TextChoices):
    LIST = "services", "服务目录"
    OPENAPI = "openapi", "服务描述"
    LOOKUP = "lookup", "按主键查询"
    QUERY = "query", "条件查询"
    EXTRACT = "extract", "批量导出"
    FEED = "feed", "变更订阅（拉取）"
    PUSH = "push", "变更订阅（推送）"
    TABLE = "table", "库表交换"


class GatewayCall(models.Model):
    """What happened on one call (never the payload)."""

    at = models.DateTimeField("时间")
    registration = models.ForeignKey(
        "oidc.ClientRegistration", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key = models.ForeignKey(GatewayKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    client_name = models.CharField("调用系统", max_length=100, blank=True)
    unit = models.ForeignKey("directory.Unit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    unit_name = models.CharField("调用单位", max_length=100, blank=True)
    grant = models.ForeignKey("sharing.ShareGrant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resource_code = models.CharField("信息资源代码", max_length=64, blank=True)
    provider_id_value = models.IntegerField("提供单位", null=True, blank=True)
    purpose = models.CharField("用途", max_length=300, blank=True)
    case_ref = models.CharField("办件编号", max_length=64, blank=True, help_text="X-Zhengwu-Purpose")
    operation = models.CharField("操作", max_length=10, choices=Operation.choices)
    items = models.JSONField("返回的信息项", default=list)
    row_count = models.PositiveIntegerField("返回行数", default=0)
    keys_touched = models.PositiveIntegerField("涉及的记录数", default=0)
    status = models.PositiveSmallIntegerField("状态码")
    error = models.CharField("拒绝或错误原因", max_length=300, blank=True)
    duration_ms = models.FloatField("耗时（毫秒）")
    remote_addr = models.CharField("来源地址", max_length=45, blank=True)

    class Meta:
        verbose_name = "网关调用记录"
        verbose_name_plural = "网关调用记录"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["unit", "at"], name="gateway_call_unit_at"),
            models.Index(fields=["provider_id_value", "at"], name="gateway_call_provider_at"),
            models.Index(fields=["at"], name="gateway_call_at"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.resource_code} {self.status}"


class SubjectKind(models.TextChoices):
    PERSON = "person", "自然人"
    ENTERPRISE = "enterprise", "法人"


class DataUse(models.Model):
    """One person or enterprise whose records a call returned (or a bulk extract covered)."""

    subject_hash = models.CharField(max_length=64)
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    call = models.ForeignKey(GatewayCall, on_delete=models.CASCADE, related_name="data_uses")
    at = models.DateTimeField()
    unit_name = models.CharField(max_length=100)
    client_name = models.CharField(max_length=100, blank=True)
    grant = models.ForeignKey("sharing.ShareGrant", null=True, on_delete=models.SET_NULL, related_name="+")
    resource_code = models.CharField(max_length=64)
    resource_name = models.CharField(max_length=200, blank=True)
    purpose = models.CharField(max_length=300, blank=True)
    case_ref = models.CharField(max_length=64, blank=True)
    operation = models.CharField(max_length=10, choices=Operation.choices)

    class Meta:
        verbose_name = "数据使用记录"
        verbose_name_plural = "数据使用记录"
        indexes = [models.Index(fields=["subject_hash", "-at", "-id"], name="gateway_datause_subject")]

    def __str__(self) -> str:
        return f"{self.subject_kind} {self.at:%Y-%m-%d %H:%M}"


class CallSeal(models.Model):
    first_call_id = models.BigIntegerField()
    last_call_id = models.BigIntegerField(unique=True)
    count = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    audit_seq = models.BigIntegerField(null=True)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_call_id"]

    def __str__(self) -> str:
        return f"{self.first_call_id}–{self.last_call_id}"


class CallStat(models.Model):
    """Calls of one hour, per resource, consumer unit and outcome class, with latency buckets."""

    hour = models.DateTimeField()
    resource_code = models.CharField(max_length=64)
    provider_id_value = models.IntegerField(default=0)  # 0: unknown (a refused call before the resource is known)
    unit_id_value = models.IntegerField(default=0)  # 0: no authenticated unit
    operation = models.CharField(max_length=10)
    status_class = models.CharField(max_length=3)  # 2xx 4xx 5xx
    calls = models.PositiveBigIntegerField(default=0)
    duration_ms_sum = models.FloatField(default=0)
    buckets = models.JSONField(default=list)  # counts per LATENCY_BUCKETS_MS (+Inf last)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "resource_code", "unit_id_value", "operation", "status_class"], name="gateway_stat_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H} {self.resource_code} {self.calls}"
