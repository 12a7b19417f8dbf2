"""Pages of 数据交换 (console family 数据): the consumer unit's subscriptions (create per kind,
test, pause/resume, resync, stop), a subscription's delivery history and dead letters with
redelivery, and the provider's view of who subscribes to its resources. Thin: rules in `services`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhengwu.core.errors import DomainError, NotFound
from zhengwu.sharing import queries as sharing_queries
from zhengwu.sharing.models import GrantStatus
from zhengwu.sharing.services import _is_staff, is_unit_data_admin

from . import queries, services
from .models import DatabaseEngine, DeliveryStatus, SubscriptionKind

PAGE_SIZE = 30
FORM_FIELDS = {"grant", "kind", "name", "webhook_url", "db_engine", "db_host", "db_port", "db_name", "db_user", "db_password", "db_table"}


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    if not _is_staff(request.user):
        return render(request, "403.html", {"reason": "数据交换仅供单位工作人员使用。"}, status=403)
    return None


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    subs = queries.my_subscriptions(request.user)
    return render(request, "exchange/index.html", {
        "subscriptions": subs[:200], "dead": queries.dead_letters(request.user)[:50],
        "can_manage": is_unit_data_admin(request.user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def new_subscription(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    if not is_unit_data_admin(request.user):
        return render(request, "403.html", {"reason": "只有本单位的数据管理员可以订阅数据交换。"}, status=403)
    grants = sharing_queries.grants_received(request.user, GrantStatus.ACTIVE)
    values: dict[str, Any] = {"kind": request.GET.get("kind", SubscriptionKind.DATABASE), "grant": request.GET.get("grant", ""),
                              "db_engine": DatabaseEngine.MYSQL, "db_port": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        post = request.POST
        values = {k: post.get(k, "")[:500] for k in (
            "grant", "kind", "name", "webhook_url", "db_engine", "db_host", "db_port", "db_name", "db_user", "db_table")}
        try:
            grant_id = int(values["grant"]) if values["grant"].isdigit() else 0
            sub, secret = services.do_create_subscription(
                request.user, grant_id, kind=values["kind"], name=values["name"], webhook_url=values["webhook_url"],
                db_engine=values["db_engine"], db_host=values["db_host"], db_port=values["db_port"],
                db_name=values["db_name"], db_user=values["db_user"], db_password=post.get("db_password", "")[:300],
                db_table=values["db_table"], request=request,
            )
        except DomainError as exc:
            errors[exc.field if exc.field in FORM_FIELDS else "form"] = exc.message
        else:
            if secret:
                return render(request, "exchange/secret.html", {"sub": sub, "secret": secret})
            messages.success(request, f"已创建订阅“{sub.name}”。")
            return redirect("exchange:detail", sub.pk)
    return render(request, "exchange/new.html", {
        "grants": grants, "values": values, "errors": errors, "kinds": SubscriptionKind.choices,
        "engines": DatabaseEngine.choices,
    }, status=400 if errors else 200)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    try:
        sub = queries.get_subscription(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    status = request.GET.get("status", "")
    status = status if status in DeliveryStatus.values else ""
    page = Paginator(queries.deliveries_of(sub, status), PAGE_SIZE).get_page(request.GET.get("page"))
    mine = sub.consumer_id == getattr(request.user, "unit_id", None)
    return render(request, "exchange/detail.html", {
        "sub": sub, "page": page, "status": status, "statuses": DeliveryStatus.choices,
        "can_manage": mine and is_unit_data_admin(request.user), "mine": mine,
    })


ACTIONS = {
    "test": services.do_test_subscription,
    "pause": services.do_pause_subscription,
    "resume": services.do_resume_subscription,
    "resync": services.do_resync_subscription,
    "disable": services.do_disable_subscription,
}
DONE = {"pause": "订阅已暂停。", "resume": "订阅已恢复。", "resync": "已安排全量同步。", "disable": "订阅已停用。"}


@login_required
@require_POST
def action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    service = ACTIONS.get(action)
    if service is None:
        raise Http404("没有这个操作")
    try:
        outcome = service(request.user, pk, request=request)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, outcome if isinstance(outcome, str) else DONE[action])
    return redirect("exchange:detail", pk)


@login_required
@require_POST
def redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    try:
        found = services.do_redeliver(request.user, pk, request=request)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("exchange:index")
    messages.success(request, f"已重新投递 {found.delivery_id}。")
    return redirect("exchange:detail", found.subscription_id)


@login_required
@require_GET
def subscribers(request: HttpRequest) -> HttpResponse:
    if (refused := _staff_only(request)) is not None:
        return refused
    page = Paginator(queries.subscribers_of_my_resources(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "exchange/subscribers.html", {"page": page})
