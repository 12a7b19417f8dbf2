"""API conventions: one NinjaAPI, Chinese error bodies that name the field.

Every error answer has the shape `{"detail": "<summary>", "errors": [{"field": ..., "message": ...}]}`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from .errorpages import CSRF_API_MESSAGE
from .errors import DomainError

_LOCATION_PARTS = {"body", "query", "path", "header", "cookie", "form", "payload", "data", "file"}


def _field_name(loc: Any) -> str:
    parts = [str(p) for p in (loc or []) if str(p) not in _LOCATION_PARTS]
    return ".".join(parts) or "请求体"


def translate_error(error: dict[str, Any]) -> str:
    """A Chinese sentence for one pydantic/ninja validation error."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    msg = str(error.get("msg", ""))
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
        "enum": f"只能是以下之一：{ctx.get('expected')}",
        "literal_error": f"只能是以下之一：{ctx.get('expected')}",
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
        auth=SessionAuth(),
        **kwargs,
    )

    @api.exception_handler(ValidationError)
    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = []
        for err in exc.errors:
            field = _field_name(err.get("loc"))
            errors.append({"field": field, "message": f"{field}：{translate_error(err)}"})
        summary = "；".join(e["message"] for e in errors[:5]) or "请求参数有误"
        return api.create_response(request, error_body(summary, errors), status=422)

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
        return api.create_response(request, error_body("未登录或会话已过期，请先登录"), status=401)

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
