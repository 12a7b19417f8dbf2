"""Data gateway benchmark (issue 11, "Performance"): key look-ups through the gateway — OAuth2
bearer authentication, grant check, row scope, masking, rate/quota counting and the call log with
its DataUse rows — against a bare endpoint doing the same serving-store look-up, in the same run.

1. DATABASE_URL must name an EMPTY PostgreSQL database of its own (it is migrated and filled).
   A fresh ZHENGWU_DATA_DIR (temporary) holds the lake. Loads the demo city and catalog, generates
   --rows rows of 人口基本信息, ingests them with datahub's ingest_file and builds the serving
   table (do_refresh_served). Runs the sharing/gateway demo: 公安局's reviewer grants 人社局's request
   (masked, scoped to 人社局's jurisdiction), 人社局's 社保业务系统 is a SERVICE client; the grant's
   limits are raised so the benchmark measures the work, not the refusals.
2. Starts the production server as docs/operations.md does, `uvicorn zhengwu.asgi:application
   --workers N` (ZHENGWU_ENV=production; ZHENGWU_DB_CONN_MAX_AGE=--conn-max-age, default 0;
   ZHENGWU_DB_POOL=1 by default as in production, 0 with --no-pool), and the bare app
   `uvicorn benchmarks.bare_lookup:app --workers N` with the same environment (so the same pool).
3. Gets a token at /oidc/token (client credentials) and drives, from SEPARATE load processes
   (`--drive`, httpx async; --load-processes of them sharing --clients concurrent clients), first
   the bare endpoint and then the gateway for --seconds each, on random keys of rows in the grant's
   scope (after a warm-up of --warmup seconds each).
4. Prints requests/s, p50 and p99 and errors of both, their ratio, the web processes' CPU per
   request (from /proc, PostgreSQL's own CPU not included) and `cpu_ratio` = bare CPU / gateway CPU
   per request — which, unlike the throughput ratio, hardly moves when other processes share the
   cores — and ends with one JSON line. With --also-django-asgi the same gateway is also served by
   Django's own ASGI handler (`zhengwu.asgi:django_application`, without core.threadpool_handler)
   and driven third, for comparison in the same run.

    createdb h1_bench   # or: psql -c "create database h1_bench"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h1_bench nice -n 10 .venv/bin/python benchmarks/sharing_api.py \\
        [--rows 1000000] [--workers 2] [--clients 32] [--load-processes 2] [--seconds 20] [--no-pool] [--also-django-asgi]

Targets (issue 11): gateway ≥ 0.5 × bare, p99 < 50 ms, zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = "人口基本信息"


def log(message: str) -> None:
    print(message, flush=True)


# --- the load process ---------------------------------------------------------------------------------


async def _drive(url_prefix: str, keys: list[str], clients: int, seconds: float, headers: dict[str, str]) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    rng = random.Random(os.getpid())
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30.0) as client:

        async def one() -> None:
            while time.perf_counter() < deadline:
                key = rng.choice(keys)
                t0 = time.perf_counter()
                try:
                    r = await client.get(url_prefix + key)
                    status = str(r.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - t0)
                if status != "200":
                    errors[status] = errors.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {"n": len(latencies), "elapsed": elapsed, "latencies": latencies, "errors": errors}


def drive_main(args: argparse.Namespace) -> None:
    keys = Path(args.keys_file).read_text().split()
    headers = json.loads(args.headers or "{}")
    result = asyncio.run(_drive(args.drive, keys, args.clients, args.seconds, headers))
    sys.stdout.write(json.dumps(result) + "\n")


def run_load(url_prefix: str, keys_file: Path, clients: int, processes: int, seconds: float,
             headers: dict[str, str]) -> dict[str, Any]:
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--drive", url_prefix, "--keys-file", str(keys_file), "--clients", str(n),
             "--seconds", str(seconds), "--headers", json.dumps(headers)],
            stdout=subprocess.PIPE, text=True,
        )
        for n in per if n
    ]
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 120)
        results.append(json.loads(out.strip().splitlines()[-1]))
    latencies = sorted(x for r in results for x in r["latencies"])
    n = len(latencies)
    elapsed = max(r["elapsed"] for r in results)
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    return {
        "requests": n, "rps": n / elapsed if elapsed else 0.0,
        "p50_ms": latencies[n // 2] * 1000 if n else None,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else None,
        "errors": sum(errors.values()), "error_kinds": errors,
    }


# --- setup (in this process) --------------------------------------------------------------------------


def setup(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    os.environ["ZHENGWU_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
    os.environ.setdefault("ZHENGWU_ENV", "test")
    os.environ["ZHENGWU_TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    os.environ.setdefault("ZHENGWU_INGEST_MAX_FILE_MB", str(max(1024, args.rows // 2000)))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL 须指向一个空的 PostgreSQL 数据库（见本文件说明）")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_demo_city", stdout=io.StringIO())
    call_command("load_demo_catalog", stdout=io.StringIO())
    from zhengwu.catalog.models import CatalogEntry
    from zhengwu.datahub import demo
    from zhengwu.datahub.schema import schema_for
    from zhengwu.datahub.services import ingest_file
    from zhengwu.datahub.serving import queries, services
    from zhengwu.directory.models import User

    entry = CatalogEntry.objects.filter(name=PEOPLE, is_live=True).order_by("id").first()
    if entry is None:
        sys.exit(f"演示目录中没有已发布的“{PEOPLE}”")
    code = entry.resource_code
    schema = schema_for(code)
    work = data_dir / "bench"
    work.mkdir(parents=True, exist_ok=True)
    source = work / "people.csv"
    log(f"生成并归集 {args.rows:,} 行人口数据，构建服务表（不计时）…")
    started = time.perf_counter()
    table = demo.people_rows(schema, args.rows, seed=2026, error_rate=0.0)
    demo.write_csv(table, source, encoding="utf-8", columns=schema.columns)
    batch = ingest_file(User.objects.get(username="gaj_data"), code, source, file_name=source.name, mode="full", progress=None)
    if batch.status != "succeeded":
        sys.exit(f"归集失败：{batch.error_message}")
    built = services.do_refresh_served(code, full=True)
    log(f"  {time.perf_counter() - started:.1f} 秒；服务表 {built.rows:,} 行")

    call_command("load_demo_sharing", stdout=io.StringIO())
    from zhengwu.sharing.gateway import services as gateway
    from zhengwu.sharing.models import ShareGrant

    grant = ShareGrant.objects.get(entry=entry)
    gateway.do_set_grant_limits(User.objects.get(username="gaj_share"), grant, rate_per_minute=gateway.MAX_RATE,
                                daily_quota=gateway.MAX_QUOTA)
    stored = json.loads((data_dir / "gateway_demo_clients.json").read_text())
    keys: list[str] = []
    for part in queries.iter_rows(code, columns=["id_no"], scope=grant.scope, batch_size=50_000):
        keys.extend(r["id_no"] for r in part)
    rng = random.Random(2026)
    sample = [rng.choice(keys) for _ in range(min(len(keys), 20_000))]
    keys_file = work / "keys.txt"
    keys_file.write_text("\n".join(sample))
    log(f"  授权范围 {grant.scope}：{len(keys):,} 行在范围内；授权信息项 {grant.items}")
    return {"code": code, "columns": grant.items, "client": stored, "keys_file": keys_file, "rows": built.rows,
            "in_scope": len(keys), "grant_id": grant.pk, "database_url": os.environ["DATABASE_URL"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(app: str, port: int, workers: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    out = log_path.open("wb")
    return subprocess.Popen(
        [uvicorn, app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning", "--http", "zhengwu.core.webserver:NoDelayHTTPProtocol"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group `pgid` (a server's
    supervisor and its workers), from /proc — the web processes' own work, without PostgreSQL's."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state ppid pgrp session ... utime (14th field overall) stime (15th)
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def wait_ready(url: str, seconds: float = 90) -> None:
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit(f"服务未能启动：{url}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description="zhengwu 数据服务网关基准测试（主键查询：网关对比裸查询）")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--conn-max-age", default="0",
                        help="ZHENGWU_DB_CONN_MAX_AGE of both servers (default 0: under ASGI Django keeps one connection "
                             "per request context, so persistent connections pile up — see docs/gateway.md)")
    parser.add_argument("--pool", action=argparse.BooleanOptionalAction, default=True,
                        help="ZHENGWU_DB_POOL of both servers: psycopg's connection pool per worker process "
                             "(ZHENGWU_DB_POOL_MIN/MAX/TIMEOUT from the environment, see docs/configuration.md), on by "
                             "default as in production; --no-pool: a new connection per request")
    parser.add_argument("--also-django-asgi", action="store_true",
                        help="也测同一网关在 Django 自带 ASGI 处理器上（不用线程池处理器）的表现，作对比")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--keys-file", help=argparse.SUPPRESS)
    parser.add_argument("--headers", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive_main(args)
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("请用 DATABASE_URL 指定一个空的 PostgreSQL 数据库")

    data_dir = Path(tempfile.mkdtemp(prefix="zw-gateway-bench-"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        facts = setup(args, data_dir)
        env = dict(os.environ)
        env.update({
            "ZHENGWU_ENV": "production", "ZHENGWU_SECRET_KEY": os.environ.get("ZHENGWU_SECRET_KEY") or secrets.token_urlsafe(50),
            "ZHENGWU_ALLOWED_HOSTS": "127.0.0.1,localhost", "ZHENGWU_SECURE_SSL_REDIRECT": "false",
            "ZHENGWU_DB_CONN_MAX_AGE": str(args.conn_max_age), "ZHENGWU_DB_POOL": "1" if args.pool else "0",
            "ZHENGWU_DATA_DIR": str(data_dir), "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
            "BENCH_CODE": facts["code"], "BENCH_COLUMNS": ",".join(facts["columns"]),
        })
        env.pop("ZHENGWU_TASKS_BACKEND", None)
        # The test-time secret of the setup process encrypted nothing the server needs except the
        # field key: keep it stable between the two (the signing keys and client secrets are hashes).
        if not os.environ.get("ZHENGWU_SECRET_KEY"):
            from django.conf import settings

            env["ZHENGWU_SECRET_KEY"] = settings.SECRET_KEY
        gw_port, bare_port = free_port(), free_port()
        log(f"启动网关服务 uvicorn zhengwu.asgi:application --workers {args.workers}（端口 {gw_port}）和对照服务（端口 {bare_port}）…")
        servers.append(start_server("zhengwu.asgi:application", gw_port, args.workers, env, data_dir / "gateway.log"))
        servers.append(start_server("benchmarks.bare_lookup:app", bare_port, args.workers, env, data_dir / "bare.log"))
        plain_port = free_port()
        if args.also_django_asgi:
            servers.append(start_server("zhengwu.asgi:django_application", plain_port, args.workers, env, data_dir / "django_asgi.log"))
            wait_ready(f"http://127.0.0.1:{plain_port}/gateway/v1/health")
        wait_ready(f"http://127.0.0.1:{gw_port}/gateway/v1/health")
        wait_ready(f"http://127.0.0.1:{bare_port}/lookup/x")
        import base64

        import httpx

        client = facts["client"]
        basic = base64.b64encode(f"{client['client_id']}:{client['secret']}".encode()).decode()
        r = httpx.post(f"http://127.0.0.1:{gw_port}/oidc/token/", data={"grant_type": "client_credentials", "scope": "sharing"},
                       headers={"Authorization": f"Basic {basic}"}, timeout=30)
        if r.status_code != 200:
            sys.exit(f"取令牌失败：{r.status_code} {r.text[:300]}")
        token = r.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}", "X-Zhengwu-Purpose": "BENCH-001"}
        gw_prefix = f"http://127.0.0.1:{gw_port}/gateway/v1/resources/{facts['code']}/records/"
        bare_prefix = f"http://127.0.0.1:{bare_port}/lookup/"
        keys_file = facts["keys_file"]
        check = httpx.get(gw_prefix + keys_file.read_text().split()[0], headers=auth, timeout=30)
        if check.status_code != 200:
            sys.exit(f"网关查询失败：{check.status_code} {check.text[:300]}")
        log(f"网关答复示例：{check.text[:200]}")
        from zhengwu.sharing.gateway.models import DataUse, GatewayCall

        calls_before = GatewayCall.objects.count()
        uses_before = DataUse.objects.count()
        results: dict[str, dict[str, Any]] = {}
        phases = [("bare", bare_prefix, {}), ("gateway", gw_prefix, auth)]
        if args.also_django_asgi:
            phases.append(("django_asgi", gw_prefix.replace(f":{gw_port}/", f":{plain_port}/"), auth))
        titles = {"bare": "对照（裸查询）", "gateway": "网关", "django_asgi": "网关（Django 自带 ASGI 处理器）"}
        for name, prefix, headers in phases:
            log(f"{titles[name]}：预热 {args.warmup} 秒，测 {args.seconds} 秒，{args.clients} 个并发客户端 …")
            run_load(prefix, keys_file, args.clients, args.load_processes, args.warmup, headers)
            server = servers[{"gateway": 0, "bare": 1, "django_asgi": 2}[name]]
            cpu_before = group_cpu_seconds(server.pid)
            results[name] = res = run_load(prefix, keys_file, args.clients, args.load_processes, args.seconds, headers)
            res["cpu_ms"] = (group_cpu_seconds(server.pid) - cpu_before) * 1000 / max(1, res["requests"])
            log(f"  {res['rps']:.1f} 请求/秒，p50 {res['p50_ms']:.2f} 毫秒，p99 {res['p99_ms']:.2f} 毫秒，错误 {res['errors']} "
                f"{res['error_kinds'] or ''}；服务进程每请求 CPU {res['cpu_ms']:.2f} 毫秒")
        if any(r["errors"] for r in results.values()):
            for name in results:
                tail = (data_dir / f"{name}.log").read_text(errors="replace").splitlines()[-30:]
                log(f"--- {name}.log（最后 30 行）---\n" + "\n".join(tail))
        calls_logged = GatewayCall.objects.count() - calls_before
        uses_logged = DataUse.objects.count() - uses_before
        gw, bare = results["gateway"], results["bare"]
        ratio = gw["rps"] / bare["rps"] if bare["rps"] else 0.0
        cpu_ratio = bare["cpu_ms"] / gw["cpu_ms"] if gw["cpu_ms"] else 0.0
        log(f"网关/对照 = {ratio:.3f}（按服务进程每请求 CPU：{cpu_ratio:.3f}）；网关调用记录新增 {calls_logged:,} 条，数据使用记录新增 {uses_logged:,} 条")
        print(json.dumps({
            "rows": facts["rows"], "workers": args.workers, "conn_max_age": args.conn_max_age,
            "pool": (f"{env.get('ZHENGWU_DB_POOL_MIN', '2')}-{env.get('ZHENGWU_DB_POOL_MAX', '10')}" if args.pool else "off"),
            "clients": args.clients, "seconds": args.seconds,
            "gateway_rps": round(gw["rps"], 1), "gateway_p50_ms": round(gw["p50_ms"], 2), "gateway_p99_ms": round(gw["p99_ms"], 2),
            "gateway_errors": gw["errors"], "bare_rps": round(bare["rps"], 1), "bare_p50_ms": round(bare["p50_ms"], 2),
            "bare_p99_ms": round(bare["p99_ms"], 2), "bare_errors": bare["errors"], "ratio": round(ratio, 3),
            "gateway_cpu_ms": round(gw["cpu_ms"], 3), "bare_cpu_ms": round(bare["cpu_ms"], 3), "cpu_ratio": round(cpu_ratio, 3),
            "calls_logged": calls_logged, "data_uses_logged": uses_logged,
            **({f"django_asgi_{k}": round(results["django_asgi"][k], 3) for k in ("rps", "p50_ms", "p99_ms", "errors", "cpu_ms")}
               if args.also_django_asgi else {}),
        }, ensure_ascii=False), flush=True)
    finally:
        for proc in servers:
            stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
