"""Audit API (/api/v1/audit): for the 审计管理员 only. Reads are themselves audited."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from zhengwu.core.roles import AdminRole, ensure_admin

from . import queries
from .models import AuditResult
from .schemas import RecordOut, RecordPage, RecordQuery, VerifyOut
from .services import record_event

router = Router(tags=["安全审计"])


@router.get("/records", response=RecordPage, summary="检索审计记录")
def list_records(request: HttpRequest, params: Query[RecordQuery]) -> dict[str, Any]:
    data = params.dict()
    limit, offset = data.pop("limit"), data.pop("offset")
    filters = queries.clean_filters(data)
    records = queries.search_records(request.user, filters)
    count = records.count()
    items = list(records[offset : offset + limit])
    record_event(
        request.user,
        "audit.search",
        object_type="audit_record",
        request=request,
        details={"filters": queries.filters_for_log(filters), "limit": limit, "offset": offset, "via": "api"},
    )
    return {"count": count, "limit": limit, "offset": offset, "items": items}


@router.get("/records/{seq}", response=RecordOut, summary="查看一条审计记录")
def get_record(request: HttpRequest, seq: int) -> Any:
    record = queries.get_record(request.user, seq)
    record_event(
        request.user,
        "audit.view",
        object_type="audit_record",
        object_id=seq,
        request=request,
        details={"via": "api"},
    )
    return record


@router.post("/verify", response=VerifyOut, summary="核验审计哈希链")
def verify(request: HttpRequest) -> dict[str, Any]:
    ensure_admin(request.user, AdminRole.AUDIT)
    result = queries.verify_audit_log()
    problem = result.problem
    record_event(
        request.user,
        "audit.verify",
        object_type="audit_chain",
        request=request,
        result=AuditResult.SUCCESS if result.ok else AuditResult.FAILURE,
        details={
            "ok": result.ok,
            "checked": result.checked,
            "problem": problem.message if problem else "",
            "compared_with_sink": result.sink.compared if result.sink else 0,
            "via": "api",
        },
    )
    return {
        "ok": result.ok,
        "checked": result.checked,
        "start_seq": result.start_seq,
        "last_seq": result.last_seq,
        "checkpoints": result.checkpoints,
        "message": result.message,
        "notes": result.notes,
        "compared_with_sink": result.sink.compared if result.sink else 0,
        "problem": {"seq": problem.seq, "kind": problem.kind, "message": problem.message, "field": problem.field}
        if problem
        else None,
    }
