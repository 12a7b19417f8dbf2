"""Identity tables: the security policy, password history, login attempts, locks, TOTP devices and
WebAuthn credentials (security keys and platform authenticators).

State changes go through `identity.services`; reads through `identity.queries`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# (minimum, maximum) for every numeric policy setting: the one place the ranges live.
# The model's validators, the console form and the API schema all read them from here.
POLICY_RANGES: dict[str, tuple[int, int]] = {
    "password_min_length": (8, 64),
    "password_min_classes": (2, 4),
    "password_history": (0, 24),
    "password_max_age_days": (1, 365),
    "account_lock_threshold": (3, 20),
    "account_lock_window_minutes": (1, 1440),
    "account_lock_minutes": (1, 1440),
    "address_lock_threshold": (10, 1000),
    "address_lock_window_minutes": (1, 1440),
    "address_lock_minutes": (1, 1440),
    "session_idle_minutes": (5, 240),
}

# Chinese labels (also used in range error messages and the API).
POLICY_LABELS: dict[str, str] = {
    "password_min_length": "密码最小长度",
    "password_min_classes": "密码须包含的字符类别数",
    "password_history": "不得重复使用的历史密码个数",
    "password_max_age_days": "密码最长使用期限（天）",
    "account_lock_threshold": "账号锁定阈值（失败次数）",
    "account_lock_window_minutes": "账号失败计数时间窗（分钟）",
    "account_lock_minutes": "账号锁定时长（分钟）",
    "address_lock_threshold": "来源地址锁定阈值（失败次数）",
    "address_lock_window_minutes": "来源地址失败计数时间窗（分钟）",
    "address_lock_minutes": "来源地址锁定时长（分钟）",
    "session_idle_minutes": "会话空闲超时（分钟）",
    "totp_required_for_all": "所有用户均须启用第二重身份鉴别（动态口令或安全密钥）",
}

# Largest number of old password hashes kept per user (the top of the history range).
MAX_PASSWORD_HISTORY = POLICY_RANGES["password_history"][1]


def _range_validators(name: str) -> list[Any]:
    low, high = POLICY_RANGES[name]
    label = POLICY_LABELS[name]
    return [
        MinValueValidator(low, message=f"{label}不能小于 {low}"),
        MaxValueValidator(high, message=f"{label}不能大于 {high}"),
    ]


class SecurityPolicy(models.Model):
    """Singleton (id = 1): the platform's login and password rules, edited by the 安全管理员.

    Administrators (the three admin roles) always need a second factor (TOTP or WebAuthn); that is
    not a setting.
    The password must never contain the username or the person's full name; not a setting either.
    """

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    password_min_length = models.PositiveSmallIntegerField(
        POLICY_LABELS["password_min_length"], default=10, validators=_range_validators("password_min_length")
    )
    password_min_classes = models.PositiveSmallIntegerField(
        POLICY_LABELS["password_min_classes"],
        default=3,
        validators=_range_validators("password_min_classes"),
        help_text="大写字母、小写字母、数字、符号四类中至少包含几类",
    )
    password_history = models.PositiveSmallIntegerField(
        POLICY_LABELS["password_history"], default=5, validators=_range_validators("password_history")
    )
    password_max_age_days = models.PositiveSmallIntegerField(
        POLICY_LABELS["password_max_age_days"],
        default=90,
        validators=_range_validators("password_max_age_days"),
    )
    account_lock_threshold = models.PositiveSmallIntegerField(
        POLICY_LABELS["account_lock_threshold"],
        default=5,
        validators=_range_validators("account_lock_threshold"),
    )
    account_lock_window_minutes = models.PositiveSmallIntegerField(
        POLICY_LABELS["account_lock_window_minutes"],
        default=30,
        validators=_range_validators("account_lock_window_minutes"),
    )
    account_lock_minutes = models.PositiveSmallIntegerField(
        POLICY_LABELS["account_lock_minutes"],
        default=30,
        validators=_range_validators("account_lock_minutes"),
    )
    # Higher than the account threshold: one office (or the single-machine demo) shares an address,
    # and a few mistyped passwords there must not lock every account, the administrators' included.
    address_lock_threshold = models.PositiveSmallIntegerField(
        POLICY_LABELS["address_lock_threshold"],
        default=30,
        validators=_range_validators("address_lock_threshold"),
    )
    address_lock_window_minutes = models.PositiveSmallIntegerField(
        POLICY_LABELS["address_lock_window_minutes"],
        default=30,
        validators=_range_validators("address_lock_window_minutes"),
    )
    address_lock_minutes = models.PositiveSmallIntegerField(
        POLICY_LABELS["address_lock_minutes"],
        default=30,
        validators=_range_validators("address_lock_minutes"),
    )
    session_idle_minutes = models.PositiveSmallIntegerField(
        POLICY_LABELS["session_idle_minutes"],
        default=30,
        validators=_range_validators("session_idle_minutes"),
    )
    totp_required_for_all = models.BooleanField(
        POLICY_LABELS["totp_required_for_all"],
        default=False,
        help_text="三类管理员始终须使用动态口令或安全密钥（不可关闭）；勾选后所有工作人员也必须启用其中一种",
    )
    updated_at = models.DateTimeField("修改时间", null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="修改人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "安全策略"
        verbose_name_plural = "安全策略"

    def __str__(self) -> str:
        return "安全策略"

    def clean(self) -> None:
        if self.pk != self.SINGLETON_ID:
            raise ValidationError("安全策略只能有一份")
        if (
            self.address_lock_threshold is not None
            and self.account_lock_threshold is not None
            and self.address_lock_threshold <= self.account_lock_threshold
        ):
            raise ValidationError(
                {
                    "address_lock_threshold": (
                        f"{POLICY_LABELS['address_lock_threshold']}必须大于{POLICY_LABELS['account_lock_threshold']}"
                        f"（当前 {self.account_lock_threshold}）：同一地址常有多人登录，按地址锁定只用于拦截"
                        "跨账号的批量猜测"
                    )
                }
            )


class PasswordHistory(models.Model):
    """A password hash a user has had (recorded each time a password is set)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_history"
    )
    password_hash = models.CharField("密码哈希", max_length=256)
    created_at = models.DateTimeField("设置时间", db_index=True)

    class Meta:
        verbose_name = "历史密码"
        verbose_name_plural = "历史密码"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class LoginFailureReason(models.TextChoices):
    BAD_PASSWORD = "bad_password", "密码错误"
    UNKNOWN_USER = "unknown_user", "账号不存在"
    LOCKED = "locked", "已锁定"
    BAD_TOTP = "bad_totp", "动态口令错误"
    BAD_WEBAUTHN = "bad_webauthn", "安全密钥验证失败"
    INACTIVE = "inactive", "账号已停用"


# Reasons that count towards a lock. A refused attempt while locked does not extend the lock.
COUNTED_REASONS = (
    LoginFailureReason.BAD_PASSWORD,
    LoginFailureReason.UNKNOWN_USER,
    LoginFailureReason.BAD_TOTP,
    LoginFailureReason.BAD_WEBAUTHN,
    LoginFailureReason.INACTIVE,
)


class LoginAttempt(models.Model):
    """One login attempt (password step or TOTP step), successful or not."""

    occurred_at = models.DateTimeField("时间", db_index=True)
    username = models.CharField("尝试的账号", max_length=150, db_index=True, help_text="小写规范化")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="login_attempts",
    )
    source_ip = models.CharField("来源地址", max_length=45, blank=True, db_index=True)
    success = models.BooleanField("成功", default=False)
    reason = models.CharField("失败原因", max_length=16, choices=LoginFailureReason.choices, blank=True)

    class Meta:
        verbose_name = "登录尝试"
        verbose_name_plural = "登录尝试"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["username", "occurred_at"], name="identity_attempt_user_idx"),
            models.Index(fields=["source_ip", "occurred_at"], name="identity_attempt_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.source_ip} {'成功' if self.success else self.reason}"


class LockKind(models.TextChoices):
    ACCOUNT = "account", "账号"
    ADDRESS = "address", "来源地址"


class LoginLock(models.Model):
    """A lock on an account name or a source address, active until `locked_until` or an unlock.

    Account locks are keyed by the normalised account name, whether or not such an account
    exists, so locking does not reveal which names are real.
    """

    kind = models.CharField("类型", max_length=8, choices=LockKind.choices)
    key = models.CharField("账号或地址", max_length=150, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="login_locks"
    )
    failures = models.PositiveSmallIntegerField("失败次数", default=0)
    locked_at = models.DateTimeField("锁定时间")
    locked_until = models.DateTimeField("自动解锁时间", db_index=True)
    unlocked_at = models.DateTimeField("解锁时间", null=True, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="解锁人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "登录锁定"
        verbose_name_plural = "登录锁定"
        ordering = ["-locked_at", "-id"]
        indexes = [models.Index(fields=["kind", "key", "locked_until"], name="identity_lock_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}"

    @property
    def released_at(self) -> datetime:
        """When the lock stopped counting: the manual unlock or the automatic expiry."""
        if self.unlocked_at is not None and self.unlocked_at < self.locked_until:
            return self.unlocked_at
        return self.locked_until


class TOTPDevice(models.Model):
    """A user's TOTP authenticator (RFC 6238, 30 s, 6 digits). The secret is SM4-GCM encrypted."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    secret_encrypted = models.TextField("密钥（SM4 加密）")
    confirmed = models.BooleanField("已确认", default=False)
    created_at = models.DateTimeField("创建时间")
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    last_used_counter = models.BigIntegerField("最近使用的时间步", null=True, blank=True)

    class Meta:
        verbose_name = "动态口令设备"
        verbose_name_plural = "动态口令设备"

    def __str__(self) -> str:
        return f"TOTP {self.user_id}"


# Longest name a person gives an authenticator ("办公室的 U 盾", "我的手机").
WEBAUTHN_NAME_MAX = 40
# Most authenticators one account may register.
WEBAUTHN_MAX_PER_USER = 10


class WebAuthnCredential(models.Model):
    """A WebAuthn public-key credential (W3C Web Authentication Level 2) registered by a user as a
    second factor: a security key (USB/NFC) or the platform authenticator of a phone or computer.

    Only the public key is stored; the private key never leaves the authenticator. `sign_count`
    is the authenticator's signature counter: a response whose counter does not move forward
    (when either side is non-zero) means the key may have been cloned and is refused.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials"
    )
    name = models.CharField("名称", max_length=WEBAUTHN_NAME_MAX)
    # base64url of the credential ID (at most 1023 bytes by the specification: 1364 characters)
    credential_id = models.CharField("凭据标识", max_length=1400, unique=True)
    public_key = models.BinaryField("公钥（COSE）")
    sign_count = models.BigIntegerField("签名计数", default=0)
    transports = models.CharField("传输方式", max_length=100, blank=True, help_text="逗号分隔，如 usb,nfc")
    aaguid = models.CharField("认证器型号（AAGUID）", max_length=36, blank=True)
    user_verified = models.BooleanField("登记时已验证用户", default=False)
    backed_up = models.BooleanField("已同步备份（通行密钥）", default=False)
    created_at = models.DateTimeField("登记时间")
    last_used_at = models.DateTimeField("最近使用时间", null=True, blank=True)

    class Meta:
        verbose_name = "安全密钥"
        verbose_name_plural = "安全密钥"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="identity_webauthn_user_name_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"

    @property
    def transport_list(self) -> list[str]:
        return [t for t in self.transports.split(",") if t]

    @property
    def kind_label(self) -> str:
        """What the person registered, as far as the browser told (the transports it reported)."""
        transports = set(self.transport_list)
        if "internal" in transports:
            return "本机认证器（指纹、面容或 PIN）"
        if "hybrid" in transports:
            return "手机（扫码连接）"
        if transports & {"usb", "nfc", "ble", "smart-card"}:
            return "安全密钥（" + "、".join(sorted(t.upper() for t in transports if t != "hybrid")) + "）"
        return "安全密钥"
