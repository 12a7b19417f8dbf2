"""Tables of the OpenID Connect provider (统一身份认证).

django-oauth-toolkit keeps the protocol's own rows (Application, Grant, AccessToken, RefreshToken,
IDToken). Beside them, without swapping DOT's models:

- `ClientRegistration`: what a unit registered for its system (unit, audience, kind, logo,
  back-channel logout URI) and the 系统管理员's decision. A client authenticates only while it is
  approved and enabled (validator.PlatformValidator checks this on every request).
- `SigningKey`: the RSA keys that sign ID tokens and logout tokens, private part encrypted with the
  platform's field key (SM4). One is active; older ones stay published until what they signed expired.
- `SsoSession`: one per platform login session that signed in to a client (`sid` in ID tokens).
- `IssuedCode` / `IssuedToken`: which authorization code and which access token belong to which SSO
  session (logout ends them all) and which code (a code used twice revokes what it produced).
- `Subject`: the stable, random `sub` of each user (never the username).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Audience(models.TextChoices):
    STAFF = "staff", "仅工作人员"
    PUBLIC = "public", "仅公众"
    BOTH = "both", "工作人员和公众"


class ClientKind(models.TextChoices):
    WEB = "web", "网页应用（机密客户端）"
    PUBLIC = "public", "公共客户端（PKCE）"
    SERVICE = "service", "服务（客户端凭证）"


class ClientStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已批准"
    REFUSED = "refused", "已退回"


class ClientRegistration(models.Model):
    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="registration"
    )
    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="oidc_clients")
    name = models.CharField("系统名称", max_length=100)
    description = models.CharField("系统说明", max_length=500, blank=True)
    audience = models.CharField("使用对象", max_length=16, choices=Audience.choices)
    kind = models.CharField("客户端类型", max_length=16, choices=ClientKind.choices)
    scopes = models.CharField("申请的范围", max_length=200, help_text="空格分隔")
    backchannel_logout_uri = models.CharField("后台退出通知地址", max_length=500, blank=True)
    logo = models.BinaryField("标志图片", blank=True, default=b"")
    logo_type = models.CharField("标志图片类型", max_length=20, blank=True)
    status = models.CharField("审核状态", max_length=16, choices=ClientStatus.choices, default=ClientStatus.PENDING)
    enabled = models.BooleanField("启用", default=True)
    refusal_reason = models.CharField("退回原因", max_length=500, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    registered_at = models.DateTimeField("登记时间", auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    secret_rotated_at = models.DateTimeField("密钥更换时间", null=True, blank=True)
    disabled_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = "应用系统"
        verbose_name_plural = "应用系统"
        ordering = ["-registered_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def usable(self) -> bool:
        return self.status == ClientStatus.APPROVED and self.enabled

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def state_label(self) -> str:
        if self.status == ClientStatus.APPROVED and not self.enabled:
            return "已停用"
        return self.get_status_display()


class SigningKey(models.Model):
    # A unique generation number: two processes creating the first key (or rotating) at once
    # collide here instead of both publishing a key.
    generation = models.PositiveIntegerField(unique=True)
    kid = models.CharField(max_length=64, unique=True)
    private_key = models.TextField(help_text="SM4 加密的 PEM")
    public_jwk = models.JSONField()
    created_at = models.DateTimeField()
    superseded_at = models.DateTimeField(null=True, blank=True)  # a newer key began signing
    retired_at = models.DateTimeField(null=True, blank=True)  # no longer published

    class Meta:
        ordering = ["-generation"]

    def __str__(self) -> str:
        return self.kid


class SsoSession(models.Model):
    sid = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_sessions")
    auth_time = models.DateTimeField()
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return self.sid


class IssuedCode(models.Model):
    code_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey("oauth2_provider.Application", on_delete=models.CASCADE, related_name="+")
    sso_session = models.ForeignKey(SsoSession, on_delete=models.CASCADE, null=True, related_name="codes")
    created_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.code_hash[:12]


class IssuedToken(models.Model):
    access_token = models.OneToOneField(
        "oauth2_provider.AccessToken", on_delete=models.CASCADE, related_name="+"
    )
    sso_session = models.ForeignKey(SsoSession, on_delete=models.CASCADE, null=True, related_name="tokens")
    issued_code = models.ForeignKey(IssuedCode, on_delete=models.SET_NULL, null=True, related_name="tokens")

    def __str__(self) -> str:
        return f"token {self.access_token_id}"


class Subject(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_subject")
    sub = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.sub
