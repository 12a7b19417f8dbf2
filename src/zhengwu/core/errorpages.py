"""Error answers the platform gives when something goes wrong before or outside a view.

Two contracts:

- Under `/api/` every error, whatever produced it (a missing route, a wrong method, a refused
  CSRF token, an unhandled exception, a body over the limit), is the API's JSON error body
  `{"detail": ..., "errors": [...]}` in Chinese; `ApiErrorBodyMiddleware` rewrites any non-JSON
  error response there. Another machine-facing prefix with its own error body (the data
  gateway's `/gateway/v1/`) is registered by its app with `register_json_prefix`, and gets the
  same treatment with that body.
- Pages get Chinese 400/403/404/405/500 templates (Django's English defaults and its empty 405
  never show), and the CSRF failure view is ours.

The request body limit is checked from the Content-Length header before anything reads the body:
`BodySizeLimitMiddleware` (first in the Django stack, for WSGI and the test client) and
`BodySizeLimitASGI` (around the ASGI application, before Django spools the body to disk, and the
only place a chunked body without Content-Length can be counted).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"
CSRF_API_MESSAGE = "安全校验（CSRF）未通过：请先获取 CSRF 令牌并在 X-CSRFToken 请求头中提交"

STATUS_MESSAGES = {
    400: "请求有误",
    401: "未登录或会话已过期，请先登录",
    403: "无权访问",
    404: "请求的地址不存在",
    405: "不支持的请求方法",
    406: "不支持请求的响应格式",
    408: "请求超时",
    409: "与当前状态冲突",
    411: "请求必须带 Content-Length（请求体长度）",
    413: "请求体过大",
    415: "不支持的请求体格式",
    429: "请求过于频繁，请稍后重试",
    500: "服务器内部错误，请稍后重试；问题已记录",
    502: "上游服务不可用",
    503: "服务暂不可用，请稍后重试",
}


ErrorBody = Callable[[int, str], dict[str, Any]]
_json_prefixes: dict[str, ErrorBody] = {}


def register_json_prefix(prefix: str, body: ErrorBody) -> None:
    """Errors under `prefix` are JSON built by `body(status, message)` (called from an app's
    `ready()`; the app's own handlers should answer with the same shape)."""
    _json_prefixes[prefix] = body


def _error_body_for(path: str) -> ErrorBody | None:
    if path.startswith(API_PREFIX):
        return lambda status, message: api_error_body(message)
    for prefix, body in _json_prefixes.items():
        if path.startswith(prefix):
            return body
    return None


def is_api_path(path: str) -> bool:
    """Whether errors under `path` are answered as JSON (/api/ or a registered prefix)."""
    return _error_body_for(path) is not None


def status_message(status: int) -> str:
    return STATUS_MESSAGES.get(status, "请求有误" if status < 500 else STATUS_MESSAGES[500])


def api_error_body(detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}


def json_error(status: int, detail: str | None = None, *, path: str = API_PREFIX) -> JsonResponse:
    """The JSON error answer for `path` (the /api/ body unless a registered prefix says otherwise)."""
    body = _error_body_for(path) or (lambda status, message: api_error_body(message))
    return JsonResponse(
        body(status, detail or status_message(status)), status=status, json_dumps_params={"ensure_ascii": False}
    )


# --- request body limit -------------------------------------------------------------------------


def body_limit(content_type: str) -> int:
    """Largest accepted request body in bytes: file uploads (multipart) may be as large as one
    ingest file plus form overhead; every other body is read into memory and is capped lower."""
    if content_type.lower().startswith("multipart/"):
        return settings.INGEST_MAX_FILE_MB * 1024 * 1024 + 1024 * 1024
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def too_large_message(content_type: str) -> str:
    if content_type.lower().startswith("multipart/"):
        return f"上传的文件超过 {settings.INGEST_MAX_FILE_MB} MB 上限（ZHENGWU_INGEST_MAX_FILE_MB），请拆分后分批上传"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return f"请求体超过 {limit} MB 上限（ZHENGWU_MAX_REQUEST_MB），请分批提交"


def _declared_length(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return max(0, int(value.strip()))
    except ValueError:
        return -1  # not a number: refused as a bad request


def _plain(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class BodySizeLimitMiddleware:
    """Refuse a request whose declared body is over the limit, before any middleware reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        content_type = request.META.get("CONTENT_TYPE", "") or ""
        length = _declared_length(request.META.get("CONTENT_LENGTH"))
        if length == -1:
            message = "请求头 Content-Length 不是数字"
            return json_error(400, message, path=request.path) if is_api_path(request.path) else _plain(400, message)
        if length is not None and length > body_limit(content_type):
            message = too_large_message(content_type)
            return json_error(413, message, path=request.path) if is_api_path(request.path) else _plain(413, message)
        return self.get_response(request)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]  # Django's handler types its arguments more narrowly


class BodySizeLimitASGI:
    """ASGI wrapper: Django's ASGI handler spools the whole body before any middleware runs, so
    the limit is enforced here first — by Content-Length, or by counting a chunked body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        content_type = headers.get("content-type", "")
        limit = body_limit(content_type)
        length = _declared_length(headers.get("content-length"))
        path = str(scope.get("path", ""))
        if length is not None and length > limit:
            await self._refuse(send, path, 413, too_large_message(content_type))
            return
        if length is not None:
            await self.app(scope, receive, send)
            return
        if content_type.lower().startswith("multipart/") and "chunked" in headers.get("transfer-encoding", ""):
            await self._refuse(send, path, 411, "上传文件时请求必须带 Content-Length（请求体长度）")
            return
        # No declared length: count what arrives; past the limit, stop reading and answer 413.
        received = 0
        over = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted, send)
        if over:
            await self._refuse(send, path, 413, too_large_message(content_type))

    @staticmethod
    async def _refuse(send: Send, path: str, status: int, message: str) -> None:
        builder = _error_body_for(path)
        if builder is not None:
            body = json.dumps(builder(status, message), ensure_ascii=False).encode()
            content_type = b"application/json"
        else:
            body = message.encode()
            content_type = b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


# --- JSON errors under /api/ ------------------------------------------------------------------


_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiErrorBodyMiddleware:
    """Every error answer under /api/ (and a registered JSON prefix) is the JSON error body,
    whatever produced it; on pages, Django's empty 405 (require_POST & co.) becomes a Chinese page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400:
            return response
        if not is_api_path(request.path):
            if response.status_code == 405 and not getattr(response, "streaming", False) and not response.content:
                allowed = "、".join(m.strip() for m in response.get("Allow", "").split(",") if m.strip())
                page = render(request, "405.html", {"allowed": allowed}, status=405)
                page["Allow"] = response.get("Allow", "")
                return page
            return response
        if "json" in response.get("Content-Type", ""):
            return response
        replacement = json_error(response.status_code, path=request.path)
        for header in _KEPT_HEADERS:
            if header in response:
                replacement[header] = response[header]
        return replacement


# --- pages ------------------------------------------------------------------------------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(400, path=request.path)
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(403, path=request.path)
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(404, path=request.path)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(500, path=request.path)
    # No context processors or database here: the error may be the database itself.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render({}), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api_path(request.path):
        return json_error(403, CSRF_API_MESSAGE, path=request.path)
    return render(request, "403_csrf.html", status=403)
