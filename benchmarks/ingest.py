"""Ingest benchmark: zhengwu's full ingest of a population file against DuckDB's plain
read-CSV-write-Parquet of the same rows, measured in the same run (issue 4, "Performance").

1. Sets ZHENGWU_DATA_DIR to a fresh temporary directory (with --keep: the ZHENGWU_DATA_DIR already
   set, if any, and nothing is deleted afterwards), configures Django, runs migrate,
   load_demo_city and load_demo_catalog quietly. DATABASE_URL, if set, is used as it is.
2. Generates the demo city's 人口基本信息 as a GBK CSV with Chinese headers, N rows, ~2 % of
   them deliberately wrong (`zhengwu.datahub.demo`, streamed to disk), and a UTF-8 copy of it
   (DuckDB has no GBK reader).
3. (a) zhengwu: `ingest_file` as the 公安局's data admin — detect encoding, stage, validate,
   quarantine, commit to the lake — in a child process (this script with --phase ingest), so
   its peak memory (`getrusage(RUSAGE_CHILDREN).ru_maxrss`) excludes generation.
   (b) DuckDB: ``COPY (SELECT * FROM read_csv('<utf-8 copy>', header=true)) TO '<x>.parquet'
   (FORMAT parquet)``.
   The child uses the database task backend, as production does: what a new version sets off
   (the serving store's refresh, deliveries to subscribers) is queued for the worker and is not
   part of the batch's time. The refused rows must be exactly the rows generated wrong.
4. Prints progress lines, then exactly one JSON line:
   {"rows", "rows_per_s", "duckdb_rows_per_s", "ratio", "cpu_ratio", "seconds", "duckdb_seconds",
   "peak_rss_mb", "refused_rows"}; cpu_ratio = DuckDB's CPU seconds (all threads) / zhengwu's,
   which, unlike the wall-clock ratio, hardly moves when other processes share the cores.

Targets (issue 4): ratio ≥ 0.5 at N = 1,000,000; peak_rss_mb < 1536 at N = 10,000,000.

    .venv/bin/python benchmarks/ingest.py [--rows 1000000] [--error-rate 0.02] [--keep] [--files DIR]

With --files DIR the generated GBK and UTF-8 files (and the number of rows the checks should
refuse) are kept in DIR and reused by a later run with the same --rows, --error-rate and --seed;
everything else (database, lake, the ingest itself) is fresh in every run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PEOPLE = "人口基本信息"
ACTOR = "gaj_data"


def log(message: str) -> None:
    print(message, flush=True)


def setup_django(quiet_setup: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
    os.environ.setdefault("ZHENGWU_ENV", "test")
    import django

    django.setup()
    if quiet_setup:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("load_demo_city", stdout=io.StringIO())
        call_command("load_demo_catalog", stdout=io.StringIO())


def people_code() -> str:
    from zhengwu.catalog.models import CatalogEntry

    entry = CatalogEntry.objects.filter(name=PEOPLE, is_live=True).order_by("id").first()
    if entry is None:
        sys.exit(f"演示目录中没有已发布的“{PEOPLE}”")
    return entry.resource_code


def phase_ingest(path: Path, resource_code: str) -> None:
    """Child process: run the real ingest and report as one JSON line."""
    setup_django(quiet_setup=False)
    from zhengwu.datahub.services import ingest_file
    from zhengwu.directory.models import User

    actor = User.objects.get(username=ACTOR)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    batch = ingest_file(actor, resource_code, path, file_name=path.name, mode="full", progress=None)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    print(json.dumps({
        "status": batch.status, "error": batch.error_message, "seconds": seconds, "cpu_seconds": cpu, "rows_in": batch.rows_in,
        "rows_accepted": batch.rows_accepted, "rows_refused": batch.rows_refused, "encoding": batch.encoding,
        "engine": batch.engine,
    }, ensure_ascii=False), flush=True)


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all its threads (DuckDB's and Arrow's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def transcode(source: Path, target: Path, encoding: str = "gbk", chunk_chars: int = 4 * 1024 * 1024) -> None:
    """A UTF-8 copy of a text file, streamed."""
    with source.open("r", encoding=encoding, newline="") as src, target.open("w", encoding="utf-8", newline="") as out:
        while chunk := src.read(chunk_chars):
            out.write(chunk)


def generate(path: Path, rows: int, error_rate: float, seed: int) -> tuple[int, int]:
    """Write the GBK population file; (rows written, rows the checks should refuse)."""
    from zhengwu.datahub import demo
    from zhengwu.datahub.schema import schema_for
    from zhengwu.directory.models import User

    code = people_code()
    schema = schema_for(code)
    actor = User.objects.get(username=ACTOR)
    rules = demo.ensure_demo_rules(actor, code, schema)
    table = demo.people_rows(schema, rows, seed=seed, error_rate=error_rate, rules=rules)
    step = max(1, rows // 10)
    started = time.perf_counter()

    def with_progress() -> Iterator[dict[str, str]]:
        for number, row in enumerate(table, start=1):
            if number % step == 0:
                elapsed = time.perf_counter() - started
                log(f"  生成 {number:,}/{rows:,} 行（{number / elapsed:,.0f} 行/秒）")
            yield row

    written = demo.write_csv(with_progress(), path, encoding="gbk", columns=schema.columns)
    log(f"  {len(schema.columns)} 列；故意出错 {len(table.corruptions):,} 行，类型：{'、'.join(table.error_kinds)}")
    return written, len(table.expected_refused_rows)


def ensure_rules() -> None:
    """The demo rules a generated file was made for (a reused file meets a fresh database)."""
    from zhengwu.datahub import demo
    from zhengwu.datahub.schema import schema_for
    from zhengwu.directory.models import User

    code = people_code()
    demo.ensure_demo_rules(User.objects.get(username=ACTOR), code, schema_for(code))


def run_duckdb(utf8: Path, out: Path) -> tuple[float, float]:
    import duckdb

    source = str(utf8).replace("'", "''")
    target = str(out).replace("'", "''")
    connection = duckdb.connect()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    try:
        connection.execute(
            f"COPY (SELECT * FROM read_csv('{source}', header=true)) TO '{target}' (FORMAT parquet)"
        )
    except duckdb.Error as exc:  # a sniffed type that a deliberately bad value breaks
        log(f"  DuckDB 按推断类型读取失败（{type(exc).__name__}），改用 all_varchar=true 重测")
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        connection.execute(
            f"COPY (SELECT * FROM read_csv('{source}', header=true, all_varchar=true)) TO '{target}' (FORMAT parquet)"
        )
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    connection.close()
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description="zhengwu 数据归集基准测试（对照 DuckDB 读 CSV 写 Parquet）")
    parser.add_argument("--rows", type=int, default=1_000_000, help="人口文件行数（默认 1000000）")
    parser.add_argument("--error-rate", type=float, default=0.02, help="故意出错的行所占比例（默认 0.02）")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="沿用已设置的 ZHENGWU_DATA_DIR，结束后不删除数据目录")
    parser.add_argument("--files", help="在此目录保存生成的人口文件，行数、错误率和种子相同时直接沿用（省去生成时间）")
    parser.add_argument("--phase", choices=["all", "ingest"], default="all", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--resource", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "ingest":
        phase_ingest(Path(args.file), args.resource)
        return
    if args.rows < 1:
        sys.exit("--rows 必须大于 0")

    own_dir = not (args.keep and os.environ.get("ZHENGWU_DATA_DIR"))
    if own_dir:
        os.environ["ZHENGWU_DATA_DIR"] = tempfile.mkdtemp(prefix="zw-ingest-bench-")
    data_dir = Path(os.environ["ZHENGWU_DATA_DIR"])
    # a 10-million-row file is larger than the default upload limit; the benchmark lifts it
    os.environ.setdefault("ZHENGWU_INGEST_MAX_FILE_MB", str(max(1024, args.rows // 2000)))
    try:
        log(f"数据目录 {data_dir}；数据库 {'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'SQLite'}")
        setup_django(quiet_setup=True)
        code = people_code()
        work = data_dir / "bench"
        work.mkdir(parents=True, exist_ok=True)
        gbk, utf8 = work / "人口基本信息.csv", work / "people-utf8.csv"
        cached = None
        if args.files:
            cache = Path(args.files)
            cache.mkdir(parents=True, exist_ok=True)
            stem = f"people-{args.rows}-{args.error_rate}-{args.seed}"
            cached = (cache / f"{stem}-gbk.csv", cache / f"{stem}-utf8.csv", cache / f"{stem}.json")
        if cached and all(p.exists() for p in cached):
            log(f"沿用 {cached[0].parent} 中已生成的 {args.rows:,} 行人口文件")
            ensure_rules()
            gbk, utf8 = cached[0], cached[1]
            facts = json.loads(cached[2].read_text(encoding="utf-8"))
            rows, expected_refused = int(facts["rows"]), int(facts["expected_refused"])
        else:
            log(f"生成 {args.rows:,} 行人口文件（GBK，中文表头）…")
            started = time.perf_counter()
            rows, expected_refused = generate(gbk, args.rows, args.error_rate, args.seed)
            log(f"  用时 {time.perf_counter() - started:.1f} 秒，{gbk.stat().st_size / 1024**2:,.1f} MB")
            transcode(gbk, utf8)
            if cached:
                shutil.copyfile(gbk, cached[0])
                shutil.copyfile(utf8, cached[1])
                cached[2].write_text(json.dumps({"rows": rows, "expected_refused": expected_refused}), encoding="utf-8")

        log("(a) zhengwu：ingest_file（检测编码、校验、隔离、入湖）…")
        # As in production, what a new version sets off (the serving store's refresh, deliveries
        # to subscribers) is queued for the worker, not run inside the batch: the database task
        # backend, not the test settings' immediate one.
        env = {**os.environ, "ZHENGWU_TASKS_BACKEND": "django_tasks_db.DatabaseBackend"}
        child = subprocess.run(
            [sys.executable, __file__, "--phase", "ingest", "--file", str(gbk), "--resource", code],
            capture_output=True, text=True, env=env, check=False,
        )
        peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
        if child.returncode != 0 or not lines:
            sys.stderr.write(child.stdout[-4000:] + child.stderr[-4000:])
            sys.exit(f"归集子进程失败（退出码 {child.returncode}）")
        result = json.loads(lines[-1])
        if result["status"] != "succeeded":
            sys.exit(f"归集失败：{result['error']}")
        if int(result["rows_refused"]) != expected_refused:
            sys.exit(f"隔离行数 {result['rows_refused']:,} 与生成时故意出错的 {expected_refused:,} 行不符：校验结果变了")
        seconds, cpu = float(result["seconds"]), float(result["cpu_seconds"])
        log(f"  {seconds:.1f} 秒；读入 {result['rows_in']:,}，入库 {result['rows_accepted']:,}，"
            f"隔离 {result['rows_refused']:,}（应隔离 {expected_refused:,}）；编码 {result['encoding']}，"
            f"引擎 {result['engine']}；峰值内存 {peak_rss_mb:,.0f} MB")

        log("(b) DuckDB：read_csv → Parquet …")
        duck_seconds, duck_cpu = run_duckdb(utf8, work / "people.parquet")
        log(f"  {duck_seconds:.1f} 秒（CPU {duck_cpu:.1f} 秒）；zhengwu CPU {cpu:.1f} 秒")

        rows_per_s = rows / seconds
        duck_rows_per_s = rows / duck_seconds
        print(json.dumps({
            "rows": rows,
            "rows_per_s": round(rows_per_s, 1),
            "duckdb_rows_per_s": round(duck_rows_per_s, 1),
            "ratio": round(rows_per_s / duck_rows_per_s, 4),
            # CPU seconds (all threads) of DuckDB's run over zhengwu's: unlike the wall-clock
            # ratio, it hardly moves when other processes share the cores
            "cpu_ratio": round(duck_cpu / cpu, 4),
            "seconds": round(seconds, 2),
            "duckdb_seconds": round(duck_seconds, 2),
            "peak_rss_mb": round(peak_rss_mb, 1),
            "refused_rows": int(result["rows_refused"]),
        }), flush=True)
    finally:
        if own_dir and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
