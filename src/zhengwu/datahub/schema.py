"""What a resource's data must look like, read from its published catalog entry.

`ResourceSchema` is the contract between the readers (which stage a file, a query or pushed
records as Parquet of text columns), the engine (which checks and types the staged rows) and
the lake (which stores the typed rows). Columns are the catalog's information items, in order.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from zhengwu.catalog.codetables import CodeTable, CodeTableError, parse_code_table
from zhengwu.catalog.constants import EntryStatus
from zhengwu.catalog.models import CatalogEntry
from zhengwu.catalog.queries import published_snapshot
from zhengwu.core.errors import DomainError, NotFound

# Semantic kinds recognised from an item's name or field name: these get the national
# validators (check digit, birth date, division code) on top of type and length.
RESIDENT_ID, USCC, DIVISION = "resident_id", "uscc", "division"
_SEMANTIC_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (RESIDENT_ID, re.compile(r"身份号码|身份证号|身份证件号码|公民身份|^id_no$|_id_no$|^id_card", re.IGNORECASE)),
    (USCC, re.compile(r"统一社会信用代码|^uscc$|_uscc$", re.IGNORECASE)),
    (DIVISION, re.compile(r"行政区划代码|^division_code$|_division$|区划代码", re.IGNORECASE)),
]


@dataclass(frozen=True)
class Column:
    field_name: str
    label: str  # the item's Chinese name
    data_type: str  # 字符/数字/日期/日期时间/时间戳/布尔/二进制
    length: int | None = None
    is_key: bool = False
    required: bool = False
    is_sensitive: bool = False
    masking: str = "不脱敏"
    code_table_text: str = ""
    semantic: str = ""  # RESIDENT_ID / USCC / DIVISION / ""

    @property
    def code_table(self) -> CodeTable | None:
        try:
            return parse_code_table(self.code_table_text)
        except CodeTableError:
            return None

    @property
    def title(self) -> str:
        """How messages name the column: 公民身份号码(id_no)."""
        return f"{self.label}({self.field_name})"


@dataclass(frozen=True)
class RuleSpec:
    """A custom rule (datahub.ResourceRule) in the form the engine reads.

    kind/params:
      pattern      {"pattern": "^[0-9]{6}$"}                       value must match (RE2/Java-compatible)
      range        {"min": "0", "max": "100"}                       numbers or YYYY-MM-DD dates; inclusive
      id_birthdate {"id_field": "id_no"}                            `field` (a date) equals the birth date in id_field
      compare      {"op": "<=", "other": "end_date"}               field op other (both same type); op in < <= = != >= >
      reference    {"resource_code": "...", "key": "uscc"}         value exists as `key` in that resource's current data
    """

    id: int
    kind: str
    field: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class ResourceSchema:
    resource_code: str
    name: str
    provider_id: int
    catalog_version: int
    update_cycle: str
    columns: tuple[Column, ...]

    @property
    def keys(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.is_key)

    @property
    def field_names(self) -> list[str]:
        return [c.field_name for c in self.columns]

    def column(self, field_name: str) -> Column:
        for c in self.columns:
            if c.field_name == field_name:
                return c
        raise KeyError(field_name)

    def find_column(self, header: str) -> Column | None:
        """The column a file header names: the field name (any case) or the item's Chinese name."""
        text = header.strip().lstrip("\ufeff").strip()
        for c in self.columns:
            if text == c.label or text.lower() == c.field_name.lower():
                return c
        return None


def semantic_of(label: str, field_name: str) -> str:
    for kind, pattern in _SEMANTIC_PATTERNS:
        if pattern.search(label) or pattern.search(field_name):
            return kind
    return ""


def schema_from_snapshot(snapshot: dict[str, Any], version: int) -> ResourceSchema:
    columns = []
    for item in snapshot.get("items") or []:
        columns.append(
            Column(
                field_name=item["field_name"],
                label=item["name"],
                data_type=item["data_type"],
                length=item.get("length"),
                is_key=bool(item.get("is_key")),
                required=bool(item.get("required")) or bool(item.get("is_key")),
                is_sensitive=bool(item.get("is_sensitive")),
                masking=item.get("masking") or "不脱敏",
                code_table_text=item.get("code_table") or "",
                semantic=semantic_of(item["name"], item["field_name"]),
            )
        )
    return ResourceSchema(
        resource_code=snapshot["resource_code"],
        name=snapshot["name"],
        provider_id=int(snapshot["provider_id"]),
        catalog_version=version,
        update_cycle=snapshot.get("update_cycle") or "",
        columns=tuple(columns),
    )


def schema_for(resource_code: str) -> ResourceSchema:
    """The schema of a resource's latest published catalog version. Data can be collected only
    for a published (live) entry that lists its information items."""
    entry = CatalogEntry.objects.filter(resource_code=resource_code).first()
    if entry is None:
        raise NotFound(f"信息资源代码 {resource_code} 不存在", "resource_code")
    if entry.status == EntryStatus.RETIRED or not entry.published_version:
        raise DomainError(f"资源 {resource_code}（{entry.name}）未发布或已下线，不能归集数据", "resource_code")
    snap = published_snapshot(entry)
    if not snap or not snap.get("items"):
        raise DomainError(f"资源 {resource_code}（{entry.name}）的目录没有信息项，无法按信息项归集数据", "resource_code")
    return schema_from_snapshot(snap, entry.published_version)
