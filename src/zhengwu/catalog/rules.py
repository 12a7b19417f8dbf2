"""The catalog's content rules, as one pure function used by services, forms, API and imports.

`validate_entry(data)` returns every problem at once — (field, Chinese message) pairs — so an
Excel import can report all bad fields of all bad rows in one pass.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from zhengwu.core import limits

from .codetables import CodeTableError, parse_code_table
from .constants import (
    CLASS_ITEMS,
    TABLE_FORMATS,
    Category,
    DataType,
    Masking,
    OpenType,
    ResourceFormat,
    SecurityLevel,
    ShareMethod,
    ShareType,
    UpdateCycle,
)

ENTRY_FIELDS = (
    "category",
    "class_item",
    "class_sub",
    "class_detail",
    "name",
    "provider_code",
    "abstract",
    "resource_format",
    "share_type",
    "share_condition",
    "share_basis",
    "share_method",
    "open_type",
    "open_condition",
    "open_basis",
    "update_cycle",
    "publish_date",
    "related_codes",
    "security_level",
    "extra",
)
ITEM_FIELDS = (
    "name",
    "field_name",
    "data_type",
    "length",
    "is_key",
    "required",
    "is_sensitive",
    "masking",
    "code_table",
)
ITEM_FLAGS = ("is_key", "required", "is_sensitive")

FIELD_LABELS: dict[str, str] = {
    "category": "类",
    "class_item": "项",
    "class_sub": "目",
    "class_detail": "细目",
    "name": "信息资源名称",
    "provider_code": "提供方代码",
    "abstract": "信息资源摘要",
    "resource_format": "信息资源格式",
    "share_type": "共享类型",
    "share_condition": "共享条件",
    "share_basis": "共享依据",
    "share_method": "共享方式",
    "open_type": "开放类型",
    "open_condition": "开放条件",
    "open_basis": "开放依据",
    "update_cycle": "更新周期",
    "publish_date": "发布日期",
    "related_codes": "关联资源代码",
    "security_level": "安全级别",
    "extra": "扩展元数据",
    "items": "信息项",
}
ITEM_LABELS: dict[str, str] = {
    "name": "信息项名称",
    "field_name": "字段名",
    "data_type": "数据类型",
    "length": "长度",
    "is_key": "是否主键",
    "required": "必填",
    "is_sensitive": "是否个人/敏感信息",
    "masking": "脱敏方式",
    "code_table": "代码表/值域",
}

FIELD_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
RESOURCE_CODE_RE = re.compile(r"^[123]\d{5}\d{0,6}/\d{5,}$")
BASE_CATEGORY = Category.BASE.value

Problem = tuple[str, str]

# Data types a range (值域) fits, and which kind of bound each takes.
RANGE_TYPES = {DataType.NUMBER.value: "number", DataType.DATE.value: "date", DataType.DATETIME.value: "date"}
_DATE_BOUND = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER_CODE = re.compile(r"-?\d+(\.\d+)?")
_YES = {"是", "y", "yes", "true", "1", "√", "必填"}
_NO = {"否", "n", "no", "false", "0", ""}


def _flag(value: Any) -> Any:
    """A yes/no cell or JSON value as bool; an unreadable text is kept for `validate_entry` to report."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return bool(value) if value in (0, 1) else str(value)
    text = str(value).strip()
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    return text


def item_flag(item: dict[str, Any], key: str) -> bool:
    """A yes/no property of an item as stored, also in snapshots of versions published before the
    property existed: a missing 必填 is False, except that a key item is always required."""
    if key == "required":
        return bool(item.get("required")) or bool(item.get("is_key"))
    return bool(item.get(key))


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def _choice(problems: list[Problem], data: dict[str, Any], key: str, choices: Any, *, required: bool = True) -> str:
    value = _text(data, key)
    if not value:
        if required:
            problems.append((key, f"{FIELD_LABELS[key]}：必须填写"))
        return value
    if value not in choices.values:
        problems.append((key, f"{FIELD_LABELS[key]}：只能是{'、'.join(choices.values)}之一，当前为“{value}”"))
    return value


def normalise_entry(data: dict[str, Any]) -> dict[str, Any]:
    """Strip text, default the optional parts; does not judge validity."""
    out: dict[str, Any] = {}
    for key in ENTRY_FIELDS:
        value = data.get(key)
        if key == "related_codes":
            if isinstance(value, str):
                value = [c for c in re.split(r"[,，;；\s]+", value) if c]
            out[key] = [str(c).strip() for c in (value or []) if str(c).strip()]
        elif key == "extra":
            out[key] = {} if value in (None, "") else (dict(value) if isinstance(value, dict) else value)
        elif key == "publish_date":
            out[key] = value.isoformat() if isinstance(value, date) else (str(value).strip() if value else None)
        else:
            out[key] = "" if value is None else str(value).strip()
    if not out["class_sub"]:
        out["class_sub"] = "001"
    if not out["security_level"]:
        out["security_level"] = SecurityLevel.INTERNAL.value
    if not out["share_method"] and out["share_type"] != ShareType.NONE:
        out["share_method"] = ShareMethod.PLATFORM.value
    items = []
    for position, raw in enumerate(data.get("items") or []):
        item = {k: raw.get(k) for k in ITEM_FIELDS}
        for k in ("name", "field_name", "data_type", "masking", "code_table"):
            item[k] = "" if item[k] is None else str(item[k]).strip()
        for flag in ITEM_FLAGS:
            item[flag] = _flag(item[flag])
        if item["is_key"] is True:
            item["required"] = True  # a key identifies the row: it can never be empty
        if not item["masking"]:
            item["masking"] = Masking.NONE.value
        if item["length"] in ("", None):
            item["length"] = None
        item["position"] = position
        items.append(item)
    out["items"] = items
    return out


# Free-text fields of an entry and their limits (core/limits.py); the form states them.
TEXT_LIMITS = [
    ("abstract", "信息资源摘要", limits.ABSTRACT),
    ("share_condition", "共享条件", limits.TEXT),
    ("share_basis", "共享依据", limits.TEXT),
    ("open_condition", "开放条件", limits.TEXT),
    ("open_basis", "开放依据", limits.TEXT),
]


def validate_entry(data: dict[str, Any]) -> list[Problem]:
    """Every rule the catalog enforces; `data` is the output of `normalise_entry`."""
    problems: list[Problem] = []
    category = _choice(problems, data, "category", Category)
    class_item = _text(data, "class_item")
    if not class_item:
        problems.append(("class_item", "项：必须填写"))
    elif category in CLASS_ITEMS and class_item not in CLASS_ITEMS[category]:
        allowed = "、".join(f"{k} {v}" for k, v in CLASS_ITEMS[category].items())
        problems.append(("class_item", f"项：{Category(category).label}下没有“{class_item}”，可选：{allowed}"))
    if not re.fullmatch(r"\d{3}", _text(data, "class_sub")):
        problems.append(("class_sub", "目：必须是 3 位数字，如 001"))
    if not re.fullmatch(r"\d{0,6}", _text(data, "class_detail")):
        problems.append(("class_detail", "细目：只能是不超过 6 位的数字，可不填"))

    name = _text(data, "name")
    if not name:
        problems.append(("name", "信息资源名称：必须填写"))
    elif len(name) > 200:
        problems.append(("name", "信息资源名称：不能超过 200 个字"))
    if len(_text(data, "abstract")) < 10:
        problems.append(("abstract", "信息资源摘要：必须填写，至少 10 个字，说明资源的内容与用途"))
    if len(_text(data, "provider_code")) > 40:
        problems.append(("provider_code", "提供方代码：不能超过 40 个字符"))

    resource_format = _choice(problems, data, "resource_format", ResourceFormat)
    share_type = _choice(problems, data, "share_type", ShareType)
    _choice(problems, data, "share_method", ShareMethod, required=share_type != ShareType.NONE)
    open_type = _choice(problems, data, "open_type", OpenType)
    _choice(problems, data, "update_cycle", UpdateCycle)
    _choice(problems, data, "security_level", SecurityLevel)

    # 51号: sharing is the rule; 有条件 and 不予 need a legal or policy basis.
    if share_type in (ShareType.CONDITIONAL, ShareType.NONE) and not _text(data, "share_basis"):
        problems.append(
            ("share_basis", f"共享依据：{share_type}必须写明法律、行政法规或党中央、国务院政策依据")
        )
    if share_type == ShareType.CONDITIONAL and not _text(data, "share_condition"):
        problems.append(("share_condition", "共享条件：有条件共享必须写明共享条件（向哪些单位、共享哪些内容）"))
    if share_type == ShareType.NONE and category == BASE_CATEGORY:
        problems.append(
            ("share_type", "共享类型：基础信息资源（人口、法人、自然资源和空间地理、电子证照、社会信用）"
             "必须无条件共享，不能设为不予共享（国发〔2016〕51号）")
        )
    if open_type in (OpenType.CONDITIONAL, OpenType.NONE) and not _text(data, "open_basis"):
        problems.append(("open_basis", f"开放依据：{open_type}必须写明法律法规或政策依据"))
    if open_type == OpenType.CONDITIONAL and not _text(data, "open_condition"):
        problems.append(("open_condition", "开放条件：有条件开放必须写明开放条件"))
    if open_type == OpenType.UNCONDITIONAL and share_type == ShareType.NONE:
        problems.append(("open_type", "开放类型：不予共享的资源不能无条件向社会开放"))

    publish_date = data.get("publish_date")
    if publish_date:
        try:
            date.fromisoformat(str(publish_date))
        except ValueError:
            problems.append(("publish_date", "发布日期：必须是日期（YYYY-MM-DD）"))
    for code in data.get("related_codes") or []:
        if not RESOURCE_CODE_RE.fullmatch(code):
            problems.append(("related_codes", f"关联资源代码：“{code}”不是资源代码（分类代码/顺序号，如 101001/00001）"))
    if not isinstance(data.get("extra"), dict):
        problems.append(("extra", "扩展元数据：必须是键值对"))
    else:
        extra_len = sum(len(str(k)) + len(str(v)) + 2 for k, v in data["extra"].items())
        if extra_len > limits.EXTRA:
            problems.append(("extra", f"扩展元数据：最多 {limits.EXTRA} 字（现为 {extra_len} 字）"))
    for key, label, limit in TEXT_LIMITS:
        n = len(_text(data, key))
        if n > limit:
            problems.append((key, f"{label}：最多 {limit} 字（现为 {n} 字）"))

    problems.extend(_validate_items(data.get("items") or [], resource_format))
    return problems


def _validate_items(items: list[dict[str, Any]], resource_format: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        at = f"items[{i}]"
        label = f"第 {i + 1} 个信息项"
        if not item.get("name"):
            problems.append((f"{at}.name", f"{label}：信息项名称必须填写"))
        field_name = item.get("field_name") or ""
        if not FIELD_NAME_RE.fullmatch(field_name):
            problems.append(
                (f"{at}.field_name", f"{label}：字段名必须以英文字母开头，只含字母、数字和下划线（不超过 64 位）")
            )
        elif field_name.lower() in seen:
            problems.append((f"{at}.field_name", f"{label}：字段名“{field_name}”与第 {seen[field_name.lower()] + 1} 个重复"))
        else:
            seen[field_name.lower()] = i
        if item.get("data_type") not in DataType.values:
            problems.append((f"{at}.data_type", f"{label}：数据类型只能是{'、'.join(DataType.values)}之一"))
        length = item.get("length")
        if length is not None:
            try:
                ok = int(length) > 0 and str(int(length)) == str(length).strip().removesuffix(".0")
            except (TypeError, ValueError):
                ok = False
            if not ok:
                problems.append((f"{at}.length", f"{label}：长度必须是正整数"))
        elif item.get("data_type") == DataType.CHAR:
            problems.append((f"{at}.length", f"{label}：字符型信息项必须填写长度"))
        for flag in ITEM_FLAGS:
            if not isinstance(item.get(flag), bool):
                problems.append((f"{at}.{flag}", f"{label}：{ITEM_LABELS[flag]}只能填“是”或“否”，当前为“{item.get(flag)}”"))
        if item.get("masking") not in Masking.values:
            problems.append((f"{at}.masking", f"{label}：脱敏方式只能是{'、'.join(Masking.values)}之一"))
        elif item.get("is_sensitive") is True and item.get("masking") == Masking.NONE:
            problems.append((f"{at}.masking", f"{label}：个人/敏感信息必须说明脱敏方式（不能为“不脱敏”）"))
        code_table_problem = _code_table_problem(item)
        if code_table_problem:
            problems.append((f"{at}.code_table", f"{label}：{code_table_problem}"))
    if resource_format in TABLE_FORMATS:
        keys = sum(1 for item in items if item.get("is_key") is True)
        if not items:
            problems.append(("items", f"信息项：{resource_format}类资源必须列出信息项"))
        elif keys != 1:
            problems.append(("items", f"信息项：{resource_format}类资源必须有且只有一个主键信息项，当前有 {keys} 个"))
    return problems


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _code_table_problem(item: dict[str, Any]) -> str | None:
    """What is wrong with the item's 代码表/值域, read as `codetables.parse_code_table` reads it
    (the data center derives its validation rules from the same reading)."""
    text = item.get("code_table") or ""
    if len(text) > 300:
        return "代码表/值域不能超过 300 个字"
    try:
        table = parse_code_table(text)
    except CodeTableError as exc:
        return str(exc)
    if table is None:
        return None
    data_type = item.get("data_type") or ""
    length = _int_or_none(item.get("length"))
    if table.kind == "range":
        if data_type not in RANGE_TYPES:
            return f"值域“{text}”只适用于数字、日期或日期时间类型的信息项，本项为{data_type or '（未填数据类型）'}"
        is_date = any(_DATE_BOUND.fullmatch(b) for b in (table.low, table.high) if b)
        if RANGE_TYPES[data_type] == "number" and is_date:
            return f"值域“{text}”的上下限是日期，数字类型的信息项应写数字范围，如 [0,100]"
        if RANGE_TYPES[data_type] == "date" and not is_date:
            return f"值域“{text}”的上下限是数字，{data_type}类型的信息项应写日期范围，如 [1900-01-01,]"
    elif table.kind == "division":
        if data_type != DataType.CHAR:
            return f"{table.label}只适用于字符类型的信息项（6 位数字代码），本项为{data_type or '（未填数据类型）'}"
        if length is not None and length < 6:
            return f"{table.label}是 6 位代码，信息项长度至少为 6，当前为 {length}"
    else:
        if data_type == DataType.NUMBER:
            bad = [code for code in table.values if not _NUMBER_CODE.fullmatch(code)]
            if bad:
                return f"数字类型的信息项，代码表中的代码必须是数字，“{bad[0]}”不是"
        if data_type == DataType.CHAR and length is not None and length > 0:
            long = [code for code in table.values if len(code) > length]
            if long:
                return f"代码表中的代码“{long[0]}”超过信息项长度 {length}"
    return None
