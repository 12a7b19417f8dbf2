"""State changes of data collection (数据归集). Each `do_*` checks permission, writes in one
transaction with its audit record; a refusal changes nothing and is itself audited.

A batch goes: submitted (排队) → `run_batch` in the worker: read and stage (读取) → check (校验)
→ quarantine the refused rows and commit the accepted ones as one lake version (写入) → done.
Nothing is half-applied: the lake commit is atomic, and a batch whose process died is found by
`do_recover_interrupted_batches` (worker start, every minute, and on demand), marked failed, and
— if its commit had already landed — undone by restoring the previous version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import audited_attempt, record_event
from zhengwu.catalog.constants import UPDATE_CYCLE_PERIOD, UpdateCycle
from zhengwu.catalog.models import CatalogEntry
from zhengwu.catalog.services import authority_unit, do_record_data_arrival, is_data_admin
from zhengwu.core import limits
from zhengwu.core.crypto import decrypt_field, encrypt_field, hmac_sm3
from zhengwu.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from zhengwu.directory.models import Unit

from . import lake, listeners
from .constants import (
    DATA_ADMIN_ROLE,
    ENDED_STATUSES,
    FILE_FORMATS,
    BatchStage,
    BatchStatus,
    FileEncoding,
    LoadMode,
    RuleKind,
    SourceKind,
    VersionOperation,
)
from .failures import failure_reason
from .models import DataSource, IngestBatch, PushToken, ResourceRule, ResourceVersion
from .schema import ResourceSchema, RuleSpec, schema_for

log = logging.getLogger(__name__)

NO_CHANGE_NOTE = "无变化，未产生新版本"
PUSH_MAX_RECORDS = 10_000
HEARTBEAT_EVERY = timedelta(seconds=2)
STALE_AFTER = timedelta(minutes=2)
TOKEN_PREFIX = "zwp_"  # noqa: S105 (a public prefix that marks push tokens, not a secret)


# --- who may do what -------------------------------------------------------------------------------


def is_authority_data_admin(actor: Any) -> bool:
    authority = authority_unit()
    return authority is not None and is_data_admin(actor, authority)


def can_collect(actor: Any, unit: Unit) -> bool:
    """The provider's 数据管理员, or a 数据管理员 of the data authority (which collects on behalf
    of units, e.g. pulling from their databases)."""
    return is_data_admin(actor, unit) or is_authority_data_admin(actor)


def _entry(resource_code: str) -> CatalogEntry:
    entry = CatalogEntry.objects.select_related("provider").filter(resource_code=resource_code).first()
    if entry is None:
        raise NotFound(f"信息资源代码 {resource_code} 不存在", "resource_code")
    return entry


def _ensure_collector(actor: Any, entry: CatalogEntry) -> None:
    if not can_collect(actor, entry.provider):
        raise PermissionDenied(f"只有{entry.provider.name}或数据主管部门的数据管理员可以归集“{entry.name}”的数据")


def _attempt(
    actor: Any, action: str, object_id: Any = "", request: HttpRequest | None = None,
    details: dict[str, Any] | None = None, object_type: str = "resource",
) -> AbstractContextManager[None]:
    """audit.services.audited_attempt for data collection (a resource by default)."""
    return audited_attempt(actor, action, object_type=object_type, object_id=object_id, request=request, details=details)


# --- work space --------------------------------------------------------------------------------------


def work_dir(batch_id: int) -> Path:
    path = Path(settings.INGEST_WORK_DIR) / f"batch-{batch_id}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_file_bytes() -> int:
    return int(settings.INGEST_MAX_FILE_MB) * 1024 * 1024


def _size_text(size: int) -> str:
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    return f"{size / 1024**2:.1f} MB"


def check_file_size(size: int) -> None:
    if size > max_file_bytes():
        raise DomainError(
            f"文件大小 {_size_text(size)}，超过单个批次的上限 {settings.INGEST_MAX_FILE_MB} MB；请拆分后分批上传，"
            "或由管理员调整 ZHENGWU_INGEST_MAX_FILE_MB", "file",
        )


def _file_format(file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    if suffix not in FILE_FORMATS:
        allowed = "、".join(sorted(FILE_FORMATS))
        raise DomainError(f"不支持的文件类型“{suffix or '无扩展名'}”：只接受 {allowed}", "file")
    return FILE_FORMATS[suffix]


def _enqueue(batch: IngestBatch) -> None:
    from .tasks import run_ingest_batch

    batch_id = batch.pk
    transaction.on_commit(lambda: run_ingest_batch.enqueue(batch_id))


# --- submitting batches ------------------------------------------------------------------------------


def _new_batch(actor: Any, entry: CatalogEntry, schema: ResourceSchema, **fields: Any) -> IngestBatch:
    return IngestBatch.objects.create(
        unit=entry.provider, resource_code=entry.resource_code, catalog_version=schema.catalog_version,
        created_by=actor if getattr(actor, "is_authenticated", False) else None, **fields,
    )


def _check_mode(mode: str) -> None:
    if mode not in LoadMode.values:
        raise DomainError("归集方式只能是 incremental（增量，默认）或 full（全量替换）", "mode")


def _check_encoding(encoding: str) -> str:
    encoding = (encoding or "").strip()
    if encoding not in FileEncoding.values:
        allowed = "、".join(v for v in FileEncoding.values if v)
        raise DomainError(f"文件编码只能是自动识别（留空）或 {allowed}，实为“{encoding[:20]}”", "encoding")
    return encoding


def do_submit_upload(
    actor: Any, resource_code: str, upload: Any, *, mode: str = LoadMode.INCREMENTAL,
    parent: IngestBatch | None = None, encoding: str = "", request: HttpRequest | None = None, enqueue: bool = True,
) -> IngestBatch:
    """Accept an uploaded file (Django UploadedFile or any object with .name, .size, .chunks())
    for a published resource and queue it. The file is kept in the batch's work space. Uploads are
    incremental unless full is asked for; `encoding` ("" = detect) is the uploader's choice for a
    CSV/JSON Lines file whose detected encoding gave garbled headers."""
    name = Path(str(getattr(upload, "name", "") or "")).name
    with _attempt(actor, "datahub.batch.submit", resource_code, request, {"file": name, "mode": mode}):
        entry = _entry(resource_code)
        _ensure_collector(actor, entry)
        schema = schema_for(resource_code)
        _check_mode(mode)
        encoding = _check_encoding(encoding)
        if not name:
            raise DomainError("请选择要上传的文件", "file")
        file_format = _file_format(name)
        check_file_size(int(getattr(upload, "size", 0) or 0))
        if parent is not None:
            _check_parent(parent, resource_code)
            _ensure_corrector(actor, entry)
        batch = _new_batch(
            actor, entry, schema, source_kind=SourceKind.CORRECTION if parent else SourceKind.UPLOAD,
            mode=LoadMode.INCREMENTAL if parent else mode, parent=parent, file_name=name, file_format=file_format,
            file_size=int(getattr(upload, "size", 0) or 0), requested_encoding=encoding,
        )
        target = work_dir(batch.pk) / f"input{Path(name).suffix.lower()}"
        digest = hashlib.sha256()
        with target.open("wb") as out:
            for chunk in upload.chunks():
                digest.update(chunk)
                out.write(chunk)
        batch.file_path = str(target)
        batch.file_sha256 = digest.hexdigest()
        batch.save(update_fields=["file_path", "file_sha256"])
        record_event(
            actor, "datahub.batch.submit", object_type="resource", object_id=resource_code, request=request,
            details={"batch": batch.pk, "file": name, "size": batch.file_size, "mode": batch.mode,
                     "parent": parent.pk if parent else None, "encoding": encoding or "自动"},
        )
        if enqueue:
            _enqueue(batch)
    return batch


def do_submit_file(
    actor: Any, resource_code: str, path: Path, *, file_name: str | None = None, mode: str = LoadMode.INCREMENTAL,
    encoding: str = "", request: HttpRequest | None = None, enqueue: bool = True,
) -> IngestBatch:
    """Queue a file already on the server (command line, scheduled drops). It is read in place."""
    path = Path(path)
    name = file_name or path.name
    with _attempt(actor, "datahub.batch.submit", resource_code, request, {"file": name, "mode": mode}):
        entry = _entry(resource_code)
        _ensure_collector(actor, entry)
        schema = schema_for(resource_code)
        _check_mode(mode)
        encoding = _check_encoding(encoding)
        if not path.is_file():
            raise DomainError(f"文件 {path} 不存在或不是普通文件", "file")
        file_format = _file_format(name)
        size = path.stat().st_size
        check_file_size(size)
        batch = _new_batch(
            actor, entry, schema, source_kind=SourceKind.UPLOAD, mode=mode, file_name=name,
            file_format=file_format, file_size=size, file_path=str(path.resolve()), requested_encoding=encoding,
        )
        record_event(
            actor, "datahub.batch.submit", object_type="resource", object_id=resource_code, request=request,
            details={"batch": batch.pk, "file": name, "size": size, "mode": mode},
        )
        if enqueue:
            _enqueue(batch)
    return batch


def ingest_file(
    actor: Any, resource_code: str, path: Path, *, file_name: str | None = None, mode: str = LoadMode.INCREMENTAL,
    encoding: str = "", progress: Callable[[IngestBatch], None] | None = None,
) -> IngestBatch:
    """Submit a file and process it right here (command line, demo loader, benchmark)."""
    batch = do_submit_file(actor, resource_code, path, file_name=file_name, mode=mode, encoding=encoding, enqueue=False)
    batch = run_batch(batch.pk, progress=progress)
    if batch.status == BatchStatus.PENDING:
        # Another batch of the resource runs or comes first: the worker takes this one after it.
        from .tasks import run_ingest_batch

        run_ingest_batch.enqueue(batch.pk)
    return batch


def _ensure_corrector(actor: Any, entry: CatalogEntry) -> None:
    """A correction overwrites data with what is uploaded, and the quarantine download shows the
    personal/sensitive items masked to everyone but the provider's data managers: only someone who
    sees every item clear may correct, so a masked file never comes back as data."""
    from zhengwu.catalog.queries import clear_items_for, masked_items
    from zhengwu.core.masking import reveals_clear

    clear = clear_items_for(actor, entry)
    labels = {i.field_name: i.name for i in entry.items.all()}
    hidden = [
        f"{labels.get(name, name)}({name})" for name, item in masked_items(entry).items()
        if not reveals_clear(item, actor_may_see_clear=name in clear)
    ]
    if hidden:
        raise PermissionDenied(
            f"补正重报只能由{entry.provider.name}的数据管理员办理：隔离行中的个人/敏感信息项（{'、'.join(hidden)}）"
            "对您按脱敏方式遮盖显示，用脱敏后的文件补正会把遮盖后的值写入数据", "parent",
        )


def _check_parent(parent: IngestBatch, resource_code: str) -> None:
    if parent.resource_code != resource_code:
        raise DomainError("补正文件必须提交到原批次的同一资源", "parent")
    if parent.status != BatchStatus.SUCCEEDED or not parent.rows_refused:
        raise DomainError("只有已完成且有隔离行的批次可以补正重报", "parent")


def payload_digest(records: list[dict[str, Any]], mode: str) -> str:
    body = json.dumps({"mode": mode, "records": records}, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def do_push_records(
    actor: Any, resource_code: str, records: list[dict[str, Any]], *, idempotency_key: str,
    mode: str = LoadMode.INCREMENTAL, token: PushToken | None = None, request: HttpRequest | None = None,
) -> tuple[IngestBatch, bool]:
    """A unit's system pushes a batch of records. With the same idempotency key a retried push is
    applied once: the first batch is returned (created=False). The same key with other content is
    refused (409)."""
    key = (idempotency_key or "").strip()
    with _attempt(actor, "datahub.batch.push", resource_code, request, {"idempotency_key": key[:100]}):
        entry = _entry(resource_code)
        if token is not None:
            _ensure_token_scope(token, entry)
        else:
            _ensure_collector(actor, entry)
        schema = schema_for(resource_code)
        if not key:
            raise DomainError("推送必须带幂等键（请求头 Idempotency-Key），以便重试时不重复入库", "Idempotency-Key")
        if len(key) > 100:
            raise DomainError("幂等键不能超过 100 个字符", "Idempotency-Key")
        _check_mode(mode)
        if not records:
            raise DomainError("records 不能为空", "records")
        if len(records) > PUSH_MAX_RECORDS:
            raise DomainError(f"一次最多推送 {PUSH_MAX_RECORDS} 条记录，本次 {len(records)} 条；请分批推送", "records")
        digest = payload_digest(records, mode)
        existing = IngestBatch.objects.filter(resource_code=resource_code, idempotency_key=key).first()
        if existing is not None:
            if existing.payload_sha256 != digest:
                raise Conflict(f"幂等键 {key} 已用于内容不同的另一批数据（批次 {existing.pk}），请换一个幂等键", "Idempotency-Key")
            record_event(
                actor, "datahub.batch.push", object_type="resource", object_id=resource_code, request=request,
                details={"batch": existing.pk, "idempotency_key": key, "replayed": True},
                actor_username=f"token:{token.prefix}" if token else None,
            )
            return existing, False
        batch = _new_batch(
            actor, entry, schema, source_kind=SourceKind.PUSH, mode=mode, push_token=token,
            idempotency_key=key, payload_sha256=digest, file_format="records", file_name=f"推送 {key}",
        )
        path = work_dir(batch.pk) / "records.json"
        path.write_text(json.dumps(records, ensure_ascii=False, default=str), encoding="utf-8")
        batch.file_path = str(path)
        batch.file_size = path.stat().st_size
        batch.save(update_fields=["file_path", "file_size"])
        record_event(
            actor, "datahub.batch.push", object_type="resource", object_id=resource_code, request=request,
            details={"batch": batch.pk, "idempotency_key": key, "records": len(records), "mode": mode},
            actor_username=f"token:{token.prefix}" if token else None,
        )
        _enqueue(batch)
    return batch, True


# --- running a batch -----------------------------------------------------------------------------------


class _Progress:
    """Writes stage/progress/heartbeat to the batch row at most every HEARTBEAT_EVERY."""

    def __init__(self, batch: IngestBatch, callback: Callable[[IngestBatch], None] | None):
        self.batch = batch
        self.callback = callback
        self.last = 0.0

    def update(self, *, stage: str | None = None, progress: int | None = None, force: bool = False, **extra: Any) -> None:
        if stage is not None:
            self.batch.stage = stage
            force = True
        if progress is not None:
            self.batch.progress = max(0, min(100, progress))
        for key, value in extra.items():
            setattr(self.batch, key, value)
        now = time.monotonic()
        if force or now - self.last >= HEARTBEAT_EVERY.total_seconds():
            self.last = now
            self.batch.heartbeat_at = timezone.now()
            IngestBatch.objects.filter(pk=self.batch.pk).update(
                stage=self.batch.stage, progress=self.batch.progress, heartbeat_at=self.batch.heartbeat_at,
                rows_in=self.batch.rows_in,
            )
        if self.callback is not None:
            self.callback(self.batch)


def _claim(batch_id: int) -> IngestBatch | None:
    """Take a pending batch for this process; None if it is not pending (already run or taken),
    another batch of its resource is running, or an earlier batch of its resource is still
    pending (batches of one resource are applied one at a time, in the order they were submitted).

    Several workers may claim at once: the resource's open batches are locked first, in id order
    (so two claimers never deadlock), which serialises the claims of one resource on PostgreSQL."""
    with transaction.atomic():
        code = IngestBatch.objects.filter(pk=batch_id).values_list("resource_code", flat=True).first()
        if code is None:
            return None
        open_batches = IngestBatch.objects.filter(resource_code=code, status__in=[BatchStatus.PENDING, BatchStatus.RUNNING])
        list(open_batches.select_for_update().order_by("pk").values_list("pk", flat=True))
        batch = IngestBatch.objects.filter(pk=batch_id).first()
        if batch is None or batch.status != BatchStatus.PENDING:
            return None
        if _waits_for_another(batch):
            return None  # the task is retried later
        now = timezone.now()
        batch.status = BatchStatus.RUNNING
        batch.stage = BatchStage.READING
        batch.started_at = batch.heartbeat_at = now
        batch.worker_host = socket.gethostname()[:100]
        batch.worker_pid = os.getpid()
        batch.engine = settings.ENGINE
        batch.save(update_fields=["status", "stage", "started_at", "heartbeat_at", "worker_host", "worker_pid", "engine"])
    return batch


def _waits_for_another(batch: IngestBatch) -> bool:
    """Whether `batch` must wait: another batch of its resource is running, or an earlier one of
    its resource is still pending."""
    others = IngestBatch.objects.filter(resource_code=batch.resource_code).exclude(pk=batch.pk)
    return others.filter(status=BatchStatus.RUNNING).exists() or others.filter(
        status=BatchStatus.PENDING, pk__lt=batch.pk
    ).exists()


def waits_for_another(batch_id: int) -> bool:
    batch = IngestBatch.objects.filter(pk=batch_id, status=BatchStatus.PENDING).first()
    return batch is not None and _waits_for_another(batch)


def resource_busy(resource_code: str) -> bool:
    return IngestBatch.objects.filter(resource_code=resource_code, status=BatchStatus.RUNNING).exists()


def custom_rules(resource_code: str) -> list[RuleSpec]:
    return [
        RuleSpec(id=r.pk, kind=r.kind, field=r.field, params=dict(r.params or {}), message=r.message)
        for r in ResourceRule.objects.filter(resource_code=resource_code, enabled=True).order_by("id")
    ]


def _stage(batch: IngestBatch, schema: ResourceSchema, staged: Path, progress: _Progress) -> list[str]:
    from . import readers

    if batch.source_kind == SourceKind.PUSH:
        records = json.loads(Path(batch.file_path).read_text(encoding="utf-8"))
        result = readers.stage_records(records, schema, staged)
    elif batch.source_kind == SourceKind.DATABASE:
        source = batch.source
        if source is None:
            raise DomainError("该批次的数据库来源已被删除", "source")
        url = decrypt_field(source.url_encrypted, f"datahub.source.{source.pk}")
        since = source.watermark_value if source.mode == LoadMode.INCREMENTAL else ""
        from . import pull  # SQLAlchemy and the drivers: only for a database source

        try:
            result, watermark = pull.stage_database(
                url, schema, staged, table=source.table, query=source.query,
                watermark_column=source.watermark_column if source.mode == LoadMode.INCREMENTAL else "",
                since=since, progress=lambda rows: progress.update(rows_in=rows),
            )
        except DomainError as exc:
            detail = getattr(exc, "detail", "")  # the user sees a reference number; the audit keeps the cause
            if detail:
                record_event(
                    batch.created_by, "datahub.source.pull", object_type="data_source", object_id=source.pk,
                    result=AuditResult.FAILURE, details={"batch": batch.pk, "reason": exc.message, "detail": str(detail)[:1000]},
                )
            raise
        batch.report = {**(batch.report or {}), "watermark_from": since, "watermark_to": watermark}
    else:
        path = Path(batch.file_path)
        if not path.is_file():
            raise DomainError("待处理的文件已不存在（可能已被清理），请重新上传", "file")

        def on_bytes(done: int, total: int) -> None:
            progress.update(progress=int(40 * done / total) if total else 0)

        result = readers.stage_file(
            path, schema, staged, file_format=batch.file_format or None, max_bytes=max_file_bytes(), progress=on_bytes,
            encoding=batch.requested_encoding or None,
        )
        batch.encoding = result.encoding
        batch.file_sha256 = batch.file_sha256 or result.sha256
    batch.rows_in = result.rows
    return list(result.notes)


def _prepare_check() -> None:
    """Load the check engine and its code tables (a second or two in a new process) on a helper
    thread while the batch is read: the reader's main thread mostly waits for the parser then."""
    try:
        from . import engine

        engine.warm_up(settings.ENGINE)
    except Exception:  # the check itself loads them again and reports what fails
        log.exception("datahub: preparing the check engine failed")


def run_batch(batch_id: int, *, progress: Callable[[IngestBatch], None] | None = None) -> IngestBatch:
    """Process one batch (the worker calls this; so do the command line and the demo loader)."""
    batch = _claim(batch_id)
    if batch is None:
        return IngestBatch.objects.get(pk=batch_id)
    from . import readers  # noqa: F401 - imported here first, so the helper thread imports only the engine

    preparing = threading.Thread(target=_prepare_check, name="zhengwu-prepare-check", daemon=True)
    preparing.start()
    tracker = _Progress(batch, progress)
    space = work_dir(batch.pk)
    committed: lake.CommitResult | None = None
    previous_version = lake.current_version(batch.resource_code)
    waiting = False
    try:
        schema = schema_for(batch.resource_code)
        resumed = _resume_confirmed(batch, schema, space, previous_version)
        if resumed is not None:
            checked, notes = resumed
        else:
            lapsed = batch.confirmed_at is None and bool(batch.preview)  # a confirmation that came too late
            staged = space / "staged.parquet"
            notes = _stage(batch, schema, staged, tracker)
            preparing.join()
            from . import engine
            from .rules import derive_rules

            if lapsed:
                notes.append("确认后资源已有新的数据版本，已按当前数据重新校验")
            tracker.update(stage=BatchStage.CHECKING, progress=45, rows_in=batch.rows_in)
            rules = derive_rules(schema, custom_rules(batch.resource_code))
            on_cluster = settings.ENGINE == "spark" and not str(settings.SPARK_MASTER).startswith("local")
            references = {
                str(spec.params.get("resource_code")): lake.reference_files(
                    str(spec.params.get("resource_code")), space, copy=on_cluster
                )
                for spec in custom_rules(batch.resource_code) if spec.kind == RuleKind.REFERENCE
            }
            checked = engine.check_batch(
                staged, schema, rules, out_dir=space / "checked", batch_id=batch.pk, engine=settings.ENGINE,
                references=references,
            )
            for field_name, count in (checked.report.get("normalised") or {}).items():
                notes.append(f"{schema.column(field_name).label}：{count} 个值由中文日期写法（如 2006年4月25日、2006/4/25、20060425）转换为标准格式")
            if batch.mode == LoadMode.FULL and checked.rows_accepted:
                preview = lake.preview_full_load(
                    batch.resource_code, schema, checked.accepted, checked.refused if checked.rows_refused else None
                )
                batch.preview = _preview_figures(preview)
                if batch.preview["needs_confirmation"]:
                    _await_confirmation(batch, checked, notes)
                    waiting = True
                    return _reload(batch, progress)
        tracker.update(stage=BatchStage.WRITING, progress=75)
        if checked.rows_refused:
            lake.append_quarantine(batch.resource_code, checked.refused, batch.pk)
        # Read before the commit: the first version of a local table takes the accepted file itself.
        delivered = _delivered_keys(batch, schema, checked) if batch.parent_id and checked.rows_accepted else set()
        if checked.rows_accepted:
            committed = lake.commit_batch(
                batch.resource_code, schema, checked.accepted, mode=batch.mode, batch_id=batch.pk,
                refused=checked.refused if checked.rows_refused else None,
            )
        else:
            notes.append("没有可入库的行，数据版本未变")
        _finish(batch, checked, committed, notes, delivered)
    except Exception as exc:  # every failure ends the batch, with a Chinese reason (failures.py)
        message, field = failure_reason(exc, batch)
        _fail(batch, message, field, committed, previous_version)
    finally:
        if not waiting:  # a waiting batch keeps its checked rows for the commit after confirmation
            _clean(space, batch)
    return _reload(batch, progress)


def _reload(batch: IngestBatch, progress: Callable[[IngestBatch], None] | None) -> IngestBatch:
    batch.refresh_from_db()
    if progress is not None:
        progress(batch)
    return batch


# --- full loads that wait for confirmation -----------------------------------------------------------


def _preview_figures(preview: lake.FullLoadPreview) -> dict[str, Any]:
    """The preview as stored on the batch (and shown on its page and in the API)."""
    threshold = float(settings.INGEST_FULL_DELETE_CONFIRM_SHARE)
    share = round(preview.delete_share, 4)
    return {
        "base_version": preview.base_version, "rows_current": preview.rows_current, "inserted": preview.inserted,
        "updated": preview.updated, "deleted": preview.deleted, "delete_share": share, "threshold": threshold,
        "needs_confirmation": preview.rows_current > 0 and preview.deleted > 0 and share > threshold,
    }


def _checked_files(space: Path) -> tuple[Path, Path]:
    return space / "checked" / "accepted.parquet", space / "checked" / "refused.parquet"


def _await_confirmation(batch: IngestBatch, checked: Any, notes: list[str]) -> None:
    """Stop a full load over the deletion threshold before anything is written: the checked rows
    stay in the work space, the report and the preview on the batch, until it is confirmed,
    cancelled or expires."""
    from .engine import CheckResult

    assert isinstance(checked, CheckResult)
    preview = batch.preview
    report = dict(checked.report)
    report.update({k: v for k, v in (batch.report or {}).items() if k.startswith("watermark")})
    metrics = report.get("metrics") or {}
    now = timezone.now()
    notes = [*notes, (
        f"全量替换将删除 {preview['deleted']} 行（当前 {preview['rows_current']} 行的 {100 * preview['delete_share']:.1f}%，"
        f"超过 {100 * preview['threshold']:g}%），等待确认后才写入"
    )]
    with transaction.atomic():
        IngestBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.AWAITING, stage=BatchStage.CHECKING, progress=75, rows_in=checked.rows_in,
            rows_accepted=checked.rows_accepted, rows_refused=checked.rows_refused, report=report, notes=notes,
            completeness=metrics.get("completeness"), validity=metrics.get("validity"),
            uniqueness=metrics.get("uniqueness"), consistency=metrics.get("consistency"), preview=preview,
            awaiting_since=now, heartbeat_at=now, encoding=batch.encoding[:20], file_sha256=batch.file_sha256,
        )
        _notify_awaiting(batch, preview)
        record_event(
            batch.created_by, "datahub.batch.await_confirmation", object_type="resource", object_id=batch.resource_code,
            details={"batch": batch.pk, **{k: preview[k] for k in ("rows_current", "inserted", "updated", "deleted",
                                                                   "delete_share", "threshold", "base_version")}},
        )


def _notify_awaiting(batch: IngestBatch, preview: dict[str, Any]) -> None:
    """Tell the uploader (or, without one, the unit's 数据管理员) that a full load waits for them."""
    from django.urls import reverse

    from zhengwu.core import notifications

    title = f"批次 {batch.pk} 待确认：全量替换将删除 {preview['deleted']} 行"
    body = (
        f"信息资源 {batch.resource_code} 的批次 {batch.pk} 为全量替换，将删除 {preview['deleted']} 行"
        f"（当前 {preview['rows_current']} 行），已暂停，请确认或取消"
    )
    url = reverse("datahub:batch", args=[batch.pk])
    if batch.created_by_id:
        notifications.notify([batch.created_by], kind="datahub.batch.awaiting", title=title, body=body, url=url)
    else:
        notifications.notify(role=DATA_ADMIN_ROLE, unit=batch.unit, kind="datahub.batch.awaiting", title=title, body=body, url=url)


def _resume_confirmed(
    batch: IngestBatch, schema: ResourceSchema, space: Path, current: int | None
) -> tuple[Any, list[str]] | None:
    """A confirmed full load: its checked rows, to commit without checking again — provided the
    resource is still at the version (and catalog version) the preview was computed on; otherwise
    the confirmation lapses and the batch is checked again (and may wait again)."""
    from .engine import CheckResult

    if batch.confirmed_at is None:
        return None
    accepted, refused = _checked_files(space)
    same = (
        current == (batch.preview or {}).get("base_version") and batch.catalog_version == schema.catalog_version
        and accepted.exists() and (refused.exists() or not batch.rows_refused)
    )
    if not same:
        batch.confirmed_at = batch.confirmed_by = None
        IngestBatch.objects.filter(pk=batch.pk).update(confirmed_at=None, confirmed_by=None, preview={})
        return None
    checked = CheckResult(
        rows_in=batch.rows_in, rows_accepted=batch.rows_accepted, rows_refused=batch.rows_refused,
        accepted=accepted, refused=refused, report=dict(batch.report or {}),
    )
    who = _display_name(batch.confirmed_by)
    notes = [*(batch.notes or []), f"全量替换已由{who}确认"]
    return checked, notes


def _display_name(user: Any) -> str:
    if user is None:
        return ""
    return str(getattr(user, "full_name", "") or getattr(user, "username", ""))


def _waiting_batch(batch_id: int) -> IngestBatch:
    batch = IngestBatch.objects.select_for_update(of=("self",)).select_related("unit", "created_by").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(f"批次 {batch_id} 不存在", "batch")
    return batch


def _ensure_confirmer(actor: Any, batch: IngestBatch, what: str) -> None:
    """The uploader (while still a collector for the resource) or a 数据管理员 of the batch's unit."""
    entry = _entry(batch.resource_code)
    uploader = bool(getattr(actor, "is_authenticated", False)) and batch.created_by_id == getattr(actor, "pk", None)
    if not ((uploader and can_collect(actor, entry.provider)) or is_data_admin(actor, batch.unit)):
        raise PermissionDenied(f"只有提交该批次的人或{batch.unit.name}的数据管理员可以{what}批次 {batch.pk}", "batch")


def may_confirm(actor: Any, batch: IngestBatch) -> bool:
    """Whether `actor` may confirm, cancel or re-check the waiting batch (shows the buttons)."""
    try:
        _ensure_confirmer(actor, batch, "确认")
    except DomainError:
        return False
    return True


def confirmation_expires_at(batch: IngestBatch) -> datetime | None:
    if batch.status != BatchStatus.AWAITING or batch.awaiting_since is None:
        return None
    return batch.awaiting_since + timedelta(hours=int(settings.INGEST_FULL_CONFIRM_EXPIRE_HOURS))


def _ensure_awaiting(batch: IngestBatch, what: str) -> None:
    if batch.status != BatchStatus.AWAITING:
        raise Conflict(f"批次 {batch.pk} 当前状态为“{batch.get_status_display()}”，只有“待确认”的批次可以{what}", "batch")


def do_confirm_full_load(actor: Any, batch_id: int, *, request: HttpRequest | None = None) -> IngestBatch:
    """Confirm a waiting full load: it is queued again and commits the rows checked before —
    refused (stale) when the resource got a new version since, so the figures are never out of date."""
    with _attempt(actor, "datahub.batch.confirm", batch_id, request, object_type="ingest_batch"):
        batch = _waiting_batch(batch_id)
        _ensure_confirmer(actor, batch, "确认")
        _ensure_awaiting(batch, "确认")
        preview = batch.preview or {}
        current = lake.current_version(batch.resource_code)
        if current != preview.get("base_version"):
            shown = "无数据" if current is None else f"v{current}"
            base = preview.get("base_version")
            raise Conflict(
                f"批次 {batch.pk} 校验时资源的当前版本是 v{base}，现在已是 {shown}：待删除的行数可能已经变化，"
                "请先点“重新校验”，按新的预览再确认", "batch",
            )
        schema = schema_for(batch.resource_code)
        if schema.catalog_version != batch.catalog_version:
            raise Conflict(f"批次 {batch.pk} 校验后目录的信息项已变更，请先点“重新校验”再确认", "batch")
        now = timezone.now()
        batch.status, batch.confirmed_by, batch.confirmed_at = BatchStatus.PENDING, actor, now
        batch.save(update_fields=["status", "confirmed_by", "confirmed_at"])
        record_event(
            actor, "datahub.batch.confirm", object_type="ingest_batch", object_id=batch.pk, request=request,
            details={"resource": batch.resource_code, "deleted": preview.get("deleted"),
                     "rows_current": preview.get("rows_current"), "base_version": preview.get("base_version")},
        )
        _enqueue(batch)
    return batch


def do_recheck_batch(actor: Any, batch_id: int, *, request: HttpRequest | None = None) -> IngestBatch:
    """Check a waiting full load again against the resource's current data (after a stale
    confirmation): it is queued from its input, and waits again if it still deletes too much."""
    with _attempt(actor, "datahub.batch.recheck", batch_id, request, object_type="ingest_batch"):
        batch = _waiting_batch(batch_id)
        _ensure_confirmer(actor, batch, "重新校验")
        _ensure_awaiting(batch, "重新校验")
        if not batch.file_path and batch.source_kind != SourceKind.DATABASE:
            raise DomainError(f"批次 {batch.pk} 的原始输入已被清理，请重新提交", "batch")
        _clean(work_dir(batch.pk), batch)
        IngestBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.PENDING, stage=BatchStage.QUEUED, progress=0, preview={}, awaiting_since=None,
            confirmed_by=None, confirmed_at=None,
        )
        record_event(actor, "datahub.batch.recheck", object_type="ingest_batch", object_id=batch.pk, request=request,
                     details={"resource": batch.resource_code})
        _enqueue(batch)
    batch.refresh_from_db()
    return batch


def _cancel(batch: IngestBatch, message: str) -> None:
    IngestBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.CANCELLED, stage=BatchStage.DONE, finished_at=timezone.now(), error_message=message[:1000],
    )
    _clean(work_dir(batch.pk), batch)


def do_cancel_batch(actor: Any, batch_id: int, *, request: HttpRequest | None = None) -> IngestBatch:
    """Cancel a waiting full load: nothing is written; the input is kept as for any ended batch."""
    with _attempt(actor, "datahub.batch.cancel", batch_id, request, object_type="ingest_batch"):
        batch = _waiting_batch(batch_id)
        _ensure_confirmer(actor, batch, "取消")
        _ensure_awaiting(batch, "取消")
        who = _display_name(actor)
        _cancel(batch, f"已由{who}取消：全量替换未执行，数据版本未变")
        record_event(
            actor, "datahub.batch.cancel", object_type="ingest_batch", object_id=batch.pk, request=request,
            details={"resource": batch.resource_code, "deleted": (batch.preview or {}).get("deleted")},
        )
    batch.refresh_from_db()
    return batch


def do_expire_waiting_batches(now: datetime | None = None) -> list[int]:
    """Housekeeping: cancel full loads left waiting longer than INGEST_FULL_CONFIRM_EXPIRE_HOURS."""
    now = now or timezone.now()
    hours = int(settings.INGEST_FULL_CONFIRM_EXPIRE_HOURS)
    cutoff = now - timedelta(hours=hours)
    expired: list[int] = []
    for batch in IngestBatch.objects.filter(status=BatchStatus.AWAITING, awaiting_since__lt=cutoff).order_by("id"):
        with transaction.atomic():
            locked = IngestBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.status != BatchStatus.AWAITING:
                continue
            _cancel(locked, f"等待确认超过 {hours} 小时，已自动取消：全量替换未执行，数据版本未变；如仍需替换请重新提交")
            record_event(
                None, "datahub.batch.expire", object_type="ingest_batch", object_id=batch.pk,
                details={"resource": batch.resource_code, "awaiting_since": batch.awaiting_since.isoformat()
                         if batch.awaiting_since else "", "expire_hours": hours},
            )
        expired.append(batch.pk)
    return expired


def _finish(
    batch: IngestBatch,
    checked: Any,
    committed: lake.CommitResult | None,
    notes: list[str],
    delivered: set[tuple[str, ...]] | None = None,
) -> None:
    report = dict(checked.report)
    report.update({k: v for k, v in (batch.report or {}).items() if k.startswith("watermark")})
    metrics = report.get("metrics") or {}
    now = timezone.now()
    with transaction.atomic():
        batch.status = BatchStatus.SUCCEEDED
        batch.stage = BatchStage.DONE
        batch.progress = 100
        batch.rows_in = checked.rows_in
        batch.rows_accepted = checked.rows_accepted
        batch.rows_refused = checked.rows_refused
        batch.report = report
        batch.notes = notes
        batch.completeness = metrics.get("completeness")
        batch.validity = metrics.get("validity")
        batch.uniqueness = metrics.get("uniqueness")
        batch.consistency = metrics.get("consistency")
        batch.finished_at = batch.heartbeat_at = now
        if committed is not None and not committed.changed:
            notes.append(NO_CHANGE_NOTE)
            batch.notes = notes
        elif committed is not None:
            batch.lake_version = committed.version
            batch.rows_inserted, batch.rows_updated, batch.rows_deleted = (
                committed.inserted, committed.updated, committed.deleted
            )
            ResourceVersion.objects.create(
                resource_code=batch.resource_code, lake_version=committed.version, operation=committed.operation,
                batch=batch, rows_total=committed.rows_total, rows_inserted=committed.inserted,
                rows_updated=committed.updated, rows_deleted=committed.deleted, created_by=batch.created_by,
            )
            listeners.version_changed(batch.resource_code, committed.version)
        batch.save()
        if batch.source_kind == SourceKind.DATABASE and batch.source_id and report.get("watermark_to"):
            DataSource.objects.filter(pk=batch.source_id).update(watermark_value=str(report["watermark_to"]))
        if batch.parent_id and committed is not None and committed.changed:
            _mark_resolved(batch, delivered or set())
        if checked.rows_accepted:
            do_record_data_arrival(batch.resource_code, now, actor=batch.created_by)
        record_event(
            batch.created_by, "datahub.batch.finish", object_type="resource", object_id=batch.resource_code,
            details={"batch": batch.pk, "rows_in": batch.rows_in, "accepted": batch.rows_accepted,
                     "refused": batch.rows_refused, "lake_version": batch.lake_version},
        )


def _delivered_keys(batch: IngestBatch, schema: Any, checked: Any) -> set[tuple[str, ...]]:
    """The keys a correction batch delivers (its accepted rows), as text tuples."""
    keys = [c.field_name for c in schema.keys]
    if not keys:
        return set()
    import pyarrow.dataset as pads

    table = pads.dataset(str(checked.accepted), format="parquet").to_table(columns=keys)
    return {tuple(str(v) for v in row.values()) for row in table.to_pylist()}


def _mark_resolved(batch: IngestBatch, delivered: set[tuple[str, ...]]) -> None:
    """A correction batch resolves the parent's refused rows whose key it now delivered."""
    parent = IngestBatch.objects.select_for_update().get(pk=int(batch.parent_id or 0))
    schema = schema_for(batch.resource_code)
    keys = [c.field_name for c in schema.keys]
    if not keys or not delivered:
        return
    _, refused_rows, _ = lake.quarantine_rows(batch.resource_code, parent.pk, limit=None)
    refused_keys = {tuple(str(r.get(k)) for k in keys) for r in refused_rows}
    resolved = len(refused_keys & delivered)
    parent.rows_resolved = min(parent.rows_refused, parent.rows_resolved + resolved)
    parent.save(update_fields=["rows_resolved"])


def _notify_failed(batch: IngestBatch, message: str) -> None:
    """Tell the uploader (or, for a scheduled pull nobody started, the unit's 数据管理员) that a
    batch failed, in the transaction that marks it failed."""
    from django.urls import reverse

    from zhengwu.core import notifications

    title = f"批次 {batch.pk} 处理失败：{batch.resource_code}"
    body = f"信息资源 {batch.resource_code} 的批次 {batch.pk} 处理失败：{message[:300]}"
    url = reverse("datahub:batch", args=[batch.pk])
    if batch.created_by_id:
        notifications.notify([batch.created_by], kind="datahub.batch.failed", title=title, body=body, url=url)
    else:
        notifications.notify(role=DATA_ADMIN_ROLE, unit=batch.unit, kind="datahub.batch.failed", title=title, body=body, url=url)


def _fail(
    batch: IngestBatch, message: str, field: str, committed: lake.CommitResult | None, previous_version: int | None
) -> None:
    """End a batch as failed. Never raises: whatever goes wrong here is logged and the batch is
    still marked failed (a second error must not leave it 处理中 for recovery to find later)."""
    try:
        if committed is not None and committed.changed:
            # The commit landed but recording it did not: undo it so the lake and the records agree.
            _undo_commit(batch, committed.version, previous_version, f"批次 {batch.pk} 失败，撤销其提交", committed.operation)
    except Exception:
        log.exception("batch %s: undoing its lake commit v%s failed", batch.pk, committed.version if committed else None)
        message = f"{message}；撤销本批次写入的数据版本时出错，请联系系统管理员检查该资源的数据版本"
    try:
        with transaction.atomic():
            IngestBatch.objects.filter(pk=batch.pk).update(
                status=BatchStatus.FAILED, stage=batch.stage, error_message=message[:1000], error_field=field[:100],
                finished_at=timezone.now(), rows_in=batch.rows_in, encoding=batch.encoding[:20],
            )
            record_event(
                batch.created_by, "datahub.batch.finish", object_type="resource", object_id=batch.resource_code,
                result=AuditResult.FAILURE, details={"batch": batch.pk, "reason": message[:500], "field": field},
            )
            _notify_failed(batch, message)
    except Exception:
        log.exception("batch %s: recording its failure failed", batch.pk)
        try:
            IngestBatch.objects.filter(pk=batch.pk).update(
                status=BatchStatus.FAILED, error_message=message[:1000], finished_at=timezone.now()
            )
        except Exception:
            log.exception("batch %s: could not be marked failed; recovery will mark it", batch.pk)


def _undo_commit(
    batch: IngestBatch, version: int, previous_version: int | None, reason: str, operation: str | None = None
) -> int | None:
    """Undo the lake commit `version` a failed or dead batch made: restore the version before it
    (a new commit) and record both — the undone one marked 已撤销 (never served, skipped by the
    change feed) and the restoring one as `undoes` it. A first version is removed instead (the
    resource had no data). Returns the restoring commit's version (None when the table was
    dropped or the commit is not this batch's)."""
    if lake.batch_of_commit(batch.resource_code, version) != batch.pk:
        return None
    if previous_version is None or version == 0:
        lake.drop_unrecorded_table(batch.resource_code)
        ResourceVersion.objects.filter(resource_code=batch.resource_code, lake_version=version).delete()
        listeners.version_changed(batch.resource_code, listeners.NO_DATA)
        return None
    result = lake.restore(batch.resource_code, previous_version, reason=reason, batch_id=batch.pk)
    with transaction.atomic():
        ResourceVersion.objects.update_or_create(
            resource_code=batch.resource_code, lake_version=version,
            defaults={
                "operation": operation or (VersionOperation.REPLACE if batch.mode == LoadMode.FULL else VersionOperation.UPSERT),
                "batch": batch, "undone": True, "reason": reason, "created_by": batch.created_by,
            },
        )
        ResourceVersion.objects.update_or_create(
            resource_code=batch.resource_code, lake_version=result.version,
            defaults={
                "operation": VersionOperation.ROLLBACK, "restored_from": previous_version, "undoes": version,
                "rows_total": result.rows_total, "reason": reason,
            },
        )
        listeners.version_changed(batch.resource_code, result.version)
    return result.version


def _is_input(path: Path) -> bool:
    return path.name == "records.json" or (path.stem == "input" and path.suffix.lower() in FILE_FORMATS)


def _clean(space: Path, batch: IngestBatch | None = None) -> None:
    """Remove a batch's intermediates — everything in its work space except the delivered input
    (`input.<ext>`, `records.json`): staged.parquet, checked/ (accepted, refused, kept rows, DuckDB
    spill) and half-written temporary files. Called when a batch ends, when recovery finds a dead
    batch and by housekeeping; never raises."""
    if not space.is_dir():
        return
    for target in space.iterdir():
        if _is_input(target):
            continue
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
        except OSError:
            log.warning("batch work space %s: could not remove %s", space, target.name, exc_info=True)


def do_recover_interrupted_batches(now: datetime | None = None) -> list[int]:
    """Find batches whose process died (same host and the process is gone, or no heartbeat for
    STALE_AFTER), mark them failed, and undo a lake commit they made but never recorded."""
    now = now or timezone.now()
    host = socket.gethostname()[:100]
    recovered: list[int] = []
    for batch in IngestBatch.objects.filter(status=BatchStatus.RUNNING):
        dead = False
        if batch.worker_host == host and batch.worker_pid and not _pid_alive(batch.worker_pid):
            dead = True
        if batch.heartbeat_at is None or now - batch.heartbeat_at > STALE_AFTER:
            dead = True
        if not dead:
            continue
        if _recover(batch, now):
            recovered.append(batch.pk)
    return recovered


def _recover(batch: IngestBatch, now: datetime) -> bool:
    """Recover one dead batch, holding its row lock throughout, so that when several workers find
    the same dead batch only one undoes its commit and records the recovery."""
    with transaction.atomic():
        locked = IngestBatch.objects.select_for_update().filter(pk=batch.pk, status=BatchStatus.RUNNING).first()
        if locked is None or locked.heartbeat_at != batch.heartbeat_at:
            return False  # another worker recovered it, or it is alive after all
        latest = lake.current_version(batch.resource_code)
        undone = False
        reason = f"批次 {batch.pk} 中断，撤销其提交"
        try:
            if latest is not None and lake.batch_of_commit(batch.resource_code, latest) == batch.pk:
                _undo_commit(batch, latest, latest - 1 if latest > 0 else None, reason)
                undone = True
        except Exception:
            log.exception("recovery of batch %s: undoing lake commit v%s failed", batch.pk, latest)
        _clean(work_dir(batch.pk), batch)  # the dead process left its intermediates
        updated = IngestBatch.objects.filter(pk=batch.pk, status=BatchStatus.RUNNING).update(
            status=BatchStatus.FAILED, finished_at=now,
            error_message="处理进程中断（进程被终止或服务器重启），本批次未生效，之前的数据版本保持不变；请重新提交",
        )
        if updated:
            record_event(
                None, "datahub.batch.recover", object_type="resource", object_id=batch.resource_code,
                details={"batch": batch.pk, "worker": f"{batch.worker_host}:{batch.worker_pid}",
                         "undone_commit": latest if undone else None},
            )
            _notify_failed(batch, "处理进程中断（进程被终止或服务器重启），本批次未生效，请重新提交")
    return bool(updated)


# --- retention: inputs kept INGEST_KEEP_INPUT_DAYS, intermediates never ----------------------------------

ORPHAN_AFTER = timedelta(hours=1)  # a work space without a batch row (its transaction was rolled back)


def _work_root() -> Path:
    return Path(settings.INGEST_WORK_DIR)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (OSError, ValueError):
        return False
    return True


def do_purge_expired_inputs(now: datetime | None = None) -> list[int]:
    """Housekeeping of the batch work spaces (`INGEST_WORK_DIR/batch-<n>/`):

    - the input of a finished batch (uploaded file, pushed records — personal data) is deleted
      once INGEST_KEEP_INPUT_DAYS have passed since the batch ended; each purge is audited
      (`datahub.input.purge`) and the batch keeps its name, size and SHA-256;
    - intermediates of finished batches (staged.parquet, checked/, temporary files) left by a
      process that was killed are removed, and so are empty work spaces;
    - a work space without a batch (its submission was rolled back) is removed after an hour.
    Files the command line submitted in place (outside the work directory) are never touched.
    Returns the batches whose input was purged."""
    now = now or timezone.now()
    root = _work_root()
    purged: list[int] = []
    cutoff = now - timedelta(days=int(settings.INGEST_KEEP_INPUT_DAYS))
    expired = IngestBatch.objects.filter(
        status__in=ENDED_STATUSES, finished_at__lt=cutoff, input_purged_at__isnull=True,
    ).exclude(file_path="")
    for batch in expired.order_by("finished_at", "id"):
        space = root / f"batch-{batch.pk}"
        if not _inside(Path(batch.file_path), space):
            continue  # read in place from the server's own file system (command line)
        try:
            if space.exists():
                shutil.rmtree(space)
        except OSError:
            log.warning("retention: could not remove the work space of batch %s", batch.pk, exc_info=True)
            continue
        with transaction.atomic():
            IngestBatch.objects.filter(pk=batch.pk).update(input_purged_at=now, file_path="")
            record_event(
                None, "datahub.input.purge", object_type="resource", object_id=batch.resource_code,
                details={"batch": batch.pk, "file": batch.file_name, "size": batch.file_size,
                         "sha256": batch.file_sha256, "finished_at": batch.finished_at.isoformat() if batch.finished_at else "",
                         "keep_days": int(settings.INGEST_KEEP_INPUT_DAYS)},
            )
        purged.append(batch.pk)
    _sweep_work_spaces(root, now)
    return purged


def _sweep_work_spaces(root: Path, now: datetime) -> None:
    if not root.is_dir():
        return
    spaces: dict[int, Path] = {}
    for path in root.iterdir():
        digits = path.name.removeprefix("batch-")
        if path.is_dir() and path.name.startswith("batch-") and digits.isascii() and digits.isdigit():
            spaces[int(digits)] = path
    if not spaces:
        return
    states = dict(IngestBatch.objects.filter(pk__in=list(spaces)).values_list("pk", "status"))
    for number, space in spaces.items():
        status = states.get(number)
        if status is None:
            age = now.timestamp() - space.stat().st_mtime
            if age > ORPHAN_AFTER.total_seconds():
                shutil.rmtree(space, ignore_errors=True)
                record_event(
                    None, "datahub.input.purge", object_type="work_space", object_id=space.name,
                    details={"batch": number, "reason": "没有对应批次（提交未完成）的工作目录"},
                )
            continue
        if status in ENDED_STATUSES:
            _clean(space)
            with contextlib.suppress(OSError):
                space.rmdir()  # only when empty (nothing to keep)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) no longer runs.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


# --- versions -------------------------------------------------------------------------------------------


def do_rollback(
    actor: Any, resource_code: str, version: int, *, reason: str, request: HttpRequest | None = None
) -> ResourceVersion:
    """Make an earlier version current again (a new version whose content is that version)."""
    with _attempt(actor, "datahub.version.rollback", resource_code, request, {"to": version}):
        entry = _entry(resource_code)
        _ensure_collector(actor, entry)
        if not (reason or "").strip():
            raise DomainError("请填写回滚原因", "reason")
        limits.check_length(reason.strip(), limits.NOTE, "回滚原因", "reason")
        if resource_busy(resource_code):
            raise Conflict("该资源有批次正在处理，请待其完成后再回滚", "version")
        if ResourceVersion.objects.filter(resource_code=resource_code, lake_version=version, undone=True).exists():
            raise DomainError(f"版本 {version} 已撤销（写入它的批次失败或中断），不能回滚到该版本", "version")
        result = lake.restore(resource_code, version, reason=reason.strip())
        created = ResourceVersion.objects.create(
            resource_code=resource_code, lake_version=result.version, operation=VersionOperation.ROLLBACK,
            restored_from=version, rows_total=result.rows_total, reason=reason.strip(),
            created_by=actor,
        )
        listeners.version_changed(resource_code, result.version)
        record_event(
            actor, "datahub.version.rollback", object_type="resource", object_id=resource_code, request=request,
            details={"to": version, "new_version": result.version, "reason": reason.strip()[:300]},
        )
    return created


# --- sources (a unit's own database) ----------------------------------------------------------------------


def _cycle_next(cycle: str, after: datetime) -> datetime | None:
    if cycle == UpdateCycle.REALTIME:
        return after + timedelta(minutes=15)
    period = UPDATE_CYCLE_PERIOD.get(cycle)
    return None if period is None else after + period


def do_create_source(
    actor: Any, resource_code: str, *, name: str, url: str, table: str = "", query: str = "",
    mode: str = LoadMode.FULL, watermark_column: str = "", scheduled: bool = True, request: HttpRequest | None = None,
) -> DataSource:
    """Register a unit's database as a source. The connection is tried and the columns checked
    now; the URL (with its password) is stored encrypted with SM4."""
    from . import pull

    with _attempt(actor, "datahub.source.create", resource_code, request, {"name": name}):
        entry = _entry(resource_code)
        _ensure_collector(actor, entry)
        schema = schema_for(resource_code)
        name, url, table, query = (name or "").strip(), (url or "").strip(), (table or "").strip(), (query or "").strip()
        if not name:
            raise DomainError("请填写来源名称", "name")
        limits.check_length(name, 100, "来源名称", "name")
        limits.check_length(table, 200, "表名", "table")
        limits.check_length(query, limits.QUERY, "查询语句", "query")
        if not url:
            raise DomainError("请填写数据库连接地址（SQLAlchemy URL，如 postgresql+psycopg://用户:口令@主机/库）", "url")
        if bool(table) == bool(query):
            raise DomainError("表名和查询语句必须且只能填写一项", "table")
        if mode not in LoadMode.values:
            raise DomainError("抽取方式只能是 full（全量）或 incremental（增量）", "mode")
        if mode == LoadMode.INCREMENTAL and not watermark_column:
            raise DomainError("增量抽取必须指定增量标识列（如更新时间或自增编号）", "watermark_column")
        pull.check_source(url, table, query, schema, watermark_column if mode == LoadMode.INCREMENTAL else "")
        source = DataSource.objects.create(
            unit=entry.provider, resource_code=resource_code, name=name, url_encrypted="",
            url_display=pull.mask_url(url)[:300], table=table, query=query, mode=mode,
            watermark_column=watermark_column if mode == LoadMode.INCREMENTAL else "", scheduled=scheduled,
            next_run_at=_cycle_next(entry.update_cycle, timezone.now()) if scheduled else None, created_by=actor,
        )
        source.url_encrypted = encrypt_field(url, f"datahub.source.{source.pk}")
        source.save(update_fields=["url_encrypted"])
        record_event(
            actor, "datahub.source.create", object_type="data_source", object_id=source.pk, request=request,
            details={"resource": resource_code, "name": name, "url": source.url_display, "mode": mode},
        )
    return source


def do_delete_source(actor: Any, source: DataSource, *, request: HttpRequest | None = None) -> None:
    with _attempt(actor, "datahub.source.delete", source.pk, request, object_type="data_source"):
        entry = _entry(source.resource_code)
        _ensure_collector(actor, entry)
        record_event(
            actor, "datahub.source.delete", object_type="data_source", object_id=source.pk, request=request,
            details={"resource": source.resource_code, "name": source.name},
        )
        source.delete()


def do_run_source(actor: Any, source: DataSource, *, request: HttpRequest | None = None, scheduled: bool = False) -> IngestBatch:
    """Queue a pull from the source (now, or because its update cycle came round)."""
    with _attempt(actor, "datahub.source.run", source.pk, request, object_type="data_source"):
        entry = _entry(source.resource_code)
        if not scheduled:
            _ensure_collector(actor, entry)
        if not source.enabled:
            raise DomainError("该来源已停用", "source")
        schema = schema_for(source.resource_code)
        batch = _new_batch(
            actor if not scheduled else source.created_by, entry, schema, source_kind=SourceKind.DATABASE,
            source=source, mode=source.mode, file_name=source.name, file_format="database",
        )
        now = timezone.now()
        source.last_run_at = now
        source.next_run_at = _cycle_next(entry.update_cycle, now) if source.scheduled else None
        source.save(update_fields=["last_run_at", "next_run_at"])
        record_event(
            actor if not scheduled else None, "datahub.source.run", object_type="data_source", object_id=source.pk,
            request=request, details={"batch": batch.pk, "scheduled": scheduled},
        )
        _enqueue(batch)
    return batch


def do_run_due_sources(now: datetime | None = None) -> list[int]:
    """Queue the scheduled pulls whose time has come (their entry's update cycle)."""
    now = now or timezone.now()
    started: list[int] = []
    for source in DataSource.objects.filter(enabled=True, scheduled=True, next_run_at__lte=now):
        try:
            started.append(do_run_source(None, source, scheduled=True).pk)
        except DomainError as exc:
            log.warning("scheduled pull of source %s refused: %s", source.pk, exc.message)
    return started


# --- push tokens ------------------------------------------------------------------------------------------


def _token_digest(token: str) -> str:
    return hmac_sm3(settings.SECRET_KEY.encode(), token.encode()).hex()


def do_create_push_token(
    actor: Any, unit: Unit, *, name: str, resource_codes: list[str] | None = None, request: HttpRequest | None = None
) -> tuple[PushToken, str]:
    """A credential for one of the unit's systems; returns (token row, the token — shown once)."""
    with _attempt(actor, "datahub.token.create", unit.pk, request, object_type="unit"):
        if not is_data_admin(actor, unit):
            raise PermissionDenied(f"只有{unit.name}的数据管理员可以为本单位系统签发推送令牌")
        name = (name or "").strip()
        if not name:
            raise DomainError("请填写使用该令牌的系统名称", "name")
        codes = sorted({c.strip() for c in (resource_codes or []) if c.strip()})
        for code in codes:
            entry = _entry(code)
            if entry.provider_id != unit.pk:
                raise DomainError(f"资源 {code} 不是{unit.name}提供的资源", "resource_codes")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = PushToken.objects.create(
            unit=unit, name=name, prefix=secret[:12], digest=_token_digest(secret), resource_codes=codes, created_by=actor
        )
        record_event(
            actor, "datahub.token.create", object_type="push_token", object_id=token.pk, request=request,
            details={"unit": unit.name, "name": name, "prefix": token.prefix, "resources": codes},
        )
    return token, secret


def do_revoke_push_token(actor: Any, token: PushToken, *, request: HttpRequest | None = None) -> PushToken:
    with _attempt(actor, "datahub.token.revoke", token.pk, request, object_type="push_token"):
        if not is_data_admin(actor, token.unit):
            raise PermissionDenied(f"只有{token.unit.name}的数据管理员可以吊销本单位的推送令牌")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
        record_event(actor, "datahub.token.revoke", object_type="push_token", object_id=token.pk, request=request,
                     details={"prefix": token.prefix})
    return token


def authenticate_push_token(raw: str) -> PushToken | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = PushToken.objects.select_related("unit").filter(digest=_token_digest(raw), revoked_at__isnull=True).first()
    if token is not None:
        PushToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def _ensure_token_scope(token: PushToken, entry: CatalogEntry) -> None:
    if token.revoked_at is not None:
        raise PermissionDenied("推送令牌已吊销")
    if entry.provider_id != token.unit_id:
        raise PermissionDenied(f"该令牌属于{token.unit.name}，不能推送{entry.provider.name}的资源")
    if token.resource_codes and entry.resource_code not in token.resource_codes:
        raise PermissionDenied(f"该令牌未被授权推送资源 {entry.resource_code}")


# --- custom rules --------------------------------------------------------------------------------------


def do_create_rule(
    actor: Any, resource_code: str, *, kind: str, field: str, params: dict[str, Any], message: str = "",
    request: HttpRequest | None = None,
) -> ResourceRule:
    """Add a custom rule; its parameters are checked against the resource's schema now."""
    from .rules import check_rule_spec

    with _attempt(actor, "datahub.rule.create", resource_code, request, {"kind": kind, "field": field}):
        entry = _entry(resource_code)
        _ensure_collector(actor, entry)
        schema = schema_for(resource_code)
        spec = RuleSpec(id=0, kind=kind, field=(field or "").strip(), params=dict(params or {}), message=(message or "").strip())
        limits.check_length(spec.message, 200, "不通过时的提示", "message")
        check_rule_spec(spec, schema)
        if spec.kind == RuleKind.REFERENCE:
            target = schema_for(str(spec.params.get("resource_code", "")))  # must be a published resource
            key = str(spec.params.get("key", ""))
            if key not in target.field_names:
                raise DomainError(f"被引用资源 {target.resource_code}（{target.name}）没有信息项 {key}", "params")
        rule = ResourceRule.objects.create(
            resource_code=resource_code, kind=spec.kind, field=spec.field, params=spec.params, message=spec.message,
            created_by=actor,
        )
        record_event(
            actor, "datahub.rule.create", object_type="resource", object_id=resource_code, request=request,
            details={"rule": rule.pk, "kind": kind, "field": spec.field, "params": spec.params},
        )
    return rule


def do_delete_rule(actor: Any, rule: ResourceRule, *, request: HttpRequest | None = None) -> None:
    with _attempt(actor, "datahub.rule.delete", rule.resource_code, request, {"rule": rule.pk}):
        entry = _entry(rule.resource_code)
        _ensure_collector(actor, entry)
        record_event(
            actor, "datahub.rule.delete", object_type="resource", object_id=rule.resource_code, request=request,
            details={"rule": rule.pk, "kind": rule.kind, "field": rule.field},
        )
        rule.delete()
