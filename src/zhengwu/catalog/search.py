"""Chinese full-text search over the catalog: an inverted index in the relational database.

At publish time the published snapshot's name, information items (Chinese names and field names)
and abstract are segmented with jieba's search mode; each (term, field) becomes one posting row
with its term frequency and the field's length. A query is segmented the same way; all its terms
must occur (AND), postings are fetched by the (term, entry) index and scored BM25-style with field
boosts name > items > abstract. Facets are one GROUP BY per facet over the matched set, expressed
as a subquery so that the same code runs on SQLite and PostgreSQL without parameter limits.
Only live entries (published and not retired) are in the index.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from .models import CatalogEntry, CatalogTerm

FIELD_BOOST = {CatalogTerm.FIELD_NAME: 3.0, CatalogTerm.FIELD_ITEMS: 1.6, CatalogTerm.FIELD_ABSTRACT: 1.0}
K1 = 1.2
B = 0.75
MAX_TERM_LEN = 64
STOP_WORDS = frozenset("的 了 和 与 及 或 等 在 是 对 为 其 之 中 有 由 按 及其 以及 并 含 包括 相关 信息 数据".split())
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")
_jieba_lock = threading.Lock()
_jieba_ready = False

FACETS = ("provider", "class", "share_type", "open_type", "resource_format", "update_cycle")


def _jieba() -> Any:
    """jieba with its dictionary loaded once per process (about a second, off the request path
    after the first call; `warm_up()` can be called at start-up)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(60)
                jieba.initialize()
                _jieba_ready = True
    return jieba


def warm_up() -> None:
    _jieba()


def tokenize(text: str) -> list[str]:
    """Search-mode segmentation, lower-cased, without punctuation and stop words.

    "信息" and "数据" are stop words because nearly every entry contains them; a query made only of
    stop words still searches them (see `query_terms`)."""
    if not text:
        return []
    out = []
    for token in _jieba().cut_for_search(text.lower()):
        token = token.strip()
        if token and _TOKEN_OK.search(token) and token not in STOP_WORDS and token != "_":
            out.append(token[:MAX_TERM_LEN])
    return out


def query_terms(text: str) -> list[str]:
    terms = list(dict.fromkeys(tokenize(text)))
    if not terms and text.strip():
        terms = [t.strip().lower()[:MAX_TERM_LEN] for t in _jieba().cut_for_search(text.lower()) if t.strip()]
        terms = [t for t in dict.fromkeys(terms) if _TOKEN_OK.search(t)]
    return terms


def _field_texts(snapshot: dict[str, Any]) -> dict[int, list[str]]:
    items = snapshot.get("items") or []
    item_tokens: list[str] = []
    for item in items:
        item_tokens.extend(tokenize(item.get("name", "")))
        field_name = (item.get("field_name") or "").lower()
        if field_name:
            item_tokens.append(field_name[:MAX_TERM_LEN])
            item_tokens.extend(p for p in field_name.split("_") if p and p != field_name)
    return {
        CatalogTerm.FIELD_NAME: tokenize(snapshot.get("name", "")),
        CatalogTerm.FIELD_ITEMS: item_tokens,
        CatalogTerm.FIELD_ABSTRACT: tokenize(snapshot.get("abstract", "")),
    }


def postings_for(entry_id: int, snapshot: dict[str, Any]) -> list[CatalogTerm]:
    rows = []
    for fld, tokens in _field_texts(snapshot).items():
        counts: dict[str, int] = defaultdict(int)
        for token in tokens:
            counts[token] += 1
        for term, tf in counts.items():
            rows.append(CatalogTerm(term=term, entry_id=entry_id, field=fld, tf=tf, field_len=len(tokens)))
    return rows


def index_entry(entry_id: int, snapshot: dict[str, Any]) -> None:
    """(Re)index one live entry from its published snapshot. Call inside the publishing transaction."""
    CatalogTerm.objects.filter(entry_id=entry_id).delete()
    CatalogTerm.objects.bulk_create(postings_for(entry_id, snapshot), batch_size=2000)
    _stats_cache.clear()


def unindex_entry(entry_id: int) -> None:
    CatalogTerm.objects.filter(entry_id=entry_id).delete()
    _stats_cache.clear()


# --- querying -------------------------------------------------------------------------------------

_stats_cache: dict[str, Any] = {}
STATS_TTL = 60.0


def _collection_stats() -> tuple[int, dict[int, float]]:
    """(number of live entries, average token count per field), cached for a minute and dropped
    whenever this process changes the index. The sum of term frequencies of a field is its length."""
    cached = _stats_cache.get("stats")
    if cached is None or time.monotonic() - cached[0] > STATS_TTL:
        n = CatalogEntry.objects.filter(is_live=True).count()
        sums = dict(CatalogTerm.objects.values_list("field").annotate(s=Sum("tf")).values_list("field", "s"))
        avg = {fld: (sums.get(fld) or 0) / n if n else 1.0 for fld in FIELD_BOOST}
        cached = (time.monotonic(), n, {k: v or 1.0 for k, v in avg.items()})
        _stats_cache["stats"] = cached
    return cached[1], cached[2]


@dataclass
class SearchResult:
    total: int
    entries: list[CatalogEntry]
    scores: dict[int, float]
    facets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)


def apply_filters(qs: QuerySet[CatalogEntry], filters: dict[str, Any]) -> QuerySet[CatalogEntry]:
    if filters.get("provider"):
        qs = qs.filter(provider_id=filters["provider"])
    if filters.get("class"):
        cat, _, item = str(filters["class"]).partition("-")
        qs = qs.filter(category=cat)
        if item:
            qs = qs.filter(class_item=item)
    for key in ("share_type", "open_type", "resource_format", "update_cycle"):
        if filters.get(key):
            qs = qs.filter(**{key: filters[key]})
    return qs


def _facet_counts(qs: QuerySet[CatalogEntry]) -> dict[str, list[tuple[str, str, int]]]:
    from .constants import Category, class_item_name

    facets: dict[str, list[tuple[str, str, int]]] = {}
    rows = qs.values("provider_id", "provider__name").annotate(n=Count("id")).order_by("-n", "provider__name")
    facets["provider"] = [(str(r["provider_id"]), r["provider__name"], r["n"]) for r in rows]
    rows = qs.values("category", "class_item").annotate(n=Count("id")).order_by("category", "class_item")
    facets["class"] = [
        (
            f"{r['category']}-{r['class_item']}",
            f"{Category(r['category']).label[:2]} · {class_item_name(r['category'], r['class_item']) or r['class_item']}",
            r["n"],
        )
        for r in rows
    ]
    for key in ("share_type", "open_type", "resource_format", "update_cycle"):
        rows = qs.values(key).annotate(n=Count("id")).order_by("-n", key)
        facets[key] = [(r[key], r[key], r["n"]) for r in rows]
    return facets


def search(
    text: str = "",
    filters: dict[str, Any] | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
    with_facets: bool = True,
    extra_ids: Iterable[int] = (),
) -> SearchResult:
    """Search live entries. `extra_ids` adds entries outside the index (the actor's own drafts,
    already matched by the caller) ranked after the indexed ones."""
    filters = filters or {}
    terms = query_terms(text)
    live = CatalogEntry.objects.filter(is_live=True)
    if not terms:
        qs = apply_filters(live, filters)
        total = qs.count()
        page = list(qs.select_related("provider").order_by("category", "class_item", "resource_code")[
            offset : offset + limit
        ])
        return SearchResult(total, page, {}, _facet_counts(qs) if with_facets else {}, terms)

    postings = CatalogTerm.objects.filter(term__in=terms).values_list("entry_id", "term", "field", "tf", "field_len")
    n_docs, avg_len = _collection_stats()
    by_entry: dict[int, list[tuple[str, int, int, int]]] = defaultdict(list)
    doc_freq: dict[str, set[int]] = defaultdict(set)
    for entry_id, term, fld, tf, flen in postings.iterator(chunk_size=5000):
        by_entry[entry_id].append((term, fld, tf, flen))
        doc_freq[term].add(entry_id)
    needed = len(terms)
    idf = {t: math.log(1 + (n_docs - len(ids) + 0.5) / (len(ids) + 0.5)) for t, ids in doc_freq.items()}
    scores: dict[int, float] = {}
    for entry_id, rows in by_entry.items():
        if len({r[0] for r in rows}) < needed:
            continue
        score = 0.0
        for term, fld, tf, flen in rows:
            norm = K1 * (1 - B + B * flen / (avg_len.get(fld) or 1.0))
            score += idf[term] * FIELD_BOOST[fld] * tf * (K1 + 1) / (tf + norm)
        scores[entry_id] = score

    matched = (
        CatalogTerm.objects.filter(term__in=terms)
        .values("entry_id")
        .annotate(n=Count("term", distinct=True))
        .filter(n=needed)
        .values("entry_id")
    )
    qs = apply_filters(live.filter(id__in=matched), filters)
    active_filters = any(filters.get(k) for k in FACETS)
    if active_filters:
        allowed = set(qs.values_list("id", flat=True))
        scores = {k: v for k, v in scores.items() if k in allowed}
    ranked = sorted(scores, key=lambda k: (-scores[k], k))
    extra = [i for i in extra_ids if i not in scores]
    ranked.extend(extra)
    page_ids = ranked[offset : offset + limit]
    objects = CatalogEntry.objects.select_related("provider").in_bulk(page_ids)
    entries = [objects[i] for i in page_ids if i in objects]
    facets: dict[str, list[tuple[str, str, int]]] = {}
    if with_facets:
        if extra:
            qs = apply_filters(CatalogEntry.objects.filter(Q(id__in=matched, is_live=True) | Q(id__in=extra)), filters)
        facets = _facet_counts(qs)
    return SearchResult(len(ranked), entries, scores, facets, terms)
