"""/api/v1/sharing/… — share requests (file, approve, refuse, withdraw), grants (list, revoke),
the overdue supervision list and 共享需求. Thin: decisions in `services`, reads in `queries`.
Lists are {count, items} (core.listing); errors are Chinese and name the field."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from zhengwu.catalog.queries import get_entry
from zhengwu.core.errors import DomainError, NotFound
from zhengwu.core.listing import ListOut, listing
from zhengwu.directory.models import Unit

from . import queries, services
from .models import GrantStatus, RequestStatus, ShareGrant, ShareNeed, ShareRequest
from .schemas import AnswerIn, ApproveIn, AssignIn, GrantOut, NeedIn, NeedOut, ReasonIn, RequestIn, RequestOut

router = Router(tags=["共享交换"])


def _grant(g: ShareGrant) -> dict[str, Any]:
    return {
        "id": g.pk, "request": g.request_id, "resource_code": g.entry.resource_code, "entry_name": g.entry.name,
        "provider": g.provider.name, "consumer": g.consumer.name, "items": g.items, "clear_items": g.clear_items,
        "scope": g.scope, "valid_from": g.valid_from, "valid_until": g.valid_until, "status": g.status,
        "status_label": GrantStatus(g.status).label,
    }


def _request(r: ShareRequest, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.pk, "resource_code": r.entry.resource_code, "entry_name": r.entry.name, "share_type": r.share_type,
        "consumer": r.consumer.name, "provider": r.provider.name, "purpose": r.purpose, "legal_basis": r.legal_basis,
        "items": r.items, "clear_items": r.clear_items, "scope": r.scope, "valid_from": r.valid_from,
        "valid_until": r.valid_until, "status": r.status, "status_label": RequestStatus(r.status).label,
        "filed_at": r.filed_at, "deadline": r.deadline, "decided_at": r.decided_at, "decision_note": r.decision_note,
    }
    if full:
        grant = queries.grant_of(r)
        out["grant"] = _grant(grant) if grant else None
        out["timeline"] = [
            {"at": e.at, "kind": e.kind, "actor_name": e.actor_name, "actor_unit": e.actor_unit, "text": e.text}
            for e in queries.timeline(r)
        ]
    return out


def _need(n: ShareNeed) -> dict[str, Any]:
    return {
        "id": n.pk, "title": n.title, "description": n.description, "purpose": n.purpose,
        "requester_unit": n.requester_unit.name, "status": n.status, "status_label": n.get_status_display(),
        "assigned_unit": n.assigned_unit.name if n.assigned_unit else None,
        "answer_entry": n.answer_entry.resource_code if n.answer_entry else None, "answer": n.answer,
        "created_at": n.created_at,
    }


def _entry(request: HttpRequest, key: str) -> Any:
    try:
        return get_entry(request.user, key, request=request, audit=False)
    except NotFound as exc:
        raise NotFound("信息资源：目录条目不存在", "entry") from exc


@router.get("/requests", response=ListOut[RequestOut], summary="本单位提交的共享申请")
def my_requests(request: HttpRequest, status: str = "") -> dict[str, Any]:
    if status and status not in RequestStatus.values:
        raise DomainError(f"status：只能是 {'、'.join(RequestStatus.values)} 之一", "status")
    return listing(_request(r) for r in queries.my_unit_requests(request.user, status)[:500])


@router.post("/requests", response={201: RequestOut}, summary="提交共享申请（无条件共享即时授权）")
def file_request(request: HttpRequest, payload: RequestIn) -> Any:
    entry = _entry(request, payload.entry)
    renews = None
    if payload.renews is not None:
        renews = queries.grants_received(request.user).filter(pk=payload.renews).first()
        if renews is None:
            raise NotFound("续期的授权：不存在或不是本单位的授权", "renews")
    created = services.do_file_share_request(
        request.user, entry, purpose=payload.purpose, legal_basis=payload.legal_basis, items=payload.items,
        clear_items=payload.clear_items, scope=payload.scope, valid_from=payload.valid_from,
        valid_until=payload.valid_until, renews=renews, request=request,
    )
    return Status(201, _request(queries.get_request(request.user, created.pk), full=True))


@router.get("/requests/{request_id}", response=RequestOut, summary="查看共享申请（含授权和办理过程）")
def get_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return _request(queries.get_request(request.user, request_id), full=True)


@router.get("/review-queue", response=ListOut[RequestOut], summary="待本单位审核的共享申请（共享审核员）")
def review_queue(request: HttpRequest, overdue: bool = False) -> dict[str, Any]:
    rows = queries.overdue_for_provider(request.user) if overdue else queries.review_queue(request.user)
    return listing(_request(r) for r in rows[:500])


@router.post("/requests/{request_id}/approve", response=RequestOut, summary="同意（可缩小信息项、范围、期限）")
def approve(request: HttpRequest, request_id: int, payload: ApproveIn) -> dict[str, Any]:
    target = queries.get_request(request.user, request_id)
    services.do_approve_share_request(
        request.user, target, items=payload.items, clear_items=payload.clear_items, scope=payload.scope,
        valid_from=payload.valid_from, valid_until=payload.valid_until, comment=payload.comment, request=request,
    )
    return _request(queries.get_request(request.user, request_id), full=True)


@router.post("/requests/{request_id}/refuse", response=RequestOut, summary="不予共享（须写明理由）")
def refuse(request: HttpRequest, request_id: int, payload: ReasonIn) -> dict[str, Any]:
    target = queries.get_request(request.user, request_id)
    services.do_refuse_share_request(request.user, target, reason=payload.reason, request=request)
    return _request(queries.get_request(request.user, request_id), full=True)


@router.post("/requests/{request_id}/withdraw", response=RequestOut, summary="撤回待审核的申请")
def withdraw(request: HttpRequest, request_id: int) -> dict[str, Any]:
    target = queries.get_request(request.user, request_id)
    services.do_withdraw_share_request(request.user, target, request=request)
    return _request(queries.get_request(request.user, request_id), full=True)


@router.get("/grants", response=ListOut[GrantOut], summary="共享授权（role=received 本单位获得 / given 本单位给出）")
def grants(request: HttpRequest, role: str = "received", status: str = "") -> dict[str, Any]:
    if role not in ("received", "given"):
        raise DomainError("role：只能是 received（获得的）或 given（给出的）", "role")
    if status and status not in GrantStatus.values:
        raise DomainError(f"status：只能是 {'、'.join(GrantStatus.values)} 之一", "status")
    rows = queries.grants_received(request.user, status) if role == "received" else queries.grants_given(request.user, status)
    return listing(_grant(g) for g in rows.select_related("entry", "provider", "consumer")[:500])


@router.post("/grants/{grant_id}/revoke", response=GrantOut, summary="撤销授权（提供单位的共享审核员）")
def revoke(request: HttpRequest, grant_id: int, payload: ReasonIn) -> dict[str, Any]:
    grant = queries.grants_given(request.user).filter(pk=grant_id).first()
    if grant is None:
        raise NotFound("共享授权不存在或不是本单位给出的授权", "grant")
    revoked = services.do_revoke_share_grant(request.user, grant, reason=payload.reason, request=request)
    return _grant(revoked)


@router.get("/supervision", response=ListOut[RequestOut], summary="逾期未答复的共享申请（数据主管部门督办）")
def supervision(request: HttpRequest) -> dict[str, Any]:
    return listing(_request(r) for r in queries.supervision_list(request.user)[:500])


@router.get("/needs", response=ListOut[NeedOut], summary="共享需求")
def needs(request: HttpRequest) -> dict[str, Any]:
    return listing(_need(n) for n in queries.needs_for(request.user)[:500])


@router.post("/needs", response={201: NeedOut}, summary="提出共享需求")
def post_need(request: HttpRequest, payload: NeedIn) -> Any:
    need = services.do_post_share_need(request.user, request=request, **payload.dict())
    return Status(201, _need(need))


def _need_of(request: HttpRequest, need_id: int) -> ShareNeed:
    need = queries.needs_for(request.user).filter(pk=need_id).first()
    if need is None:
        raise NotFound("共享需求不存在或无权查看", "need")
    return need


@router.post("/needs/{need_id}/assign", response=NeedOut, summary="分派共享需求（数据主管部门）")
def assign_need(request: HttpRequest, need_id: int, payload: AssignIn) -> dict[str, Any]:
    unit = Unit.objects.filter(pk=payload.unit).first()
    need = services.do_assign_share_need(request.user, _need_of(request, need_id), unit=unit, note=payload.note, request=request)
    return _need(ShareNeed.objects.select_related("requester_unit", "assigned_unit", "answer_entry").get(pk=need.pk))


@router.post("/needs/{need_id}/answer", response=NeedOut, summary="答复共享需求（责任单位）")
def answer_need(request: HttpRequest, need_id: int, payload: AnswerIn) -> dict[str, Any]:
    entry = _entry(request, payload.entry) if payload.entry else None
    need = services.do_answer_share_need(request.user, _need_of(request, need_id), entry=entry, answer=payload.answer, request=request)
    return _need(ShareNeed.objects.select_related("requester_unit", "assigned_unit", "answer_entry").get(pk=need.pk))
