"""Forms of the 系统管理员 pages. They check shape; the rules themselves live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse_lazy

from zhengwu.core import divisions

from .models import AdminRole, BusinessRole, Unit, UnitLevel, UnitType
from .queries import descendant_ids, flat_tree

REQUIRED = {"required": "此项必须填写"}
EMPTY_CHOICE = ("", "——请选择——")


class UnitChoiceField(forms.ChoiceField):
    """A select of units in tree order (indented); cleans to a Unit or None."""

    def __init__(
        self,
        *,
        active_only: bool = True,
        only_ids: set[int] | None = None,
        exclude_ids: set[int] | None = None,
        empty_label: str = EMPTY_CHOICE[1],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("error_messages", {**REQUIRED, "invalid_choice": "请从列表中选择一个有效的单位"})
        super().__init__(**kwargs)
        choices: list[tuple[str, str]] = [("", empty_label)]
        for node in flat_tree(active_only=active_only):
            pk = node.unit.pk
            if (only_ids is not None and pk not in only_ids) or (exclude_ids and pk in exclude_ids):
                continue
            suffix = "" if node.unit.is_active else "（已停用）"
            choices.append((str(pk), f"{'　' * node.depth}{node.unit.name}{suffix}"))
        self.choices = choices

    def clean(self, value: Any) -> Unit | None:
        value = super().clean(value)
        if not value:
            return None
        unit = Unit.objects.filter(pk=int(value)).first()
        if unit is None:
            raise forms.ValidationError("请从列表中选择一个有效的单位")
        return unit


class DivisionCodeField(forms.CharField):
    """A GB/T 2260 code, typed or picked from the search list; must exist in the table."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 6)
        kwargs.setdefault("error_messages", REQUIRED)
        kwargs.setdefault("help_text", "输入区划名称或代码搜索，从 GB/T 2260 行政区划表中选择")
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "list": "division-options",
                    "autocomplete": "off",
                    "data-division-search": "1",
                    "data-division-url": reverse_lazy("directory:division_search"),
                }
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        code = str(value or "").strip().split(" ", 1)[0]
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError("行政区划代码必须是 6 位数字，请从列表中选择")
        if divisions.get(code) is None:
            raise forms.ValidationError(f"{code} 不在 GB/T 2260 行政区划表中")
        return code


class UnitForm(forms.Form):
    name = forms.CharField(label="单位名称", max_length=100, error_messages=REQUIRED)
    short_name = forms.CharField(label="简称", max_length=50, required=False)
    level = forms.ChoiceField(
        label="行政层级", choices=[EMPTY_CHOICE, *UnitLevel.choices], error_messages=REQUIRED
    )
    unit_type = forms.ChoiceField(
        label="单位类型", choices=[EMPTY_CHOICE, *UnitType.choices], error_messages=REQUIRED
    )
    division_code = DivisionCodeField(label="行政区划代码")
    stat_division_code = forms.CharField(
        label="统计用区划代码", max_length=12, required=False, help_text="乡镇街道 9 位、村社区 12 位，可不填"
    )
    uscc = forms.CharField(label="统一社会信用代码", max_length=18, required=False)
    sort_order = forms.IntegerField(
        label="排序",
        min_value=0,
        max_value=1_000_000,
        required=False,
        initial=0,
        error_messages={"invalid": "请输入整数"},
    )

    def clean_uscc(self) -> str:
        return str(self.cleaned_data.get("uscc") or "").strip().upper()

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("parent", None)
        data["sort_order"] = data.get("sort_order") or 0
        data["uscc"] = data.get("uscc") or None
        return data


class UnitCreateForm(UnitForm):
    field_order = ["parent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"] = UnitChoiceField(
            label="上级单位", required=False, empty_label="（无，作为顶级单位）"
        )
        self.order_fields(["parent", *[f for f in self.fields if f != "parent"]])


class UnitMoveForm(forms.Form):
    def __init__(self, *args: Any, unit: Unit, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"] = UnitChoiceField(
            label="新的上级单位",
            required=False,
            exclude_ids=descendant_ids(unit),
            empty_label="（无，作为顶级单位）",
        )


class PasswordPairForm(forms.Form):
    password1 = forms.CharField(
        label="密码",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        error_messages=REQUIRED,
    )
    password2 = forms.CharField(
        label="再次输入密码",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        error_messages=REQUIRED,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", "两次输入的密码不一致")
        return data


class UserCreateForm(PasswordPairForm):
    username = forms.CharField(label="用户名", max_length=64, error_messages=REQUIRED)
    full_name = forms.CharField(label="姓名", max_length=50, error_messages=REQUIRED)
    mobile = forms.CharField(label="手机号码", max_length=11, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"] = UnitChoiceField(label="所属单位", required=True)
        self.fields["password1"].label = "初始密码"
        self.fields["password1"].help_text = "用户首次登录时须修改"
        self.order_fields(["username", "full_name", "unit", "mobile", "password1", "password2"])


class UserEditForm(forms.Form):
    full_name = forms.CharField(label="姓名", max_length=50, error_messages=REQUIRED)
    mobile = forms.CharField(label="手机号码", max_length=11, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"] = UnitChoiceField(label="所属单位", required=True)
        self.order_fields(["full_name", "unit", "mobile"])


class ResetPasswordForm(PasswordPairForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password1"].label = "新密码"
        self.fields["password1"].help_text = "用户下次登录时须修改"


class GrantRoleForm(forms.Form):
    role = forms.ModelChoiceField(
        label="业务角色",
        queryset=BusinessRole.objects.order_by("app_label", "code"),
        empty_label=EMPTY_CHOICE[1],
        error_messages={**REQUIRED, "invalid_choice": "请从列表中选择一个有效的角色"},
    )

    def __init__(self, *args: Any, user_unit: Unit | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        only = descendant_ids(user_unit) if user_unit is not None else set()
        self.fields["unit"] = UnitChoiceField(
            label="适用单位", required=False, only_ids=only, empty_label="（本人所在单位）"
        )


class UserFilterForm(forms.Form):
    q = forms.CharField(label="姓名或用户名", max_length=50, required=False)
    role = forms.ChoiceField(label="角色", required=False)
    active = forms.ChoiceField(
        label="状态", required=False, choices=[("", "全部"), ("1", "启用"), ("0", "停用")]
    )
    subunits = forms.BooleanField(label="含下级单位", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"] = UnitChoiceField(
            label="单位", required=False, active_only=False, empty_label="全部单位"
        )
        roles = [(r.code, r.name) for r in BusinessRole.objects.order_by("app_label", "code")]
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = [("", "全部"), *AdminRole.choices, *roles]
        self.order_fields(["q", "unit", "subunits", "role", "active"])
