"""HTTP side of the CKAN Action API: `GET|POST /api/3/action/<name>` (also `/api/action/<name>`,
ckanapi's default path). Parameters come from the JSON body, a form body or the query string;
the answer is CKAN's envelope {help, success, result} or {help, success: false, error: {__type,
message}} with CKAN's status codes (404 Not Found Error, 409 Validation Error, 403 Authorization
Error, 400 for an unknown action or malformed JSON). The actions themselves are in ckan.py."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from zhengwu.core.errors import DomainError, NotFound, PermissionDenied

from . import ckan, conf

JSON_DUMPS = {"ensure_ascii": False}


def base_url(request: HttpRequest) -> str:
    return conf.site_url() or request.build_absolute_uri("/").rstrip("/")


def _params(request: HttpRequest) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.GET.items())
    if request.method == "POST":
        content_type = (request.content_type or "").lower()
        if content_type == "application/json" or (request.body[:1] in (b"{", b"[") and "form" not in content_type):
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                raise ckan.CkanError("Bad request - JSON Error", "请求体不是合法的 JSON", status=400) from None
            if not isinstance(body, dict):
                raise ckan.CkanError("Bad request - JSON Error", "请求体须是 JSON 对象", status=400)
            params.update(body)
        else:
            params.update(dict(request.POST.items()))
    return params


def _api_key(request: HttpRequest) -> str:
    value = request.headers.get("Authorization") or request.headers.get("X-CKAN-API-Key") or ""
    value = value.strip()
    return value[7:].strip() if value.lower().startswith("bearer ") else value


@csrf_exempt
@require_http_methods(["GET", "POST"])
def action(request: HttpRequest, name: str) -> JsonResponse:
    help_url = request.build_absolute_uri(reverse("opendata:ckan_action", args=["help_show"])) + f"?name={name}"
    envelope: dict[str, Any] = {"help": help_url}
    function = ckan.ACTIONS.get(name)
    try:
        if name == "help_show":
            wanted = str(request.GET.get("name") or "")
            found = ckan.ACTIONS.get(wanted)
            if found is None:
                raise ckan.CkanError(ckan.NOT_FOUND, f"没有名为 {wanted[:60]} 的接口")
            envelope.update(success=True, result=(found.__doc__ or wanted).strip())
            return JsonResponse(envelope, json_dumps_params=JSON_DUMPS)
        if function is None:
            raise ckan.CkanError("Bad request - Action name not known", f"不认识的接口：{name[:60]}", status=400)
        caller = ckan.Caller(request, base_url(request), _api_key(request))
        result = function(_params(request), caller)
    except ckan.CkanError as exc:
        envelope.update(success=False, error=exc.body())
        return JsonResponse(envelope, status=exc.status, json_dumps_params=JSON_DUMPS)
    except DomainError as exc:
        kind = ckan.NOT_FOUND if isinstance(exc, NotFound) else ckan.AUTHORIZATION if isinstance(exc, PermissionDenied) else ckan.VALIDATION
        error = ckan.CkanError(kind, exc.message, exc.field)
        envelope.update(success=False, error=error.body())
        return JsonResponse(envelope, status=error.status, json_dumps_params=JSON_DUMPS)
    envelope.update(success=True, result=result)
    response = JsonResponse(envelope, json_dumps_params=JSON_DUMPS)
    response["Access-Control-Allow-Origin"] = "*"
    return response
