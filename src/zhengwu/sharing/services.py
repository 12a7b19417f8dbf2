"""State changes of 共享交换 (requests, grants, needs). Each `do_*` checks permission, writes in
one transaction, records its audit event and a timeline step in that transaction; a refusal
changes nothing and is itself audited (with its Chinese reason and field).

Who does what:
- a unit's 数据管理员 files its unit's requests (and withdraws them while pending), posts 共享需求
  and answers the needs assigned to its unit;
- the provider unit's 共享审核员 decides 有条件共享 requests (approve — possibly narrowing items,
  row scope, period, clear values; never widening — or refuse with reasons) and revokes grants;
  one unit's reviewer never decides another unit's requests;
- the data authority (大数据管理局: its 数据管理员, 目录审核员 or 共享审核员) supervises overdue
  requests and assigns 共享需求 to the unit responsible.

无条件共享 is granted at once (values of personal items masked per the catalog); asking for clear
values of personal items always goes to the provider's reviewer. 不予共享 cannot be requested.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from zhengwu.audit.services import audited_attempt, record_event
from zhengwu.catalog.codetables import CodeTableError, parse_code_table
from zhengwu.catalog.constants import DATA_ADMIN_ROLE, ShareType
from zhengwu.catalog.models import CatalogEntry
from zhengwu.catalog.queries import published_snapshot
from zhengwu.catalog.services import authority_unit, authority_unit_name, is_catalog_reviewer, is_data_admin
from zhengwu.core import divisions, limits, notifications, workdays
from zhengwu.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from zhengwu.directory.models import Unit
from zhengwu.directory.permissions import has_business_role

from .models import GrantStatus, NeedStatus, RequestStatus, ShareEvent, ShareGrant, ShareNeed, ShareRequest

SHARE_REVIEWER_ROLE = "share_reviewer"
MAX_SCOPE_VALUES = 200


def _today() -> date:
    """Today in the platform's time zone (one place, so tests can fix the date)."""
    return timezone.localdate()


# --- who may do what -------------------------------------------------------------------------------


def _is_staff(actor: Any) -> bool:
    return bool(
        getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)
        and not getattr(actor, "admin_role", "") and getattr(actor, "unit_id", None)
    )


def is_share_reviewer(actor: Any, unit: Unit | None = None) -> bool:
    """共享审核员 of `unit` (default: of the actor's own unit)."""
    unit = unit or getattr(actor, "unit", None)
    return unit is not None and has_business_role(actor, SHARE_REVIEWER_ROLE, unit)


def is_unit_data_admin(actor: Any) -> bool:
    return _is_staff(actor) and is_data_admin(actor, getattr(actor, "unit", None))


def is_data_authority(actor: Any) -> bool:
    """Staff of the data authority holding a data role there (数据管理员, 共享审核员), or a 目录审核员."""
    if not _is_staff(actor):
        return False
    if is_catalog_reviewer(actor):
        return True
    authority = authority_unit()
    return authority is not None and actor.unit_id == authority.pk and (
        is_data_admin(actor, authority) or is_share_reviewer(actor, authority)
    )


def _ensure_requester(actor: Any) -> Unit:
    if not _is_staff(actor):
        raise PermissionDenied("只有单位工作人员可以申请共享数据（管理员账号不能申请）")
    unit = actor.unit
    if not is_data_admin(actor, unit):
        raise PermissionDenied(f"只有{unit.name}的数据管理员可以代表本单位申请共享数据")
    return unit


def _ensure_reviewer_of(actor: Any, provider: Unit) -> None:
    if not is_share_reviewer(actor, provider):
        raise PermissionDenied(f"只有提供单位（{provider.name}）的共享审核员可以审核此申请")


# --- helpers -------------------------------------------------------------------------------------------


def _attempt(
    actor: Any, action: str, object_id: Any = "", request: HttpRequest | None = None,
    details: dict[str, Any] | None = None, *, object_type: str,
) -> AbstractContextManager[None]:
    """audit.services.audited_attempt for sharing."""
    return audited_attempt(
        actor, action, object_type=object_type, object_id=object_id, request=request, details=details,
        conflict=("数据已被他人修改，请刷新后重试", None),
    )


def _event(target: ShareRequest | ShareNeed, actor: Any, kind: str, text: str = "") -> ShareEvent:
    unit = getattr(actor, "unit", None) if actor is not None else None
    return ShareEvent.objects.create(
        request=target if isinstance(target, ShareRequest) else None,
        need=target if isinstance(target, ShareNeed) else None,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=getattr(actor, "full_name", "") if actor is not None else "平台",
        actor_unit=unit.name if unit is not None else "",
        kind=kind, text=text[:2000],
    )


def _text(value: Any, label: str, field: str, *, minimum: int = 2, limit: int = limits.TEXT) -> str:
    text = str(value or "").strip()
    if len(text) < minimum:
        raise DomainError(f"{label}：必须填写（至少 {minimum} 个字）", field)
    limits.check_length(text, limit, label, field)
    return text


def request_url(share_request: ShareRequest) -> str:
    return reverse("sharing:request_detail", args=[share_request.pk])


def need_url(need: ShareNeed) -> str:
    return reverse("sharing:needs") + f"#need-{need.pk}"


def _items_of(entry: CatalogEntry) -> dict[str, dict[str, Any]]:
    """The information items of the entry's latest published version, by field name."""
    snap = published_snapshot(entry) or {}
    return {str(i["field_name"]): i for i in snap.get("items") or []}


def _field_list(value: Any, label: str, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace("，", ",").split(",")
    if not isinstance(value, list | tuple):
        raise DomainError(f"{label}：必须是字段名列表", field)
    out: list[str] = []
    for raw in value:
        name = str(raw).strip()
        if name and name not in out:
            out.append(name)
    return out


def _check_items(entry: CatalogEntry, items: list[str], clear: list[str]) -> None:
    known = _items_of(entry)
    if not items:
        raise DomainError("信息项：至少选择一个信息项", "items")
    unknown = [i for i in items if i not in known]
    if unknown:
        raise DomainError(f"信息项：{'、'.join(unknown[:5])} 不是“{entry.name}”已发布版本的信息项", "items")
    keys = [name for name, item in known.items() if item.get("is_key")]
    missing = [k for k in keys if k not in items]
    if missing:
        names = "、".join(f"{known[k]['name']}（{k}）" for k in missing)
        raise DomainError(f"信息项：必须包含主键 {names}，否则无法按记录查询", "items")
    for name in clear:
        if name not in items:
            raise DomainError(f"明文信息项：{name} 不在申请的信息项中", "clear_items")
        if not known[name].get("is_sensitive"):
            raise DomainError(f"明文信息项：{known[name]['name']}（{name}）不是个人/敏感信息项，本来就不脱敏", "clear_items")


def _within(code: str, unit: Unit) -> bool:
    """A division code inside the unit's jurisdiction: the unit's own code or a descendant."""
    own = unit.division_code
    return code == own or any(d.code == own for d in divisions.ancestors(code))


def _check_scope(entry: CatalogEntry, scope: Any, consumer: Unit) -> dict[str, list[str]]:
    """{field: [codes]}: each field an item of the entry with a code table, each code in that
    table; division codes (GB/T 2260) inside the consumer's jurisdiction."""
    if scope in (None, "", {}):
        return {}
    if not isinstance(scope, dict):
        raise DomainError("数据范围：必须是 {信息项字段名: [代码…]} 的形式", "scope")
    known = _items_of(entry)
    clean: dict[str, list[str]] = {}
    for field, raw in scope.items():
        field = str(field).strip()
        item = known.get(field)
        if item is None:
            raise DomainError(f"数据范围：{field} 不是“{entry.name}”的信息项", "scope")
        try:
            table = parse_code_table(str(item.get("code_table") or ""))
        except CodeTableError:
            table = None
        if table is None or table.kind not in ("enum", "division"):
            raise DomainError(f"数据范围：信息项“{item['name']}”没有代码表，不能用作数据范围", "scope")
        values = _field_list(raw, "数据范围", "scope")
        if not values:
            raise DomainError(f"数据范围：“{item['name']}”至少填写一个代码", "scope")
        if len(values) > MAX_SCOPE_VALUES:
            raise DomainError(f"数据范围：“{item['name']}”最多 {MAX_SCOPE_VALUES} 个代码", "scope")
        for code in values:
            if table.kind == "enum" and code not in table.values:
                raise DomainError(f"数据范围：“{code}”不在信息项“{item['name']}”的代码表（{table.describe()}）中", "scope")
            if table.kind == "division":
                if divisions.get(code) is None:
                    raise DomainError(f"数据范围：“{code}”不是有效的行政区划代码（GB/T 2260）", "scope")
                if not _within(code, consumer):
                    raise DomainError(
                        f"数据范围：行政区划 {code} 不在申请单位（{consumer.name}，{consumer.division_code}）的管辖范围内",
                        "scope",
                    )
        clean[field] = values
    return clean


def _check_period(valid_from: Any, valid_until: Any, today: date) -> tuple[date, date]:
    for value, label, field in ((valid_from, "有效期起", "valid_from"), (valid_until, "有效期止", "valid_until")):
        if not isinstance(value, date):
            raise DomainError(f"{label}：必须是日期（YYYY-MM-DD）", field)
    assert isinstance(valid_from, date) and isinstance(valid_until, date)
    if valid_from < today:
        raise DomainError(f"有效期起：不能早于今天（{today.isoformat()}）", "valid_from")
    if valid_until < valid_from:
        raise DomainError("有效期止：不能早于有效期起", "valid_until")
    longest = int(getattr(settings, "SHARING_MAX_VALIDITY_DAYS", 1096))
    if (valid_until - valid_from).days > longest:
        raise DomainError(f"有效期止：有效期最长 {longest} 天，到期可申请续期", "valid_until")
    return valid_from, valid_until


def _create_grant(share_request: ShareRequest, actor: Any, items: list[str], clear: list[str],
                  scope: dict[str, list[str]], valid_from: date, valid_until: date) -> ShareGrant:
    return ShareGrant.objects.create(
        request=share_request, entry=share_request.entry, consumer=share_request.consumer,
        provider=share_request.provider, items=items, clear_items=clear, scope=scope,
        valid_from=valid_from, valid_until=valid_until,
        granted_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _names(entry: CatalogEntry, fields: list[str]) -> str:
    """"公民身份号码、姓名" for ["id_no", "person_name"] (the catalog's names, for people)."""
    known = _items_of(entry)
    return "、".join(str(known.get(f, {}).get("name") or f) for f in fields)


def _describe(entry: CatalogEntry, items: list[str], scope: dict[str, list[str]], valid_from: date, valid_until: date) -> str:
    where = "；".join(f"{_names(entry, [k])}为 {'、'.join(v)}" for k, v in scope.items()) or "全部记录"
    return f"信息项 {len(items)} 项（{_names(entry, items)}）；范围：{where}；有效期 {valid_from.isoformat()} 至 {valid_until.isoformat()}"


# --- requests -------------------------------------------------------------------------------------------


def do_file_share_request(
    actor: Any, entry: CatalogEntry, *, purpose: str, legal_basis: str, items: Any, valid_from: Any,
    valid_until: Any, scope: Any = None, clear_items: Any = None, renews: ShareGrant | None = None,
    request: HttpRequest | None = None, today: date | None = None,
) -> ShareRequest:
    """File a request for a live catalog entry. 无条件共享 without clear values → granted at
    once; otherwise pending with an answer deadline in working days."""
    today = today or _today()
    details = {"entry": getattr(entry, "resource_code", "")}
    with _attempt(actor, "sharing.request.file", "new", request, details, object_type="share_request"):
        consumer = _ensure_requester(actor)
        entry = CatalogEntry.objects.select_related("provider").get(pk=entry.pk)
        if not entry.is_live or not entry.published_version:
            raise Conflict("信息资源：只能申请已发布的目录资源", "entry")
        if entry.share_type == ShareType.NONE:
            raise DomainError(f"信息资源：“{entry.name}”为不予共享，不能申请（依据：{entry.share_basis or '见目录'}）", "entry")
        if entry.provider_id == consumer.pk:
            raise DomainError("信息资源：这是本单位提供的资源，无需申请", "entry")
        purpose_text = _text(purpose, "用途", "purpose", minimum=5)
        basis_text = _text(legal_basis, "依据", "legal_basis", minimum=4)
        item_list = _field_list(items, "信息项", "items")
        clear = _field_list(clear_items, "明文信息项", "clear_items")
        _check_items(entry, item_list, clear)
        clean_scope = _check_scope(entry, scope, consumer)
        start, end = _check_period(valid_from, valid_until, today)
        if renews is not None and (renews.consumer_id != consumer.pk or renews.entry_id != entry.pk):
            raise DomainError("续期：只能续期本单位对同一资源的授权", "renews")
        immediate = entry.share_type == ShareType.UNCONDITIONAL and not clear
        share_request = ShareRequest(
            entry=entry, entry_version=entry.published_version, share_type=entry.share_type,
            consumer=consumer, provider=entry.provider, requester=actor, purpose=purpose_text,
            legal_basis=basis_text, items=item_list, clear_items=clear, scope=clean_scope,
            valid_from=start, valid_until=end, renews=renews,
        )
        if not immediate:
            days = int(getattr(settings, "SHARING_ANSWER_WORKING_DAYS", 10))
            share_request.answer_days = days
            share_request.deadline = workdays.add_working_days(today, days)
        share_request.save()
        _event(share_request, actor, "提交申请", _describe(entry, item_list, clean_scope, start, end)
               + (f"；申请明文：{_names(entry, clear)}" if clear else "") + f"；用途：{purpose_text}")
        record_event(
            actor, "sharing.request.file", object_type="share_request", object_id=share_request.pk,
            details={"entry": entry.resource_code, "share_type": entry.share_type, "items": item_list,
                     "clear_items": clear, "scope": clean_scope, "valid_from": start.isoformat(),
                     "valid_until": end.isoformat(), "deadline": share_request.deadline.isoformat() if share_request.deadline else None},
            request=request,
        )
        if immediate:
            share_request.status = RequestStatus.APPROVED
            share_request.decided_at = timezone.now()
            share_request.decision_note = "无条件共享，自动授权；个人/敏感信息项按目录脱敏"
            share_request.save(update_fields=["status", "decided_at", "decision_note"])
            grant = _create_grant(share_request, None, item_list, [], clean_scope, start, end)
            _event(share_request, None, "自动授权", "无条件共享资源，申请即授权；个人/敏感信息项按目录脱敏")
            record_event(
                None, "sharing.grant.create", object_type="share_grant", object_id=grant.pk,
                details={"request": share_request.pk, "automatic": True, "items": item_list, "scope": clean_scope},
                request=request,
            )
            notifications.notify(
                role=SHARE_REVIEWER_ROLE, unit=entry.provider, kind="sharing.granted",
                title=f"无条件共享已自动授权：{entry.name}",
                body=f"{consumer.name}申请了“{entry.name}”（无条件共享），已自动授权。用途：{purpose_text[:200]}",
                url=request_url(share_request),
            )
        else:
            why = "申请明文的个人信息项须经提供单位审核" if entry.share_type == ShareType.UNCONDITIONAL else "有条件共享"
            notifications.notify(
                role=SHARE_REVIEWER_ROLE, unit=entry.provider, exclude=actor, kind="sharing.review",
                title=f"待审核的共享申请：{entry.name}",
                body=f"{consumer.name}申请共享“{entry.name}”（{why}），请于 {share_request.deadline} 前答复。",
                url=request_url(share_request),
            )
    return share_request


def _lock_request(share_request: ShareRequest | int) -> ShareRequest:
    pk = share_request.pk if isinstance(share_request, ShareRequest) else share_request
    found = ShareRequest.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound("共享申请不存在", "request")
    return ShareRequest.objects.select_related("entry", "consumer", "provider", "requester").get(pk=found.pk)


def do_approve_share_request(
    actor: Any, share_request: ShareRequest | int, *, items: Any = None, scope: Any = None,
    valid_from: Any = None, valid_until: Any = None, clear_items: Any = None, comment: str = "",
    request: HttpRequest | None = None,
) -> ShareGrant:
    """The provider's 共享审核员 approves; items, scope, period and clear values default to what
    was asked and may only be narrowed."""
    pk = share_request.pk if isinstance(share_request, ShareRequest) else share_request
    with _attempt(actor, "sharing.request.approve", pk, request, object_type="share_request"):
        req = _lock_request(pk)
        _ensure_reviewer_of(actor, req.provider)
        if req.status != RequestStatus.PENDING:
            raise Conflict(f"只有待审核的申请可以审核，当前状态为{req.get_status_display()}", "status")
        item_list = req.items if items is None else _field_list(items, "信息项", "items")
        widened = [i for i in item_list if i not in req.items]
        if widened:
            raise DomainError(f"信息项：{'、'.join(widened)} 不在申请的信息项中，审核只能缩小、不能扩大", "items")
        clear = list(req.clear_items) if clear_items is None else _field_list(clear_items, "明文信息项", "clear_items")
        clear = [c for c in clear if c in item_list] if clear_items is None else clear
        widened = [c for c in clear if c not in req.clear_items]
        if widened:
            raise DomainError(f"明文信息项：{'、'.join(widened)} 未申请明文，审核不能扩大为明文", "clear_items")
        _check_items(req.entry, item_list, clear)
        new_scope = dict(req.scope) if scope is None else _check_scope(req.entry, scope, req.consumer)
        for field, values in req.scope.items():
            if field not in new_scope:
                raise DomainError(f"数据范围：不能去掉申请中对 {field} 的限定（那会扩大范围）", "scope")
            extra = [v for v in new_scope[field] if v not in values]
            if extra:
                raise DomainError(f"数据范围：{field} 的 {'、'.join(extra)} 不在申请的范围中，审核只能缩小", "scope")
        start = req.valid_from if valid_from is None else valid_from
        end = req.valid_until if valid_until is None else valid_until
        for value, label, field in ((start, "有效期起", "valid_from"), (end, "有效期止", "valid_until")):
            if not isinstance(value, date):
                raise DomainError(f"{label}：必须是日期（YYYY-MM-DD）", field)
        if start < req.valid_from:
            raise DomainError(f"有效期起：不能早于申请的 {req.valid_from.isoformat()}（审核只能缩短有效期）", "valid_from")
        if end > req.valid_until:
            raise DomainError(f"有效期止：不能晚于申请的 {req.valid_until.isoformat()}（审核只能缩短有效期）", "valid_until")
        if end < start:
            raise DomainError("有效期止：不能早于有效期起", "valid_until")
        if end < _today():
            raise DomainError("有效期止：已经过去，不能授权", "valid_until")
        note = str(comment or "").strip()
        limits.check_length(note, limits.TEXT, "审核意见", "comment")
        req.status = RequestStatus.APPROVED
        req.reviewer = actor
        req.decided_at = timezone.now()
        req.decision_note = note
        req.save(update_fields=["status", "reviewer", "decided_at", "decision_note"])
        grant = _create_grant(req, actor, item_list, clear, new_scope, start, end)
        narrowed = {
            "items_removed": [i for i in req.items if i not in item_list],
            "clear_removed": [c for c in req.clear_items if c not in clear],
            "scope_changed": new_scope != req.scope,
            "period_changed": (start, end) != (req.valid_from, req.valid_until),
        }
        text = "同意共享：" + _describe(req.entry, item_list, new_scope, start, end)
        text += f"；明文：{_names(req.entry, clear)}" if clear else "；个人/敏感信息项按目录脱敏"
        if narrowed["items_removed"]:
            text += f"；未同意的信息项：{_names(req.entry, narrowed['items_removed'])}"
        if narrowed["clear_removed"]:
            text += f"；未同意明文：{_names(req.entry, narrowed['clear_removed'])}"
        if note:
            text += f"；审核意见：{note}"
        _event(req, actor, "审核通过", text)
        record_event(
            actor, "sharing.request.approve", object_type="share_request", object_id=req.pk,
            details={"grant": grant.pk, "items": item_list, "clear_items": clear, "scope": new_scope,
                     "valid_from": start.isoformat(), "valid_until": end.isoformat(), "narrowed": narrowed,
                     "comment": note[:500], "overdue": bool(req.deadline and req.deadline < _today())},
            request=request,
        )
        record_event(
            actor, "sharing.grant.create", object_type="share_grant", object_id=grant.pk,
            details={"request": req.pk, "automatic": False}, request=request,
        )
        notifications.notify(
            [req.requester], role=DATA_ADMIN_ROLE, unit=req.consumer, exclude=actor, kind="sharing.approved",
            title=f"共享申请已通过：{req.entry.name}",
            body=f"{req.provider.name}同意共享“{req.entry.name}”：{_describe(req.entry, item_list, new_scope, start, end)}。",
            url=request_url(req),
        )
    return grant


def do_refuse_share_request(
    actor: Any, share_request: ShareRequest | int, *, reason: str, request: HttpRequest | None = None
) -> ShareRequest:
    pk = share_request.pk if isinstance(share_request, ShareRequest) else share_request
    with _attempt(actor, "sharing.request.refuse", pk, request, object_type="share_request"):
        req = _lock_request(pk)
        _ensure_reviewer_of(actor, req.provider)
        if req.status != RequestStatus.PENDING:
            raise Conflict(f"只有待审核的申请可以审核，当前状态为{req.get_status_display()}", "status")
        text = _text(reason, "不予共享理由", "reason", minimum=5)
        req.status = RequestStatus.REFUSED
        req.reviewer = actor
        req.decided_at = timezone.now()
        req.decision_note = text
        req.save(update_fields=["status", "reviewer", "decided_at", "decision_note"])
        _event(req, actor, "不予共享", text)
        record_event(
            actor, "sharing.request.refuse", object_type="share_request", object_id=req.pk,
            details={"reason": text[:1000]}, request=request,
        )
        notifications.notify(
            [req.requester], role=DATA_ADMIN_ROLE, unit=req.consumer, exclude=actor, kind="sharing.refused",
            title=f"共享申请未通过：{req.entry.name}",
            body=f"{req.provider.name}不同意共享“{req.entry.name}”。理由：{text[:500]}",
            url=request_url(req),
        )
    return req


def do_withdraw_share_request(
    actor: Any, share_request: ShareRequest | int, *, request: HttpRequest | None = None
) -> ShareRequest:
    pk = share_request.pk if isinstance(share_request, ShareRequest) else share_request
    with _attempt(actor, "sharing.request.withdraw", pk, request, object_type="share_request"):
        req = _lock_request(pk)
        unit = _ensure_requester(actor)
        if req.consumer_id != unit.pk:
            raise PermissionDenied("只能撤回本单位的申请")
        if req.status != RequestStatus.PENDING:
            raise Conflict("只有待审核的申请可以撤回", "status")
        req.status = RequestStatus.WITHDRAWN
        req.decided_at = timezone.now()
        req.save(update_fields=["status", "decided_at"])
        _event(req, actor, "撤回申请")
        record_event(actor, "sharing.request.withdraw", object_type="share_request", object_id=req.pk, request=request)
    return req


# --- grants ---------------------------------------------------------------------------------------------


def do_revoke_share_grant(
    actor: Any, grant: ShareGrant | int, *, reason: str, request: HttpRequest | None = None
) -> ShareGrant:
    """The provider's 共享审核员 revokes an active grant, with reasons."""
    pk = grant.pk if isinstance(grant, ShareGrant) else grant
    with _attempt(actor, "sharing.grant.revoke", pk, request, object_type="share_grant"):
        found = ShareGrant.objects.select_for_update().filter(pk=pk).first()
        if found is None:
            raise NotFound("共享授权不存在", "grant")
        g = ShareGrant.objects.select_related("request", "entry", "consumer", "provider").get(pk=found.pk)
        if not is_share_reviewer(actor, g.provider):
            raise PermissionDenied(f"只有提供单位（{g.provider.name}）的共享审核员可以撤销此授权")
        if g.status != GrantStatus.ACTIVE:
            raise Conflict(f"只有有效的授权可以撤销，当前状态为{g.get_status_display()}", "status")
        text = _text(reason, "撤销理由", "reason", minimum=5)
        g.status = GrantStatus.REVOKED
        g.revoked_at = timezone.now()
        g.revoked_by = actor
        g.revoke_reason = text
        g.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
        _event(g.request, actor, "撤销授权", text)
        record_event(
            actor, "sharing.grant.revoke", object_type="share_grant", object_id=g.pk,
            details={"request": g.request_id, "reason": text[:1000]}, request=request,
        )
        notifications.notify(
            [g.request.requester], role=DATA_ADMIN_ROLE, unit=g.consumer, exclude=actor, kind="sharing.revoked",
            title=f"共享授权已撤销：{g.entry.name}",
            body=f"{g.provider.name}撤销了对“{g.entry.name}”的共享授权。理由：{text[:500]}",
            url=request_url(g.request),
        )
    return g


def do_expire_share_grants(today: date | None = None) -> int:
    """Active grants whose period has ended become 已过期 (the periodic job; audited per grant)."""
    today = today or _today()
    done = 0
    for pk in list(ShareGrant.objects.filter(status=GrantStatus.ACTIVE, valid_until__lt=today).values_list("pk", flat=True)):
        with transaction.atomic():
            g = ShareGrant.objects.select_for_update().filter(pk=pk, status=GrantStatus.ACTIVE).first()
            if g is None:
                continue
            g.status = GrantStatus.EXPIRED
            g.expired_at = timezone.now()
            g.save(update_fields=["status", "expired_at"])
            g = ShareGrant.objects.select_related("request", "entry", "consumer").get(pk=pk)
            _event(g.request, None, "授权到期", f"有效期至 {g.valid_until.isoformat()}，授权已过期")
            record_event(
                None, "sharing.grant.expire", object_type="share_grant", object_id=g.pk,
                details={"request": g.request_id, "valid_until": g.valid_until.isoformat()},
            )
            notifications.notify(
                role=DATA_ADMIN_ROLE, unit=g.consumer, kind="sharing.expired",
                title=f"共享授权已过期：{g.entry.name}",
                body=f"对“{g.entry.name}”的共享授权已于 {g.valid_until.isoformat()} 到期，如仍需使用请申请续期。",
                url=request_url(g.request),
            )
            done += 1
    return done


def do_send_renewal_reminders(today: date | None = None) -> int:
    """Remind the consumer unit once, SHARING_RENEWAL_REMINDER_DAYS before a grant ends."""
    today = today or _today()
    horizon = today + timedelta(days=int(getattr(settings, "SHARING_RENEWAL_REMINDER_DAYS", 30)))
    done = 0
    due = ShareGrant.objects.filter(
        status=GrantStatus.ACTIVE, reminded_at__isnull=True, valid_until__gte=today, valid_until__lte=horizon
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            g = ShareGrant.objects.select_for_update().filter(pk=pk, reminded_at__isnull=True).first()
            if g is None:
                continue
            g.reminded_at = timezone.now()
            g.save(update_fields=["reminded_at"])
            g = ShareGrant.objects.select_related("request__requester", "entry", "consumer").get(pk=pk)
            days_left = (g.valid_until - today).days
            _event(g.request, None, "续期提醒", f"授权将于 {g.valid_until.isoformat()} 到期（还有 {days_left} 天）")
            record_event(
                None, "sharing.grant.remind", object_type="share_grant", object_id=g.pk,
                details={"valid_until": g.valid_until.isoformat(), "days_left": days_left},
            )
            notifications.notify(
                [g.request.requester], role=DATA_ADMIN_ROLE, unit=g.consumer, kind="sharing.renewal",
                title=f"共享授权即将到期：{g.entry.name}",
                body=f"对“{g.entry.name}”的共享授权将于 {g.valid_until.isoformat()} 到期（还有 {days_left} 天），如仍需使用请及时申请续期。",
                url=request_url(g.request),
            )
            done += 1
    return done


def do_notify_overdue_requests(today: date | None = None) -> int:
    """Tell the provider's reviewers and the data authority once when a request is overdue."""
    today = today or _today()
    done = 0
    for pk in list(ShareRequest.objects.filter(
        status=RequestStatus.PENDING, deadline__lt=today, overdue_notified_at__isnull=True
    ).values_list("pk", flat=True)):
        with transaction.atomic():
            req = ShareRequest.objects.select_for_update().filter(pk=pk, overdue_notified_at__isnull=True).first()
            if req is None:
                continue
            req.overdue_notified_at = timezone.now()
            req.save(update_fields=["overdue_notified_at"])
            req = ShareRequest.objects.select_related("entry", "consumer", "provider").get(pk=pk)
            late = workdays.working_days_late(req.deadline, today)
            counted = f"已逾期 {late} 个工作日" if late is not None else "已逾期（节假日安排未录入，工作日数待录入后计算）"
            _event(req, None, "逾期未答复", f"答复截止日 {req.deadline}，{counted}，已列入数据主管部门督办")
            record_event(
                None, "sharing.request.overdue", object_type="share_request", object_id=req.pk,
                details={"deadline": req.deadline.isoformat() if req.deadline else None, "working_days_late": late},
            )
            body = f"{req.consumer.name}对“{req.entry.name}”的共享申请已超过答复截止日 {req.deadline}，请尽快答复。"
            notifications.notify(role=SHARE_REVIEWER_ROLE, unit=req.provider, kind="sharing.overdue",
                                 title=f"逾期未答复的共享申请：{req.entry.name}", body=body, url=request_url(req))
            authority = authority_unit()
            if authority is not None:
                notifications.notify(role=DATA_ADMIN_ROLE, unit=authority, kind="sharing.overdue",
                                     title=f"共享申请逾期（{req.provider.name}）：{req.entry.name}", body=body,
                                     url=reverse("sharing:supervision"))
            done += 1
    return done


# --- needs (共享需求) ---------------------------------------------------------------------------------


def do_post_share_need(
    actor: Any, *, title: str, description: str, purpose: str, legal_basis: str = "",
    request: HttpRequest | None = None,
) -> ShareNeed:
    with _attempt(actor, "sharing.need.post", "new", request, {"title": str(title)[:100]}, object_type="share_need"):
        unit = _ensure_requester(actor)
        clean_title = _text(title, "需求名称", "title", minimum=4, limit=100)
        limits.check_length(str(legal_basis or "").strip(), limits.TEXT, "依据", "legal_basis")
        need = ShareNeed.objects.create(
            title=clean_title, description=_text(description, "需求说明", "description", minimum=10),
            purpose=_text(purpose, "用途", "purpose", minimum=5),
            legal_basis=str(legal_basis or "").strip()[: limits.TEXT], requester_unit=unit, requester=actor,
        )
        _event(need, actor, "提出需求", need.description[:500])
        record_event(actor, "sharing.need.post", object_type="share_need", object_id=need.pk,
                     details={"title": need.title}, request=request)
        authority = authority_unit()
        if authority is not None:
            notifications.notify(role=DATA_ADMIN_ROLE, unit=authority, exclude=actor, kind="sharing.need",
                                 title=f"待分派的共享需求：{need.title}", body=f"{unit.name}提出共享需求：{need.title}",
                                 url=need_url(need))
    return need


def do_assign_share_need(
    actor: Any, need: ShareNeed | int, *, unit: Unit | None, note: str = "", request: HttpRequest | None = None
) -> ShareNeed:
    """The data authority assigns a need to the unit responsible for the data."""
    pk = need.pk if isinstance(need, ShareNeed) else need
    with _attempt(actor, "sharing.need.assign", pk, request, object_type="share_need"):
        if not is_data_authority(actor):
            raise PermissionDenied(f"只有数据主管部门（{authority_unit_name()}）可以分派共享需求")
        found = ShareNeed.objects.select_for_update().filter(pk=pk).first()
        if found is None:
            raise NotFound("共享需求不存在", "need")
        if found.status not in (NeedStatus.OPEN, NeedStatus.ASSIGNED):
            raise Conflict("该需求已经答复，不能再分派", "status")
        if unit is None or not unit.is_active:
            raise DomainError("责任单位：请选择一个启用中的单位", "unit")
        if unit.pk == found.requester_unit_id:
            raise DomainError("责任单位：不能分派给提出需求的单位本身", "unit")
        text = str(note or "").strip()
        limits.check_length(text, limits.TEXT, "分派说明", "note")
        found.status = NeedStatus.ASSIGNED
        found.assigned_unit = unit
        found.assigned_by = actor
        found.assigned_at = timezone.now()
        found.save(update_fields=["status", "assigned_unit", "assigned_by", "assigned_at"])
        _event(found, actor, "分派", f"分派给{unit.name}" + (f"：{text}" if text else ""))
        record_event(actor, "sharing.need.assign", object_type="share_need", object_id=found.pk,
                     details={"unit": unit.name, "note": text[:500]}, request=request)
        notifications.notify(role=DATA_ADMIN_ROLE, unit=unit, exclude=actor, kind="sharing.need",
                             title=f"待答复的共享需求：{found.title}",
                             body=f"数据主管部门将共享需求“{found.title}”分派给本单位，请编目对应资源或说明理由。",
                             url=need_url(found))
    return found


def do_answer_share_need(
    actor: Any, need: ShareNeed | int, *, entry: CatalogEntry | None = None, answer: str = "",
    request: HttpRequest | None = None,
) -> ShareNeed:
    """The assigned unit answers: a live catalogued resource it provides, or reasons it cannot."""
    pk = need.pk if isinstance(need, ShareNeed) else need
    with _attempt(actor, "sharing.need.answer", pk, request, object_type="share_need"):
        found = ShareNeed.objects.select_for_update().filter(pk=pk).first()
        if found is None:
            raise NotFound("共享需求不存在", "need")
        unit = _ensure_requester(actor)
        if found.assigned_unit_id != unit.pk:
            raise PermissionDenied("只有被分派的责任单位可以答复此需求")
        if found.status != NeedStatus.ASSIGNED:
            raise Conflict(f"只有待答复的需求可以答复，当前状态为{found.get_status_display()}", "status")
        text = str(answer or "").strip()
        limits.check_length(text, limits.TEXT, "答复", "answer")
        if entry is not None:
            if entry.provider_id != unit.pk or not entry.is_live:
                raise DomainError("对应的目录：必须是本单位已发布的目录资源", "entry")
            found.status = NeedStatus.CATALOGUED
            found.answer_entry = entry
            step = f"已编目：{entry.resource_code} {entry.name}" + (f"；{text}" if text else "")
        else:
            if len(text) < 5:
                raise DomainError("答复：不能提供时必须写明理由（至少 5 个字）；能提供请选择对应的目录", "answer")
            found.status = NeedStatus.DECLINED
            step = f"不能提供：{text}"
        found.answer = text
        found.answered_by = actor
        found.answered_at = timezone.now()
        found.save(update_fields=["status", "answer_entry", "answer", "answered_by", "answered_at"])
        _event(found, actor, "答复", step)
        record_event(actor, "sharing.need.answer", object_type="share_need", object_id=found.pk,
                     details={"status": found.status, "entry": entry.resource_code if entry else "", "answer": text[:500]},
                     request=request)
        notifications.notify([found.requester], role=DATA_ADMIN_ROLE, unit=found.requester_unit, exclude=actor,
                             kind="sharing.need", title=f"共享需求已答复：{found.title}", body=step[:500],
                             url=need_url(found))
    return found
