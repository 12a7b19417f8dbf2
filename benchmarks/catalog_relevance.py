"""Catalog search relevance: queries of the kind staff type, against the demo catalog.

Builds the demo city and the demo catalog (`load_demo_city`, `load_demo_catalog`) in a fresh
SQLite database in a temporary data directory (or uses the database named by DATABASE_URL, which
must then already hold, or be able to take, the demo), then runs every query below through
`zhengwu.catalog.search.search` twice in the same run: with the current ranking and with the
previous one (`match_all=True`: every precise word must occur; no provider names, synonyms or
n-grams) as the baseline. A query counts as found at 3 when any of its expected entries is among
the first three results; MRR is the mean of 1/rank of the first expected entry (0 if it is not in
the first 20). Prints each query's ranks and ends with one JSON line:
queries, recall_at_3, mrr, baseline_recall_at_3, baseline_mrr.

    .venv/bin/python benchmarks/catalog_relevance.py [--verbose]
"""

from __future__ import annotations

import argparse
import sys

from _common import emit, setup_django, temp_prefix_unless_database

# (query, kind, expected entry names: any of them in the top 3 counts)
QUERIES: list[tuple[str, str, list[str]]] = [
    # abbreviations and colloquial names (synonym dictionary)
    ("社保", "简称", ["社会保险参保信息"]),
    ("医保", "简称", ["基本医疗保险参保信息", "定点医药机构信息"]),
    ("驾照", "俗称", ["驾驶人信息"]),
    ("房产证", "旧称", ["不动产权证书电子证照", "不动产登记信息"]),
    ("身份证", "简称", ["居民身份证电子证照", "人口基本信息"]),
    ("户口", "俗称", ["人口基本信息"]),
    ("营业执照", "证照", ["营业执照电子证照", "市场主体登记信息"]),
    ("低保", "简称", ["最低生活保障对象信息"]),
    ("车牌", "俗称", ["机动车登记信息"]),
    ("出生证", "简称", ["出生医学证明信息"]),
    ("结婚证", "俗称", ["婚姻登记信息"]),
    ("残疾证", "简称", ["残疾人证信息"]),
    ("公租房", "简称", ["公共租赁住房保障信息"]),
    ("疫苗", "俗称", ["预防接种记录"]),
    ("老赖", "俗称", ["失信被执行人信息"]),
    ("养老院", "俗称", ["养老服务机构信息"]),
    ("危化品", "简称", ["危险化学品企业信息"]),
    ("信用代码", "简称", ["市场主体登记信息", "社会组织登记信息", "机关事业单位登记信息"]),
    # provider units, full and short names
    ("示范市公安局", "单位", ["人口基本信息", "居住证信息", "机动车登记信息", "驾驶人信息", "居民身份证电子证照"]),
    ("公安局", "单位", ["人口基本信息", "居住证信息", "机动车登记信息", "驾驶人信息", "居民身份证电子证照"]),
    ("人力资源", "单位", ["社会保险参保信息", "就业失业登记信息", "职业技能等级证书信息"]),
    ("人社局", "单位简称", ["社会保险参保信息", "就业失业登记信息", "职业技能等级证书信息"]),
    ("交通", "单位", ["道路运输经营许可信息", "公交线路和站点信息"]),
    ("市场监管局", "单位简称", ["市场主体登记信息", "营业执照电子证照", "食品生产经营许可信息", "食品安全抽检信息", "药品零售企业许可信息"]),
    ("住建局", "单位简称", ["建设工程施工许可信息", "商品房预售许可信息", "公共租赁住房保障信息", "不动产权证书电子证照"]),
    ("卫健委", "单位简称", ["出生医学证明信息", "医疗机构执业登记信息", "预防接种记录"]),
    ("医保局", "单位简称", ["基本医疗保险参保信息", "定点医药机构信息"]),
    ("发改", "单位简称", ["公共信用信息", "信用承诺信息", "重要商品和服务价格监测信息", "重点用能单位能耗信息"]),
    ("残联", "单位简称", ["残疾人证信息"]),
    # information item names
    ("公民身份号码", "信息项", ["人口基本信息"]),
    ("号牌号码", "信息项", ["机动车登记信息"]),
    ("统一社会信用代码", "信息项", ["市场主体登记信息", "社会组织登记信息", "机关事业单位登记信息"]),
    ("不动产单元号", "信息项", ["不动产登记信息"]),
    ("准驾车型", "信息项", ["驾驶人信息"]),
    ("plate_no", "字段名", ["机动车登记信息"]),
    ("残疾等级", "信息项", ["残疾人证信息"]),
    # titles, partial words
    ("社会保险", "名称", ["社会保险参保信息"]),
    ("医疗保险", "名称", ["基本医疗保险参保信息"]),
    ("空气质量", "名称", ["空气质量监测信息"]),
    ("施工许可", "名称", ["建设工程施工许可信息"]),
    ("身份号", "部分词", ["人口基本信息", "居民身份证电子证照"]),
    ("参保", "部分词", ["社会保险参保信息", "基本医疗保险参保信息"]),
    # two-word queries
    ("人口 身份证", "两词", ["人口基本信息"]),
    ("公安 机动车", "两词", ["机动车登记信息"]),
    ("企业 许可", "两词", ["食品生产经营许可信息", "药品零售企业许可信息", "危险化学品企业信息"]),
    ("社保 缴费", "两词", ["社会保险参保信息"]),
    ("学生 学籍", "两词", ["学生学籍信息"]),
    ("食品 抽检", "两词", ["食品安全抽检信息"]),
    ("不动产 登记", "两词", ["不动产登记信息"]),
    ("民政 婚姻", "两词", ["婚姻登记信息"]),
]


def load_demo() -> int:
    from zhengwu.catalog.demo import load_demo_catalog
    from zhengwu.catalog.models import CatalogEntry
    from zhengwu.directory.demo import load_demo_city

    load_demo_city()
    report = load_demo_catalog()
    if report.skipped:
        sys.exit(f"演示目录有条目未能加载：{report.skipped}")
    return CatalogEntry.objects.filter(is_live=True).count()


def evaluate(match_all: bool, verbose: bool) -> tuple[float, float, list[str]]:
    from zhengwu.catalog import search
    from zhengwu.catalog.models import CatalogEntry

    names = dict(CatalogEntry.objects.filter(is_live=True).values_list("id", "name"))
    missing = {n for _, _, exp in QUERIES for n in exp} - set(names.values())
    if missing:
        sys.exit(f"演示目录中没有这些期望条目：{sorted(missing)}")
    hits, rr, misses = 0, 0.0, []
    for text, kind, expected in QUERIES:
        result = search.search(text, {}, limit=20, with_facets=False, match_all=match_all)
        ranked = [names.get(e.pk, "") for e in result.entries]
        rank = next((i + 1 for i, n in enumerate(ranked) if n in expected), 0)
        hits += 1 if 0 < rank <= 3 else 0
        rr += 1 / rank if rank else 0.0
        if not (0 < rank <= 3):
            misses.append(text)
        if verbose:
            label = "旧" if match_all else "新"
            print(f"  [{label}] {text!r:18} {kind:5} rank {rank or '-':>2}  total {result.total:3}  top: {ranked[:3]}", file=sys.stderr)
    n = len(QUERIES)
    return hits / n, rr / n, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="print each query's top three")
    args = parser.parse_args()
    setup_django(prefix=temp_prefix_unless_database("zw-catalog-relevance-"))
    entries = load_demo()
    recall, mrr, misses = evaluate(False, args.verbose)
    base_recall, base_mrr, _base_misses = evaluate(True, args.verbose)
    print(f"{len(QUERIES)} queries on {entries} demo entries: recall@3 {recall:.3f}, MRR {mrr:.3f} "
          f"(previous ranking: recall@3 {base_recall:.3f}, MRR {base_mrr:.3f})", file=sys.stderr)
    if misses:
        print(f"not in the top 3: {misses}", file=sys.stderr)
    emit({
        "queries": len(QUERIES), "entries": entries, "recall_at_3": round(recall, 3), "mrr": round(mrr, 3),
        "baseline_recall_at_3": round(base_recall, 3), "baseline_mrr": round(base_mrr, 3), "misses": misses,
    })


if __name__ == "__main__":
    main()
