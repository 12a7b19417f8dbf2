"""Public pages of open data (on the portal's layout, no login to browse), downloads and DCAT.
Thin: queries.py says what is open, ckan.py searches, data.py reads rows, services.py changes state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from zhengwu.core import exports
from zhengwu.core.errors import DomainError, NotFound

from . import charts, ckan, conf, data, dcat, queries, services
from .api import base_url
from .models import ApplicationStatus, DiscussionKind

PER_PAGE = 10
PREVIEW_ROWS = 10
SORTS = {"relevance": ("相关度", "score desc, metadata_modified desc"), "updated": ("更新时间", "metadata_modified desc"),
         "popular": ("热度", "popularity desc, metadata_modified desc")}
FACETS = [("organization", "提供单位"), ("groups", "主题"), ("resource_format", "资源格式"), ("update_cycle", "更新周期"),
          ("open_type", "开放类型"), ("license_id", "许可协议")]


def _dataset_or_404(name: str) -> queries.Dataset:
    try:
        return queries.get_dataset(name)
    except NotFound:
        raise Http404("数据集不存在") from None


def _summary(dataset: queries.Dataset, totals: dict[str, dict[str, int]]) -> dict[str, Any]:
    use = totals.get(dataset.resource_code) or {"views": 0, "downloads": 0, "api_calls": 0}
    return {"d": dataset, "use": use, "url": reverse("opendata:dataset", args=[dataset.name])}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    datasets = queries.open_datasets()
    totals = queries.use_totals()
    popular = sorted(datasets, key=lambda d: (-queries.popularity(totals.get(d.resource_code)), d.resource_code))[:6]
    newest = sorted(datasets, key=lambda d: d.metadata_modified, reverse=True)[:6]
    notices = sorted(datasets, key=lambda d: d.version.created_at, reverse=True)[:8]
    return render(request, "opendata/home.html", {
        "count": len(datasets), "conditional": sum(d.conditional for d in datasets),
        "themes": queries.themes_with_counts(), "providers": queries.organizations(),
        "popular": [_summary(d, totals) for d in popular], "newest": [_summary(d, totals) for d in newest],
        "notices": [_summary(d, totals) for d in notices],
        "downloads": sum(t["downloads"] for t in totals.values()), "calls": sum(t["api_calls"] for t in totals.values()),
    })


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Search, facets and paging in the database (`search.search`, as CKAN's package_search); each
    facet is counted with the other facets' choices applied."""
    from . import search as dataset_search

    q = " ".join(request.GET.get("q", "").split())[:100]
    sort_key = request.GET.get("sort") or ("relevance" if q else "updated")
    if sort_key not in SORTS:
        sort_key = "updated"
    chosen = {name: request.GET.get(name, "") for name, _ in FACETS if request.GET.get(name)}
    terms = [(False, name, value) for name, value in chosen.items()]
    try:
        number = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        number = 1
    sort = ckan._sort_spec(SORTS[sort_key][1])

    def run(page_number: int) -> dataset_search.Result:
        return dataset_search.search(
            q, terms, sort, start=(page_number - 1) * PER_PAGE, rows=PER_PAGE, facet_fields=[n for n, _ in FACETS],
            facet_terms={n: [t for t in terms if t[1] != n] for n, _ in FACETS},
        )

    result = run(number)
    pages = max(1, -(-result.count // PER_PAGE))
    if number > pages:  # past the end: the last page, as Paginator.get_page does
        number = pages
        result = run(number)
    facet_blocks = []
    for name, label in FACETS:
        counts = result.facets.get(name, [])
        labels = dataset_search.facet_labels(name, [v for v, _ in counts])
        options = [
            {"value": v, "label": labels.get(v, v), "count": n, "current": chosen.get(name) == v,
             "url": _query_url(request, **{name: "" if chosen.get(name) == v else v, "page": ""})}
            for v, n in counts
        ]
        facet_blocks.append({"name": name, "label": label, "options": options})
    totals = queries.use_totals(d.resource_code for d in result.datasets)
    return render(request, "opendata/search.html", {
        "q": q, "page": {"number": number, "num_pages": pages}, "results": [_summary(d, totals) for d in result.datasets],
        "total": result.count, "facets": facet_blocks, "sort": sort_key,
        "sorts": [{"key": k, "label": v[0], "url": _query_url(request, sort=k, page=""), "current": k == sort_key} for k, v in SORTS.items()],
        "prev_url": _query_url(request, page=str(number - 1)) if number > 1 else "",
        "next_url": _query_url(request, page=str(number + 1)) if number < pages else "",
    })


def _query_url(request: HttpRequest, **changes: str) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value:
            params[key] = value
        elif key in params:
            del params[key]
    encoded = params.urlencode()
    return reverse("opendata:search") + (f"?{encoded}" if encoded else "")


@require_GET
def dataset_page(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _dataset_or_404(name)
    services.record_use(dataset.resource_code, "views")
    preview: data.Page | None = None
    if not dataset.conditional and dataset.items:
        preview = data.query(
            dataset.resource_code, dataset.version.lake_version,
            data.Search(dataset.field_names, {}, limit=PREVIEW_ROWS, include_total=False), searchable=[],
        )
    preview_rows = [[data.plain(v) for v in row] for row in preview.rows] if preview else []
    score, checks = queries.quality(dataset)
    days = queries.daily_use(dataset.resource_code)
    totals = queries.use_totals([dataset.resource_code]).get(dataset.resource_code) or {"views": 0, "downloads": 0, "api_calls": 0}
    rid = queries.resource_id(dataset.resource_code, "CSV")
    api_base = base_url(request) + reverse("opendata:ckan_action", args=["datastore_search"])
    example = f'curl "{api_base}?resource_id={rid}&limit=5"'
    if dataset.conditional:
        example = f'curl -H "Authorization: <您的接口密钥>" "{api_base}?resource_id={rid}&limit=5"'
    user = request.user
    return render(request, "opendata/dataset.html", {
        "d": dataset, "preview": preview, "preview_rows": preview_rows, "score": score, "checks": checks, "history": queries.update_history(dataset.resource_code),
        "chart": charts.daily_use_chart(days), "totals": totals, "resource_id": rid, "api_example": example,
        "formats": [(f, reverse("opendata:download", args=[dataset.name, f.lower()])) for f in dataset.formats],
        "dcat_links": [(f, reverse("opendata:dataset_dcat", args=[dataset.name, f])) for f in dcat.FORMATS],
        "reuses": queries.published_reuses(dataset.resource_code), "discussions": list(queries.discussions(dataset.resource_code)[:20]),
        "kinds": DiscussionKind.values, "working_days": conf.answer_working_days(), "is_public": services.is_public_person(user),
        "may_answer": services.is_reviewer(user, dataset.provider),
        "login_url": reverse("portal:login") + f"?next={request.path}",
    })


# --- downloads ---------------------------------------------------------------------------------------


def _download_fields(request: HttpRequest, dataset: queries.Dataset) -> tuple[list[str], Any]:
    """The columns a download carries: the open items; of a 有条件开放 dataset only an API key's."""
    if not dataset.conditional:
        return dataset.field_names, None
    key = services.authenticate_api_key(ckan_api_key(request), dataset.resource_code)
    if key is None:
        raise DomainError("该数据集有条件开放：请先申请，获批后以接口密钥（Authorization 请求头）下载", "Authorization")
    return [f for f in dataset.field_names if f in key.items], key


def ckan_api_key(request: HttpRequest) -> str:
    from .api import _api_key

    return _api_key(request)


def _json_stream(fields: list[str], rows: Iterator[tuple[Any, ...]]) -> Iterator[bytes]:
    yield b"["
    chunk: list[str] = []
    first = True
    for row in rows:
        text = json.dumps({f: data.plain(v) for f, v in zip(fields, row, strict=True)}, ensure_ascii=False)
        chunk.append(text if first else "," + text)
        first = False
        if len(chunk) >= 2000:
            yield "\n".join(chunk).encode("utf-8")
            chunk = []
    if chunk:
        yield "\n".join(chunk).encode("utf-8")
    yield b"]\n"


@require_GET
def download(request: HttpRequest, name: str, fmt: str) -> HttpResponseBase:
    if fmt not in ("csv", "xlsx", "json"):
        raise Http404("没有这种下载格式")
    dataset = _dataset_or_404(name)
    try:
        fields, key = _download_fields(request, dataset)
    except DomainError as exc:
        return render(request, "opendata/refused.html", {"d": dataset, "message": exc.message}, status=403)
    labels = {i.field_name: i.name for i in dataset.items}
    rows = data.stream(dataset.resource_code, dataset.version.lake_version, fields)
    services.record_use(dataset.resource_code, "downloads")
    if key is not None:
        services.record_key_use(key, f"download.{fmt}", request=request)
    filename = f"{dataset.title}-v{dataset.version.lake_version}"
    if fmt == "csv":
        return exports.csv_response(f"{filename}.csv", [labels[f] for f in fields], rows)
    if fmt == "xlsx":
        return exports.xlsx_stream_response(f"{filename}.xlsx", [labels[f] for f in fields], rows, sheet_title="数据")
    response = StreamingHttpResponse(_json_stream(fields, rows), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = str(content_disposition_header(True, f"{filename}.json"))
    return response


# --- DCAT ----------------------------------------------------------------------------------------------------


def _rdf_response(body: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _site() -> tuple[str, Any]:
    from zhengwu.portal import site

    return f"{site.site_name()} · 公共数据开放", site.operator_name()


@require_GET
def catalog_dcat(request: HttpRequest, fmt: str) -> HttpResponse:
    try:
        page = int(request.GET.get("page") or 1)
    except ValueError:
        return HttpResponse("page：必须是正整数", status=400, content_type="text/plain; charset=utf-8")
    if page < 1:
        return HttpResponse("page：必须是正整数", status=400, content_type="text/plain; charset=utf-8")
    since = None
    raw = request.GET.get("modified_since")
    if raw:
        try:
            since = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+"))
        except ValueError:
            return HttpResponse("modified_since：须是 ISO 8601 时间，如 2026-01-01T00:00:00Z", status=400,
                                content_type="text/plain; charset=utf-8")
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    base = base_url(request)
    title, operator = _site()
    graph = dcat.catalog_graph(
        base, queries.open_datasets(), page=page, title=title, operator=operator,
        page_url=base + reverse("opendata:catalog_dcat", args=[fmt]), modified_since=since,
    )
    return _rdf_response(*dcat.serialise(graph, fmt))


@require_GET
def dataset_dcat(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    dataset = _dataset_or_404(name)
    title, operator = _site()
    return _rdf_response(*dcat.serialise(dcat.dataset_graph(base_url(request), dataset, title=title, operator=operator), fmt))


@require_GET
def api_help(request: HttpRequest) -> HttpResponse:
    datasets = queries.open_datasets()
    sample = next((d for d in datasets if not d.conditional), None)
    return render(request, "opendata/api_help.html", {
        "base": base_url(request), "sample": sample, "actions": sorted(ckan.ACTIONS),
        "sample_rid": queries.resource_id(sample.resource_code, "CSV") if sample else "",
        "sql_enabled": conf.sql_enabled(), "max_sql_rows": conf.sql_max_rows(),
        "dcat_links": [(f, reverse("opendata:catalog_dcat", args=[f])) for f in dcat.FORMATS],
    })


# --- applications, reuses, discussions ----------------------------------------------------------------------


def _acting_enterprise(request: HttpRequest) -> Any:
    from zhengwu.portal import sections

    resolver = sections.enterprise_resolver()
    return resolver(request) if resolver is not None else None


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _dataset_or_404(name)
    if not services.is_public_person(request.user):
        return redirect(reverse("portal:login") + f"?next={request.path}")
    if not dataset.conditional:
        messages.info(request, "该数据集无条件开放，无需申请，可直接下载或调用。")
        return redirect("opendata:dataset", name=dataset.name)
    enterprise = _acting_enterprise(request)
    today = timezone.localdate()
    form: dict[str, Any] = {"purpose": "", "scenario": "", "items": dataset.field_names,
                            "period_start": today.isoformat(), "period_end": today.replace(year=today.year + 1).isoformat()
                            if not (today.month == 2 and today.day == 29) else today.isoformat()}
    error = None
    if request.method == "POST":
        form = {
            "purpose": request.POST.get("purpose", ""), "scenario": request.POST.get("scenario", ""),
            "items": request.POST.getlist("items"), "period_start": request.POST.get("period_start", ""),
            "period_end": request.POST.get("period_end", ""),
        }
        try:
            application = services.do_file_application(
                request.user, dataset.resource_code, purpose=form["purpose"], scenario=form["scenario"],
                items=form["items"], period_start=form["period_start"], period_end=form["period_end"],
                enterprise=enterprise, request=request,
            )
        except DomainError as exc:
            error = exc
        else:
            messages.success(
                request, f"申请已提交（编号 {application.pk}），提供单位将在 {application.due_date:%Y年%m月%d日} 前答复。"
                "进度可在个人中心或企业中心查看。",
            )
            return redirect("opendata:dataset", name=dataset.name)
    return render(request, "opendata/apply.html", {
        "d": dataset, "form": form, "error": error, "enterprise": enterprise,
        "working_days": conf.answer_working_days(),
    }, status=400 if error else 200)


@require_http_methods(["POST"])
def discuss(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _dataset_or_404(name)
    try:
        services.do_post_discussion(
            request.user, dataset.resource_code, kind=request.POST.get("kind", ""), title=request.POST.get("title", ""),
            body=request.POST.get("body", ""), request=request,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "留言已提交，提供单位答复后显示在这里。")
    return redirect(reverse("opendata:dataset", args=[dataset.name]) + "#discussions")


@require_http_methods(["POST"])
def answer(request: HttpRequest, name: str, pk: int) -> HttpResponse:
    dataset = _dataset_or_404(name)
    try:
        services.do_answer_discussion(request.user, pk, answer=request.POST.get("answer", ""), request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "答复已发布。")
    return redirect(reverse("opendata:dataset", args=[dataset.name]) + "#discussions")


@require_GET
def reuses(request: HttpRequest) -> HttpResponse:
    datasets = {d.resource_code: d for d in queries.open_datasets()}
    items = [{"r": r, "datasets": [datasets[c] for c in r.resource_codes if c in datasets]} for r in queries.published_reuses()]
    return render(request, "opendata/reuses.html", {"items": items, "is_public": services.is_public_person(request.user)})


@require_http_methods(["GET", "POST"])
def reuse_new(request: HttpRequest) -> HttpResponse:
    if not services.is_public_person(request.user):
        return redirect(reverse("portal:login") + f"?next={request.path}")
    datasets = queries.open_datasets()
    form: dict[str, Any] = {"title": "", "description": "", "url": "", "datasets": [request.GET.get("dataset", "")]}
    error = None
    if request.method == "POST":
        form = {"title": request.POST.get("title", ""), "description": request.POST.get("description", ""),
                "url": request.POST.get("url", ""), "datasets": request.POST.getlist("datasets")}
        try:
            services.do_submit_reuse(request.user, title=form["title"], description=form["description"], url=form["url"],
                                     resource_codes=form["datasets"], request=request)
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, "应用成果已提交，审核通过后公开展示。")
            return redirect("opendata:reuses")
    return render(request, "opendata/reuse_new.html", {"datasets": datasets, "form": form, "error": error},
                  status=400 if error else 200)


# --- staff: review of applications (console) -------------------------------------------------------------


def review(request: HttpRequest) -> HttpResponse:
    from django.core.exceptions import PermissionDenied

    if not services.reviewed_units(request.user):
        raise PermissionDenied("只有开放数据审核员或数据管理员可以审核开放数据申请")
    if request.method == "POST":
        try:
            pk = int(request.POST.get("application") or 0)
            if request.POST.get("decision") == "approve":
                services.do_approve_application(request.user, pk, reason=request.POST.get("reason", ""), request=request)
                messages.success(request, f"已同意申请 {pk}：申请人可在个人中心或企业中心领取接口密钥。")
            else:
                services.do_refuse_application(request.user, pk, reason=request.POST.get("reason", ""), request=request)
                messages.success(request, f"已答复申请 {pk}：不予同意。")
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("opendata:review")
    pending = list(queries.review_queue(request.user))
    datasets = {d.resource_code: d for d in queries.open_datasets()}
    rows = [{"a": a, "d": datasets.get(a.resource_code), "overdue": a.status == ApplicationStatus.PENDING and a.due_date < timezone.localdate()}
            for a in pending]
    return render(request, "opendata/review.html", {"rows": rows})


@require_http_methods(["POST"])
def issue_key(request: HttpRequest, pk: int) -> HttpResponse:
    """The applicant takes the API key of an approved application: shown on this page, once."""
    try:
        key, raw = services.do_issue_api_key(request.user, pk, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:me")
    dataset = next((d for d in queries.open_datasets() if d.resource_code == key.resource_code), None)
    response = render(request, "opendata/key.html", {"key": key, "raw": raw, "d": dataset})
    response["Cache-Control"] = "no-store, private"
    return response


def moderation(request: HttpRequest) -> HttpResponse:
    """Staff console: reuses waiting for moderation (the data authority's reviewers)."""
    from django.core.exceptions import PermissionDenied

    if not services.is_moderator(request.user):
        raise PermissionDenied("只有数据主管部门的开放数据审核员或数据管理员可以审核应用成果")
    if request.method == "POST":
        try:
            services.do_moderate_reuse(
                request.user, int(request.POST.get("reuse") or 0), publish=request.POST.get("decision") == "publish",
                note=request.POST.get("note", ""), request=request,
            )
            messages.success(request, "已审核。")
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "应用成果：编号不对"))
        return redirect("opendata:moderation")
    datasets = {d.resource_code: d for d in queries.open_datasets()}
    rows = [{"r": r, "datasets": [datasets[c] for c in r.resource_codes if c in datasets]} for r in queries.moderation_queue(request.user)]
    return render(request, "opendata/moderation.html", {"rows": rows})
