"""Pages of the OpenID provider: the protocol endpoints (django-oauth-toolkit's views with the
platform's rules) and the console pages (应用系统接入, 应用系统接入审核)."""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import time
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import View
from oauth2_provider.exceptions import InvalidOIDCClientError, InvalidOIDCRedirectURIError
from oauth2_provider.models import AccessToken, Application
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView, ConnectDiscoveryInfoView, RPInitiatedLogoutView

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import record_event
from zhengwu.core.errors import DomainError, NotFound
from zhengwu.identity import services as identity_services

from . import keys, queries, services
from .claims import SCOPES, subject_for
from .forms import RefuseForm, RegistrationForm
from .models import Audience, ClientKind, ClientRegistration
from .validator import client_usable, registration_of, sha256, token_session_open

REAUTH_KEY = "oidc_reauth_since"
SECRET_ONCE_KEY = "oidc_secret_once"  # noqa: S105 — a session key name, not a secret


# --- protocol endpoints -----------------------------------------------------------------------
class DiscoveryView(ConnectDiscoveryInfoView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data.update(
            {
                "id_token_signing_alg_values_supported": ["RS256"],
                "revocation_endpoint": self._get_endpoint_url(request, "revoke-token", required=True),
                "introspection_endpoint": self._get_endpoint_url(request, "introspect", required=True),
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
                "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
                "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
                "backchannel_logout_supported": True,
                "backchannel_logout_session_supported": True,
                "ui_locales_supported": ["zh-CN"],
            }
        )
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out


@method_decorator(never_cache, name="dispatch")
class JwksView(View):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = JsonResponse(keys.jwks())
        response["Access-Control-Allow-Origin"] = "*"
        return response


def _login_url_for(registration: ClientRegistration | None) -> str:
    if registration is not None and registration.audience == Audience.PUBLIC:
        try:
            return reverse("portal:login")
        except NoReverseMatch:
            pass
    return reverse(settings.LOGIN_URL)


class AuthorizeView(AuthorizationView):
    """Authorization endpoint: the platform's own login (identity:login; portal:login for
    public-only systems), prompt=login and max_age, the staff-only rule, consent for public systems."""

    template_name = "oidc/authorize.html"

    def _registration(self) -> ClientRegistration | None:
        client_id = self.request.GET.get("client_id") or self.request.POST.get("client_id") or ""
        application = Application.objects.filter(client_id=client_id[:100]).first() if client_id else None
        return registration_of(application) if application is not None else None

    def get_login_url(self) -> str:
        return _login_url_for(self._registration())

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        registration = self._registration()
        user: Any = request.user
        if registration is not None and registration.usable:
            if registration.audience == Audience.STAFF and user.account_kind != "staff":
                record_event(
                    request.user, "oidc.refuse_account", object_type="oidc.client",
                    object_id=registration.application.client_id, result=AuditResult.FAILURE,
                    details={"name": registration.name, "account_kind": user.account_kind}, request=request,
                )
                return render(request, "oidc/refused.html", {"registration": registration}, status=403)
            if "login" in request.GET.get("prompt", "").split():
                request.session[REAUTH_KEY] = time.time()
                return self.handle_prompt_login()
            again = self._needs_login_again(request)
            if again:
                return redirect_to_login(request.get_full_path(), self.get_login_url())
        return super().get(request, *args, **kwargs)

    def _needs_login_again(self, request: HttpRequest) -> bool:
        auth_time = services.session_auth_time(request)
        since = request.session.get(REAUTH_KEY)
        if isinstance(since, (int, float)):
            if auth_time + 1 >= since:
                request.session.pop(REAUTH_KEY, None)
                return False
            return True
        raw = request.GET.get("max_age", "")
        if raw.isdigit() and time.time() - auth_time > int(raw):
            request.session[REAUTH_KEY] = time.time()
            return True
        return False

    def create_authorization_response(self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool) -> Any:
        if allow and request.user.is_authenticated:
            credentials["zw_sso_id"] = services.sso_session_for(request).pk
        result = super().create_authorization_response(request, scopes, credentials, allow)
        if allow:
            record_event(
                request.user, "oidc.authorize", object_type="oidc.client", object_id=credentials.get("client_id", ""),
                details={"scopes": scopes if isinstance(scopes, str) else " ".join(scopes)}, request=request,
            )
        return result

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        application = context.get("application")
        context["registration"] = registration_of(application) if application is not None else None
        context["scope_labels"] = [SCOPES[s] for s in context.get("scopes", []) if s in SCOPES]
        return context


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(View):
    """RFC 7662, for authenticated confidential clients only: a client learns about its own tokens;
    a client registered (and approved) with the scope `introspection` about any token."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client = self._authenticate(request)
        if client is None:
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="introspection"'
            return response
        value = request.POST.get("token", "")
        if not value:
            return JsonResponse({"error": "invalid_request", "error_description": "token is required"}, status=400)
        token = AccessToken.objects.select_related("application", "user").filter(token_checksum=sha256(value)).first()
        may_see_all = "introspection" in client.registration.scope_list
        if (
            token is None
            or not token.is_valid()
            or not client_usable(token.application)
            or not token_session_open(token)
            or (token.application_id != client.pk and not may_see_all)
        ):
            return JsonResponse({"active": False})
        data: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.application.client_id,
            "token_type": "Bearer",
            "exp": int(calendar.timegm(token.expires.utctimetuple())),
            "iat": int(calendar.timegm(token.created.utctimetuple())),
            "iss": oauth2_settings.oidc_issuer(request),
        }
        if token.user is not None:
            data["sub"] = subject_for(token.user)
        return JsonResponse(data)

    def _authenticate(self, request: HttpRequest) -> Application | None:
        client_id = secret = ""
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
                client_id, secret = (unquote_plus(p) for p in decoded.split(":", 1))
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
        else:
            client_id, secret = request.POST.get("client_id", ""), request.POST.get("client_secret", "")
        if not client_id or not secret:
            return None
        application = Application.objects.filter(client_id=client_id[:100]).first()
        if application is None or application.client_type != Application.CLIENT_CONFIDENTIAL:
            return None
        if not client_usable(application) or not OAuth2Validator()._check_secret(secret, application.client_secret):
            return None
        return application


class LogoutView(RPInitiatedLogoutView):
    """RP-initiated logout: ends the platform session through identity (audited, hooks run: every
    client of the session is logged out by back-channel)."""

    template_name = "oidc/logout_confirm.html"

    def validate_post_logout_redirect_uri(self, application: Any, post_logout_redirect_uri: str | None) -> None:
        if not post_logout_redirect_uri:
            return
        if application is None or not client_usable(application):
            raise InvalidOIDCClientError()
        if post_logout_redirect_uri not in application.post_logout_redirect_uris.split():
            raise InvalidOIDCRedirectURIError("This client does not have this redirect uri registered.")

    def get_request_application(self, id_token: Any, client_id: str | None) -> Any:
        if client_id:
            application = Application.objects.filter(client_id=client_id[:100]).first()
            if application is None:
                raise InvalidOIDCClientError()
            return application
        return id_token.application if id_token else None

    def do_logout(self, application: Any = None, post_logout_redirect_uri: str | None = None, state: str | None = None, token_user: Any = None) -> HttpResponse:
        if self.request.user.is_authenticated:
            identity_services.do_logout(self.request)
        elif token_user is not None:
            # The platform session is already gone (e.g. logged out elsewhere), but the system that
            # sent the ID token may still hold tokens of that SSO session: end it by the token's sid.
            self._end_hinted_session(token_user)
        return super_redirect(self.request, application, post_logout_redirect_uri, state)

    def _end_hinted_session(self, token_user: Any) -> None:
        from oauth2_provider.views.oidc import _load_id_token

        from .models import SsoSession

        hint = self.request.GET.get("id_token_hint") or self.request.POST.get("id_token_hint") or ""
        _token, claims = _load_id_token(hint) if hint else (None, None)
        sid = (claims or {}).get("sid")
        session = SsoSession.objects.filter(sid=sid, user=token_user, ended_at__isnull=True).first() if sid else None
        if session is not None:
            services.end_session(session, "rp_logout", oauth2_settings.oidc_issuer(self.request))

    def error_response(self, error: Any) -> HttpResponse:
        return self.render_to_response({"error": error, "error_text": _logout_error_text(error)}, status=error.status_code)


def _logout_error_text(error: Any) -> str:
    if isinstance(error, InvalidOIDCRedirectURIError):
        return "退出后返回地址未在该应用系统登记，平台不会跳转到该地址。"
    if isinstance(error, InvalidOIDCClientError):
        return "无法识别发起退出的应用系统。"
    return "退出请求无效（身份令牌无法核验或与应用系统不符）。"


def super_redirect(request: HttpRequest, application: Any, uri: str | None, state: str | None) -> HttpResponse:
    from oauth2_provider.http import OAuth2ResponseRedirect
    from oauthlib.common import add_params_to_uri

    if uri and application is not None:
        target = add_params_to_uri(uri, [("state", state)]) if state else uri
        return OAuth2ResponseRedirect(target, application.get_allowed_schemes())
    messages.info(request, "您已安全退出。")
    return redirect("identity:login")


# --- console: 应用系统接入 (units) -------------------------------------------------------------------
def _forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "403.html", {"reason": reason}, status=403)


APP_ADMIN_REASON = "此功能仅限持有“应用系统管理员”业务角色的工作人员使用（由系统管理员在用户管理中授予）。"


@login_required
@never_cache
def clients_view(request: HttpRequest) -> HttpResponse:
    units = queries.managed_units(request.user)
    if not units:
        return _forbidden(request, APP_ADMIN_REASON)
    registrations = list(queries.unit_registrations(request.user))
    return render(request, "oidc/clients.html", {"registrations": registrations, "units": units})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def client_register_view(request: HttpRequest) -> HttpResponse:
    units = queries.managed_units(request.user)
    if not units:
        return _forbidden(request, APP_ADMIN_REASON)
    form = RegistrationForm(request.POST or None, request.FILES or None, units=units)
    if request.method == "POST" and form.is_valid():
        unit = next(u for u in units if u.pk == form.cleaned_data["unit"])
        try:
            registration, secret = services.do_register_client(request.user, unit=unit, request=request, **form.service_arguments())
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if secret:
                request.session[SECRET_ONCE_KEY] = {"id": registration.pk, "secret": secret}
            messages.success(request, f"已登记“{registration.name}”，等待系统管理员审核。")
            return redirect("oidc:client_detail", registration.pk)
    return render(request, "oidc/client_form.html", {"form": form})


def _detail_context(request: HttpRequest, registration: ClientRegistration) -> dict[str, Any]:
    once = request.session.pop(SECRET_ONCE_KEY, None)
    secret = once["secret"] if isinstance(once, dict) and once.get("id") == registration.pk else ""
    return {
        "registration": registration,
        "application": registration.application,
        "secret": secret,
        "may_manage": services.may_manage(request.user, registration),
        "is_system_admin": services.is_system_admin(request.user),
        "scope_labels": [(s, SCOPES.get(s, s)) for s in registration.scope_list],
        "issuer": oauth2_settings.oidc_issuer(request),
        "refuse_form": RefuseForm(),
        "ClientKind": ClientKind,
    }


@login_required
@never_cache
def client_detail_view(request: HttpRequest, registration_id: int) -> HttpResponse:
    try:
        registration = queries.registration_for(request.user, registration_id)
    except NotFound as exc:
        return render(request, "404.html", {"reason": exc.message}, status=404)
    return render(request, "oidc/client_detail.html", _detail_context(request, registration))


def _action(request: HttpRequest, registration_id: int, call: Any, success: str) -> HttpResponse:
    try:
        queries.registration_for(request.user, registration_id)
        result = call()
    except NotFound as exc:
        return render(request, "404.html", {"reason": exc.message}, status=404)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if isinstance(result, str) and result:
            request.session[SECRET_ONCE_KEY] = {"id": registration_id, "secret": result}
        messages.success(request, success)
    return redirect("oidc:client_detail", registration_id)


@login_required
@require_POST
def client_rotate_secret_view(request: HttpRequest, registration_id: int) -> HttpResponse:
    return _action(
        request, registration_id,
        lambda: services.do_rotate_client_secret(request.user, registration_id, request=request),
        "已生成新的客户端密钥，旧密钥立即失效。请立即复制保存新密钥：离开本页后不再显示。",
    )


@login_required
@require_POST
def client_enable_view(request: HttpRequest, registration_id: int, enabled: int) -> HttpResponse:
    return _action(
        request, registration_id,
        lambda: services.do_set_client_enabled(request.user, registration_id, bool(enabled), request=request) and "",
        "已启用该系统。" if enabled else "已停用该系统：其令牌立即失效，用户无法再通过统一身份认证登录。",
    )


def logo_view(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration = ClientRegistration.objects.filter(pk=registration_id).select_related("unit").first()
    if registration is None or not registration.logo or not queries.logo_visible(request.user, registration):
        return HttpResponse(status=404)
    response = HttpResponse(bytes(registration.logo), content_type=registration.logo_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- console: 应用系统接入审核 (系统管理员) ----------------------------------------------------------------
SYSTEM_ADMIN_REASON = "此功能仅限系统管理员使用（三权分立：管理员只能使用本角色的控制台）。"


@login_required
@never_cache
def review_view(request: HttpRequest) -> HttpResponse:
    if not services.is_system_admin(request.user):
        return _forbidden(request, SYSTEM_ADMIN_REASON)
    pending = list(queries.pending_registrations(request.user))
    others = list(queries.all_registrations(request.user).exclude(pk__in=[r.pk for r in pending])[:200])
    return render(request, "oidc/review.html", {"pending": pending, "others": others, "refuse_form": RefuseForm()})


@login_required
@require_POST
def review_decide_view(request: HttpRequest, registration_id: int, decision: str) -> HttpResponse:
    if not services.is_system_admin(request.user):
        return _forbidden(request, SYSTEM_ADMIN_REASON)
    try:
        if decision == "approve":
            registration = services.do_approve_client(request.user, registration_id, request=request)
            messages.success(request, f"已批准“{registration.name}”接入统一身份认证。")
        else:
            registration = services.do_refuse_client(request.user, registration_id, request.POST.get("reason", ""), request=request)
            messages.success(request, f"已退回“{registration.name}”的登记。")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("oidc:review")
