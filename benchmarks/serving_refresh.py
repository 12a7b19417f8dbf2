"""Serving store benchmark: a full build of a 1,000,000-row resource's served table, an
incremental refresh of 1,000 changed rows, and key look-ups — with baselines measured in the
same run (issue 11, "Serving").

1. Sets ZHENGWU_DATA_DIR to a fresh temporary directory, configures Django, runs migrate,
   load_demo_city and load_demo_catalog quietly. DATABASE_URL, if set, is used as it is (give it
   an empty database of its own); otherwise SQLite in the data directory.
2. Generates the demo city's 人口基本信息 (N rows, no deliberate errors) and ingests it with
   datahub's `ingest_file` (not timed: that is benchmarks/ingest.py's job).
3. Times:
   (a) `do_refresh_served(code, full=True)`: read the lake version, load a new table (COPY on
       PostgreSQL, executemany on SQLite), build the unique key index and the code-table/date
       indexes, switch the pointer;
   (b) baseline: DuckDB reading the same lake version into an Arrow table;
   (c) PostgreSQL only, baseline: a bare COPY of the same rows (CSV already rendered, not timed)
       into an unindexed table;
   (d) an incremental refresh after a batch that changes 1,000 rows (one text item each);
   (e) `queries.lookup` of 10,000 random keys (every item), p50 and p99.
4. Prints progress lines, then exactly one JSON line:
   {"rows", "database", "full_build_s", "full_rows_per_s", "duckdb_arrow_rows_per_s",
    "full_vs_duckdb", "copy_rows_per_s", "full_vs_copy", "incremental_rows", "incremental_mode",
    "incremental_s", "lookup_p50_ms", "lookup_p99_ms"}

    nice -n 10 .venv/bin/python benchmarks/serving_refresh.py [--rows 1000000] [--changed 1000] [--lookups 10000]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from _common import emit, live_entry_code, log, setup_django, temp_data_dir

PEOPLE = "人口基本信息"
ACTOR = "gaj_data"


def ingest(code: str, path: Path, mode: str) -> Any:
    from zhengwu.datahub.services import ingest_file
    from zhengwu.directory.models import User

    batch = ingest_file(User.objects.get(username=ACTOR), code, path, file_name=path.name, mode=mode, progress=None)
    if batch.status != "succeeded":
        sys.exit(f"归集失败：{batch.error_message}")
    return batch


def duckdb_arrow_seconds(code: str, version: int) -> float:
    import duckdb

    from zhengwu.datahub import lake

    dataset = lake.version_dataset(code, version)
    con = duckdb.connect()
    started = time.perf_counter()
    con.register("v", dataset)
    table = con.sql("SELECT * FROM v").to_arrow_table()
    seconds = time.perf_counter() - started
    con.close()
    assert table.num_rows > 0
    return seconds


def bare_copy_seconds(code: str, version: int, columns: list[Any], work: Path) -> float:
    """PostgreSQL: COPY the same rows, as CSV rendered beforehand, into a table with no index."""
    import pyarrow.csv as pacsv
    from django.db import connection, transaction

    from zhengwu.datahub import lake
    from zhengwu.datahub.serving import store

    path = work / "copy.csv"
    with path.open("wb") as out:
        for batch in store.arrow_batches(lake.version_dataset(code, version), columns):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
            out.write(buffer.getvalue())
    table = "bench_bare_copy"
    store.drop_table(table)
    names = ", ".join(store.quote(c.field) for c in columns)
    started = time.perf_counter()
    with transaction.atomic():
        store.create_table(table, columns)
        with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {store.quote(table)} ({names}) FROM STDIN WITH (FORMAT csv)"
        ) as copy, path.open("rb") as source:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
    seconds = time.perf_counter() - started
    store.drop_table(table)
    return seconds


def changed_file(code: str, count: int, path: Path) -> int:
    """`count` served rows with one free-text item changed, as a CSV with the items' Chinese names."""
    from zhengwu.datahub import demo
    from zhengwu.datahub.schema import schema_for
    from zhengwu.datahub.serving import queries

    schema = schema_for(code)
    target = next(
        (c for c in schema.columns if not c.is_key and c.data_type == "字符" and not c.code_table_text and "地址" in c.label),
        None,
    ) or next(c for c in schema.columns if not c.is_key and c.data_type == "字符" and not c.code_table_text and not c.semantic)
    fields = [c.field_name for c in schema.columns]
    rows: list[dict[str, str]] = []
    for batch in queries.iter_rows(code, columns=fields, batch_size=count):
        for row in batch[:count]:
            text = {k: ("" if v is None else ("true" if v is True else "false" if v is False else str(v))) for k, v in row.items()}
            text[target.field_name] = f"更新{len(rows)}号"[: target.length or 20]
            rows.append(text)
        break
    demo.write_csv(rows, path, encoding="utf-8", columns=schema.columns)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="zhengwu 数据服务库基准测试（全量构建、增量刷新、主键查询）")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    data_dir = temp_data_dir("zw-serving-bench-")
    os.environ.setdefault("ZHENGWU_INGEST_MAX_FILE_MB", str(max(1024, args.rows // 2000)))
    try:
        # The benchmark drives refreshes itself: no task queue, no listener-triggered refresh in between.
        setup_django(tasks_backend="django_tasks.backends.dummy.DummyBackend", demo=True)
        from django.db import connection

        from zhengwu.datahub import demo, lake
        from zhengwu.datahub.schema import schema_for
        from zhengwu.datahub.serving import queries, services
        from zhengwu.directory.models import User

        database = connection.vendor
        log(f"数据目录 {data_dir}；数据库 {database}")
        code = live_entry_code(PEOPLE)
        schema = schema_for(code)
        rules = demo.ensure_demo_rules(User.objects.get(username=ACTOR), code, schema)
        work = data_dir / "bench"
        work.mkdir(parents=True, exist_ok=True)
        source = work / "people.csv"
        log(f"生成并归集 {args.rows:,} 行人口数据（不计时）…")
        started = time.perf_counter()
        table = demo.people_rows(schema, args.rows, seed=args.seed, error_rate=0.0, rules=rules)
        demo.write_csv(table, source, encoding="utf-8", columns=schema.columns)
        batch = ingest(code, source, "full")
        version = int(batch.lake_version)
        rows = lake.count_rows(code, version)
        log(f"  {time.perf_counter() - started:.1f} 秒；湖表版本 {version}，{rows:,} 行")

        log("(a) 全量构建服务表 …")
        full = services.do_refresh_served(code, full=True)
        log(f"  {full.seconds:.2f} 秒，{full.rows:,} 行（{full.rows / full.seconds:,.0f} 行/秒），表 {full.table}")
        log("(b) 对照：DuckDB 读取同一湖表版本为 Arrow …")
        duck = duckdb_arrow_seconds(code, version)
        log(f"  {duck:.2f} 秒（{rows / duck:,.0f} 行/秒）")
        copy_seconds = None
        if database == "postgresql":
            log("(c) 对照：同样的行裸 COPY 进无索引表 …")
            info = queries.served(code)
            assert info is not None
            copy_seconds = bare_copy_seconds(code, version, list(info.columns), work)
            log(f"  {copy_seconds:.2f} 秒（{rows / copy_seconds:,.0f} 行/秒）")

        log(f"(d) 增量刷新：一批改动 {args.changed:,} 行 …")
        changed = changed_file(code, args.changed, work / "changed.csv")
        ingest(code, work / "changed.csv", "incremental")
        incremental = services.do_refresh_served(code)
        log(f"  方式 {incremental.mode}，{incremental.seconds:.3f} 秒，版本 {incremental.lake_version}")

        log(f"(e) 主键查询 {args.lookups:,} 次 …")
        info = queries.served(code)
        assert info is not None
        key = info.keys[0]
        fields = [c.field for c in info.public_columns]
        keys: list[str] = []
        for part in queries.iter_rows(code, columns=[key], batch_size=50_000):
            keys.extend(r[key] for r in part)
        rng = random.Random(args.seed)
        sample = [rng.choice(keys) for _ in range(args.lookups)]
        timings: list[float] = []
        for value in sample:
            t0 = time.perf_counter()
            found = queries.lookup(code, {key: value}, columns=fields)
            timings.append(time.perf_counter() - t0)
            assert found is not None
        timings.sort()
        p50 = timings[len(timings) // 2] * 1000
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000
        log(f"  p50 {p50:.3f} 毫秒，p99 {p99:.3f} 毫秒")

        full_rps = full.rows / full.seconds
        duck_rps = rows / duck
        copy_rps = rows / copy_seconds if copy_seconds else None
        emit({
            "rows": rows,
            "database": database,
            "full_build_s": round(full.seconds, 3),
            "full_rows_per_s": round(full_rps, 1),
            "duckdb_arrow_rows_per_s": round(duck_rps, 1),
            "full_vs_duckdb": round(full_rps / duck_rps, 4),
            "copy_rows_per_s": round(copy_rps, 1) if copy_rps else None,
            "full_vs_copy": round(full_rps / copy_rps, 4) if copy_rps else None,
            "incremental_rows": changed,
            "incremental_mode": incremental.mode,
            "incremental_s": round(incremental.seconds, 4),
            "lookup_p50_ms": round(p50, 3),
            "lookup_p99_ms": round(p99, 3),
        })
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
