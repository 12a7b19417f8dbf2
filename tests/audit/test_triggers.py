"""The database refuses UPDATE and DELETE of audit records and checkpoints (whichever backend runs)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from zhengwu.audit.models import AuditChainHead, AuditCheckpoint, AuditRecord
from zhengwu.audit.services import do_create_checkpoint, record_event

from .conftest import is_postgres


def _execute(sql: str, params: list[Any] | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_update_of_a_record_is_refused(make_records: Any) -> None:
    make_records(3)
    with pytest.raises(IntegrityError, match="不可修改"):
        _execute("UPDATE audit_auditrecord SET action = 'x' WHERE seq = 2")
    assert AuditRecord.objects.get(seq=2).action == "test.event"


def test_orm_update_and_delete_are_refused(make_records: Any) -> None:
    make_records(2)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditRecord.objects.filter(seq=1).update(result="failure")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditRecord.objects.filter(seq=1).delete()
    assert AuditRecord.objects.count() == 2


def test_delete_of_a_fresh_record_is_refused(make_records: Any) -> None:
    make_records(3)
    with pytest.raises(IntegrityError, match="不可删除"):
        _execute("DELETE FROM audit_auditrecord WHERE seq = 2")
    assert AuditRecord.objects.count() == 3


def test_delete_of_a_fresh_record_is_refused_even_with_the_purge_flag(make_records: Any) -> None:
    make_records(2)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("SET LOCAL zhengwu.audit_purge = 'on'")
        cursor.execute("DELETE FROM audit_auditrecord WHERE seq = 1")
    assert AuditRecord.objects.count() == 2


def _old_record() -> AuditRecord:
    old = timezone.now() - dt.timedelta(days=230)
    with mock.patch("django.utils.timezone.now", return_value=old):
        return record_event(None, "test.old")


def test_delete_of_an_old_record_needs_the_purge_flag_on_postgresql(db: Any) -> None:
    record = _old_record()
    if is_postgres():
        with pytest.raises(IntegrityError, match="不可删除"):
            _execute("DELETE FROM audit_auditrecord WHERE seq = %s", [record.seq])
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL zhengwu.audit_purge = 'on'")
            cursor.execute("DELETE FROM audit_auditrecord WHERE seq = %s", [record.seq])
    else:
        # SQLite has no session variables: the age rule alone guards deletion there.
        _execute("DELETE FROM audit_auditrecord WHERE seq = %s", [record.seq])
    assert not AuditRecord.objects.filter(seq=record.seq).exists()


def test_update_of_an_old_record_is_refused(db: Any) -> None:
    record = _old_record()
    with pytest.raises(IntegrityError, match="不可修改"):
        _execute("UPDATE audit_auditrecord SET actor = 'x' WHERE seq = %s", [record.seq])


def test_checkpoints_cannot_be_changed_or_deleted(make_records: Any) -> None:
    make_records(2)
    checkpoint = do_create_checkpoint(None)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(hash="0" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete()
    assert AuditCheckpoint.objects.get(pk=checkpoint.pk).hash == checkpoint.hash


def test_chain_head_stays_updatable(make_records: Any) -> None:
    make_records(2)
    record_event(None, "test.more")
    assert AuditChainHead.objects.get(id=1).seq == 3


@pytest.mark.django_db(transaction=True)
def test_flush_of_the_whole_database_still_works(make_records: Any) -> None:
    # Transactional tests end with Django's flush; the guards must not break it on either backend.
    make_records(2)
    do_create_checkpoint(None)
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    assert AuditRecord.objects.count() == 0
    assert AuditCheckpoint.objects.count() == 0
    # ...and the guards are back on after it.
    make_records(1)
    with pytest.raises(IntegrityError):
        _execute("DELETE FROM audit_auditrecord")
