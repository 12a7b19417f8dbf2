"""OpenAPI 3 documents of the gateway: the general one (every endpoint, no resource details) and
one per consumer and resource (X-Road's getOpenAPI), built from the grant alone — only its items,
only the filters its items allow (a masked item: equality and lists only), its row scope named
by field. Nothing outside the grant appears in it."""

from __future__ import annotations

from typing import Any

from .enforcement import DEFAULT_LIMIT, MAX_IN_VALUES, MAX_LIMIT, GrantView

PREFIX = "/gateway/v1"
_TYPES = {"数字": {"type": "string", "description": "十进制数字文本"}, "日期": {"type": "string", "format": "date"},
          "日期时间": {"type": "string", "format": "date-time"}, "时间戳": {"type": "string", "format": "date-time"},
          "布尔": {"type": "boolean"}}

SECURITY_SCHEMES = {
    "oauth2": {
        "type": "oauth2",
        "description": "统一身份认证签发的客户端凭证（SERVICE 类应用系统，范围 sharing）",
        "flows": {"clientCredentials": {"tokenUrl": "/oidc/token/", "scopes": {"sharing": "读取本单位获得授权的共享数据"}}},
    },
    "signature": {
        "type": "apiKey", "in": "header", "name": "X-Zhengwu-Key",
        "description": "网关密钥签名：另带 X-Zhengwu-Timestamp、X-Zhengwu-Nonce、X-Zhengwu-Signature（HMAC-SM3，见 docs/gateway.md）",
    },
}
ERROR = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "status": {"type": "integer"}, "message": {"type": "string"}, "field": {"type": "string"}}}},
}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "请求参数错误（未知字段、非法条件）", 401: "缺少凭证，或凭证无效、过期、已撤销", 403: "没有有效授权或来源地址不允许",
            404: "资源或记录不存在", 429: "超出每分钟调用上限或每日配额（见 Retry-After）"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for c in codes}


def _base(title: str, server: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1"},
        "servers": [{"url": server.rstrip("/")}],
        "security": [{"oauth2": ["sharing"]}, {"signature": []}],
        "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": {"Error": ERROR}},
        "paths": {},
    }


def _param(name: str, description: str, schema: dict[str, Any] | None = None, where: str = "query",
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema or {"type": "string"}}


def for_grant(view: GrantView, server: str) -> dict[str, Any]:
    doc = _base(f"数据服务：{view.name}（{view.code}）", server)
    props = {}
    for item in view.items:
        schema: dict[str, Any] = dict(_TYPES.get(item.data_type, {"type": "string"}))
        schema["description"] = item.label + ("（脱敏）" if item.method else "")
        schema["nullable"] = True
        props[item.field_name] = schema
    doc["components"]["schemas"]["Record"] = {"type": "object", "properties": props}
    names = view.names
    fields = _param("fields", "返回的信息项（逗号分隔），默认全部授权项", {"type": "string", "example": ",".join(names[:3])})
    filters = []
    for item in view.items:
        filters.append(_param(item.field_name, f"{item.label} 等于"))
        filters.append(_param(f"{item.field_name}__in", f"{item.label} 属于（逗号分隔，最多 {MAX_IN_VALUES} 个）"))
        if not item.method:
            for op, text in (("gt", "大于"), ("gte", "大于等于"), ("lt", "小于"), ("lte", "小于等于"), ("prefix", "以…开头")):
                filters.append(_param(f"{item.field_name}__{op}", f"{item.label} {text}"))
    orderable = [i.field_name for i in view.items if not i.method]
    scope = "；".join(f"{k}: {'、'.join(v)}" for k, v in view.scope.items()) or "全部记录"
    code = view.code
    base = f"{PREFIX}/resources/{code}"
    if len(view.keys) == 1:
        doc["paths"][f"{base}/records/{{key}}"] = {"get": {
            "summary": f"按主键（{view.keys[0]}）查询一条记录", "operationId": "lookup",
            "parameters": [_param("key", view.keys[0], where="path", required=True), fields],
            "responses": {"200": {"description": "记录", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"resource": {"type": "string"}, "record": {"$ref": "#/components/schemas/Record"}}}}}},
                **_errors(400, 401, 403, 404, 429)},
        }}
    if view.keys:
        doc["paths"][f"{base}/record"] = {"get": {
            "summary": "按主键查询一条记录（复合主键用 key.字段名）", "operationId": "lookupByKeys",
            "parameters": [_param(f"key.{k}", f"主键 {k}", required=True) for k in view.keys] + [fields],
            "responses": {"200": {"description": "记录"}, **_errors(400, 401, 403, 404, 429)},
        }}
    doc["paths"][f"{base}/records"] = {"get": {
        "summary": "条件查询（键集分页）", "operationId": "query",
        "description": f"授权范围：{scope}。脱敏信息项只能按等于或列举查询，不能排序。",
        "parameters": [
            fields, *filters,
            _param("limit", f"每页行数，默认 {DEFAULT_LIMIT}，最多 {MAX_LIMIT}", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
            _param("cursor", "上一页返回的 next_cursor（签名的不透明串）"),
            _param("order", "排序信息项", {"type": "string", "enum": orderable} if orderable else None),
            _param("desc", "1 为倒序", {"type": "string", "enum": ["0", "1"]}),
            _param("format", "json 或 csv", {"type": "string", "enum": ["json", "csv"]}),
        ],
        "responses": {"200": {"description": "一页记录", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "resource": {"type": "string"}, "lake_version": {"type": "integer"},
                "items": {"type": "array", "items": {"type": "string", "enum": names}},
                "rows": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                "next_cursor": {"type": "string", "nullable": True}}}}, "text/csv": {}}},
            **_errors(400, 401, 403, 404, 429)},
    }}
    doc["paths"][f"{base}/extract"] = {"get": {
        "summary": "批量导出全部授权记录（首次加载用，流式）", "operationId": "extract",
        "parameters": [fields, _param("format", "csv 或 parquet", {"type": "string", "enum": ["csv", "parquet"]})],
        "responses": {"200": {"description": "文件", "content": {"text/csv": {}, "application/vnd.apache.parquet": {}}},
                      **_errors(400, 401, 403, 404, 429)},
    }}
    return doc


def general(server: str) -> dict[str, Any]:
    doc = _base("政务数据服务网关", server)
    code = _param("code", "信息资源代码", where="path", required=True)
    doc["paths"] = {
        f"{PREFIX}/health": {"get": {"summary": "健康检查", "security": [], "responses": {"200": {"description": "正常"},
                                                                                     "500": {"description": "异常及原因"}}}},
        f"{PREFIX}/services": {"get": {"summary": "本系统可调用的服务（已授权的信息资源）", "responses": {
            "200": {"description": "服务列表"}, **_errors(401)}}},
        f"{PREFIX}/services/{{code}}/openapi.json": {"get": {"summary": "某资源按本单位授权生成的 OpenAPI 文档",
                                                              "parameters": [code],
                                                              "responses": {"200": {"description": "OpenAPI 3"}, **_errors(401, 403, 404)}}},
        f"{PREFIX}/resources/{{code}}/records/{{key}}": {"get": {"summary": "按主键查询", "parameters": [
            code, _param("key", "主键取值", where="path", required=True)], "responses": {"200": {"description": "记录"},
                                                                                **_errors(400, 401, 403, 404, 429)}}},
        f"{PREFIX}/resources/{{code}}/record": {"get": {"summary": "按复合主键查询（key.字段名=取值）", "parameters": [code],
                                                         "responses": {"200": {"description": "记录"}, **_errors(400, 401, 403, 404, 429)}}},
        f"{PREFIX}/resources/{{code}}/records": {"get": {"summary": "条件查询（字段=值、__in、__gt、__gte、__lt、__lte、__prefix；fields、limit、cursor、format）",
                                                          "parameters": [code], "responses": {"200": {"description": "一页记录"},
                                                                                              **_errors(400, 401, 403, 404, 429)}}},
        f"{PREFIX}/resources/{{code}}/extract": {"get": {"summary": "批量导出（csv 或 parquet）", "parameters": [code],
                                                          "responses": {"200": {"description": "文件"}, **_errors(400, 401, 403, 404, 429)}}},
    }
    return doc
