"""Pages: login (password, TOTP or WebAuthn, enrolment), logout, 账号与安全, and the 安全管理员 console.

Thin: the rules are in services.py and queries.py.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from zhengwu.core.errors import DomainError
from zhengwu.directory.models import AdminRole
from zhengwu.directory.permissions import require_admin_role

from . import queries, services, totp
from .forms import (
    EgressDestinationForm,
    LoginForm,
    PasswordChangeForm,
    SecurityPolicyForm,
    TOTPCodeForm,
    TOTPResetForm,
    WebAuthnAssertionForm,
    WebAuthnRegisterForm,
    WebAuthnRemoveForm,
)
from .models import POLICY_RANGES


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _after_login(request: HttpRequest, next_url: str) -> HttpResponse:
    return HttpResponseRedirect(next_url or reverse(getattr(settings, "LOGIN_REDIRECT_URL", "core:home")))


def _step_redirect(result: services.LoginResult, next_url: str, request: HttpRequest) -> HttpResponse | None:
    if result.status == "ok":
        return _after_login(request, next_url)
    if result.status == "totp":
        return redirect("identity:login_totp")
    if result.status == "webauthn":
        return redirect("identity:login_webauthn")
    if result.status == "enrol":
        return redirect("identity:login_enrol")
    return None


# --- login -------------------------------------------------------------------------------
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    notice = ""
    if request.session.pop(services.TIMEOUT_NOTICE_KEY, False):
        notice = "由于长时间未操作，您已被自动退出，请重新登录。"
    error = ""
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            result = services.do_password_step(
                request, form.cleaned_data["username"], form.cleaned_data["password"], next_url=next_url
            )
            response = _step_redirect(result, next_url, request)
            if response is not None:
                return response
            error = result.message
    else:
        form = LoginForm()
    return render(
        request, "identity/login.html", {"form": form, "error": error, "notice": notice, "next": next_url}
    )


def _second_factor(
    request: HttpRequest, stage: str, step: Any
) -> tuple[HttpResponse | None, Any, TOTPCodeForm, str]:
    """Shared by the TOTP and enrolment steps: (response to return, pending user, form, error)."""
    pending, user = services.pending_user(request)
    if pending is None or not services.pending_allows(pending, stage):
        messages.warning(request, services.EXPIRED_MESSAGE)
        return redirect("identity:login"), user, TOTPCodeForm(), ""
    if request.method != "POST":
        return None, user, TOTPCodeForm(), ""
    form = TOTPCodeForm(request.POST)
    if not form.is_valid():
        return None, user, form, ""
    result = step(request, form.cleaned_data["code"])
    response = _step_redirect(result, pending.get("next", ""), request)
    if response is not None:
        return response, user, form, ""
    if result.status in {"locked", "expired"}:
        messages.error(request, result.message)
        return redirect("identity:login"), user, form, ""
    return None, user, form, result.message


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_totp_view(request: HttpRequest) -> HttpResponse:
    response, user, form, error = _second_factor(request, "totp", services.do_totp_step)
    if response is not None:
        return response
    context = {"form": form, "error": error, "pending_user": user, "can_webauthn": _pending_may(request, "webauthn")}
    return render(request, "identity/login_totp.html", context)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_enrol_view(request: HttpRequest) -> HttpResponse:
    response, user, form, error = _second_factor(request, "enrol", services.do_enrol_step)
    if response is not None:
        return response
    secret = services.enrolment_secret(user)
    context = {"form": form, "error": error, "pending_user": user, **_enrolment_context(user, secret)}
    return render(request, "identity/login_enrol.html", context)


def _enrolment_context(user: Any, secret: str) -> dict[str, Any]:
    uri = totp.provisioning_uri(secret, user.get_username())
    return {"secret": totp.group_secret(secret), "qr_svg": totp.qr_svg(uri), "otpauth_uri": uri}


@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "identity/logout_confirm.html")
    services.do_logout(request)
    messages.info(request, "您已安全退出。")
    return redirect("identity:login")


# --- 账号与安全 -----------------------------------------------------------------------------
def _account_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user = request.user
    policy = queries.get_policy(request)
    context = {
        "previous_login": queries.previous_successful_login(user),
        "failures_since": queries.failures_since_last_login(user),
        "recent_attempts": queries.last_logins(user, limit=10),
        "password_expires_at": queries.password_expires_at(user, policy),
        "has_totp": queries.has_totp(user),
        "webauthn_credentials": queries.webauthn_credentials_of(user),
        "totp_required": queries.totp_required(user, policy),
        "password_form": PasswordChangeForm(),
    }
    context.update(extra)
    return context


@login_required
@never_cache
@require_http_methods(["GET"])
def account_view(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/account.html", _account_context(request))


@sensitive_post_parameters("old_password", "new_password", "new_password2")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    reason = queries.password_change_reason(request.user, queries.get_policy(request))
    if request.method == "POST":
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                services.do_change_password(
                    request.user,
                    form.cleaned_data["old_password"],
                    form.cleaned_data["new_password"],
                    request,
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "密码已修改。")
                return redirect("identity:account")
    else:
        form = PasswordChangeForm()
    return render(request, "identity/password_change.html", {"form": form, "reason": reason})


@sensitive_post_parameters("code")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    if queries.has_totp(request.user):
        messages.info(request, "您已启用动态口令。")
        return redirect("identity:account")
    form = TOTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_confirm_totp(request.user, form.cleaned_data["code"], request)
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            messages.success(request, "动态口令已启用，今后登录时须输入验证器上的 6 位数字。")
            return redirect("identity:account")
    secret = services.enrolment_secret(request.user)
    return render(
        request, "identity/totp_setup.html", {"form": form, **_enrolment_context(request.user, secret)}
    )


@login_required
@require_POST
def totp_disable_view(request: HttpRequest) -> HttpResponse:
    try:
        services.do_disable_totp(request.user, request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "动态口令已停用。")
    return redirect("identity:account")


# --- 安全管理员 console -----------------------------------------------------------------------
@require_admin_role(AdminRole.SECURITY)
@never_cache
@require_http_methods(["GET"])
def security_home_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "identity/security_home.html",
        {
            "locks": queries.active_locks(request.user),
            "failures": queries.recent_failures(request.user, limit=50),
        },
    )


@require_admin_role(AdminRole.SECURITY)
@never_cache
@require_http_methods(["GET", "POST"])
def policy_edit_view(request: HttpRequest) -> HttpResponse:
    policy = queries.get_policy(request)
    form = SecurityPolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in (*POLICY_RANGES, "totp_required_for_all")}
        try:
            # The form has already copied the values onto `policy`: reload the stored one in the service.
            queries.forget_cached_policy(request)
            services.do_update_policy(request.user, changes, request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "安全策略已保存。")
            return redirect("identity:policy_edit")
    return render(request, "identity/policy_edit.html", {"form": form, "policy": policy})


@require_admin_role(AdminRole.SECURITY)
@require_POST
def unlock_view(request: HttpRequest, lock_id: int) -> HttpResponse:
    try:
        lock = services.do_unlock(request.user, lock_id, request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已解除对{lock.get_kind_display()} {lock.key} 的锁定。")
    return redirect("identity:security_home")


@require_admin_role(AdminRole.SECURITY)
@never_cache
@require_http_methods(["GET", "POST"])
def totp_reset_view(request: HttpRequest) -> HttpResponse:
    return _reset_second_factor(
        request, services.do_reset_totp, "identity:totp_reset", "identity/totp_reset.html",
        "已重置 {target} 的动态口令，其下次登录时须重新绑定。",
    )


def _reset_second_factor(
    request: HttpRequest, reset: Any, url_name: str, template: str, done: str, extra: dict[str, Any] | None = None
) -> HttpResponse:
    """The 安全管理员's reset of one account's second factor, named by its username."""
    form = TOTPResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        target = get_user_model().objects.filter(username__iexact=form.cleaned_data["username"].strip()).first()
        if target is None:
            form.add_error("username", "账号不存在")
        else:
            try:
                reset(request.user, target.pk, request)
            except DomainError as exc:
                form.add_error("username", exc.message)
            else:
                messages.success(request, done.format(target=target))
                return redirect(url_name)
    return render(request, template, {"form": form, **(extra or {})})


@require_admin_role(AdminRole.SECURITY)
@never_cache
@require_http_methods(["GET", "POST"])
def egress_view(request: HttpRequest) -> HttpResponse:
    """出站白名单: the destinations database sources (and later webhooks) may connect to."""
    from zhengwu.core import egress

    form = EgressDestinationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.do_add_egress_destination(
                request.user,
                host=form.cleaned_data["host"],
                ports=form.cleaned_data["ports"],
                note=form.cleaned_data["note"],
                request=request,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"已将 {row.host} 端口 {row.ports} 加入出站白名单。")
            return redirect("identity:egress")
    return render(
        request,
        "identity/egress.html",
        {
            "form": form,
            "destinations": egress.list_destinations(),
            "allow_local": list(getattr(settings, "EGRESS_ALLOW_LOCAL", [])),
            "own_ports": sorted(egress.own_ports()),
        },
    )


@require_admin_role(AdminRole.SECURITY)
@require_POST
def egress_remove_view(request: HttpRequest, destination_id: int) -> HttpResponse:
    try:
        row = services.do_remove_egress_destination(request.user, destination_id, request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已将 {row.host} 端口 {row.ports} 移出出站白名单。")
    return redirect("identity:egress")


# --- WebAuthn ------------------------------------------------------------------------------------
def _pending_may(request: HttpRequest, stage: str) -> bool:
    pending, _user = services.pending_user(request)
    return services.pending_allows(pending, stage)


def _options_response(options: str, refused: services.LoginResult | None) -> HttpResponse:
    """The ceremony options as JSON, or a JSON refusal the page's script shows (409)."""
    if refused is not None:
        return JsonResponse({"detail": refused.message, "redirect": reverse("identity:login")}, status=409)
    response = HttpResponse(options, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _login_step_page(
    request: HttpRequest, stage: str, template: str, step: Any, form_class: Any, extra: dict[str, Any]
) -> HttpResponse:
    pending, user = services.pending_user(request)
    if pending is None or not services.pending_allows(pending, stage):
        messages.warning(request, services.EXPIRED_MESSAGE)
        return redirect("identity:login")
    error = ""
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = step(request, form.cleaned_data)
        response = _step_redirect(result, pending.get("next", ""), request)
        if response is not None:
            return response
        if result.status in {"locked", "expired"}:
            messages.error(request, result.message)
            return redirect("identity:login")
        error = result.message
        # The response was used up: the next attempt needs a new ceremony (the name stays).
        form = form_class(initial={k: v for k, v in form.cleaned_data.items() if k == "name"})
    context = {"form": form, "error": error, "pending_user": user, **extra}
    return render(request, template, context)


@sensitive_post_parameters("credential")
@never_cache
@require_http_methods(["GET", "POST"])
def login_webauthn_view(request: HttpRequest) -> HttpResponse:
    return _login_step_page(
        request,
        "webauthn",
        "identity/login_webauthn.html",
        lambda req, data: services.do_webauthn_step(req, data["credential"]),
        WebAuthnAssertionForm,
        {"can_totp": _pending_may(request, "totp")},
    )


def _unavailable(exc: ImproperlyConfigured) -> HttpResponse:
    return JsonResponse({"detail": str(exc)}, status=409)


@never_cache
@require_POST
def login_webauthn_options_view(request: HttpRequest) -> HttpResponse:
    try:
        return _options_response(*services.begin_webauthn_step(request))
    except ImproperlyConfigured as exc:
        return _unavailable(exc)


@sensitive_post_parameters("credential")
@never_cache
@require_http_methods(["GET", "POST"])
def login_webauthn_enrol_view(request: HttpRequest) -> HttpResponse:
    return _login_step_page(
        request,
        "enrol",
        "identity/login_webauthn_enrol.html",
        lambda req, data: services.do_webauthn_enrol_step(req, data["name"], data["credential"]),
        WebAuthnRegisterForm,
        {},
    )


@never_cache
@require_POST
def login_webauthn_enrol_options_view(request: HttpRequest) -> HttpResponse:
    try:
        return _options_response(*services.begin_webauthn_enrol(request))
    except ImproperlyConfigured as exc:
        return _unavailable(exc)


@sensitive_post_parameters("credential")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def webauthn_register_view(request: HttpRequest) -> HttpResponse:
    form = WebAuthnRegisterForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            credential = services.do_register_webauthn(
                request.user, form.cleaned_data["name"], form.cleaned_data["credential"], request
            )
        except DomainError as exc:
            # The response was used up: a new attempt needs a new ceremony (the name stays).
            form = WebAuthnRegisterForm(initial={"name": form.cleaned_data["name"]})
            error = exc.message
        else:
            messages.success(request, f"安全密钥“{credential.name}”已登记，今后登录时可以用它完成第二步验证。")
            return redirect("identity:account")
    return render(
        request,
        "identity/webauthn_register.html",
        {"form": form, "error": error, "credentials": queries.webauthn_credentials_of(request.user)},
    )


@login_required
@never_cache
@require_POST
def webauthn_register_options_view(request: HttpRequest) -> HttpResponse:
    try:
        return _options_response(services.begin_webauthn_registration(request), None)
    except ImproperlyConfigured as exc:
        return _unavailable(exc)


@sensitive_post_parameters("password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def webauthn_remove_view(request: HttpRequest, credential_id: int) -> HttpResponse:
    credential = next((c for c in queries.webauthn_credentials_of(request.user) if c.pk == credential_id), None)
    if credential is None:
        messages.error(request, "该安全密钥不存在或已移除。")
        return redirect("identity:account")
    form = WebAuthnRemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_remove_webauthn(request.user, credential.pk, form.cleaned_data["password"], request)
        except DomainError as exc:
            form.add_error("password" if exc.field == "password" else None, exc.message)
        else:
            messages.success(request, f"安全密钥“{credential.name}”已移除，它不能再用于登录本账号。")
            return redirect("identity:account")
    return render(request, "identity/webauthn_remove.html", {"form": form, "credential": credential})


@require_admin_role(AdminRole.SECURITY)
@never_cache
@require_http_methods(["GET", "POST"])
def webauthn_reset_view(request: HttpRequest) -> HttpResponse:
    return _reset_second_factor(
        request, services.do_reset_webauthn, "identity:webauthn_reset", "identity/webauthn_reset.html",
        "已移除 {target} 登记的全部安全密钥；管理员下次登录时须重新登记第二重身份鉴别。",
        {"holders": queries.webauthn_holders(request.user)[:200]},
    )
