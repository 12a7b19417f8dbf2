"""External, append-only copies of the audit log: a JSON Lines file and an RFC 5424 syslog collector.

The database chain and its signed checkpoints prove that nothing changed *before* the newest
checkpoint. Someone who can write the database can still rewrite the few records after it, or
delete the tail and move the chain head back. So every record is also copied, as it is written,
to places that person cannot rewrite:

- the **JSON Lines file** (settings.AUDIT_SINK_FILE): opened with O_APPEND, one line per record
  with every hashed field, its `prev_hash` and `hash` (`entry_for`). In production it lives on a
  write-once / append-only mount (`chattr +a`, a WORM share), so lines can be added but never
  changed or removed. Each append is fsynced (AUDIT_SINK_FSYNC=always) before the lock is
  released. `zhengwu audit verify` compares the database with this file record by record.
- **syslog** (settings.AUDIT_SYSLOG = "host:port"): RFC 5424 messages over TCP with RFC 6587
  octet-counting framing, to a collector run by someone else. The collector cannot be read
  back, so the database keeps a cursor (`AuditSinkCursor`, name "syslog") of what it has
  acknowledged — by closing the connection after our end-of-stream, i.e. after reading every
  frame. A failure leaves the cursor, logs a Chinese warning, and the periodic job resends.

Shipping runs after the transaction that wrote the records commits (`schedule_shipping`, via
`transaction.on_commit`), so a rolled-back record is never shipped. If the process dies between
the commit and the shipping, nothing is lost: each shipping run copies *every* record after the
file's last sequence number (and after the syslog cursor) — the next record written, or the
worker's periodic job (`audit.ship`, every minute), catches up. Runs are serialised by a lock on
the file (flock, across processes) and a lock per process, so lines stay in sequence order.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import AuditChainHead, AuditRecord, AuditSinkCursor
from .services import HASHED_FIELDS

logger = logging.getLogger("zhengwu.audit.sink")

ENTRY_FIELDS = (*HASHED_FIELDS, "hash")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
SYSLOG_CURSOR = "syslog"
# RFC 5424 facility 13 is "log audit"; severities: notice for success, warning for failure.
SYSLOG_FACILITY = 13
SYSLOG_APP_NAME = "zhengwu"
SYSLOG_MSGID = "audit"
# SD-ID "audit@32473": 32473 is the private enterprise number reserved for examples (RFC 5612);
# a deployment with its own PEN can keep it, the collector matches on the whole SD-ID.
SYSLOG_SD_ID = "audit@32473"
INLINE_BATCH = 1000  # records copied by one inline (after-commit) run; the periodic job copies all
SYSLOG_BATCH = 500  # frames per TCP connection
SYSLOG_BACKOFF_SECONDS = 30.0  # after a failure, inline runs leave syslog to the periodic job this long

_process_lock = threading.Lock()
_syslog_retry_after = 0.0


# --- the entry: what every copy holds for one record ------------------------------------------
def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)


def entry_for(record: AuditRecord) -> dict[str, Any]:
    """The record as one JSON object: every hashed field, prev_hash and hash, time in UTC."""
    entry: dict[str, Any] = {name: getattr(record, name) for name in ENTRY_FIELDS}
    entry["occurred_at"] = format_time(record.occurred_at)
    return entry


def entry_line(entry: dict[str, Any]) -> bytes:
    text = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return text.encode("utf-8") + b"\n"


def parse_entry(line: bytes) -> dict[str, Any] | None:
    """One line of the file as an entry, or None when it is not one (a torn last write, garbage)."""
    try:
        entry = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int) or isinstance(entry["seq"], bool):
        return None
    return entry


# --- the JSON Lines file ------------------------------------------------------------------------
def sink_path() -> Path | None:
    value = str(settings.AUDIT_SINK_FILE or "").strip()
    return Path(value) if value else None


def last_shipped_seq(path: Path, *, at_most: int | None = None) -> int:
    """The sequence number of the file's last complete entry (0 for an empty or absent file).

    Read backwards from the end, so it costs the same for a file of any size. With `at_most`,
    entries above it are passed over: a line appended by hand with a huge sequence number must
    not stop the copying of real records (verify reports such a line).
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return 0
    with handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        carry = b""
        while position > 0:
            step = min(65536, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + carry
            lines = chunk.split(b"\n")
            carry = lines[0] if position > 0 else b""
            for line in reversed(lines[1:] if position > 0 else lines):
                entry = parse_entry(line) if line.strip() else None
                if entry is not None and (at_most is None or entry["seq"] <= at_most):
                    return int(entry["seq"])
    return 0


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def iter_file_entries(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(line number, entry or None for a line that is not an entry), streaming the whole file."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            yield number, parse_entry(line.rstrip(b"\n"))


def _records_after(seq: int, limit: int | None) -> list[AuditRecord]:
    queryset = AuditRecord.objects.filter(seq__gt=seq).order_by("seq")
    return list(queryset[:limit] if limit is not None else queryset)


def _head_seq() -> int:
    return int(AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0)


def ship_to_file(path: Path, *, limit: int | None) -> int:
    """Append every record after the file's last entry (at most `limit`); returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until close: one writer at a time across processes
        head = _head_seq()
        after = last_shipped_seq(path, at_most=head)
        written = 0
        needs_newline = not _ends_with_newline(path)  # a torn last line: start on a fresh one
        while limit is None or written < limit:
            batch = _records_after(after, min(INLINE_BATCH, limit - written) if limit else INLINE_BATCH)
            if not batch:
                break
            data = b"".join(entry_line(entry_for(record)) for record in batch)
            if needs_newline:
                data, needs_newline = b"\n" + data, False
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if settings.AUDIT_SINK_FSYNC == "always":
                os.fsync(fd)
            written += len(batch)
            after = batch[-1].seq
        return written
    finally:
        os.close(fd)  # releases the lock


# --- syslog (RFC 5424 over TCP, RFC 6587 octet counting) ----------------------------------------
def syslog_address() -> tuple[str, int] | None:
    value = settings.AUDIT_SYSLOG
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"ZHENGWU_AUDIT_SYSLOG 应为 主机:端口，当前为 {value!r}")
    return host, int(port)


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _hostname() -> str:
    name = "".join(ch for ch in socket.gethostname() if 33 <= ord(ch) <= 126)
    return name[:255] or "-"


def syslog_message(entry: dict[str, Any]) -> bytes:
    """One RFC 5424 message; MSG is the same JSON object as the file's line (UTF-8, with BOM)."""
    severity = 5 if entry.get("result") == "success" else 4
    header = (
        f"<{SYSLOG_FACILITY * 8 + severity}>1 {entry['occurred_at']} {_hostname()} {SYSLOG_APP_NAME} "
        f"{os.getpid()} {SYSLOG_MSGID} "
        f'[{SYSLOG_SD_ID} seq="{entry["seq"]}" hash="{_sd_escape(str(entry["hash"]))}"'
        f' action="{_sd_escape(str(entry["action"]))}"] '
    )
    return header.encode("utf-8") + b"\xef\xbb\xbf" + entry_line(entry).rstrip(b"\n")


def syslog_frame(entry: dict[str, Any]) -> bytes:
    message = syslog_message(entry)
    return f"{len(message)} ".encode("ascii") + message


def _send_frames(address: tuple[str, int], frames: list[bytes]) -> None:
    """Send and wait until the collector has read everything and closed (its acknowledgement)."""
    timeout = settings.AUDIT_SYSLOG_TIMEOUT_SECONDS
    with socket.create_connection(address, timeout=timeout) as sock:
        # A collector that already hung up would never read what we send.
        readable, _, _ = select.select([sock], [], [], 0)
        if readable and sock.recv(1, socket.MSG_PEEK) == b"":
            raise ConnectionError("收集端在接收前关闭了连接")
        sock.sendall(b"".join(frames))
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass


def ship_to_syslog(*, limit: int | None) -> int:
    """Send every record after the syslog cursor; returns how many were acknowledged.

    Raises OSError when the collector cannot be reached or does not acknowledge; the cursor then
    stays at the last acknowledged batch.
    """
    address = syslog_address()
    if address is None:
        return 0
    cursor, _ = AuditSinkCursor.objects.get_or_create(name=SYSLOG_CURSOR)
    sent = 0
    after = cursor.seq
    while limit is None or sent < limit:
        batch = _records_after(after, min(SYSLOG_BATCH, limit - sent) if limit else SYSLOG_BATCH)
        if not batch:
            break
        _send_frames(address, [syslog_frame(entry_for(record)) for record in batch])
        # Only forward: a concurrent shipper that got further is not moved back.
        AuditSinkCursor.objects.filter(name=SYSLOG_CURSOR, seq__lt=batch[-1].seq).update(
            seq=batch[-1].seq, updated_at=timezone.now(), last_error="", failing_since=None
        )
        sent += len(batch)
        after = batch[-1].seq
    return sent


def _note_syslog_failure(exc: Exception) -> None:
    now = timezone.now()
    reason = f"{type(exc).__name__}: {exc}"[:1000]
    AuditSinkCursor.objects.filter(name=SYSLOG_CURSOR).update(last_error=reason, updated_at=now)
    AuditSinkCursor.objects.filter(name=SYSLOG_CURSOR, failing_since__isnull=True).update(failing_since=now)


# --- one shipping run ---------------------------------------------------------------------------
@dataclass
class ShippingResult:
    file_written: int = 0
    syslog_sent: int = 0
    errors: list[str] = field(default_factory=list)


def ship_pending(*, limit: int | None = None, retry_syslog: bool = True) -> ShippingResult:
    """Copy every record not yet in each configured sink. Never raises: failures are logged.

    `limit` caps the records per sink (the inline run after a commit); None copies everything
    (the periodic job, `zhengwu audit ship`). With `retry_syslog` false, a collector that failed
    within the last SYSLOG_BACKOFF_SECONDS is left to the periodic job, so requests do not wait
    on a dead collector one by one.
    """
    global _syslog_retry_after
    result = ShippingResult()
    with _process_lock:
        path = sink_path()
        if path is not None:
            try:
                result.file_written = ship_to_file(path, limit=limit)
            except Exception as exc:
                message = (
                    f"审计记录写入外部副本文件 {path} 失败：{exc}；记录仍在数据库中，下次写入或定期任务将补写"
                )
                logger.error(message)
                result.errors.append(message)
        try:
            address = syslog_address()
        except ValueError as exc:
            address = None
            logger.error(str(exc))
            result.errors.append(str(exc))
        if address is not None and (retry_syslog or time.monotonic() >= _syslog_retry_after):
            try:
                result.syslog_sent = ship_to_syslog(limit=limit)
                _syslog_retry_after = 0.0
            except Exception as exc:
                _syslog_retry_after = time.monotonic() + SYSLOG_BACKOFF_SECONDS
                message = (
                    f"审计记录发送到 syslog 收集端 {address[0]}:{address[1]} 失败：{exc}；"
                    "已发送进度保留，定期任务将从未送达的记录起重发"
                )
                logger.warning(message)
                result.errors.append(message)
                try:
                    _note_syslog_failure(exc)
                except Exception:  # the database itself is failing; the log line above remains
                    logger.exception("记录 syslog 发送失败原因时出错")
    return result


def _ship_after_commit() -> None:
    try:
        ship_pending(limit=INLINE_BATCH, retry_syslog=False)
    except Exception:  # shipping must never break the request that wrote the record
        logger.exception("审计记录外部副本写入出错，定期任务将补写")


def schedule_shipping() -> None:
    """Ask for the pending records to be shipped once the current transaction commits.

    One callback per transaction is enough (it copies every pending record), so a transaction
    writing many records registers it once. A rolled-back transaction drops the callback with
    it, so nothing it wrote is shipped.
    """
    if sink_path() is None and not settings.AUDIT_SYSLOG:
        return
    from django.db import connection

    if any(item[1] is _ship_after_commit for item in getattr(connection, "run_on_commit", [])):
        return
    transaction.on_commit(_ship_after_commit, robust=True)
