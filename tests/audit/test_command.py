"""`zhengwu audit verify | purge | checkpoint` and the periodic checkpoint task."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from zhengwu.audit.models import AuditCheckpoint, AuditRecord
from zhengwu.audit.queries import checkpoint_signature_valid, verify_chain

from .conftest import disable_guards, raw_delete, raw_update_details
from .test_purge import make_old_records


def run(*args: str) -> str:
    out = StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


def test_verify_exits_0_with_a_summary(make_records: Any) -> None:
    make_records(4)
    output = run("verify")
    assert "审计链完整" in output
    assert "已核验 4 条记录" in output


def test_verify_exits_1_naming_the_altered_record(make_records: Any) -> None:
    make_records(4)
    disable_guards()
    raw_update_details(2, {"i": "x"})
    with pytest.raises(CommandError) as excinfo:
        run("verify")
    assert excinfo.value.returncode == 1
    assert "记录 #2 的内容被篡改（哈希不符）" in str(excinfo.value)


def test_verify_exits_1_naming_the_removed_record(make_records: Any) -> None:
    make_records(4)
    disable_guards()
    raw_delete(3)
    with pytest.raises(CommandError, match="缺少记录 #3") as excinfo:
        run("verify")
    assert excinfo.value.returncode == 1


def test_verify_from_the_command_line_process_exits_1(make_records: Any) -> None:
    # run_from_argv turns CommandError into SystemExit(1), as `zhengwu audit verify` does.
    from zhengwu.audit.management.commands.audit import Command

    make_records(2)
    disable_guards()
    raw_delete(1)
    command = Command(stdout=StringIO(), stderr=StringIO())
    with pytest.raises(SystemExit) as excinfo:
        command.run_from_argv(["zhengwu", "audit", "verify"])
    assert excinfo.value.code == 1


def test_purge_refused_within_retention_exits_non_zero(db: Any) -> None:
    make_old_records(2)
    too_late = (timezone.localtime() - relativedelta(months=3)).date().isoformat()
    with pytest.raises(CommandError, match="至少保留 6 个月") as excinfo:
        run("purge", "--before", too_late, "--yes")
    assert excinfo.value.returncode == 1
    assert AuditRecord.objects.filter(action="test.old").count() == 2


def test_purge_rejects_a_malformed_date(db: Any) -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("purge", "--before", "2026-13-01", "--yes")


def test_purge_needs_confirmation_when_not_interactive(db: Any) -> None:
    make_old_records(2)
    before = (timezone.localtime() - relativedelta(months=6, days=2)).date().isoformat()
    with pytest.raises(CommandError, match="--yes"):
        run("purge", "--before", before)
    assert AuditRecord.objects.filter(action="test.old").count() == 2


def test_purge_with_yes_deletes_and_signs(db: Any) -> None:
    make_old_records(3)
    before = (timezone.localtime() - relativedelta(months=6, days=2)).date().isoformat()
    output = run("purge", "--before", before, "--yes")
    assert "已清理 3 条审计记录（#1 至 #3）" in output
    assert not AuditRecord.objects.filter(action="test.old").exists()
    assert verify_chain().ok
    assert "审计链完整" in run("verify")


def test_checkpoint_command_signs_the_head(make_records: Any) -> None:
    records = make_records(3)
    output = run("checkpoint")
    assert "已签署检查点：链位置 #3" in output
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.kind, checkpoint.seq, checkpoint.hash) == ("periodic", 3, records[-1].hash)
    assert checkpoint_signature_valid(checkpoint)
    assert AuditRecord.objects.order_by("-seq").first().action == "audit.checkpoint"  # type: ignore[union-attr]


def test_checkpoint_refused_on_a_broken_chain(make_records: Any) -> None:
    make_records(3)
    disable_guards()
    raw_update_details(3, {"i": "x"})
    with pytest.raises(CommandError, match="拒绝签署检查点"):
        run("checkpoint")
    assert not AuditCheckpoint.objects.exists()


def test_subcommand_is_required(db: Any) -> None:
    with pytest.raises(CommandError):
        call_command("audit")


def test_periodic_checkpoint_task(make_records: Any) -> None:
    from zhengwu.audit.tasks import create_periodic_checkpoint

    make_records(2)
    outcome = create_periodic_checkpoint.call()  # what the worker runs
    assert outcome["seq"] == 2
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.kind == "periodic"
    assert verify_chain().ok
