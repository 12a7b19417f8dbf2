"""The public-account pages of the portal: login, registration (with SMS code), 实名认证, 我的账号 /
个人信息 (PIPL: what is held, export, closing), 企业认证, 经办人管理, 切换企业.

Thin: every rule lives in zhengwu.identity.public.services (state) and .queries (reads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from zhengwu.core.errors import DomainError
from zhengwu.core.exports import xlsx_response
from zhengwu.identity import services as identity_services
from zhengwu.identity.public import queries, services
from zhengwu.identity.public.models import AssuranceLevel

from . import terms

LOGIN_FAILED = "账号或密码错误。请输入注册时的手机号码（或公民身份号码）和密码。"
View = Callable[..., HttpResponseBase]


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "no-store, private"
    return response


def public_required(view: View) -> View:
    """Anonymous → the portal login; a staff account → the page saying the portal is for the public."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        if not queries.is_public(request.user):
            return render(request, "portal/staff_refused.html", status=403)
        return _private(view(request, *args, **kwargs))

    return wrapped


def _errors(exc: DomainError, default: str) -> dict[str, str]:
    return {exc.field or default: exc.message}


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("portal:me")


# --- login ----------------------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and queries.is_public(request.user):
        return redirect("portal:me")
    error = ""
    identifier = request.POST.get("identifier", "")[:64]
    if request.method == "POST":
        result = services.do_public_login(request, identifier, request.POST.get("password", ""),
                                          next_url=_next_url(request))
        if result.status == "ok":
            return redirect(_next_url(request))
        if result.status == "totp":
            return redirect("portal:login_totp")
        error = result.message if result.status == "locked" else LOGIN_FAILED
    status = 400 if error else 200
    return render(request, "portal/account/login.html", {
        "error": error, "identifier": identifier, "next": request.GET.get("next", request.POST.get("next", "")),
        "staff_signed_in": request.user.is_authenticated and not queries.is_public(request.user),
    }, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def login_totp_view(request: HttpRequest) -> HttpResponse:
    pending, user = identity_services.pending_user(request)
    if pending is None or not queries.is_public(user):
        messages.error(request, identity_services.EXPIRED_MESSAGE)
        return redirect("portal:login")
    error = ""
    if request.method == "POST":
        result = identity_services.do_totp_step(request, request.POST.get("code", ""))
        if result.status == "ok":
            target = pending.get("next") or reverse("portal:me")
            return redirect(target)
        if result.status in ("expired", "locked"):
            messages.error(request, result.message)
            return redirect("portal:login")
        error = result.message
    return render(request, "portal/account/login_totp.html", {"error": error}, status=400 if error else 200)


# --- registration ---------------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def register_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and queries.is_public(request.user):
        return redirect("portal:me")
    fields = ("name", "id_no", "mobile", "sms_code")
    values = {f: request.POST.get(f, "")[:64] for f in fields}
    values["consent"] = "on" if request.POST.get("consent") else ""
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "send_code":
            try:
                services.do_send_sms_code(request, values["mobile"])
            except DomainError as exc:
                errors, status = _errors(exc, "mobile"), exc.status
            else:
                messages.success(request, f"验证码已发送至 {queries.masked_mobile(values['mobile'].strip())}，5 分钟内有效。")
        else:
            try:
                services.do_register_person(
                    request, name=values["name"], id_no=values["id_no"], mobile=values["mobile"],
                    sms_code=values["sms_code"], password=request.POST.get("password", ""),
                    password2=request.POST.get("password2", ""), consent=bool(values["consent"]),
                    terms_version=f"{terms.TERMS_VERSION}/{terms.PRIVACY_VERSION}",
                )
            except DomainError as exc:
                errors, status = _errors(exc, "name"), exc.status
            else:
                messages.success(request, "注册成功，请登录。登录后请完成实名认证。")
                return redirect("portal:login")
    return render(request, "portal/account/register.html", {
        "values": values, "errors": errors, "terms_version": terms.TERMS_VERSION,
        "privacy_version": terms.PRIVACY_VERSION,
    }, status=status)


# --- 我的账号 / 个人信息 (PIPL) ----------------------------------------------------------------------
def _profile_context(request: HttpRequest) -> dict[str, Any]:
    profile = queries.profile_of(request.user)
    return {
        "profile": profile,
        "name": queries.masked_name(getattr(request.user, "full_name", "")),
        "id_no": queries.masked_id_no(profile) if profile else "",
        "mobile": queries.masked_mobile(profile.mobile or "") if profile else "",
        "level": profile.get_level_display() if profile else "",
        "verified": bool(profile and profile.level >= AssuranceLevel.VERIFIED),
    }


@public_required
@require_http_methods(["GET"])
def account_view(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/account/account.html", {
        **_profile_context(request), "held": queries.held_data(request.user),
    })


@public_required
@require_http_methods(["GET"])
def export_view(request: HttpRequest) -> HttpResponseBase:
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("xlsx", "json"):
        messages.error(request, "导出格式：只能是 xlsx 或 json")
        return redirect("portal:account")
    rows = services.do_export_my_data(request.user, request=request)
    if fmt == "json":
        body = json.dumps({"held": rows}, ensure_ascii=False, indent=2)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="my-data.json"'
        return response
    return xlsx_response("我的个人信息.xlsx", ["信息项", "内容", "用途", "保存期限"],
                         ([r["item"], r["value"], r["purpose"], r["keep"]] for r in rows), sheet_title="我的个人信息")


@public_required
@require_http_methods(["GET", "POST"])
def close_view(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not request.POST.get("confirm"):
            errors["confirm"] = "确认注销：请勾选“我已了解注销的后果”"
        else:
            try:
                services.do_close_account(request.user, password=request.POST.get("password", ""), request=request)
            except DomainError as exc:
                errors = _errors(exc, "password")
            else:
                messages.success(request, "您的账号已注销，个人信息已删除。")
                return redirect("portal:home")
    return render(request, "portal/account/close.html", {"errors": errors}, status=400 if errors else 200)


# --- 动态口令 (optional second factor) ----------------------------------------------------------------
@public_required
@require_http_methods(["GET", "POST"])
def security_view(request: HttpRequest) -> HttpResponse:
    """Optional TOTP for a public account (the staff login's identity/totp.py and services)."""
    from zhengwu.identity import queries as identity_queries
    from zhengwu.identity import totp

    enabled = identity_queries.has_totp(request.user)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "disable":
                identity_services.do_disable_totp(request.user, request)
                messages.success(request, "动态口令已停用。")
            else:
                identity_services.do_confirm_totp(request.user, request.POST.get("code", ""), request)
                messages.success(request, "动态口令已启用，今后登录时须输入验证器上的 6 位数字。")
        except DomainError as exc:
            error = exc.message
        else:
            return redirect("portal:account_security")
    context: dict[str, Any] = {"enabled": enabled, "error": error}
    if not enabled:
        secret = identity_services.enrolment_secret(request.user)
        uri = totp.provisioning_uri(secret, "门户账号")
        context.update({"secret": totp.group_secret(secret), "qr_svg": totp.qr_svg(uri)})
    return render(request, "portal/account/security.html", context, status=400 if error else 200)


# --- 实名认证 -------------------------------------------------------------------------------------
@public_required
@require_http_methods(["GET", "POST"])
def realname_view(request: HttpRequest) -> HttpResponse:
    values = {"name": request.POST.get("name", getattr(request.user, "full_name", ""))[:64], "id_no": request.POST.get("id_no", "")[:64]}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            services.do_verify_real_name(request.user, name=values["name"], id_no=values["id_no"], request=request)
        except DomainError as exc:
            errors, status = _errors(exc, "id_no"), exc.status
        else:
            messages.success(request, "实名认证成功：您的账号已是“已实名”。")
            return redirect("portal:me")
    return render(request, "portal/account/realname.html", {
        **_profile_context(request), "values": values, "errors": errors,
    }, status=status)


# --- 企业 -----------------------------------------------------------------------------------------
@public_required
@require_http_methods(["GET", "POST"])
def enterprise_bind_view(request: HttpRequest) -> HttpResponse:
    values = {"uscc": request.POST.get("uscc", "")[:64], "ent_name": request.POST.get("ent_name", "")[:200]}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            enterprise = services.do_bind_enterprise(request.user, uscc=values["uscc"], ent_name=values["ent_name"],
                                                     request=request)
        except DomainError as exc:
            errors, status = _errors(exc, "uscc"), exc.status
        else:
            services.do_switch_enterprise(request, enterprise.pk)
            messages.success(request, f"企业认证成功：您现在以“{enterprise.name}”法定代表人的身份办理。")
            return redirect("portal:enterprise")
    return render(request, "portal/account/enterprise_bind.html", {
        **_profile_context(request), "values": values, "errors": errors,
    }, status=status)


@public_required
@require_http_methods(["GET", "POST"])
def enterprise_switch_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            chosen = services.do_switch_enterprise(request, request.POST.get("enterprise", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("portal:enterprise_switch")
        if chosen is None:
            messages.success(request, "已切换为以个人身份办理。")
            return redirect("portal:me")
        messages.success(request, f"已切换为代表“{chosen.enterprise.name}”办理（{chosen.get_role_display()}）。")
        return redirect("portal:enterprise")
    acting = queries.acting_authorisation(request)
    return render(request, "portal/account/enterprise_switch.html", {
        "authorisations": list(queries.active_authorisations(request.user)),
        "acting_id": acting.enterprise_id if acting else None,
    })


@public_required
@require_http_methods(["GET", "POST"])
def agents_view(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    enterprise = queries.represented(request.user, enterprise_id)
    if enterprise is None:
        return render(request, "portal/account/not_representative.html", status=403)
    values = {"name": request.POST.get("name", "")[:64], "id_no": request.POST.get("id_no", "")[:64]}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            services.do_authorise_agent(request.user, enterprise.pk, name=values["name"], id_no=values["id_no"],
                                        request=request)
        except DomainError as exc:
            errors, status = _errors(exc, "id_no"), exc.status
        else:
            messages.success(request, f"已授权 {queries.masked_name(values['name'].strip())} 为本企业经办人。")
            return redirect("portal:enterprise_agents", enterprise_id=enterprise.pk)
    agents = [
        {"pk": a.pk, "name": queries.masked_name(a.person.full_name), "granted_at": a.granted_at,
         "revoked_at": a.revoked_at, "active": a.revoked_at is None}
        for a in queries.agents_of(enterprise)
    ]
    return render(request, "portal/account/agents.html", {
        "enterprise": enterprise, "agents": agents, "values": values, "errors": errors,
    }, status=status)


@public_required
@require_POST
def agent_revoke_view(request: HttpRequest, authorisation_id: int) -> HttpResponse:
    try:
        auth = services.do_revoke_agent(request.user, authorisation_id, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:enterprise_switch")
    messages.success(request, f"已撤销 {queries.masked_name(auth.person.full_name)} 的经办人授权，对方立即失去本企业的办理权限。")
    return redirect("portal:enterprise_agents", enterprise_id=auth.enterprise_id)

