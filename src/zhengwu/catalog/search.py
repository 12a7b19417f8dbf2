"""Chinese full-text search over the catalog: an inverted index in the relational database.

At publish time the published snapshot's name, information items (Chinese names and field names)
and abstract are segmented with jieba's search mode; each (term, field) becomes one posting row
with its term frequency and the field's length. A query is segmented the same way; all its terms
must occur (AND); BM25-style scores with field boosts name > items > abstract are summed in the
database (driven by the rarest term, further terms looked up by the (term, entry) index), so only
(entry, score) pairs reach Python. Filters and exact facet counts use per-process columns of the
live entries' facet values. The SQL runs unchanged on SQLite and PostgreSQL.
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
from operator import itemgetter
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


_FACET_GETTERS = (
    ("provider", itemgetter(1)),
    ("class", itemgetter(2, 3)),
    ("share_type", itemgetter(4)),
    ("open_type", itemgetter(5)),
    ("resource_format", itemgetter(6)),
    ("update_cycle", itemgetter(7)),
)


def _facet_columns(rows: dict[int, tuple[Any, ...]]) -> tuple[dict[int, int], list[list[int]], list[list[Any]]]:
    """The cached facet rows as columns of small integer codes (entry id → position, one code
    list per facet, code → value per facet), built once per cached row set. Rows added later
    (ids topped up by `_rows_for`) are absent and counted from their tuples."""
    cached = _facet_cache.get("columns")
    if cached is not None and cached[0] is rows:
        return cached[1], cached[2], cached[3]
    pos: dict[int, int] = {}
    cols: list[list[int]] = [[] for _ in _FACET_GETTERS]
    values: list[list[Any]] = [[] for _ in _FACET_GETTERS]
    codes: list[dict[Any, int]] = [{} for _ in _FACET_GETTERS]
    for i, (entry_id, row) in enumerate(list(rows.items())):
        pos[entry_id] = i
        for k, (_, get) in enumerate(_FACET_GETTERS):
            v = get(row)
            c = codes[k].get(v)
            if c is None:
                c = codes[k][v] = len(values[k])
                values[k].append(v)
            cols[k].append(c)
    _facet_cache["columns"] = (rows, pos, cols, values)
    return pos, cols, values


def _count_facets(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[str, str, int]]]:
    from zhengwu.directory.models import Unit

    from .constants import Category, class_item_name

    counters: dict[str, Counter[Any]] = {k: Counter() for k, _ in _FACET_GETTERS}
    cached = _facet_cache.get("rows")
    positions: list[int | None] = []
    if cached is not None and rows:
        pos, cols, values = _facet_columns(cached[1])
        positions = list(map(pos.get, map(itemgetter(0), rows)))
        idx = [p for p in positions if p is not None]
        # Counting small integer codes from column lists is a C loop over hot memory; counting
        # the values from the row tuples chased three pointers per value.
        for (key, _), col, vals in zip(_FACET_GETTERS, cols, values, strict=True):
            for code, n in Counter(map(col.__getitem__, idx)).items():
                counters[key][vals[code]] += n
    leftovers = [r for r, p in zip(rows, positions, strict=True) if p is None] if positions else rows
    for key, get in _FACET_GETTERS:
        counters[key].update(map(get, leftovers))
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


def _doc_freqs(terms: list[str]) -> dict[str, int]:
    """Number of entries containing each term: one index-only count per term (each streams the
    term's postings in (term, entry) order, so no sort and no temporary table)."""
    table = connection.ops.quote_name(CatalogTerm._meta.db_table)
    # Only the quoted table name is formatted in; the term is a parameter.
    sql = f"SELECT COUNT(*) FROM (SELECT DISTINCT entry_id FROM {table} WHERE term = %s) d"  # noqa: S608
    out: dict[str, int] = {}
    with connection.cursor() as cursor:
        for term in terms:
            cursor.execute(sql, [term])
            row = cursor.fetchone()
            out[term] = int(row[0]) if row else 0
            if not out[term]:
                break  # AND of all terms: nothing can match
    return out


def _score(terms: list[str]) -> dict[int, float]:
    """BM25 with field boosts over entries containing every term, computed in the database.

    The rarest term drives: its postings are summed per entry (in index order, streaming), and
    each further term adds a correlated sum looked up by the (term, entry) index; an entry that
    lacks a term gets NULL and is dropped. Only (entry, score) pairs of the driving term's entries
    come back to Python, never the postings. The per-term idf and per-field constants are
    computed here from the collection statistics and passed as parameters, cast to double
    precision so that PostgreSQL does not fall back to numeric arithmetic."""
    n_docs, avg_len = _collection_stats()
    df = _doc_freqs(terms)
    if len(df) < len(terms) or not all(df.values()):
        return {}
    ordered = sorted(terms, key=lambda t: (df[t], t))
    idf = {t: math.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5)) for t in ordered}
    table = connection.ops.quote_name(CatalogTerm._meta.db_table)

    def flt() -> str:
        return "CAST(%s AS DOUBLE PRECISION)"

    # Per posting: boost_f * (k1 + 1) * tf / (tf + k1 * (1 - b + b * len / avg_f)), i.e.
    # w_f * tf / (tf + a_f + c_f * len); the term's idf multiplies the per-entry sum.
    def posting_sum(alias: str) -> tuple[str, list[float]]:
        weight, norm, params_w, params_n = [], [], [], []
        for fld, boost in FIELD_BOOST.items():
            avg = avg_len.get(fld) or 1.0
            weight.append(f"WHEN {int(fld)} THEN {flt()}")
            params_w.append(boost * (K1 + 1))
            norm.append(f"WHEN {int(fld)} THEN {flt()} + {flt()} * {alias}.field_len")
            params_n.extend([K1 * (1 - B), K1 * B / avg])
        expr = (
            f"SUM(CASE {alias}.field {' '.join(weight)} ELSE 0 END * {alias}.tf"
            f" / ({alias}.tf + CASE {alias}.field {' '.join(norm)} ELSE 1 END))"
        )
        return expr, params_w + params_n

    driver, rest = ordered[0], ordered[1:]
    parts: list[str] = [f"{flt()} * d.s"]
    params: list[Any] = [idf[driver]]
    for term in rest:
        expr, p = posting_sum("p")
        parts.append(f"{flt()} * (SELECT {expr} FROM {table} p WHERE p.term = %s AND p.entry_id = d.entry_id)")  # noqa: S608
        params.extend([idf[term], *p, term])
    expr, p = posting_sum("a")
    params.extend([*p, driver])
    # Only the quoted table name, "%s" markers and integer field codes are formatted in.
    sql = (
        f"SELECT d.entry_id, {' + '.join(parts)} FROM"  # noqa: S608
        f" (SELECT a.entry_id AS entry_id, {expr} AS s FROM {table} a WHERE a.term = %s GROUP BY a.entry_id) d"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {int(entry_id): float(score) for entry_id, score in rows if score is not None}


def _rank(scores: dict[int, float], ids: Iterable[int]) -> list[int]:
    """Ids by descending score, ties by ascending id (two C-level stable sorts)."""
    ranked = sorted(ids)
    ranked.sort(key=scores.__getitem__, reverse=True)
    return ranked


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
        if filters:
            matched = [rows_by_id[i] for i in scores if i in rows_by_id and _passes(rows_by_id[i], filters)]
        else:
            matched = [rows_by_id[i] for i in scores if i in rows_by_id]
        ranked = _rank(scores, (r[0] for r in matched))
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
