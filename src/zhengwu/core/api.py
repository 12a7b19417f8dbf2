"""API conventions: one NinjaAPI, Chinese error bodies that name the field.

Every error answer has the shape `{"detail": "<summary>", "errors": [{"field": ..., "message": ...}]}`.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .errorpages import CSRF_API_MESSAGE
from .errors import DomainError

_LOCATION_PARTS = {"body", "query", "path", "header", "cookie", "form", "payload", "data", "file"}


def _field_name(loc: Any) -> str:
    parts = [str(p) for p in (loc or []) if str(p) not in _LOCATION_PARTS]
    return ".".join(parts) or "请求体"


_HAN = re.compile(r"[\u4e00-\u9fff]")
_LABEL_END = re.compile(r"[（(，,；;：:。]")


def _models_in(annotation: Any, depth: int = 0) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (X, X | None, list[X], ...)."""
    if depth > 4:
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg, depth + 1)]


def _field_label(info: FieldInfo) -> str:
    """A field's name for people: its `title`, else the start of its Chinese `description`."""
    if info.title and _HAN.search(info.title):
        return info.title
    head = _LABEL_END.split(info.description or "", maxsplit=1)[0].strip()
    return head if _HAN.search(head) and len(head) <= 8 else ""  # a label, not a sentence


def _operation_models(request: HttpRequest) -> list[type[BaseModel]]:
    """The parameter models of the operation that answered `request` (ninja keeps them on the
    operation; the resolved view is a closure over its PathView)."""
    match = getattr(request, "resolver_match", None)
    func = getattr(match, "func", None)
    for cell in getattr(func, "__closure__", None) or ():
        path_view = cell.cell_contents
        find = getattr(path_view, "_find_operation", None)
        if find is not None:
            operation = find(request)
            return list(getattr(operation, "models", []) or [])
    return []


def field_labels(request: HttpRequest, names: list[str]) -> dict[str, str]:
    """The Chinese label of each field name (the leaf of an error's location) found in the schemas
    of the request's operation; names without one are left out."""
    wanted = set(names)
    labels: dict[str, str] = {}
    seen: set[type[BaseModel]] = set()
    queue = _operation_models(request)
    while queue and wanted - set(labels):
        model = queue.pop(0)
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            key = info.alias or name
            for candidate in {name, key}:
                if candidate in wanted and candidate not in labels:
                    label = _field_label(info)
                    if label:
                        labels[candidate] = label
            queue.extend(_models_in(info.annotation))
    return labels


def translate_error(error: dict[str, Any]) -> str:
    """A Chinese sentence for one pydantic/ninja validation error."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    msg = str(error.get("msg", ""))
    # pydantic lists the allowed values in English ("'a', 'b' or 'c'"): in Chinese.
    expected = re.sub(r",\s*|\s+or\s+", "、", str(ctx.get("expected", "")))
    if kind == "value_error":
        # Our validators raise ValueError with a Chinese message; pydantic prefixes it.
        return msg.removeprefix("Value error, ")
    table = {
        "missing": "必须填写",
        "string_type": "必须是文本",
        "string_too_short": f"长度不能少于 {ctx.get('min_length')} 个字符",
        "string_too_long": f"长度不能超过 {ctx.get('max_length')} 个字符",
        "string_pattern_mismatch": "格式不正确",
        "int_type": "必须是整数",
        "int_parsing": "必须是整数",
        "int_from_float": "必须是整数",
        "float_type": "必须是数字",
        "float_parsing": "必须是数字",
        "bool_type": "必须是布尔值（true/false）",
        "bool_parsing": "必须是布尔值（true/false）",
        "greater_than": f"必须大于 {ctx.get('gt')}",
        "greater_than_equal": f"不能小于 {ctx.get('ge')}",
        "less_than": f"必须小于 {ctx.get('lt')}",
        "less_than_equal": f"不能大于 {ctx.get('le')}",
        "enum": f"只能是以下之一：{expected}",
        "literal_error": f"只能是以下之一：{expected}",
        "date_type": "必须是日期（YYYY-MM-DD）",
        "date_parsing": "必须是日期（YYYY-MM-DD）",
        "date_from_datetime_parsing": "必须是日期（YYYY-MM-DD）",
        "datetime_type": "必须是日期时间（ISO 8601）",
        "datetime_parsing": "必须是日期时间（ISO 8601）",
        "datetime_from_date_parsing": "必须是日期时间（ISO 8601）",
        "list_type": "必须是数组",
        "dict_type": "必须是对象",
        "model_type": "必须是对象",
        "model_attributes_type": "必须是对象",
        "json_invalid": "请求体不是合法的 JSON",
        "json_type": "请求体不是合法的 JSON",
        "extra_forbidden": "不允许的字段",
        "too_short": f"至少需要 {ctx.get('min_length')} 项",
        "too_long": f"最多 {ctx.get('max_length')} 项",
        "uuid_parsing": "必须是 UUID",
        "uuid_type": "必须是 UUID",
        "string_unicode": "必须是合法的 UTF-8 文本",
        "decimal_parsing": "必须是数字",
        "int_parsing_size": "数值超出范围",
        "finite_number": "必须是有限数字",
    }
    return table.get(kind, f"取值无效（{kind or msg}）")


# List endpoints share one envelope: {"count", "limit", "offset", "items"}; paging parameters
# outside their range are refused with 400 naming the parameter.
PAGING_FIELDS = {"limit": "每页条数", "offset": "跳过的条数"}

NOT_SIGNED_IN = "未登录或会话已过期，请先登录"


class NotSignedIn(DomainError):
    status = 401


class PlatformSessionAuth(SessionAuth):
    """The session, for the API: who the caller is decides first. An anonymous request is 401 on
    every method (ninja's SessionAuth checks CSRF first, so an anonymous POST got 403 "CSRF");
    a signed-in caller's unsafe request must still carry the CSRF token (403, in Chinese).
    `hint` is the 401's message (the push endpoint says which header it wants)."""

    def __init__(self, hint: str = NOT_SIGNED_IN, field: str | None = None) -> None:
        super().__init__(csrf=True)
        self.hint = hint
        self.field = field

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            raise NotSignedIn(self.hint, self.field)
        return super()._get_key(request)


def error_body(detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}


def create_api(**kwargs: Any) -> NinjaAPI:
    api = NinjaAPI(
        title="zhengwu 政务平台 API",
        version="1",
        description="城市数字政府平台接口。错误响应统一为 {detail, errors[{field, message}]}，消息为中文。",
        urls_namespace="api",
        docs_url="/docs",
        openapi_url="/openapi.json",
        auth=PlatformSessionAuth(),
        **kwargs,
    )

    @api.exception_handler(ValidationError)
    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        # `field` is the code name (for programs); the message names the field as people know it
        # (the schema's title or Chinese description), falling back to the code name.
        errors = []
        fields = [_field_name(err.get("loc")) for err in exc.errors]
        try:
            labels = field_labels(request, [f.rsplit(".", 1)[-1] for f in fields])
        except Exception:  # a label is a courtesy; never let it turn a 422 into a 500
            labels = {}
        status = 422
        for field, err in zip(fields, exc.errors, strict=True):
            label = labels.get(field.rsplit(".", 1)[-1], field)
            if field in PAGING_FIELDS:
                # Paging out of its range is a bad request (400), named as callers write it.
                status = 400
                label = f"{field}（{labels.get(field, PAGING_FIELDS[field])}）"
            errors.append({"field": field, "message": f"{label}：{translate_error(err)}"})
        summary = "；".join(e["message"] for e in errors[:5]) or "请求参数有误"
        return api.create_response(request, error_body(summary, errors), status=status)

    @api.exception_handler(DomainError)
    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
        return api.create_response(request, error_body(exc.message, errors), status=exc.status)

    @api.exception_handler(RequestDataTooBig)
    def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return api.create_response(
            request, error_body(f"请求体超过 {limit} MB 上限，请分批提交（ZHENGWU_MAX_REQUEST_MB）"), status=413
        )

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return api.create_response(request, error_body(NOT_SIGNED_IN), status=401)

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        messages = {400: "请求有误", 401: "未登录", 403: "无权访问", 404: "对象不存在", 405: "不支持的请求方法"}
        message = str(exc) if any("\u4e00" <= ch <= "\u9fff" for ch in str(exc)) else messages.get(
            exc.status_code, "请求有误"
        )
        if exc.status_code == 403 and "csrf" in str(exc).lower():
            message = CSRF_API_MESSAGE
        return api.create_response(request, error_body(message), status=exc.status_code)

    return api
