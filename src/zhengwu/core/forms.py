"""Forms of the core pages: the working-day calendar the 系统管理员 keeps."""

from __future__ import annotations

from django import forms

REQUIRED = "请填写此项"


def chinese_errors(**extra: str) -> dict[str, str]:
    """Django's form error messages in Chinese: required, NUL characters, and `extra` (per field)."""
    messages = {"required": REQUIRED, "null_characters_not_allowed": "不能包含空字符"}
    messages.update(extra)
    return messages


class HolidayDayForm(forms.Form):
    """One day of the calendar set by hand: a day off or a (调休) working day."""

    date = forms.DateField(
        label="日期", error_messages=chinese_errors(invalid="日期：请按 2027-01-01 的格式填写"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    is_working_day = forms.TypedChoiceField(
        label="这一天", choices=[("0", "放假（休息日）"), ("1", "上班（调休工作日）")],
        coerce=lambda v: v == "1", error_messages=chinese_errors(invalid_choice="这一天：只能是放假或上班"),
    )
    note = forms.CharField(
        label="说明", max_length=200, error_messages=chinese_errors(max_length="说明：最多 200 字"),
        help_text="节日名称和依据的放假通知，如：2027 年春节，国办发明电〔2026〕X 号",
    )


class HolidayYearForm(forms.Form):
    """Declare a year's whole arrangement entered (after its days off and 调休 days)."""

    year = forms.IntegerField(
        label="年度", error_messages=chinese_errors(invalid="年度：请填写四位数的年份"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    basis = forms.CharField(
        label="依据", max_length=200, error_messages=chinese_errors(max_length="依据：最多 200 字"),
        help_text="国务院办公厅关于该年部分节假日安排的通知（文号）",
    )
