"""Forms of the catalog pages. They only shape input; the rules are in `rules.validate_entry`."""

from __future__ import annotations

from typing import Any

from django import forms

from zhengwu.core import limits

from .constants import (
    DataType,
    Masking,
    OpenType,
    ResourceFormat,
    SecurityLevel,
    ShareMethod,
    ShareType,
    UpdateCycle,
    class_item_choices,
)
from .rules import ENTRY_FIELDS


def _choices(values: Any, blank: bool = True) -> list[tuple[str, str]]:
    out = [(v, v) for v in values.values]
    return [("", "——请选择——"), *out] if blank else out


class EntryForm(forms.Form):
    klass = forms.ChoiceField(label="信息资源分类（类 / 项）", choices=[("", "——请选择——"), *class_item_choices()])
    class_sub = forms.CharField(label="目（3 位）", initial="001", max_length=3)
    class_detail = forms.CharField(label="细目（可空）", required=False, max_length=6)
    name = forms.CharField(label="信息资源名称", max_length=200)
    provider_code = forms.CharField(label="提供方代码", required=False, max_length=40, help_text="默认为本单位统一社会信用代码")
    abstract = forms.CharField(
        label="信息资源摘要", widget=forms.Textarea(attrs={"rows": 3}), max_length=limits.ABSTRACT,
        help_text=limits.help_text(limits.ABSTRACT, "至少 10 字，说明资源的内容与用途"),
    )
    resource_format = forms.ChoiceField(label="信息资源格式", choices=_choices(ResourceFormat))
    share_type = forms.ChoiceField(label="共享类型", choices=_choices(ShareType))
    share_condition = forms.CharField(
        label="共享条件", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=limits.TEXT,
        help_text=limits.help_text(limits.TEXT),
    )
    share_basis = forms.CharField(
        label="共享依据", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=limits.TEXT,
        help_text=limits.help_text(limits.TEXT, "有条件共享、不予共享须写明法律、行政法规或党中央、国务院政策依据"),
    )
    share_method = forms.ChoiceField(label="共享方式", choices=_choices(ShareMethod), required=False)
    open_type = forms.ChoiceField(label="开放类型", choices=_choices(OpenType))
    open_condition = forms.CharField(
        label="开放条件", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=limits.TEXT,
        help_text=limits.help_text(limits.TEXT),
    )
    open_basis = forms.CharField(
        label="开放依据", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=limits.TEXT,
        help_text=limits.help_text(limits.TEXT),
    )
    update_cycle = forms.ChoiceField(label="更新周期", choices=_choices(UpdateCycle))
    related_codes = forms.CharField(
        label="关联资源代码", required=False, max_length=limits.TEXT, help_text="多个用逗号分隔"
    )
    security_level = forms.ChoiceField(label="安全级别", choices=_choices(SecurityLevel, blank=False), initial="内部")
    extra = forms.CharField(
        label="扩展元数据", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=limits.EXTRA,
        help_text=limits.help_text(limits.EXTRA, "每行一项：名称=值，如 数据量=约100万条"),
    )

    def to_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        category, _, item = data.pop("klass").partition("-")
        data["category"], data["class_item"] = category, item
        extra: dict[str, str] = {}
        for line in (data.get("extra") or "").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip():
                extra[key.strip()] = value.strip()
        data["extra"] = extra
        return {k: data.get(k) for k in ENTRY_FIELDS}

    @staticmethod
    def initial_from(snap: dict[str, Any]) -> dict[str, Any]:
        initial = {k: snap.get(k) for k in ENTRY_FIELDS}
        initial["klass"] = f"{snap['category']}-{snap['class_item']}"
        initial["related_codes"] = ",".join(snap.get("related_codes") or [])
        initial["extra"] = "\n".join(f"{k}={v}" for k, v in (snap.get("extra") or {}).items())
        return initial


class ItemForm(forms.Form):
    name = forms.CharField(label="信息项名称", max_length=100, required=False)
    field_name = forms.CharField(label="字段名", max_length=64, required=False)
    data_type = forms.ChoiceField(label="数据类型", choices=_choices(DataType), required=False)
    length = forms.IntegerField(label="长度", min_value=1, required=False)
    is_key = forms.BooleanField(label="主键", required=False)
    required = forms.BooleanField(label="必填", required=False)
    is_sensitive = forms.BooleanField(label="敏感", required=False)
    masking = forms.ChoiceField(label="脱敏方式", choices=_choices(Masking, blank=False), required=False)
    code_table = forms.CharField(label="代码表/值域", max_length=300, required=False)  # syntax: the page's help text


ItemFormSet = forms.formset_factory(ItemForm, extra=3, max_num=500)


def items_from(formset: Any) -> list[dict[str, Any]]:
    """Filled rows only (a row with neither name nor field name is left out)."""
    return [
        f.cleaned_data
        for f in formset.forms
        if f.cleaned_data and (f.cleaned_data.get("name") or f.cleaned_data.get("field_name"))
    ]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="理由", widget=forms.Textarea(attrs={"rows": 2}), max_length=limits.TEXT, help_text=limits.help_text(limits.TEXT)
    )


class CorrectionForm(forms.Form):
    content = forms.CharField(
        label="纠错内容", widget=forms.Textarea(attrs={"rows": 3}), max_length=limits.TEXT,
        help_text=limits.help_text(limits.TEXT, "至少 5 字，说明哪里有误、应当如何"),
    )


class ImportForm(forms.Form):
    file = forms.FileField(label="目录文件（.xlsx 或 .json）")
    good_rows_only = forms.BooleanField(
        label="只导入无误的行（默认：有任何错误则全部不导入）", required=False
    )
