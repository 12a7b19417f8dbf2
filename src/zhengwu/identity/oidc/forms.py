from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from .claims import SCOPES, SERVICE_SCOPES, USER_SCOPES
from .models import Audience, ClientKind


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class RegistrationForm(forms.Form):
    unit = forms.TypedChoiceField(label="所属单位", coerce=int)
    name = forms.CharField(label="系统名称", max_length=100)
    description = forms.CharField(label="系统说明", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label="客户端类型", choices=ClientKind.choices, widget=forms.RadioSelect,
                             help_text="网页应用：有服务端、能保管密钥；公共客户端：浏览器内或手机应用，用 PKCE；服务：系统之间调用，无用户登录")
    audience = forms.ChoiceField(label="使用对象", choices=Audience.choices, widget=forms.RadioSelect,
                                 help_text="仅工作人员的系统由系统管理员批准后登录时不再单独征得同意；面向公众的系统每次首次使用都会请用户同意")
    scopes = forms.MultipleChoiceField(
        label="需要的信息", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(s, f"{s}：{SCOPES[s]}") for s in [*USER_SCOPES, *SERVICE_SCOPES]],
    )
    redirect_uris = forms.CharField(label="回调地址", required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                    help_text="每行一个，完全一致匹配；必须 https（开发环境可用 http://127.0.0.1）；不能含 * 或 #")
    post_logout_redirect_uris = forms.CharField(label="退出后返回地址", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                                help_text="每行一个，可不填")
    backchannel_logout_uri = forms.CharField(label="后台退出通知地址", required=False, max_length=500,
                                             help_text="可不填；平台在用户退出时向此地址发送签名的退出通知（须在出站白名单内）")
    logo = forms.FileField(label="标志图片", required=False, help_text="PNG 或 JPEG，不超过 200 KB")

    def __init__(self, *args: Any, units: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].initial = ClientKind.WEB
        self.fields["audience"].initial = Audience.STAFF
        self.fields["scopes"].initial = ["openid", "profile"]
        self.fields["logo"].help_text = f"PNG 或 JPEG，不超过 {settings.OIDC_LOGO_MAX_KB} KB，宽高不超过 1024 像素"
        self.fields["unit"].choices = [(u.pk, u.name) for u in units]  # type: ignore[attr-defined]

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        logo = data.get("logo")
        return {
            "name": data["name"],
            "description": data.get("description", ""),
            "kind": data["kind"],
            "audience": data["audience"],
            "scopes": list(data.get("scopes") or []),
            "redirect_uris": _lines(data.get("redirect_uris", "")),
            "post_logout_redirect_uris": _lines(data.get("post_logout_redirect_uris", "")),
            "backchannel_logout_uri": data.get("backchannel_logout_uri", ""),
            "logo": logo.read(settings.OIDC_LOGO_MAX_KB * 1024 + 1) if logo else None,
        }


class RefuseForm(forms.Form):
    reason = forms.CharField(label="退回原因", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
