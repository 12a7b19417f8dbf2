"""Fixtures of the exchange tests: a lake of its own per test, the population resource of 公安局
granted to 人社局 (row scope 梅江区 441402, identity numbers and names masked), ingestion through
datahub's own push service, a real HTTP receiver on 127.0.0.1 that verifies the HMAC-SM3
signature and keeps a copy, a real TCP proxy in front of MariaDB that can be closed ("down"), and
destination databases on the machine's MariaDB and PostgreSQL."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from tests.factories import role_holder

SCOPE = {"division_code": ["441402"]}
ITEMS = ["id_no", "person_name", "birth_date", "division_code", "gender"]


@pytest.fixture(autouse=True)
def exchange_settings(tmp_path: Path, settings: Any) -> Any:
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    settings.INGEST_FULL_DELETE_CONFIRM_SHARE = 1.0
    settings.EXCHANGE_PAGE_ROWS = 3
    settings.EXCHANGE_RETRY_BASE_SECONDS = 60
    settings.EXCHANGE_RETRY_FACTOR = 2
    settings.EXCHANGE_MAX_ATTEMPTS = 4
    settings.EXCHANGE_WEBHOOK_TIMEOUT_SECONDS = 5
    return settings


def valid_id(prefix: str, seq: int, birth: str = "19900101") -> str:
    from zhengwu.core.validators import resident_id_check_char

    body = f"{prefix}{birth}{seq:03d}"
    return body + resident_id_check_char(body)


def person(seq: int, division: str = "441402", **overrides: Any) -> dict[str, Any]:
    row = {
        "id_no": valid_id(division, seq), "person_name": f"张{'三四五六七八九'[seq % 7]}{seq}",
        "household_address": f"江南路{seq}号", "birth_date": "1990-01-01", "gender": "1", "division_code": division,
    }
    row.update(overrides)
    return row


@pytest.fixture
def population(publish: Callable[..., Any]) -> Any:
    return publish("无条件共享")


@pytest.fixture
def grant(population: Any, ask: Callable[..., Any]) -> Any:
    """人社局's grant: five items, 梅江区 only, personal items masked (无条件共享: granted at once)."""
    req = ask(population, items=ITEMS, scope=SCOPE)
    req.refresh_from_db()
    return req.grant


@pytest.fixture
def ingest(provider_admin: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., int]:
    """Push records as the provider's 数据管理员 and run the batch as the worker would; the
    version listener and the deliveries it queues run too (tasks run immediately in tests).
    Returns the new current lake version."""
    from zhengwu.datahub import lake, services

    def push(code: str, rows: list[dict[str, Any]], mode: str = "full") -> int:
        with django_capture_on_commit_callbacks(execute=True):
            batch, _ = services.do_push_records(provider_admin, code, rows, idempotency_key=uuid.uuid4().hex, mode=mode)
        batch.refresh_from_db()
        assert batch.status == "succeeded", (batch.status, batch.error_message, batch.notes)
        version = lake.current_version(code)
        assert version is not None
        return version

    return push


@pytest.fixture
def run_committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def call(service: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return call


@pytest.fixture
def staff_of_consumer(make_user: Callable[..., Any], consumer: Any) -> Any:
    return make_user("rs_clerk", unit=consumer, full_name="人社经办人")


@pytest.fixture
def other_admin(make_user: Callable[..., Any], make_unit: Callable[..., Any]) -> Any:
    return role_holder(make_user, "mz_data", make_unit("市民政局", division_code="441400"), "民政数据员", "data_admin")


# --- the consumer's expected copy ------------------------------------------------------------------------


def expected_copy(grant: Any, version: int | None = None) -> dict[str, dict[str, Any]]:
    """What the consumer must hold: the version's rows inside the scope, the granted items only,
    personal items masked by their 脱敏方式 unless the grant names them clear (computed here from
    the lake and the catalog, not by the exchange's own code — except the opaque row key)."""
    from zhengwu.core.crypto import hmac_sm3
    from zhengwu.core.masking import mask_value
    from zhengwu.datahub import lake
    from zhengwu.sharing.exchange.changes import key_secret

    code = grant.entry.resource_code
    _, rows, _ = lake.read_rows(code, version, limit=100000)
    methods = {"id_no": "部分遮盖", "person_name": "部分遮盖"}
    secret = key_secret(grant.consumer_id, code)
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["division_code"] not in grant.scope.get("division_code", [row["division_code"]]):
            continue
        key = hmac_sm3(secret, row["id_no"].encode()).hex()  # one key item: its text
        shown: dict[str, Any] = {}
        for name in grant.items:
            value = row.get(name)
            if name in methods and name not in grant.clear_items:
                value = mask_value(value, methods[name])
            shown[name] = value.isoformat() if hasattr(value, "isoformat") else value
        out[key] = shown
    return out


# --- a real HTTP receiver ---------------------------------------------------------------------------------


class Receiver:
    """A consumer's webhook endpoint: verifies X-Zhengwu-Signature (HMAC-SM3 over timestamp "." body,
    computed here with `cryptography` directly), de-duplicates by delivery id, applies the pages."""

    def __init__(self) -> None:
        self.secret = ""
        self.port = 0
        self.status = 200
        self.pages: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.seen: set[str] = set()
        self.duplicates = 0
        self.bad_signatures = 0
        self.copy: dict[str, dict[str, Any]] = {}
        self.events: list[str] = []
        self.server: http.server.ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?unit=rsj"

    def verify(self, timestamp: str, body: bytes, given: str) -> bool:
        mac = crypto_hmac.HMAC(self.secret.encode(), hashes.SM3())
        mac.update(timestamp.encode() + b"." + body)
        return given == mac.finalize().hex()

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    ok = receiver.verify(self.headers["X-Zhengwu-Timestamp"], body, self.headers["X-Zhengwu-Signature"])
                    status = receiver.status if ok else 401
                    if not ok:
                        receiver.bad_signatures += 1
                    elif status == 200:
                        receiver.apply(self.headers["X-Zhengwu-Delivery"], body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def apply(self, delivery_id: str, body: bytes) -> None:
        if delivery_id in self.seen:
            self.duplicates += 1
            return
        self.seen.add(delivery_id)
        self.bodies.append(body)
        page = json.loads(body)
        self.pages.append(page)
        self.events.append(page["event"])
        if page["event"] == "resync":
            self.copy.clear()
            return
        for row in page.get("upserts", []):
            self.copy[row["_zw_key"]] = {k: v for k, v in row.items() if k != "_zw_key"}
        for key in page.get("deletes", []):
            self.copy.pop(key, None)


@pytest.fixture
def receiver(settings: Any, local_databases: Any) -> Iterator[Receiver]:
    from zhengwu.core.models import EgressDestination

    r = Receiver()
    r.start()
    settings.EGRESS_ALLOW_LOCAL = [*settings.EGRESS_ALLOW_LOCAL, f"127.0.0.1:{r.port}"]
    EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=r.port, port_max=r.port)
    yield r
    r.stop()


# --- a TCP proxy in front of MariaDB ------------------------------------------------------------------------


class TcpProxy:
    """127.0.0.1:<port> → 127.0.0.1:<target>. `close()` stops listening and cuts every connection
    (the consumer's database is down); `open()` listens on the same port again."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.conns = []


@pytest.fixture
def mariadb_proxy(settings: Any, local_databases: Any) -> Iterator[TcpProxy]:
    from zhengwu.core.models import EgressDestination

    proxy = TcpProxy(3306)
    proxy.open()
    settings.EGRESS_ALLOW_LOCAL = [*settings.EGRESS_ALLOW_LOCAL, f"127.0.0.1:{proxy.port}"]
    EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=proxy.port, port_max=proxy.port)
    yield proxy
    proxy.close()


# --- destination databases ------------------------------------------------------------------------------------

DEST_DB = "h3_dest"


@pytest.fixture(scope="session", autouse=True)
def _destination_databases() -> None:
    """The consumers' databases exist before any test registers a subscription on them (a fresh
    machine has neither; registering checks the connection, so it cannot wait for table_copy)."""
    for engine in ("mysql", "postgresql"):
        dest_connect(engine).close()


def table_name(prefix: str = "rk") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def dest_connect(engine: str) -> Any:
    if engine == "mysql":
        import pymysql

        pymysql.connect(host="127.0.0.1", user="root").cursor().execute(f"CREATE DATABASE IF NOT EXISTS {DEST_DB}")
        return pymysql.connect(host="127.0.0.1", user="root", database=DEST_DB, autocommit=True)
    import psycopg

    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DEST_DB,)).fetchone():
        admin.execute(f"CREATE DATABASE {DEST_DB}")
    admin.close()
    return psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DEST_DB}", autocommit=True)


def table_copy(engine: str, table: str, items: list[str]) -> dict[str, dict[str, Any]]:
    conn = dest_connect(engine)
    q = (lambda n: f"`{n}`") if engine == "mysql" else (lambda n: f'"{n}"')
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT {q('_zw_key')}, {', '.join(q(c) for c in items)} FROM {q(table)}")
        return {row[0]: dict(zip(items, row[1:], strict=True)) for row in cur.fetchall()}
    finally:
        conn.close()


def state_version(engine: str, subscription_id: int, table: str) -> int | None:
    conn = dest_connect(engine)
    try:
        cur = conn.cursor()
        cur.execute("SELECT version FROM _zw_exchange_state WHERE subscription_id = %s AND table_name = %s",
                    (subscription_id, table))
        row = cur.fetchone()
        return None if row is None else int(row[0])
    finally:
        conn.close()


def drop_table(engine: str, table: str) -> None:
    conn = dest_connect(engine)
    try:
        q = f"`{table}`" if engine == "mysql" else f'"{table}"'
        conn.cursor().execute(f"DROP TABLE IF EXISTS {q}")
    finally:
        conn.close()


def as_text(copy: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The expected copy as a database table holds it (every value text)."""
    return {k: {f: None if v is None else str(v) for f, v in row.items()} for k, row in copy.items()}
