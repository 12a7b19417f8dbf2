"""Pages of the catalog in the staff console: search, entries, compiling, review, import/export,
statistics. Thin: decisions are made by `services`, reads by `queries`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhengwu.core import limits
from zhengwu.core.errors import DomainError, NotFound

from . import charts, excel, queries, services
from .constants import Category, EntryStatus, OpenType, ShareType, class_item_name
from .forms import CorrectionForm, EntryForm, ImportForm, ItemFormSet, ReasonForm, items_from
from .models import CatalogEntry, CorrectionRequest
from .rules import FIELD_LABELS

PAGE_SIZE = 20
FACET_TITLES = {
    "provider": "提供单位",
    "class": "分类",
    "share_type": "共享类型",
    "open_type": "开放类型",
    "resource_format": "资源格式",
    "update_cycle": "更新周期",
}


def _entry(request: HttpRequest, pk: int, audit: bool = False) -> CatalogEntry:
    try:
        return queries.get_entry(request.user, pk, request=request, audit=audit)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """目录检索: full-text search with facets."""
    q = request.GET.get("q", "")[:100]
    filters = {k: request.GET.get(k, "")[:50] for k in FACET_TITLES}
    if filters["provider"] and not (filters["provider"].isascii() and filters["provider"].isdigit()):
        filters["provider"] = ""
    try:
        page_no = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page_no = 1
    result = queries.search_entries(
        request.user, q, filters, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE, request=request
    )
    base = request.GET.copy()
    base.pop("page", None)
    facets = []
    for key, title in FACET_TITLES.items():
        rows = []
        for value, label, count in result.facets.get(key, []):
            link = base.copy()
            selected = filters.get(key) == value
            if selected:
                link.pop(key, None)
            else:
                link[key] = value
            rows.append({"label": label, "count": count, "selected": selected, "query": link.urlencode()})
        facets.append({"key": key, "title": title, "rows": rows})
    pages = (result.total + PAGE_SIZE - 1) // PAGE_SIZE
    return render(
        request,
        "catalog/index.html",
        {
            "q": q,
            "result": result,
            "facets": facets,
            "page_no": page_no,
            "pages": pages,
            "query": base.urlencode(),
            "hidden": [(k, v) for k, v in filters.items() if v],
            "can_compile": bool(services.data_admin_units(request.user)),
            "is_reviewer": services.is_catalog_reviewer(request.user),
        },
    )


@login_required
@require_GET
def entry_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry(request, pk, audit=True)
    content = queries.entry_view(request.user, entry)
    user = request.user
    own = queries.can_see_working_copy(user, entry) and services.is_data_admin(user, entry.provider)
    context: dict[str, Any] = {
        "entry": entry,
        "c": content,
        "category_label": Category(content["category"]).label,
        "class_item_label": class_item_name(content["category"], content["class_item"]),
        "versions": queries.versions(entry),
        "diff": queries.pending_diff(entry) if queries.can_see_working_copy(user, entry) else None,
        "corrections": queries.corrections_for_entry(user, entry),
        "can_edit": own and entry.status in (EntryStatus.DRAFT, EntryStatus.PUBLISHED),
        "can_submit": own and entry.status == EntryStatus.DRAFT,
        "can_withdraw": own and entry.status == EntryStatus.PENDING,
        "can_review": entry.status == EntryStatus.PENDING and services.is_catalog_reviewer(user),
        "can_retire": entry.is_live and (own or services.is_catalog_reviewer(user)),
        "can_correct": entry.is_live and bool(getattr(user, "unit_id", None)) and not getattr(user, "admin_role", ""),
        "can_answer": own,
        "reason_form": ReasonForm(),
        "correction_form": CorrectionForm(),
        "text_limit": limits.TEXT,
        "showing_published": not queries.can_see_working_copy(user, entry),
    }
    return render(request, "catalog/entry_detail.html", context)


def _entry_form_page(request: HttpRequest, entry: CatalogEntry | None) -> HttpResponse:
    if entry is None:
        initial: dict[str, Any] = {}
        items_initial: list[dict[str, Any]] = []
    else:
        snap = services.snapshot(entry)
        initial = EntryForm.initial_from(snap)
        items_initial = snap["items"]
    form = EntryForm(request.POST or None, initial=initial)
    formset = ItemFormSet(request.POST or None, initial=items_initial, prefix="items")
    problems: list[tuple[str, str]] = []
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.to_data()
        data["items"] = items_from(formset)
        try:
            if entry is None:
                saved = services.do_create_entry(request.user, data, request=request)
                messages.success(request, f"已保存草稿，资源代码 {saved.resource_code}")
            else:
                saved = services.do_update_entry(request.user, entry, data, request=request)
                messages.success(request, "已保存修改" + ("，提交审核后形成新版本" if saved.published_version else ""))
        except services.EntryInvalid as exc:
            problems = exc.problems
            for field, message in exc.problems:
                if field == "category" or field == "class_item":
                    form.add_error("klass", message)
                elif field in form.fields:
                    form.add_error(field, message)
        except DomainError as exc:
            problems = [(exc.field or "", exc.message)]
        else:
            return redirect("catalog:entry_detail", pk=saved.pk)
    return render(
        request,
        "catalog/entry_form.html",
        {"form": form, "formset": formset, "entry": entry, "problems": problems, "labels": FIELD_LABELS},
    )


@login_required
@require_http_methods(["GET", "POST"])
def entry_create(request: HttpRequest) -> HttpResponse:
    if not services.is_data_admin(request.user, getattr(request.user, "unit", None)):
        return render(request, "403.html", {"reason": "只有本单位的数据管理员可以编制目录。"}, status=403)
    return _entry_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def entry_edit(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry(request, pk)
    if not services.is_data_admin(request.user, entry.provider):
        return render(request, "403.html", {"reason": f"只有{entry.provider.name}的数据管理员可以修改此目录。"}, status=403)
    return _entry_form_page(request, entry)


ACTIONS = {
    "submit": "已提交审核",
    "withdraw": "已撤回",
    "approve": "已审核通过并发布",
    "return": "已退回修改",
    "retire": "已下线",
    "correct": "已提交纠错，提供单位将答复",
}


@login_required
@require_POST
def entry_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("没有这个操作")
    entry = _entry(request, pk)
    text = request.POST.get("reason", "") or request.POST.get("content", "") or request.POST.get("comment", "")
    user = request.user
    try:
        if action == "submit":
            services.do_submit_entry(user, entry, note=text, request=request)
        elif action == "withdraw":
            services.do_withdraw_entry(user, entry, request=request)
        elif action == "approve":
            services.do_approve_entry(user, entry, comment=text, request=request)
        elif action == "return":
            services.do_return_entry(user, entry, reason=text, request=request)
        elif action == "retire":
            services.do_retire_entry(user, entry, reason=text, request=request)
        else:
            services.do_request_correction(user, entry, content=text, field=request.POST.get("field", ""), request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ACTIONS[action])
        if action in ("approve", "return"):
            return redirect("catalog:review")
    return redirect("catalog:entry_detail", pk=entry.pk)


@login_required
@require_POST
def correction_answer(request: HttpRequest, pk: int) -> HttpResponse:
    correction = CorrectionRequest.objects.select_related("entry").filter(pk=pk).first()
    if correction is None:
        raise Http404("纠错申请不存在")
    try:
        services.do_answer_correction(
            request.user, correction, accepted=request.POST.get("accepted") == "1",
            answer=request.POST.get("answer", ""), request=request,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已答复纠错")
    return redirect("catalog:entry_detail", pk=correction.entry_id)


@login_required
@require_GET
def version_detail(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    entry = _entry(request, pk)
    try:
        version = queries.get_version(request.user, entry, number, request=request)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    previous = queries.published_snapshot(entry, number - 1) if number > 1 else None
    return render(
        request,
        "catalog/version_detail.html",
        {
            "entry": entry,
            "version": version,
            "c": version.snapshot,
            "diff": services.diff_snapshots(previous, version.snapshot) if previous else None,
            "category_label": Category(version.snapshot["category"]).label,
            "class_item_label": class_item_name(version.snapshot["category"], version.snapshot["class_item"]),
        },
    )


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in EntryStatus.values or status == queries.RETURNED else ""
    entries = queries.my_unit_entries(request.user, status)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/mine.html",
        {
            "page": page,
            "status": status,
            "statuses": [*EntryStatus.choices, (queries.RETURNED, "被退回待修改")],
            "corrections": queries.open_corrections_for_unit(request.user),
            "can_compile": services.is_data_admin(request.user, getattr(request.user, "unit", None)),
        },
    )


@login_required
@require_GET
def review(request: HttpRequest) -> HttpResponse:
    if not services.is_catalog_reviewer(request.user):
        return render(request, "403.html", {"reason": "只有数据主管部门的目录审核员可以审核目录。"}, status=403)
    return render(request, "catalog/review.html", {"entries": queries.review_queue(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def import_entries(request: HttpRequest) -> HttpResponse:
    if not services.is_data_admin(request.user, getattr(request.user, "unit", None)):
        return render(request, "403.html", {"reason": "只有本单位的数据管理员可以导入目录。"}, status=403)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read(20 * 1024 * 1024 + 1)
        try:
            if len(content) > 20 * 1024 * 1024:
                raise excel.ImportFileError("文件超过 20 MB，请分批导入")
            orphans: list[dict[str, str]] = []
            if upload.name.lower().endswith(".json"):
                records = excel.parse_json(content)
                source = "json"
            else:
                records, orphans = excel.parse_workbook(content)
                source = "excel"
            report = services.do_import_entries(
                request.user, records, good_rows_only=form.cleaned_data["good_rows_only"],
                source=source, extra_problems=orphans, request=request,
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
    return render(request, "catalog/import.html", {"form": form, "report": report})


@login_required
@require_GET
def template_xlsx(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(excel.template_workbook(), content_type=excel.XLSX_TYPE)
    response["Content-Disposition"] = "attachment; filename*=UTF-8''catalog-template.xlsx"
    return response


@login_required
@require_GET
def export_xlsx(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(excel.export_workbook(request.user, request=request), content_type=excel.XLSX_TYPE)
    response["Content-Disposition"] = "attachment; filename*=UTF-8''catalog-export.xlsx"
    return response


@login_required
@require_GET
def export_json(request: HttpRequest) -> HttpResponse:
    import json

    data = excel.export_records(request.user, request=request)
    response = HttpResponse(
        json.dumps({"entries": data}, ensure_ascii=False, indent=1), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = "attachment; filename*=UTF-8''catalog-export.json"
    return response


@login_required
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    data = queries.statistics(request.user, request=request)
    total = data["total"]
    return render(
        request,
        "catalog/stats.html",
        {
            "s": data,
            "unit_bars": charts.bars([(r["provider__name"], r["n"]) for r in data["by_unit"]]),
            "class_bars": charts.bars([(f"{r['category'][:2]}·{r['item']}", r["n"]) for r in data["by_class"]]),
            "share_donut": charts.donut(
                [(v, data["share"].get(v, 0)) for v in ShareType.values], total
            ),
            "open_donut": charts.donut([(v, data["open"].get(v, 0)) for v in OpenType.values], total),
        },
    )


# --- search synonyms (检索同义词) -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def synonyms(request: HttpRequest) -> HttpResponse:
    """检索同义词: the catalog authority lists, adds and removes pairs; every change audited."""
    if not services.is_catalog_reviewer(request.user):
        return render(
            request, "403.html",
            {"reason": "只有数据主管部门的目录审核员或数据管理员可以维护检索同义词。"}, status=403,
        )
    values = {"term": "", "synonym": "", "note": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "")[:200] for k in values}
        try:
            pair = services.do_add_search_synonym(
                request.user, values["term"], values["synonym"], note=values["note"], request=request
            )
        except DomainError as exc:
            errors[exc.field or "term"] = exc.message
            status = 400
        else:
            messages.success(request, f"已添加同义词：{pair.term} → {pair.synonym}")
            return redirect("catalog:synonyms")
    q = request.GET.get("q", "")[:50]
    pairs = Paginator(queries.search_synonyms(request.user, q), 100).get_page(request.GET.get("page"))
    return render(
        request, "catalog/synonyms.html",
        {"pairs": pairs, "q": q, "values": values, "errors": errors,
         "limits": {"term": services.SYNONYM_TERM_MAX, "synonym": services.SYNONYM_MAX, "note": 100}},
        status=status,
    )


@login_required
@require_POST
def synonym_remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.do_remove_search_synonym(request.user, pk, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已删除同义词")
    return redirect("catalog:synonyms")
