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

FIELD_BOOST = {
    CatalogTerm.FIELD_NAME: 3.0,
    CatalogTerm.FIELD_ITEMS: 1.6,
    CatalogTerm.FIELD_ABSTRACT: 0.8,
    CatalogTerm.FIELD_PROVIDER: 1.4,
    CatalogTerm.FIELD_CLASS: 0.5,
    CatalogTerm.FIELD_NGRAM: 0.6,
}
# Length normalisation per field: a resource with 21 information items is not less about each of
# them than one with 3, so the items field is normalised only lightly.
FIELD_B = {
    CatalogTerm.FIELD_NAME: 0.75,
    CatalogTerm.FIELD_ITEMS: 0.1,
    CatalogTerm.FIELD_ABSTRACT: 0.75,
    CatalogTerm.FIELD_PROVIDER: 0.3,
    CatalogTerm.FIELD_CLASS: 0.3,
    CatalogTerm.FIELD_NGRAM: 0.5,
}
# Fields whose match is "in the title or the items" (or the provider's name); a match only in the
# abstract or the classification ranks after them.
STRONG_FIELDS = (CatalogTerm.FIELD_NAME, CatalogTerm.FIELD_ITEMS, CatalogTerm.FIELD_PROVIDER, CatalogTerm.FIELD_NGRAM)
LEGACY_FIELDS = (CatalogTerm.FIELD_NAME, CatalogTerm.FIELD_ITEMS, CatalogTerm.FIELD_ABSTRACT)
NGRAM_MARK = "~"
SYNONYM_WEIGHT = 0.8  # a match through the synonym dictionary scores a little below the word typed
NGRAM_WEIGHT = 0.7  # a match of a word's character bigrams (a substring) scores below the word
# The bigram alternative of a word is added only while its postings stay few (a cost bound: the
# bigrams of 统一社会信用代码 are in a third of all entries); a word nothing else matches always
# falls back to its bigrams.
NGRAM_BUDGET = 1_000
# Cost bounds of the scoring (see `plan_rows`): a word in more than COMMON_SHARE of all entries
# (and more than COMMON_MIN of them) is common; common words beside rarer ones only score the
# entries the rarer ones found, while those are at most SCORER_BUDGET.
COMMON_SHARE = 0.1
COMMON_MIN = 1_000
SCORER_BUDGET = 8_000
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


# --- provider names ------------------------------------------------------------------------------

# Common short names of government departments, by the end of their full name (the place prefix
# removed). Staff type these (人社局, 市场监管局, 发改委 …) more often than the full names.
UNIT_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "人力资源和社会保障局": ("人社局", "人社"),
    "人力资源和社会保障厅": ("人社厅", "人社"),
    "市场监督管理局": ("市场监管局", "市监局", "市场监管"),
    "住房和城乡建设局": ("住建局", "住建"),
    "住房和城乡建设委员会": ("住建委", "住建"),
    "发展和改革委员会": ("发改委", "发改"),
    "发展和改革局": ("发改局", "发改委", "发改"),
    "卫生健康委员会": ("卫健委", "卫健"),
    "卫生健康局": ("卫健局", "卫健委", "卫健"),
    "自然资源和规划局": ("自然资源局", "规划局", "自规局"),
    "自然资源局": ("自然资源", "国土局"),
    "医疗保障局": ("医保局", "医保"),
    "生态环境局": ("环保局", "环境局"),
    "交通运输局": ("交通局", "交通"),
    "政务服务数据管理局": ("政数局", "政务服务局", "数据局"),
    "大数据管理局": ("大数据局", "数据局"),
    "农业农村局": ("农业局", "农业农村"),
    "应急管理局": ("应急局", "应急"),
    "退役军人事务局": ("退役军人局",),
    "文化广电旅游体育局": ("文广旅体局", "文旅局"),
    "文化广电旅游局": ("文广旅局", "文旅局"),
    "工业和信息化局": ("工信局", "工信"),
    "科学技术局": ("科技局", "科技"),
    "商务局": ("商务",),
    "水务局": ("水利局", "水务"),
    "公安局": ("公安",),
    "民政局": ("民政",),
    "教育局": ("教育",),
    "财政局": ("财政",),
    "司法局": ("司法",),
    "统计局": ("统计",),
    "税务局": ("税务",),
    "机构编制委员会办公室": ("编办",),
    "残疾人联合会": ("残联",),
    "中级人民法院": ("中院", "法院"),
    "人民法院": ("法院",),
    "人民检察院": ("检察院",),
}
_PLACE_PREFIX = re.compile(r"^(?:中共|国家税务总局)?.{1,6}?(?:自治区|自治州|地区|街道|省|市|州|盟|区|县|旗|镇|乡)(?=.{2,})")


def unit_names(name: str, short_name: str = "") -> list[str]:
    """A provider unit's full name, the name without its place prefix (示范市公安局 → 公安局) and
    its common short names (人社局 for …人力资源和社会保障局), plus the directory's own 简称."""
    name = (name or "").strip()
    names = [name]
    rest = name
    for _ in range(3):
        stripped = _PLACE_PREFIX.sub("", rest, count=1)
        if stripped == rest:
            break
        rest = stripped
        names.append(rest)
    for full, shorts in UNIT_ABBREVIATIONS.items():
        if rest.endswith(full):
            names.extend(shorts)
    if short_name:
        names.append(short_name.strip())
    return [n for n in dict.fromkeys(n.lower() for n in names) if n]


def _whole(text: str) -> list[str]:
    """A short text as one term too (an item name 公民身份号码, a title), so that typing it exactly
    finds it even where jieba splits it."""
    text = text.strip().lower()
    return [text] if 1 < len(text) <= MAX_TERM_LEN and _TOKEN_OK.search(text) else []


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def ngrams(text: str) -> list[str]:
    """Character bigrams of the Chinese runs of a text, marked with NGRAM_MARK so that they never
    collide with words: the fallback for words jieba keeps whole (人社局 → 人社, 社局)."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text.lower()):
        if len(run) == 1:
            continue
        out.extend(NGRAM_MARK + run[i : i + 2] for i in range(len(run) - 1))
    return out


def _field_texts(snapshot: dict[str, Any]) -> dict[int, list[str]]:
    from .constants import Category, class_item_name

    items = snapshot.get("items") or []
    item_tokens: list[str] = []
    grams: list[str] = []
    for item in items:
        name = item.get("name", "") or ""
        words = tokenize(name)
        words.extend(w for w in _whole(name) if w not in words)
        # The key item identifies the resource: its words count twice.
        item_tokens.extend(words * (2 if item.get("is_key") else 1))
        grams.extend(ngrams(name))
        field_name = (item.get("field_name") or "").lower()
        if field_name:
            item_tokens.append(field_name[:MAX_TERM_LEN])
            item_tokens.extend(p for p in field_name.split("_") if p and p != field_name)
    title = snapshot.get("name", "") or ""
    name_tokens = tokenize(title)
    name_tokens.extend(w for w in _whole(title) if w not in name_tokens)
    grams.extend(ngrams(title))
    provider_tokens: list[str] = []
    for unit_name in unit_names(snapshot.get("provider") or "", snapshot.get("provider_short_name") or ""):
        words = tokenize(unit_name)
        provider_tokens.extend(words)
        provider_tokens.extend(w for w in _whole(unit_name) if w not in words)
        grams.extend(ngrams(unit_name))
    class_tokens: list[str] = []
    category = str(snapshot.get("category") or "")
    if category in Category.values:
        class_tokens.extend(tokenize(str(Category(category).label)))
        item_name = class_item_name(category, str(snapshot.get("class_item") or ""))
        class_tokens.extend(tokenize(item_name) + [w for w in _whole(item_name) if w not in tokenize(item_name)])
    return {
        CatalogTerm.FIELD_NAME: name_tokens,
        CatalogTerm.FIELD_ITEMS: item_tokens,
        CatalogTerm.FIELD_ABSTRACT: tokenize(snapshot.get("abstract", "")),
        CatalogTerm.FIELD_PROVIDER: provider_tokens,
        CatalogTerm.FIELD_CLASS: class_tokens,
        CatalogTerm.FIELD_NGRAM: grams,
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
    CatalogTerm.FIELD_PROVIDER: "provider_tokens",
    CatalogTerm.FIELD_CLASS: "class_tokens",
    CatalogTerm.FIELD_NGRAM: "ngram_tokens",
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
    if "provider_short_name" not in snapshot and snapshot.get("provider_id"):
        from zhengwu.directory.models import Unit

        short = Unit.objects.filter(pk=snapshot["provider_id"]).values_list("short_name", flat=True).first()
        snapshot = {**snapshot, "provider_short_name": short or ""}
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


def reindex_live_entries() -> int:
    """Index every live entry again from its latest published version (after a unit was renamed
    or given a 简称 in the directory, or an upgrade of the index fields). Returns the count."""
    from .models import CatalogEntryVersion

    count = 0
    for entry in CatalogEntry.objects.filter(is_live=True).select_related("provider").iterator(chunk_size=500):
        version = CatalogEntryVersion.objects.filter(entry=entry, version=entry.published_version).first()
        if version is None:
            continue
        snap = {**version.snapshot, "provider": entry.provider.name, "provider_short_name": entry.provider.short_name}
        CatalogTerm.objects.filter(entry_id=entry.pk).delete()
        CatalogTerm.objects.bulk_create(postings_for(entry.pk, snap), batch_size=2000)
        count += 1
    CatalogTerm.objects.exclude(entry__is_live=True).delete()
    rebuild_stats()
    return count


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
LEGACY_BOOST = {CatalogTerm.FIELD_NAME: 3.0, CatalogTerm.FIELD_ITEMS: 1.6, CatalogTerm.FIELD_ABSTRACT: 1.0}


def _collection_stats() -> tuple[int, dict[int, float]]:
    """(number of indexed entries, average token count per field) from the one statistics row;
    also drops the in-memory facet rows when another process has changed the index since."""
    stat = CatalogIndexStat.objects.filter(id=1).first()
    if stat is None:
        return 0, dict.fromkeys(FIELD_BOOST, 1.0)
    if _facet_cache.get("generation") != stat.generation:
        _facet_cache.clear()
        _facet_cache["generation"] = stat.generation
    if _synonym_cache.get("generation") != stat.synonyms_generation:
        _synonym_cache.clear()
        _synonym_cache["generation"] = stat.synonyms_generation
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
    expansions: list[str] = field(default_factory=list)  # "社保 → 社会保险" as applied to this query


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


# --- synonyms ---------------------------------------------------------------------------------------

_synonym_cache: dict[str, Any] = {}


def synonym_map() -> dict[str, list[str]]:
    """Word → the words it also stands for, both ways (社保 ↔ 社会保险), lower-cased; from the
    console-kept `SearchSynonym` table, cached per process until its generation changes."""
    cached = _synonym_cache.get("map")
    if cached is None:
        from .models import SearchSynonym

        cached = defaultdict(list)
        for term, synonym in SearchSynonym.objects.values_list("term", "synonym"):
            a, b = term.strip().lower(), synonym.strip().lower()
            if a and b and a != b:
                cached[a].append(b)
                cached[b].append(a)
        cached = {k: list(dict.fromkeys(v)) for k, v in cached.items()}
        _synonym_cache["map"] = cached
    result: dict[str, list[str]] = cached
    return result


# --- querying: groups of alternatives ---------------------------------------------------------------

_SPLIT = re.compile(r"[\s,，、;；/|]+")


@dataclass(frozen=True)
class Group:
    """One thing the user asked for: a typed word (or one word of it), matched by any of its
    alternatives; an alternative is a tuple of index terms that must all occur, with a weight."""

    label: str
    alternatives: tuple[tuple[tuple[str, ...], float], ...]


def _is_cjk_char(token: str) -> bool:
    return len(token) == 1 and "\u4e00" <= token <= "\u9fff"


def _words_of(text: str) -> list[str]:
    return [w for w in dict.fromkeys(w.strip().lower()[:50] for w in _SPLIT.split(text[:200])) if w]


def _terms_of(word: str) -> tuple[str, ...]:
    cut = _jieba().cut
    return tuple(_clean(_segments(word, cut), False) or _clean(_segments(word, cut), True))


def _doc_freqs(terms: Iterable[str]) -> dict[str, int]:
    """Number of entries containing each term (any field), one query for all those not yet
    known in this process for the current index generation (the counts live with the facet
    rows and are dropped with them whenever the index changes)."""
    known: dict[str, int] = _facet_cache.setdefault("df", {})
    if len(known) > 50_000:
        known.clear()
    wanted = sorted(set(terms) - set(known))
    out = {t: known[t] for t in terms if t in known}
    out.update(dict.fromkeys(wanted, 0))
    if not wanted:
        return out
    table = connection.ops.quote_name(CatalogTerm._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            marks = ", ".join(["%s"] * len(chunk))
            # Only the quoted table name and "%s" markers are formatted in.
            cursor.execute(
                f"SELECT term, COUNT(DISTINCT entry_id) FROM {table} WHERE term IN ({marks}) GROUP BY term",  # noqa: S608
                chunk,
            )
            for term, n in cursor.fetchall():
                out[term] = int(n)
    known.update((t, out[t]) for t in wanted)
    return out


def _expansions(word: str, synonyms: dict[str, list[str]]) -> list[tuple[str, tuple[str, ...]]]:
    return [(s, _terms_of(s)) for s in synonyms.get(word, [])]


def query_groups(text: str) -> tuple[list[Group], list[str], dict[str, int]]:
    """The query as groups (what must be found), the synonym expansions applied and the
    document frequency of every term involved.

    Each typed word (split at spaces and punctuation) is one group if the index or the synonym
    dictionary knows it whole (人社局, 公民身份号码, 社保), matched by itself, by its precise jieba
    words together, or by any synonym; otherwise each of its precise words is a group (single
    characters dropped when longer words remain) with that word's synonyms. A Chinese word also
    matches as a substring of a title, item or provider name, by its character bigrams together,
    while their postings are within NGRAM_BUDGET; a group nothing else matches always falls back
    to them (partial words)."""
    synonyms = synonym_map()
    plan: list[tuple[str, tuple[str, ...]]] = []  # (typed word, its precise terms)
    candidates: set[str] = set()
    for word in _words_of(text):
        terms = _terms_of(word)
        if not terms:
            continue
        plan.append((word, terms))
        candidates.add(word)
        candidates.update(terms)
        for label in (word, *terms):
            candidates.update(ngrams(label))
        for key in (word, *terms):
            for _, exp_terms in _expansions(key, synonyms):
                candidates.update(exp_terms)
    df = _doc_freqs(candidates)
    groups: list[Group] = []
    applied: list[str] = []
    for word, terms in plan:
        if len(terms) == 1 or df.get(word) or word in synonyms:
            parts = [(word, ((word,), 1.0) if df.get(word) else None, terms)]
        else:
            long_terms = [t for t in terms if not _is_cjk_char(t)] or list(terms)
            parts = [(t, ((t,), 1.0), (t,)) for t in long_terms]
        for label, whole_alt, label_terms in parts:
            alts: list[tuple[tuple[str, ...], float]] = []
            if whole_alt:
                alts.append(whole_alt)
            alts.append((label_terms, 1.0))
            for key in dict.fromkeys((label, *([label_terms[0]] if len(label_terms) == 1 else []))):
                for exp, exp_terms in _expansions(key, synonyms):
                    if exp_terms and all(df.get(x) for x in exp_terms):
                        alts.append((exp_terms, SYNONYM_WEIGHT))
                        applied.append(f"{key} → {exp}")
            viable = [(t, w) for t, w in dict.fromkeys(alts) if all(df.get(x) for x in t)]
            grams = tuple(dict.fromkeys(ngrams(label)))
            if grams and all(df.get(g) for g in grams):
                if not viable:
                    viable = [(grams, 1.0)]
                elif _CJK_RUN.fullmatch(label) and sum(df[g] for g in grams) <= NGRAM_BUDGET:
                    # Substrings too, where jieba cut the text differently (林业碳汇量 → 林业/碳/汇量).
                    viable.append((grams, NGRAM_WEIGHT))
            groups.append(Group(label, tuple(viable)))
    return groups, list(dict.fromkeys(applied)), df


RECALL, READ, LOOKUP = 1, 2, 0  # how the scoring query reaches a term's postings


@dataclass(frozen=True)
class PlanRow:
    term: str
    group: int
    alternative: int
    need: int  # number of terms of the alternative (all must occur)
    weight: float  # idf × the alternative's weight
    mode: int  # RECALL: brings entries into the result; READ / LOOKUP: only scores entries already in

    @property
    def recall(self) -> bool:
        return self.mode == RECALL


def plan_rows(groups: list[Group], df: dict[str, int], n_docs: int) -> list[PlanRow]:
    """Which postings the scoring reads, and how (a cost bound in the manner of Lucene's common
    terms query).

    An alternative is *rare* when its rarest term is in at most COMMON_SHARE of all entries (and
    at least COMMON_MIN entries always count as rare); its rarest term brings entries into the
    result, its other terms are looked up only for entries already in. If no alternative is rare,
    each group's alternative with the rarest lead term is taken as rare. The other alternatives
    (common words beside rarer ones: 登记 in "不动产 登记") only add to the groups matched and the
    score of entries already in, and only while those are at most SCORER_BUDGET (estimated),
    since each costs one index look-up per entry. In a catalog smaller than COMMON_MIN entries
    every word is rare: every entry matching any word is returned."""
    cutoff = max(COMMON_SHARE * n_docs, COMMON_MIN)
    alts = [
        (g, a, terms, weight, min(df.get(t, 0) for t in terms))
        for g, group in enumerate(groups)
        for a, (terms, weight) in enumerate(group.alternatives)
        if terms and all(df.get(t, 0) for t in terms)
    ]
    rare = {(g, a) for g, a, _, _, lead in alts if lead <= cutoff}
    if not rare:
        best: dict[int, tuple[int, int]] = {}
        for g, a, _, _, lead in alts:
            if g not in best or lead < best[g][0]:
                best[g] = (lead, a)
        rare = {(g, a) for g, (_, a) in best.items()}
    estimate = sum(lead for g, a, _, _, lead in alts if (g, a) in rare)
    rows = []
    for g, a, terms, weight, _lead in alts:
        is_rare = (g, a) in rare
        if not is_rare and estimate > SCORER_BUDGET:
            continue
        lead_term = min(terms, key=lambda t: (df[t], t))
        for term in terms:
            n = df[term]
            idf = math.log(1 + (n_docs - n + 0.5) / (n + 0.5))
            # Scoring-only terms: read whole (then kept for the entries found) while their postings
            # are few beside the entries found, else looked up entry by entry.
            mode = RECALL if is_rare and term == lead_term else READ if n <= 3 * estimate else LOOKUP
            rows.append(PlanRow(term, g, a, len(terms), idf * weight, mode))
    return rows


def _score_groups(groups: list[Group], df: dict[str, int]) -> dict[int, tuple[int, int, float]]:
    """(groups matched, groups matched in a strong field, BM25 score) per matched entry, computed
    in the database from the postings `plan_rows` chooses.

    One query: the plan's (term, group, alternative, terms needed, weight, recall) rows are a
    VALUES table. The entries in the result are those with a recall term (read by the covering
    (term, entry, …) index); for them the other terms are looked up by (term, entry). Per (entry,
    group, alternative) the postings' BM25 contributions are summed and the alternative kept if
    it has all its terms; per (entry, group) the best alternative counts; per entry the groups
    are counted and summed. Only one row per matched entry reaches Python. idf, weights and the
    per-field constants are parameters cast to double precision (PostgreSQL then never uses
    numeric arithmetic); the SQL is the same on SQLite and PostgreSQL."""
    n_docs, avg_len = _collection_stats()
    plan = plan_rows(groups, df, n_docs)
    if not plan:
        return {}
    rows: list[Any] = []
    for r in plan:
        rows.extend([r.term, r.group, r.alternative, r.need, r.weight, r.mode])
    table = connection.ops.quote_name(CatalogTerm._meta.db_table)
    flt = "CAST(%s AS DOUBLE PRECISION)"
    integer = "CAST(%s AS INTEGER)"
    first = f"(CAST(%s AS VARCHAR({MAX_TERM_LEN})), {integer}, {integer}, {integer}, {flt}, {integer})"
    values = ", ".join([first] + ["(%s, %s, %s, %s, %s, %s)"] * (len(plan) - 1))
    boosts: list[str] = []
    norm: list[str] = []
    params_w: list[float] = []
    params_n: list[float] = []
    for fld, boost in FIELD_BOOST.items():
        avg = avg_len.get(fld) or 1.0
        b = FIELD_B[fld]
        boosts.append(f"WHEN {int(fld)} THEN {flt}")
        params_w.append(boost * (K1 + 1))
        norm.append(f"WHEN {int(fld)} THEN {flt} + {flt} * p.field_len")
        params_n.extend([K1 * (1 - b), K1 * b / avg])
    strong_codes = ", ".join(str(int(f)) for f in STRONG_FIELDS)
    posting = (
        f"q.w * CASE p.field {' '.join(boosts)} ELSE 0 END * p.tf"
        f" / (p.tf + CASE p.field {' '.join(norm)} ELSE 1 END)"
    )
    columns = (
        f"p.entry_id AS entry_id, q.g AS g, q.a AS a, q.need AS need, p.term AS term,"
        f" CASE WHEN p.field IN ({strong_codes}) THEN 1 ELSE 0 END AS st, {posting} AS s"
    )
    if len(plan) == 1:
        # One term (plate_no, 社会保险, a long item name): its postings summed per entry, streamed
        # in index order — no temporary B-tree.
        sql = (
            f"SELECT p.entry_id, 1, MAX(CASE WHEN p.field IN ({strong_codes}) THEN 1 ELSE 0 END),"  # noqa: S608
            f" SUM({posting.replace('q.w', flt)}) FROM {table} p WHERE p.term = %s GROUP BY p.entry_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [plan[0].weight, *params_w, *params_n, plan[0].term])
            found = cursor.fetchall()
        return {int(e): (int(c), int(st), float(sc)) for e, c, st, sc in found if sc is not None}
    lookups = any(r.mode == LOOKUP for r in plan)
    reads = any(r.mode == READ for r in plan)
    # CROSS JOIN fixes SQLite's join order (the query terms drive, then the hits, then one index
    # look-up per (term, entry)); PostgreSQL plans it as an ordinary join.
    hit = (
        f", hit AS (SELECT DISTINCT p.entry_id AS entry_id FROM q CROSS JOIN {table} p WHERE p.term = q.term AND q.r = {RECALL})"  # noqa: S608
        if lookups or reads else ""
    )
    # The other terms of the entries found: correlated look-ups by (term, entry) on the covering
    # index, one pair of index probes per (entry, term) — never a scan of a common term's postings
    # (PostgreSQL would otherwise hash-join all of them). An entry lacking the term gets NULL,
    # which the count of terms present and the sums ignore.
    same = "p.term = q.term AND p.entry_id = h.entry_id"
    looked_up = (
        " UNION ALL SELECT h.entry_id AS entry_id, q.g AS g, q.a AS a, q.need AS need, q.term AS term,"  # noqa: S608
        f" (SELECT MAX(CASE WHEN p.field IN ({strong_codes}) THEN 1 ELSE 0 END) FROM {table} p WHERE {same}) AS st,"
        f" (SELECT SUM({posting}) FROM {table} p WHERE {same}) AS s"
        f" FROM hit h CROSS JOIN q WHERE q.r = {LOOKUP}"
        if lookups else ""
    )
    read = (
        f" UNION ALL SELECT {columns} FROM q CROSS JOIN {table} p"  # noqa: S608
        f" WHERE p.term = q.term AND q.r = {READ} AND p.entry_id IN (SELECT entry_id FROM hit)"
        if reads else ""
    )
    # Only the quoted table name, "%s" markers, integer field codes and the term length are
    # formatted in; every value is a parameter.
    sql = (
        f"WITH q(term, g, a, need, w, r) AS (VALUES {values}){hit}"  # noqa: S608
        " SELECT entry_id, COUNT(*), SUM(st), SUM(gs) FROM ("
        " SELECT entry_id, g, MAX(st) AS st, MAX(s) AS gs FROM ("
        "  SELECT entry_id, g, a, MAX(need) AS need, COUNT(DISTINCT CASE WHEN s IS NOT NULL THEN term END) AS n,"
        "   MAX(st) AS st, SUM(s) AS s FROM ("
        f"   SELECT {columns} FROM q CROSS JOIN {table} p WHERE p.term = q.term AND q.r = {RECALL}{read}{looked_up}"
        "  ) o GROUP BY entry_id, g, a"
        " ) x WHERE n >= need GROUP BY entry_id, g"
        ") y GROUP BY entry_id"
    )
    params = [*rows, *params_w, *params_n]
    if reads:
        params.extend([*params_w, *params_n])
    if lookups:
        params.extend([*params_w, *params_n])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return {int(e): (int(c), int(st), float(s)) for e, c, st, s in found if s is not None}


def _legacy_doc_freqs(terms: list[str]) -> dict[str, int]:
    """Number of entries containing each term: one index-only count per term (each streams the
    term's postings in (term, entry) order, so no sort and no temporary table)."""
    table = connection.ops.quote_name(CatalogTerm._meta.db_table)
    # Only the quoted table name is formatted in; the term is a parameter.
    sql = f"SELECT COUNT(*) FROM (SELECT DISTINCT entry_id FROM {table} WHERE term = %s AND field IN (1, 2, 3)) d"  # noqa: S608
    out: dict[str, int] = {}
    with connection.cursor() as cursor:
        for term in terms:
            cursor.execute(sql, [term])
            row = cursor.fetchone()
            out[term] = int(row[0]) if row else 0
            if not out[term]:
                break  # AND of all terms: nothing can match
    return out


def _legacy_score(terms: list[str]) -> dict[int, float]:
    """The previous ranking, kept as the baseline of `benchmarks/catalog_relevance.py`: BM25
    (name 3.0 > items 1.6 > abstract 1.0) over entries containing every term, in the fields that
    were indexed before (no provider, classification or n-grams), computed in the database.

    The rarest term drives: its postings are summed per entry (in index order, streaming), and
    each further term adds a correlated sum looked up by the (term, entry) index; an entry that
    lacks a term gets NULL and is dropped. Only (entry, score) pairs of the driving term's entries
    come back to Python, never the postings. The per-term idf and per-field constants are
    computed here from the collection statistics and passed as parameters, cast to double
    precision so that PostgreSQL does not fall back to numeric arithmetic."""
    n_docs, avg_len = _collection_stats()
    df = _legacy_doc_freqs(terms)
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
        for fld, boost in LEGACY_BOOST.items():
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


def _rank_keys(found: dict[int, tuple[int, int, float]]) -> dict[int, float]:
    # One float orders by (groups matched, strong groups, score): a BM25 sum stays far below 1e4.
    return {i: c * 1e8 + st * 1e4 + sc for i, (c, st, sc) in found.items()}


def text_ranks(text: str) -> dict[int, float]:
    """Entry id → rank key (higher first) of the live entries matching `text`: the ranking of
    `search` (words matched, then matched in a strong field, then BM25) without loading entries,
    for callers that filter and page in SQL themselves (the open data portal)."""
    _collection_stats()  # drops stale document frequencies and synonyms
    groups, _expansions, df = query_groups(text)
    return _rank_keys(_score_groups(groups, df) if groups else {})


def search(
    text: str = "",
    filters: dict[str, Any] | None = None,
    *,
    offset: int = 0,
    limit: int = 20,
    with_facets: bool = True,
    extra_ids: Iterable[int] = (),
    match_all: bool = False,
) -> SearchResult:
    """Search live entries, ranked: entries matching every typed word (or a synonym of it) first,
    then those matching fewer; among equals, those matching in the title, items or provider
    before those matching only in the abstract or classification; then by BM25 score, ties by id.
    Facet counts are over the matched set with the filters applied. `extra_ids` adds entries
    outside the index (the actor's own drafts, matched by the caller) after the indexed ones.
    `match_all=True` is the previous ranking (every precise word must occur, no provider,
    synonyms or n-grams), kept as the relevance benchmark's baseline."""
    filters = {k: v for k, v in (filters or {}).items() if v}
    _collection_stats()  # drops stale facet rows and synonyms when they changed elsewhere
    expansions: list[str] = []
    if match_all:
        terms = query_terms(text)
        scores = _legacy_score(terms) if terms else {}
        if terms and not scores:
            wider = search_terms(text)
            if wider != terms:
                terms, scores = wider, _legacy_score(wider)
        rank_key = scores
    else:
        groups, expansions, df = query_groups(text)
        terms = [g.label for g in groups]
        found = _score_groups(groups, df) if groups else {}
        scores = {i: v[2] for i, v in found.items()}
        rank_key = _rank_keys(found)
    if terms:
        rows_by_id = _rows_for(scores)
        if filters:
            matched = [rows_by_id[i] for i in scores if i in rows_by_id and _passes(rows_by_id[i], filters)]
        else:
            matched = [rows_by_id[i] for i in scores if i in rows_by_id]
        ranked = _rank(rank_key, (r[0] for r in matched))
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
    return SearchResult(len(ranked), entries, scores, facets, terms, expansions)
