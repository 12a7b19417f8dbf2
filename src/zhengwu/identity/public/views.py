"""Staff pages of the public accounts: the SMS outbox (系统管理员) and 高级实名 at a service
window (实名核验员). The public pages live in the portal (portal/account_views.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from zhengwu.audit.services import record_event
from zhengwu.core.errors import DomainError
from zhengwu.core.masking import mask_text
from zhengwu.core.roles import AdminRole, require_admin_role

from . import queries, services


@require_admin_role(AdminRole.SYSTEM)
@never_cache
def outbox_view(request: HttpRequest) -> HttpResponse:
    """短信发件箱: what the development sender 'sent' (the newest 100), audited as a read."""
    rows = queries.outbox()
    record_event(request.user, "public.outbox_read", details={"rows": len(rows)}, request=request)
    return render(request, "public_accounts/outbox.html", {"rows": rows})


@never_cache
@require_http_methods(["GET", "POST"])
def in_person_view(request: HttpRequest) -> HttpResponse:
    """高级实名: the 实名核验员 enters the name and number read from the identity card shown."""
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    if not services.is_in_person_verifier(request.user):
        return render(request, "403.html", {"reason": "此功能仅限持有“实名核验员”业务角色的窗口工作人员使用。"}, status=403)
    errors: dict[str, str] = {}
    values = {"name": request.POST.get("name", ""), "id_no": request.POST.get("id_no", "")}
    if request.method == "POST":
        try:
            services.do_verify_in_person(request.user, name=values["name"], id_no=values["id_no"], request=request)
        except DomainError as exc:
            errors[exc.field or "id_no"] = exc.message
        else:
            messages.success(request, f"已将 {values['name'][:1]}**（{mask_text(values['id_no'].strip())}）的账号提升为高级实名。")
            return redirect("public_accounts:in_person")
    return render(request, "public_accounts/in_person.html", {"errors": errors, "values": values})
