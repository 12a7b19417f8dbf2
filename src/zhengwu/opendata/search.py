"""Dataset search for the portal and CKAN's package_search: filters, facet counts and paging in
the database, the Chinese full-text match by the catalog's own index.

`open_rows()` is the open rule of `queries.open_datasets` as one queryset: a row per open dataset
(its entry's published `CatalogEntryVersion`), annotated with what search filters, counts and
sorts on — the published snapshot's 开放类型, 更新周期, 资源格式, class, the theme (the profile's,
else the class's, else the fallback), the licence, the latest data version's time,
`metadata_modified` / `metadata_created` and popularity. Nothing is loaded into Python to filter
or count: each facet is one GROUP BY, a page is one LIMIT/OFFSET, and only the page's datasets
are built (`queries.open_datasets(codes)`).

Text: the catalog's inverted index (`catalog.search`, jieba, synonyms, bigrams) scores the
matching entries in one SQL statement; only (entry id, rank) pairs come back, the open rule and
filters then keep those that are open (`entry_id IN …`), and the catalog's ranking orders them
(words matched, matched in a strong field, BM25, ties by entry id). Without text, sort and page
are SQL's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Concat, Greatest, Lower, NullIf, Replace

from zhengwu.catalog.constants import CLASS_ITEMS
from zhengwu.catalog.models import CatalogEntryVersion

from . import conf, queries
from .models import DatasetDailyStat, DatasetProfile, Theme

# The CKAN sort keys as columns of `open_rows()`.
SORT_COLUMNS = {
    "metadata_modified": "o_modified",
    "metadata_created": "o_created",
    "name": "o_name",
    "title_string": "o_title",
    "popularity": "o_popularity",
}
# Facet / filter names (CKAN's and the portal's) → column of `open_rows()`.
COLUMNS = {
    "organization": "entry__provider_id",
    "owner_org": "entry__provider_id",
    "groups": "o_theme",
    "license_id": "o_licence",
    "open_type": "o_open_type",
    "update_cycle": "o_update_cycle",
    "resource_format": "o_resource_format",
    "name": "o_name",
}
FORMATS = ("CSV", "XLSX", "JSON")
IN_CHUNK = 5000  # entry ids per IN list (SQLite's bound on parameters is far above)


def _theme_case() -> Any:
    """The theme of a row: the profile's, else the first theme (in order) listing its class, else
    the fallback theme (when it exists) — as `queries.open_datasets` decides."""
    themes = list(Theme.objects.all())
    by_class: dict[str, str] = {}
    for theme in themes:
        for cls in theme.class_codes or []:
            by_class.setdefault(str(cls), theme.code)
    classes: dict[str, list[str]] = {}
    for cls, code in by_class.items():
        classes.setdefault(code, []).append(cls)
    fallback = (
        Value(queries.FALLBACK_THEME)
        if any(t.code == queries.FALLBACK_THEME for t in themes)
        else Value(None)
    )
    whens = [When(o_class__in=sorted(codes), then=Value(code)) for code, codes in classes.items()]
    by_class_expr = Case(*whens, default=fallback, output_field=CharField()) if whens else fallback
    profile_theme = DatasetProfile.objects.filter(
        resource_code=OuterRef("entry__resource_code"), theme__isnull=False
    )
    return Coalesce(
        Subquery(profile_theme.values("theme__code")[:1]), by_class_expr, output_field=CharField()
    )


def open_rows() -> QuerySet[CatalogEntryVersion]:
    """One row per open dataset (see the module's docstring), annotated `o_*`."""
    from zhengwu.datahub.models import ResourceVersion

    code = OuterRef("entry__resource_code")
    latest = ResourceVersion.objects.filter(resource_code=code, undone=False).order_by("-lake_version")
    licence = DatasetProfile.objects.filter(resource_code=code, licence__in=list(conf.LICENCES))
    used = (
        DatasetDailyStat.objects.filter(resource_code=code)
        .values("resource_code")
        .annotate(p=Sum("downloads") + Sum("api_calls") + Sum("views") / 10)
        .values("p")
    )
    first = (
        CatalogEntryVersion.objects.filter(entry=OuterRef("entry")).order_by("version").values("published_at")
    )
    return (
        CatalogEntryVersion.objects.filter(
            entry__is_live=True,
            entry__published_version__gt=0,
            entry__open_type__in=queries.OPEN_TYPES,
            version=F("entry__published_version"),
        )
        .annotate(o_open_type=Coalesce(KT("snapshot__open_type"), Value(""), output_field=CharField()))
        .filter(o_open_type__in=queries.OPEN_TYPES)
        .filter(Exists(latest))
        .annotate(
            o_data_at=Subquery(latest.values("created_at")[:1]),
            o_update_cycle=Coalesce(KT("snapshot__update_cycle"), Value(""), output_field=CharField()),
            o_resource_format=Coalesce(KT("snapshot__resource_format"), Value(""), output_field=CharField()),
            o_category=Coalesce(KT("snapshot__category"), Value(""), output_field=CharField()),
            o_class_item=Coalesce(KT("snapshot__class_item"), Value(""), output_field=CharField()),
            o_title=Coalesce(
                NullIf(KT("snapshot__name"), Value("")), F("entry__name"), output_field=CharField()
            ),
            o_name=Lower(Replace(F("entry__resource_code"), Value("/"), Value("-"))),
            o_licence=Coalesce(
                Subquery(licence.values("licence")[:1]),
                Value(conf.default_licence()),
                output_field=CharField(),
            ),
            o_popularity=Coalesce(
                Subquery(used, output_field=IntegerField()), Value(0), output_field=IntegerField()
            ),
            o_created=Coalesce(Subquery(first[:1]), F("entry__created_at")),
        )
        .annotate(
            o_class=Concat(F("o_category"), Value("-"), F("o_class_item"), output_field=CharField()),
            o_modified=Greatest(F("published_at"), F("o_data_at")),
        )
        .annotate(o_theme=_theme_case())
    )


# --- filters ---------------------------------------------------------------------------------------


def _keyword_codes(value: str) -> list[str]:
    """Resource codes whose profile lists `value` as a keyword (profiles are few: one per dataset
    given a licence, theme or keywords)."""
    return [
        c
        for c, words in DatasetProfile.objects.exclude(keywords=[]).values_list("resource_code", "keywords")
        if value in (words or [])
    ]


def _class_codes_named(value: str) -> list[str]:
    return sorted(
        f"{cat}-{item}" for cat, items in CLASS_ITEMS.items() for item, name in items.items() if name == value
    )


def _id_codes(value: str) -> list[str]:
    """Resource codes whose package or resource id is `value` (ids are uuid5 of the code)."""
    value = value.strip().lower()
    if value in queries._ids:
        return [queries._ids[value]]
    codes = queries._candidates().values_list("resource_code", flat=True)
    return [
        c
        for c in codes
        if value == queries.dataset_id(c) or value in (queries.resource_id(c, f) for f in FORMATS)
    ]


def term_q(name: str, value: Any) -> Q:
    """One CKAN fq term (or portal filter) as a condition on `open_rows()` (not negated)."""
    if name in ("metadata_modified", "metadata_created"):
        column = SORT_COLUMNS[name]
        start, end = value
        cond = Q()
        if start is not None:
            cond &= Q(**{f"{column}__gte": start})
        if end is not None:
            cond &= Q(**{f"{column}__lte": end})
        return cond
    if value == "*" or name in ("dataset_type", "type", "state"):
        return Q() if value in ("*", "dataset", "active") else Q(pk__in=[])
    if name in ("organization", "owner_org"):
        unit = str(value).removeprefix("org-")
        return Q(entry__provider_id=int(unit)) if unit.isdigit() else Q(pk__in=[])
    if name == "res_format":
        return Q() if value in FORMATS else Q(pk__in=[])
    if name == "id":
        return Q(entry__resource_code__in=_id_codes(str(value)))
    if name == "tags":
        return (
            Q(o_update_cycle=value)
            | Q(o_class__in=_class_codes_named(str(value)))
            | Q(entry__resource_code__in=_keyword_codes(str(value)))
        )
    return Q(**{COLUMNS[name]: value})


def apply_terms(
    qs: QuerySet[CatalogEntryVersion], terms: Iterable[tuple[bool, str, Any]]
) -> QuerySet[CatalogEntryVersion]:
    for negated, name, value in terms:
        cond = term_q(name, value)
        qs = qs.exclude(cond) if negated else qs.filter(cond)
    return qs


# --- text ------------------------------------------------------------------------------------------------


def restrict_to(qs: QuerySet[CatalogEntryVersion], ids: Iterable[int]) -> list[QuerySet[CatalogEntryVersion]]:
    """`qs` limited to the entry ids, as querysets of at most IN_CHUNK ids each."""
    ordered = sorted(ids)
    if not ordered:
        return [qs.none()]
    return [qs.filter(entry_id__in=ordered[i : i + IN_CHUNK]) for i in range(0, len(ordered), IN_CHUNK)]


# --- search ----------------------------------------------------------------------------------------------------


@dataclass
class Result:
    count: int
    datasets: list[queries.Dataset]  # the asked page, in order
    facets: dict[str, list[tuple[str, int]]] = field(
        default_factory=dict
    )  # name → (value, count), most first
    ranks: dict[int, float] = field(default_factory=dict)


def _is_text(q: str) -> bool:
    return q.strip() not in ("", "*:*", "*")


def _ordered_ids(
    parts: list[QuerySet[CatalogEntryVersion]], sort: list[tuple[str, bool]], ranks: dict[int, float]
) -> list[str]:
    """The matched resource codes of a text search, in the asked order (stable sorts from the last
    key to the first; `score` is the catalog's rank, ties by entry id)."""
    columns = sorted({SORT_COLUMNS[n] for n, _ in sort if n in SORT_COLUMNS})
    rows = [r for part in parts for r in part.values("entry_id", "entry__resource_code", *columns)]
    rows.sort(key=lambda r: r["entry_id"])
    rows.sort(
        key=lambda r: ranks.get(r["entry_id"], 0.0), reverse=True
    )  # relevance, when nothing else decides
    for name, descending in reversed(sort):
        if name == "score":
            rows.sort(key=lambda r: r["entry_id"])
            rows.sort(key=lambda r: ranks.get(r["entry_id"], 0.0), reverse=descending)
            continue
        column = SORT_COLUMNS[name]
        rows.sort(key=itemgetter(column), reverse=descending)
    return [r["entry__resource_code"] for r in rows]


def facet_counts(parts: list[QuerySet[CatalogEntryVersion]], name: str) -> list[tuple[str, int]]:
    """(value, number of datasets) of one facet over the rows, most first, ties by value."""
    counts: dict[str, int] = {}

    def add(value: Any, n: int) -> None:
        if value is None or value == "":
            return
        counts[str(value)] = counts.get(str(value), 0) + n

    if name == "res_format":
        total = sum(p.count() for p in parts)
        for fmt in FORMATS:
            add(fmt if total else None, total)
    elif name == "tags":
        # A dataset's tags: its keywords, its update cycle and its class's name, each once.
        for part in parts:
            rows = part.values_list("entry__resource_code", "o_update_cycle", "o_category", "o_class_item")  # type: ignore[misc]
            keywords = dict(
                DatasetProfile.objects.filter(resource_code__in=Subquery(part.values("entry__resource_code")))
                .exclude(keywords=[])
                .values_list("resource_code", "keywords")
            )
            for code, cycle, cat, item in rows:
                words = [*(keywords.get(code) or []), cycle, CLASS_ITEMS.get(cat, {}).get(item, "")]
                for word in dict.fromkeys(w for w in words if w):
                    add(word, 1)
    else:
        column = COLUMNS[name]
        for part in parts:
            for value, n in (
                part.order_by().values_list(column).annotate(n=Count("pk")).values_list(column, "n")
            ):
                add(f"org-{value}" if name in ("organization", "owner_org") else value, n)
    return sorted(counts.items(), key=lambda x: (-x[1], x[0]))


def search(
    q: str,
    terms: list[tuple[bool, str, Any]],
    sort: list[tuple[str, bool]],
    *,
    start: int = 0,
    rows: int = 10,
    facet_fields: Iterable[str] = (),
    facet_terms: dict[str, list[tuple[bool, str, Any]]] | None = None,
) -> Result:
    """Open datasets matching the text and the fq terms: their count, the page [start, start+rows)
    built as `queries.Dataset`s, and the facet counts. `facet_terms` gives a facet its own terms
    (the portal counts each facet with the other facets' choices applied); else `terms`."""
    base = open_rows()
    ranks: dict[int, float] = {}
    text = _is_text(q)
    if text:
        from zhengwu.catalog.queries import text_ranks  # the catalog's ranking, pairs only

        ranks = text_ranks(q)
        parts = restrict_to(base, ranks)
    else:
        parts = [base]
    matched = [apply_terms(p, terms) for p in parts]
    if text:
        ordered = _ordered_ids(matched, sort, ranks)
        count = len(ordered)
        page_codes = ordered[start : start + rows]
    else:
        count = matched[0].count()
        order = []
        for name, descending in sort:
            if name == "score":
                continue
            column = SORT_COLUMNS[name]
            order.append(F(column).desc() if descending else F(column).asc())
        order.append(F("entry__resource_code").asc())
        page_codes = (
            list(
                matched[0]
                .order_by(*order)
                .values_list("entry__resource_code", flat=True)[start : start + rows]
            )
            if rows
            else []
        )
    facets = {}
    for name in facet_fields:
        own = (facet_terms or {}).get(name)
        facets[name] = facet_counts(matched if own is None else [apply_terms(p, own) for p in parts], name)
    built = {d.resource_code: d for d in queries.open_datasets(page_codes)} if page_codes else {}
    return Result(count, [built[c] for c in page_codes if c in built], facets, ranks)


def facet_labels(name: str, values: Iterable[str]) -> dict[str, str]:
    """Display names of facet values: a provider's name, a theme's, a licence's title."""
    values = list(values)
    if name in ("organization", "owner_org"):
        from zhengwu.directory.models import Unit

        ids = [int(v.removeprefix("org-")) for v in values if v.removeprefix("org-").isdigit()]
        return {f"org-{pk}": str(n) for pk, n in Unit.objects.filter(pk__in=ids).values_list("pk", "name")}
    if name == "groups":
        return dict(Theme.objects.filter(code__in=values).values_list("code", "name"))
    if name == "license_id":
        return {v: conf.LICENCES[v][0] for v in values if v in conf.LICENCES}
    return {}
