"""The gateway's HTTP endpoints under /gateway/v1/ (plain Django views: each call is a handful of
statements, and the OpenAPI documents are built per consumer from its grant, see openapi.py).

Every data call runs the same steps (`_call`): authenticate (auth), check the source address,
find the grant in force (enforcement.grant_for), count the call against the grant's minute and
day windows, run the read on the serving store with only granted columns and the grant's row
scope, mask, answer — and write one GatewayCall (and its DataUse rows) whatever the outcome,
refusals included. Errors are JSON in Chinese: {"error": {"status", "message", "field"}}.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import io
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import lru_cache, wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt

from zhengwu.core import exports
from zhengwu.core.crypto import field_key, hmac_sm3, sm3
from zhengwu.core.http import client_ip
from zhengwu.datahub.serving import queries as serving

from . import auth, enforcement, openapi
from .errors import GatewayError
from .models import Operation
from .services import CallFacts, add_data_uses, record_call, subjects_of

log = logging.getLogger(__name__)

CASE_REF_RE = re.compile(r"[^\w\-./:（）()#]")
JSON_TYPE = "application/json; charset=utf-8"


def error_response(exc: GatewayError) -> JsonResponse:
    body = {"error": {"status": exc.status, "message": exc.message, "field": exc.field or ""}}
    response = JsonResponse(body, status=exc.status, json_dumps_params={"ensure_ascii": False})
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="zhengwu-gateway", scope="sharing"'
    return response


def _json(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")), content_type=JSON_TYPE, status=status)


def _case_ref(request: HttpRequest) -> str:
    raw = request.headers.get("X-Zhengwu-Purpose", "")
    return CASE_REF_RE.sub("", raw)[:64]


def _serving_error(view: Any, exc: Exception) -> GatewayError:
    """A serving-store refusal, told only in terms of the grant (nothing about other items)."""
    status = 404 if isinstance(exc, serving.NotServed) else 400
    if status == 404:
        return GatewayError(404, "该信息资源暂无可提供的数据", "code")
    field = getattr(exc, "field", None) or ""
    if view is not None and field in view.names:
        return GatewayError(400, getattr(exc, "message", "查询条件无效"), field)
    return GatewayError(400, "查询条件无效", field if view is not None and field in view.names else None)


def gateway_call(operation: str) -> Callable[..., Any]:
    """Authenticate, enforce, account: the frame of every data endpoint."""

    def decorator(handler: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(handler)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            facts = CallFacts(operation=operation, started=time.perf_counter(), remote_addr=client_ip(request),
                              case_ref=_case_ref(request), resource_code=str(kwargs.get("code", ""))[:64])
            try:
                if request.method != "GET":
                    raise GatewayError(405, "只支持 GET 请求")
                facts.caller = auth.authenticate(request)
                if not auth.source_allowed(facts.caller, facts.remote_addr):
                    raise GatewayError(403, f"来源地址 {facts.remote_addr} 不在该凭证允许的范围内")
                # Inside a transaction already (a test, a caller's atomic block), a savepoint keeps
                # a failed query from aborting it before the call is logged; in autocommit, nothing.
                with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
                    response = handler(request, facts, *args, **kwargs)
            except GatewayError as exc:
                facts.status, facts.error = exc.status, exc.message
                response = error_response(exc)
            except (serving.ServingError, serving.NotServed) as exc:
                mapped = _serving_error(facts.view, exc)
                facts.status, facts.error = mapped.status, mapped.message
                response = error_response(mapped)
            except Exception:  # a fault of the platform: logged with its trace, the call still accounted
                log.exception("gateway %s call failed", operation)
                failure = GatewayError(500, "网关内部错误，请稍后重试；问题已记录")
                facts.status, facts.error = failure.status, failure.message
                response = error_response(failure)
            if not getattr(response, "gateway_recorded", False):
                record_call(facts, (time.perf_counter() - facts.started) * 1000)
            # records of persons and enterprises: never kept by a browser or a proxy on the way
            if not response.has_header("Cache-Control"):
                response["Cache-Control"] = "no-store"
            return response

        return wrapped

    return decorator


# --- directory -----------------------------------------------------------------------------------------


@gateway_call(Operation.LIST)
def services_list(request: HttpRequest, facts: CallFacts) -> HttpResponse:
    """listMethods / allowedMethods: the resources this system's unit may read, with their items."""
    views = enforcement.granted_views(facts.caller)
    base = request.build_absolute_uri("/gateway/v1/")
    return _json({
        "unit": facts.caller.unit_name, "client": facts.caller.client_name,
        "services": [
            {
                "code": v.code, "name": v.name, "provider": v.provider_name, "valid_until": v.valid_until.isoformat(),
                "keys": v.keys, "items": [{"field": i.field_name, "name": i.label, "masked": bool(i.method)} for i in v.items],
                "rate_per_minute": v.rate_per_minute, "daily_quota": v.daily_quota,
                "openapi": f"{base}services/{v.code}/openapi.json",
            }
            for v in views
        ],
    })


@gateway_call(Operation.OPENAPI)
def service_openapi(request: HttpRequest, facts: CallFacts, code: str) -> HttpResponse:
    """getOpenAPI: an OpenAPI 3 document for this consumer's grant on one resource."""
    view = facts.view = enforcement.grant_for(facts.caller, code)
    return _json(openapi.for_grant(view, request.build_absolute_uri("/")))


def health(request: HttpRequest) -> HttpResponse:
    """200 when the gateway can reach its database, 500 with the reason otherwise (no credentials)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return _json({"status": "error", "reason": "数据库不可用"}, status=500)
    return _json({"status": "ok"})


def openapi_document(request: HttpRequest) -> HttpResponse:
    """The gateway's endpoints in general (per-resource documents come from /services/{code}/openapi.json)."""
    return _json(openapi.general(request.build_absolute_uri("/")))


# --- reads ---------------------------------------------------------------------------------------------


def _begin(facts: CallFacts, code: str, view: enforcement.GrantView | None = None) -> enforcement.GrantView:
    view = facts.view = view or enforcement.grant_for(facts.caller, code)
    enforcement.check_limits(view)
    return view


def _read_columns(view: enforcement.GrantView, fields: list[str]) -> list[str]:
    """What is read from the serving store: the chosen items plus the subject columns (identity
    numbers, credit codes) needed to account for whose data was used — the latter never returned."""
    return fields + [c for c in view.subject_columns if c not in fields]


def _lookup(request: HttpRequest, facts: CallFacts, code: str, key: dict[str, str],
            view: enforcement.GrantView | None = None) -> HttpResponse:
    view = _begin(facts, code, view)
    fields = enforcement.choose_fields(view, request.GET.get("fields"))
    facts.items = fields
    expected = view.keys
    if not expected:
        raise GatewayError(400, "该信息资源没有主键，请使用条件查询", "key")
    for name in key:
        if name not in expected:
            raise enforcement.unknown_field(name, "key")
    missing = [k for k in expected if k not in key]
    if missing:
        raise GatewayError(400, f"缺少主键取值：{'、'.join('key.' + k for k in missing)}", "key")
    for name, value in key.items():
        if not value or len(value) > enforcement.MAX_VALUE_CHARS:
            raise GatewayError(400, f"主键 {name} 的取值为空或过长", "key")
    row = serving.lookup(code, key, columns=_read_columns(view, fields), scope=view.scope)
    if row is None:
        raise GatewayError(404, "记录不存在，或不在本单位的授权范围内", "key")
    facts.subjects = subjects_of(view, [row])
    facts.row_count = 1
    shown = enforcement.mask_rows(view, [row], fields)[0]
    return _json({"resource": view.code, "record": shown})


@gateway_call(Operation.LOOKUP)
def record_by_key(request: HttpRequest, facts: CallFacts, code: str, key: str) -> HttpResponse:
    view = enforcement.grant_for(facts.caller, code)
    if len(view.keys) != 1:
        facts.view = view
        raise GatewayError(400, f"该信息资源的主键由多个信息项组成，请用 /record?{'&'.join('key.' + k + '=…' for k in view.keys)}", "key")
    return _lookup(request, facts, code, {view.keys[0]: key}, view)


@gateway_call(Operation.LOOKUP)
def record_by_keys(request: HttpRequest, facts: CallFacts, code: str) -> HttpResponse:
    key = {name[4:]: str(value) for name, value in request.GET.items() if name.startswith("key.")}
    return _lookup(request, facts, code, key)


@lru_cache(maxsize=1)
def _cursor_key() -> bytes:
    return sm3(b"zhengwu-gateway-cursor:" + field_key())


def _query_fingerprint(view: enforcement.GrantView, fields: list[str], filters: list[Any], order: str | None, desc: bool) -> str:
    text = json.dumps([view.grant_id, fields, [(f.field, f.op, list(f.values)) for f in filters], order, desc],
                      ensure_ascii=False, separators=(",", ":"))
    return sm3(text.encode("utf-8")).hex()[:16]


def make_cursor(after: dict[str, Any], fingerprint: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"a": after, "q": fingerprint}, separators=(",", ":"),
                                                  ensure_ascii=False).encode("utf-8")).decode().rstrip("=")
    mac = hmac_sm3(_cursor_key(), payload.encode()).hex()[:32]
    return f"{payload}.{mac}"


def read_cursor(token: str, fingerprint: str) -> dict[str, Any]:
    bad = GatewayError(400, "cursor 无效：请使用上一页返回的 next_cursor，且不要改变查询条件", "cursor")
    payload, _, mac = (token or "").partition(".")
    if len(token) > 4000 or not hmac.compare_digest(hmac_sm3(_cursor_key(), payload.encode()).hex()[:32], mac):
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        raise bad from None
    if not isinstance(data, dict) or data.get("q") != fingerprint or not isinstance(data.get("a"), dict):
        raise bad
    return data["a"]


def _to_serving(filters: list[enforcement.ParsedFilter]) -> list[serving.Filter]:
    return [serving.Filter(f.field, f.op, f.values) for f in filters]


@gateway_call(Operation.QUERY)
def records(request: HttpRequest, facts: CallFacts, code: str) -> HttpResponse:
    view = _begin(facts, code)
    params = request.GET
    fields = enforcement.choose_fields(view, params.get("fields"))
    facts.items = fields
    filters = enforcement.parse_filters(view, params)
    limit = enforcement.parse_limit(params.get("limit"))
    order = enforcement.parse_order(view, params.get("order"))
    desc = params.get("desc", "") in ("1", "true")
    fmt = params.get("format", "json") or "json"
    if fmt not in ("json", "csv"):
        raise GatewayError(400, "format：只能是 json 或 csv", "format")
    fingerprint = _query_fingerprint(view, fields, filters, order, desc)
    after = read_cursor(params["cursor"], fingerprint) if params.get("cursor") else None
    page = serving.query(code, columns=_read_columns(view, fields), filters=_to_serving(filters), scope=view.scope,
                         after=after, limit=limit, order=order, descending=desc)
    facts.subjects = subjects_of(view, page.rows)
    facts.row_count = len(page.rows)
    shown = enforcement.mask_rows(view, page.rows, fields)
    next_cursor = make_cursor(page.next_after, fingerprint) if page.next_after else None
    if fmt == "csv":
        response = HttpResponse(b"".join(exports.csv_stream(fields, ([r[f] for f in fields] for r in shown))),
                                content_type=exports.CSV_TYPE)
        response["Content-Disposition"] = str(content_disposition_header(True, f"{view.code}.csv"))
        if next_cursor:
            response["X-Next-Cursor"] = next_cursor
        response["X-Lake-Version"] = str(page.lake_version)
        return response
    return _json({"resource": view.code, "lake_version": page.lake_version, "items": fields, "rows": shown,
                  "next_cursor": next_cursor})


# --- bulk extract --------------------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only file that hands out what was written since the last `take` (for ParquetWriter)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts = []
        return out


def _extract_chunks(code: str, view: enforcement.GrantView, fields: list[str], fmt: str, call: Any) -> Iterator[bytes]:
    batches = serving.iter_rows(code, columns=_read_columns(view, fields), scope=view.scope, batch_size=5000)

    def masked() -> Iterator[list[dict[str, Any]]]:
        for batch in batches:
            add_data_uses(call, view, subjects_of(view, batch))
            yield enforcement.mask_rows(view, batch, fields)

    if fmt == "csv":
        yield from exports.csv_stream(fields, ([r[f] for f in fields] for batch in masked() for r in batch))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(f, pa.string()) for f in fields])
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    for batch in masked():
        columns = {f: [None if r[f] is None else str(r[f]) for r in batch] for f in fields}
        writer.write_table(pa.table(columns, schema=schema))
        yield sink.take()
    writer.close()
    yield sink.take()


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Pull the sync generator one chunk at a time in the request's thread: under ASGI the rows
    stream with flat memory (a sync iterator would be read whole first)."""
    done = object()

    def step() -> Any:
        return next(chunks, done)

    while True:
        chunk = await sync_to_async(step, thread_sensitive=True)()
        if chunk is done:
            return
        yield chunk


@gateway_call(Operation.EXTRACT)
def extract(request: HttpRequest, facts: CallFacts, code: str) -> HttpResponse | StreamingHttpResponse:
    """Every granted row (masked, scoped) as CSV or Parquet, streamed. The call is recorded when the
    extract starts, with the number of rows it covers; the DataUse rows of the persons and
    enterprises in it are written batch by batch as the rows are sent."""
    view = _begin(facts, code)
    fields = enforcement.choose_fields(view, request.GET.get("fields"))
    facts.items = fields
    fmt = request.GET.get("format", "csv") or "csv"
    if fmt not in ("csv", "parquet"):
        raise GatewayError(400, "format：只能是 csv 或 parquet", "format")
    total = serving.count(code, scope=view.scope)
    facts.row_count = facts.keys_touched = total
    call = record_call(facts, (time.perf_counter() - facts.started) * 1000)
    chunks = _extract_chunks(code, view, fields, fmt, call)
    content_type = exports.CSV_TYPE if fmt == "csv" else "application/vnd.apache.parquet"
    # Under ASGI an async iterator streams with flat memory (Django would read a sync one whole
    # first); under WSGI (and the test client) the plain generator streams as it is.
    from django.core.handlers.asgi import ASGIRequest

    content = _async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = str(content_disposition_header(True, f"{view.code}.{fmt}"))
    response["X-Row-Count"] = str(total)
    response.gateway_recorded = True  # type: ignore[attr-defined]
    return response


# --- the change feed (数据交换's pull channel, mounted here for units' systems) ---------------------------

FEED_DEFAULT_LIMIT = 1000


@gateway_call(Operation.FEED)
def changes_feed(request: HttpRequest, facts: CallFacts, code: str) -> HttpResponse:
    """The grant's changes since the consumer's cursor (exchange.queries.feed_page): no cursor starts
    with every row the grant allows; each answer's `next_cursor` continues; `resync_required` after
    a rollback means: start again without a cursor. Rows are masked and scoped as the grant says."""
    from zhengwu.core.errors import DomainError, PermissionDenied
    from zhengwu.sharing.exchange.queries import MAX_FEED_LIMIT, feed_page
    from zhengwu.sharing.models import ShareGrant

    view = _begin(facts, code)
    raw = request.GET.get("limit") or str(FEED_DEFAULT_LIMIT)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_FEED_LIMIT:
        raise GatewayError(400, f"limit 必须是 1 到 {MAX_FEED_LIMIT} 之间的整数", "limit")
    cursor = request.GET.get("cursor") or None
    if cursor is not None and len(cursor) > 4096:
        raise GatewayError(400, "游标过长", "cursor")
    grant = ShareGrant.objects.select_related("entry").get(pk=view.grant_id)
    try:
        page = feed_page(grant, cursor, int(raw))
    except PermissionDenied as exc:
        raise GatewayError(403, exc.message) from None
    except DomainError as exc:
        raise GatewayError(400, exc.message, exc.field) from None
    facts.items = list(page.items)
    facts.row_count = len(page.changes)
    facts.subjects = list(page.subjects)  # 数据使用记录: whose rows this page handed out
    return _json({
        "resource": view.code, "version": page.version, "resync_required": page.resync_required,
        "next_cursor": page.next_cursor, "items": page.items, "masked_items": page.masked_items,
        "changes": page.changes,
    })
