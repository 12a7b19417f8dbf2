"""Excel and JSON exchange of a unit's catalog.

Workbook layout (the template, the export and the import are the same file):
- sheet 「信息资源」: one row per resource. Column 编号 holds the resource code for existing
  resources; for a new one any short key (e.g. 新1) that the item rows refer to.
- sheet 「信息项」: one row per information item; column 资源编号 names its resource's 编号.
- sheet 「填写说明」: value lists and class codes (ignored on import).
Export then import gives back the same catalog (unchanged entries are reported as unchanged).

Every cell is written through `core.exports.xlsx_value` (a text that starts like a formula gets
a leading apostrophe and stays text) and read back through `core.exports.restore`, so the round
trip is exact and no exported workbook runs a formula.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from zhengwu.audit.services import record_event
from zhengwu.core.errors import DomainError
from zhengwu.core.exports import XLSX_TYPE as XLSX_TYPE
from zhengwu.core.exports import restore, xlsx_rows, xlsx_value

from .constants import (
    CLASS_ITEMS,
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
from .models import CatalogEntry
from .rules import RESOURCE_CODE_RE, item_flag
from .services import ImportRecord, snapshot

RESOURCE_SHEET = "信息资源"
ITEM_SHEET = "信息项"
HELP_SHEET = "填写说明"
MAX_ROWS = 5000

# Columns a workbook made with an older template may lack, and what they then mean.
OPTIONAL_COLUMNS = {"required": "否"}
FLAG_HEADERS = {"is_key": "是否主键", "required": "必填", "is_sensitive": "是否个人/敏感信息"}

# (header, key, width)
RESOURCE_COLUMNS: list[tuple[str, str, int]] = [
    ("编号", "resource_code", 16),
    ("类", "category", 6),
    ("项", "class_item", 6),
    ("目", "class_sub", 6),
    ("细目", "class_detail", 6),
    ("信息资源名称", "name", 28),
    ("提供方", "provider", 18),
    ("提供方代码", "provider_code", 20),
    ("信息资源摘要", "abstract", 40),
    ("信息资源格式", "resource_format", 12),
    ("共享类型", "share_type", 12),
    ("共享条件", "share_condition", 24),
    ("共享依据", "share_basis", 24),
    ("共享方式", "share_method", 10),
    ("开放类型", "open_type", 12),
    ("开放条件", "open_condition", 20),
    ("开放依据", "open_basis", 20),
    ("更新周期", "update_cycle", 10),
    ("发布日期", "publish_date", 12),
    ("关联资源代码", "related_codes", 20),
    ("安全级别", "security_level", 10),
    ("扩展元数据", "extra", 20),
]
ITEM_COLUMNS: list[tuple[str, str, int]] = [
    ("资源编号", "resource_code", 16),
    ("信息项名称", "name", 18),
    ("字段名", "field_name", 18),
    ("数据类型", "data_type", 10),
    ("长度", "length", 8),
    ("是否主键", "is_key", 8),
    ("必填", "required", 8),
    ("是否个人/敏感信息", "is_sensitive", 14),
    ("脱敏方式", "masking", 10),
    ("代码表/值域", "code_table", 30),
]
CHOICE_COLUMNS = {
    "resource_format": ResourceFormat.values,
    "share_type": ShareType.values,
    "share_method": ShareMethod.values,
    "open_type": OpenType.values,
    "update_cycle": UpdateCycle.values,
    "security_level": SecurityLevel.values,
    "category": Category.values,
    "data_type": DataType.values,
    "masking": Masking.values,
    "is_key": ["是", "否"],
    "required": ["是", "否"],
    "is_sensitive": ["是", "否"],
}
HEADER_FILL = PatternFill("solid", fgColor="F5D5D0")


class ImportFileError(DomainError):
    pass


# --- writing ---------------------------------------------------------------------------------------------


def _sheet(wb: Workbook, title: str, columns: list[tuple[str, str, int]], first: bool = False) -> Any:
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    for col, (header, key, width) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=col, value=xlsx_value(header))
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        ws.column_dimensions[cell.column_letter].width = width
        if key in CHOICE_COLUMNS:
            dv = DataValidation(type="list", formula1='"' + ",".join(CHOICE_COLUMNS[key]) + '"', allow_blank=True)
            dv.error = f"请从下拉列表选择{header}"
            ws.add_data_validation(dv)
            dv.add(f"{cell.column_letter}2:{cell.column_letter}{MAX_ROWS + 1}")
    ws.freeze_panes = "A2"
    return ws


def _help_sheet(wb: Workbook) -> None:
    ws = wb.create_sheet(HELP_SHEET)
    rows: list[list[Any]] = [
        ["政务信息资源目录导入模板（依据《政务信息资源目录编制指南（试行）》）"],
        ["「信息资源」每行一个资源；新资源的编号可填任意短编号（如 新1），平台发布时生成正式资源代码；已有资源填资源代码即为修改。"],
        ["「信息项」每行一个信息项，用「资源编号」对应资源；电子表格、数据库类资源必须有且只有一个主键信息项。"],
        ["有条件共享、不予共享，有条件开放、不予开放，必须填写法律法规或政策依据；基础信息资源不能设为不予共享。"],
        ["个人/敏感信息项必须填写脱敏方式。扩展元数据填 JSON 对象，如 {\"数据量\": \"约100万条\"}。"],
        ["「必填」为“是”的信息项在归集的数据中不能为空；主键信息项总是必填。"],
        ["「代码表/值域」三种写法：逐项列出代码，如 1=男;2=女（分隔符 ; ， 、 均可）；取值范围，如 [0,100]、[1900-01-01,]"
         "（数字、日期、日期时间类型，一侧可空）；引用国家标准，如 GB/T 2261.1（性别）、GB/T 3304（民族）、GB/T 2260（行政区划代码，字符类型）。"],
        [],
        ["类", "项", "名称"],
    ]
    for cat in Category:
        for code, name in CLASS_ITEMS[cat].items():
            rows.append([cat.value, code, f"{cat.label} / {name}"])
    rows.append([])
    for key, values in CHOICE_COLUMNS.items():
        rows.append([key, "、".join(values)])
    xlsx_rows(ws, rows)
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["C"].width = 40


def build_workbook(records: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    res = _sheet(wb, RESOURCE_SHEET, RESOURCE_COLUMNS, first=True)
    items = _sheet(wb, ITEM_SHEET, ITEM_COLUMNS)
    for rec in records:
        row = []
        for _, key, _w in RESOURCE_COLUMNS:
            value = rec.get(key)
            if key == "related_codes":
                value = ",".join(value or [])
            elif key == "extra":
                value = json.dumps(value, ensure_ascii=False) if value else ""
            row.append(value if value is not None else "")
        xlsx_rows(res, [row])
        for item in rec.get("items") or []:
            xlsx_rows(
                items,
                [[
                    rec.get("resource_code"),
                    item["name"],
                    item["field_name"],
                    item["data_type"],
                    item.get("length") or "",
                    "是" if item.get("is_key") else "否",
                    "是" if item_flag(item, "required") else "否",
                    "是" if item.get("is_sensitive") else "否",
                    item.get("masking") or Masking.NONE.value,
                    item.get("code_table") or "",
                ]],
            )
    _help_sheet(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_workbook() -> bytes:
    """An empty template with one example row (新1) to show the layout."""
    example = {
        "resource_code": "新1",
        "category": "3",
        "class_item": "20",
        "class_sub": "001",
        "name": "（示例，导入前请删除）市场主体登记信息",
        "abstract": "记录本市市场主体设立、变更、注销登记的基本信息，用于市场监管和政务服务",
        "resource_format": "数据库",
        "share_type": "无条件共享",
        "share_method": "共享平台",
        "open_type": "无条件开放",
        "update_cycle": "每日",
        "security_level": "内部",
        "items": [
            {"name": "统一社会信用代码", "field_name": "uscc", "data_type": "字符", "length": 18, "is_key": True},
            {"name": "企业名称", "field_name": "ent_name", "data_type": "字符", "length": 200, "required": True},
            {"name": "注册资本（万元）", "field_name": "reg_capital", "data_type": "数字", "length": 18, "code_table": "[0,]"},
            {"name": "登记状态", "field_name": "reg_status", "data_type": "字符", "length": 1, "required": True,
             "code_table": "1=存续;2=在业;3=吊销;4=注销;5=迁出"},
            {"name": "住所所在行政区划", "field_name": "division_code", "data_type": "字符", "length": 6,
             "code_table": "GB/T 2260"},
        ],
    }
    return build_workbook([example])


def export_records(actor: Any, *, request: HttpRequest | None = None) -> list[dict[str, Any]]:
    """The actor's unit's catalog (working copies, not retired) as import-ready records."""
    unit_id = getattr(actor, "unit_id", None)
    entries = (
        CatalogEntry.objects.filter(provider_id=unit_id)
        .exclude(status="retired")
        .select_related("provider")
        .prefetch_related("items")
        .order_by("resource_code")
    )
    records = [snapshot(e) for e in entries]
    for rec in records:
        rec.pop("provider_id", None)
    record_event(
        actor, "catalog.export", object_type="catalog_entry", object_id="export",
        details={"count": len(records)}, request=request,
    )
    return records


def export_workbook(actor: Any, *, request: HttpRequest | None = None) -> bytes:
    return build_workbook(export_records(actor, request=request))


# --- reading ---------------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return restore(str(value).strip())


def _bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in ("是", "y", "yes", "true", "1", "√"):
        return True
    if v in ("否", "n", "no", "false", "0", ""):
        return False
    return None


def _rows(ws: Any, columns: list[tuple[str, str, int]], sheet: str) -> list[tuple[int, dict[str, str]]]:
    rows = list(ws.iter_rows(values_only=True))
    if not rows:
        raise ImportFileError(f"工作表「{sheet}」是空的")
    header = [_cell_text(h) for h in rows[0]]
    index: dict[str, int] = {}
    missing: dict[str, str] = {}
    for title, key, _w in columns:
        if title in header:
            index[key] = header.index(title)
        elif key in OPTIONAL_COLUMNS:
            missing[key] = OPTIONAL_COLUMNS[key]
        else:
            raise ImportFileError(f"工作表「{sheet}」缺少列「{title}」，请使用平台下载的模板")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        values = {key: _cell_text(row[i]) if i < len(row) else "" for key, i in index.items()}
        if any(values.values()):
            out.append((n, values | missing))
    if len(out) > MAX_ROWS:
        raise ImportFileError(f"工作表「{sheet}」超过 {MAX_ROWS} 行，请分批导入")
    return out


def parse_workbook(content: bytes) -> tuple[list[ImportRecord], list[dict[str, str]]]:
    """Read a workbook into import records; also returns problems that belong to no resource."""
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not xlsx
        raise ImportFileError("无法读取文件：请上传 .xlsx 格式的 Excel 文件") from exc
    for sheet in (RESOURCE_SHEET, ITEM_SHEET):
        if sheet not in wb.sheetnames:
            raise ImportFileError(f"缺少工作表「{sheet}」，请使用平台下载的模板")
    resources = _rows(wb[RESOURCE_SHEET], RESOURCE_COLUMNS, RESOURCE_SHEET)
    items = _rows(wb[ITEM_SHEET], ITEM_COLUMNS, ITEM_SHEET)
    records: list[ImportRecord] = []
    by_key: dict[str, ImportRecord] = {}
    orphans: list[dict[str, str]] = []
    for n, values in resources:
        problems: list[tuple[str, str]] = []
        key = values.pop("resource_code")
        data: dict[str, Any] = dict(values)
        data["resource_code"] = key if RESOURCE_CODE_RE.fullmatch(key) else ""
        data["related_codes"] = values["related_codes"]
        if values["extra"]:
            try:
                data["extra"] = json.loads(values["extra"])
            except json.JSONDecodeError:
                problems.append(("extra", "扩展元数据：必须是 JSON 对象，如 {\"数据量\": \"约100万条\"}"))
                data["extra"] = {}
        else:
            data["extra"] = {}
        cat = values["category"]
        data["category"] = cat[:1] if cat[:1] in Category.values else cat
        if values["class_item"].isascii() and values["class_item"].isdigit():
            data["class_item"] = values["class_item"].zfill(2)
        if values["class_sub"].isascii() and values["class_sub"].isdigit():
            data["class_sub"] = values["class_sub"].zfill(3)
        data["items"] = []
        record = ImportRecord(f"{RESOURCE_SHEET} 第 {n} 行", data, problems)
        if not key:
            problems.append(("resource_code", "编号：必须填写（新资源可填 新1、新2 …，信息项用它对应资源）"))
        elif key in by_key:
            problems.append(("resource_code", f"编号：“{key}”与{by_key[key].row}重复"))
        else:
            by_key[key] = record
        records.append(record)
    for n, values in items:
        where = f"{ITEM_SHEET} 第 {n} 行"
        owner = by_key.get(values["resource_code"])
        if owner is None:
            orphans.append({"row": where, "field": "resource_code", "message": f"资源编号：“{values['resource_code']}”在「{RESOURCE_SHEET}」中不存在"})
            continue
        item: dict[str, Any] = {k: values[k] for k in ("name", "field_name", "data_type", "masking", "code_table")}
        index = len(owner.data["items"])
        length = values["length"]
        if length and not (length.isascii() and length.isdigit()):
            owner.problems.append((f"items[{index}].length", f"长度：“{length}”不是正整数"))
            length = ""
        item["length"] = int(length) if length else None
        for key, title in FLAG_HEADERS.items():
            flag = _bool(values[key])
            if flag is None:
                owner.problems.append((f"items[{index}].{key}", f"{title}：只能填“是”或“否”，当前为“{values[key]}”"))
            item[key] = bool(flag)
        owner.data["items"].append(item)
        owner.item_rows.append(where)
    return records, orphans


def parse_json(content: bytes) -> list[ImportRecord]:
    try:
        payload = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFileError("无法读取文件：不是 UTF-8 编码的 JSON") from exc
    entries = payload.get("entries") if isinstance(payload, dict) else payload
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ImportFileError("JSON 格式不对：应为 {\"entries\": [ {...}, ... ]}")
    if len(entries) > MAX_ROWS:
        raise ImportFileError(f"一次最多导入 {MAX_ROWS} 条")
    return [ImportRecord(f"第 {i + 1} 条", dict(e)) for i, e in enumerate(entries)]
