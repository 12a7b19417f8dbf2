from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import consoles, notifications, workdays
from .errors import DomainError, NotFound
from .forms import HolidayDayForm, HolidayYearForm
from .roles import AdminRole, require_admin_role

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


def _today() -> Any:
    from django.utils import timezone

    return timezone.localdate()


@require_admin_role(AdminRole.SYSTEM)
@require_http_methods(["GET", "POST"])
def calendar_view(request: HttpRequest) -> HttpResponse:
    """工作日历: what the calendar knows of this year and the next, the days set by hand, and the
    forms to set a day and to register a year entered by hand (系统管理员; every change audited)."""
    today = _today()
    day_form = HolidayDayForm(request.POST or None, prefix="day")
    year_form = HolidayYearForm(request.POST or None, prefix="year")
    if request.method == "POST":
        form = year_form if request.POST.get("action") == "year" else day_form
        if form.is_valid():
            data = form.cleaned_data
            try:
                if form is year_form:
                    row = workdays.do_register_holiday_year(request.user, data["year"], basis=data["basis"])
                    message = f"已登记 {row.year} 年的放假安排（依据：{row.basis}）"
                else:
                    row = workdays.do_set_holiday_override(
                        request.user, data["date"], is_working_day=data["is_working_day"], note=data["note"]
                    )
                    message = f"已将 {row.date:%Y-%m-%d} 设为{'上班' if row.is_working_day else '放假'}"
            except DomainError as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.message)
            else:
                messages.success(request, message)
                return redirect("core:calendar")
    years = sorted({today.year, today.year + 1, *workdays.registered_years()})
    return render(request, "core/calendar.html", {
        "today": today, "coverage": [workdays.year_coverage(y) for y in years],
        "to_enter": workdays.years_to_enter(today), "package": workdays.PACKAGE,
        "package_years": workdays.package_years(), "overrides": workdays.overrides_from(date(today.year, 1, 1)),
        "day_form": day_form, "year_form": year_form,
    })


@require_admin_role(AdminRole.SYSTEM)
@require_POST
def calendar_remove(request: HttpRequest, day: str) -> HttpResponse:
    try:
        workdays.do_remove_holiday_override(request.user, date.fromisoformat(day))
    except ValueError:
        messages.error(request, "日期：格式有误")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已删除 {day} 的调整，这一天按节假日数据包或周一至周五计算")
    return redirect("core:calendar")


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
