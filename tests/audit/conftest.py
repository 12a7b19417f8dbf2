"""Fixtures for the audit tests: a temporary signing key, administrators, raw-SQL tampering helpers,
the external JSON Lines copy and a real TCP syslog collector."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from zhengwu.audit import db_guards
from zhengwu.audit.models import AuditChainHead, AuditRecord
from zhengwu.audit.services import compute_hash, record_event, record_values


@pytest.fixture(autouse=True)
def signing_key_file(settings: Any, tmp_path: Any) -> Any:
    path = tmp_path / "keys" / "audit_sm2.pem"
    settings.AUDIT_SIGNING_KEY_FILE = path
    return path


@pytest.fixture
def audit_admin(make_user: Callable[..., Any]) -> Any:
    return make_user("auditor", admin_role="audit_admin", full_name="审计员甲")


@pytest.fixture
def system_admin(make_user: Callable[..., Any]) -> Any:
    return make_user("sysadmin", admin_role="system_admin", full_name="系统管理员乙")


@pytest.fixture
def security_admin(make_user: Callable[..., Any]) -> Any:
    return make_user("secadmin", admin_role="security_admin", full_name="安全管理员丙")


@pytest.fixture
def make_records(db: Any) -> Callable[..., list[AuditRecord]]:
    def make(n: int, action: str = "test.event", **kwargs: Any) -> list[AuditRecord]:
        return [
            record_event(None, action, object_type="thing", object_id=i, details={"i": i}, **kwargs)
            for i in range(n)
        ]

    return make


# --- raw SQL helpers (tests only: this is what an attacker with database access would do) -----------
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def disable_guards() -> None:
    """Turn the append-only triggers off for this test's transaction (rolled back afterwards)."""
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("ALTER TABLE audit_auditrecord DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER USER")
        else:
            for sql in db_guards.SQLITE_UNINSTALL:
                cursor.execute(sql)


def enable_guards() -> None:
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditrecord ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER USER")
    else:
        db_guards.install(connection)


def json_param() -> str:
    return "CAST(%s AS jsonb)" if is_postgres() else "%s"


def raw_update_details(seq: int, details: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE audit_auditrecord SET details = {json_param()} WHERE seq = %s",
            [json.dumps(details, ensure_ascii=False), seq],
        )


def raw_set_hashes(seq: int, prev_hash: str, hash: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditrecord SET prev_hash = %s, hash = %s WHERE seq = %s", [prev_hash, hash, seq]
        )


def raw_delete(seq: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditrecord WHERE seq = %s", [seq])


def raw_insert(values: dict[str, Any]) -> None:
    columns = [
        "seq",
        "occurred_at",
        "actor",
        "actor_name",
        "actor_unit",
        "actor_unit_id",
        "source_ip",
        "action",
        "object_type",
        "object_id",
        "result",
        "details",
        "prev_hash",
        "hash",
    ]
    params = []
    for name in columns:
        value = values[name]
        if name == "occurred_at":
            value = connection.ops.adapt_datetimefield_value(value)
        elif name == "details":
            value = json.dumps(value, ensure_ascii=False)
        params.append(value)
    placeholders = ", ".join(json_param() if name == "details" else "%s" for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO audit_auditrecord ({', '.join(columns)}) VALUES ({placeholders})",
            params,
        )


def forged_values(seq: int, prev_hash: str, *, recompute: bool) -> dict[str, Any]:
    from django.utils import timezone

    values: dict[str, Any] = {
        "seq": seq,
        "occurred_at": timezone.now(),
        "actor": "mallory",
        "actor_name": "伪造者",
        "actor_unit": "某单位",
        "actor_unit_id": None,
        "source_ip": "10.0.0.66",
        "action": "identity.login",
        "object_type": "user",
        "object_id": "mallory",
        "result": "success",
        "details": {"forged": True},
        "prev_hash": prev_hash,
    }
    values["hash"] = compute_hash(values) if recompute else "f" * 64
    return values


def rewrite_chain_from(seq: int) -> None:
    """Recompute prev_hash and hash of every record from `seq` on, and the chain head: a wholesale rewrite."""
    records = list(AuditRecord.objects.order_by("seq"))
    prev = None
    for record in records:
        if record.seq >= seq:
            assert prev is not None
            record.prev_hash = prev
            new_hash = compute_hash(record_values(record))
            raw_set_hashes(record.seq, prev, new_hash)
            record.hash = new_hash
        prev = record.hash
    AuditChainHead.objects.filter(id=1).update(hash=prev)


# --- external copies: the JSON Lines file and a real syslog collector ----------------------------
@pytest.fixture
def sink_file(settings: Any, tmp_path: Any) -> Any:
    """Turn the JSON Lines sink on (a fresh file, like a mounted write-once volume)."""
    from zhengwu.audit import sink

    path = tmp_path / "worm" / "audit.jsonl"
    settings.AUDIT_SINK_FILE = str(path)
    sink._syslog_retry_after = 0.0
    return path


def sink_lines(path: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


class SyslogCollector(socketserver.ThreadingTCPServer):
    """A real TCP syslog collector on 127.0.0.1: RFC 6587 octet-counted frames, kept in order."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FrameHandler)
        self.messages: list[bytes] = []
        self.connections = 0
        self.lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _FrameHandler(socketserver.StreamRequestHandler):
    server: SyslogCollector

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
        while True:
            digits = b""
            while True:
                char = self.rfile.read(1)
                if not char:
                    assert digits == b"", "连接在帧中途关闭"
                    return  # the sender's end of stream: closing is our acknowledgement
                if char == b" ":
                    break
                assert char.isdigit(), f"帧长度不是数字：{digits + char!r}"
                digits += char
            message = self.rfile.read(int(digits))
            assert len(message) == int(digits)
            with self.server.lock:
                self.server.messages.append(message)


@pytest.fixture
def collector() -> Iterator[SyslogCollector]:
    server = SyslogCollector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A port with nobody listening on it (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
