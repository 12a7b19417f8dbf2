from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from .queries import MAX_YEAR, MIN_YEAR


class RecordQuery(Schema):
    q: str | None = Field(
        None, max_length=100, title="关键词",
        description="关键词：操作名称（如“登录”）、对象类型名称、操作人、单位或对象标识；多个词以空格分开，须同时符合",
    )
    start: dt.date | None = Field(None, description=f"起始日期（含，YYYY-MM-DD，{MIN_YEAR}–{MAX_YEAR}）")
    end: dt.date | None = Field(None, description="截止日期（含）")
    actor: str | None = Field(None, max_length=150, description="操作人账号或姓名（包含）")
    unit: str | None = Field(None, max_length=100, description="操作人单位（包含）")
    action: str | None = Field(None, max_length=64, title="操作", description="操作代码（可只填前缀，如 identity.）")
    object_type: str | None = Field(None, max_length=64, title="对象类型", description="对象类型代码")
    object_id: str | None = Field(None, max_length=128, title="对象标识")
    result: Literal["success", "failure"] | None = Field(None, title="结果", description="success（成功）或 failure（失败）")
    limit: int = Field(50, ge=1, le=200, description="每页条数，最多 200")
    offset: int = Field(0, ge=0)


class RecordOut(Schema):
    seq: int
    occurred_at: dt.datetime
    actor: str
    actor_name: str
    actor_unit: str
    actor_unit_id: int | None
    source_ip: str
    action: str
    action_label: str = Field(description="操作的中文名称（未登记的代码原样返回）")
    object_type: str
    object_type_label: str = Field(description="对象类型的中文名称（未登记的代码原样返回）")
    object_id: str
    result: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class RecordPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[RecordOut]


class ProblemOut(Schema):
    seq: int | None
    kind: Literal["altered", "removed", "inserted", "checkpoint", "sink"]
    message: str
    field: str | None = Field(None, description="与外部副本不符的字段名")


class VerifyOut(Schema):
    ok: bool
    checked: int
    start_seq: int
    last_seq: int | None
    checkpoints: int
    message: str
    notes: list[str] = Field(default_factory=list, description="补充说明：外部副本、syslog 送达情况")
    compared_with_sink: int = Field(0, description="与外部副本逐条比对一致的记录数")
    problem: ProblemOut | None
