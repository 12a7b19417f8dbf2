"""The CKAN Action API (read side) over open datasets: what `/api/3/action/<name>` answers.

Each action takes the request's parameters (a dict: JSON body, form or query string) and a
`Caller` (the request, the absolute base URL, an API key if one was sent) and returns CKAN's
`result`; a refusal raises `CkanError` with CKAN's error type. The envelope, HTTP status and
parameter parsing are in views.py. Paging limits are CKAN's: package_search rows default 10,
at most 1000; datastore_search limit default 100, at most 32000 (larger values are clamped, as
CKAN clamps them to its configured maximum).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from django.http import HttpRequest
from django.urls import reverse

from zhengwu.core.errors import DomainError, NotFound, PermissionDenied

from . import data, queries, services
from .queries import Dataset

NOT_FOUND = "Not Found Error"
VALIDATION = "Validation Error"
AUTHORIZATION = "Authorization Error"
SEARCH_ROWS_MAX = 1000
SEARCH_ROWS_DEFAULT = 10
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id", "open_type", "update_cycle")
SORT_FIELDS = ("score", "metadata_modified", "metadata_created", "name", "title_string", "popularity")


class CkanError(Exception):
    def __init__(self, kind: str, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.kind, self.message, self.field = kind, message, field
        self.status = status or {NOT_FOUND: 404, VALIDATION: 409, AUTHORIZATION: 403}.get(kind, 400)

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"__type": self.kind, "message": self.message}
        if self.kind == VALIDATION and self.field:
            err[self.field] = [self.message]
        return err


@dataclass
class Caller:
    request: HttpRequest | None
    base_url: str  # "https://host" without a trailing slash
    api_key: str = ""


def _invalid(field: str, message: str) -> CkanError:
    return CkanError(VALIDATION, message, field)


def _int(params: dict[str, Any], name: str, default: int, *, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise _invalid(name, f"{name}：必须是整数，实为“{str(raw)[:20]}”") from None
    if value < 0:
        raise _invalid(name, f"{name}：不能为负数")
    return min(value, maximum) if maximum is not None else value


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise _invalid(name, f"{name}：必须是 true 或 false")


def _json_value(params: dict[str, Any], name: str, kind: type) -> Any:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and kind is not str:
        try:
            raw = json.loads(raw)
        except ValueError:
            if kind is list:
                return [raw]
            raise _invalid(name, f"{name}：不是合法的 JSON") from None
    if not isinstance(raw, kind):
        raise _invalid(name, f"{name}：应为{'对象' if kind is dict else '列表'}")
    return raw


def _iso(value: datetime) -> str:
    """CKAN's timestamps: UTC without a zone suffix."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _url(caller: Caller, path: str) -> str:
    return caller.base_url + path


# --- dictionaries -------------------------------------------------------------------------------------


def organization_dict(unit: Any, count: int | None = None) -> dict[str, Any]:
    out = {
        "id": queries.organization_name(unit.pk), "name": queries.organization_name(unit.pk), "title": unit.name,
        "display_name": unit.name, "description": unit.short_name or "", "type": "organization",
        "is_organization": True, "state": "active", "image_url": "", "approval_status": "approved",
    }
    if count is not None:
        out["package_count"] = count
    return out


def group_dict(theme: Any, count: int | None = None) -> dict[str, Any]:
    out = {
        "id": theme.code, "name": theme.code, "title": theme.name, "display_name": theme.name,
        "description": theme.description, "type": "group", "is_organization": False, "state": "active",
        "image_url": "", "approval_status": "approved",
    }
    if count is not None:
        out["package_count"] = count
    return out


FORMAT_INFO = {
    "CSV": ("text/csv", "download.csv", "CSV 文件（UTF-8，带 BOM）"),
    "XLSX": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "download.xlsx", "Excel 工作簿"),
    "JSON": ("application/json", "download.json", "JSON 数组"),
}


def resource_dict(dataset: Dataset, fmt: str, caller: Caller, position: int = 0) -> dict[str, Any]:
    mimetype, _path, description = FORMAT_INFO[fmt]
    url = _url(caller, reverse("opendata:download", args=[dataset.name, fmt.lower()]))
    return {
        "id": queries.resource_id(dataset.resource_code, fmt), "package_id": dataset.id,
        "name": f"{dataset.title}（{fmt}）", "description": description, "format": fmt, "mimetype": mimetype,
        "url": url, "url_type": "", "state": "active", "position": position,
        "datastore_active": True, "created": _iso(dataset.metadata_created),
        "last_modified": _iso(dataset.version.created_at), "metadata_modified": _iso(dataset.metadata_modified),
        "access_conditional": dataset.conditional,
    }


def package_dict(dataset: Dataset, caller: Caller) -> dict[str, Any]:
    provider = dataset.provider
    tags = [{"name": t, "display_name": t, "state": "active"} for t in queries.dataset_tags(dataset)]
    groups = [group_dict(dataset.theme)] if dataset.theme is not None else []
    resources = [resource_dict(dataset, fmt, caller, i) for i, fmt in enumerate(dataset.formats)]
    extras = {
        "resource_code": dataset.resource_code, "open_type": dataset.open_type, "update_cycle": dataset.update_cycle,
        "resource_format": dataset.resource_format, "class": dataset.class_label,
        "open_condition": dataset.open_condition, "lake_version": str(dataset.version.lake_version),
        "rows_total": str(dataset.version.rows_total),
    }
    return {
        "id": dataset.id, "name": dataset.name, "title": dataset.title, "notes": dataset.abstract, "type": "dataset",
        "state": "active", "private": False, "license_id": dataset.licence, "license_title": dataset.licence_title,
        "license_url": dataset.licence_url, "isopen": True,
        "metadata_created": _iso(dataset.metadata_created), "metadata_modified": _iso(dataset.metadata_modified),
        "author": provider.name, "maintainer": provider.name, "owner_org": queries.organization_name(provider.pk),
        "organization": organization_dict(provider), "groups": groups, "tags": tags, "num_tags": len(tags),
        "resources": resources, "num_resources": len(resources), "version": str(dataset.version.lake_version),
        "url": _url(caller, reverse("opendata:dataset", args=[dataset.name])),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "open_type": dataset.open_type, "update_cycle": dataset.update_cycle,
        "fields": [{"id": i.field_name, "label": i.name, "type": i.data_type} for i in dataset.items],
    }


# --- actions: packages, organizations, groups, tags, resources ------------------------------------------------


def package_list(params: dict[str, Any], caller: Caller) -> Any:
    limit = _int(params, "limit", 0)
    offset = _int(params, "offset", 0)
    names = [d.name for d in queries.open_datasets()]
    names.sort()
    return names[offset : offset + limit] if limit else names[offset:]


def package_show(params: dict[str, Any], caller: Caller) -> Any:
    key = str(params.get("id") or params.get("name_or_id") or "")
    if not key:
        raise _invalid("id", "id：缺少数据集的 id 或名称")
    return package_dict(_dataset(key), caller)


def _dataset(key: str) -> Dataset:
    try:
        return queries.get_dataset(key)
    except NotFound as exc:
        raise CkanError(NOT_FOUND, exc.message) from None


_RANGE = re.compile(r"^\[\s*(\S+)\s+TO\s+(\S+)\s*\]$", re.IGNORECASE)
_FQ_TERM = re.compile(r'([+-]?)([A-Za-z_.]+):("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\S+)')


def _parse_time(text: str, field: str) -> datetime | None:
    text = text.strip()
    if text == "*":
        return None
    cleaned = text.upper().replace("Z", "+00:00")
    if cleaned.startswith("NOW"):
        if cleaned == "NOW":
            return datetime.now(UTC)
        raise _invalid("fq", f"fq：{field} 的时间“{text[:40]}”不支持相对写法，请写 ISO 8601 时间")
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise _invalid("fq", f"fq：{field} 的时间“{text[:40]}”不是 ISO 8601 时间（如 2026-01-01T00:00:00Z）") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _fq_filters(fq: str) -> list[tuple[bool, str, Any]]:
    """fq as (negated, field, value or (from, to)); CKAN's Solr syntax for the fields it filters on."""
    out: list[tuple[bool, str, Any]] = []
    rest = _FQ_TERM.sub("", fq).replace("AND", "").strip()
    if rest:
        raise _invalid("fq", f"fq：不能理解“{rest[:60]}”；请写 字段:值，如 organization:org-3 或 metadata_modified:[2026-01-01T00:00:00Z TO *]")
    for sign, name, raw in _FQ_TERM.findall(fq):
        name = name.lower()
        if name in ("metadata_modified", "metadata_created"):
            match = _RANGE.match(raw)
            if not match:
                raise _invalid("fq", f"fq：{name} 须写成区间 [起 TO 止]")
            out.append((sign == "-", name, (_parse_time(match.group(1), name), _parse_time(match.group(2), name))))
            continue
        allowed = ("organization", "owner_org", "groups", "tags", "res_format", "license_id", "open_type",
                   "update_cycle", "name", "id", "dataset_type", "type", "state")
        if name not in allowed:
            raise _invalid("fq", f"fq：不支持按 {name} 过滤（可用 {'、'.join(allowed)}、metadata_modified、metadata_created）")
        value = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
        out.append((sign == "-", name, value))
    return out


def _sort_spec(raw: str) -> list[tuple[str, bool]]:
    spec = []
    for part in [p.strip() for p in raw.split(",") if p.strip()]:
        words = part.split()
        name = words[0]
        direction = words[1].lower() if len(words) > 1 else "asc"
        if name not in SORT_FIELDS or direction not in ("asc", "desc") or len(words) > 2:
            raise _invalid("sort", f"sort：不能按“{part[:40]}”排序（可用 {'、'.join(SORT_FIELDS)}，asc 或 desc）")
        spec.append((name, direction == "desc"))
    return spec


def search_datasets(
    q: str, fq_terms: list[tuple[bool, str, Any]], sort: list[tuple[str, bool]], *, start: int = 0, rows: int = 10,
    facet_fields: Iterable[str] = (), facet_limit: int = 50,
) -> tuple[int, list[Dataset], dict[str, Any]]:
    """(count, the page's datasets, CKAN's search_facets) for the text, fq terms and sort — in the
    database (`search.search`); the portal's search uses the same path."""
    from . import search

    result = search.search(q, fq_terms, sort, start=start, rows=rows, facet_fields=facet_fields)
    out: dict[str, Any] = {}
    for name, counts in result.facets.items():
        shown = counts[:facet_limit] if facet_limit >= 0 else counts
        labels = search.facet_labels(name, [v for v, _ in shown])
        out[name] = {"title": name, "items": [{"name": v, "display_name": labels.get(v, v), "count": n} for v, n in shown]}
    return result.count, result.datasets, out


def package_search(params: dict[str, Any], caller: Caller) -> Any:
    q = str(params.get("q") or "")
    if len(q) > 200:
        raise _invalid("q", "q：检索词不能超过 200 字")
    fq = params.get("fq") or ""
    fq_list = _json_value(params, "fq_list", list) or []
    terms = _fq_filters(str(fq)) + [t for item in fq_list for t in _fq_filters(str(item))]
    rows = _int(params, "rows", SEARCH_ROWS_DEFAULT, maximum=SEARCH_ROWS_MAX)
    start = _int(params, "start", 0)
    sort_raw = str(params.get("sort") or ("score desc, metadata_modified desc" if q.strip() not in ("", "*:*") else "metadata_modified desc"))
    sort = _sort_spec(sort_raw)
    fields = _json_value(params, "facet.field", list) or []
    unknown = [f for f in fields if f not in FACET_FIELDS]
    if unknown:
        raise _invalid("facet.field", f"facet.field：不支持 {'、'.join(map(str, unknown))}（可用 {'、'.join(FACET_FIELDS)}）")
    facet_limit = int(params.get("facet.limit") or 50) if str(params.get("facet.limit") or "50").lstrip("-").isdigit() else 50
    count, page, search_facets = search_datasets(q, terms, sort, start=start, rows=rows, facet_fields=fields,
                                                 facet_limit=facet_limit)
    return {
        "count": count, "sort": sort_raw,
        "results": [package_dict(d, caller) for d in page],
        "facets": {name: {i["name"]: i["count"] for i in f["items"]} for name, f in search_facets.items()},
        "search_facets": search_facets,
    }


def organization_list(params: dict[str, Any], caller: Caller) -> Any:
    all_fields = _bool(params, "all_fields", False)
    limit = _int(params, "limit", 1000, maximum=1000)
    offset = _int(params, "offset", 0)
    orgs = queries.organizations()[offset : offset + limit]
    if all_fields:
        return [organization_dict(o["unit"], o["count"]) for o in orgs]
    return [o["name"] for o in orgs]


def organization_show(params: dict[str, Any], caller: Caller) -> Any:
    try:
        org = queries.get_organization(str(params.get("id") or ""))
    except NotFound as exc:
        raise CkanError(NOT_FOUND, exc.message) from None
    out = organization_dict(org["unit"], org["count"])
    if _bool(params, "include_datasets", False):
        out["packages"] = [package_dict(d, caller) for d in queries.open_datasets() if d.provider.pk == org["unit"].pk][:1000]
    return out


def group_list(params: dict[str, Any], caller: Caller) -> Any:
    all_fields = _bool(params, "all_fields", False)
    themes = queries.themes_with_counts()
    if all_fields:
        return [group_dict(t["theme"], t["count"]) for t in themes]
    return [t["theme"].code for t in themes]


def group_show(params: dict[str, Any], caller: Caller) -> Any:
    try:
        theme = queries.get_theme(str(params.get("id") or ""))
    except NotFound as exc:
        raise CkanError(NOT_FOUND, exc.message) from None
    members = [d for d in queries.open_datasets() if d.theme is not None and d.theme.code == theme.code]
    out = group_dict(theme, len(members))
    if _bool(params, "include_datasets", False):
        out["packages"] = [package_dict(d, caller) for d in members]
    return out


def tag_list(params: dict[str, Any], caller: Caller) -> Any:
    query = str(params.get("query") or "").strip()
    found = queries.tags()
    return [t for t in found if query in t] if query else found


def resource_show(params: dict[str, Any], caller: Caller) -> Any:
    key = str(params.get("id") or "")
    try:
        dataset, fmt = queries.dataset_for_resource(key)
    except NotFound as exc:
        raise CkanError(NOT_FOUND, exc.message) from None
    return resource_dict(dataset, fmt, caller, dataset.formats.index(fmt))


# --- DataStore ------------------------------------------------------------------------------------------------


def allowed_fields(dataset: Dataset, caller: Caller, what: str) -> tuple[list[str], Any]:
    """The columns this caller may read: every open item of a 无条件开放 dataset; of a 有条件开放 one
    only the items of an API key in force for it (else an Authorization Error)."""
    fields = dataset.field_names
    if not dataset.conditional:
        return fields, None
    key = services.authenticate_api_key(caller.api_key, dataset.resource_code) if caller.api_key else None
    if key is None:
        raise CkanError(
            AUTHORIZATION,
            f"数据集“{dataset.title}”有条件开放：请在门户申请，获批后以接口密钥（Authorization 请求头）访问"
            + ("；所给密钥无效、已过期或不适用于该数据集" if caller.api_key else ""),
        )
    return [f for f in fields if f in (key.items or [])], key


def _field_list(raw: Any, allowed: list[str], labels: dict[str, str]) -> list[str]:
    if raw is None or raw == "" or raw == []:
        return list(allowed)
    names = raw if isinstance(raw, list) else [p.strip() for p in str(raw).split(",") if p.strip()]
    unknown = [str(n) for n in names if n not in allowed]
    if unknown:
        raise _invalid("fields", f"fields：字段 {'、'.join(unknown[:5])} 不存在")
    return list(dict.fromkeys(str(n) for n in names))


def _datastore_sort(raw: Any, allowed: list[str]) -> list[tuple[str, bool]]:
    if not raw:
        return []
    parts = raw if isinstance(raw, list) else str(raw).split(",")
    out = []
    for part in [str(p).strip() for p in parts if str(p).strip()]:
        words = part.rsplit(None, 1)
        name, direction = (words[0], words[1].lower()) if len(words) == 2 and words[1].lower() in ("asc", "desc") else (part, "asc")
        name = name.strip('"')
        if name not in allowed:
            raise _invalid("sort", f"sort：字段 {name[:40]} 不存在")
        out.append((name, direction == "desc"))
    return out


def datastore_search(params: dict[str, Any], caller: Caller) -> Any:
    key = str(params.get("resource_id") or params.get("id") or "")
    if not key:
        raise _invalid("resource_id", "resource_id：缺少资源 id")
    try:
        dataset, _fmt = queries.dataset_for_resource(key)
    except NotFound as exc:
        raise CkanError(NOT_FOUND, exc.message) from None
    open_fields, api_key = allowed_fields(dataset, caller, "datastore_search")
    # CKAN's `_id` first: the row's number in the lake version's order (1-based, stable per version).
    allowed = [data.ROW_ID, *open_fields]
    labels = {i.field_name: i.name for i in dataset.items}
    types = dict(data.arrow_types(dataset.resource_code, dataset.version.lake_version))
    types[data.ROW_ID] = pa.int64()
    fields = _field_list(_json_value(params, "fields", list) if isinstance(params.get("fields"), list) or str(params.get("fields") or "").startswith("[") else params.get("fields"), allowed, labels)
    raw_filters = _json_value(params, "filters", dict) or {}
    filters: dict[str, list[Any]] = {}
    for name, value in raw_filters.items():
        if name not in allowed:
            raise _invalid("filters", f"filters：字段 {str(name)[:40]} 不存在")
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > 1000:
            raise _invalid("filters", f"filters：字段 {name} 的取值须有 1 到 1000 个")
        if any(isinstance(v, (dict, list)) for v in values):
            raise _invalid("filters", f"filters：字段 {name} 的取值须是文本、数字或 null")
        filters[name] = [data.convert(name, labels.get(name, name), v, types[name]) for v in values]
    q_raw = params.get("q")
    text, text_fields = "", None
    if isinstance(q_raw, dict) or (isinstance(q_raw, str) and q_raw.strip().startswith("{")):
        q_dict = _json_value(params, "q", dict) or {}
        for name in q_dict:
            if name not in allowed:
                raise _invalid("q", f"q：字段 {str(name)[:40]} 不存在")
        text_fields = {str(k): str(v) for k, v in q_dict.items()}
    elif q_raw:
        text = str(q_raw)[:200]
    records_format = str(params.get("records_format") or "objects")
    if records_format not in ("objects", "lists", "csv", "tsv"):
        raise _invalid("records_format", "records_format：只能是 objects、lists、csv 或 tsv")
    limit = _int(params, "limit", data.DEFAULT_LIMIT, maximum=data.MAX_LIMIT)
    offset = _int(params, "offset", 0)
    sort = _datastore_sort(params.get("sort"), allowed)
    include_total = _bool(params, "include_total", True)
    # Without a sort, records come in `_id` order (the scan's own order: DuckDB keeps insertion order).
    search = data.Search(fields, filters, text, text_fields, sort, limit, offset, include_total)
    page = data.query(dataset.resource_code, dataset.version.lake_version, search, searchable=open_fields)
    services.record_use(dataset.resource_code, "api_calls")
    if api_key is not None:
        services.record_key_use(api_key, "datastore_search", request=caller.request, rows=len(page.rows))
    rid = queries.resource_id(dataset.resource_code, "CSV") if key in (dataset.name, dataset.id) else key
    path = reverse("opendata:ckan_action", args=["datastore_search"])
    result: dict[str, Any] = {
        "resource_id": rid, "include_total": include_total, "records_format": records_format,
        "fields": [
            {"id": f, "type": "int"} if f == data.ROW_ID
            else {"id": f, "type": data.ckan_type(types[f]), "info": {"label": labels.get(f, f)}}
            for f in fields
        ],
        "records": _records(page.rows, fields, records_format), "limit": limit, "offset": offset,
        "_links": _links(caller, path, rid, limit, offset),
        "lake_version": dataset.version.lake_version,
    }
    if include_total:
        result["total"] = page.total
        result["total_was_estimated"] = False
    if filters:
        result["filters"] = raw_filters
    if sort:
        result["sort"] = ", ".join(f"{f} {'desc' if d else 'asc'}" for f, d in sort)
    if q_raw:
        result["q"] = q_raw
    return result


def _links(caller: Caller, path: str, rid: str, limit: int, offset: int) -> dict[str, str]:
    """CKAN's `_links`: the request's own query arguments without `offset` (start), with the next
    offset (next) and, when offset - limit > 0, the previous one (prev) — as CKAN's datastore
    builds them. A POST has its arguments in the body: then resource_id and limit stand for them."""
    from urllib.parse import urlencode

    arguments: dict[str, str] = {}
    request = caller.request
    if request is not None and request.GET:
        arguments = {k: request.GET[k] for k in request.GET}
    else:
        arguments = {"resource_id": rid, "limit": str(limit)}
    start = {k: v for k, v in arguments.items() if k != "offset"}
    links = {"start": f"{path}?{urlencode(start)}", "next": f"{path}?{urlencode({**arguments, 'offset': offset + limit})}"}
    if offset - limit > 0:
        links["prev"] = f"{path}?{urlencode({**arguments, 'offset': offset - limit})}"
    return links


def _records(rows: list[tuple[Any, ...]], fields: list[str], records_format: str) -> Any:
    if records_format == "objects":
        return [{f: data.plain(v) for f, v in zip(fields, row, strict=True)} for row in rows]
    if records_format == "lists":
        return [[data.plain(v) for v in row] for row in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t" if records_format == "tsv" else ",", lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else data.plain(v) for v in row])
    return buffer.getvalue()


def datastore_search_sql(params: dict[str, Any], caller: Caller) -> Any:
    from . import conf, sql

    if not conf.sql_enabled():
        raise CkanError(AUTHORIZATION, "本平台未开启 datastore_search_sql（只读 SQL 查询）；请用 datastore_search")
    text = str(params.get("sql") or "")
    try:
        answer = sql.run(text, caller)
    except DomainError as exc:
        kind = NOT_FOUND if isinstance(exc, NotFound) else AUTHORIZATION if isinstance(exc, PermissionDenied) else VALIDATION
        raise CkanError(kind, exc.message, "sql") from None
    return answer


def status_show(params: dict[str, Any], caller: Caller) -> Any:
    from . import conf

    return {
        "site_title": "公共数据开放平台", "site_url": caller.base_url, "ckan_version": "2.10.0",
        "api_version": 3, "extensions": ["datastore", "dcat"] + (["datastore_search_sql"] if conf.sql_enabled() else []),
        "locale_default": "zh_Hans_CN",
    }


def site_read(params: dict[str, Any], caller: Caller) -> Any:
    return True


ACTIONS: dict[str, Callable[[dict[str, Any], Caller], Any]] = {
    "package_list": package_list, "package_search": package_search, "package_show": package_show,
    "organization_list": organization_list, "organization_show": organization_show,
    "group_list": group_list, "group_show": group_show, "tag_list": tag_list, "resource_show": resource_show,
    "datastore_search": datastore_search, "datastore_search_sql": datastore_search_sql,
    "status_show": status_show, "site_read": site_read,
}
