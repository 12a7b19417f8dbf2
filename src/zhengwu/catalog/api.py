"""/api/v1/catalog/… — list/search/get/create/update/submit/approve/return/retire/correct.

Thin: validation by the schemas and `rules`, decisions by `services`, reads by `queries`.
An entry is addressed by its id or by its resource code (URL-encode the "/": 101001%2F00001).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Query, Router, Schema, Status

from zhengwu.core.api import error_body
from zhengwu.core.errors import NotFound
from zhengwu.core.listing import ListOut, listing

from . import queries, services
from .constants import EntryStatus
from .models import CatalogEntry, CorrectionRequest
from .schemas import (
    CommentIn,
    CorrectionAnswerIn,
    CorrectionIn,
    CorrectionOut,
    EntryIn,
    EntryOut,
    EntrySummary,
    ImportIn,
    ImportOut,
    ReasonIn,
    SearchOut,
    VersionOut,
)

router = Router(tags=["政务信息资源目录"])


class SearchQuery(Schema):
    q: str = ""
    provider: int | None = Field(None, ge=1, le=2**63 - 1, description="提供单位 ID")
    klass: str = ""
    share_type: str = ""
    open_type: str = ""
    resource_format: str = ""
    update_cycle: str = ""
    offset: int = Field(0, ge=0, le=10_000, description="跳过的条数（0—10000）")
    limit: int = Field(20, ge=1, le=100, description="每页条数（1—100）")


def _invalid(exc: services.EntryInvalid) -> JsonResponse:
    errors = [{"field": f, "message": m} for f, m in exc.problems]
    return JsonResponse(error_body(exc.message, errors), status=422, json_dumps_params={"ensure_ascii": False})


def _summary(entry: CatalogEntry, score: float | None = None) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "resource_code": entry.resource_code,
        "name": entry.name,
        "provider": entry.provider.name,
        "category": entry.category,
        "class_item": entry.class_item,
        "resource_format": entry.resource_format,
        "share_type": entry.share_type,
        "open_type": entry.open_type,
        "update_cycle": entry.update_cycle,
        "status": entry.status,
        "status_label": EntryStatus(entry.status).label,
        "published_version": entry.published_version,
        "score": score,
    }


def _detail(request: HttpRequest, entry: CatalogEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "resource_code": entry.resource_code,
        "status": entry.status,
        "status_label": EntryStatus(entry.status).label,
        "published_version": entry.published_version,
        "is_live": entry.is_live,
        "review_comment": entry.review_comment,
        "last_data_at": entry.last_data_at,
        "content": queries.entry_view(request.user, entry),
    }


def _entry(request: HttpRequest, key: str, audit: bool = False) -> CatalogEntry:
    return queries.get_entry(request.user, key, request=request, audit=audit)


@router.get("/entries", response=SearchOut, summary="检索目录（中文分词全文检索，带分面统计）")
def search_entries(request: HttpRequest, params: Query[SearchQuery]) -> dict[str, Any]:
    filters = {
        "provider": params.provider,
        "class": params.klass,
        "share_type": params.share_type,
        "open_type": params.open_type,
        "resource_format": params.resource_format,
        "update_cycle": params.update_cycle,
    }
    result = queries.search_entries(
        request.user, params.q, filters, offset=params.offset, limit=params.limit, request=request
    )
    return {
        "count": result.total,
        "limit": params.limit,
        "offset": params.offset,
        "terms": result.terms,
        "expansions": result.expansions,
        "items": [_summary(e, result.scores.get(e.pk)) for e in result.entries],
        "facets": {k: [{"value": v, "label": lbl, "count": n} for v, lbl, n in rows] for k, rows in result.facets.items()},
    }


@router.get("/entries/{key}", response=EntryOut, summary="查看目录条目")
def get_entry(request: HttpRequest, key: str) -> dict[str, Any]:
    return _detail(request, _entry(request, key, audit=True))


@router.post("/entries", response={201: EntryOut, 422: dict}, summary="新建目录条目（草稿）")
def create_entry(request: HttpRequest, payload: EntryIn) -> Any:
    try:
        entry = services.do_create_entry(request.user, payload.dict(), request=request)
    except services.EntryInvalid as exc:
        return _invalid(exc)
    return Status(201, _detail(request, entry))


@router.put("/entries/{key}", response={200: EntryOut, 422: dict}, summary="修改目录条目（已发布条目修改后形成新版本草稿）")
def update_entry(request: HttpRequest, key: str, payload: EntryIn) -> Any:
    try:
        entry = services.do_update_entry(request.user, _entry(request, key), payload.dict(), request=request)
    except services.EntryInvalid as exc:
        return _invalid(exc)
    return _detail(request, entry)


@router.post("/entries/{key}/submit", response={200: EntryOut, 422: dict}, summary="提交审核")
def submit_entry(request: HttpRequest, key: str, payload: CommentIn) -> Any:
    try:
        entry = services.do_submit_entry(request.user, _entry(request, key), note=payload.comment, request=request)
    except services.EntryInvalid as exc:
        return _invalid(exc)
    return _detail(request, entry)


@router.post("/entries/{key}/withdraw", response=EntryOut, summary="撤回审核")
def withdraw_entry(request: HttpRequest, key: str) -> dict[str, Any]:
    return _detail(request, services.do_withdraw_entry(request.user, _entry(request, key), request=request))


@router.post("/entries/{key}/approve", response=EntryOut, summary="审核通过并发布（数据主管部门）")
def approve_entry(request: HttpRequest, key: str, payload: CommentIn) -> dict[str, Any]:
    entry = _entry(request, key)
    services.do_approve_entry(request.user, entry, comment=payload.comment, request=request)
    entry.refresh_from_db()
    return _detail(request, entry)


@router.post("/entries/{key}/return", response=EntryOut, summary="退回修改（须写明理由）")
def return_entry(request: HttpRequest, key: str, payload: ReasonIn) -> dict[str, Any]:
    return _detail(request, services.do_return_entry(request.user, _entry(request, key), reason=payload.reason, request=request))


@router.post("/entries/{key}/retire", response=EntryOut, summary="下线")
def retire_entry(request: HttpRequest, key: str, payload: ReasonIn) -> dict[str, Any]:
    return _detail(request, services.do_retire_entry(request.user, _entry(request, key), reason=payload.reason, request=request))


@router.get("/entries/{key}/versions", response=ListOut[VersionOut], summary="历史版本")
def list_versions(request: HttpRequest, key: str) -> dict[str, Any]:
    entry = _entry(request, key, audit=True)
    return listing(_version(v) for v in queries.versions(entry))


def _version(v: Any) -> dict[str, Any]:
    return {
        "version": v.version,
        "published_at": v.published_at,
        "published_by": v.published_by.full_name if v.published_by else "",
        "change_note": v.change_note,
        "snapshot": v.snapshot,
    }


@router.get("/entries/{key}/versions/{number}", response=VersionOut, summary="查看某一版本")
def get_version(request: HttpRequest, key: str, number: int) -> dict[str, Any]:
    entry = _entry(request, key)
    return _version(queries.get_version(request.user, entry, number, request=request))


@router.get("/entries/{key}/diff", response=dict, summary="两个版本的逐字段差异（to 省略为当前工作稿/最新版本）")
def diff_versions(request: HttpRequest, key: str, base: int, to: int | None = None) -> dict[str, Any]:
    entry = _entry(request, key)
    old = queries.get_version(request.user, entry, base, request=request).snapshot
    if to is None:
        new = queries.entry_view(request.user, entry)
    else:
        new = queries.get_version(request.user, entry, to, request=request).snapshot
    return services.diff_snapshots(old, new)


def _correction(c: CorrectionRequest) -> dict[str, Any]:
    return {
        "id": c.pk,
        "resource_code": c.entry.resource_code,
        "version": c.version,
        "field": c.field,
        "content": c.content,
        "reporter_unit": c.reporter_unit.name,
        "status": c.status,
        "answer": c.answer,
        "created_at": c.created_at,
        "answered_at": c.answered_at,
    }


@router.post("/entries/{key}/corrections", response={201: CorrectionOut}, summary="纠错")
def create_correction(request: HttpRequest, key: str, payload: CorrectionIn) -> Any:
    entry = _entry(request, key)
    correction = services.do_request_correction(
        request.user, entry, content=payload.content, field=payload.field, request=request
    )
    return Status(201, _correction(correction))


@router.get("/entries/{key}/corrections", response=ListOut[CorrectionOut], summary="纠错记录")
def list_corrections(request: HttpRequest, key: str) -> dict[str, Any]:
    entry = _entry(request, key, audit=True)
    return listing(_correction(c) for c in queries.corrections_for_entry(request.user, entry))


@router.post("/corrections/{correction_id}/answer", response=CorrectionOut, summary="答复纠错（提供单位）")
def answer_correction(request: HttpRequest, correction_id: int, payload: CorrectionAnswerIn) -> dict[str, Any]:
    correction = CorrectionRequest.objects.select_related("entry", "reporter_unit").filter(pk=correction_id).first()
    if correction is None:
        raise NotFound("纠错申请不存在")
    answered = services.do_answer_correction(
        request.user, correction, accepted=payload.accepted, answer=payload.answer, request=request
    )
    return _correction(answered)


@router.get("/review-queue", response=ListOut[EntrySummary], summary="待审核目录（目录审核员）")
def review_queue(request: HttpRequest) -> dict[str, Any]:
    return listing(_summary(e) for e in queries.review_queue(request.user))


@router.get("/statistics", response=dict, summary="目录统计")
def statistics(request: HttpRequest) -> dict[str, Any]:
    stats = queries.statistics(request.user, request=request)
    stats["overdue"] = [
        {"resource_code": o.entry.resource_code, "name": o.entry.name, "provider": o.entry.provider.name,
         "due_at": o.due_at.isoformat(), "days_late": o.days_late}
        for o in stats["overdue"]
    ]
    return stats


@router.get("/export.json", summary="导出本单位目录（JSON，可直接再导入）")
def export_json(request: HttpRequest) -> HttpResponse:
    from .excel import export_records

    data = export_records(request.user, request=request)
    return JsonResponse({"entries": data}, json_dumps_params={"ensure_ascii": False, "indent": 1})


@router.post("/import", response={200: ImportOut, 422: ImportOut}, summary="导入本单位目录（JSON）")
def import_json(request: HttpRequest, payload: ImportIn) -> Any:
    records = [services.ImportRecord(f"第 {i + 1} 条", dict(raw)) for i, raw in enumerate(payload.entries)]
    report = services.do_import_entries(
        request.user, records, good_rows_only=payload.good_rows_only, source="json", request=request
    )
    return Status(200 if report.imported else 422, report.as_dict())
