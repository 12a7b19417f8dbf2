"""Session policy, applied to every request after authentication.

1. Idle timeout: the time of the last request is kept in the session; a session idle longer than
   the policy's `session_idle_minutes` is ended (audited "identity.session_timeout"). Pages are
   redirected to the login page, which says why; API calls (/api/) continue as anonymous and so
   get the API's 401 answer.
2. Password age: a user whose password is older than the policy's maximum age, or who must change
   it (set by an administrator), is sent to the change-password page before anything else;
   API calls get a 403 with a Chinese message.
3. Public accounts (公众用户, identity.public) are a separate population: on every staff URL they
   get a redirect to the portal (pages) or a 403 (API); only the portal, the OIDC provider's
   endpoints and static files are theirs. Their idle timeout leads to the portal's login page,
   and the staff password-age rule does not send them to the staff console.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from . import queries, services

API_PREFIX = "/api/"
ACTIVITY_RESOLUTION_SECONDS = 5


def _exempt_paths() -> tuple[str, ...]:
    static_url = getattr(settings, "STATIC_URL", "/static/") or "/static/"
    return (
        reverse("identity:password_change"),
        reverse("identity:logout"),
        reverse("identity:login"),
        static_url if static_url.startswith("/") else "/" + static_url,
        "/healthz",
        "/api/v1/identity/me",
    )


PUBLIC_API_REFUSAL = "公众用户账号不能使用工作人员的接口"


def _is_public(user: object) -> bool:
    return getattr(user, "account_kind", "staff") == "public"


def _public_paths() -> tuple[str, ...]:
    """Where a signed-in public account may go: the portal, the OIDC provider, static files."""
    static_url = getattr(settings, "STATIC_URL", "/static/") or "/static/"
    return (
        reverse("portal:home"),
        "/oidc/",
        "/.well-known/",
        static_url if static_url.startswith("/") else "/" + static_url,
        "/healthz",
        "/favicon.ico",
    )


def _refuse_public(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": PUBLIC_API_REFUSAL, "errors": []}, status=403)
    return HttpResponseRedirect(reverse("portal:home"))


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            response = self._apply(request)
            if response is not None:
                return response
            if _is_public(request.user) and not request.path.startswith(_public_paths()):
                return _refuse_public(request)
        return self.get_response(request)

    def _apply(self, request: HttpRequest) -> HttpResponse | None:
        now = timezone.now()
        policy = queries.get_policy(request)
        last = request.session.get(services.LAST_ACTIVITY_KEY)
        is_api = request.path.startswith(API_PREFIX)
        public = _is_public(request.user)
        if isinstance(last, (int, float)):
            idle = now.timestamp() - float(last)
            if idle > policy.session_idle_minutes * 60:
                services.do_session_timeout(request, idle)
                if is_api:
                    return None  # continue as anonymous: the API answers 401
                login_url = reverse("portal:login" if public else "identity:login")
                return HttpResponseRedirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        # Refresh at most every few seconds: a burst of requests does not rewrite the session each time.
        if not isinstance(last, (int, float)) or now.timestamp() - float(last) >= ACTIVITY_RESOLUTION_SECONDS:
            request.session[services.LAST_ACTIVITY_KEY] = now.timestamp()

        if public:
            return None  # the staff password-age rule leads to a staff page; see point 3
        reason = queries.password_change_reason(request.user, policy, now)
        if reason and not request.path.startswith(_exempt_paths()):
            if is_api:
                return JsonResponse(
                    {"detail": "密码已过期或须修改，请先在“账号与安全”页面修改密码", "errors": []}, status=403
                )
            return HttpResponseRedirect(reverse("identity:password_change"))
        return None
