"""Request hygiene shared by every page and API.

`RejectNulMiddleware`: a NUL character (U+0000) is never meaningful in a form field, a query
parameter or a JSON string, and PostgreSQL cannot store one in a text column. A request that
carries one is refused up front with a Chinese 400 naming the parameter, instead of failing deep
in the database. File uploads (multipart bodies) are not inspected: files may be binary.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

# An escaped \u0000 in JSON text that is not itself an escaped backslash ("\\u0000").
_JSON_NUL = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000", re.IGNORECASE)
MESSAGE = "请求中含有空字符（NUL，\\u0000），已拒绝；请去掉后重试"


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = self._offending_field(request)
        if field is not None:
            message = f"{field}：{MESSAGE}" if field else MESSAGE
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message, "errors": [{"field": field or "请求体", "message": message}]},
                                    status=400, json_dumps_params={"ensure_ascii": False})
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _offending_field(request: HttpRequest) -> str | None:
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return key.replace("\x00", "")
        if "\x00" in request.path:
            return "路径"
        content_type = request.content_type or ""
        if request.method in ("POST", "PUT", "PATCH") and not content_type.startswith("multipart/"):
            body = request.body
            if content_type == "application/json" or content_type.endswith("+json"):
                if b"\x00" in body or _JSON_NUL.search(body):
                    return ""
            elif content_type == "application/x-www-form-urlencoded":
                for key, values in request.POST.lists():
                    if "\x00" in key or any("\x00" in v for v in values):
                        return key.replace("\x00", "")
        return None


# The policy of machine-facing answers (JSON, CSV): nothing in them may load, run or be framed.
MACHINE_CSP = "default-src 'none'; frame-ancestors 'none'"


class MachineContentSecurityPolicyMiddleware:
    """The Content-Security-Policy of the routes that answer machines (core.threadpool_handler's
    MACHINE_MIDDLEWARE), in place of django-csp's page policy, which is rebuilt for every response:
    an answer that is never a page gets the strictest policy, one constant header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = MACHINE_CSP
        return response
