"""The previous (every word must occur) SQL BM25 scoring, kept as the relevance baseline
(`match_all=True`), and the columnar facet counts, against a straightforward Python reference.
The current ranking's SQL is checked against its own reference in test_search_relevance.py."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

SUBJECTS = ["常住人口", "机动车", "企业", "学校", "社会组织"]
ITEMS = [("统一社会信用代码", "uscc"), ("车牌号码", "plate_no"), ("姓名", "person_name"), ("行政区划代码", "division_code")]


@pytest.fixture
def indexed(make_unit: Any) -> list[Any]:
    from zhengwu.catalog import search
    from zhengwu.catalog.models import CatalogEntry, CatalogTerm

    units = [make_unit("市公安局"), make_unit("市民政局")]
    entries = []
    for i in range(30):
        subject = SUBJECTS[i % len(SUBJECTS)]
        items = [{"name": n, "field_name": f} for n, f in ITEMS[: 1 + i % len(ITEMS)]]
        entry = CatalogEntry.objects.create(
            resource_code=f"301001/{i + 1:05d}", category="3", class_item="01", name=f"{subject}登记信息",
            provider=units[i % 2], abstract=f"汇集{subject}的登记信息" + ("，用于社会信用体系建设" if i % 3 else ""),
            resource_format="数据库", share_type=["无条件共享", "有条件共享"][i % 2], open_type="不予开放",
            update_cycle=["每日", "每月", "每年"][i % 3], status="published", published_version=1, is_live=True,
        )
        CatalogTerm.objects.bulk_create(search.postings_for(entry.pk, {"name": entry.name, "abstract": entry.abstract, "items": items}))
        entries.append(entry)
    search.rebuild_stats()
    return entries


def reference_scores(terms: list[str]) -> dict[int, float]:
    from zhengwu.catalog import search
    from zhengwu.catalog.models import CatalogTerm

    n_docs, avg = search._collection_stats()
    rows = list(
        CatalogTerm.objects.filter(term__in=terms, field__in=search.LEGACY_FIELDS)
        .values_list("entry_id", "term", "field", "tf", "field_len")
    )
    df = {t: len({r[0] for r in rows if r[1] == t}) for t in terms}
    by_entry: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_entry[r[0]].append(r)
    out = {}
    for entry_id, posts in by_entry.items():
        if {p[1] for p in posts} != set(terms):
            continue
        out[entry_id] = sum(
            math.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5)) * search.LEGACY_BOOST[f] * tf * (search.K1 + 1)
            / (tf + search.K1 * (1 - search.B + search.B * flen / avg[f]))
            for _, t, f, tf, flen in posts
        )
    return out


@pytest.mark.parametrize("text", ["统一社会信用代码", "plate_no", "机动车", "社会 登记", "常住人口 姓名", "不存在的词"])
def test_sql_scores_ranking_total_and_facets_match_reference(indexed: list[Any], text: str) -> None:
    from zhengwu.catalog import search

    by_id = {e.pk: e for e in indexed}
    result = search.search(text, {}, limit=100, match_all=True)
    expected = reference_scores(result.terms)
    assert set(result.scores) == set(expected)
    for entry_id, score in expected.items():
        assert result.scores[entry_id] == pytest.approx(score, rel=1e-9)
    ranked = sorted(expected, key=lambda k: (-expected[k], k))
    assert result.total == len(ranked)
    # Scores that differ only by float rounding may order either way; real ties go by id.
    assert [e.pk for e in result.entries] == sorted(ranked, key=lambda k: (-round(expected[k], 9), k))
    share = Counter(by_id[i].share_type for i in expected)
    assert {v: n for v, _, n in result.facets.get("share_type", [])} == dict(share)
    cycles = Counter(by_id[i].update_cycle for i in expected)
    assert {v: n for v, _, n in result.facets.get("update_cycle", [])} == dict(cycles)


def test_filters_and_paging(indexed: list[Any]) -> None:
    from zhengwu.catalog import search

    full = search.search("代码", {}, limit=100)
    filtered = search.search("代码", {"share_type": "有条件共享"}, limit=100)
    wanted = [e.pk for e in full.entries if e.share_type == "有条件共享"]
    assert [e.pk for e in filtered.entries] == wanted and filtered.total == len(wanted)
    assert filtered.facets["share_type"] == [("有条件共享", "有条件共享", len(wanted))]
    page = search.search("代码", {}, offset=3, limit=4)
    assert [e.pk for e in page.entries] == [e.pk for e in full.entries[3:7]] and page.total == full.total
