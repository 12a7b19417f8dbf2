"""Schemas of the sharing API (/api/v1/sharing/…). Titles are the Chinese field names used in
error messages; lengths match core.limits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from zhengwu.core import limits


class RequestIn(Schema):
    entry: str = Field(..., title="信息资源", max_length=40, description="目录条目的 id 或资源代码")
    purpose: str = Field(..., title="用途", max_length=limits.TEXT)
    legal_basis: str = Field(..., title="依据", max_length=limits.TEXT)
    items: list[str] = Field(..., title="信息项", max_length=500, description="信息项字段名")
    clear_items: list[str] = Field(default_factory=list, title="明文信息项", max_length=500)
    scope: dict[str, list[str]] = Field(default_factory=dict, title="数据范围", description="{字段名: [代码]}，空为全部")
    valid_from: date = Field(..., title="有效期起")
    valid_until: date = Field(..., title="有效期止")
    renews: int | None = Field(None, title="续期的授权", description="续期时填原授权 id")


class ApproveIn(Schema):
    items: list[str] | None = Field(None, title="信息项", max_length=500, description="省略为同意申请的全部信息项；只能缩小")
    clear_items: list[str] | None = Field(None, title="明文信息项", max_length=500)
    scope: dict[str, list[str]] | None = Field(None, title="数据范围")
    valid_from: date | None = Field(None, title="有效期起")
    valid_until: date | None = Field(None, title="有效期止")
    comment: str = Field("", title="审核意见", max_length=limits.TEXT)


class ReasonIn(Schema):
    reason: str = Field(..., title="理由", max_length=limits.TEXT)


class EventOut(Schema):
    at: datetime
    kind: str
    actor_name: str
    actor_unit: str
    text: str


class GrantOut(Schema):
    id: int
    request: int
    resource_code: str
    entry_name: str
    provider: str
    consumer: str
    items: list[str]
    clear_items: list[str]
    scope: dict[str, Any]
    valid_from: date
    valid_until: date
    status: str
    status_label: str


class RequestOut(Schema):
    id: int
    resource_code: str
    entry_name: str
    share_type: str
    consumer: str
    provider: str
    purpose: str
    legal_basis: str
    items: list[str]
    clear_items: list[str]
    scope: dict[str, Any]
    valid_from: date
    valid_until: date
    status: str
    status_label: str
    filed_at: datetime
    deadline: date | None
    decided_at: datetime | None
    decision_note: str
    grant: GrantOut | None = None
    timeline: list[EventOut] = []


class NeedIn(Schema):
    title: str = Field(..., title="需求名称", max_length=100)
    description: str = Field(..., title="需求说明", max_length=limits.TEXT)
    purpose: str = Field(..., title="用途", max_length=limits.TEXT)
    legal_basis: str = Field("", title="依据", max_length=limits.TEXT)


class AssignIn(Schema):
    unit: int = Field(..., title="责任单位", description="单位 id")
    note: str = Field("", title="分派说明", max_length=limits.TEXT)


class AnswerIn(Schema):
    entry: str | None = Field(None, title="对应的目录", max_length=40, description="本单位已发布目录的 id 或资源代码")
    answer: str = Field("", title="答复", max_length=limits.TEXT)


class NeedOut(Schema):
    id: int
    title: str
    description: str
    purpose: str
    requester_unit: str
    status: str
    status_label: str
    assigned_unit: str | None
    answer_entry: str | None
    answer: str
    created_at: datetime
