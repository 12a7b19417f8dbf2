"""Django's synchronous request handling on a fixed pool of long-lived threads, for the
machine-facing routes whose views are all synchronous and whose answers are never streamed (the
data gateway's reads register theirs in their app's `ready()`).

Why: under ASGI, Django runs every request in its own `ThreadSensitiveContext` — a new thread per
request, started and joined — and, because some middleware in the stack is sync-only, hops between
that thread and the event loop several times per request (the outer sync middleware, the inner
async-capable ones, the sync view, each signal). Profiled with py-spy on the gateway at 32
clients, starting and joining those threads and the hops took more of a worker's CPU than the
gateway's own work. Here the whole request runs in ONE call on one of N threads kept for the
process, as under a threaded WSGI server: the same URL resolution, exception handling, error
bodies and `request_started` / `request_finished` signals (so database connections are taken and
given back per request as usual), and the middleware of `MACHINE_MIDDLEWARE` — MIDDLEWARE's error
bodies, input guards and security headers without its browser-session layers (settings.py says
why), in Django's sync mode. The event loop only reads the request and writes the answer (Django's own
`ASGIHandler.send_response`).

Contract: a route sent here answers with a non-streaming response. A streaming answer would have
to be read into memory or iterated on another thread than the one holding its database cursor, so
it is refused as a platform fault (500, logged) — routes that stream (the gateway's bulk extract)
are not registered.

`ZHENGWU_SYNC_THREADS` (default 8) threads per process; with the connection pool on, settings refuse more
threads than `ZHENGWU_DB_POOL_MAX`, so no thread waits for a connection.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseServerError
from django.urls import set_script_prefix
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
RoutePredicate = Callable[[str], bool]

_routes: list[RoutePredicate] = []


def register_route(predicate: RoutePredicate) -> None:
    """Send the requests whose path satisfies `predicate` to the thread pool (from an app's
    `ready()`; only for synchronous, non-streaming views)."""
    if predicate not in _routes:
        _routes.append(predicate)


def is_pooled(path: str) -> bool:
    return any(predicate(path) for predicate in _routes)


def thread_count() -> int:
    return int(settings.SYNC_THREADS)  # checked (≥ 1, ≤ the pool's size) in settings


class ThreadPoolHandler(ASGIHandler):
    """An ASGI application running Django's sync handler on a fixed thread pool (see the module)."""

    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self._load_machine_middleware(settings.MACHINE_MIDDLEWARE)
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _load_machine_middleware(self, paths: list[str]) -> None:
        """BaseHandler.load_middleware in sync mode, for `paths` instead of MIDDLEWARE (each is a
        sync-capable middleware; the same hooks collected in the same order as Django does)."""
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]  # not in django-stubs
        for path in reversed(paths):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler

    def _pool(self) -> ThreadPoolExecutor:
        # Made on first use, in the worker process that serves (uvicorn starts its workers after import).
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(thread_count(), thread_name_prefix="zhengwu-sync")
        return self._executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] != "http":
            raise ValueError(f"只支持 HTTP 连接，不支持 {scope['type']}")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(self._pool(), self._respond, scope, body_file)
            await self.send_response(response, send)  # type: ignore[arg-type]  # django-stubs: Mapping messages
        finally:
            body_file.close()

    def _respond(self, scope: Scope, body_file: Any) -> HttpResponseBase:
        """The whole request on this pool thread: signals, middleware, view, and the response's close
        (which sends request_finished and gives the database connection back)."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=ASGIHandler, scope=scope)
        request: HttpRequest | None
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            if response.streaming:
                log.error("同步线程池路由返回了流式响应：%s（该路由不应登记到线程池）", request.path)
                response.close()
                response = HttpResponseServerError("服务器内部错误，请稍后重试；问题已记录",
                                                   content_type="text/plain; charset=utf-8")
        assert isinstance(response, HttpResponse)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if not response.has_header("Content-Length"):  # as CommonMiddleware does on the ASGI path
            response["Content-Length"] = str(len(response.content))
        response.close()
        return response


class PooledRoutes:
    """Dispatch: registered paths to the thread pool handler, everything else to Django's ASGI handler."""

    def __init__(self, django_app: Any) -> None:  # Django's ASGIHandler (typed with its own message types)
        self.django_app = django_app
        self.pooled = ThreadPoolHandler()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_pooled(scope.get("path", "")):
            await self.pooled(scope, receive, send)
        else:
            await self.django_app(scope, receive, send)
