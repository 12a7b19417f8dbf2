"""Forms for login, TOTP, WebAuthn, password change and the security policy (messages in Chinese)."""

from __future__ import annotations

from typing import Any

from django import forms

from zhengwu.core.forms import chinese_errors as _chinese_errors

from .models import POLICY_LABELS, POLICY_RANGES, SecurityPolicy
from .password_policy import PolicyPasswordValidator


class LoginForm(forms.Form):
    username = forms.CharField(
        label="用户名",
        max_length=150,
        error_messages=_chinese_errors(max_length="用户名不能超过 150 个字符"),
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}
        ),
    )
    password = forms.CharField(
        label="密码",
        max_length=4096,
        strip=False,
        error_messages=_chinese_errors(max_length="密码过长"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TOTPCodeForm(forms.Form):
    code = forms.RegexField(
        label="动态口令",
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        max_length=16,
        error_messages=_chinese_errors(invalid="请输入 6 位数字", max_length="请输入 6 位数字"),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": r"[0-9 ]*",
            }
        ),
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label="当前密码",
        strip=False,
        max_length=4096,
        error_messages=_chinese_errors(max_length="密码过长"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="新密码",
        strip=False,
        max_length=4096,
        error_messages=_chinese_errors(max_length="密码过长"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label="再次输入新密码",
        strip=False,
        max_length=4096,
        error_messages=_chinese_errors(max_length="密码过长"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password"].help_text = PolicyPasswordValidator().get_help_text()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        new, again = data.get("new_password"), data.get("new_password2")
        if new and again and new != again:
            self.add_error("new_password2", "两次输入的新密码不一致")
        return data


class SecurityPolicyForm(forms.ModelForm):
    class Meta:
        model = SecurityPolicy
        fields = [*POLICY_RANGES, "totp_required_for_all"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            label = POLICY_LABELS.get(name, name)
            field.error_messages.update({"required": f"请填写{label}", "invalid": f"{label}必须是整数"})
            if name in POLICY_RANGES:
                low, high = POLICY_RANGES[name]
                field.widget.attrs.update({"min": low, "max": high})
                field.error_messages["min_value"] = f"{label}不能小于 {low}"
                field.error_messages["max_value"] = f"{label}不能大于 {high}"
                hint = f"范围 {low}–{high}"
                field.help_text = f"{field.help_text}（{hint}）" if field.help_text else hint


class TOTPResetForm(forms.Form):
    username = forms.CharField(
        label="账号",
        max_length=150,
        error_messages=_chinese_errors(max_length="账号不能超过 150 个字符"),
    )


class EgressDestinationForm(forms.Form):
    host = forms.CharField(
        label="主机或网段",
        max_length=255,
        error_messages=_chinese_errors(max_length="主机或网段不能超过 255 个字符"),
        help_text="主机名（如 db.gaj.example.gov.cn）、IP 地址或网段（如 10.12.0.0/16）",
    )
    ports = forms.CharField(
        label="端口",
        max_length=20,
        error_messages=_chinese_errors(max_length="端口不能超过 20 个字符"),
        help_text="一个端口或范围，如 5432 或 5432-5439",
    )
    note = forms.CharField(
        label="说明",
        max_length=200,
        required=False,
        error_messages=_chinese_errors(max_length="说明不能超过 200 个字符"),
        help_text="如 公安局人口库前置机",
    )


# --- WebAuthn (security keys, platform authenticators) ---------------------------------------
WEBAUTHN_RESPONSE_REQUIRED = "请点击按钮，并按浏览器提示触摸安全密钥或完成指纹、面容、PIN 验证"


def _credential_field() -> forms.CharField:
    return forms.CharField(
        max_length=64 * 1024,
        strip=False,
        widget=forms.HiddenInput(attrs={"data-webauthn-credential": ""}),
        error_messages=_chinese_errors(required=WEBAUTHN_RESPONSE_REQUIRED, max_length="浏览器返回的数据过长"),
    )


class WebAuthnAssertionForm(forms.Form):
    credential = _credential_field()


class WebAuthnRegisterForm(forms.Form):
    name = forms.CharField(
        label="名称",
        max_length=40,
        help_text="便于您区分，如“办公室 U 盾”“我的手机”，最多 40 字",
        error_messages=_chinese_errors(
            required="请为这个安全密钥起一个名称，如“办公室 U 盾”“我的手机”", max_length="名称不能超过 40 个字"
        ),
        widget=forms.TextInput(attrs={"maxlength": 40, "autocomplete": "off", "data-webauthn-name": ""}),
    )
    credential = _credential_field()


class WebAuthnRemoveForm(forms.Form):
    password = forms.CharField(
        label="当前登录密码",
        max_length=4096,
        strip=False,
        error_messages=_chinese_errors(max_length="密码过长"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
