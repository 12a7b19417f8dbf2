"""State changes of the data gateway.

Staff actions (`do_*`: permission check, one transaction, audit record, Chinese refusals audited):
- a unit's 数据管理员 or 应用系统管理员 creates and revokes its API keys (the secret shown once) and
  sets source-address limits of its keys and SERVICE clients;
- the provider unit's 共享审核员 sets a grant's rate limit and daily quota.

What every call writes (kept cheap, no lock): `record_call` inserts one GatewayCall and, for the
persons / enterprises in the returned rows, their DataUse rows (a keyed hash of the identity
number or credit code, never the number). Tamper evidence comes later and in bulk:
`do_seal_calls` (every minute) digests the calls since the last seal (SM3 over their rows in id
order) into one audit-chain record and adds them to the hourly statistics; `verify_seals`
recomputes every seal.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import audited_attempt, record_event
from zhengwu.core.crypto import encrypt_field, field_key, hmac_sm3, sm3
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied
from zhengwu.core.roles import AdminRole, is_admin
from zhengwu.core.validators import USCC_ALPHABET, check_resident_id, check_uscc
from zhengwu.directory.models import Unit
from zhengwu.sharing.models import ShareGrant
from zhengwu.sharing.services import _is_staff, is_share_reviewer, is_unit_data_admin

from . import auth
from .models import (
    CallSeal,
    CallStat,
    ClientSourceLimit,
    DataUse,
    GatewayCall,
    GatewayKey,
    GrantLimits,
    Operation,
    SubjectKind,
)

LATENCY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500)
SEAL_SETTLE_SECONDS = 2  # calls younger than this are left to the next seal (their insert may not be committed)
MAX_RATE = 100_000
MAX_QUOTA = 100_000_000


def _attempt(actor: Any, action: str, object_id: Any = "", request: HttpRequest | None = None,
             details: dict[str, Any] | None = None, *, object_type: str) -> Any:
    return audited_attempt(actor, action, object_type=object_type, object_id=object_id, request=request, details=details)


# --- who may ------------------------------------------------------------------------------------------


def manages_unit_systems(actor: Any, unit: Unit | None = None) -> bool:
    """The unit's 数据管理员 or 应用系统管理员 (default: the actor's own unit)."""
    from zhengwu.identity.oidc.services import is_app_admin

    if not _is_staff(actor):
        return False
    unit = unit or actor.unit
    if unit.pk == actor.unit_id and is_unit_data_admin(actor):
        return True
    return is_app_admin(actor, unit)


def _ensure_manager(actor: Any, unit: Unit) -> None:
    if not manages_unit_systems(actor, unit):
        raise PermissionDenied(f"只有{unit.name}的数据管理员或应用系统管理员可以管理本单位的网关凭证")


def _clean_sources(text: str) -> str:
    text = (text or "").strip()
    if len(text) > 2000:
        raise DomainError("允许的来源地址：最多 2000 个字符", "allowed_sources")
    try:
        networks = auth.parse_sources(text)
    except ValueError as exc:
        raise DomainError(f"允许的来源地址：“{str(exc)[:50]}”不是有效的 IP 地址或 CIDR 网段", "allowed_sources") from None
    if len(networks) > 50:
        raise DomainError("允许的来源地址：最多 50 个网段", "allowed_sources")
    return "\n".join(str(n) for n in networks)


# --- keys ----------------------------------------------------------------------------------------------


def do_create_gateway_key(
    actor: Any, *, name: str, allowed_sources: str = "", unit: Unit | None = None, request: HttpRequest | None = None
) -> tuple[GatewayKey, str]:
    """A new API key for a system of the unit; returns the key and its secret (shown once)."""
    unit = unit or getattr(actor, "unit", None)
    with _attempt(actor, "gateway.key.create", "", request, {"name": (name or "")[:100]}, object_type="gateway_key"):
        if unit is None:
            raise PermissionDenied("只有单位工作人员可以创建网关密钥")
        _ensure_manager(actor, unit)
        name = (name or "").strip()
        if not 2 <= len(name) <= 100:
            raise DomainError("名称：须为 2 到 100 个字符（写明使用此密钥的系统）", "name")
        sources = _clean_sources(allowed_sources)
        key_id = "gk_" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        key = GatewayKey.objects.create(
            unit=unit, name=name, key_id=key_id, secret_encrypted=encrypt_field(secret, f"gateway-key:{key_id}"),
            allowed_sources=sources, created_by=actor,
        )
        record_event(actor, "gateway.key.create", object_type="gateway_key", object_id=key_id,
                     details={"name": name, "unit": unit.name, "allowed_sources": sources}, request=request)
    return key, secret


def do_revoke_gateway_key(actor: Any, key: GatewayKey | int, *, request: HttpRequest | None = None) -> GatewayKey:
    pk = key.pk if isinstance(key, GatewayKey) else key
    with _attempt(actor, "gateway.key.revoke", pk, request, object_type="gateway_key"):
        found = GatewayKey.objects.select_for_update().select_related("unit").filter(pk=pk).first()
        if found is None:
            raise NotFound("网关密钥不存在", "key")
        _ensure_manager(actor, found.unit)
        if found.revoked_at is not None:
            raise DomainError("该密钥已经吊销", "key")
        found.revoked_at, found.revoked_by = timezone.now(), actor
        found.save(update_fields=["revoked_at", "revoked_by"])
        record_event(actor, "gateway.key.revoke", object_type="gateway_key", object_id=found.key_id,
                     details={"name": found.name, "unit": found.unit.name}, request=request)
    return found


def do_set_client_sources(
    actor: Any, registration_id: int, allowed_sources: str, *, request: HttpRequest | None = None
) -> ClientSourceLimit:
    """Source-address limits of one of the unit's SERVICE clients."""
    from zhengwu.identity.oidc.models import ClientKind, ClientRegistration

    with _attempt(actor, "gateway.sources.set", registration_id, request, object_type="gateway_client"):
        registration = ClientRegistration.objects.select_related("unit").filter(pk=registration_id).first()
        if registration is None or registration.kind != ClientKind.SERVICE:
            raise NotFound("服务客户端不存在", "registration")
        _ensure_manager(actor, registration.unit)
        sources = _clean_sources(allowed_sources)
        limit, _ = ClientSourceLimit.objects.update_or_create(
            registration=registration, defaults={"allowed_sources": sources, "updated_by": actor}
        )
        record_event(actor, "gateway.sources.set", object_type="gateway_client", object_id=registration.pk,
                     details={"name": registration.name, "allowed_sources": sources}, request=request)
    return limit


def do_set_key_sources(actor: Any, key: GatewayKey | int, allowed_sources: str, *, request: HttpRequest | None = None) -> GatewayKey:
    pk = key.pk if isinstance(key, GatewayKey) else key
    with _attempt(actor, "gateway.sources.set", pk, request, object_type="gateway_key"):
        found = GatewayKey.objects.select_for_update().select_related("unit").filter(pk=pk).first()
        if found is None:
            raise NotFound("网关密钥不存在", "key")
        _ensure_manager(actor, found.unit)
        found.allowed_sources = _clean_sources(allowed_sources)
        found.save(update_fields=["allowed_sources"])
        record_event(actor, "gateway.sources.set", object_type="gateway_key", object_id=found.key_id,
                     details={"name": found.name, "allowed_sources": found.allowed_sources}, request=request)
    return found


# --- grant limits --------------------------------------------------------------------------------------


def _positive(value: Any, label: str, field: str, maximum: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError(f"{label}：必须是正整数", field) from None
    if not 1 <= number <= maximum:
        raise DomainError(f"{label}：必须在 1 到 {maximum} 之间", field)
    return number


def do_set_grant_limits(
    actor: Any, grant: ShareGrant | int, *, rate_per_minute: Any, daily_quota: Any, request: HttpRequest | None = None
) -> GrantLimits:
    """The provider's 共享审核员 sets how often the consumer's systems may call on this grant."""
    pk = grant.pk if isinstance(grant, ShareGrant) else grant
    with _attempt(actor, "gateway.limits.set", pk, request, object_type="share_grant"):
        found = ShareGrant.objects.select_related("provider", "consumer", "entry").filter(pk=pk).first()
        if found is None:
            raise NotFound("共享授权不存在", "grant")
        if not (_is_staff(actor) and is_share_reviewer(actor, found.provider)):
            raise PermissionDenied(f"只有提供单位（{found.provider.name}）的共享审核员可以设置调用限制")
        rate = _positive(rate_per_minute, "每分钟调用上限", "rate_per_minute", MAX_RATE)
        quota = _positive(daily_quota, "每日调用配额", "daily_quota", MAX_QUOTA)
        if quota < rate:
            raise DomainError("每日调用配额：不能小于每分钟调用上限", "daily_quota")
        limits, _ = GrantLimits.objects.update_or_create(
            grant=found, defaults={"rate_per_minute": rate, "daily_quota": quota, "updated_by": actor}
        )
        record_event(actor, "gateway.limits.set", object_type="share_grant", object_id=found.pk,
                     details={"resource": found.entry.resource_code, "consumer": found.consumer.name,
                              "rate_per_minute": rate, "daily_quota": quota}, request=request)
    return limits


# --- calls and data use --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _subject_key() -> bytes:
    """The key of the data-use hashes, derived from the platform's field key (never the field key itself)."""
    return sm3(b"zhengwu-gateway-data-use:" + field_key())


def subject_hash(kind: str, value: str) -> str:
    """HMAC-SM3 of a resident identity number / credit code (upper case, trimmed): the same person
    gives the same hash in every call, and nobody without the key can test a guess against it."""
    return hmac_sm3(_subject_key(), f"{kind}:{value.strip().upper()}".encode()).hex()


@dataclass
class CallFacts:
    """What one call did, filled in by the view as it goes."""

    operation: str
    started: float
    remote_addr: str = ""
    caller: Any = None
    view: Any = None
    resource_code: str = ""
    case_ref: str = ""
    items: list[str] | None = None
    row_count: int = 0
    subjects: list[tuple[str, str]] | None = None  # (kind, hash)
    keys_touched: int | None = None  # default: the number of subjects
    status: int = 200
    error: str = ""


def subjects_of(view: Any, rows: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """The (kind, hash) of each person / enterprise in raw rows (before masking), once each."""
    found: dict[tuple[str, str], None] = {}
    columns = list(view.subject_columns.items()) if view is not None else []
    for row in rows:
        for name, kind in columns:
            value = row.get(name)
            if value not in (None, ""):
                found[(kind, subject_hash(kind, str(value)))] = None
    return list(found)


_CALL_COLUMNS = (
    "at", "registration_id", "key_id", "client_name", "unit_id", "unit_name", "grant_id", "resource_code",
    "provider_id_value", "purpose", "case_ref", "operation", "items", "row_count", "keys_touched", "status", "error",
    "duration_ms", "remote_addr",
)
_USE_COLUMNS = ("subject_hash", "subject_kind", "call_id", "at", "unit_name", "client_name", "grant_id", "resource_code",
                "resource_name", "purpose", "case_ref", "operation")


def record_call(facts: CallFacts, duration_ms: float) -> GatewayCall:
    """Log the call, its data uses and count it on its grant's windows. On PostgreSQL that is ONE
    statement (data-modifying CTEs: the call, its DataUse rows, the two window upserts), atomic by
    itself, with no lock beyond the counter rows' own; elsewhere a short transaction doing the same.
    The window counts it returns feed enforcement.check_limits."""
    from django.db import connection

    from . import enforcement

    caller, view = facts.caller, facts.view
    now = timezone.now()
    call = GatewayCall(
        at=now, registration_id=getattr(caller, "registration_id", None), key_id=getattr(caller, "key_id", None),
        client_name=(getattr(caller, "client_name", "") or "")[:100], unit_id=getattr(caller, "unit_id", None),
        unit_name=(getattr(caller, "unit_name", "") or "")[:100], grant_id=getattr(view, "grant_id", None),
        resource_code=(getattr(view, "code", "") or facts.resource_code)[:64],
        provider_id_value=getattr(view, "provider_id", None), purpose=(getattr(view, "purpose", "") or "")[:300],
        case_ref=facts.case_ref[:64], operation=facts.operation, items=facts.items or [], row_count=facts.row_count,
        keys_touched=facts.keys_touched if facts.keys_touched is not None else len(facts.subjects or ()),
        status=facts.status, error=facts.error[:300], duration_ms=round(duration_ms, 3), remote_addr=facts.remote_addr[:45],
    )
    subjects = list(facts.subjects or ()) if view is not None else []
    if connection.vendor != "postgresql":
        with transaction.atomic():
            call.save(force_insert=True)
            if subjects:
                add_data_uses(call, view, subjects)
            if call.grant_id:
                sql, count_params = enforcement.count_sql(call.grant_id, now)
                with connection.cursor() as cursor:
                    cursor.execute(sql, count_params)
                    enforcement.note_counts(call.grant_id, cursor.fetchall())
        return call
    values = [getattr(call, c) if c != "items" else json.dumps(call.items, ensure_ascii=False) for c in _CALL_COLUMNS]
    marks = ", ".join("%s::jsonb" if c == "items" else "%s" for c in _CALL_COLUMNS)
    calls_table, uses_table = GatewayCall._meta.db_table, DataUse._meta.db_table
    parts = [f"c AS (INSERT INTO {calls_table} ({', '.join(_CALL_COLUMNS)}) VALUES ({marks}) RETURNING id, at)"]  # noqa: S608
    params: list[Any] = list(values)
    if subjects:
        rows = ", ".join(["(%s, %s)"] * len(subjects))
        fixed = ", ".join(["%s"] * 8)
        parts.append(
            f"u AS (INSERT INTO {uses_table} ({', '.join(_USE_COLUMNS)}) "  # noqa: S608 (model tables, parameters)
            f"SELECT v.h, v.k, c.id, c.at, {fixed} FROM c, (VALUES {rows}) AS v(h, k))"
        )
        params += [call.unit_name, call.client_name, view.grant_id, view.code, view.name[:200], call.purpose,
                   call.case_ref, call.operation]
        for kind, digest in subjects:
            params += [digest, kind]
    if call.grant_id:
        count, window_params = enforcement.count_sql(call.grant_id, now)
        parts.append(f"n AS ({count})")
        params += window_params
        tail = "SELECT (SELECT id FROM c), n.period, n.started, n.count FROM n"
    else:
        tail = "SELECT id, NULL, NULL, NULL FROM c"
    with connection.cursor() as cursor:
        cursor.execute("WITH " + ", ".join(parts) + " " + tail, params)
        fetched = cursor.fetchall()
    call.pk = fetched[0][0]
    call._state.adding = False
    if call.grant_id:
        enforcement.note_counts(call.grant_id, [(p, s, n) for _, p, s, n in fetched])
    return call


def record_delivery(
    grant: Any, *, operation: str, channel: str, row_count: int, subjects: list[tuple[str, str]], duration_ms: float = 0.0,
) -> GatewayCall:
    """An exchange delivery (a webhook step or a table write that reached the consumer) in the call
    log, with one DataUse row per person / enterprise whose rows it carried — so 数据使用记录 lists
    pushed copies as it lists reads. Sealed and counted in the statistics like every call; not
    counted against the grant's rate windows (the platform, not the consumer, started it)."""
    from types import SimpleNamespace

    entry = grant.entry
    with transaction.atomic():
        call = GatewayCall.objects.create(
            at=timezone.now(), client_name=channel[:100], unit_id=grant.consumer_id, unit_name=grant.consumer.name[:100],
            grant_id=grant.pk, resource_code=entry.resource_code[:64], provider_id_value=entry.provider_id,
            purpose=str(grant.request.purpose)[:300], case_ref="", operation=operation, items=list(grant.items),
            row_count=row_count, keys_touched=len(subjects), status=200, error="", duration_ms=round(duration_ms, 3),
            remote_addr="",
        )
        if subjects:
            add_data_uses(call, SimpleNamespace(grant_id=grant.pk, code=entry.resource_code, name=entry.name), subjects)
    return call


def add_data_uses(call: GatewayCall, view: Any, subjects: Iterable[tuple[str, str]]) -> int:
    rows = [
        DataUse(subject_hash=h, subject_kind=kind, call=call, at=call.at, unit_name=call.unit_name,
                client_name=call.client_name, grant_id=view.grant_id, resource_code=view.code,
                resource_name=view.name[:200], purpose=call.purpose, case_ref=call.case_ref, operation=call.operation)
        for kind, h in subjects
    ]
    DataUse.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _subject(identifier: str) -> tuple[str, str]:
    text = (identifier or "").strip().upper()
    if len(text) == 18:
        person = check_resident_id(text)
        if person.ok:
            return SubjectKind.PERSON, person.normalized or text
        enterprise = check_uscc(text)
        if enterprise.ok:
            return SubjectKind.ENTERPRISE, enterprise.normalized or text
        # the reason of what the input looks like: a credit code is written in its own alphabet and
        # has letters; anything else is told what an identity number needs
        looks_like_credit_code = not text[:17].isdigit() and all(c in USCC_ALPHABET for c in text)
        reason = enterprise.reason if looks_like_credit_code else person.reason
        raise DomainError(f"证件号码：{reason}", "identifier")
    raise DomainError("证件号码：请输入 18 位公民身份号码或统一社会信用代码", "identifier")


def do_query_data_use(actor: Any, identifier: str, *, request: HttpRequest | None = None) -> tuple[str, QuerySet[DataUse]]:
    """The 审计管理员's look-up: every read of this person's / enterprise's records, newest first.
    The look-up itself is audited (with the kind and a masked number, never the clear number)."""
    if not is_admin(actor, AdminRole.AUDIT):
        raise PermissionDenied("只有审计管理员可以查询数据使用记录")
    try:
        kind, value = _subject(identifier)
    except DomainError as exc:
        # a refused look-up is audited too, with the reason and the input's length, never the input
        record_event(actor, "gateway.data_use.query", object_type="data_use", result=AuditResult.FAILURE,
                     details={"reason": exc.message, "length": len(identifier or "")}, request=request)
        raise
    from .queries import data_use_of_subject

    masked = value[:3] + "*" * 11 + value[-4:]
    uses = data_use_of_subject(kind, value)
    record_event(actor, "gateway.data_use.query", object_type="data_use", object_id=masked,
                 details={"kind": kind, "subject": masked, "found": uses.count()}, request=request)
    return kind, uses


# --- seals and statistics ------------------------------------------------------------------------------

SEALED_FIELDS = (
    "id", "at", "registration_id", "key_id", "unit_id", "grant_id", "resource_code", "purpose", "case_ref",
    "operation", "items", "row_count", "keys_touched", "status", "error", "duration_ms", "remote_addr",
)


def _row_bytes(values: dict[str, Any]) -> bytes:
    payload = dict(values)
    payload["at"] = values["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payload["duration_ms"] = f"{float(values['duration_ms']):.3f}"
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8") + b"\n"


def digest_calls(first_id: int, last_id: int) -> tuple[str, int]:
    """SM3 over the calls first_id..last_id in id order, and their count."""
    from cryptography.hazmat.primitives import hashes

    digest = hashes.Hash(hashes.SM3())
    count = 0
    rows = GatewayCall.objects.filter(id__gte=first_id, id__lte=last_id).order_by("id").values(*SEALED_FIELDS)
    for values in rows.iterator(chunk_size=5000):
        digest.update(_row_bytes(values))
        count += 1
    return digest.finalize().hex(), count


def _bucket_index(ms: float) -> int:
    for i, bound in enumerate(LATENCY_BUCKETS_MS):
        if ms <= bound:
            return i
    return len(LATENCY_BUCKETS_MS)


def _roll_up(first_id: int, last_id: int) -> None:
    cells: dict[tuple[Any, ...], list[Any]] = {}
    rows = GatewayCall.objects.filter(id__gte=first_id, id__lte=last_id).values_list(
        "at", "resource_code", "provider_id_value", "unit_id", "operation", "status", "duration_ms"
    )
    for at, code, provider, unit, operation, status, ms in rows.iterator(chunk_size=5000):
        hour = at.replace(minute=0, second=0, microsecond=0)
        key = (hour, code or "", unit or 0, operation, f"{status // 100}xx")
        cell = cells.setdefault(key, [provider or 0, 0, 0.0, [0] * (len(LATENCY_BUCKETS_MS) + 1)])
        cell[1] += 1
        cell[2] += ms
        cell[3][_bucket_index(ms)] += 1
    for (hour, code, unit, operation, status_class), (provider, calls, total, buckets) in cells.items():
        stat, created = CallStat.objects.select_for_update().get_or_create(
            hour=hour, resource_code=code, unit_id_value=unit, operation=operation, status_class=status_class,
            defaults={"provider_id_value": provider, "calls": calls, "duration_ms_sum": total, "buckets": buckets},
        )
        if not created:
            stat.buckets = [a + b for a, b in zip(stat.buckets or [0] * len(buckets), buckets, strict=False)]
            CallStat.objects.filter(pk=stat.pk).update(
                calls=F("calls") + calls, duration_ms_sum=F("duration_ms_sum") + total, buckets=stat.buckets,
                provider_id_value=provider or stat.provider_id_value,
            )


def do_seal_calls(now: Any = None) -> CallSeal | None:
    """Seal the calls since the last seal (those older than a couple of seconds), roll them into the
    hourly statistics, and write one audit-chain record with the digest — all in one transaction,
    so a seal and its statistics exist together or not at all. Several workers: the audit chain
    head's row lock (taken first) orders them; the unique last_call_id refuses a double seal."""
    from zhengwu.audit.models import AuditChainHead

    now = now or timezone.now()
    with transaction.atomic():
        AuditChainHead.objects.select_for_update().get_or_create(id=1, defaults={"seq": 0, "hash": "0" * 64})
        last = CallSeal.objects.order_by("-last_call_id").values_list("last_call_id", flat=True).first() or 0
        newest = (
            GatewayCall.objects.filter(id__gt=last, at__lte=now - timedelta(seconds=SEAL_SETTLE_SECONDS))
            .order_by("-id").values_list("id", flat=True).first()
        )
        if newest is None:
            return None
        first = last + 1
        digest, count = digest_calls(first, newest)
        _roll_up(first, newest)
        record = record_event(
            None, "gateway.calls.seal", object_type="gateway_seal", object_id=f"{first}-{newest}",
            details={"first_call_id": first, "last_call_id": newest, "count": count, "sm3": digest},
        )
        return CallSeal.objects.create(
            first_call_id=first, last_call_id=newest, count=count, digest=digest, audit_seq=record.seq, sealed_at=now
        )


@dataclass(frozen=True)
class SealCheck:
    seal: CallSeal
    ok: bool
    reason: str = ""


def verify_seals() -> list[SealCheck]:
    """Recompute every seal from the calls and compare with the seal and its audit record."""
    from zhengwu.audit.models import AuditRecord

    out = []
    for seal in CallSeal.objects.order_by("last_call_id"):
        if seal.audit_seq is None:
            out.append(SealCheck(seal, False, "封存记录缺少审计链序号"))
            continue
        digest, count = digest_calls(seal.first_call_id, seal.last_call_id)
        record = AuditRecord.objects.filter(seq=seal.audit_seq, action="gateway.calls.seal").first()
        if record is None:
            out.append(SealCheck(seal, False, "审计链中找不到该封存记录"))
        elif record.details.get("sm3") != seal.digest or record.details.get("count") != seal.count:
            out.append(SealCheck(seal, False, "封存记录与审计链中的摘要不一致"))
        elif count != seal.count:
            out.append(SealCheck(seal, False, f"调用记录条数变化：封存时 {seal.count} 条，现在 {count} 条"))
        elif digest != seal.digest:
            out.append(SealCheck(seal, False, "调用记录内容已被修改（SM3 摘要不一致）"))
        else:
            out.append(SealCheck(seal, True))
    return out


def do_gateway_housekeeping() -> dict[str, int]:
    """The minute job: seal, then forget nonces past the clock window and old counters."""
    from .enforcement import purge_counters

    seal = do_seal_calls()
    return {"sealed": seal.count if seal else 0, "nonces": auth.purge_nonces(), "counters": purge_counters()}


def operation_label(code: str) -> str:
    return str(Operation(code).label) if code in Operation.values else code

