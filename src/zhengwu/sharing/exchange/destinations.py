"""The two push channels' wire: a signed webhook POST, and writes into the consumer's database.

Both connect only to the address `core.egress.resolve_destination` chose at that moment (checked
at registration and again before every delivery, so an address later removed from the allowlist
is refused at delivery); every failure becomes the one egress message (`EgressRefused`), with what
really happened in its `detail` for the log and the audit record.

Webhook: `POST <url>` with a JSON body and the headers
  X-Zhengwu-Delivery   the delivery id (the same on every retry: consumers de-duplicate by it)
  X-Zhengwu-Timestamp  Unix seconds of this attempt
  X-Zhengwu-Signature  hex HMAC-SM3(secret, timestamp + "." + body)
A 2xx answer is success; anything else, or no answer, is a failure to retry.

库表交换: the table (granted items as text, `_zw_key` primary key, `_zw_version`, `_zw_synced_at`)
is created if missing; one step's upserts and deletes and the bookkeeping row of
`_zw_exchange_state` (subscription id → version) are written in ONE transaction, so a repeated
delivery of a step already applied is a no-op and a failure half-way leaves the table as it was.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from zhengwu.core import egress
from zhengwu.core.crypto import hmac_sm3
from zhengwu.core.errors import DomainError

from .changes import KEY_COLUMN

WEBHOOK_PURPOSE = "sharing.exchange.webhook"
DATABASE_PURPOSE = "sharing.exchange.database"
STATE_TABLE = "_zw_exchange_state"
VERSION_COLUMN = "_zw_version"
SYNCED_COLUMN = "_zw_synced_at"
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
WRITE_CHUNK = 2000


# --- webhook -----------------------------------------------------------------------------------------


def check_webhook_url(url: str) -> tuple[str, int, str]:
    """(host, port, url) of a webhook address, or a DomainError naming `webhook_url`."""
    text = (url or "").strip()
    if not text:
        raise DomainError("请填写推送地址", "webhook_url")
    if len(text) > 500:
        raise DomainError("推送地址不能超过 500 个字符", "webhook_url")
    if any(ord(ch) < 33 for ch in text):
        raise DomainError("推送地址不能含空格或控制字符", "webhook_url")
    parts = urlsplit(text)
    schemes = ("https",) if getattr(settings, "EXCHANGE_WEBHOOK_HTTPS_ONLY", False) else ("http", "https")
    if parts.scheme not in schemes:
        raise DomainError(f"推送地址必须以 {' 或 '.join(s + '://' for s in schemes)} 开头", "webhook_url")
    if parts.username or parts.password:
        raise DomainError("推送地址不能包含用户名或密码", "webhook_url")
    if parts.fragment:
        raise DomainError("推送地址不能带 # 片段", "webhook_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DomainError("推送地址中的端口不正确", "webhook_url") from None
    if not parts.hostname:
        raise DomainError("推送地址必须写明主机", "webhook_url")
    return parts.hostname, port, text


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac_sm3(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body).hex()


def post_webhook(url: str, secret: str, delivery_id: str, event: str, body: bytes) -> int:
    """POST one signed page; the HTTP status. EgressRefused when the address is refused or the
    connection fails."""
    host, port, _ = check_webhook_url(url)
    destination = egress.resolve_destination(host, port, purpose=WEBHOOK_PURPOSE, field="webhook_url")
    timeout = float(getattr(settings, "EXCHANGE_WEBHOOK_TIMEOUT_SECONDS", 30))
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "zhengwu-exchange/1",
        "X-Zhengwu-Delivery": delivery_id, "X-Zhengwu-Event": event, "X-Zhengwu-Timestamp": timestamp,
        "X-Zhengwu-Signature": signature(secret, timestamp, body),
    }
    try:
        return egress.http_post(url, destination, body, headers, timeout=timeout)
    except (OSError, http.client.HTTPException) as exc:
        raise egress.refuse(
            WEBHOOK_PURPOSE, f"推送到 {destination.ip}:{destination.port} 失败：{egress.describe(exc)}", field="webhook_url"
        ) from None


# --- 库表交换 -------------------------------------------------------------------------------------------


def check_table_name(name: str) -> str:
    text = (name or "").strip()
    if not _IDENTIFIER.match(text):
        raise DomainError("表名只能由字母开头，包含字母、数字和下划线，最长 63 个字符", "db_table")
    if text.lower().startswith("_zw_") or text.lower() == STATE_TABLE:
        raise DomainError("表名不能以 _zw_ 开头（平台的记账表使用该前缀）", "db_table")
    return text


@dataclass(frozen=True)
class DatabaseTarget:
    engine: str  # "postgresql" | "mysql"
    host: str
    port: int
    database: str
    user: str
    password: str
    table: str


def _quote(engine: str, name: str) -> str:
    if engine == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def connect(target: DatabaseTarget) -> Any:
    """A DB-API connection (autocommit off) to the checked address of the target."""
    destination = egress.resolve_destination(
        target.host, target.port, purpose=DATABASE_PURPOSE, database=target.database, field="db_host"
    )
    try:
        if target.engine == "postgresql":
            import psycopg

            return psycopg.connect(
                host=destination.host, hostaddr=destination.ip, port=destination.port, dbname=target.database,
                user=target.user, password=target.password, connect_timeout=10, autocommit=False,
            )
        import pymysql

        return pymysql.connect(
            host=destination.ip, port=destination.port, user=target.user, password=target.password,
            database=target.database, connect_timeout=10, read_timeout=600, write_timeout=600,
            autocommit=False, local_infile=False, charset="utf8mb4",
        )
    except Exception as exc:
        raise egress.refuse(
            DATABASE_PURPOSE,
            f"连接 {target.engine}://{destination.ip}:{destination.port}/{target.database} 失败：{egress.describe(exc)}",
            field="db_host",
        ) from None


def _ensure_tables(conn: Any, target: DatabaseTarget, items: Sequence[str]) -> None:
    q = lambda n: _quote(target.engine, n)  # noqa: E731
    text = "LONGTEXT" if target.engine == "mysql" else "TEXT"
    stamp = "DATETIME(6)" if target.engine == "mysql" else "TIMESTAMPTZ"
    columns = ", ".join(f"{q(c)} {text} NULL" for c in items)
    suffix = " DEFAULT CHARSET=utf8mb4" if target.engine == "mysql" else ""
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {q(target.table)} ({q(KEY_COLUMN)} VARCHAR(64) NOT NULL PRIMARY KEY, "
            f"{columns}, {q(VERSION_COLUMN)} BIGINT NOT NULL, {q(SYNCED_COLUMN)} {stamp} NOT NULL){suffix}"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {q(STATE_TABLE)} (subscription_id BIGINT NOT NULL, table_name VARCHAR(64) NOT NULL, "
            f"version BIGINT NOT NULL, delivery_id VARCHAR(40) NOT NULL, updated_at {stamp} NOT NULL, "
            f"PRIMARY KEY (subscription_id, table_name)){suffix}"
        )
    conn.commit()


def _chunks(rows: Sequence[Any], size: int = WRITE_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def write_step(
    target: DatabaseTarget, subscription_id: int, delivery_id: str, items: Sequence[str], to_version: int,
    upserts: Iterable[dict[str, Any]], deletes: Sequence[str], *, replace: bool,
) -> bool:
    """Apply one step in one transaction; False when `_zw_exchange_state` shows it was already
    applied (a repeated delivery). `replace`: the table's content becomes exactly `upserts`
    (the first delivery, a resync)."""
    conn = connect(target)
    try:
        try:
            _ensure_tables(conn, target, items)
            return _apply(conn, target, subscription_id, delivery_id, items, to_version, upserts, deletes, replace)
        except egress.EgressRefused:
            raise
        except Exception as exc:
            with contextlib.suppress(Exception):  # the connection is gone: the transaction went with it
                conn.rollback()
            raise egress.refuse(
                DATABASE_PURPOSE, f"写入 {target.engine} 表 {target.table} 失败：{egress.describe(exc)}", field="db_table"
            ) from None
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def _apply(
    conn: Any, target: DatabaseTarget, subscription_id: int, delivery_id: str, items: Sequence[str], to_version: int,
    upserts: Iterable[dict[str, Any]], deletes: Sequence[str], replace: bool,
) -> bool:
    q = lambda n: _quote(target.engine, n)  # noqa: E731
    table = q(target.table)
    now = datetime.now(UTC)
    stamp: Any = now.replace(tzinfo=None) if target.engine == "mysql" else now
    columns = [KEY_COLUMN, *items, VERSION_COLUMN, SYNCED_COLUMN]
    names = ", ".join(q(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    if target.engine == "mysql":
        update = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in columns[1:])
        upsert_sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) ON DUPLICATE KEY UPDATE {update}"  # noqa: S608 (quoted identifiers)
    else:
        update = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in columns[1:])
        upsert_sql = (
            f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608 (quoted identifiers, values bound)
            f"ON CONFLICT ({q(KEY_COLUMN)}) DO UPDATE SET {update}"
        )
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT version FROM {q(STATE_TABLE)} WHERE subscription_id = %s AND table_name = %s FOR UPDATE",  # noqa: S608
            (subscription_id, target.table),
        )
        found = cur.fetchone()
        if found is not None and int(found[0]) >= to_version:
            conn.rollback()
            return False
        if replace:
            cur.execute(f"DELETE FROM {table}")  # noqa: S608 (not TRUNCATE: MySQL would commit it on its own)
        for chunk in _chunks(list(deletes)):
            cur.execute(
                f"DELETE FROM {table} WHERE {q(KEY_COLUMN)} IN ({', '.join(['%s'] * len(chunk))})",  # noqa: S608
                tuple(chunk),
            )
        values = ((row[KEY_COLUMN], *[_text(row.get(c)) for c in items], to_version, stamp) for row in upserts)
        while chunk := list(itertools.islice(values, WRITE_CHUNK)):  # streamed: a snapshot is never held whole
            cur.executemany(upsert_sql, chunk)
        if found is None:
            cur.execute(
                f"INSERT INTO {q(STATE_TABLE)} (subscription_id, table_name, version, delivery_id, updated_at) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s)",
                (subscription_id, target.table, to_version, delivery_id, stamp),
            )
        else:
            cur.execute(
                f"UPDATE {q(STATE_TABLE)} SET version = %s, delivery_id = %s, updated_at = %s "  # noqa: S608
                "WHERE subscription_id = %s AND table_name = %s",
                (to_version, delivery_id, stamp, subscription_id, target.table),
            )
    conn.commit()
    return True


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def probe_database(target: DatabaseTarget, items: Sequence[str]) -> None:
    """A test delivery: connect and make sure the tables exist (no data written)."""
    conn = connect(target)
    try:
        try:
            _ensure_tables(conn, target, items)
        except Exception as exc:
            raise egress.refuse(
                DATABASE_PURPOSE, f"在 {target.engine} 建表 {target.table} 失败：{egress.describe(exc)}", field="db_table"
            ) from None
    finally:
        conn.close()
