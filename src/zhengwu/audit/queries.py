"""Reading the audit log: chain verification and the 审计管理员's search.

`verify_chain()` walks the records by sequence number in batches (keyset paging, never the whole
table in memory) and reports the first problem it finds, naming the record:

- altered   — a record's stored hash does not match its content, or its content was changed and
              the hash recomputed (then the next record's prev_hash, or the chain head, no longer
              matches it);
- removed   — a sequence number is missing (a gap, a missing head of the chain after a purge
              checkpoint, or missing records at the tail that the chain head or a checkpoint
              vouches for);
- inserted  — a record that is not on the chain: beyond the chain head, before the chain's start
              (in a purged range), or a duplicate sequence number;
- checkpoint — a checkpoint's SM2 signature is invalid or made with a foreign key, or the chain
              does not pass through a signed checkpoint's (seq, hash): the records before it were
              rewritten wholesale by someone who recomputed every hash but cannot sign.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from zhengwu.core.errors import DomainError, NotFound
from zhengwu.directory.models import AdminRole
from zhengwu.directory.permissions import ensure_admin

from . import signing
from .models import AuditChainHead, AuditCheckpoint, AuditRecord, AuditResult
from .services import GENESIS_HASH, compute_hash, record_values

ALTERED = "altered"
REMOVED = "removed"
INSERTED = "inserted"
CHECKPOINT = "checkpoint"
PROBLEM_KINDS = {ALTERED: "篡改", REMOVED: "删除", INSERTED: "插入", CHECKPOINT: "检查点不符"}

VERIFY_BATCH_SIZE = 2000


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    kind: str
    message: str

    @property
    def kind_label(self) -> str:
        return PROBLEM_KINDS.get(self.kind, self.kind)


@dataclass
class ChainVerification:
    ok: bool
    checked: int
    start_seq: int
    last_seq: int | None
    checkpoints: int
    problem: ChainProblem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.problem is not None:
            return f"审计链校验未通过：{self.problem.message}"
        if self.checked == 0:
            span = "当前没有审计记录"
        else:
            span = f"已核验 {self.checked} 条记录（#{self.start_seq} 至 #{self.last_seq}）"
        signed = f"{self.checkpoints} 个已签名检查点均有效" if self.checkpoints else "尚无已签名检查点"
        return f"审计链完整：{span}，{signed}。"


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def _checkpoint_label(cp: AuditCheckpoint) -> str:
    return f"{_local(cp.created_at)} 签署的{cp.get_kind_display()}检查点（链位置 #{cp.seq}）"


def checkpoint_signature_valid(cp: AuditCheckpoint) -> bool:
    message = signing.checkpoint_message(
        seq=cp.seq,
        hash=cp.hash,
        kind=cp.kind,
        created_at=cp.created_at,
        purged_before=cp.purged_before,
        purged_count=cp.purged_count,
        public_key=cp.public_key,
    )
    return signing.verify(cp.public_key, cp.signature, message)


def _read_head() -> tuple[int, str] | None:
    row = AuditChainHead.objects.filter(id=1).values_list("seq", "hash").first()
    return (int(row[0]), str(row[1])) if row else None


def _check_checkpoint_signatures(checkpoints: list[AuditCheckpoint]) -> ChainProblem | None:
    if not checkpoints:
        return None
    trusted = signing.public_key_pem(create=False)
    if trusted is None:
        return ChainProblem(
            None,
            CHECKPOINT,
            f"审计签名密钥文件 {signing.key_path()} 不存在，无法核验 {len(checkpoints)} 个检查点的签名",
        )
    trusted_norm = signing.normalise_pem(trusted)
    for cp in checkpoints:
        if signing.normalise_pem(cp.public_key) != trusted_norm:
            return ChainProblem(
                cp.seq, CHECKPOINT, f"{_checkpoint_label(cp)}不是用本平台的审计签名密钥签署的（检查点被伪造）"
            )
        if not checkpoint_signature_valid(cp):
            return ChainProblem(
                cp.seq, CHECKPOINT, f"{_checkpoint_label(cp)}的 SM2 签名无效（检查点被篡改或伪造）"
            )
    return None


def verify_chain(
    *, from_latest_checkpoint: bool = False, batch_size: int = VERIFY_BATCH_SIZE
) -> ChainVerification:
    """Walk the chain and report the first problem.

    Start point: the latest purge checkpoint (the first remaining record must be checkpoint.seq+1
    with prev_hash = checkpoint.hash), else record #1 with GENESIS_HASH. With
    `from_latest_checkpoint`, start after the latest checkpoint of any kind instead and skip
    the records before it (used before signing a new periodic checkpoint).
    """
    checkpoints = list(AuditCheckpoint.objects.order_by("seq", "id"))
    result = ChainVerification(ok=False, checked=0, start_seq=1, last_seq=None, checkpoints=len(checkpoints))

    def fail(problem: ChainProblem) -> ChainVerification:
        result.problem = problem
        result.ok = False
        return result

    problem = _check_checkpoint_signatures(checkpoints)
    if problem:
        return fail(problem)

    anchors = (
        checkpoints
        if from_latest_checkpoint
        else [c for c in checkpoints if c.kind == AuditCheckpoint.KIND_PURGE]
    )
    anchor = max(anchors, key=lambda c: (c.seq, c.id)) if anchors else None
    start_seq = anchor.seq + 1 if anchor else 1
    expected_prev = anchor.hash if anchor else GENESIS_HASH
    anchor_label = _checkpoint_label(anchor) if anchor else "链的起点（创世哈希）"
    result.start_seq = start_seq

    by_seq: dict[int, list[AuditCheckpoint]] = {}
    for cp in checkpoints:
        if cp.seq >= start_seq - 1:
            by_seq.setdefault(cp.seq, []).append(cp)
    for cp in by_seq.get(start_seq - 1, []):
        if cp.hash != expected_prev:
            return fail(
                ChainProblem(cp.seq, CHECKPOINT, f"{_checkpoint_label(cp)}与{anchor_label}记载的哈希不一致")
            )

    head = _read_head()
    head_seq = head[0] if head else 0
    queryset = AuditRecord.objects.order_by("seq", "id")
    if from_latest_checkpoint:
        queryset = queryset.filter(seq__gte=start_seq)
    elif head is None and queryset.exists():
        return fail(
            ChainProblem(None, REMOVED, "审计链头（最后一条记录的序号和哈希）已被删除，但表中仍有审计记录")
        )

    next_seq = start_seq
    prev_hash = expected_prev
    cursor: int | None = None
    rechecked_tail = False
    while True:
        page = queryset if cursor is None else queryset.filter(seq__gt=cursor)
        batch = list(page[:batch_size])
        if not batch:
            head = _read_head()
            head_seq = head[0] if head else 0
            if head_seq >= next_seq and not rechecked_tail:
                # Records committed after our last page: the head is read first, so they are visible now.
                rechecked_tail = True
                continue
            break
        rechecked_tail = False
        for record in batch:
            seq = record.seq
            cursor = seq
            if seq < next_seq:
                where = f"位于{anchor_label}之前，该段已被清理" if seq < start_seq else "序号重复"
                return fail(ChainProblem(seq, INSERTED, f"记录 #{seq} 不在审计链上（{where}，被插入）"))
            if seq > head_seq:
                head = _read_head()
                head_seq = head[0] if head else 0
                if seq > head_seq:
                    return fail(
                        ChainProblem(
                            seq,
                            INSERTED,
                            f"记录 #{seq} 不在审计链上（超出链头记载的最后一条 #{head_seq}，被插入）",
                        )
                    )
            if seq > next_seq:
                missing = f"#{next_seq}" if seq == next_seq + 1 else f"#{next_seq} 至 #{seq - 1}"
                return fail(
                    ChainProblem(next_seq, REMOVED, f"记录 #{seq} 之前缺少记录 {missing}（已被删除）")
                )
            if compute_hash(record_values(record)) != record.hash:
                return fail(ChainProblem(seq, ALTERED, f"记录 #{seq} 的内容被篡改（哈希不符）"))
            if record.prev_hash != prev_hash:
                if seq == start_seq:
                    return fail(
                        ChainProblem(
                            seq,
                            ALTERED,
                            f"记录 #{seq} 的前一记录哈希与{anchor_label}不符（记录被篡改或伪造）",
                        )
                    )
                if by_seq.get(seq - 1):  # the previous record is vouched for by a signed checkpoint
                    return fail(
                        ChainProblem(seq, ALTERED, f"记录 #{seq} 的前一记录哈希被篡改（与已签名检查点不符）")
                    )
                return fail(
                    ChainProblem(
                        seq - 1,
                        ALTERED,
                        f"记录 #{seq - 1} 的内容被篡改（哈希已被重新计算，与记录 #{seq} 记载的前一记录哈希不符）",
                    )
                )
            for cp in by_seq.get(seq, []):
                if cp.hash != record.hash:
                    return fail(
                        ChainProblem(
                            seq,
                            CHECKPOINT,
                            f"记录 #{seq} 的哈希与{_checkpoint_label(cp)}不符：#{seq} 及之前的记录被整体改写",
                        )
                    )
            prev_hash = record.hash
            next_seq = seq + 1
            result.checked += 1
            result.last_seq = seq

    last = next_seq - 1
    if head_seq > last:
        missing = f"#{last + 1}" if head_seq == last + 1 else f"#{last + 1} 至 #{head_seq}"
        return fail(
            ChainProblem(
                last + 1, REMOVED, f"链尾缺少记录 {missing}（已被删除；链头记载最后一条为 #{head_seq}）"
            )
        )
    if head is not None and head_seq == last and head[1] != prev_hash:
        if result.checked:
            return fail(
                ChainProblem(
                    last, ALTERED, f"记录 #{last} 的内容被篡改（哈希已被重新计算，与链头记载的哈希不符）"
                )
            )
        return fail(ChainProblem(None, ALTERED, f"链头记载的哈希与{anchor_label}不符（链头被篡改）"))
    beyond = [cp for cp in checkpoints if cp.seq > last]
    if beyond:
        cp = max(beyond, key=lambda c: c.seq)
        return fail(
            ChainProblem(
                last + 1,
                REMOVED,
                f"记录 #{last + 1} 起的记录缺失（已被删除）：{_checkpoint_label(cp)}证明审计链曾到达 #{cp.seq}",
            )
        )
    result.ok = True
    return result


# --- search for the 审计管理员 console and API -------------------------------------------
FILTER_KEYS = ("start", "end", "actor", "unit", "action", "object_type", "object_id", "result")
MIN_YEAR, MAX_YEAR = 1970, 2999


def clean_filters(raw: dict[str, Any]) -> dict[str, Any]:
    """Normalise search filters; raise DomainError (Chinese, naming the field) on bad input."""
    filters: dict[str, Any] = {}
    for key in FILTER_KEYS:
        value = raw.get(key)
        if value is None or value == "":
            continue
        if key in ("start", "end"):
            if isinstance(value, dt.datetime):
                value = value.date()
            if not isinstance(value, dt.date):
                try:
                    value = dt.date.fromisoformat(str(value))
                except ValueError as exc:
                    raise DomainError("日期格式应为 YYYY-MM-DD", field=key) from exc
            if not MIN_YEAR <= value.year <= MAX_YEAR:
                raise DomainError(f"日期须在 {MIN_YEAR} 年至 {MAX_YEAR} 年之间", field=key)
        elif key == "result":
            if value not in AuditResult.values:
                raise DomainError("结果只能是 success（成功）或 failure（失败）", field=key)
        else:
            value = str(value).strip()
            if not value:
                continue
        filters[key] = value
    if "start" in filters and "end" in filters and filters["end"] < filters["start"]:
        raise DomainError("截止日期不能早于起始日期", field="end")
    return filters


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filter_records(filters: dict[str, Any]) -> QuerySet[AuditRecord]:
    """Records matching already-cleaned filters, newest first. Dates are local, end inclusive."""
    qs = AuditRecord.objects.all()
    if filters.get("start"):
        qs = qs.filter(occurred_at__gte=_day_start(filters["start"]))
    if filters.get("end"):
        qs = qs.filter(occurred_at__lt=_day_start(filters["end"] + dt.timedelta(days=1)))
    if filters.get("actor"):
        qs = qs.filter(Q(actor__icontains=filters["actor"]) | Q(actor_name__icontains=filters["actor"]))
    if filters.get("unit"):
        qs = qs.filter(actor_unit__icontains=filters["unit"])
    if filters.get("action"):
        qs = qs.filter(action__istartswith=filters["action"])
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=filters["object_id"])
    if filters.get("result"):
        qs = qs.filter(result=filters["result"])
    return qs.order_by("-seq")


def search_records(actor_user: Any, filters: dict[str, Any]) -> QuerySet[AuditRecord]:
    """The 审计管理员's search. Raises PermissionDenied for anyone else, DomainError on bad filters."""
    ensure_admin(actor_user, AdminRole.AUDIT)
    return filter_records(clean_filters(filters))


def get_record(actor_user: Any, seq: int) -> AuditRecord:
    ensure_admin(actor_user, AdminRole.AUDIT)
    record = AuditRecord.objects.filter(seq=seq).first()
    if record is None:
        raise NotFound(f"审计记录 #{seq} 不存在")
    return record


def record_hash_valid(record: AuditRecord) -> bool:
    return compute_hash(record_values(record)) == record.hash


def iter_records_ascending(
    queryset: QuerySet[AuditRecord], *, chunk_size: int = 1000
) -> Iterator[AuditRecord]:
    """Stream a filtered queryset in sequence order by keyset pages (for exports)."""
    base = queryset.order_by("seq")
    cursor: int | None = None
    while True:
        page = base if cursor is None else base.filter(seq__gt=cursor)
        rows = list(page[:chunk_size])
        if not rows:
            return
        yield from rows
        cursor = rows[-1].seq


def filters_for_log(filters: dict[str, Any]) -> dict[str, str]:
    """Filters as plain strings, for the details of the audit.search / audit.export record."""
    return {key: str(value) for key, value in filters.items()}


def purge_preview(before: dt.datetime) -> dict[str, Any]:
    """What a purge before `before` would delete: the contiguous oldest run of records older than it."""
    first_young = (
        AuditRecord.objects.filter(occurred_at__gte=before)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    candidates = AuditRecord.objects.all()
    if first_young is not None:
        candidates = candidates.filter(seq__lt=first_young)
    seqs = candidates.order_by("seq").values_list("seq", flat=True)
    first = seqs.first()
    last = candidates.order_by("-seq").values_list("seq", flat=True).first()
    return {"count": candidates.count(), "first_seq": first, "last_seq": last}


def latest_checkpoints(limit: int = 20) -> list[AuditCheckpoint]:
    return list(AuditCheckpoint.objects.order_by("-seq", "-id")[:limit])
