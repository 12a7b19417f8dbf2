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
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet, Sum

from .models import CatalogEntry, CatalogIndexStat, CatalogTerm

FIELD_BOOST = {CatalogTerm.FIELD_NAME: 3.0, CatalogTerm.FIELD_ITEMS: 1.6, CatalogTerm.FIELD_ABSTRACT: 1.0}
K1 = 1.2
B = 0.75
MAX_TERM_LEN = 64
STOP_WORDS = frozenset(["的", "了", "和", "与", "及", "或", "等", "在", "是", "对", "为", "其", "之", "中", "有", "由", "按", "及其", "以及", "并", "含", "包括", "相关", "信息", "数据"])
UNDERSCORE = frozenset({"_", "__"})
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
        if token and _TOKEN_OK.search(token) and token not in STOP_WORDS and token not in UNDERSCORE:
            out.append(token[:MAX_TERM_LEN])
    return out


def _clean(tokens: Iterable[str], keep_stop_words: bool) -> list[str]:
    out = []
    for token in tokens:
        token = token.strip()
        wanted = keep_stop_words or token not in STOP_WORDS
        if token and _TOKEN_OK.search(token) and token not in UNDERSCORE and wanted:
            out.append(token[:MAX_TERM_LEN])
    return list(dict.fromkeys(out))


_IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def _segments(text: str, cut: Any) -> list[str]:
    """Field names such as plate_no stay whole (they are indexed whole); the rest is segmented."""
    text = text.lower()[:200]
    words = _IDENTIFIER.findall(text)
    words.extend(cut(_IDENTIFIER.sub(" ", text)))
    return words


def query_terms(text: str) -> list[str]:
    """Query words by precise segmentation: every document was indexed in search mode, which
    emits each precise word plus its dictionary sub-words, so the whole words suffice and keep the
    posting lists short. A query of stop words only searches them."""
    words = _segments(text, _jieba().cut)
    return _clean(words, False) or _clean(words, True)


def search_terms(text: str) -> list[str]:
    words = _segments(text, _jieba().cut_for_search)
    return _clean(words, False) or _clean(words, True)


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


_LEN_COLUMN = {
    CatalogTerm.FIELD_NAME: "name_tokens",
    CatalogTerm.FIELD_ITEMS: "items_tokens",
    CatalogTerm.FIELD_ABSTRACT: "abstract_tokens",
}


def _field_lengths(entry_id: int) -> dict[int, int]:
    return dict(CatalogTerm.objects.filter(entry_id=entry_id).values_list("field", "field_len").distinct())


def _bump(entries: int, lengths: dict[int, int]) -> None:
    CatalogIndexStat.objects.get_or_create(id=1)
    changes: dict[str, Any] = {"generation": F("generation") + 1, "entries": F("entries") + entries}
    for fld, delta in lengths.items():
        if delta:
            changes[_LEN_COLUMN[fld]] = F(_LEN_COLUMN[fld]) + delta
    CatalogIndexStat.objects.filter(id=1).update(**changes)
    _stats_cache.clear()
    _facet_cache.clear()


def index_entry(entry_id: int, snapshot: dict[str, Any]) -> None:
    """(Re)index one live entry from its published snapshot. Call inside the publishing transaction."""
    old = _field_lengths(entry_id)
    CatalogTerm.objects.filter(entry_id=entry_id).delete()
    rows = postings_for(entry_id, snapshot)
    CatalogTerm.objects.bulk_create(rows, batch_size=2000)
    new = {r.field: r.field_len for r in rows}
    _bump(0 if old else 1, {f: new.get(f, 0) - old.get(f, 0) for f in FIELD_BOOST})


def unindex_entry(entry_id: int) -> None:
    old = _field_lengths(entry_id)
    CatalogTerm.objects.filter(entry_id=entry_id).delete()
    if old:
        _bump(-1, {f: -old.get(f, 0) for f in FIELD_BOOST})


def rebuild_stats() -> None:
    """Recompute the index statistics from the postings (after bulk loads)."""
    lengths = dict.fromkeys(FIELD_BOOST, 0)
    for fld, total in CatalogTerm.objects.values_list("field").annotate(s=Sum("tf")).values_list("field", "s"):
        lengths[fld] = total or 0
    entries = CatalogTerm.objects.values("entry_id").distinct().count()
    stat, _ = CatalogIndexStat.objects.get_or_create(id=1)
    stat.generation += 1
    stat.entries = entries
    for fld, total in lengths.items():
        setattr(stat, _LEN_COLUMN[fld], total)
    stat.save()
    _stats_cache.clear()
    _facet_cache.clear()


# --- querying -------------------------------------------------------------------------------------

_stats_cache: dict[str, Any] = {}


def _collection_stats() -> tuple[int, dict[int, float]]:
    """(number of indexed entries, average token count per field) from the one statistics row;
    also drops the in-memory facet rows when another process has changed the index since."""
    stat = CatalogIndexStat.objects.filter(id=1).first()
    if stat is None:
        return 0, dict.fromkeys(FIELD_BOOST, 1.0)
    if _facet_cache.get("generation") != stat.generation:
        _facet_cache.clear()
        _facet_cache["generation"] = stat.generation
    n = stat.entries
    avg = {f: (getattr(stat, _LEN_COLUMN[f]) / n if n else 1.0) or 1.0 for f in FIELD_BOOST}
    return n, avg


@dataclass
class SearchResult:
    total: int
    entries: list[CatalogEntry]
    scores: dict[int, float]
    facets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)


# Facet values of every live entry, held per process: filtering and counting facets over a
# matched set of thousands of entries is then a pass over memory instead of six GROUP BY
# queries. Reloaded when the index generation (CatalogIndexStat) changes — i.e. after any
# publication or retirement in any process — and topped up for any matched id it lacks.
_facet_cache: dict[str, Any] = {}
_FACET_COLUMNS = ("id", "provider_id", "category", "class_item", "share_type", "open_type", "resource_format",
                  "update_cycle", "resource_code")


def _facet_rows() -> dict[int, tuple[Any, ...]]:
    cached = _facet_cache.get("rows")
    if cached is None:
        rows = {r[0]: r for r in CatalogEntry.objects.filter(is_live=True).values_list(*_FACET_COLUMNS).iterator(chunk_size=10000)}
        cached = (time.monotonic(), rows)
        _facet_cache["rows"] = cached
    result: dict[int, tuple[Any, ...]] = cached[1]
    return result


def _rows_for(ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    rows = _facet_rows()
    missing = [i for i in ids if i not in rows]
    if missing:
        for start in range(0, len(missing), 500):
            for r in CatalogEntry.objects.filter(id__in=missing[start : start + 500]).values_list(*_FACET_COLUMNS):
                rows[r[0]] = r
    return rows


def _passes(row: tuple[Any, ...], filters: dict[str, Any]) -> bool:
    if filters.get("provider") and str(row[1]) != str(filters["provider"]):
        return False
    if filters.get("class"):
        cat, _, item = str(filters["class"]).partition("-")
        if row[2] != cat or (item and row[3] != item):
            return False
    for key, index in (("share_type", 4), ("open_type", 5), ("resource_format", 6), ("update_cycle", 7)):
        if filters.get(key) and row[index] != filters[key]:
            return False
    return True


def _count_facets(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[str, str, int]]]:
    from zhengwu.directory.models import Unit

    from .constants import Category, class_item_name

    counters: dict[str, Counter[Any]] = {k: Counter() for k in FACETS}
    for r in rows:
        counters["provider"][r[1]] += 1
        counters["class"][(r[2], r[3])] += 1
        counters["share_type"][r[4]] += 1
        counters["open_type"][r[5]] += 1
        counters["resource_format"][r[6]] += 1
        counters["update_cycle"][r[7]] += 1
    names = dict(Unit.objects.filter(id__in=list(counters["provider"])).values_list("id", "name"))
    facets: dict[str, list[tuple[str, str, int]]] = {
        "provider": sorted(
            ((str(k), names.get(k, str(k)), n) for k, n in counters["provider"].items()), key=lambda x: (-x[2], x[1])
        ),
        "class": [
            (f"{cat}-{item}", f"{Category(cat).label[:2]} · {class_item_name(cat, item) or item}", n)
            for (cat, item), n in sorted(counters["class"].items())
        ],
    }
    for key in ("share_type", "open_type", "resource_format", "update_cycle"):
        facets[key] = [(v, v, n) for v, n in sorted(counters[key].items(), key=lambda x: (-x[1], x[0]))]
    return facets


def apply_filters(qs: QuerySet[CatalogEntry], filters: dict[str, Any]) -> QuerySet[CatalogEntry]:
    """The same filters as SQL, for querysets outside the index (e.g. a unit's own drafts)."""
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


def _postings(terms: list[str]) -> list[tuple[int, str, int, int, int]]:
    table = connection.ops.quote_name(CatalogTerm._meta.db_table)
    marks = ", ".join(["%s"] * len(terms))
    with connection.cursor() as cursor:
        # Only the quoted table name and "%s" markers are formatted in; the terms are parameters.
        sql = f"SELECT entry_id, term, field, tf, field_len FROM {table} WHERE term IN ({marks})"  # noqa: S608
        cursor.execute(sql, terms)
        rows: list[tuple[int, str, int, int, int]] = cursor.fetchall()
    return rows


def _score(terms: list[str]) -> dict[int, float]:
    """BM25 with field boosts over entries containing every term."""
    n_docs, avg_len = _collection_stats()
    by_entry: dict[int, list[tuple[str, int, int, int]]] = defaultdict(list)
    doc_freq: dict[str, set[int]] = defaultdict(set)
    for entry_id, term, fld, tf, flen in _postings(terms):
        by_entry[entry_id].append((term, fld, tf, flen))
        doc_freq[term].add(entry_id)
    if len(doc_freq) < len(terms):
        return {}
    idf = {t: math.log(1 + (n_docs - len(ids) + 0.5) / (len(ids) + 0.5)) for t, ids in doc_freq.items()}
    needed = len(terms)
    scores: dict[int, float] = {}
    for entry_id, rows in by_entry.items():
        if needed > 1 and len({r[0] for r in rows}) < needed:
            continue
        score = 0.0
        for term, fld, tf, flen in rows:
            norm = K1 * (1 - B + B * flen / (avg_len.get(fld) or 1.0))
            score += idf[term] * FIELD_BOOST[fld] * tf * (K1 + 1) / (tf + norm)
        scores[entry_id] = score
    return scores


def search(
    text: str = "",
    filters: dict[str, Any] | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
    with_facets: bool = True,
    extra_ids: Iterable[int] = (),
) -> SearchResult:
    """Search live entries: every query word must occur (in any field); ranked by relevance.
    Facet counts are over the matched set with the filters applied. `extra_ids` adds entries
    outside the index (the actor's own drafts, matched by the caller) after the indexed ones."""
    filters = {k: v for k, v in (filters or {}).items() if v}
    _collection_stats()  # drops stale facet rows when the index changed elsewhere
    terms = query_terms(text)
    if terms:
        scores = _score(terms)
        if not scores:
            # Words the precise segmentation kept whole may be indexed only as their parts.
            wider = search_terms(text)
            if wider != terms:
                terms, scores = wider, _score(wider)
        rows_by_id = _rows_for(scores)
        matched = [rows_by_id[i] for i in scores if i in rows_by_id and _passes(rows_by_id[i], filters)]
        ranked = sorted((r[0] for r in matched), key=lambda k: (-scores[k], k))
    else:
        scores = {}
        matched = [r for r in _facet_rows().values() if _passes(r, filters)]
        matched.sort(key=lambda r: (r[2], r[3], r[8]))
        ranked = [r[0] for r in matched]
    extra = [i for i in extra_ids if i not in scores]
    if extra:
        extra_rows = list(CatalogEntry.objects.filter(id__in=extra).values_list(*_FACET_COLUMNS))
        matched.extend(r for r in extra_rows if _passes(r, filters))
        ranked.extend(r[0] for r in extra_rows if _passes(r, filters))
    page_ids = ranked[offset : offset + limit]
    objects = CatalogEntry.objects.select_related("provider").in_bulk(page_ids)
    entries = [objects[i] for i in page_ids if i in objects]
    facets = _count_facets(matched) if with_facets else {}
    return SearchResult(len(ranked), entries, scores, facets, terms)
