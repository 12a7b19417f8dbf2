"""Pages of data collection (数据归集) and data quality (数据质量评分) in the staff console.
Thin: reads from `queries`, changes through `services`; a refusal (DomainError) is shown on the
form field it names and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from zhengwu.catalog.codetables import COMPARE_WORDS, range_text
from zhengwu.catalog.services import data_admin_units
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied

from . import charts, queries, services
from .constants import FILE_FORMATS, BatchStatus, RuleKind
from .failures import failure_field_label
from .forms import (
    RULE_ALIASES,
    RULE_PARAMS,
    CorrectionForm,
    RollbackForm,
    RuleForm,
    SourceForm,
    TokenForm,
    UploadForm,
    add_domain_error,
)
from .models import ResourceVersion

PREVIEW_ROWS = 50
QUARANTINE_ROWS = 50
BATCHES_PER_PAGE = 20
TREND_BATCHES = 20

View = Callable[..., HttpResponse]
CATEGORY_LABELS = {k: v for k, v in queries.DIMENSIONS.items() if k != "timeliness"}


def guarded(view: View) -> View:
    """A refusal by queries/services becomes the 403 page with its reason; a missing object 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            return render(request, "403.html", {"reason": exc.message}, status=403)

    return wrapped


def _ensure_collector(request: HttpRequest) -> None:
    if getattr(request.user, "admin_role", "") or not data_admin_units(request.user):
        raise PermissionDenied("只有各单位的数据管理员可以归集数据、管理推送令牌")


def _page_number(request: HttpRequest, name: str = "page") -> int:
    try:
        return max(1, int(request.GET.get(name, "1")))
    except ValueError:
        return 1


def _common(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "is_collector": bool(data_admin_units(user)) and not getattr(user, "admin_role", ""),
        "max_file_mb": settings.INGEST_MAX_FILE_MB,
        "file_formats": "、".join(sorted(FILE_FORMATS)),
    }


def _latest_by_code(rows: Any, codes: list[str], order: str) -> dict[str, Any]:
    """{resource code: its newest row} for the rows of `codes` (one query for the maxima, one
    for the rows)."""
    if not codes:
        return {}
    maxima = rows.filter(resource_code__in=codes).values("resource_code").annotate(top=Max(order))
    wanted = Q(pk__in=[])
    for m in maxima:
        wanted |= Q(resource_code=m["resource_code"], **{order: m["top"]})
    return {r.resource_code: r for r in rows.filter(wanted)}


# --- 数据归集: the collector's resources -------------------------------------------------------------


def _todo_list(request: HttpRequest) -> dict[str, Any]:
    """The 工作台's filtered lists (?todo=failed|quarantine|overdue): the same queries as the counts."""
    todo = request.GET.get("todo", "")
    if todo not in queries.TODO_FILTERS:
        return {"todo": ""}
    user = request.user
    batches: Any = []
    resources: list[Any] = []
    if todo == "failed":
        batches = queries.failed_batches(user)[:200]
    elif todo == "quarantine":
        batches = queries.quarantine_open_batches(user)[:200]
    else:
        resources = queries.overdue_resources(user)
    return {
        "todo": todo, "todo_title": queries.TODO_FILTERS[todo], "todo_batches": batches, "todo_resources": resources,
        "breadcrumbs": [(queries.TODO_FILTERS[todo], "")],
    }


@login_required
@require_http_methods(["GET", "POST"])
@guarded
def index(request: HttpRequest) -> HttpResponse:
    """The actor's collectable resources with their state, an upload form each, recent batches."""
    _ensure_collector(request)
    user = request.user
    bound: tuple[str, UploadForm] | None = None
    if request.method == "POST":
        code = request.POST.get("resource", "")
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                batch = services.do_submit_upload(
                    user, code, form.cleaned_data["file"], mode=form.cleaned_data["mode"],
                    encoding=form.cleaned_data.get("encoding") or "", request=request,
                )
            except PermissionDenied:
                raise
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"已提交批次 {batch.pk}，正在后台处理")
                return redirect("datahub:batch", pk=batch.pk)
        bound = (code, form)
    page = Paginator(queries.collectable_entries(user), 50).get_page(request.GET.get("page"))
    entries = list(page.object_list)
    codes = [e.resource_code for e in entries]
    versions = _latest_by_code(ResourceVersion.objects.all(), codes, "lake_version")
    last_batches = _latest_by_code(queries.visible_batches(user), codes, "id")
    scores = {s.resource_code: s for s in queries.resource_scores() if s.resource_code in set(codes)}
    rows = []
    for i, entry in enumerate(entries):
        form = bound[1] if bound and bound[0] == entry.resource_code else UploadForm()
        form.auto_id = f"id_up{i}_%s"
        rows.append({
            "entry": entry, "version": versions.get(entry.resource_code), "batch": last_batches.get(entry.resource_code),
            "score": scores.get(entry.resource_code), "form": form,
            "open": bool(bound and bound[0] == entry.resource_code),
        })
    if bound and bound[0] not in codes:
        messages.error(request, "；".join(str(e) for errs in bound[1].errors.values() for e in errs) or "提交失败")
    context = {
        "rows": rows, "page": page, "recent": queries.visible_batches(user)[:15], **_common(request),
        **_todo_list(request),
    }
    return render(request, "datahub/index.html", context)


# --- one resource ------------------------------------------------------------------------------------


def _lineage(version: ResourceVersion) -> dict[str, str]:
    """Where a version came from, in words: source, file, token."""
    batch = version.batch
    if batch is None:
        if version.restored_from is not None:
            return {"source": f"回滚到 v{version.restored_from}", "detail": version.reason}
        return {"source": version.get_operation_display(), "detail": version.reason}
    detail = batch.file_name
    if batch.source_id and batch.source is not None:
        detail = f"{batch.source.name}（{batch.source.url_display}）"
    elif batch.push_token_id and batch.push_token is not None:
        detail = f"令牌 {batch.push_token.prefix}… {batch.push_token.name} · 幂等键 {batch.idempotency_key}"
    if batch.parent_id:
        detail += f" · 补正批次 {batch.parent_id}"
    return {"source": batch.get_source_kind_display(), "detail": detail}


def _format_params(kind: str, params: dict[str, Any]) -> str:
    if kind == RuleKind.PATTERN:
        return f"匹配 {params.get('pattern', '')}"
    if kind == RuleKind.RANGE:
        return range_text(params.get("min"), params.get("max"))
    if kind == RuleKind.ID_BIRTHDATE:
        return f"与 {params.get('id_field', '')} 中的出生日期一致"
    if kind == RuleKind.COMPARE:
        op = str(params.get("op", ""))
        return f"{COMPARE_WORDS.get(op, op)} {params.get('other', '')}"
    if kind == RuleKind.REFERENCE:
        return f"存在于 {params.get('resource_code', '')} 的 {params.get('key', '')}"
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _resource_post(
    request: HttpRequest, code: str, forms: dict[str, Any]
) -> HttpResponse | None:
    """Handle one action of the resource page; a redirect on success, None to re-render."""
    user = request.user
    action = request.POST.get("action", "")
    if action == "upload":
        form = forms["upload"] = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                batch = services.do_submit_upload(
                    user, code, form.cleaned_data["file"], mode=form.cleaned_data["mode"],
                    encoding=form.cleaned_data.get("encoding") or "", request=request,
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"已提交批次 {batch.pk}，正在后台处理")
                return redirect("datahub:batch", pk=batch.pk)
        return None
    if action == "rollback":
        rollback = forms["rollback"] = RollbackForm(request.POST, versions=forms["rollback_versions"])
        if rollback.is_valid():
            try:
                created = services.do_rollback(
                    user, code, rollback.cleaned_data["version"], reason=rollback.cleaned_data["reason"], request=request
                )
            except DomainError as exc:
                add_domain_error(rollback, exc)
            else:
                messages.success(request, f"已回滚到 v{created.restored_from}，形成新版本 v{created.lake_version}")
                return redirect(reverse("datahub:resource", args=[code]) + "#versions")
        return None
    if action == "rule_add":
        rule_form = forms["rule"] = RuleForm(request.POST, columns=forms["columns"])
        if rule_form.is_valid():
            try:
                services.do_create_rule(
                    user, code, kind=rule_form.cleaned_data["kind"], field=rule_form.cleaned_data["field"],
                    params=rule_form.params(), message=rule_form.cleaned_data["message"], request=request,
                )
            except DomainError as exc:
                first_param = next(iter(RULE_PARAMS.get(rule_form.cleaned_data["kind"], {})), "")
                add_domain_error(rule_form, exc, {**RULE_ALIASES, "params": first_param})
            else:
                messages.success(request, "已添加校验规则，下一批数据起生效")
                return redirect(reverse("datahub:resource", args=[code]) + "#rules")
        return None
    if action == "source_add":
        source_form = forms["source"] = SourceForm(request.POST)
        if source_form.is_valid():
            data = source_form.cleaned_data
            try:
                services.do_create_source(
                    user, code, name=data["name"], url=data["url"], table=data["table"], query=data["query"],
                    mode=data["mode"], watermark_column=data["watermark_column"], scheduled=data["scheduled"],
                    request=request,
                )
            except DomainError as exc:
                add_domain_error(source_form, exc)
            else:
                messages.success(request, "已添加数据库来源（连接已测试，口令已加密保存）")
                return redirect(reverse("datahub:resource", args=[code]) + "#sources")
        return None
    anchor = "#rules" if action == "rule_delete" else "#sources"
    try:
        if action == "rule_delete":
            _, _, custom = queries.rules_for(user, code)
            rule = custom.filter(pk=_int(request.POST.get("rule"))).first()
            if rule is None:
                raise DomainError("该规则不存在或已删除", "rule")
            services.do_delete_rule(user, rule, request=request)
            messages.success(request, "已删除校验规则")
        elif action in ("source_run", "source_delete"):
            source = queries.sources_for(user, code).filter(pk=_int(request.POST.get("source"))).first()
            if source is None:
                raise DomainError("该数据库来源不存在或已删除", "source")
            if action == "source_delete":
                services.do_delete_source(user, source, request=request)
                messages.success(request, f"已删除来源“{source.name}”")
            else:
                batch = services.do_run_source(user, source, request=request)
                messages.success(request, f"已开始抽取，批次 {batch.pk}")
                return redirect("datahub:batch", pk=batch.pk)
        else:
            raise DomainError("没有这个操作", "action")
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("datahub:resource", args=[code]) + anchor)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@login_required
@require_http_methods(["GET", "POST"])
@guarded
def resource(request: HttpRequest, code: str) -> HttpResponse:
    user = request.user
    entry = queries.entry_for(user, code)
    versions = list(queries.versions_for(user, code).select_related("batch__push_token"))
    current = next((v for v in versions if not v.undone), None)  # an undone version is never current
    schema_error = ""
    columns: list[tuple[str, str]] = []
    derived: list[Any] = []
    custom: list[Any] = []
    try:
        schema, derived, custom_qs = queries.rules_for(user, code)
        columns = [(c.field_name, c.label) for c in schema.columns]
        derived = [{"rule": r, "category": CATEGORY_LABELS.get(r.category, r.category)} for r in derived]
        custom = [{"rule": r, "params": _format_params(r.kind, r.params or {})} for r in custom_qs]
    except PermissionDenied:
        raise
    except DomainError as exc:
        schema_error = exc.message
    forms: dict[str, Any] = {
        "upload": UploadForm(),
        "rollback_versions": [v.lake_version for v in versions if not v.undone and v is not current],
        "columns": columns,
    }
    forms["rollback"] = RollbackForm(versions=forms["rollback_versions"])
    forms["rule"] = RuleForm(columns=columns)
    forms["source"] = SourceForm()
    if request.method == "POST":
        done = _resource_post(request, code, forms)
        if done is not None:
            return done

    # 时间旅行: an explicit preview of a version (audited read, sensitive values masked).
    preview: dict[str, Any] | None = None
    preview_error = ""
    if "version" in request.GET and current is not None:
        number = _int(request.GET.get("version")) if request.GET.get("version", "") != "" else current.lake_version
        page_no = _page_number(request)
        try:
            data = queries.version_rows(
                user, code, number, offset=(page_no - 1) * PREVIEW_ROWS, limit=PREVIEW_ROWS, request=request
            )
        except PermissionDenied:
            raise
        except DomainError as exc:
            preview_error = exc.message
        else:
            labels = dict(columns)
            pages = max(1, (data["total"] + PREVIEW_ROWS - 1) // PREVIEW_ROWS)
            preview = {
                "version": data["version"], "total": data["total"], "page": page_no, "pages": pages,
                "first": (page_no - 1) * PREVIEW_ROWS + 1,
                "columns": [(c, labels.get(c, "批次" if c == "_batch" else c)) for c in data["columns"]],
                "rows": [_cells(row, names, data["columns"]) for row, names in zip(data["rows"], data["code_names"], strict=True)],
                "masked": [labels.get(c, c) for c in data["masked_fields"]],
            }

    batches = Paginator(queries.batches_for(user, code), BATCHES_PER_PAGE).get_page(request.GET.get("bpage"))
    finished = list(
        queries.batches_for(user, code).filter(status=BatchStatus.SUCCEEDED, rows_in__gt=0)
        .order_by("-finished_at", "-id")[:TREND_BATCHES]
    )
    finished.reverse()
    trend = charts.quality_trend([
        (f"#{b.pk}", {"completeness": b.completeness, "validity": b.validity, "uniqueness": b.uniqueness,
                      "consistency": b.consistency})
        for b in finished
    ])
    context = {
        "entry": entry,
        "current": current,
        "versions": [{"v": v, "lineage": _lineage(v)} for v in versions],
        "preview": preview,
        "preview_error": preview_error,
        "batches": batches,
        "derived": derived,
        "custom": custom,
        "sources": queries.sources_for(user, code),
        "schema_error": schema_error,
        "columns": columns,
        "upload_form": forms["upload"],
        "rollback_form": forms["rollback"],
        "rule_form": forms["rule"],
        "source_form": forms["source"],
        "trend": trend,
        "rule_kinds": RuleKind.choices,
        **_common(request),
    }
    return render(request, "datahub/resource.html", context)


# --- one batch ------------------------------------------------------------------------------------------


def _quarantine_columns(columns: list[str], labels: dict[str, str]) -> list[tuple[str, str]]:
    """Reasons first: row number, the reasons, then the delivered values under their item names."""
    names = {"_row": "行号", "_errors": "隔离原因", "_rules": "规则"}
    special = [c for c in ("_row", "_errors") if c in columns]
    rest = [c for c in columns if c not in special and c != "_rules" and not c.startswith("_batch")]
    return [(c, names.get(c) or labels.get(c, c)) for c in special + rest]


def _cells(row: dict[str, Any], names: dict[str, str], columns: list[str]) -> list[Any]:
    """A shown row's cells in column order, a coded value with its name: 01（汉族）. The names come
    from the presenter, which never decodes a masked value."""
    return [f"{row.get(c)}（{names[c]}）" if c in names else row.get(c) for c in columns]


def _pct(rate: Any) -> str:
    """A pass rate (0–1) as a percentage with up to two decimals; "—" when unknown."""
    if rate is None:
        return "—"
    value = round(100 * float(rate), 2)
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


# What the buttons of a full load waiting for confirmation do (service, message when done).
BATCH_ACTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "confirm": (services.do_confirm_full_load, "已确认批次 {batch} 的全量替换，正在写入"),
    "cancel": (services.do_cancel_batch, "已取消批次 {batch}，数据版本未变"),
    "recheck": (services.do_recheck_batch, "批次 {batch} 已重新排队校验"),
}


@login_required
@require_http_methods(["GET", "POST"])
@guarded
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    batch = queries.get_batch(user, pk)
    entry = queries.entry_for(user, batch.resource_code)
    correction = CorrectionForm()
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action in BATCH_ACTIONS:
        service, done = BATCH_ACTIONS[action]
        try:
            service(user, batch.pk, request=request)
        except PermissionDenied:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done.format(batch=batch.pk))
        return redirect("datahub:batch", pk=batch.pk)
    if request.method == "POST":
        correction = CorrectionForm(request.POST, request.FILES)
        if correction.is_valid():
            # A quarantine CSV corrected in place carries 行号/错误原因 columns; they are dropped.
            from .corrections import without_quarantine_columns

            try:
                with without_quarantine_columns(correction.cleaned_data["file"]) as upload:
                    created = services.do_submit_upload(user, batch.resource_code, upload, parent=batch, request=request)
            except PermissionDenied:
                raise  # e.g. a correction by someone who sees the values masked: the 403 page says why
            except DomainError as exc:
                add_domain_error(correction, exc, {"parent": "file"})
            else:
                messages.success(request, f"已提交补正批次 {created.pk}，处理完成后原批次的隔离行将标记为已补正")
                return redirect("datahub:batch", pk=created.pk)
    labels: dict[str, str] = {}
    try:
        schema, _, _ = queries.rules_for(user, batch.resource_code)
        labels = {c.field_name: c.label for c in schema.columns}
    except PermissionDenied:
        raise
    except DomainError:
        labels = {}
    quarantine: dict[str, Any] | None = None
    if batch.status == BatchStatus.SUCCEEDED and batch.rows_refused:
        page_no = _page_number(request, "qpage")
        data = queries.quarantine(
            user, batch, offset=(page_no - 1) * QUARANTINE_ROWS, limit=QUARANTINE_ROWS, request=request
        )
        cols = _quarantine_columns(data["columns"], labels)
        pages = max(1, (data["total"] + QUARANTINE_ROWS - 1) // QUARANTINE_ROWS)
        quarantine = {
            "columns": cols,
            "rows": [_cells(row, names, [c for c, _ in cols]) for row, names in zip(data["rows"], data["code_names"], strict=True)],
            "total": data["total"], "page": page_no, "pages": pages,
        }
    shown = queries.batch_presenter(user, batch)  # samples and the failure message quote values
    report = shown.report(batch.report or {})
    for key in ("rules", "fields"):
        report[key] = [
            {**r, "pct": _pct(r.get("pass_rate")), "category_label": CATEGORY_LABELS.get(r.get("category", ""), "")}
            for r in report.get(key) or []
        ]
    metrics = report.get("metrics") or {}
    report["metrics_pct"] = [(label, _pct(metrics.get(key))) for key, label in CATEGORY_LABELS.items() if key in metrics]
    samples = []
    rule_labels = {r.get("code"): r.get("label") for r in report.get("rules") or []}
    for rule_code, items in (report.get("samples") or {}).items():
        samples.append({"label": rule_labels.get(rule_code) or rule_code, "items": items})
    context = {
        "batch": batch,
        "entry": entry,
        "report": report,
        "field_labels": labels,
        "samples": samples,
        "quarantine": quarantine,
        "correction_form": correction,
        # Corrections replace data with what is uploaded: only for those who see the values clear
        # (a masked download must never come back as data).
        "can_correct": batch.status == BatchStatus.SUCCEEDED and batch.rows_refused > 0 and shown.all_clear,
        "masked_fields": shown.masked_fields,
        "error_message": shown.error(batch.error_message),
        "error_field_label": failure_field_label(batch.error_field, labels),
        "corrections": batch.corrections.order_by("id"),
        "live": batch.live,
        "preview": batch.preview or {},
        "awaiting": batch.status == BatchStatus.AWAITING,
        "can_confirm": batch.status == BatchStatus.AWAITING and services.may_confirm(user, batch),
        "confirm_expires_at": services.confirmation_expires_at(batch),
        "api_url": f"/api/v1/datahub/batches/{batch.pk}",
        "quarantine_csv": f"/api/v1/datahub/batches/{batch.pk}/quarantine.csv",
        "quarantine_xlsx": f"/api/v1/datahub/batches/{batch.pk}/quarantine.xlsx",
        **_common(request),
    }
    return render(request, "datahub/batch.html", context)


# --- 数据质量评分 ---------------------------------------------------------------------------------------

SORTS = {
    "-score": (lambda r: (-r.score, r.resource_code)),
    "score": (lambda r: (r.score, r.resource_code)),
    "unit": (lambda r: (r.unit_name, -r.score)),
    "code": (lambda r: r.resource_code),
}


def _period(request: HttpRequest) -> tuple[queries.Period | None, DomainError | None]:
    try:
        return queries.parse_period(request.GET.get("from"), request.GET.get("to")), None
    except DomainError as exc:
        return None, exc


def _period_query(period: queries.Period | None) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode({"from": period.start.isoformat(), "to": period.end.isoformat()}) if period else ""


@login_required
@require_GET
@guarded
def quality_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The unit ranking of a period (or current) as Excel (core.exports, formulas neutralised) or PDF."""
    from zhengwu.core import exports

    if fmt not in ("xlsx", "pdf"):
        raise Http404("导出格式只能是 xlsx 或 pdf")
    period, error = _period(request)
    if error is not None:  # the scorecard page, with the reason beside the date it names
        page = quality(request)
        page.status_code = 400
        return page
    data = queries.quality_overview(
        request.user, period=period, request=request, action="datahub.quality.export", details={"format": fmt}
    )
    header, rows = queries.scorecard_table(data["units"])
    when = period.label if period else f"截至 {timezone.localtime():%Y-%m-%d %H:%M}"
    stem = f"数据质量评分-单位排名-{period.start:%Y%m%d}-{period.end:%Y%m%d}" if period else "数据质量评分-单位排名"
    response: Any
    if fmt == "xlsx":
        response = exports.xlsx_response(f"{stem}.xlsx", header, rows, sheet_title="单位排名")
    else:
        response = exports.pdf_response(f"{stem}.pdf", "数据质量评分 · 单位排名", header, rows, subtitle=f"评分期间：{when}")
    return response  # a FileResponse (streamed), which the page decorators pass through


@login_required
@require_GET
@guarded
def quality(request: HttpRequest) -> HttpResponse:
    """Unit ranking and per-resource scorecards: scores only, for every staff member."""
    period, period_error = _period(request)
    data = queries.quality_overview(request.user, period=period, request=request)
    sort = request.GET.get("sort", "-score")
    if sort not in SORTS:
        sort = "-score"
    resources = sorted(data["resources"], key=SORTS[sort])
    units = data["units"]
    weights = data["weights"]
    common = _common(request)
    collectable = (
        set(queries.collectable_entries(request.user).values_list("resource_code", flat=True))
        if common["is_collector"] else set()
    )
    context = {
        "units": units,
        "resources": resources,
        "sort": sort,
        "unit_bars": charts.score_bars([(u.unit_name, u.score) for u in units]),
        "dimensions": list(data["dimensions"].values()),
        "weights": [(data["dimensions"][k], round(100 * w)) for k, w in weights.items()],
        "collectable": collectable,
        "period": period,
        "period_error": {"message": period_error.message, "field": period_error.field} if period_error else None,
        "period_from": request.GET.get("from", "")[:10] if period_error else (period.start.isoformat() if period else ""),
        "period_to": request.GET.get("to", "")[:10] if period_error else (period.end.isoformat() if period else ""),
        "period_query": _period_query(period),
        **common,
    }
    return render(request, "datahub/quality.html", context)


# --- 推送令牌 -----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@guarded
def tokens(request: HttpRequest) -> HttpResponse:
    _ensure_collector(request)
    user = request.user
    units = data_admin_units(user)
    unit_ids = {u.pk for u in units}
    resources = [(e.resource_code, e.name) for e in queries.collectable_entries(user) if e.provider_id in unit_ids]
    unit_choices = [(u.pk, u.name) for u in units]
    form = TokenForm(units=unit_choices, resources=resources, initial={"unit": units[0].pk})
    secret = ""
    created = None
    if request.method == "POST" and request.POST.get("action") == "revoke":
        token = queries.tokens_for(user).filter(pk=_int(request.POST.get("token"))).first()
        if token is None:
            messages.error(request, "该令牌不存在或不属于本单位")
        else:
            try:
                services.do_revoke_push_token(user, token, request=request)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"已吊销令牌 {token.prefix}…（{token.name}），使用它的推送将被拒绝")
        return redirect("datahub:tokens")
    if request.method == "POST":
        form = TokenForm(request.POST, units=unit_choices, resources=resources)
        if form.is_valid():
            unit = next(u for u in units if u.pk == form.cleaned_data["unit"])
            try:
                created, secret = services.do_create_push_token(
                    user, unit, name=form.cleaned_data["name"], resource_codes=form.cleaned_data["resource_codes"],
                    request=request,
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                form = TokenForm(units=unit_choices, resources=resources, initial={"unit": unit.pk})
    context = {
        "tokens": queries.tokens_for(user),
        "form": form,
        "secret": secret,
        "created": created,
        "push_url": request.build_absolute_uri("/api/v1/datahub/"),
        "example_code": (created.resource_codes[0] if created and created.resource_codes
                         else resources[0][0] if resources else "资源代码"),
        **_common(request),
    }
    response = render(request, "datahub/tokens.html", context)
    if secret:
        response["Cache-Control"] = "no-store"
    return response
