"""Pages of 共享交换 in the staff console (family 数据): my unit's requests, a new request, a
request with its timeline and the reviewer's decision, the review queue, grants received and
given, the data authority's supervision list, and 共享需求. Thin: rules live in `services`."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhengwu.catalog.codetables import CodeTableError, parse_code_table
from zhengwu.catalog.models import CatalogEntry
from zhengwu.catalog.queries import published_snapshot
from zhengwu.core import limits
from zhengwu.core.errors import DomainError, NotFound
from zhengwu.directory.models import Unit

from . import queries, services
from .models import GrantStatus, NeedStatus, RequestStatus

PAGE_SIZE = 30


def _refuse(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "403.html", {"reason": reason}, status=403)


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    if not services._is_staff(request.user):
        return _refuse(request, "共享交换仅供单位工作人员使用（管理员账号请使用本角色的控制台）。")
    return None


def parse_date(value: str, label: str, field: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(f"{label}：“{text[:20]}”不是日期（YYYY-MM-DD）", field) from exc


def scope_fields(entry: CatalogEntry) -> list[dict[str, Any]]:
    """The entry's items that can limit rows (those with an enumeration or division code table)."""
    out = []
    for item in (published_snapshot(entry) or {}).get("items") or []:
        try:
            table = parse_code_table(str(item.get("code_table") or ""))
        except CodeTableError:
            continue
        if table is not None and table.kind in ("enum", "division"):
            out.append({"field_name": item["field_name"], "name": item["name"], "describe": table.describe(),
                        "division": table.kind == "division"})
    return out


def _scope_from(post: QueryDict, entry: CatalogEntry) -> dict[str, list[str]]:
    scope: dict[str, list[str]] = {}
    for f in scope_fields(entry):
        raw = post.get(f"scope_{f['field_name']}", "")[:4000]
        codes = [c.strip() for c in raw.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if c.strip()]
        if codes:
            scope[f["field_name"]] = codes
    return scope


def _named(items: dict[str, dict[str, Any]], fields: list[str]) -> str:
    return "、".join(str(items.get(f, {}).get("name") or f) for f in fields)


def _entry_items(entry: CatalogEntry) -> list[dict[str, Any]]:
    return list((published_snapshot(entry) or {}).get("items") or [])


# --- my unit's requests -----------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    status = request.GET.get("status", "")
    status = status if status in RequestStatus.values else ""
    page = Paginator(queries.my_unit_requests(request.user, status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sharing/index.html", {
        "page": page, "status": status, "statuses": RequestStatus.choices,
        "can_request": services.is_unit_data_admin(request.user), "today": timezone.localdate(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    if not services.is_unit_data_admin(request.user):
        return _refuse(request, "只有本单位的数据管理员可以代表本单位申请共享数据。")
    entry_id = request.POST.get("entry") or request.GET.get("entry") or ""
    entry = None
    if entry_id.isdigit():
        entry = queries.requestable_entries(request.user).filter(pk=int(entry_id)).first()
        if entry is None:
            nonshare = CatalogEntry.objects.filter(pk=int(entry_id), is_live=True, share_type="不予共享").first()
            if nonshare is not None:
                messages.error(request, f"“{nonshare.name}”为不予共享，不能申请。")
            else:
                messages.error(request, "信息资源不存在，或是本单位自己的资源。")
    if entry is None:
        q = request.GET.get("q", "")[:50].strip()
        entries = queries.requestable_entries(request.user)
        if q:
            entries = entries.filter(name__icontains=q)
        page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "sharing/choose_entry.html", {"page": page, "q": q})
    today = timezone.localdate()
    values: dict[str, Any] = {
        "purpose": "", "legal_basis": "", "item_list": [i["field_name"] for i in _entry_items(entry)],
        "clear_list": [], "valid_from": today.isoformat(), "valid_until": today.replace(year=today.year + 1).isoformat(),
        "scope": {}, "renews": request.GET.get("renews", ""),
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        post = request.POST
        values = {
            "purpose": post.get("purpose", "")[: limits.TEXT + 10], "legal_basis": post.get("legal_basis", "")[: limits.TEXT + 10],
            "item_list": post.getlist("items")[:500], "clear_list": post.getlist("clear_items")[:500],
            "valid_from": post.get("valid_from", "")[:20], "valid_until": post.get("valid_until", "")[:20],
            "scope": {k[6:]: post.get(k, "")[:4000] for k in post if k.startswith("scope_")}, "renews": post.get("renews", "")[:12],
        }
        try:
            renews = None
            if values["renews"].isdigit():
                renews = queries.grants_received(request.user).filter(pk=int(values["renews"])).first()
            created = services.do_file_share_request(
                request.user, entry, purpose=values["purpose"], legal_basis=values["legal_basis"],
                items=values["item_list"], clear_items=values["clear_list"], scope=_scope_from(post, entry),
                valid_from=parse_date(values["valid_from"], "有效期起", "valid_from"),
                valid_until=parse_date(values["valid_until"], "有效期止", "valid_until"),
                renews=renews, request=request,
            )
        except DomainError as exc:
            errors[exc.field or "form"] = exc.message
            status = 400
        else:
            if created.status == RequestStatus.APPROVED:
                messages.success(request, "无条件共享：申请已自动授权")
            else:
                messages.success(request, f"申请已提交，提供单位应于 {created.deadline} 前答复")
            return redirect("sharing:request_detail", pk=created.pk)
    fields = scope_fields(entry)
    for f in fields:
        f["value"] = values["scope"].get(f["field_name"], "")
    return render(request, "sharing/request_form.html", {
        "entry": entry, "items": _entry_items(entry), "scope_fields": fields, "values": values,
        "errors": errors, "text_limit": limits.TEXT,
    }, status=status)


@login_required
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    try:
        share_request = queries.get_request(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    user = request.user
    unit_id = getattr(user, "unit_id", None)
    grant = queries.grant_of(share_request)
    is_reviewer = services.is_share_reviewer(user, share_request.provider)
    pending = share_request.status == RequestStatus.PENDING
    items = {i["field_name"]: i for i in _entry_items(share_request.entry)}
    fields = scope_fields(share_request.entry)
    for f in fields:
        f["value"] = ",".join(share_request.scope.get(f["field_name"], []))
    return render(request, "sharing/request_detail.html", {
        "r": share_request, "grant": grant, "events": queries.timeline(share_request),
        "items": items, "requested": [items.get(f, {"field_name": f, "name": f}) for f in share_request.items],
        "clear_named": [items.get(f, {"field_name": f, "name": f}) for f in share_request.clear_items],
        "granted_names": _named(items, grant.items if grant else []),
        "granted_clear_names": _named(items, grant.clear_items if grant else []),
        "granted_scope": [{"name": items.get(k, {}).get("name", k), "codes": "、".join(v)}
                          for k, v in (grant.scope.items() if grant else [])],
        "can_decide": pending and is_reviewer,
        "can_withdraw": pending and unit_id == share_request.consumer_id and services.is_unit_data_admin(user),
        "can_revoke": grant is not None and grant.status == GrantStatus.ACTIVE and is_reviewer,
        "can_renew": grant is not None and unit_id == share_request.consumer_id and services.is_unit_data_admin(user)
        and grant.status in (GrantStatus.ACTIVE, GrantStatus.EXPIRED),
        "scope_fields": fields,
        "scope_rows": [{"field": k, "name": items.get(k, {}).get("name", k), "codes": "、".join(v)}
                       for k, v in share_request.scope.items()],
        "overdue": pending and share_request.deadline is not None and share_request.deadline < timezone.localdate(),
        "text_limit": limits.TEXT,
    })


@login_required
@require_POST
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    try:
        share_request = queries.get_request(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    post = request.POST
    try:
        if action == "approve":
            services.do_approve_share_request(
                request.user, share_request, items=post.getlist("items")[:500],
                clear_items=post.getlist("clear_items")[:500], scope=_scope_from(post, share_request.entry),
                valid_from=parse_date(post.get("valid_from", ""), "有效期起", "valid_from") or share_request.valid_from,
                valid_until=parse_date(post.get("valid_until", ""), "有效期止", "valid_until") or share_request.valid_until,
                comment=post.get("comment", "")[: limits.TEXT + 10], request=request,
            )
            done = "已同意共享"
        elif action == "refuse":
            services.do_refuse_share_request(request.user, share_request, reason=post.get("reason", "")[: limits.TEXT + 10], request=request)
            done = "已答复：不予共享"
        elif action == "withdraw":
            services.do_withdraw_share_request(request.user, share_request, request=request)
            done = "申请已撤回"
        elif action == "revoke":
            grant = queries.grant_of(share_request)
            if grant is None:
                raise DomainError("该申请没有授权可撤销", "grant")
            services.do_revoke_share_grant(request.user, grant, reason=post.get("reason", "")[: limits.TEXT + 10], request=request)
            done = "授权已撤销"
        else:
            raise Http404("没有这个操作")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("sharing:request_detail", pk=share_request.pk)


@login_required
@require_GET
def review(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    if not services.is_share_reviewer(request.user):
        return _refuse(request, "只有本单位的共享审核员可以审核共享申请。")
    overdue = request.GET.get("overdue") == "1"
    rows = queries.overdue_for_provider(request.user) if overdue else queries.review_queue(request.user)
    return render(request, "sharing/review.html", {"rows": rows, "overdue": overdue, "today": timezone.localdate()})


@login_required
@require_GET
def grants(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    status = request.GET.get("status", "")
    status = status if status in GrantStatus.values else ""
    return render(request, "sharing/grants.html", {
        "received": queries.grants_received(request.user, status)[:200],
        "given": queries.grants_given(request.user, status)[:200],
        "status": status, "statuses": GrantStatus.choices,
    })


@login_required
@require_GET
def supervision(request: HttpRequest) -> HttpResponse:
    if not services.is_data_authority(request.user):
        return _refuse(request, "只有数据主管部门可以查看共享申请督办清单。")
    from zhengwu.core import workdays

    today = timezone.localdate()
    rows = [
        {"r": r, "late": workdays.working_days_late(r.deadline, today)}
        for r in queries.supervision_list(request.user, today)[:500]
    ]
    return render(request, "sharing/supervision.html", {"rows": rows, "today": today})


# --- 共享需求 ---------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def needs(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    user = request.user
    values = {"title": "", "description": "", "purpose": "", "legal_basis": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "")[: limits.TEXT + 10] for k in values}
        try:
            services.do_post_share_need(user, request=request, **values)
        except DomainError as exc:
            errors[exc.field or "title"] = exc.message
            status = 400
        else:
            messages.success(request, "共享需求已提交，数据主管部门将分派给责任单位")
            return redirect("sharing:needs")
    todo = request.GET.get("todo", "")
    if todo == "assign":
        rows = queries.needs_to_assign(user)
    elif todo == "answer":
        rows = queries.needs_to_answer(user)
    else:
        rows = queries.needs_for(user)
    is_authority = services.is_data_authority(user)
    return render(request, "sharing/needs.html", {
        "rows": list(rows[:200]), "todo": todo, "values": values, "errors": errors,
        "can_post": services.is_unit_data_admin(user), "is_authority": is_authority,
        "units": Unit.objects.filter(is_active=True).order_by("sort_order", "id") if is_authority else [],
        "own_entries": CatalogEntry.objects.filter(provider_id=getattr(user, "unit_id", None), is_live=True).order_by("resource_code"),
        "text_limit": limits.TEXT, "statuses": NeedStatus,
    }, status=status)


@login_required
@require_POST
def need_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    need = queries.needs_for(request.user).filter(pk=pk).first()
    if need is None:
        raise Http404("共享需求不存在或无权查看")
    try:
        if action == "assign":
            unit_id = request.POST.get("unit", "")
            unit = Unit.objects.filter(pk=int(unit_id)).first() if unit_id.isdigit() else None
            services.do_assign_share_need(request.user, need, unit=unit, note=request.POST.get("note", "")[: limits.TEXT + 10], request=request)
            done = "已分派"
        elif action == "answer":
            entry_id = request.POST.get("entry", "")
            entry = CatalogEntry.objects.filter(pk=int(entry_id)).first() if entry_id.isdigit() else None
            services.do_answer_share_need(request.user, need, entry=entry, answer=request.POST.get("answer", "")[: limits.TEXT + 10], request=request)
            done = "已答复"
        else:
            raise Http404("没有这个操作")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(reverse("sharing:needs") + f"#need-{need.pk}")
