"""Retention: records younger than six calendar months are never purged; purging keeps the chain verifiable."""

from __future__ import annotations

import datetime as dt
import stat
from typing import Any
from unittest import mock

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from zhengwu.audit.models import AuditCheckpoint, AuditRecord
from zhengwu.audit.queries import checkpoint_signature_valid, verify_chain
from zhengwu.audit.services import do_purge_records, record_event, retention_cutoff
from zhengwu.core.errors import DomainError, PermissionDenied

from .conftest import disable_guards, forged_values, raw_insert


def make_old_records(n: int, months_ago: int = 7) -> list[AuditRecord]:
    """Records written `months_ago` months ago (the clock is moved back, so the hash chain stays honest)."""
    base = timezone.now() - relativedelta(months=months_ago)
    records = []
    for i in range(n):
        with mock.patch("django.utils.timezone.now", return_value=base + dt.timedelta(minutes=i)):
            records.append(record_event(None, "test.old", object_id=i, details={"i": i}))
    return records


def test_cutoff_is_six_calendar_months(settings: Any) -> None:
    settings.AUDIT_RETENTION_MONTHS = 6
    now = dt.datetime(2026, 8, 31, 12, 0, tzinfo=dt.UTC)
    assert retention_cutoff(now) == dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC)
    now = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)
    assert retention_cutoff(now) == dt.datetime(2026, 5, 21, 8, 0, tzinfo=dt.UTC)  # 184 days, not 180


def test_purge_refuses_a_date_within_the_retention_period(db: Any) -> None:
    make_old_records(3)
    young = record_event(None, "test.young")
    too_late = (timezone.localtime() - relativedelta(months=5)).date()
    with pytest.raises(DomainError, match="至少保留 6 个月") as excinfo:
        do_purge_records(None, too_late)
    assert excinfo.value.field == "before"
    assert AuditRecord.objects.filter(action="test.old").count() == 3
    assert AuditRecord.objects.filter(pk=young.pk).exists()
    refusal = AuditRecord.objects.order_by("-seq").first()
    assert refusal is not None
    assert (refusal.action, refusal.result) == ("audit.purge", "failure")
    assert verify_chain().ok


def test_purge_refuses_today(db: Any) -> None:
    make_old_records(1)
    with pytest.raises(DomainError):
        do_purge_records(None, timezone.now())


def test_purge_deletes_old_records_and_keeps_the_chain_verifiable(db: Any) -> None:
    old = make_old_records(5)
    young = [record_event(None, "test.young", details={"n": n}) for n in range(3)]
    before = (timezone.localtime() - relativedelta(months=6, days=1)).date()

    outcome = do_purge_records(None, before)

    assert outcome.purged_count == 5
    assert (outcome.first_seq, outcome.last_seq) == (1, 5)
    assert not AuditRecord.objects.filter(action="test.old").exists()
    assert AuditRecord.objects.filter(pk__in=[r.pk for r in young]).count() == 3
    checkpoint = outcome.checkpoint
    assert checkpoint is not None
    assert checkpoint.kind == AuditCheckpoint.KIND_PURGE
    assert (checkpoint.seq, checkpoint.hash) == (5, old[-1].hash)
    assert checkpoint.purged_count == 5
    assert checkpoint_signature_valid(checkpoint)
    assert "PUBLIC KEY" in checkpoint.public_key

    result = verify_chain()
    assert result.ok, result.message
    assert result.start_seq == 6
    assert result.checked == 4  # three young records and the purge's own record
    purge_event = AuditRecord.objects.order_by("-seq").first()
    assert purge_event is not None
    assert purge_event.action == "audit.purge"
    assert purge_event.details["purged_count"] == 5
    assert purge_event.details["checkpoint_id"] == checkpoint.pk


def test_purge_never_removes_a_record_newer_than_before_even_if_out_of_order(db: Any) -> None:
    make_old_records(2, months_ago=9)
    make_old_records(1, months_ago=7)  # seq 3: newer than the purge date
    make_old_records(1, months_ago=9)  # seq 4: old, but after #3 in the chain
    before = (timezone.localtime() - relativedelta(months=8)).date()
    outcome = do_purge_records(None, before)
    assert (outcome.purged_count, outcome.last_seq) == (2, 2)
    assert list(AuditRecord.objects.order_by("seq").values_list("seq", flat=True))[:2] == [3, 4]
    assert verify_chain().ok


def test_purge_with_nothing_old_is_a_no_op(db: Any) -> None:
    record_event(None, "test.young")
    outcome = do_purge_records(None, (timezone.localtime() - relativedelta(months=7)).date())
    assert outcome.purged_count == 0
    assert outcome.checkpoint is None
    assert not AuditCheckpoint.objects.exists()
    assert verify_chain().ok


def test_second_purge_starts_from_the_latest_checkpoint(db: Any) -> None:
    make_old_records(3, months_ago=10)
    make_old_records(3, months_ago=8)
    record_event(None, "test.young")
    do_purge_records(None, (timezone.localtime() - relativedelta(months=9)).date())
    outcome = do_purge_records(None, (timezone.localtime() - relativedelta(months=7)).date())
    assert (outcome.first_seq, outcome.last_seq) == (4, 6)
    result = verify_chain()
    assert result.ok, result.message
    assert result.start_seq == 7
    assert AuditCheckpoint.objects.filter(kind="purge").count() == 2


def test_purge_is_refused_when_the_chain_is_broken(db: Any) -> None:
    old = make_old_records(3)
    record_event(None, "test.young")
    disable_guards()
    raw_insert(forged_values(100, old[-1].hash, recompute=True))
    with pytest.raises(DomainError, match="审计链校验未通过，拒绝清理"):
        do_purge_records(None, (timezone.localtime() - relativedelta(months=6, days=2)).date())
    assert AuditRecord.objects.filter(action="test.old").count() == 3


def test_records_left_behind_in_a_purged_range_are_detected(db: Any) -> None:
    old = make_old_records(4)
    record_event(None, "test.young")
    do_purge_records(None, (timezone.localtime() - relativedelta(months=6, days=2)).date())
    disable_guards()
    raw_insert(forged_values(2, old[0].hash, recompute=True))
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (2, "inserted")
    assert "该段已被清理" in result.problem.message


def test_deleting_the_first_record_after_a_purge_is_detected(db: Any) -> None:
    make_old_records(3)
    record_event(None, "test.young")
    record_event(None, "test.young")
    do_purge_records(None, (timezone.localtime() - relativedelta(months=6, days=2)).date())
    disable_guards()
    from .conftest import raw_delete

    raw_delete(4)
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (4, "removed")


def test_only_the_audit_admin_may_purge(system_admin: Any, audit_admin: Any) -> None:
    make_old_records(2)
    before = (timezone.localtime() - relativedelta(months=6, days=2)).date()
    with pytest.raises(PermissionDenied):
        do_purge_records(system_admin, before)
    outcome = do_purge_records(audit_admin, before)
    assert outcome.purged_count == 2
    assert AuditRecord.objects.order_by("-seq").first().actor == "auditor"  # type: ignore[union-attr]


def test_signing_key_is_created_on_first_use_with_mode_0600(db: Any, signing_key_file: Any) -> None:
    assert not signing_key_file.exists()
    make_old_records(1)
    do_purge_records(None, (timezone.localtime() - relativedelta(months=6, days=2)).date())
    assert signing_key_file.exists()
    assert stat.S_IMODE(signing_key_file.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in signing_key_file.read_bytes()
