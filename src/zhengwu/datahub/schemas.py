"""API schemas of data collection (数据归集). Every input has limits, so no input reaches the
services unchecked; value lists the services check themselves (with Chinese messages naming the
field) are plain text here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, Field

from .services import PUSH_MAX_RECORDS


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("不能包含空字符（\\x00）")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
MAX_ID = 2**53  # fits every database's 64-bit integer and JavaScript's safe integers
MAX_VERSION = 2**31 - 1
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=0, le=MAX_VERSION)]
Mode = Literal["full", "incremental"]


# --- inputs -------------------------------------------------------------------------------------------


class PageQuery(Schema):
    offset: int = Field(0, ge=0, le=10_000_000, description="起始位置")
    limit: int = Field(50, ge=1, le=200, description="每页条数（≤ 200）")


class RowsQuery(Schema):
    offset: int = Field(0, ge=0, le=10_000_000_000, description="起始行")
    limit: int = Field(50, ge=1, le=500, description="每页行数（≤ 500）")


class ChangesQuery(Schema):
    from_version: Version = Field(description="起始版本（含）")
    to_version: Version | None = Field(None, description="截止版本（含），省略为当前版本")
    offset: int = Field(0, ge=0, le=10_000_000_000)
    limit: int = Field(100, ge=1, le=500)


class SourcesQuery(Schema):
    resource_code: Text = Field("", max_length=40, description="只看该资源的来源")


class PushIn(Schema):
    records: list[dict[str, Any]] = Field(
        min_length=1, max_length=PUSH_MAX_RECORDS,
        description=f"记录数组，每条是一个对象：键为字段名或信息项名称，值为该项的值（一次最多 {PUSH_MAX_RECORDS} 条）",
    )
    mode: Mode = Field("incremental", description="incremental：按主键更新；full：全量替换")


class RollbackIn(Schema):
    version: Version = Field(description="回滚到的版本号")
    reason: Text = Field(max_length=500, description="回滚原因")


class SourceIn(Schema):
    resource_code: Text = Field(max_length=40)
    name: Text = Field(max_length=100, description="来源名称")
    url: Text = Field(
        max_length=1000, description="SQLAlchemy 连接地址（含口令；加密保存，之后不再返回）",
        json_schema_extra={"writeOnly": True},
    )
    table: Text = Field("", max_length=200, description="表名（与查询语句二选一）")
    query: Text = Field("", max_length=20_000, description="查询语句（与表名二选一）")
    mode: Text = Field("full", max_length=20, description="full 全量 / incremental 按增量标识列增量")
    watermark_column: Text = Field("", max_length=100, description="增量标识列（增量抽取必填）")
    scheduled: bool = Field(True, description="按目录的更新周期自动抽取")


class RuleIn(Schema):
    kind: Text = Field(max_length=20, description="pattern / range / id_birthdate / compare / reference")
    field: Text = Field(max_length=64, description="规则作用的字段名")
    params: dict[str, Any] = Field(default_factory=dict, description="规则参数，见文档")
    message: Text = Field("", max_length=200, description="不通过时的提示（可空）")


class TokenIn(Schema):
    name: Text = Field(max_length=100, description="使用该令牌的系统名称")
    resource_codes: list[Annotated[Text, Field(max_length=40)]] = Field(
        default_factory=list, max_length=500, description="可推送的资源代码；空为本单位全部资源"
    )
    unit_id: ObjectId | None = Field(None, description="签发令牌的单位（默认本人所在单位）")


# --- outputs ------------------------------------------------------------------------------------------


class BatchOut(Schema):
    id: int
    resource_code: str
    unit: str
    source_kind: str
    source_kind_label: str
    source_id: int | None
    source_name: str
    push_token: str = Field(description="推送令牌前缀（接口推送时）")
    parent_id: int | None = Field(description="补正的原批次")
    mode: str
    mode_label: str = Field(description="归集方式的中文名")
    file_name: str
    file_size: int
    file_format: str
    encoding: str
    requested_encoding: str = Field(description="上传时选择的文件编码（空为自动识别）")
    idempotency_key: str
    engine: str
    status: str
    status_label: str
    stage: str
    stage_label: str
    progress: int
    rows_in: int
    rows_accepted: int
    rows_refused: int
    rows_resolved: int
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    lake_version: int | None
    preview: dict[str, Any] = Field(
        description="全量替换的预览（写入前计算）：base_version 计算时的版本、rows_current 当前行数、inserted/updated/"
        "deleted 将新增/更新/删除的行数、delete_share 删除占比、threshold 须确认的比例、needs_confirmation；非全量为 {}",
    )
    awaiting_since: datetime | None = Field(description="开始等待确认的时间（状态 awaiting 待确认）")
    confirm_expires_at: datetime | None = Field(description="等待确认的期限，过期由清理任务自动取消")
    confirmed_by: str = Field(description="确认全量替换的人")
    confirmed_at: datetime | None
    confirm_url: str = Field(description="确认全量替换：POST（仅待确认时）")
    cancel_url: str = Field(description="取消待确认的批次：POST")
    recheck_url: str = Field(description="重新校验待确认的批次：POST")
    metrics: dict[str, float | None]
    report: dict[str, Any]
    notes: list[Any]
    error_message: str
    error_field: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress_url: str
    quarantine_url: str
    quarantine_csv_url: str


class BatchPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[BatchOut]


class ResourceOut(Schema):
    resource_code: str
    name: str
    unit_id: int
    unit: str
    update_cycle: str
    last_data_at: datetime | None
    latest_version: int | None
    last_batch_id: int | None
    last_batch_status: str
    last_batch_status_label: str
    last_batch_at: datetime | None
    score: float | None = Field(description="质量评分（0–100），尚无数据时为空")


class ResourcePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ResourceOut]


class QuarantineRow(Schema):
    row: int | None = Field(description="在原文件/推送中的行号")
    reasons: list[str]
    values: dict[str, Any]
    code_names: dict[str, str] = Field(
        default_factory=dict, description="代码值的名称（按信息项的代码表：民族 01 → 汉族）；遮盖显示的值不给名称"
    )


class QuarantineColumn(Schema):
    field: str
    label: str


class QuarantinePage(Schema):
    batch: int
    count: int
    limit: int
    offset: int
    columns: list[QuarantineColumn]
    items: list[QuarantineRow]
    masked_fields: list[str] = Field(
        default_factory=list, description="按目录脱敏方式遮盖显示的信息项（字段名）；只有提供单位的数据管理员看到原值（此时为空）"
    )


class LineageOut(Schema):
    batch_id: int | None
    source_kind: str
    source_kind_label: str
    file_name: str
    file_sha256: str
    source_id: int | None
    source_name: str
    source_url: str = Field(description="数据库来源的连接地址（已隐去口令）")
    push_token: str
    idempotency_key: str
    parent_id: int | None


class VersionOut(Schema):
    version: int
    operation: str
    operation_label: str
    restored_from: int | None
    rows_total: int
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    reason: str
    created_by: str
    created_at: datetime
    lineage: LineageOut | None
    undone: bool = Field(False, description="已撤销：写入它的批次失败或中断后被撤销，不提供其数据，变更流中也不出现")
    undoes: int | None = Field(None, description="本版本撤销的版本（失败或中断批次的提交）")
    state_label: str = Field("", description="“已撤销”“撤销 v…”或空")


class VersionPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[VersionOut]


class RowsOut(Schema):
    version: int | None
    columns: list[QuarantineColumn]
    count: int
    limit: int
    offset: int
    items: list[dict[str, Any]]
    code_names: list[dict[str, str]] = Field(
        default_factory=list,
        description="与 items 逐行对应：代码值的名称（按信息项的代码表：民族 01 → 汉族）；遮盖显示的值不给名称",
    )
    masked_fields: list[str] = Field(
        default_factory=list, description="按目录脱敏方式遮盖显示的信息项（字段名）；只有提供单位的数据管理员看到原值（此时为空）"
    )


class ChangeOut(Schema):
    change_type: str = Field(description="insert / update_preimage / update_postimage / delete")
    commit_version: int
    commit_timestamp: datetime | None
    values: dict[str, Any]
    code_names: dict[str, str] = Field(
        default_factory=dict, description="代码值的名称（按信息项的代码表：民族 01 → 汉族）；遮盖显示的值不给名称"
    )


class ChangesOut(Schema):
    from_version: int
    to_version: int
    columns: list[QuarantineColumn]
    count: int
    limit: int
    offset: int
    items: list[ChangeOut]
    masked_fields: list[str] = Field(
        default_factory=list, description="按目录脱敏方式遮盖显示的信息项（字段名）；只有提供单位的数据管理员看到原值（此时为空）"
    )


class SourceOut(Schema):
    id: int
    resource_code: str
    unit: str
    name: str
    url_display: str
    table: str
    query: str
    mode: str
    watermark_column: str
    watermark_value: str
    scheduled: bool
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    created_at: datetime


class DerivedRuleOut(Schema):
    code: str
    field: str
    label: str
    category: str
    message: str


class CustomRuleOut(Schema):
    id: int
    kind: str
    kind_label: str
    field: str
    params: dict[str, Any]
    message: str
    enabled: bool
    created_by: str
    created_at: datetime


class RulesOut(Schema):
    resource_code: str
    catalog_version: int
    derived: list[DerivedRuleOut]
    custom: list[CustomRuleOut]


class TokenOut(Schema):
    id: int
    unit_id: int
    unit: str
    name: str
    prefix: str
    resource_codes: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="令牌全文，只在签发时返回一次；平台只保存其摘要")


class Dimension(Schema):
    key: str
    label: str
    value: float = Field(description="0–100")


class ResourceScoreOut(Schema):
    resource_code: str
    name: str
    unit_id: int
    unit: str
    update_cycle: str
    has_data: bool
    last_data_at: datetime | None
    batch_id: int | None
    score: float
    dimensions: list[Dimension]
    rows_in: int
    rows_refused: int


class UnitScoreOut(Schema):
    rank: int
    unit_id: int
    unit: str
    score: float
    resources: int
    collected: int
    dimensions: list[Dimension]


class QualityResourcesOut(Schema):
    count: int
    weights: dict[str, float]
    items: list[ResourceScoreOut]


class QualityUnitsOut(Schema):
    count: int
    weights: dict[str, float]
    items: list[UnitScoreOut]


class SourcePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[SourceOut]


class TokenPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[TokenOut]
