"""/api/v1/datahub/… — batches, push, quarantine, versions, sources, rules, push tokens, quality.

Thin: decisions by `services`, reads by `queries`. A resource is addressed by its code; its "/"
may be sent URL-encoded (101001%2F00001) or as "-" (101001-00001).

Units' own systems push with `Authorization: Bearer zwp_…` (a push token); everything else uses
the logged-in session.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db.models import Max, OuterRef, Subquery
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.urls import register_converter, reverse
from ninja import File, Form, Header, Query, Router, Status, UploadedFile
from ninja import Path as PathParam
from ninja.security import HttpBearer

from zhengwu.audit.services import record_event
from zhengwu.catalog.models import CatalogEntry
from zhengwu.core import exports
from zhengwu.core.api import PlatformSessionAuth
from zhengwu.core.errors import DomainError, NotFound
from zhengwu.directory.models import Unit

from . import lake, queries, services
from .constants import RuleKind, SourceKind, VersionOperation
from .corrections import REASON_HEADER, ROW_HEADER, without_quarantine_columns
from .engine import ERROR_SEPARATOR, ERRORS_COLUMN
from .models import DataSource, IngestBatch, PushToken, ResourceRule, ResourceVersion
from .presenters import RowPresenter
from .rules import ROW_COLUMN
from .schema import schema_for
from .schemas import (
    MAX_ID,
    MAX_VERSION,
    BatchOut,
    BatchPage,
    ChangesOut,
    ChangesQuery,
    CustomRuleOut,
    Mode,
    PageQuery,
    PushIn,
    QualityResourcesOut,
    QualityUnitsOut,
    QuarantinePage,
    ResourcePage,
    RollbackIn,
    RowsOut,
    RowsQuery,
    RuleIn,
    RulesOut,
    SourceIn,
    SourceOut,
    SourcePage,
    SourcesQuery,
    TokenCreated,
    TokenIn,
    TokenOut,
    TokenPage,
    VersionOut,
    VersionPage,
)


class ResourceCodeConverter:
    """A resource code in a path: "101001/00001" (a URL-encoded "/" arrives decoded), or any
    text without "/". The part after the "/" is digits, so "/batches" etc. are never taken in."""

    regex = r"[^/]+(?:/[0-9]+)?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ResourceCodeConverter, "rescode")

router = Router(tags=["数据归集"])

# Columns the quarantine CSV adds in front of the data; a correction upload drops them again.
# Column names and the reason separator of refused rows, as the engine writes them.
REASON_SEPARATOR = ERROR_SEPARATOR


class PushTokenRefused(DomainError):
    status = 401


# Without a push token the session is asked; without either the answer is 401 with this hint.
PUSH_AUTH_HINT = "未提供推送令牌：请在请求头 Authorization: Bearer zwp_… 中携带本单位的推送令牌（在“推送令牌”页面创建），或先登录"


class PushTokenAuth(HttpBearer):
    """`Authorization: Bearer zwp_…`: a unit system's push token. A bearer that is not a valid,
    unrevoked token is refused outright (it does not fall back to the session)."""

    def authenticate(self, request: HttpRequest, token: str) -> PushToken:
        found = services.authenticate_push_token(token.strip())
        if found is None:
            raise PushTokenRefused("推送令牌无效或已吊销（请求头 Authorization: Bearer zwp_…）", "Authorization")
        return found


# --- helpers ---------------------------------------------------------------------------------------------


def _code(raw: str) -> str:
    """The resource code a path names; "-" may stand for the "/" (101001-00001)."""
    code = raw.strip()
    if "\x00" in code:  # PostgreSQL text cannot hold NUL: no resource has it
        raise NotFound(f"信息资源代码 {code.replace(chr(0), '')} 不存在", "resource_code")
    if "/" not in code and "-" in code and not CatalogEntry.objects.filter(resource_code=code).exists():
        head, _, tail = code.rpartition("-")
        candidate = f"{head}/{tail}"
        if CatalogEntry.objects.filter(resource_code=candidate).exists():
            return candidate
    return code


def _name(user: Any) -> str:
    return (getattr(user, "full_name", "") or getattr(user, "username", "")) if user is not None else ""


def _plain(value: Any) -> Any:
    """A lake value as JSON: dates as ISO text, decimals as text (exact), bytes as base64."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _batch(batch: IngestBatch, actor: Any, shown: RowPresenter | None = None) -> dict[str, Any]:
    """A batch as `actor` (None: a push token) may read it: the report's samples and the failure
    message quote values, so they pass through the masking presenter."""
    shown = shown or queries.batch_presenter(actor, batch)
    return {
        "id": batch.pk,
        "resource_code": batch.resource_code,
        "unit": batch.unit.name,
        "source_kind": batch.source_kind,
        "source_kind_label": SourceKind(batch.source_kind).label if batch.source_kind in SourceKind.values else "",
        "source_id": batch.source_id,
        "source_name": batch.source.name if batch.source_id and batch.source else "",
        "push_token": batch.push_token.prefix if batch.push_token_id and batch.push_token else "",
        "parent_id": batch.parent_id,
        "mode": batch.mode,
        "mode_label": batch.get_mode_display(),
        "file_name": batch.file_name,
        "file_size": batch.file_size,
        "file_format": batch.file_format,
        "encoding": batch.encoding,
        "requested_encoding": batch.requested_encoding,
        "idempotency_key": batch.idempotency_key,
        "engine": batch.engine,
        "status": batch.status,
        "status_label": batch.get_status_display(),
        "stage": batch.stage,
        "stage_label": batch.get_stage_display(),
        "progress": batch.progress,
        "rows_in": batch.rows_in,
        "rows_accepted": batch.rows_accepted,
        "rows_refused": batch.rows_refused,
        "rows_resolved": batch.rows_resolved,
        "rows_inserted": batch.rows_inserted,
        "rows_updated": batch.rows_updated,
        "rows_deleted": batch.rows_deleted,
        "lake_version": batch.lake_version,
        "preview": _plain(batch.preview or {}),
        "awaiting_since": batch.awaiting_since,
        "confirm_expires_at": services.confirmation_expires_at(batch),
        "confirmed_by": _name(batch.confirmed_by) if batch.confirmed_by_id else "",
        "confirmed_at": batch.confirmed_at,
        "confirm_url": f"/api/v1/datahub/batches/{batch.pk}/confirm",
        "cancel_url": f"/api/v1/datahub/batches/{batch.pk}/cancel",
        "recheck_url": f"/api/v1/datahub/batches/{batch.pk}/recheck",
        "metrics": {
            "completeness": batch.completeness,
            "validity": batch.validity,
            "uniqueness": batch.uniqueness,
            "consistency": batch.consistency,
        },
        "report": _plain(shown.report(batch.report or {})),
        "notes": _plain(batch.notes or []),
        "error_message": shown.error(batch.error_message),
        "error_field": batch.error_field,
        "created_by": _name(batch.created_by),
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        "progress_url": reverse("api:datahub_batch", kwargs={"batch_id": batch.pk}),
        "quarantine_url": reverse("api:datahub_quarantine", kwargs={"batch_id": batch.pk}),
        "quarantine_csv_url": reverse("api:datahub_quarantine_csv", kwargs={"batch_id": batch.pk}),
    }


def _fresh(batch: IngestBatch) -> IngestBatch:
    """The batch as stored now (its task may already have run), with what `_batch` shows."""
    return IngestBatch.objects.select_related("unit", "created_by", "source", "push_token").get(pk=batch.pk)


def _labels(resource_code: str) -> dict[str, str]:
    try:
        schema = schema_for(resource_code)
    except DomainError:
        return {}
    return {c.field_name: c.label for c in schema.columns}


def _columns(names: list[str], labels: dict[str, str]) -> list[dict[str, str]]:
    meta = {lake.BATCH_COLUMN: "批次"}
    return [{"field": n, "label": labels.get(n) or meta.get(n, n)} for n in names]


def _reasons(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(REASON_SEPARATOR) if part.strip()]


def _file_required(what: str) -> dict[str, Any]:
    """OpenAPI: the multipart part `file` is required (the handler takes it as optional so that its
    absence gets the Chinese message naming `file`)."""
    schema = {"required": ["file"], "properties": {"file": {"type": "string", "format": "binary", "description": what}}}
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}}


def _uploaded(file: UploadedFile | None) -> UploadedFile:
    """The multipart part `file`, present and not empty."""
    if file is None:
        raise DomainError("请选择要上传的文件（multipart/form-data 的 file 字段）", "file")
    if not file.size:
        raise DomainError("上传的文件是空的（0 字节），请选择包含表头和数据的文件", "file")
    return file


def _row_number(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --- resources and batches --------------------------------------------------------------------------------


@router.get("/resources", response=ResourcePage, summary="可归集的资源（最新版本、最近批次、质量评分）")
def list_resources(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    last_batch = IngestBatch.objects.filter(resource_code=OuterRef("resource_code")).order_by("-created_at", "-id")
    entries = queries.collectable_entries(request.user).annotate(
        last_batch_id=Subquery(last_batch.values("pk")[:1]),
    )
    count = entries.count()
    rows = list(entries[page.offset : page.offset + page.limit])
    codes = [e.resource_code for e in rows]
    versions = dict(
        ResourceVersion.objects.filter(resource_code__in=codes)
        .values("resource_code").annotate(latest=Max("lake_version")).values_list("resource_code", "latest")
    )
    batches = IngestBatch.objects.in_bulk([e.last_batch_id for e in rows if e.last_batch_id])
    scores = {s.resource_code: s for s in queries.resource_scores()}
    items = []
    for entry in rows:
        batch = batches.get(entry.last_batch_id)
        score = scores.get(entry.resource_code)
        items.append({
            "resource_code": entry.resource_code,
            "name": entry.name,
            "unit_id": entry.provider_id,
            "unit": entry.provider.name,
            "update_cycle": entry.update_cycle,
            "last_data_at": entry.last_data_at,
            "latest_version": versions.get(entry.resource_code),
            "last_batch_id": batch.pk if batch else None,
            "last_batch_status": batch.status if batch else "",
            "last_batch_status_label": batch.get_status_display() if batch else "",
            "last_batch_at": batch.created_at if batch else None,
            "score": score.score if score is not None and score.has_data else None,
        })
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


@router.post(
    "/resources/{rescode:code}/batches", response={202: BatchOut},
    summary="上传文件归集（CSV/XLSX/JSON Lines，后台处理；用 progress_url 查询进度）",
    openapi_extra=_file_required("数据文件：CSV（UTF-8/GBK/GB18030）、XLSX 或 JSON Lines，表头为字段名或信息项名称"),
)
def upload_batch(
    request: HttpRequest, code: str, mode: Form[Mode] = "incremental",
    encoding: Form[str] = "",  # checked by the service (Chinese message naming `encoding`)
    file: UploadedFile | None = File(None),  # noqa: B008
) -> Any:
    resource_code = _code(code)
    queries.entry_for(request.user, resource_code)
    file = _uploaded(file)
    batch = services.do_submit_upload(request.user, resource_code, file, mode=mode, encoding=encoding, request=request)
    return Status(202, _batch(_fresh(batch), request.user))


@router.post("/batches/{batch_id}/confirm", response={202: BatchOut},
             summary="确认全量替换（待确认的批次：写入并删除预览中的行）",
             description="只有提交该批次的人或提供单位的数据管理员可以确认；校验后资源已有新版本时返回 409，须先重新校验。")
def confirm_batch(request: HttpRequest, batch_id: int = PathParam(..., ge=1, le=MAX_ID)) -> Any:
    queries.get_batch(request.user, batch_id)
    batch = services.do_confirm_full_load(request.user, batch_id, request=request)
    return Status(202, _batch(_fresh(batch), request.user))


@router.post("/batches/{batch_id}/cancel", response=BatchOut, summary="取消待确认的批次（不写入任何数据）")
def cancel_batch(request: HttpRequest, batch_id: int = PathParam(..., ge=1, le=MAX_ID)) -> Any:
    queries.get_batch(request.user, batch_id)
    batch = services.do_cancel_batch(request.user, batch_id, request=request)
    return _batch(_fresh(batch), request.user)


@router.post("/batches/{batch_id}/recheck", response={202: BatchOut},
             summary="重新校验待确认的批次（按资源的当前数据重新计算预览）")
def recheck_batch(request: HttpRequest, batch_id: int = PathParam(..., ge=1, le=MAX_ID)) -> Any:
    queries.get_batch(request.user, batch_id)
    batch = services.do_recheck_batch(request.user, batch_id, request=request)
    return Status(202, _batch(_fresh(batch), request.user))


@router.get("/resources/{rescode:code}/batches", response=BatchPage, summary="资源的归集批次（分页，新的在前）")
def list_batches(request: HttpRequest, code: str, page: Query[PageQuery]) -> dict[str, Any]:
    resource_code = _code(code)
    batches = queries.batches_for(request.user, resource_code).select_related("push_token")
    count = batches.count()
    shown = queries.presenter(request.user, resource_code)
    items = [_batch(b, request.user, shown) for b in batches[page.offset : page.offset + page.limit]]
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


@router.post(
    "/resources/{rescode:code}/push",
    response={200: BatchOut, 202: BatchOut},
    auth=[PushTokenAuth(), PlatformSessionAuth(PUSH_AUTH_HINT, "Authorization")],
    summary="接口推送记录（幂等：同一 Idempotency-Key 只入库一次）",
    description=(
        "单位系统用推送令牌（Authorization: Bearer zwp_…）或登录会话推送一批记录。新批次返回 202；"
        "同一幂等键、同样内容的重试返回 200 和原批次，不会重复入库；同一幂等键、不同内容返回 409。"
    ),
)
def push_records(
    request: HttpRequest,
    code: str,
    payload: PushIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", max_length=100, description="幂等键，每批不同"),
) -> Any:
    token = request.auth if isinstance(request.auth, PushToken) else None  # type: ignore[attr-defined]
    actor = None if token is not None else request.user
    batch, created = services.do_push_records(
        actor, _code(code), payload.records, idempotency_key=idempotency_key, mode=payload.mode, token=token,
        request=request,
    )
    return Status(202 if created else 200, _batch(_fresh(batch), actor))


@router.get("/batches/{batch_id}", response=BatchOut, url_name="datahub_batch", auth=[PushTokenAuth(), PlatformSessionAuth(PUSH_AUTH_HINT, "Authorization")],
            summary="批次详情（状态、阶段、进度、行数、质量报告；用于轮询进度）",
            description="登录用户看本单位（数据主管部门看全部）的批次；推送令牌只能看用该令牌推送的批次。")
def get_batch(request: HttpRequest, batch_id: int = PathParam(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    token = getattr(request, "auth", None)  # set by ninja: the PushToken, or the session user
    if isinstance(token, PushToken):
        return _batch(_fresh(queries.get_pushed_batch(token, batch_id)), None)
    return _batch(_fresh(queries.get_batch(request.user, batch_id)), request.user)


# --- quarantine and corrections ----------------------------------------------------------------------------


@router.get("/batches/{batch_id}/quarantine", response=QuarantinePage, url_name="datahub_quarantine",
            summary="批次的隔离行（原文、行号和不通过的原因；分页）")
def batch_quarantine(
    request: HttpRequest, page: Query[PageQuery], batch_id: int = PathParam(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    batch = queries.get_batch(request.user, batch_id)
    data = queries.quarantine(request.user, batch, offset=page.offset, limit=page.limit, request=request)
    labels = _labels(batch.resource_code)
    fields = _data_fields(data["columns"], labels)
    items = [
        {
            "row": _row_number(row.get(ROW_COLUMN)),
            "reasons": _reasons(row.get(ERRORS_COLUMN)),
            "values": {f: _plain(row.get(f)) for f in fields},
            "code_names": names,
        }
        for row, names in zip(data["rows"], data["code_names"], strict=True)
    ]
    return {
        "batch": batch.pk, "count": data["total"], "limit": page.limit, "offset": page.offset,
        "columns": _columns(fields, labels), "items": items, "masked_fields": data["masked_fields"],
    }


def _data_fields(columns: list[str], labels: dict[str, str]) -> list[str]:
    """The data columns of quarantined rows: the resource's items in catalog order (all of them,
    so the CSV can be uploaded back), then any other column the rows have; meta columns ("_…") out."""
    if labels:
        return list(labels)
    return [c for c in columns if not c.startswith("_")]


def _quarantine_table(request: HttpRequest, batch_id: int) -> tuple[IngestBatch, list[str], Iterator[list[Any]]]:
    """(batch, header, rows) of a quarantine download: 行号, 错误原因 and every item under its
    name, values as `queries.quarantine` presents them to this actor (masked unless clear)."""
    batch = queries.get_batch(request.user, batch_id)
    data = queries.quarantine(request.user, batch, offset=0, limit=None, request=request, purpose="export")
    labels = _labels(batch.resource_code)
    fields = _data_fields(data["columns"], labels)

    def rows() -> Iterator[list[Any]]:
        for row in data["rows"]:
            number = _row_number(row.get(ROW_COLUMN))
            values = ["" if row.get(f) is None else str(_plain(row.get(f))) for f in fields]
            yield ["" if number is None else number, REASON_SEPARATOR.join(_reasons(row.get(ERRORS_COLUMN))), *values]

    return batch, [ROW_HEADER, REASON_HEADER, *[labels.get(f, f) for f in fields]], rows()


@router.get(
    "/batches/{batch_id}/quarantine.csv", url_name="datahub_quarantine_csv",
    summary="下载批次的全部隔离行（CSV，UTF-8 带 BOM；改正后可原样作为补正文件上传）",
    description=(
        f"列为“{ROW_HEADER}”“{REASON_HEADER}”和各信息项（表头用信息项名称）。改正数据后，把文件原样提交到 "
        f"POST /batches/{{batch_id}}/corrections 即可：{ROW_HEADER}、{REASON_HEADER}两列在补正时自动去掉。"
        "以 = + - @ 等开头的值前加一个单引号（防止电子表格把它当公式执行），补正时自动去掉。"
        "个人/敏感信息项只有提供单位的数据管理员看到原值，其他人下载的是脱敏后的值（不能用于补正）。"
    ),
    openapi_extra={"responses": {200: {"description": "CSV 文件", "content": {"text/csv": {"schema": {"type": "string"}}}}}},
)
def batch_quarantine_csv(request: HttpRequest, batch_id: int = PathParam(..., ge=1, le=MAX_ID)) -> StreamingHttpResponse:
    batch, header, rows = _quarantine_table(request, batch_id)
    return exports.csv_response(f"隔离数据-批次{batch.pk}.csv", header, rows)


@router.get(
    "/batches/{batch_id}/quarantine.xlsx", url_name="datahub_quarantine_xlsx",
    summary="下载批次的全部隔离行（Excel 工作簿，供查看；补正请用 CSV）",
    description="列与 quarantine.csv 相同；以 = + - @ 等开头的值前加一个单引号，作为文本保存，不会被当作公式执行。",
    openapi_extra={"responses": {200: {"description": "XLSX 文件", "content": {exports.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}}}},
)
def batch_quarantine_xlsx(request: HttpRequest, batch_id: int = PathParam(..., ge=1, le=MAX_ID)) -> FileResponse:
    batch, header, rows = _quarantine_table(request, batch_id)
    return exports.xlsx_response(f"隔离数据-批次{batch.pk}.xlsx", header, rows, sheet_title="隔离行")


@router.post(
    "/batches/{batch_id}/corrections", response={202: BatchOut},
    summary="补正重报：上传改正后的隔离行（可直接用 quarantine.csv 改正后的文件）",
    openapi_extra=_file_required("改正后的隔离行；quarantine.csv 的“行号”“错误原因”两列可以保留"),
)
def upload_correction(
    request: HttpRequest, batch_id: int = PathParam(..., ge=1, le=MAX_ID), file: UploadedFile | None = File(None)  # noqa: B008
) -> Any:
    parent = queries.get_batch(request.user, batch_id)
    queries.entry_for(request.user, parent.resource_code)
    file = _uploaded(file)
    with without_quarantine_columns(file) as upload:
        batch = services.do_submit_upload(request.user, parent.resource_code, upload, parent=parent, request=request)
    return Status(202, _batch(_fresh(batch), request.user))


# --- versions, rows, changes, rollback ----------------------------------------------------------------------


def _version(v: ResourceVersion) -> dict[str, Any]:
    batch = v.batch
    lineage = None
    if batch is not None:
        source = batch.source if batch.source_id else None
        lineage = {
            "batch_id": batch.pk,
            "source_kind": batch.source_kind,
            "source_kind_label": SourceKind(batch.source_kind).label if batch.source_kind in SourceKind.values else "",
            "file_name": batch.file_name,
            "file_sha256": batch.file_sha256,
            "source_id": batch.source_id,
            "source_name": source.name if source else "",
            "source_url": source.url_display if source else "",
            "push_token": batch.push_token.prefix if batch.push_token_id and batch.push_token else "",
            "idempotency_key": batch.idempotency_key,
            "parent_id": batch.parent_id,
        }
    return {
        "version": v.lake_version,
        "operation": v.operation,
        "operation_label": VersionOperation(v.operation).label if v.operation in VersionOperation.values else v.operation,
        "restored_from": v.restored_from,
        "rows_total": v.rows_total,
        "rows_inserted": v.rows_inserted,
        "rows_updated": v.rows_updated,
        "rows_deleted": v.rows_deleted,
        "reason": v.reason,
        "created_by": _name(v.created_by),
        "created_at": v.created_at,
        "lineage": lineage,
        "undone": v.undone,
        "undoes": v.undoes,
        "state_label": "已撤销" if v.undone else (f"撤销 v{v.undoes}" if v.undoes is not None else ""),
    }


@router.get("/resources/{rescode:code}/versions", response=VersionPage,
            summary="数据版本及其来源（版本 → 批次 → 文件/数据库来源/推送）")
def list_versions(request: HttpRequest, code: str, page: Query[PageQuery]) -> dict[str, Any]:
    versions = queries.versions_for(request.user, _code(code)).select_related("batch__push_token")
    count = versions.count()
    items = [_version(v) for v in versions[page.offset : page.offset + page.limit]]
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


def _rows(request: HttpRequest, resource_code: str, version: int | None, params: RowsQuery) -> dict[str, Any]:
    data = queries.version_rows(
        request.user, resource_code, version, offset=params.offset, limit=params.limit, request=request
    )
    return {
        "version": data["version"],
        "columns": _columns(list(data["columns"]), _labels(resource_code)),
        "count": data["total"],
        "limit": params.limit,
        "offset": params.offset,
        "items": [_plain(row) for row in data["rows"]],
        "code_names": data["code_names"],
        "masked_fields": data["masked_fields"],
    }


@router.get("/resources/{rescode:code}/versions/{version}/rows", response=RowsOut,
            summary="某一版本的数据（时间旅行；敏感信息项按目录的脱敏方式遮盖）")
def version_rows(
    request: HttpRequest, code: str, params: Query[RowsQuery], version: int = PathParam(..., ge=0, le=MAX_VERSION)
) -> dict[str, Any]:
    return _rows(request, _code(code), version, params)


@router.get("/resources/{rescode:code}/rows", response=RowsOut, summary="当前版本的数据（敏感信息项脱敏）")
def current_rows(request: HttpRequest, code: str, params: Query[RowsQuery]) -> dict[str, Any]:
    return _rows(request, _code(code), None, params)


@router.post("/resources/{rescode:code}/rollback", response=VersionOut, summary="回滚到早先的版本（形成一个新版本）")
def rollback(request: HttpRequest, code: str, payload: RollbackIn) -> dict[str, Any]:
    created = services.do_rollback(request.user, _code(code), payload.version, reason=payload.reason, request=request)
    return _version(ResourceVersion.objects.select_related("batch", "created_by").get(pk=created.pk))


CHANGE_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return None


@router.get(
    "/resources/{rescode:code}/changes", response=ChangesOut,
    summary="两个版本之间的精确变更（新增、更新前后像、删除；分页）",
    description="from_version 到 to_version（含两端）各版本提交的逐行变更，取自 Delta Lake 的变更数据（CDF），"
    "按版本排序。回滚版本的变更按数据文件给出（删除被撤下文件中的行、插入恢复的文件中的行），按顺序应用同样得到回滚后的数据。",
)
def changes(request: HttpRequest, code: str, params: Query[ChangesQuery]) -> dict[str, Any]:
    resource_code = _code(code)
    queries.entry_for(request.user, resource_code)
    current = lake.current_version(resource_code)
    if current is None:
        raise DomainError("该资源还没有任何数据版本", "from_version")
    start = params.from_version
    end = current if params.to_version is None else params.to_version
    if start > current:
        raise DomainError(f"起始版本 {start} 不存在（现有 0 到 {current}）", "from_version")
    if end > current:
        raise DomainError(f"截止版本 {end} 不存在（现有 0 到 {current}）", "to_version")
    if end < start:
        raise DomainError(f"截止版本 {end} 早于起始版本 {start}", "to_version")
    try:
        table = lake.changes(resource_code, start, end)
    except DomainError:
        raise
    except Exception as exc:
        logging.getLogger(__name__).exception("changes of %s v%s..v%s", resource_code, start, end)
        raise DomainError(
            f"无法读取版本 {start} 到 {end} 的变更明细（数据湖读取失败，详细信息已记入服务器日志），请缩小版本范围后重试",
            "from_version",
        ) from exc
    # The change feed comes as string_view columns, which Arrow cannot sort or take: plain strings.
    table = table.cast(pa.schema([
        pa.field(f.name, pa.string()) if pa.types.is_string_view(f.type) else f for f in table.schema
    ]))
    hidden = queries.hidden_versions(resource_code)
    if hidden and table.num_rows:  # an undone commit and the commit undoing it: no change at all
        table = table.filter(pc.invert(pc.is_in(table["_commit_version"], pa.array(sorted(hidden), pa.int64()))))
    if table.num_rows:
        table = table.sort_by([("_commit_version", "ascending")])
    fields = [n for n in table.column_names if n not in CHANGE_COLUMNS]
    shown = queries.presenter(request.user, resource_code)
    page = shown.rows(table.slice(params.offset, params.limit).to_pylist())
    items = [
        {
            "change_type": str(row.get("_change_type") or ""),
            "commit_version": int(row.get("_commit_version") or 0),
            "commit_timestamp": _timestamp(row.get("_commit_timestamp")),
            "values": {f: _plain(row.get(f)) for f in fields},
            "code_names": shown.code_names({f: row.get(f) for f in fields}),
        }
        for row in page
    ]
    record_event(
        request.user, "datahub.changes.read", object_type="resource", object_id=resource_code, request=request,
        details={"from": start, "to": end, "offset": params.offset, "rows": len(items), "total": table.num_rows},
    )
    return {
        "from_version": start, "to_version": end, "columns": _columns(fields, _labels(resource_code)),
        "count": table.num_rows, "limit": params.limit, "offset": params.offset, "items": items,
        "masked_fields": shown.masked_fields,
    }


# --- sources ------------------------------------------------------------------------------------------------


def _source(s: DataSource) -> dict[str, Any]:
    return {
        "id": s.pk,
        "resource_code": s.resource_code,
        "unit": s.unit.name,
        "name": s.name,
        "url_display": s.url_display,
        "table": s.table,
        "query": s.query,
        "mode": s.mode,
        "watermark_column": s.watermark_column,
        "watermark_value": s.watermark_value,
        "scheduled": s.scheduled,
        "enabled": s.enabled,
        "next_run_at": s.next_run_at,
        "last_run_at": s.last_run_at,
        "created_at": s.created_at,
    }


def _source_or_404(request: HttpRequest, source_id: int) -> DataSource:
    source = queries.sources_for(request.user).filter(pk=source_id).first()
    if source is None:
        raise NotFound("数据库来源不存在或无权查看", "source_id")
    return source


@router.get("/sources", response=SourcePage, summary="数据库来源（连接地址只显示隐去口令的形式）")
def list_sources(request: HttpRequest, params: Query[SourcesQuery], page: Query[PageQuery]) -> dict[str, Any]:
    sources = queries.sources_for(request.user, _code(params.resource_code) if params.resource_code else None)
    count = sources.count()
    items = [_source(s) for s in sources[page.offset : page.offset + page.limit]]
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


@router.post("/sources", response={201: SourceOut},
             summary="登记数据库来源（当场试连并核对列；连接地址 SM4 加密保存，不再返回）")
def create_source(request: HttpRequest, payload: SourceIn) -> Any:
    source = services.do_create_source(
        request.user, _code(payload.resource_code), name=payload.name, url=payload.url, table=payload.table,
        query=payload.query, mode=payload.mode, watermark_column=payload.watermark_column.strip(),
        scheduled=payload.scheduled, request=request,
    )
    return Status(201, _source(DataSource.objects.select_related("unit").get(pk=source.pk)))


@router.delete("/sources/{source_id}", response={204: None}, summary="删除数据库来源")
def delete_source(request: HttpRequest, source_id: int = PathParam(..., ge=1, le=MAX_ID)) -> Any:
    services.do_delete_source(request.user, _source_or_404(request, source_id), request=request)
    return Status(204, None)


@router.post("/sources/{source_id}/run", response={202: BatchOut}, summary="立即从该来源抽取一次")
def run_source(request: HttpRequest, source_id: int = PathParam(..., ge=1, le=MAX_ID)) -> Any:
    batch = services.do_run_source(request.user, _source_or_404(request, source_id), request=request)
    return Status(202, _batch(_fresh(batch), request.user))


# --- rules --------------------------------------------------------------------------------------------------


def _custom_rule(r: ResourceRule) -> dict[str, Any]:
    return {
        "id": r.pk,
        "kind": r.kind,
        "kind_label": RuleKind(r.kind).label if r.kind in RuleKind.values else r.kind,
        "field": r.field,
        "params": _plain(r.params or {}),
        "message": r.message,
        "enabled": r.enabled,
        "created_by": _name(r.created_by),
        "created_at": r.created_at,
    }


@router.get("/resources/{rescode:code}/rules", response=RulesOut,
            summary="资源的校验规则（由目录信息项派生的规则和自定义规则）")
def list_rules(request: HttpRequest, code: str) -> dict[str, Any]:
    schema, derived, custom = queries.rules_for(request.user, _code(code))
    return {
        "resource_code": schema.resource_code,
        "catalog_version": schema.catalog_version,
        "derived": [
            {"code": r.code, "field": r.field, "label": r.label, "category": r.category, "message": r.message}
            for r in derived
        ],
        "custom": [_custom_rule(r) for r in custom.select_related("created_by")],
    }


@router.post("/resources/{rescode:code}/rules", response={201: CustomRuleOut},
             summary="添加自定义校验规则（格式、范围、出生日期与身份号码一致、字段比较、引用其他资源）")
def create_rule(request: HttpRequest, code: str, payload: RuleIn) -> Any:
    rule = services.do_create_rule(
        request.user, _code(code), kind=payload.kind.strip(), field=payload.field, params=payload.params,
        message=payload.message, request=request,
    )
    return Status(201, _custom_rule(ResourceRule.objects.select_related("created_by").get(pk=rule.pk)))


@router.delete("/rules/{rule_id}", response={204: None}, summary="删除自定义校验规则")
def delete_rule(request: HttpRequest, rule_id: int = PathParam(..., ge=1, le=MAX_ID)) -> Any:
    rule = ResourceRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("自定义规则不存在", "rule_id")
    queries.entry_for(request.user, rule.resource_code)
    services.do_delete_rule(request.user, rule, request=request)
    return Status(204, None)


# --- push tokens --------------------------------------------------------------------------------------------


def _token(t: PushToken) -> dict[str, Any]:
    return {
        "id": t.pk,
        "unit_id": t.unit_id,
        "unit": t.unit.name,
        "name": t.name,
        "prefix": t.prefix,
        "resource_codes": list(t.resource_codes or []),
        "created_by": _name(t.created_by),
        "created_at": t.created_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
    }


@router.get("/tokens", response=TokenPage, summary="本单位的推送令牌（只显示前缀）")
def list_tokens(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    tokens = queries.tokens_for(request.user)
    count = tokens.count()
    items = [_token(t) for t in tokens[page.offset : page.offset + page.limit]]
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


@router.post("/tokens", response={201: TokenCreated}, summary="签发推送令牌（令牌全文只在此返回一次）")
def create_token(request: HttpRequest, payload: TokenIn) -> Any:
    if payload.unit_id is not None:
        unit = Unit.objects.filter(pk=payload.unit_id).first()
        if unit is None:
            raise NotFound("单位不存在", "unit_id")
    else:
        unit = getattr(request.user, "unit", None)
        if unit is None:
            raise DomainError("当前账号不属于任何单位，请指定 unit_id", "unit_id")
    token, secret = services.do_create_push_token(
        request.user, unit, name=payload.name, resource_codes=[_code(c) for c in payload.resource_codes], request=request
    )
    data = _token(PushToken.objects.select_related("unit", "created_by").get(pk=token.pk))
    data["token"] = secret
    return Status(201, data)


@router.post("/tokens/{token_id}/revoke", response=TokenOut, summary="吊销推送令牌（立即失效）")
def revoke_token(request: HttpRequest, token_id: int = PathParam(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    token = queries.tokens_for(request.user).filter(pk=token_id).first()
    if token is None:
        raise NotFound("推送令牌不存在或不属于本单位", "token_id")
    services.do_revoke_push_token(request.user, token, request=request)
    return _token(PushToken.objects.select_related("unit", "created_by").get(pk=token.pk))


# --- quality ------------------------------------------------------------------------------------------------


def _dimensions(pairs: list[tuple[str, float]]) -> list[dict[str, Any]]:
    keys = list(queries.DIMENSIONS)
    return [{"key": key, "label": label, "value": value} for key, (label, value) in zip(keys, pairs, strict=True)]


@router.get("/quality/resources", response=QualityResourcesOut,
            summary="各资源的质量评分（完整性、有效性、唯一性、一致性、及时性；只有评分，不含数据）")
def quality_resources(request: HttpRequest) -> dict[str, Any]:
    overview = queries.quality_overview(request.user, request=request)
    items = [
        {
            "resource_code": r.resource_code, "name": r.name, "unit_id": r.unit_id, "unit": r.unit_name,
            "update_cycle": r.update_cycle, "has_data": r.has_data, "last_data_at": r.last_data_at,
            "batch_id": r.batch_id, "score": r.score, "dimensions": _dimensions(r.dimensions),
            "rows_in": r.rows_in, "rows_refused": r.rows_refused,
        }
        for r in overview["resources"]
    ]
    return {"count": len(items), "weights": overview["weights"], "items": items}


@router.get("/quality/units", response=QualityUnitsOut, summary="各单位的数据质量排名（五个维度）")
def quality_units(request: HttpRequest) -> dict[str, Any]:
    overview = queries.quality_overview(request.user, request=request)
    items = [
        {
            "rank": rank, "unit_id": u.unit_id, "unit": u.unit_name, "score": u.score,
            "resources": len(u.resources), "collected": u.collected, "dimensions": _dimensions(u.dimensions),
        }
        for rank, u in enumerate(overview["units"], start=1)
    ]
    return {"count": len(items), "weights": overview["weights"], "items": items}


@router.get(
    "/quality/export", summary="导出各单位数据质量排名（Excel 或 PDF，可选评分期间）",
    description="format=xlsx 或 pdf；from、to 为 YYYY-MM-DD（含两端），省略为当前评分。Excel 经统一导出写入（公式中和）。",
    openapi_extra={"responses": {200: {"description": "XLSX 或 PDF 文件", "content": {
        exports.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        exports.PDF_TYPE: {"schema": {"type": "string", "format": "binary"}},
    }}}},
)
def quality_export(
    request: HttpRequest,
    format: str = Query("xlsx", max_length=10, description="xlsx 或 pdf"),
    date_from: str = Query("", alias="from", max_length=20, description="开始日期 YYYY-MM-DD"),
    date_to: str = Query("", alias="to", max_length=20, description="结束日期 YYYY-MM-DD"),
) -> Any:
    if format not in ("xlsx", "pdf"):
        raise DomainError(f"导出格式只能是 xlsx 或 pdf，实为“{format}”", "format")
    period = queries.parse_period(date_from, date_to)
    overview = queries.quality_overview(
        request.user, period=period, request=request, action="datahub.quality.export", details={"format": format}
    )
    header, rows = queries.scorecard_table(overview["units"])
    stem = f"数据质量评分-单位排名-{period.start:%Y%m%d}-{period.end:%Y%m%d}" if period else "数据质量评分-单位排名"
    if format == "xlsx":
        return exports.xlsx_response(f"{stem}.xlsx", header, rows, sheet_title="单位排名")
    subtitle = f"评分期间：{period.label}" if period else "当前评分"
    return exports.pdf_response(f"{stem}.pdf", "数据质量评分 · 单位排名", header, rows, subtitle=subtitle)
