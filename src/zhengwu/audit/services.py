"""Writing the audit log. Every app records events through `record_event` and nothing else."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.core.crypto import sm3_hex
from zhengwu.core.http import client_ip

from .models import AuditChainHead, AuditRecord, AuditResult

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
            value = value.astimezone(timezone.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
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
    return record
