from __future__ import annotations

from typing import Any

from django import forms

from .models import AuditResult
from .queries import MAX_YEAR, MIN_YEAR


class DateInput(forms.DateInput):
    input_type = "date"


class RecordSearchForm(forms.Form):
    """The 审计管理员's search filters (GET). Dates are inclusive, in the platform's time zone."""

    start = forms.DateField(label="起始日期", required=False, widget=DateInput(format="%Y-%m-%d"))
    end = forms.DateField(label="截止日期", required=False, widget=DateInput(format="%Y-%m-%d"))
    actor = forms.CharField(label="操作人", required=False, max_length=150, help_text="账号或姓名")
    unit = forms.CharField(label="单位", required=False, max_length=100)
    action = forms.CharField(
        label="操作", required=False, max_length=64, help_text="如 identity.login，可只填前缀"
    )
    object_type = forms.CharField(label="对象类型", required=False, max_length=64)
    object_id = forms.CharField(label="对象标识", required=False, max_length=128)
    result = forms.ChoiceField(label="结果", required=False, choices=[("", "全部"), *AuditResult.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("start", "end"):
            self.fields[name].error_messages["invalid"] = "请输入有效的日期（YYYY-MM-DD）"
        self.fields["result"].error_messages["invalid_choice"] = "结果只能是“成功”或“失败”"

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
