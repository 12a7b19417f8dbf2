"""API schemas. Value lists are checked by `rules.validate_entry`, which reports every problem in
Chinese with the field it concerns, so the schemas accept plain text for them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field


class ItemIn(Schema):
    name: str = Field(max_length=100, description="信息项名称")
    field_name: str = Field(max_length=64, description="字段名")
    data_type: str = Field(description="字符/数字/日期/日期时间/时间戳/布尔/二进制")
    length: int | None = Field(default=None, ge=1, le=1_000_000)
    is_key: bool = False
    required: bool = Field(default=False, description="必填：数据中不能为空（主键信息项总是必填）")
    is_sensitive: bool = False
    masking: str = "不脱敏"
    code_table: str = Field(
        default="", max_length=300,
        description="代码表/值域：1=男;2=女 形式的代码表，[0,100] 或 [1900-01-01,] 形式的值域，"
        "或国家标准 GB/T 2261.1、GB/T 3304、GB/T 2260",
    )


class EntryIn(Schema):
    category: str = Field(description="类：1 基础 / 2 主题 / 3 部门")
    class_item: str = Field(description="项，两位代码")
    class_sub: str = Field(default="001", description="目，三位代码")
    class_detail: str = Field(default="", description="细目，可空")
    name: str = Field(max_length=200)
    provider_code: str = Field(default="", max_length=40)
    abstract: str = Field(max_length=4000)
    resource_format: str
    share_type: str
    share_condition: str = Field(default="", max_length=2000)
    share_basis: str = Field(default="", max_length=2000)
    share_method: str = ""
    open_type: str
    open_condition: str = Field(default="", max_length=2000)
    open_basis: str = Field(default="", max_length=2000)
    update_cycle: str
    publish_date: date | None = None
    related_codes: list[str] = Field(default_factory=list, max_length=100)
    security_level: str = "内部"
    extra: dict[str, Any] = Field(default_factory=dict)
    items: list[ItemIn] = Field(default_factory=list, max_length=500)


class EntrySummary(Schema):
    id: int
    resource_code: str
    name: str
    provider: str
    category: str
    class_item: str
    resource_format: str
    share_type: str
    open_type: str
    update_cycle: str
    status: str
    status_label: str
    published_version: int
    score: float | None = None


class FacetValue(Schema):
    value: str
    label: str
    count: int


class SearchOut(Schema):
    count: int
    limit: int
    offset: int
    terms: list[str] = Field(description="检索词（按输入的词切分）")
    expansions: list[str] = Field(default_factory=list, description="同时检索的同义词，如“社保 → 社会保险”")
    items: list[EntrySummary]
    facets: dict[str, list[FacetValue]]


class EntryOut(Schema):
    id: int
    resource_code: str
    status: str
    status_label: str
    published_version: int
    is_live: bool
    review_comment: str
    last_data_at: datetime | None
    content: dict[str, Any] = Field(description="条目内容：提供单位看到工作稿，其他单位看到最新发布版本")


class VersionOut(Schema):
    version: int
    published_at: datetime
    published_by: str
    change_note: str
    snapshot: dict[str, Any]


class CommentIn(Schema):
    comment: str = Field(default="", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(max_length=2000)


class CorrectionIn(Schema):
    content: str = Field(max_length=2000)
    field: str = Field(default="", max_length=64)


class CorrectionAnswerIn(Schema):
    accepted: bool
    answer: str = Field(max_length=2000)


class CorrectionOut(Schema):
    id: int
    resource_code: str
    version: int
    field: str
    content: str
    reporter_unit: str
    status: str
    answer: str
    created_at: datetime
    answered_at: datetime | None


class ImportIn(Schema):
    entries: list[dict[str, Any]] = Field(max_length=5000)
    good_rows_only: bool = Field(default=False, description="为 true 时只导入无误的条目；默认任何一条有误则全部不导入")


class ImportProblem(Schema):
    row: str
    field: str
    message: str


class ImportOut(Schema):
    imported: bool
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    problems: list[ImportProblem]
