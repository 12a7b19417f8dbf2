"""The 审计管理员 console: search, record detail, CSV export, chain verification.

Only AdminRole.AUDIT may open these pages (三权分立); every search, view and export is itself
recorded in the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from zhengwu.core import exports
from zhengwu.core.errors import NotFound
from zhengwu.core.roles import AdminRole, require_admin_role

from . import queries
from .forms import RecordSearchForm
from .models import AuditResult
from .services import record_event

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 200_000
EXPORT_COLUMNS = [
    "序号",
    "时间",
    "操作人",
    "操作人姓名",
    "单位",
    "来源地址",
    "操作",
    "操作名称",
    "对象类型",
    "对象类型名称",
    "对象标识",
    "结果",
    "详情",
    "前一记录哈希",
    "本记录哈希",
]


def _search_form(request: HttpRequest) -> RecordSearchForm:
    data = request.GET.copy()
    data.pop("page", None)
    return RecordSearchForm(data)


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@require_GET
@require_admin_role(AdminRole.AUDIT)
def record_list(request: HttpRequest) -> HttpResponse:
    form = _search_form(request)
    context: dict[str, Any] = {"form": form, "querystring": _querystring(request), "page": None}
    if form.is_valid():
        filters = queries.clean_filters(form.cleaned_data)
        records = queries.search_records(request.user, filters)
        from django.core.paginator import Paginator

        page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)  # read before this search's own record is written
        record_event(
            request.user,
            "audit.search",
            object_type="audit_record",
            request=request,
            details={"filters": queries.filters_for_log(filters), "page": page.number, "via": "console"},
        )
        context["page"] = page
        context["checkpoints"] = queries.latest_checkpoints(5)
    return render(request, "audit/records.html", context, status=200 if form.is_valid() else 400)


@require_GET
@require_admin_role(AdminRole.AUDIT)
def record_detail(request: HttpRequest, seq: int) -> HttpResponse:
    try:
        record = queries.get_record(request.user, seq)
    except NotFound as exc:
        return render(request, "404.html", {"reason": exc.message}, status=404)
    record_event(
        request.user,
        "audit.view",
        object_type="audit_record",
        object_id=seq,
        request=request,
        details={"via": "console"},
    )
    return render(
        request,
        "audit/record_detail.html",
        {
            "record": record,
            "hash_valid": queries.record_hash_valid(record),
            "details_json": json.dumps(record.details, ensure_ascii=False, indent=2, sort_keys=True),
        },
    )


def _csv_rows(records: Iterator[Any], limit: int) -> Iterator[list[Any]]:
    """The export's rows; the one export writer (`core.exports`) neutralises formulas in them."""
    for count, record in enumerate(records):
        if count >= limit:
            yield [f"（已达导出上限 {limit} 条，其余记录未导出，请缩小筛选范围）"]
            return
        yield [
            record.seq,
            timezone.localtime(record.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
            record.actor,
            record.actor_name,
            record.actor_unit,
            record.source_ip,
            record.action,
            record.action_label,
            record.object_type,
            record.object_type_label if record.object_type else "",
            record.object_id,
            record.get_result_display(),
            json.dumps(record.details, ensure_ascii=False, sort_keys=True),
            record.prev_hash,
            record.hash,
        ]


@require_GET
@require_admin_role(AdminRole.AUDIT)
def export_csv(request: HttpRequest) -> HttpResponse:
    form = _search_form(request)
    if not form.is_valid():
        return render(
            request,
            "audit/records.html",
            {"form": form, "querystring": _querystring(request), "page": None},
            status=400,
        )
    filters = queries.clean_filters(form.cleaned_data)
    records = queries.search_records(request.user, filters)
    record_event(
        request.user,
        "audit.export",
        object_type="audit_record",
        request=request,
        details={"filters": queries.filters_for_log(filters), "format": "csv", "max_rows": EXPORT_MAX_ROWS},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = exports.csv_response(
        f"audit-records-{stamp}.csv", EXPORT_COLUMNS, _csv_rows(queries.iter_records_ascending(records), EXPORT_MAX_ROWS)
    )
    # require_admin_role is typed for HttpResponse views; a streaming response serves the same role.
    return cast(HttpResponse, response)


@require_http_methods(["GET", "POST"])
@require_admin_role(AdminRole.AUDIT)
def verify(request: HttpRequest) -> HttpResponse:
    result = None
    if request.method == "POST":
        result = queries.verify_audit_log()
        record_event(
            request.user,
            "audit.verify",
            object_type="audit_chain",
            request=request,
            result=AuditResult.SUCCESS if result.ok else AuditResult.FAILURE,
            details={
                "ok": result.ok,
                "checked": result.checked,
                "problem": result.problem.message if result.problem else "",
                "compared_with_sink": result.sink.compared if result.sink else 0,
                "via": "console",
            },
        )
    return render(
        request, "audit/verify.html",
        {"result": result, "checkpoints": queries.latest_checkpoints(20), "attention": queries.attention_items(request.user)},
    )
