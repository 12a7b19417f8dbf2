"""Schemas of the exchange API (/api/v1/exchange/…). Titles are the Chinese field names used in
error messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class SubscriptionIn(Schema):
    grant: int = Field(..., title="共享授权", description="本单位获得的有效授权 id")
    kind: str = Field(..., title="交换方式", description="webhook | feed | database")
    name: str = Field(..., title="订阅名称", max_length=100)
    webhook_url: str = Field("", title="推送地址", max_length=500)
    db_engine: str = Field("", title="数据库类型", description="postgresql | mysql（MySQL/MariaDB）")
    db_host: str = Field("", title="数据库主机", max_length=253)
    db_port: int | None = Field(None, title="端口", ge=1, le=65535)
    db_name: str = Field("", title="数据库名", max_length=64)
    db_user: str = Field("", title="用户名", max_length=64)
    db_password: str = Field("", title="密码", max_length=200)
    db_table: str = Field("", title="表名", max_length=63)


class SubscriptionOut(Schema):
    id: int
    grant: int
    resource_code: str
    entry_name: str
    provider: str
    consumer: str
    name: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    status_reason: str
    position: int | None
    webhook_url: str | None = None
    database: str | None = None
    created_at: datetime
    last_delivered_at: datetime | None
    last_error: str | None = None


class CreatedOut(SubscriptionOut):
    secret: str | None = Field(None, description="Webhook 签名密钥，只在创建时返回这一次")


class DeliveryOut(Schema):
    id: int
    delivery_id: str
    kind: str
    from_version: int | None
    to_version: int
    page: int
    pages: int
    status: str
    status_label: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    rows_upserted: int
    rows_deleted: int
    created_at: datetime
    delivered_at: datetime | None


class FeedOut(Schema):
    changes: list[dict[str, Any]] = Field(..., description="[{op: upsert|delete, key, version, row?}]，按 key 排序")
    next_cursor: str | None = Field(..., description="下一次请求带上；为空且 resync_required 时不带游标重新开始")
    resync_required: bool
    version: int | None
    items: list[str]
    masked_items: list[str]


class MessageOut(Schema):
    detail: str
