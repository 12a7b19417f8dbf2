"""Open data API benchmark: CKAN datastore_search on a 1,000,000-row open dataset against DuckDB
reading the same lake version directly, and the full CSV download's time to first byte and peak
memory — baselines measured in the same run (issue 13, "Performance").

1. Sets ZHENGWU_DATA_DIR to a fresh temporary directory, configures Django, migrates, loads the
   demo city and catalog quietly. DATABASE_URL, if set, is used as it is (an empty database of its
   own); otherwise SQLite in the data directory.
2. Generates the demo city's 市场主体登记信息 (无条件开放; N rows, no deliberate errors) and
   ingests it with datahub's `ingest_file`, then builds its serving table (neither timed).
3. Times, each over R repetitions after one warm-up (medians):
   (a) `GET /api/3/action/datastore_search?resource_id=…&filters={"division_code": …, "status": …}&limit=100`
       through Django's full request stack (test client: URL routing, middleware, JSON envelope),
       with CKAN's default include_total=true, and again with include_total=false;
   (b) baseline: DuckDB on the same lake version (its Arrow dataset registered as a view, as
       datahub reads it) running the same filter with LIMIT 100 — no envelope, no total;
   (c) the full CSV download: time to the first byte of the streamed body, total time, and the
       Python heap's peak (tracemalloc) after 10 % of the rows and after all of them (flat when
       the download streams).
4. Prints progress lines, then exactly one JSON line:
   {"rows", "database", "served", "search_ms", "search_no_total_ms", "duckdb_ms", "ratio",
    "ratio_no_total", "download_ttfb_ms", "download_s", "download_mb", "peak_mb_10pct",
    "peak_mb_full", "rss_growth_mb_10pct", "rss_growth_mb_full", "targets": {"ratio_ge_0_5", "ttfb_lt_200ms"}}
   where ratio = duckdb_ms / search_ms (≥ 0.5 means at least half DuckDB's speed).
   With --formats xlsx,json, one more JSON line per format: {"rows", "format", "download_ttfb_ms",
   "download_s", "download_mb", "rss_growth_mb_full", "targets": {"ttfb_lt_200ms"}} (the growth of
   the process's resident-memory high-water mark over the whole download; no tracemalloc, which
   slows openpyxl-style per-cell work many times).

    nice -n 10 .venv/bin/python benchmarks/opendata_api.py [--rows 1000000] [--repeat 20] [--formats xlsx,json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

COMPANIES = "市场主体登记信息"
ACTOR = "scj_data"


def log(message: str) -> None:
    print(message, flush=True)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
    os.environ.setdefault("ZHENGWU_ENV", "test")
    os.environ["ZHENGWU_TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_demo_city", stdout=io.StringIO())
    call_command("load_demo_catalog", stdout=io.StringIO())


def median_ms(work: Any, repeat: int) -> float:
    work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description="zhengwu 开放数据接口基准测试（datastore_search 与全量 CSV 下载）")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--formats", default="", help="也量 XLSX、JSON 下载的首字节与内存，如 xlsx,json（各另输出一行 JSON）")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="zw-opendata-bench-"))
    os.environ["ZHENGWU_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("ZHENGWU_INGEST_MAX_FILE_MB", str(max(1024, args.rows // 2000)))
    try:
        setup_django()
        import duckdb
        from django.db import connection
        from django.test import Client

        from zhengwu.catalog.models import CatalogEntry
        from zhengwu.datahub import demo
        from zhengwu.datahub.schema import schema_for
        from zhengwu.datahub.services import ingest_file
        from zhengwu.directory.models import User
        from zhengwu.opendata import data, queries

        entry = CatalogEntry.objects.filter(name=COMPANIES, is_live=True).order_by("id").first()
        if entry is None:
            sys.exit(f"演示目录中没有已发布的“{COMPANIES}”")
        code = entry.resource_code
        schema = schema_for(code)
        work = data_dir / "bench"
        work.mkdir(parents=True, exist_ok=True)
        source = work / "companies.csv"
        log(f"数据目录 {data_dir}；数据库 {connection.vendor}")
        log(f"生成并归集 {args.rows:,} 行市场主体数据（不计时）…")
        started = time.perf_counter()
        table = demo.legal_person_rows(schema, args.rows, seed=args.seed, error_rate=0.0)
        demo.write_csv(table, source, encoding="utf-8", columns=schema.columns)
        batch = ingest_file(User.objects.get(username=ACTOR), code, source, file_name=source.name, mode="full", progress=None)
        if batch.status != "succeeded":
            sys.exit(f"归集失败：{batch.error_message}")
        source.unlink()
        log(f"  {time.perf_counter() - started:.1f} 秒；入库 {batch.rows_accepted:,} 行")
        served = False
        try:
            from zhengwu.datahub.serving import services as serving_services

            log("构建服务表（不计时）…")
            serving_services.do_refresh_served(code, full=True)
            served = True
        except Exception as exc:
            log(f"  服务表未构建：{exc}")
        dataset = queries.get_dataset(code)
        fields = dataset.field_names
        version = dataset.version.lake_version
        arrow = data.version_dataset(code, version)
        assert arrow is not None
        con = duckdb.connect()
        con.register("src", arrow)
        division, status = con.execute(
            "SELECT division_code, reg_status FROM src GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1 OFFSET 3"
        ).fetchone()  # type: ignore[misc]
        matching = con.execute("SELECT count(*) FROM src WHERE division_code = ? AND reg_status = ?", [division, status]).fetchone()[0]  # type: ignore[index]
        log(f"开放信息项 {len(fields)} 个（共 {len(schema.columns)} 个）；过滤 division_code={division}, reg_status={status}：{matching:,} 行")
        columns = ", ".join(data.quote(f) for f in fields)

        def direct() -> None:
            c = duckdb.connect()
            c.register("src", arrow)
            rows = c.execute(f"SELECT {columns} FROM src WHERE division_code = ? AND reg_status = ? LIMIT 100",
                             [division, status]).fetchall()
            c.close()
            assert len(rows) == min(100, matching)

        client = Client()
        rid = queries.resource_id(code, "CSV")
        filters = json.dumps({"division_code": division, "reg_status": status}, ensure_ascii=False)

        def search(include_total: bool) -> Any:
            def call() -> None:
                response = client.get("/api/3/action/datastore_search", {
                    "resource_id": rid, "filters": filters, "limit": 100, "include_total": str(include_total).lower(),
                })
                body = response.json()
                assert body["success"], body
                assert len(body["result"]["records"]) == min(100, matching)
                if include_total:
                    assert body["result"]["total"] == matching
            return call

        log("(a) datastore_search（含总数）…")
        search_ms = median_ms(search(True), args.repeat)
        log(f"  中位数 {search_ms:.2f} 毫秒")
        log("(a') datastore_search（include_total=false）…")
        search_nt_ms = median_ms(search(False), args.repeat)
        log(f"  中位数 {search_nt_ms:.2f} 毫秒")
        log("(b) 对照：DuckDB 直接读取同一湖表版本 …")
        duck_ms = median_ms(direct, args.repeat)
        log(f"  中位数 {duck_ms:.2f} 毫秒")

        log("(c) 全量 CSV 下载 …")
        url = f"/portal/opendata/dataset/{dataset.name}/download.csv"
        started = time.perf_counter()
        response = client.get(url)
        chunks = iter(response.streaming_content)
        first = next(chunks)
        ttfb = (time.perf_counter() - started) * 1000
        size = len(first) + sum(len(chunk) for chunk in chunks)
        total_s = time.perf_counter() - started
        log(f"  首字节 {ttfb:.1f} 毫秒；共 {total_s:.1f} 秒，{size / 1e6:.1f} MB")
        log("(c') 再下载一次，量内存（tracemalloc：Python 堆；ru_maxrss：进程常驻内存高水位）…")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        lines = 0
        peak_10 = None
        rss_10 = None
        for chunk in client.get(url).streaming_content:
            lines += chunk.count(b"\n")
            if peak_10 is None and lines >= args.rows // 10:
                peak_10 = tracemalloc.get_traced_memory()[1]
                rss_10 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_full = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss_full = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert lines == args.rows + 1, lines
        log(f"  {lines - 1:,} 行；Python 堆峰值 10% 时 {(peak_10 or 0) / 1e6:.1f} MB，全部 {peak_full / 1e6:.1f} MB；"
            f"常驻内存高水位增长 10% 时 {((rss_10 or rss_before) - rss_before) / 1024:.1f} MB，全部 {(rss_full - rss_before) / 1024:.1f} MB")
        result = {
            "rows": args.rows, "database": connection.vendor, "served": served,
            "search_ms": round(search_ms, 2), "search_no_total_ms": round(search_nt_ms, 2), "duckdb_ms": round(duck_ms, 2),
            "ratio": round(duck_ms / search_ms, 3), "ratio_no_total": round(duck_ms / search_nt_ms, 3),
            "download_ttfb_ms": round(ttfb, 1), "download_s": round(total_s, 2), "download_mb": round(size / 1e6, 1),
            "peak_mb_10pct": round((peak_10 or 0) / 1e6, 1), "peak_mb_full": round(peak_full / 1e6, 1),
            "rss_growth_mb_10pct": round(((rss_10 or rss_before) - rss_before) / 1024, 1),
            "rss_growth_mb_full": round((rss_full - rss_before) / 1024, 1),
        }
        result["targets"] = {"ratio_ge_0_5": result["ratio"] >= 0.5, "ttfb_lt_200ms": ttfb < 200}
        print(json.dumps(result, ensure_ascii=False), flush=True)
        for fmt in [f.strip() for f in args.formats.split(",") if f.strip() in ("xlsx", "json")]:
            log(f"(d) 全量 {fmt.upper()} 下载：首字节、总时间、常驻内存高水位增长 …")
            furl = f"/portal/opendata/dataset/{dataset.name}/download.{fmt}"
            frss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            fchunks = iter(client.get(furl).streaming_content)
            fsize = len(next(fchunks))
            fttfb = (time.perf_counter() - started) * 1000
            fsize += sum(len(chunk) for chunk in fchunks)
            line = {"rows": args.rows, "format": fmt, "download_ttfb_ms": round(fttfb, 1),
                    "download_s": round(time.perf_counter() - started, 2), "download_mb": round(fsize / 1e6, 1),
                    "rss_growth_mb_full": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - frss) / 1024, 1),
                    "targets": {"ttfb_lt_200ms": fttfb < 200}}
            print(json.dumps(line, ensure_ascii=False), flush=True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
