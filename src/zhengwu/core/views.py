from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from . import consoles, notifications
from .errors import NotFound

NOTIFICATIONS_PER_PAGE = 30


def home(request: HttpRequest) -> HttpResponse:
    """The 工作台: the user's to-dos with their counts, then the consoles they may open. An
    anonymous visitor (or a public account) of / is at the public portal's home instead; staff
    sign in from the portal's login link or at /login/."""
    if not request.user.is_authenticated or getattr(request.user, "account_kind", "") == "public":
        return redirect("portal:home")
    entries = consoles.entries_for(request.user)
    todos = consoles.todos_for(request.user)
    return render(request, "core/home.html", {"families": consoles.families(entries), "todos": todos})


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    qs = notifications.notifications_for(request.user, unread_only=unread_only)
    page = Paginator(qs, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page, "unread_only": unread_only})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read; with `open=1` go on to the page it points to."""
    try:
        row = notifications.do_mark_notification_read(request.user, pk, request=request)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if request.POST.get("open") == "1" and row.url and url_has_allowed_host_and_scheme(
        row.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(row.url)
    return redirect("core:notifications")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications.do_mark_all_notifications_read(request.user, request=request)
    messages.success(request, f"已将 {count} 条通知标为已读" if count else "没有未读通知")
    return redirect("core:notifications")


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness/readiness probe: 200 when the database answers, 500 with the reason otherwise."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # report, never raise, from a health check
        return JsonResponse({"status": "error", "reason": f"数据库不可用：{exc.__class__.__name__}"}, status=500)
    return JsonResponse({"status": "ok"})
