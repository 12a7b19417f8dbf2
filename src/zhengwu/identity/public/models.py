"""Tables of the public accounts (自然人, 法人, 经办人).

A public account is a `directory.User` with `account_kind="public"` (no unit, no role), with
one `PublicProfile` beside it. The resident identity number is never stored in clear: the
profile keeps it SM4-encrypted (`core.crypto.encrypt_field`, bound to the row) and an HMAC-SM3
keyed hash for look-up and uniqueness (`id_no_hash`). No copy of base data is kept here: the
real-name check asks the verifier registry (`core.verifiers`) every time.

State changes go through `identity.public.services`; reads through `identity.public.queries`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AssuranceLevel(models.IntegerChoices):
    """Levels of assurance (实名等级), ordered: a service may require at least one of them."""

    NONE = 0, "未实名"
    VERIFIED = 1, "已实名"
    ADVANCED = 2, "高级实名"


class PublicProfile(models.Model):
    """The 自然人 behind a public account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="public_profile", verbose_name="账号"
    )
    mobile = models.CharField("手机号码", max_length=11, unique=True, null=True, blank=True)
    id_no_encrypted = models.TextField("公民身份号码（密文）", blank=True)
    id_no_hash = models.CharField("公民身份号码（带密钥摘要）", max_length=64, unique=True, null=True, blank=True)
    level = models.PositiveSmallIntegerField("实名等级", choices=AssuranceLevel.choices, default=AssuranceLevel.NONE)
    verified_at = models.DateTimeField("实名核验时间", null=True, blank=True)
    advanced_at = models.DateTimeField("高级实名时间", null=True, blank=True)
    advanced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="现场核验人",
    )
    terms_version = models.CharField("同意的用户协议版本", max_length=32)
    terms_accepted_at = models.DateTimeField("同意用户协议时间")
    created_at = models.DateTimeField("注册时间", auto_now_add=True)
    closed_at = models.DateTimeField("注销时间", null=True, blank=True)

    class Meta:
        verbose_name = "自然人账号"
        verbose_name_plural = "自然人账号"

    def __str__(self) -> str:
        return f"自然人账号 {self.user_id}"


class Enterprise(models.Model):
    """An enterprise (法人) bound to its 统一社会信用代码, verified against 市场主体登记信息."""

    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True)
    name = models.CharField("企业名称", max_length=200)
    legal_representative = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="represented_enterprises",
        verbose_name="法定代表人",
    )
    registration_status = models.CharField("登记状态（认证时）", max_length=10)
    verified_at = models.DateTimeField("企业认证时间")

    class Meta:
        verbose_name = "企业账号"
        verbose_name_plural = "企业账号"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AgentRole(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_rep", "法定代表人"
    AGENT = "agent", "经办人"


class EnterpriseAuthorisation(models.Model):
    """A person who may act for an enterprise: its legal representative, or an 经办人 the legal
    representative authorised. A revoked row stays (history); only rows without `revoked_at`
    give access, and that is checked on every request."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="authorisations")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enterprise_authorisations"
    )
    role = models.CharField("身份", max_length=10, choices=AgentRole.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="授权人"
    )
    granted_at = models.DateTimeField("授权时间")
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="撤销人",
    )

    class Meta:
        verbose_name = "企业授权"
        verbose_name_plural = "企业授权"
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "person"], condition=models.Q(revoked_at__isnull=True),
                name="enterprise_authorisation_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} · {self.get_role_display()} {self.person_id}"


class SmsPurpose(models.TextChoices):
    REGISTER = "register", "注册"


class SmsCode(models.Model):
    """A one-time SMS code: stored as a keyed hash, single use, expiring, a few tries."""

    mobile = models.CharField("手机号码", max_length=11, db_index=True)
    purpose = models.CharField("用途", max_length=16, choices=SmsPurpose.choices)
    code_hash = models.CharField("验证码摘要", max_length=64)
    created_at = models.DateTimeField("发送时间", db_index=True)
    expires_at = models.DateTimeField("失效时间")
    used_at = models.DateTimeField("使用时间", null=True, blank=True)
    failed_tries = models.PositiveSmallIntegerField("错误次数", default=0)
    source_ip = models.CharField("来源地址", max_length=45, blank=True)

    class Meta:
        verbose_name = "短信验证码"
        verbose_name_plural = "短信验证码"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"短信验证码 {self.pk}"


class SmsOutboxMessage(models.Model):
    """A text the development SMS sender 'sent': kept for an operator (系统管理员) to read."""

    mobile = models.CharField("手机号码", max_length=11)
    text = models.CharField("短信内容", max_length=300)
    created_at = models.DateTimeField("发送时间", db_index=True)

    class Meta:
        verbose_name = "短信发件箱"
        verbose_name_plural = "短信发件箱"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"短信 {self.pk}"


class RateEvent(models.Model):
    """One counted action (registration, SMS send, real-name check) for the rate limits; the key is
    a keyed hash of the address, mobile number or account, never the value itself."""

    kind = models.CharField("类别", max_length=32)
    key = models.CharField("键（摘要）", max_length=64)
    occurred_at = models.DateTimeField("时间")

    class Meta:
        verbose_name = "频率计数"
        verbose_name_plural = "频率计数"
        indexes = [models.Index(fields=["kind", "key", "occurred_at"], name="public_rate_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"
