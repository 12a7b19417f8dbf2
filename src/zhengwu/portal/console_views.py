"""Staff console pages of the portal: 通知公告 editing, for 门户编辑. Thin: services do the work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from zhengwu.core.errors import DomainError

from . import queries, services
from .models import BODY_MAX, TITLE_MAX, Notice
from .permissions import is_portal_editor

REFUSAL = "只有具有“门户编辑”角色的工作人员可以编辑通知公告。"
ACTIONS = {"publish": services.do_publish_notice, "withdraw": services.do_withdraw_notice, "delete": services.do_delete_notice}
DONE = {"publish": "已发布", "withdraw": "已撤回（转为草稿）", "delete": "已删除"}


def _refused(request: HttpRequest) -> HttpResponse:
    return render(request, "403.html", {"reason": REFUSAL}, status=403)


@login_required
def notice_list(request: HttpRequest) -> HttpResponse:
    if not is_portal_editor(request.user):
        return _refused(request)
    from django.core.paginator import Paginator

    page = Paginator(queries.notices_for_editing(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "portal/console/notice_list.html", {"page": page, "now": timezone.now()})


def _values(notice: Notice | None) -> dict[str, Any]:
    if notice is None:
        return {"title": "", "body": "", "pinned": False, "published_at": ""}
    when = timezone.localtime(notice.published_at).strftime("%Y-%m-%dT%H:%M") if notice.published_at else ""
    return {"title": notice.title, "body": notice.body, "pinned": notice.pinned, "published_at": when}


def _form(request: HttpRequest, notice: Notice | None) -> HttpResponse:
    values = _values(notice)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {
            "title": request.POST.get("title", "")[: TITLE_MAX * 2],
            "body": request.POST.get("body", "")[: BODY_MAX + 1000],
            "pinned": request.POST.get("pinned") == "on",
            "published_at": request.POST.get("published_at", "")[:40],
        }
        try:
            when = services.parse_publish_time(values["published_at"])
            fields = {"title": values["title"], "body": values["body"], "pinned": values["pinned"], "published_at": when}
            if notice is None:
                saved = services.do_create_notice(request.user, request=request, **fields)
            else:
                saved = services.do_update_notice(request.user, notice.pk, request=request, **fields)
        except DomainError as exc:
            errors[exc.field if exc.field in ("title", "body", "published_at") else "notice"] = exc.message
            status = exc.status
        else:
            messages.success(request, f"已保存通知“{saved.title}”（{saved.status}）")
            return redirect("portal:console_notices")
    return render(request, "portal/console/notice_form.html", {
        "notice": notice, "values": values, "errors": errors, "limits": {"title": TITLE_MAX, "body": BODY_MAX},
    }, status=status)


@login_required
def notice_create(request: HttpRequest) -> HttpResponse:
    if not is_portal_editor(request.user):
        return _refused(request)
    return _form(request, None)


@login_required
def notice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_portal_editor(request.user):
        return _refused(request)
    notice = queries.notice_for_editing(request.user, pk)
    if notice is None:
        raise Http404("通知不存在或已被删除")
    return _form(request, notice)


@login_required
@require_POST
def notice_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("没有这个操作")
    if not is_portal_editor(request.user):
        return _refused(request)
    try:
        ACTIONS[action](request.user, pk, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"通知{DONE[action]}")
    return redirect("portal:console_notices")
