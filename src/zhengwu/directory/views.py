"""Pages of the directory: the 系统管理员's unit and account consoles, and the read-only 机构目录."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhengwu.audit.services import record_event
from zhengwu.core import divisions
from zhengwu.core.errors import DomainError

from . import queries, services
from .forms import (
    GrantRoleForm,
    ResetPasswordForm,
    UnitCreateForm,
    UnitForm,
    UnitMoveForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from .models import AdminRole, RoleGrant, Unit, User
from .permissions import require_admin_role

system_admin_only = require_admin_role(AdminRole.SYSTEM)
PAGE_SIZE = 50


def _apply_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's refusal on the field it names (or on the whole form)."""
    field = exc.field if exc.field in form.fields else None
    if field is None and exc.field == "password" and "password1" in form.fields:
        field = "password1"
    form.add_error(field, exc.message)


def _get_unit(pk: int) -> Unit:
    unit = Unit.objects.select_related("parent").filter(pk=pk).first()
    if unit is None:
        raise Http404("单位不存在")
    return unit


def _get_user(pk: int) -> User:
    user = User.objects.select_related("unit").filter(pk=pk).first()
    if user is None:
        raise Http404("工作人员不存在")
    return user


# --- shared ------------------------------------------------------------------------------------


@login_required
@require_GET
def division_search(request: HttpRequest) -> JsonResponse:
    """GB/T 2260 look-up for the division-code inputs: ?q=name or code prefix."""
    text = request.GET.get("q", "")[:20]
    hits = divisions.search(text, limit=30)
    return JsonResponse(
        {
            "results": [
                {"code": d.code, "name": d.name, "full_name": d.full_name, "level": d.level_name}
                for d in hits
            ]
        }
    )


@login_required
@require_GET
def browse(request: HttpRequest) -> HttpResponse:
    """机构目录: the active unit tree with names, for every logged-in staff member."""
    return render(request, "directory/browse.html", {"roots": queries.unit_tree(active_only=True)})


# --- units ---------------------------------------------------------------------------------------


@system_admin_only
@require_GET
def unit_tree(request: HttpRequest) -> HttpResponse:
    roots = queries.unit_tree()
    total = sum(1 for root in roots for _ in root.walk())
    return render(request, "directory/unit_tree.html", {"roots": roots, "total": total})


@system_admin_only
@require_http_methods(["GET", "POST"])
def unit_create(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {}
    parent_id = request.GET.get("parent", "")
    if parent_id.isdigit():
        parent = Unit.objects.filter(pk=int(parent_id)).first()
        if parent is not None:
            initial = {"parent": str(parent.pk), "level": parent.level, "division_code": parent.division_code}
    form = UnitCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.do_create_unit(
                request.user, parent=form.cleaned_data.get("parent"), request=request, **form.values()
            )
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, f"已创建单位：{unit.name}")
            return redirect("directory:unit_tree")
    return render(request, "directory/unit_form.html", {"form": form, "title": "新建单位"})


@system_admin_only
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _get_unit(pk)
    initial = {name: getattr(unit, name) for name in services.UNIT_FIELDS}
    initial["uscc"] = unit.uscc or ""
    form = UnitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_update_unit(request.user, unit, request=request, **form.values())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, f"已保存单位：{form.cleaned_data['name']}")
            return redirect("directory:unit_tree")
    return render(
        request, "directory/unit_form.html", {"form": form, "unit": unit, "title": f"编辑单位：{unit.name}"}
    )


@system_admin_only
@require_http_methods(["GET", "POST"])
def unit_move(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _get_unit(pk)
    form = UnitMoveForm(request.POST or None, unit=unit, initial={"parent": str(unit.parent_id or "")})
    if request.method == "POST" and form.is_valid():
        try:
            services.do_move_unit(request.user, unit, form.cleaned_data.get("parent"), request=request)
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, f"已调整单位隶属关系：{unit.name}")
            return redirect("directory:unit_tree")
    return render(request, "directory/unit_move.html", {"form": form, "unit": unit})


@system_admin_only
@require_http_methods(["GET", "POST"])
def unit_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _get_unit(pk)
    error = ""
    if request.method == "POST":
        try:
            if unit.is_active:
                services.do_deactivate_unit(request.user, unit, request=request)
                messages.success(request, f"已停用单位：{unit.name}")
            else:
                services.do_activate_unit(request.user, unit, request=request)
                messages.success(request, f"已启用单位：{unit.name}")
        except DomainError as exc:
            error = exc.message
        else:
            return redirect("directory:unit_tree")
    return render(request, "directory/unit_deactivate.html", {"unit": unit, "error": error})


# --- users ---------------------------------------------------------------------------------------


@system_admin_only
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        unit = data.get("unit")
        filters = {
            "unit_id": unit.pk if unit else None,
            "include_subunits": bool(data.get("subunits")),
            "role_code": data.get("role") or None,
            "active": {"1": True, "0": False}.get(data.get("active") or ""),
            "q": data.get("q") or None,
        }
    users = queries.staff_for(request.user, **filters)
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    grants = queries.roles_by_user(u.pk for u in page.object_list)
    rows = [(u, grants.get(u.pk, [])) for u in page.object_list]
    record_event(
        request.user,
        "directory.user.read",
        object_type="user",
        object_id="list",
        details={"filters": filters, "page": page.number, "count": len(rows)},
        request=request,
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "directory/user_list.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


@system_admin_only
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.do_create_user(
                request.user,
                username=data["username"],
                full_name=data["full_name"],
                unit=data["unit"],
                mobile=data.get("mobile") or "",
                password=data["password1"],
                request=request,
            )
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, f"已创建账号 {user.username}，用户首次登录时须修改密码")
            return redirect("directory:user_detail", pk=user.pk)
    return render(request, "directory/user_form.html", {"form": form, "title": "新建账号"})


@system_admin_only
@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _get_user(pk)
    record_event(request.user, "directory.user.read", object_type="user", object_id=user.pk, request=request)
    return render(
        request,
        "directory/user_detail.html",
        {
            "target": user,
            "grants": queries.user_roles(user),
            "grant_form": GrantRoleForm(user_unit=user.unit),
        },
    )


@system_admin_only
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _get_user(pk)
    initial = {"full_name": user.full_name, "mobile": user.mobile, "unit": str(user.unit_id or "")}
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.do_update_user(
                request.user,
                user,
                full_name=data["full_name"],
                unit=data["unit"],
                mobile=data.get("mobile") or "",
                request=request,
            )
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, "已保存")
            return redirect("directory:user_detail", pk=user.pk)
    return render(
        request, "directory/user_form.html", {"form": form, "target": user, "title": f"编辑账号：{user}"}
    )


@system_admin_only
@require_POST
def user_toggle_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = _get_user(pk)
    try:
        if user.is_active:
            services.do_disable_user(request.user, user, request=request)
            messages.success(request, f"已停用账号 {user.username}")
        else:
            services.do_enable_user(request.user, user, request=request)
            messages.success(request, f"已启用账号 {user.username}")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("directory:user_detail", pk=user.pk)


@system_admin_only
@require_http_methods(["GET", "POST"])
def user_reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = _get_user(pk)
    form = ResetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_reset_password(request.user, user, form.cleaned_data["password1"], request=request)
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, f"已重置 {user.username} 的密码，用户下次登录时须修改")
            return redirect("directory:user_detail", pk=user.pk)
    return render(request, "directory/user_password.html", {"form": form, "target": user})


@system_admin_only
@require_POST
def user_grant_role(request: HttpRequest, pk: int) -> HttpResponse:
    user = _get_user(pk)
    form = GrantRoleForm(request.POST, user_unit=user.unit)
    if form.is_valid():
        try:
            grant = services.do_grant_role(
                request.user, user, form.cleaned_data["role"], form.cleaned_data.get("unit"), request=request
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已授予“{grant.role.name}”（{grant.unit.name}）")
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"授予角色失败：{error}")
    return HttpResponseRedirect(reverse("directory:user_detail", args=[user.pk]))


@system_admin_only
@require_POST
def user_revoke_role(request: HttpRequest, pk: int, grant_id: int) -> HttpResponse:
    grant = RoleGrant.objects.select_related("role", "unit").filter(pk=grant_id, user_id=pk).first()
    if grant is None:
        raise Http404("授权不存在")
    try:
        services.do_revoke_role(request.user, grant, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已收回“{grant.role.name}”（{grant.unit.name}）")
    return HttpResponseRedirect(reverse("directory:user_detail", args=[pk]))
