"""Catalog search benchmark: the jieba inverted index against a plain LIKE scan, same data, same run.

Loads N generated live catalog entries (default 50,000; `--entries`) with information items into
a fresh SQLite database in a temporary data directory (or the database named by DATABASE_URL —
use an empty one; `--reuse [--data-dir DIR]` times what an earlier run loaded), indexes them, then runs the same realistic queries through
`zhengwu.catalog.search.search` (ranking + six facet counts + first page) and through a substring
scan (`LIKE %word%` on name, abstract and item names; count + first page). Prints a summary and
ends with one JSON line: entries, p50_ms, p95_ms, previous_p95_ms (the previous AND ranking,
`match_all=True`, on the same index in the same run), scan_p95_ms (plus the ratio).

    .venv/bin/python benchmarks/catalog_search.py [--entries 50000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from _common import emit, percentile, setup_django, temp_prefix_unless_database

SUBJECTS = [
    "常住人口", "流动人口", "户籍", "婚姻登记", "出生医学证明", "死亡登记", "企业", "个体工商户", "社会组织",
    "事业单位", "机动车", "驾驶人", "不动产", "土地出让", "房屋租赁", "建设工程", "公共租赁住房", "学校",
    "学生学籍", "教师资格", "医疗机构", "医师执业", "药品经营", "食品生产", "特种设备", "危险化学品",
    "排污许可", "河道水质", "空气质量", "林地", "耕地保护", "农业补贴", "低保对象", "养老服务机构",
    "残疾人", "退役军人", "社会保险参保", "就业登记", "公积金缴存", "纳税人", "发票", "政府采购",
    "行政处罚", "信用评价", "失信被执行人", "公共交通", "停车场", "路灯设施", "消防安全", "安全生产检查",
]
ASPECTS = ["基本信息", "登记信息", "许可信息", "备案信息", "变更记录", "监督检查结果", "统计数据", "补贴发放",
           "证照信息", "名录", "年度报告", "空间分布", "投诉举报", "资格认定", "注销信息"]
PURPOSES = ["用于政务服务事项办理中的信息核验", "支撑跨部门联合监管", "服务城市运行监测和决策分析",
            "支持一网通办免证办理", "用于社会信用体系建设", "为应急管理提供基础数据"]
ITEM_POOL = [
    ("统一社会信用代码", "uscc", "字符", 18), ("公民身份号码", "id_no", "字符", 18), ("姓名", "person_name", "字符", 50),
    ("名称", "org_name", "字符", 200), ("地址", "address", "字符", 200), ("联系电话", "phone", "字符", 20),
    ("登记日期", "reg_date", "日期", None), ("有效期至", "valid_until", "日期", None),
    ("行政区划代码", "division_code", "字符", 6), ("经度", "longitude", "数字", 12), ("纬度", "latitude", "数字", 12),
    ("状态", "status", "字符", 2), ("金额", "amount", "数字", 16), ("证照编号", "licence_no", "字符", 40),
    ("检查结果", "check_result", "字符", 500), ("法定代表人", "legal_person", "字符", 50),
    ("车牌号码", "plate_no", "字符", 20), ("监测时间", "monitor_time", "日期时间", None),
]
QUERIES = ["人口", "企业 许可", "机动车", "不动产 登记", "学校", "食品", "排污许可", "统一社会信用代码",
           "低保", "空气质量 监测", "医疗机构 执业", "社会保险", "行政处罚", "公积金", "建设工程 备案",
           "信用评价", "plate_no", "出生医学证明", "补贴发放", "消防安全 检查"]


def load(n: int, seed: int = 7) -> None:
    from django.db import transaction

    from zhengwu.catalog import search
    from zhengwu.catalog.constants import CLASS_ITEMS, DataType
    from zhengwu.catalog.models import CatalogEntry, CatalogItem, CatalogTerm
    from zhengwu.directory.models import Unit

    rng = random.Random(seed)
    units = [
        Unit.objects.get_or_create(name=f"基准测试单位{i:02d}", parent=None,
                                   defaults={"level": "city", "unit_type": "department", "division_code": "441400"})[0]
        for i in range(40)
    ]
    share = ["无条件共享"] * 6 + ["有条件共享"] * 3 + ["不予共享"]
    opens = ["无条件开放"] * 3 + ["有条件开放"] * 2 + ["不予开放"] * 5
    formats = ["数据库"] * 5 + ["电子表格"] * 3 + ["服务接口", "电子文件", "图形图像"]
    cycles = ["实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "不定时"]
    batch = 2000
    search.warm_up()
    for start in range(0, n, batch):
        entries, items_by_entry = [], []
        for i in range(start, min(n, start + batch)):
            category = rng.choice(["1", "2", "3", "3", "3"])
            item_code = rng.choice(list(CLASS_ITEMS[category]))
            subject, aspect = rng.choice(SUBJECTS), rng.choice(ASPECTS)
            name = f"{subject}{aspect}"
            abstract = f"汇集本市{subject}的{aspect}，包括主要业务字段和办理结果，{rng.choice(PURPOSES)}。"
            fmt = rng.choice(formats)
            st = "无条件共享" if category == "1" else rng.choice(share)
            entries.append(CatalogEntry(
                resource_code=f"{category}{item_code}001/{i + 1:05d}", category=category, class_item=item_code,
                name=name, provider=units[i % len(units)], abstract=abstract, resource_format=fmt, share_type=st,
                share_basis="《某条例》" if st != "无条件共享" else "", share_condition="按需共享" if st == "有条件共享" else "",
                share_method="共享平台", open_type=rng.choice(opens), open_basis="依法", update_cycle=rng.choice(cycles),
                status="published", published_version=1, is_live=True,
            ))
            picked = rng.sample(ITEM_POOL, 6)
            items_by_entry.append([
                {"name": nm, "field_name": fn, "data_type": dt if dt in DataType.values else "字符", "length": ln,
                 "is_key": k == 0}
                for k, (nm, fn, dt, ln) in enumerate(picked)
            ])
        with transaction.atomic():
            CatalogEntry.objects.bulk_create(entries)
            saved = CatalogEntry.objects.filter(resource_code__in=[e.resource_code for e in entries]).values_list("id", "resource_code")
            ids = {code: pk for pk, code in saved}
            items, postings = [], []
            for entry, its in zip(entries, items_by_entry, strict=True):
                pk = ids[entry.resource_code]
                for pos, it in enumerate(its):
                    items.append(CatalogItem(entry_id=pk, position=pos, **it))
                postings.extend(search.postings_for(pk, {
                    "name": entry.name, "abstract": entry.abstract, "items": its, "provider": entry.provider.name,
                    "category": entry.category, "class_item": entry.class_item,
                }))
            CatalogItem.objects.bulk_create(items, batch_size=5000)
            CatalogTerm.objects.bulk_create(postings, batch_size=5000)
    search.rebuild_stats()


def scan(text: str) -> tuple[int, list[int]]:
    from django.db.models import Q

    from zhengwu.catalog.models import CatalogEntry

    qs = CatalogEntry.objects.filter(is_live=True)
    for word in text.split():
        qs = qs.filter(Q(name__icontains=word) | Q(abstract__icontains=word) | Q(items__name__icontains=word)
                       | Q(items__field_name__icontains=word))
    qs = qs.distinct()
    return qs.count(), list(qs.order_by("resource_code").values_list("id", flat=True)[:20])


def timed(fn: object, queries: list[str], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            fn(q)  # type: ignore[operator]
            out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data-dir", default="", help="data directory of an earlier run (with --reuse)")
    parser.add_argument("--reuse", action="store_true",
                        help="time the entries an earlier run loaded (--data-dir, or DATABASE_URL) instead of loading")
    args = parser.parse_args()
    setup_django(data_dir=args.data_dir or None, prefix=temp_prefix_unless_database("zw-catalog-bench-"),
                 require_app="zhengwu.catalog")
    from zhengwu.catalog import search
    from zhengwu.catalog.models import CatalogEntry, CatalogTerm

    t0 = time.perf_counter()
    if not (args.reuse and CatalogEntry.objects.filter(is_live=True).exists()):
        load(args.entries)
    load_s = time.perf_counter() - t0
    n = CatalogEntry.objects.filter(is_live=True).count()
    print(f"loaded {n} entries, {CatalogTerm.objects.count()} postings in {load_s:.1f} s", file=sys.stderr)

    def run_index(q: str) -> int:
        return search.search(q, {}, limit=20).total

    def run_filtered(q: str) -> int:
        return search.search(q, {"share_type": "无条件共享"}, limit=20).total

    def run_previous(q: str) -> int:
        return search.search(q, {}, limit=20, match_all=True).total

    for q in QUERIES:  # warm caches, and show what the queries find
        hits, previous, scanned = run_index(q), run_previous(q), scan(q)[0]
        print(f"  {q!r}: index {hits} hits (previous AND ranking {previous}), scan {scanned} hits", file=sys.stderr)
    index_ms = timed(run_index, QUERIES, args.rounds) + timed(run_filtered, QUERIES, 1)
    previous_ms = timed(run_previous, QUERIES, args.rounds)
    scan_ms = timed(scan, QUERIES, max(1, args.rounds // 2))
    result = {
        "entries": n,
        "p50_ms": round(statistics.median(index_ms), 2),
        "p95_ms": round(percentile(index_ms, 95), 2),
        "previous_p50_ms": round(statistics.median(previous_ms), 2),
        "previous_p95_ms": round(percentile(previous_ms, 95), 2),
        "scan_p50_ms": round(statistics.median(scan_ms), 2),
        "scan_p95_ms": round(percentile(scan_ms, 95), 2),
    }
    result["scan_to_index_p95_ratio"] = round(result["scan_p95_ms"] / result["p95_ms"], 2) if result["p95_ms"] else None
    print(f"index search (ranked, 6 facets, page 1): p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms; "
          f"previous AND ranking on the same index: p50 {result['previous_p50_ms']} ms, p95 {result['previous_p95_ms']} ms; "
          f"LIKE scan (count + page 1): p50 {result['scan_p50_ms']} ms, p95 {result['scan_p95_ms']} ms", file=sys.stderr)
    emit(result)


if __name__ == "__main__":
    main()
