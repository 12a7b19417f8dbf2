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

The chain alone cannot see a rewrite of the records after the newest checkpoint (hashes and head
recomputed), nor the tail deleted with the head moved back. `verify_audit_log()` — what
`zhengwu audit verify`, the console and the API run — therefore also compares the database,
record by record and field by field, with the append-only external copy (sink.py) and names the
first record that differs or is missing there:

- sink      — the external copy itself is wrong: absent, a line repeated or out of order (lines
              appended by hand), an entry whose hash does not match its content, or records left
              uncopied for longer than SINK_LAG_TOLERANCE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from zhengwu.core import audit_names
from zhengwu.core.errors import DomainError, NotFound
from zhengwu.core.roles import AdminRole, ensure_admin

from . import signing
from .models import AuditChainHead, AuditCheckpoint, AuditRecord, AuditResult
from .services import GENESIS_HASH, HASHED_FIELDS, compute_hash, record_values

ALTERED = "altered"
REMOVED = "removed"
INSERTED = "inserted"
CHECKPOINT = "checkpoint"
SINK = "sink"
PROBLEM_KINDS = {
    ALTERED: "篡改",
    REMOVED: "删除",
    INSERTED: "插入",
    CHECKPOINT: "检查点不符",
    SINK: "外部副本异常",
}
# Records not yet in the external copy after this long are a failure (the worker's `audit.ship`
# job copies them every minute); younger ones are only noted (shipping follows the commit).
SINK_LAG_TOLERANCE = dt.timedelta(minutes=5)

VERIFY_BATCH_SIZE = 2000
ENTRY_FIELDS = (*HASHED_FIELDS, "hash")  # what every external copy holds per record (sink.py)


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    kind: str
    message: str
    field: str | None = None  # the record's field that differs from the external copy

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
    sink: SinkComparison | None = None

    @property
    def message(self) -> str:
        if self.problem is not None:
            return f"审计链校验未通过：{self.problem.message}"
        if self.checked == 0:
            span = "当前没有审计记录"
        else:
            span = f"已核验 {self.checked} 条记录（#{self.start_seq} 至 #{self.last_seq}）"
        signed = f"{self.checkpoints} 个已签名检查点均有效" if self.checkpoints else "尚无已签名检查点"
        compared = ""
        if self.sink is not None and self.sink.configured:
            compared = f"，与外部副本 {self.sink.path} 逐条比对 {self.sink.compared} 条一致"
        return f"审计链完整：{span}，{signed}{compared}。"


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def _checkpoint_label(cp: AuditCheckpoint) -> str:
    return f"{_local(cp.created_at)} 签署的{cp.get_kind_display()}检查点（链位置 #{cp.seq}）"


def checkpoint_signature_valid(cp: AuditCheckpoint, trusted_public_key: str | None = None) -> bool:
    """Whether the checkpoint's signature verifies with the trusted key (default: from the key file)."""
    if trusted_public_key is None:
        try:
            trusted_public_key = signing.trusted_public_key_pem()
        except signing.TrustedKeyMissing:
            return False
    message = signing.checkpoint_message(
        seq=cp.seq,
        hash=cp.hash,
        kind=cp.kind,
        created_at=cp.created_at,
        purged_before=cp.purged_before,
        purged_count=cp.purged_count,
        public_key=cp.public_key,
    )
    return signing.verify(trusted_public_key, cp.signature, message)


def _read_head() -> tuple[int, str] | None:
    row = AuditChainHead.objects.filter(id=1).values_list("seq", "hash").first()
    return (int(row[0]), str(row[1])) if row else None


def _check_checkpoint_signatures(checkpoints: list[AuditCheckpoint]) -> ChainProblem | None:
    if not checkpoints:
        return None
    try:
        trusted = signing.trusted_public_key_pem()
    except signing.TrustedKeyMissing as exc:
        return ChainProblem(None, CHECKPOINT, f"{exc}，无法核验 {len(checkpoints)} 个检查点的签名")
    # Each checkpoint must be signed by the key from the file; the public key stored in its row
    # is only compared with it, never used to decide what is trusted.
    trusted_norm = signing.normalise_pem(trusted)
    for cp in checkpoints:
        if signing.normalise_pem(cp.public_key) != trusted_norm:
            return ChainProblem(
                cp.seq, CHECKPOINT, f"{_checkpoint_label(cp)}不是用本平台的审计签名密钥签署的（检查点被伪造）"
            )
        if not checkpoint_signature_valid(cp, trusted):
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


# --- comparison with the external copy --------------------------------------------------------
@dataclass
class SinkComparison:
    configured: bool
    path: str = ""
    compared: int = 0
    sink_last_seq: int = 0
    problem: ChainProblem | None = None
    notes: list[str] = field(default_factory=list)


def _field_label(name: str) -> str:
    if name == "hash":
        return "本记录哈希（hash）"
    verbose = getattr(AuditRecord._meta.get_field(name), "verbose_name", name)
    return f"{verbose}（{name}）"


def _shown(value: Any, limit: int = 80) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = "（空）" if text == "" else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry_values(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The entry's hashed values as record_values() gives them, or None when a field is missing."""
    from .sink import parse_time

    if any(name not in entry for name in ENTRY_FIELDS):
        return None
    values = {name: entry[name] for name in HASHED_FIELDS}
    try:
        values["occurred_at"] = parse_time(str(entry["occurred_at"]))
    except ValueError:
        return None
    return values


def _sink_entries(path: Any, comparison: SinkComparison) -> Iterator[dict[str, Any]]:
    """The file's entries in order; a problem with the file itself stops the stream (set on comparison)."""
    from .sink import iter_file_entries

    previous: int | None = None
    skipped = 0
    for line_number, entry in iter_file_entries(path):
        if entry is None:
            skipped += 1
            continue
        seq = int(entry["seq"])
        if previous is not None and seq <= previous:
            comparison.problem = ChainProblem(
                seq,
                SINK,
                f"外部副本第 {line_number} 行的记录 #{seq} 重复或顺序错乱（在 #{previous} 之后）："
                "副本被追加了伪造的行，或属于另一个数据库",
            )
            return
        values = _entry_values(entry)
        if values is None or compute_hash(values) != entry["hash"]:
            comparison.problem = ChainProblem(
                seq, SINK, f"外部副本第 {line_number} 行的记录 #{seq} 内容与其哈希不符（副本损坏或被改写）"
            )
            return
        previous = seq
        comparison.sink_last_seq = seq
        yield entry
    if skipped:
        comparison.notes.append(
            f"外部副本有 {skipped} 行不是完整的审计记录（例如写入中断留下的半行），已跳过"
        )


def compare_with_sink(
    path: Any = None, *, start_seq: int = 1, now: dt.datetime | None = None
) -> SinkComparison:
    """Compare the records from `start_seq` on with the external JSON Lines copy, field by field.

    `path` defaults to settings.AUDIT_SINK_FILE (another copy, e.g. one exported from the syslog
    collector, can be named). Reports the first record, in sequence order, that is missing from
    the database, missing from the copy, or differs — naming the field. Entries before
    `start_seq` (purged from the database, kept in the copy) are not compared.
    """
    from pathlib import Path

    from .sink import entry_for, sink_path

    target = Path(path) if path else sink_path()
    if target is None:
        return SinkComparison(
            configured=False,
            notes=[
                "未配置外部副本文件（ZHENGWU_AUDIT_SINK_FILE），只核验了数据库中的链，无法发现检查点之后的改写"
            ],
        )
    comparison = SinkComparison(configured=True, path=str(target))
    records = iter_records_ascending(AuditRecord.objects.filter(seq__gte=start_seq))
    if not target.exists():
        first = next(records, None)
        if first is not None:
            comparison.problem = ChainProblem(
                first.seq, SINK, f"外部副本文件 {target} 不存在，无法与数据库中的审计记录比对"
            )
        return comparison

    entries = (e for e in _sink_entries(target, comparison) if int(e["seq"]) >= start_seq)
    record = next(records, None)
    entry = next(entries, None)
    while record is not None or entry is not None:
        if comparison.problem is not None:
            return comparison
        if entry is None:
            assert record is not None
            unshipped = [record, *records]
            oldest = unshipped[0]
            span = f"#{oldest.seq}" if len(unshipped) == 1 else f"#{oldest.seq} 至 #{unshipped[-1].seq}"
            if oldest.occurred_at < (now or timezone.now()) - SINK_LAG_TOLERANCE:
                comparison.problem = ChainProblem(
                    oldest.seq,
                    SINK,
                    f"记录 {span} 未写入外部副本（最早一条写于 {_local(oldest.occurred_at)}，"
                    f"超过 {int(SINK_LAG_TOLERANCE.total_seconds() // 60)} 分钟）：外部副本写入中断，"
                    "这些记录只受数据库中的链保护",
                )
            else:
                comparison.notes.append(f"记录 {span} 刚写入，尚未写入外部副本")
            return comparison
        seq = int(entry["seq"])
        if record is None:
            # Committed and shipped while we were reading? Look once more before calling it deleted.
            records = iter_records_ascending(AuditRecord.objects.filter(seq__gte=seq))
            record = next(records, None)
        if record is None or seq < record.seq:
            from .sink import parse_time

            when = _local(parse_time(str(entry["occurred_at"])))  # the entry's hash was checked
            what = f"{when} {entry.get('actor', '') or '系统'} {entry.get('action', '')}"
            comparison.problem = ChainProblem(
                seq, REMOVED, f"数据库中缺少记录 #{seq}（外部副本中有：{what.strip()}）：记录已被删除"
            )
            return comparison
        if record.seq < seq:
            comparison.problem = ChainProblem(
                record.seq,
                INSERTED,
                f"记录 #{record.seq} 不在外部副本中（副本中在它之后的记录 #{seq} 存在）：记录被插入数据库",
            )
            return comparison
        ours = entry_for(record)
        for name in ENTRY_FIELDS:
            if ours[name] != entry[name]:
                comparison.problem = ChainProblem(
                    seq,
                    ALTERED,
                    f"记录 #{seq} 的字段 {_field_label(name)}与外部副本不符：数据库中为 {_shown(ours[name])}，"
                    f"外部副本中为 {_shown(entry[name])}（记录被篡改）",
                    field=name,
                )
                return comparison
        comparison.compared += 1
        record = next(records, None)
        entry = next(entries, None)
    return comparison


def _syslog_notes() -> list[str]:
    from django.conf import settings

    from .models import AuditSinkCursor
    from .sink import SYSLOG_CURSOR

    if not settings.AUDIT_SYSLOG:
        return []
    cursor = AuditSinkCursor.objects.filter(name=SYSLOG_CURSOR).first()
    head = _read_head()
    head_seq = head[0] if head else 0
    sent = cursor.seq if cursor else 0
    notes = [f"syslog 收集端 {settings.AUDIT_SYSLOG} 已确认收到至 #{sent}（链头 #{head_seq}）"]
    if cursor is not None and cursor.failing_since is not None:
        notes.append(
            f"syslog 自 {_local(cursor.failing_since)} 起发送失败：{cursor.last_error}；定期任务每分钟重发"
        )
    return notes


def _problem_order(problem: ChainProblem) -> tuple[int, int]:
    # The lowest record first; at the same record the answer that names a field.
    return (problem.seq if problem.seq is not None else 2**62, 0 if problem.field else 1)


def verify_audit_log(*, sink_file: Any = None) -> ChainVerification:
    """The whole check: the database chain and checkpoints, then the comparison with the external copy.

    The reported problem is the one at the lowest record; the other, if any, is added to `notes`.
    """
    result = verify_chain()
    comparison = compare_with_sink(sink_file, start_seq=result.start_seq)
    result.sink = comparison
    # The copy's answer first: at the same record it says what the copy holds (stable sort).
    problems = [p for p in (comparison.problem, result.problem) if p is not None]
    if problems:
        problems.sort(key=_problem_order)
        result.problem, result.ok = problems[0], False
        result.notes.extend(f"另：{p.message}" for p in problems[1:])
    result.notes.extend(comparison.notes)
    result.notes.extend(_syslog_notes())
    return result


# --- search for the 审计管理员 console and API -------------------------------------------
FILTER_KEYS = ("q", "start", "end", "actor", "unit", "action", "object_type", "object_id", "result")
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


def _text_query(text: str) -> Q:
    """Free text as people type it: every word must match somewhere. A word matches an action or
    object type by its Chinese name (登录 → identity.login) or code, or the actor, the actor's
    name or unit, the object's identifier or the source address."""
    condition = Q()
    for word in text.split():
        match = (
            Q(action__icontains=word) | Q(object_type__icontains=word) | Q(actor__icontains=word)
            | Q(actor_name__icontains=word) | Q(actor_unit__icontains=word) | Q(object_id__icontains=word)
            | Q(source_ip__startswith=word)
        )
        actions = audit_names.actions_named(word)
        if actions:
            match |= Q(action__in=actions)
        object_types = audit_names.object_types_named(word)
        if object_types:
            match |= Q(object_type__in=object_types)
        condition &= match
    return condition


def filter_records(filters: dict[str, Any]) -> QuerySet[AuditRecord]:
    """Records matching already-cleaned filters, newest first. Dates are local, end inclusive."""
    qs = AuditRecord.objects.all()
    if filters.get("start"):
        qs = qs.filter(occurred_at__gte=_day_start(filters["start"]))
    if filters.get("end"):
        qs = qs.filter(occurred_at__lt=_day_start(filters["end"] + dt.timedelta(days=1)))
    if filters.get("q"):
        qs = qs.filter(_text_query(filters["q"]))
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


# --- the 审计管理员's to-dos on the 工作台 (cheap: no chain walk) ------------------------------------

VERIFY_DUE_DAYS = 7


def attention_items(actor_user: Any, now: dt.datetime | None = None) -> list[str]:
    """What needs the 审计管理员's attention, in words: an external copy that keeps failing, a last
    verification that failed, or no verification for VERIFY_DUE_DAYS days. The 工作台 counts these
    and links to the verify page, which lists the same items."""
    from .models import AuditSinkCursor

    ensure_admin(actor_user, AdminRole.AUDIT)
    now = now or timezone.now()
    items = []
    for cursor in AuditSinkCursor.objects.filter(failing_since__isnull=False).order_by("name"):
        since = _local(cursor.failing_since) if cursor.failing_since else ""
        items.append(f"外部副本（{cursor.name}）自 {since} 起投递失败：{cursor.last_error[:200] or '原因未记录'}")
    last = AuditRecord.objects.filter(action="audit.verify").order_by("-seq").first()
    if last is None:
        items.append("审计链尚未核验过，请执行一次核验")
    elif last.result != AuditResult.SUCCESS:
        problem = str((last.details or {}).get("problem", ""))[:200]
        items.append(f"最近一次核验（{_local(last.occurred_at)}）未通过：{problem or '见核验结果'}")
    elif now - last.occurred_at > dt.timedelta(days=VERIFY_DUE_DAYS):
        items.append(f"已超过 {VERIFY_DUE_DAYS} 天未核验审计链（上次 {_local(last.occurred_at)}）")
    return items
