from __future__ import annotations

from typing import Any

from django import forms

from zhengwu.core import audit_names

from .models import AuditResult
from .queries import MAX_YEAR, MIN_YEAR


class DateInput(forms.DateInput):
    input_type = "date"


class RecordSearchForm(forms.Form):
    """The 审计管理员's search filters (GET). Dates are inclusive, in the platform's time zone."""

    start = forms.DateField(label="起始日期", required=False, widget=DateInput(format="%Y-%m-%d"))
    end = forms.DateField(label="截止日期", required=False, widget=DateInput(format="%Y-%m-%d"))
    q = forms.CharField(
        label="关键词", required=False, max_length=100,
        help_text="操作名称、对象类型、操作人、单位或对象标识，如“登录”；多个词以空格分开，须同时符合",
    )
    actor = forms.CharField(label="操作人", required=False, max_length=150, help_text="账号或姓名")
    unit = forms.CharField(label="单位", required=False, max_length=100)
    # Dropdowns of the names each app registered (core.audit_names); any code is still accepted
    # (records of an older release, a code typed into the address), shown as "未登记".
    action = forms.CharField(label="操作", required=False, max_length=64, widget=forms.Select)
    object_type = forms.CharField(label="对象类型", required=False, max_length=64, widget=forms.Select)
    object_id = forms.CharField(label="对象标识", required=False, max_length=128)
    result = forms.ChoiceField(label="结果", required=False, choices=[("", "全部"), *AuditResult.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("start", "end"):
            self.fields[name].error_messages["invalid"] = "请输入有效的日期（YYYY-MM-DD）"
        self.fields["result"].error_messages["invalid_choice"] = "结果只能是“成功”或“失败”"
        self.fields["action"].widget.choices = self._choices(
            audit_names.grouped_actions(), "action", "全部操作", whole_group="（本类全部操作）"
        )
        self.fields["object_type"].widget.choices = self._choices(
            audit_names.grouped_object_types(), "object_type", "全部对象类型"
        )

    def _choices(
        self, groups: list[tuple[str, list[audit_names.AuditName]]], name: str, everything: str, whole_group: str = ""
    ) -> list[Any]:
        choices: list[Any] = [("", everything)]
        known = {""}
        for group, entries in groups:
            options = [(e.code, e.name) for e in entries]
            prefixes = {e.code.split(".")[0] for e in entries}
            if whole_group and len(prefixes) == 1 and all("." in e.code for e in entries):
                options.insert(0, (f"{prefixes.pop()}.", f"{group}{whole_group}"))
            known.update(code for code, _ in options)
            choices.append((group, options))
        current = str(self.data.get(name) or "") if self.is_bound else ""
        if current not in known:
            choices.append(("未登记", [(current, f"{current}（未登记的代码）")]))
        return choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("start", "end"):
            value = data.get(name)
            if value and not MIN_YEAR <= value.year <= MAX_YEAR:
                self.add_error(name, f"日期须在 {MIN_YEAR} 年至 {MAX_YEAR} 年之间")
                data.pop(name, None)
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "截止日期不能早于起始日期")
        return data
