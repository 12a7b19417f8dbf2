"""Change delivery benchmark (issue 11, "Performance"): a version changing 100,000 rows of a
200,000-row resource reaches a webhook consumer and a MariaDB table in < 60 s.

1. A fresh ZHENGWU_DATA_DIR (temporary; DATABASE_URL, if set, is used as it is), migrate, the demo
   city, catalog and sharing accounts; 公安局's reviewer approves 人社局's demo request for
   人口基本信息 as filed (its 6 items and scope; the grant is printed).
2. Version 1: N rows (demo generator, no errors) through the real ingest. Two subscriptions of
   人社局: a webhook to a receiver in a separate process (it verifies every page's HMAC-SM3
   signature before answering 200) and 库表交换 into MariaDB (127.0.0.1:3306, root, database
   `h3_dest`); both are brought to version 1 first (not timed).
3. Version 2: an incremental load changing `household_address` of the first N/2 rows.
4. Timed from the commit: (a) the webhook subscription's run until the receiver has verified all
   pages, (b) the database subscription's run and the check that the table matches (row count,
   and every changed row at version 2 with the new value). Each channel is a worker's run of its
   own; here they run one after the other, each timed from its own start.
5. Baselines in the same run: a bare bulk insert of the same changed rows into a fresh MariaDB
   table (executemany, one transaction), and ONE POST of all the webhook pages' bytes to the
   receiver (no signature, no paging).
6. One JSON line at the end: {"rows", "changed", "webhook_s", "database_s", "bare_insert_s",
   "bare_post_s", "webhook_ratio", "database_ratio", "pages", "target_s": 60, "ok"}.

    nice -n 10 .venv/bin/python benchmarks/exchange_delivery.py [--rows 200000] [--keep]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEST_DB = "h3_dest"


def log(message: str) -> None:
    print(message, flush=True)


# --- the receiver (a separate process) --------------------------------------------------------------------


def phase_receiver(secret: str) -> None:
    import http.server
    import threading

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    state = {"verified": 0, "bad": 0, "rows": 0, "bytes": 0, "seen": set()}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with lock:
                out = {k: v for k, v in state.items() if k != "seen"}
            self._answer(200, json.dumps(out).encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/bare"):
                with lock:
                    state["bytes"] += len(body)
                self._answer(200)
                return
            mac = crypto_hmac.HMAC(secret.encode(), hashes.SM3())
            mac.update(self.headers["X-Zhengwu-Timestamp"].encode() + b"." + body)
            if mac.finalize().hex() != self.headers["X-Zhengwu-Signature"]:
                with lock:
                    state["bad"] += 1
                self._answer(401)
                return
            page = json.loads(body)
            with lock:
                if self.headers["X-Zhengwu-Delivery"] not in state["seen"]:
                    state["seen"].add(self.headers["X-Zhengwu-Delivery"])
                    state["verified"] += 1
                    state["rows"] += len(page.get("upserts", [])) + len(page.get("deletes", []))
            self._answer(200)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


# --- the run ---------------------------------------------------------------------------------------------------


def setup(keep: bool) -> None:
    if not keep:
        os.environ["ZHENGWU_DATA_DIR"] = tempfile.mkdtemp(prefix="zw-exchange-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
    os.environ.setdefault("ZHENGWU_ENV", "test")
    # tasks are queued in the database and not run: this script runs the deliveries itself
    os.environ["ZHENGWU_TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_demo_city", stdout=io.StringIO())
    call_command("load_demo_catalog", stdout=io.StringIO())
    try:
        call_command("load_demo_sharing", stdout=io.StringIO())
    except Exception as exc:  # the demo's gateway part may not be there; the accounts and the request are
        log(f"  load_demo_sharing: {exc}")


def stats(port: int) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def mariadb() -> Any:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {DEST_DB}")
    conn.close()
    return pymysql.connect(host="127.0.0.1", user="root", database=DEST_DB, autocommit=False, charset="utf8mb4")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--phase", default="")
    parser.add_argument("--secret", default="")
    args = parser.parse_args()
    if args.phase == "receiver":
        phase_receiver(args.secret)
        return
    setup(args.keep)
    from django.conf import settings

    from zhengwu.catalog.models import CatalogEntry
    from zhengwu.core.models import EgressDestination
    from zhengwu.datahub import demo, lake
    from zhengwu.datahub.schema import schema_for
    from zhengwu.datahub.services import ingest_file
    from zhengwu.directory.models import User
    from zhengwu.sharing import services as sharing
    from zhengwu.sharing.exchange import changes, delivery, services
    from zhengwu.sharing.exchange.models import Subscription
    from zhengwu.sharing.models import RequestStatus, ShareRequest

    work = Path(settings.DATA_DIR) / "bench"
    work.mkdir(exist_ok=True)
    provider_admin = User.objects.get(username="gaj_data")
    reviewer = User.objects.get(username="gaj_share")
    consumer_admin = User.objects.get(username="rsj_data")
    entry = CatalogEntry.objects.get(name="人口基本信息", is_live=True, provider=provider_admin.unit)
    code = entry.resource_code
    req = ShareRequest.objects.get(entry=entry, consumer=consumer_admin.unit)
    grant = sharing.do_approve_share_request(reviewer, req) if req.status == RequestStatus.PENDING else req.grant
    log(f"授权：{grant.items}，明文 {grant.clear_items}，范围 {grant.scope or '全部'}")

    schema = schema_for(code)
    log(f"生成 {args.rows:,} 行 …")
    rows = list(demo.people_rows(schema, args.rows, seed=7, error_rate=0.0))
    first = work / "v1.csv"
    demo.write_csv(rows, first, encoding="utf-8", columns=schema.columns)
    started = time.perf_counter()
    batch = ingest_file(provider_admin, code, first, file_name=first.name, mode="full")
    assert batch.status == "succeeded", batch.error_message
    v1 = lake.current_version(code)
    log(f"版本 {v1}：{batch.rows_accepted:,} 行（归集 {time.perf_counter() - started:.1f} 秒）")

    secret_holder: dict[str, str] = {}
    settings.EGRESS_ALLOW_LOCAL = ["127.0.0.1:3306"]
    EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=3306, port_max=3306)
    table = f"rk_bench_{os.getpid()}"
    db_sub, _ = services.do_create_subscription(
        consumer_admin, grant, kind="database", name="人社局前置库", db_engine="mysql", db_host="127.0.0.1", db_port=3306,
        db_name=DEST_DB, db_user="root", db_table=table,
    )
    # The receiver needs the secret, which exists once the subscription does: register on a
    # placeholder port, start the receiver with the secret, then point the subscription at it.
    probe = subprocess.Popen(
        [sys.executable, __file__, "--phase", "receiver", "--secret", "pending"], stdout=subprocess.PIPE, text=True
    )
    port = int((probe.stdout or io.StringIO()).readline())
    settings.EGRESS_ALLOW_LOCAL = ["127.0.0.1:3306", f"127.0.0.1:{port}"]
    EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=port, port_max=port)
    hook, secret = services.do_create_subscription(
        consumer_admin, grant, kind="webhook", name="人社局接收系统", webhook_url=f"http://127.0.0.1:{port}/hook",
    )
    probe.terminate()
    probe.wait()
    secret_holder["secret"] = secret
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--phase", "receiver", "--secret", secret], stdout=subprocess.PIPE, text=True
    )
    port2 = int((receiver.stdout or io.StringIO()).readline())
    settings.EGRESS_ALLOW_LOCAL = ["127.0.0.1:3306", f"127.0.0.1:{port2}"]
    EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=port2, port_max=port2)
    Subscription.objects.filter(pk=hook.pk).update(webhook_url=f"http://127.0.0.1:{port2}/hook")
    try:
        started = time.perf_counter()
        for sub in (hook, db_sub):
            outcome = delivery.run_subscription(sub.pk)
            sub.refresh_from_db()
            assert sub.position == v1, (sub.kind, outcome, sub.last_error)
        log(f"两个订阅已同步到版本 {v1}（全量 {time.perf_counter() - started:.1f} 秒，不计时）")
        base = stats(port2)

        changed = args.rows // 2
        second = work / "v2.csv"
        for row in rows[:changed]:
            row["household_address"] = (str(row.get("household_address") or "") + "（已迁）")[:200]
        demo.write_csv(rows[:changed], second, encoding="utf-8", columns=schema.columns)
        batch = ingest_file(provider_admin, code, second, file_name=second.name, mode="incremental")
        assert batch.status == "succeeded", batch.error_message
        v2 = lake.current_version(code)
        log(f"版本 {v2}：更新 {batch.rows_updated:,} 行（提交完成，开始计时）")

        started = time.perf_counter()
        delivery.run_subscription(hook.pk)
        webhook_s = time.perf_counter() - started
        hook.refresh_from_db()
        after = stats(port2)
        pages = after["verified"] - base["verified"]
        assert hook.position == v2 and after["bad"] == 0 and after["rows"] - base["rows"] == changed, (hook.last_error, after)
        log(f"(a) Webhook：{pages} 页全部验签通过，{webhook_s:.1f} 秒")

        started = time.perf_counter()
        delivery.run_subscription(db_sub.pk)
        db_sub.refresh_from_db()
        conn = mariadb()
        cur = conn.cursor()
        cur.execute(f"SELECT COUNT(*), SUM(`_zw_version` = %s), SUM(`household_address` LIKE %s) FROM `{table}`",
                    (v2, "%（已迁）"))
        total, at_v2, moved = (int(x or 0) for x in cur.fetchone())
        database_s = time.perf_counter() - started
        assert db_sub.position == v2 and total == args.rows and at_v2 == changed == moved, (db_sub.last_error, total, at_v2, moved)
        log(f"(b) MariaDB：表 {total:,} 行，其中 {at_v2:,} 行为版本 {v2}，{database_s:.1f} 秒")

        # baselines: the same rows inserted bare, the same bytes in one POST
        view = changes.view_for(grant)
        change_set = changes.change_set(view, v1, v2)
        bare = f"rk_bare_{os.getpid()}"
        columns = [changes.KEY_COLUMN, *view.items]
        cur.execute(f"CREATE TABLE `{bare}` ({', '.join(f'`{c}` LONGTEXT' for c in columns)}) DEFAULT CHARSET=utf8mb4")
        values = [tuple(None if r.get(c) is None else str(r.get(c)) for c in columns) for r in change_set.upserts]
        started = time.perf_counter()
        sql = f"INSERT INTO `{bare}` ({', '.join(f'`{c}`' for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        for start in range(0, len(values), 2000):
            cur.executemany(sql, values[start:start + 2000])
        conn.commit()
        bare_insert_s = time.perf_counter() - started
        ops = change_set.ops()
        deliveries = list(hook.deliveries.filter(to_version=v2).order_by("page"))
        blob = b"".join(delivery.body_of(hook, d, view, ops) for d in deliveries)
        import http.client

        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port2, timeout=120)
        connection.request("POST", "/bare", body=blob, headers={"Content-Type": "application/json"})
        connection.getresponse().read()
        connection.close()
        bare_post_s = time.perf_counter() - started
        cur.execute(f"DROP TABLE `{bare}`")
        cur.execute(f"DROP TABLE `{table}`")
        cur.execute("DELETE FROM `_zw_exchange_state` WHERE table_name = %s", (table,))
        conn.commit()
        conn.close()
        log(f"基线：MariaDB 直接批量插入 {len(values):,} 行 {bare_insert_s:.1f} 秒；一次 POST {len(blob) / 1e6:.1f} MB {bare_post_s:.2f} 秒")
    finally:
        receiver.terminate()
        receiver.wait()
    print(json.dumps({
        "rows": args.rows, "changed": changed, "pages": pages, "webhook_s": round(webhook_s, 2),
        "database_s": round(database_s, 2), "bare_insert_s": round(bare_insert_s, 2), "bare_post_s": round(bare_post_s, 3),
        "webhook_ratio": round(webhook_s / max(bare_post_s, 1e-6), 1), "database_ratio": round(database_s / max(bare_insert_s, 1e-6), 2),
        "target_s": 60, "ok": webhook_s < 60 and database_s < 60,
    }, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
