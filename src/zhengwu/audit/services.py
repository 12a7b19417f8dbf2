"""Writing the audit log. Every app records events through `record_event` and nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.core.crypto import sm3_hex
from zhengwu.core.errors import Conflict, DomainError
from zhengwu.core.http import client_ip

from .models import AuditChainHead, AuditCheckpoint, AuditRecord, AuditResult

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = ""  # records made by the platform itself or by an anonymous caller

HASHED_FIELDS = (
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
)


def canonical_bytes(values: dict[str, Any]) -> bytes:
    """The exact bytes that are hashed for one record (stable across SQLite and PostgreSQL)."""
    payload = {}
    for name in HASHED_FIELDS:
        value = values[name]
        if name == "occurred_at":
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        payload[name] = value
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode(
        "utf-8"
    )


def compute_hash(values: dict[str, Any]) -> str:
    return sm3_hex(canonical_bytes(values))


def record_values(record: AuditRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in HASHED_FIELDS}


def _normalise_details(details: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so what is hashed is exactly what the database gives back.
    result: dict[str, Any] = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
    return result


def record_event(
    actor: Any,
    action: str,
    *,
    object_type: str = "",
    object_id: Any = "",
    result: str = AuditResult.SUCCESS,
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    source_ip: str | None = None,
    actor_username: str | None = None,
) -> AuditRecord:
    """Append one record to the audit chain.

    `actor` is a directory User, or None for the platform itself / an anonymous caller
    (then `actor_username` may name the account that was attempted, e.g. a failed login).
    Runs inside the caller's transaction when there is one, so the record and the change it
    describes are committed together or not at all.
    """
    if result not in AuditResult.values:
        raise ValueError(f"审计结果只能是 {AuditResult.values}，当前为 {result!r}")
    username = actor_username or ""
    name = unit_name = ""
    unit_id = None
    if actor is not None and getattr(actor, "is_authenticated", False):
        username = actor.get_username()
        name = getattr(actor, "full_name", "") or ""
        unit = getattr(actor, "unit", None)
        if unit is not None:
            unit_name, unit_id = unit.name, unit.pk
    values: dict[str, Any] = {
        "actor": username[:150],
        "actor_name": name[:50],
        "actor_unit": unit_name[:100],
        "actor_unit_id": unit_id,
        "source_ip": (source_ip if source_ip is not None else client_ip(request))[:45],
        "action": action[:64],
        "object_type": object_type[:64],
        "object_id": str(object_id)[:128],
        "result": result,
        "details": _normalise_details(details),
    }
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"seq": 0, "hash": GENESIS_HASH}
        )
        values["seq"] = head.seq + 1
        values["prev_hash"] = head.hash
        values["occurred_at"] = timezone.now()
        values["hash"] = compute_hash(values)
        record = AuditRecord.objects.create(**values)
        head.seq, head.hash = record.seq, record.hash
        head.save(update_fields=["seq", "hash"])
        # Copied to the external sinks once the outermost transaction commits (see sink.py).
        from .sink import schedule_shipping

        schedule_shipping()
    return record


# --- checkpoints and retention ----------------------------------------------------------
AUDIT_ACTION_CHECKPOINT = "audit.checkpoint"
AUDIT_ACTION_PURGE = "audit.purge"



CONFLICT = ("数据已被他人修改或存在重复，请刷新后重试", None)


@contextmanager
def audited_attempt(
    actor: Any, action: str, *, object_type: str, object_id: Any = "", request: HttpRequest | None = None,
    details: dict[str, Any] | None = None, conflict: tuple[str, str | None] = CONFLICT,
) -> Iterator[None]:
    """The body of a service call in one transaction. A refusal (DomainError) rolls it back and is
    audited as a failure with its Chinese reason, its field and, when the error carries one, the
    `detail` of what really happened (an egress refusal, a source's read error); then re-raised.
    A unique-key clash (someone else was quicker) becomes a Conflict with `conflict` (message, field).
    Every app's services use it (through their `_attempt`), so refusals are audited alike."""
    try:
        try:
            with transaction.atomic():
                yield
        except IntegrityError as exc:
            raise Conflict(*conflict) from exc
    except DomainError as exc:
        failure = dict(details or {})
        failure.update({"reason": exc.message, "field": exc.field or ""})
        detail = getattr(exc, "detail", "")
        if detail:
            failure["detail"] = str(detail)[:1000]
        record_event(
            actor, action, object_type=object_type, object_id=object_id,
            result=AuditResult.FAILURE, details=failure, request=request,
        )
        raise


def _ensure_audit_admin_or_system(actor: Any) -> None:
    """Console/API callers must be the 审计管理员; `actor=None` is the platform (command, worker)."""
    if actor is None:
        return
    from zhengwu.core.roles import AdminRole, ensure_admin

    ensure_admin(actor, AdminRole.AUDIT)


def _write_checkpoint(
    *, kind: str, seq: int, hash: str, purged_before: datetime | None = None, purged_count: int = 0
) -> AuditCheckpoint:
    from . import signing

    created_at = timezone.now()
    public_key = signing.public_key_pem(create=True) or ""
    message = signing.checkpoint_message(
        seq=seq,
        hash=hash,
        kind=kind,
        created_at=created_at,
        purged_before=purged_before,
        purged_count=purged_count,
        public_key=public_key,
    )
    signature, public_key = signing.sign(message)
    return AuditCheckpoint.objects.create(
        seq=seq,
        hash=hash,
        kind=kind,
        created_at=created_at,
        purged_before=purged_before,
        purged_count=purged_count,
        signature=signature,
        public_key=public_key,
    )


def do_create_checkpoint(
    actor: Any = None, kind: str = AuditCheckpoint.KIND_PERIODIC, *, automatic: bool = False
) -> AuditCheckpoint | None:
    """Sign the current chain head (seq, hash) after checking the chain since the last checkpoint.

    A periodic checkpoint means a later wholesale rewrite of the records before it (every hash
    recomputed) is detected by `verify_chain`, because the rewriter cannot sign.

    `automatic` is the worker's run every AUDIT_CHECKPOINT_SECONDS: it returns None without
    signing when no record arrived since the latest checkpoint, and a successful run writes no
    audit record of its own (the checkpoint row is the evidence; a record per run would itself
    be a new record every minute, so the chain would never be idle). A refusal is always audited.
    """
    from .queries import verify_chain

    _ensure_audit_admin_or_system(actor)
    if kind not in (AuditCheckpoint.KIND_PERIODIC,):
        raise DomainError("只能手动创建定期检查点；清理检查点由清理流程生成", field="kind")
    if automatic:
        latest = AuditCheckpoint.objects.order_by("-seq", "-id").values_list("seq", flat=True).first()
        head_seq = AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
        if head_seq == 0 or (latest is not None and latest >= head_seq):
            return None
    verification = verify_chain(from_latest_checkpoint=True)
    if not verification.ok:
        assert verification.problem is not None
        record_event(
            actor,
            AUDIT_ACTION_CHECKPOINT,
            object_type="audit_checkpoint",
            result=AuditResult.FAILURE,
            details={"reason": verification.problem.message, "automatic": automatic},
        )
        raise DomainError(f"审计链校验未通过，拒绝签署检查点：{verification.problem.message}")
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"seq": 0, "hash": GENESIS_HASH}
        )
        checkpoint = _write_checkpoint(kind=kind, seq=head.seq, hash=head.hash)
        if not automatic:
            record_event(
                actor,
                AUDIT_ACTION_CHECKPOINT,
                object_type="audit_checkpoint",
                object_id=checkpoint.pk,
                details={"kind": kind, "seq": checkpoint.seq, "hash": checkpoint.hash},
            )
    return checkpoint


def retention_cutoff(now: datetime | None = None) -> datetime:
    """The newest instant that may be purged: now minus AUDIT_RETENTION_MONTHS calendar months."""
    return (now or timezone.now()) - relativedelta(months=settings.AUDIT_RETENTION_MONTHS)


def as_aware_datetime(value: date | datetime) -> datetime:
    """A date means the start of that day in the platform's time zone."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(datetime.combine(value, time.min))


@dataclass
class PurgeResult:
    purged_count: int
    first_seq: int | None
    last_seq: int | None
    before: datetime
    checkpoint: AuditCheckpoint | None


def _set_purge_flag(on: bool) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('zhengwu.audit_purge', %s, true)", ["on" if on else "off"])


def do_purge_records(actor: Any, before: date | datetime) -> PurgeResult:
    """Delete the records older than `before`, keeping the chain verifiable.

    Refused when `before` is later than the retention cutoff (records younger than
    AUDIT_RETENTION_MONTHS calendar months are never purged) or when the chain does not verify
    (purging would destroy the evidence). In one transaction: delete the oldest contiguous run of
    records older than `before`, write an SM2-signed purge checkpoint of the last purged record's
    (seq, hash) — the remaining chain starts after it — and record the purge itself.
    """
    from .queries import purge_preview, verify_chain

    _ensure_audit_admin_or_system(actor)
    before_dt = as_aware_datetime(before)
    cutoff = retention_cutoff()

    def refuse(message: str, field: str | None = None) -> DomainError:
        record_event(
            actor,
            AUDIT_ACTION_PURGE,
            object_type="audit_record",
            result=AuditResult.FAILURE,
            details={"before": before_dt.isoformat(), "reason": message},
        )
        return DomainError(message, field=field)

    if before_dt > cutoff:
        local_cutoff = timezone.localtime(cutoff).strftime("%Y-%m-%d %H:%M:%S")
        raise refuse(
            f"拒绝清理：审计记录至少保留 {settings.AUDIT_RETENTION_MONTHS} 个月（《网络安全法》第二十一条），"
            f"清理截止时间不能晚于 {local_cutoff}",
            field="before",
        )
    verification = verify_chain()
    if not verification.ok:
        assert verification.problem is not None
        raise refuse(f"审计链校验未通过，拒绝清理（清理会销毁证据）：{verification.problem.message}")

    try:
        with transaction.atomic():
            preview = purge_preview(before_dt)
            if not preview["count"]:
                record_event(
                    actor,
                    AUDIT_ACTION_PURGE,
                    object_type="audit_record",
                    details={"before": before_dt.isoformat(), "purged_count": 0},
                )
                return PurgeResult(0, None, None, before_dt, None)
            last = AuditRecord.objects.get(seq=preview["last_seq"])
            _set_purge_flag(True)
            deleted = AuditRecord.objects.filter(seq__lte=last.seq).delete()[0]
            _set_purge_flag(False)
            checkpoint = _write_checkpoint(
                kind=AuditCheckpoint.KIND_PURGE,
                seq=last.seq,
                hash=last.hash,
                purged_before=before_dt,
                purged_count=deleted,
            )
            record_event(
                actor,
                AUDIT_ACTION_PURGE,
                object_type="audit_record",
                details={
                    "before": before_dt.isoformat(),
                    "purged_count": deleted,
                    "first_seq": preview["first_seq"],
                    "last_seq": last.seq,
                    "checkpoint_id": checkpoint.pk,
                },
            )
    except DatabaseError as exc:
        raise refuse(f"数据库拒绝删除审计记录：{exc}") from exc
    return PurgeResult(deleted, preview["first_seq"], last.seq, before_dt, checkpoint)
