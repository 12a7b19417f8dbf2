"""Template filters for information items: what a 代码表/值域 means, and yes/no values in diffs."""

from __future__ import annotations

import re
from typing import Any

from django import template

from zhengwu.catalog.codetables import CodeTableError, parse_code_table
from zhengwu.catalog.rules import FIELD_LABELS, ITEM_LABELS

register = template.Library()


@register.filter
def code_table_meaning(text: Any) -> str:
    """The parsed reading of an item's 代码表/值域 (what the data center will check), or why it
    cannot be read (an old version may hold text that today's rules refuse)."""
    try:
        table = parse_code_table(str(text or ""))
    except CodeTableError as exc:
        return f"无法识别：{exc}"
    return table.describe() if table else ""


@register.filter
def code_table_values(text: Any) -> str:
    """Every code with its meaning, for a tooltip: "1 男性；2 女性"."""
    try:
        table = parse_code_table(str(text or ""))
    except CodeTableError:
        return ""
    if table is None or table.kind != "enum":
        return ""
    return "；".join(code if meaning == code else f"{code} {meaning}" for code, meaning in table.values.items())


@register.filter
def yes_no(value: Any) -> Any:
    """True/False as 是/否 (diff cells); other values unchanged."""
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


_ITEM_FIELD = re.compile(r"^items\[(\d+)\](?:\.(\w+))?$")
_EXTRA_LABELS = {"provider": "提供方", "resource_code": "资源代码", "extra": "扩展元数据", "items": "信息项"}


@register.filter
def catalog_field_label(field: Any) -> str:
    """A catalog field's name as the form and the workbook call it: "items[2].length" → 信息项的长度,
    "share_type" → 共享类型. The code name is for programs; people read the label."""
    name = str(field or "")
    match = _ITEM_FIELD.match(name)
    if match:
        key = match.group(2)
        return f"信息项的{ITEM_LABELS.get(key, key)}" if key else "信息项"
    return FIELD_LABELS.get(name) or _EXTRA_LABELS.get(name) or name
