"""Console pages of the gateway (family 数据, and 审计管理 for 数据使用记录). Thin: rules live in
services and queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhengwu.catalog.charts import bar_rows
from zhengwu.core.errors import DomainError
from zhengwu.identity.oidc.services import is_app_admin
from zhengwu.sharing.services import _is_staff, is_data_authority, is_share_reviewer

from . import queries, services
from .enforcement import default_daily_quota, default_rate_per_minute
from .models import GatewayKey

PAGE_SIZE = 50


def _refuse(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "403.html", {"reason": reason}, status=403)


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    if not _is_staff(request.user):
        return _refuse(request, "数据服务网关仅供单位工作人员使用（管理员账号请使用本角色的控制台）。")
    return None


def _nav(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "can_manage": services.manages_unit_systems(user),
        "is_reviewer": is_share_reviewer(user),
        "is_authority": is_data_authority(user),
    }


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    recent = queries.with_resource_names(queries.visible_calls(request.user, "mine").select_related("grant")[:20])
    return render(request, "gateway/index.html", {
        **_nav(request), "recent": recent, "summary": queries.call_summary(request.user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    if not services.manages_unit_systems(request.user):
        return _refuse(request, "只有本单位的数据管理员或应用系统管理员可以管理网关凭证。")
    shown_secret = None
    form = {"name": "", "allowed_sources": ""}
    error = None
    if request.method == "POST":
        form = {"name": request.POST.get("name", ""), "allowed_sources": request.POST.get("allowed_sources", "")}
        try:
            key, secret = services.do_create_gateway_key(
                request.user, name=form["name"], allowed_sources=form["allowed_sources"], request=request
            )
        except DomainError as exc:
            error = exc
        else:
            shown_secret = {"key_id": key.key_id, "secret": secret, "name": key.name}
            form = {"name": "", "allowed_sources": ""}
    response = render(request, "gateway/keys.html", {
        **_nav(request), "keys": queries.unit_keys(request.user), "clients": queries.unit_service_clients(request.user),
        "shown_secret": shown_secret, "form": form, "error": error,
        # /sso/ (registering a unit system) is open to the unit's 应用系统管理员 only.
        "can_register_clients": is_app_admin(request.user),
    }, status=400 if error else 200)
    if shown_secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def key_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    key = GatewayKey.objects.filter(pk=pk).first()
    try:
        if key is None:
            raise DomainError("网关密钥不存在", "key")
        if action == "revoke":
            services.do_revoke_gateway_key(request.user, key, request=request)
            messages.success(request, f"已吊销密钥 {key.key_id}，各服务进程最迟在数秒内停止接受它")
        elif action == "sources":
            services.do_set_key_sources(request.user, key, request.POST.get("allowed_sources", ""), request=request)
            messages.success(request, f"已更新密钥 {key.key_id} 的来源地址限制")
        else:
            raise DomainError("不支持的操作", "action")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("gateway:keys")


@login_required
@require_POST
def client_sources(request: HttpRequest, pk: int) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    try:
        services.do_set_client_sources(request.user, pk, request.POST.get("allowed_sources", ""), request=request)
        messages.success(request, "已更新服务客户端的来源地址限制")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("gateway:keys")


@login_required
@require_http_methods(["GET", "POST"])
def grant_limits(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    if not is_share_reviewer(request.user):
        return _refuse(request, "只有本单位的共享审核员可以设置授权调用限制。")
    if request.method == "POST":
        try:
            services.do_set_grant_limits(
                request.user, int(request.POST.get("grant") or 0), rate_per_minute=request.POST.get("rate_per_minute"),
                daily_quota=request.POST.get("daily_quota"), request=request,
            )
            messages.success(request, "已保存调用限制，各服务进程最迟在数秒内按新限制执行")
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "授权编号无效"))
        return redirect("gateway:grant_limits")
    grants = list(queries.grants_to_limit(request.user)[:300])
    rows = []
    for g in grants:
        limits = getattr(g, "gateway_limits", None) if hasattr(g, "gateway_limits") else None
        rows.append({"grant": g, "limits": limits})
    return render(request, "gateway/limits.html", {
        **_nav(request), "rows": rows, "default_rate": default_rate_per_minute(), "default_quota": default_daily_quota(),
    })


def _calls_scope(request: HttpRequest) -> str:
    scope = request.GET.get("scope", "mine")
    return scope if scope in ("mine", "provided", "all") else "mine"


@login_required
@require_GET
def calls(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    scope = _calls_scope(request)
    try:
        qs = queries.visible_calls(request.user, scope)
    except DomainError as exc:
        return _refuse(request, exc.message)
    page = Paginator(qs.order_by("-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = queries.with_resource_names(page.object_list)
    return render(request, "gateway/calls.html", {**_nav(request), "page": page, "scope": scope})


def _calls_chart(series: dict[str, list[Any]], *, hourly: bool) -> Any:
    """One labelled bar per hour (or day): its time, its calls and how many were refused or failed."""
    rows = [
        (f"{label}（拒绝或出错 {errors} 次）" if errors else str(label), calls)
        for label, calls, errors in zip(series["labels"], series["calls"], series["errors"], strict=True)
    ]
    return bar_rows(rows, value_text=lambda n: f"{int(n)} 次", aria=f"每{'小时' if hourly else '天'}调用次数")


@login_required
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    scope = _calls_scope(request)
    days = request.GET.get("days", "1")
    days_n = int(days) if days in ("1", "7", "30") else 1
    try:
        qs = queries.visible_calls(request.user, scope)
    except DomainError as exc:
        return _refuse(request, exc.message)
    by = "consumer" if scope == "provided" or request.GET.get("by") == "consumer" else "resource"
    data = queries.statistics_for(qs, since=timezone.now() - timedelta(days=days_n), by=by)
    chart = _calls_chart(data["chart"], hourly=data["hourly"]) if data["chart"]["labels"] else None
    return render(request, "gateway/stats.html", {
        **_nav(request), "data": data, "chart": chart, "scope": scope, "days": days_n, "by": by,
    })


@login_required
@require_http_methods(["GET", "POST"])
def data_use(request: HttpRequest) -> HttpResponse:
    """审计管理员: who read one person's / enterprise's records. The number travels in a POST body,
    never in a URL (it would land in access logs and browser history)."""
    from zhengwu.core.roles import AdminRole, is_admin, refusal_reason

    if not is_admin(request.user, AdminRole.AUDIT):
        return _refuse(request, refusal_reason(AdminRole.AUDIT))
    identifier = (request.POST.get("identifier") or "").strip() if request.method == "POST" else ""
    context: dict[str, Any] = {"identifier": "", "page": None, "error": None, "kind": ""}
    if identifier:
        try:
            kind, uses = services.do_query_data_use(request.user, identifier, request=request)
        except DomainError as exc:
            context["error"] = exc
        else:
            context.update(kind=kind, page=Paginator(uses, PAGE_SIZE).get_page(request.POST.get("page")),
                           identifier=identifier[:18])
    response = render(request, "gateway/data_use.html", context, status=400 if context["error"] else 200)
    if request.method == "POST":
        response["Cache-Control"] = "no-store"  # the page shows the number that was looked up
    return response
