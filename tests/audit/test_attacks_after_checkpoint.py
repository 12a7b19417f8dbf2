"""The review's two attacks on the audit trail, and what now refuses them.

Both passed `zhengwu audit verify` before: with file access, drop the trigger, edit record #N and
re-hash the chain and head after the last (daily) checkpoint; or delete the last ten records and
move the head back. Each test first shows that the database's own chain is still consistent
after the attack (`verify_chain().ok` — exactly what the old `verify` checked, so the old code
answered "审计链完整"), then that `zhengwu audit verify` now fails and names the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from zhengwu.audit import signing
from zhengwu.audit.models import AuditChainHead, AuditCheckpoint, AuditRecord
from zhengwu.audit.queries import compare_with_sink, verify_audit_log, verify_chain
from zhengwu.audit.services import do_create_checkpoint
from zhengwu.audit.tasks import create_periodic_checkpoint
from zhengwu.core import periodic
from zhengwu.core.crypto import sm2_generate_private_key_pem, sm2_public_key_pem

from .conftest import (
    SyslogCollector,
    disable_guards,
    enable_guards,
    raw_delete,
    raw_update_details,
    rewrite_chain_from,
)


def verify_command(*args: str) -> str:
    out = StringIO()
    call_command("audit", "verify", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def written(sink_file: Any, transactional_db: Any, make_records: Any) -> Iterator[Any]:
    """Write `n` records the way the platform does: really committed, each then copied to the sink.

    These tests commit for real (transactional_db), so the triggers an attack drops stay dropped
    until they are put back here.
    """

    def write(n: int) -> list[AuditRecord]:
        records: list[AuditRecord] = make_records(n)
        return records

    yield write
    enable_guards()


def test_the_checkpoint_job_runs_every_minute_by_default() -> None:
    every = {job.name: job.every for job in periodic.jobs()}
    assert every["audit.checkpoint"] == dt.timedelta(seconds=60)  # was one day
    assert every["audit.ship"] == dt.timedelta(minutes=1)


def test_no_checkpoint_is_signed_when_nothing_arrived(make_records: Any) -> None:
    assert create_periodic_checkpoint.call()["checkpoint_id"] is None  # empty log
    make_records(3)
    first = create_periodic_checkpoint.call()
    assert first["seq"] == 3
    assert create_periodic_checkpoint.call()["checkpoint_id"] is None
    assert create_periodic_checkpoint.call()["checkpoint_id"] is None
    assert AuditRecord.objects.count() == 3  # the automatic run writes no record of its own
    make_records(1)
    assert create_periodic_checkpoint.call()["seq"] == 4
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [3, 4]


def test_verify_passes_when_database_and_copy_agree(written: Any) -> None:
    written(5)
    create_periodic_checkpoint.call()
    output = verify_command()
    assert "审计链完整：已核验 5 条记录（#1 至 #5），1 个已签名检查点均有效" in output
    assert "逐条比对 5 条一致" in output


# --- attack (a): edit record #N and re-hash the chain and head after the last checkpoint -------
def test_attack_edit_after_the_last_checkpoint_is_named_by_the_external_copy(written: Any) -> None:
    written(12)
    assert create_periodic_checkpoint.call()["seq"] == 12  # the minute's checkpoint
    written(8)  # #13 … #20 arrive within the next minute
    disable_guards()
    raw_update_details(15, {"i": "改写后的内容"})
    rewrite_chain_from(15)  # every later hash and the chain head recomputed

    assert verify_chain().ok  # the database alone is consistent: the old `verify` passed here
    with pytest.raises(CommandError) as excinfo:
        verify_command()
    message = str(excinfo.value)
    assert excinfo.value.returncode == 1
    assert "记录 #15 的字段 详情（details）与外部副本不符" in message
    assert '数据库中为 {"i": "改写后的内容"}，外部副本中为 {"i": 2}' in message
    assert "问题类型：篡改，字段：details" in message
    result = verify_audit_log()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind, result.problem.field) == (15, "altered", "details")


def test_attack_edit_before_the_minute_checkpoint_fails_even_on_the_database_alone(written: Any) -> None:
    written(12)
    create_periodic_checkpoint.call()
    written(3)
    disable_guards()
    raw_update_details(8, {"i": "改写"})
    rewrite_chain_from(8)

    chain = verify_chain()  # the signed checkpoint of #12, a minute old, no longer matches
    assert chain.problem is not None
    assert (chain.problem.seq, chain.problem.kind) == (12, "checkpoint")
    result = verify_audit_log()  # the copy names the edited record itself
    assert result.problem is not None
    assert (result.problem.seq, result.problem.field) == (8, "details")
    assert any("记录 #12 的哈希与" in note for note in result.notes)


def test_attack_edit_of_the_actor_is_named_with_that_field(written: Any) -> None:
    written(4)
    disable_guards()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET actor = %s WHERE seq = %s", ["someone_else", 3])
    rewrite_chain_from(3)
    assert verify_chain().ok
    with pytest.raises(CommandError, match=r"记录 #3 的字段 操作人（actor）与外部副本不符"):
        verify_command()


# --- attack (b): delete the last ten records and move the head back ---------------------------
def test_attack_delete_the_last_ten_and_move_the_head_back_names_the_first_missing(written: Any) -> None:
    written(20)
    create_periodic_checkpoint.call()
    records = written(10)  # #21 … #30
    disable_guards()
    for record in records:
        raw_delete(record.seq)
    AuditChainHead.objects.filter(id=1).update(seq=20, hash=AuditRecord.objects.get(seq=20).hash)

    assert verify_chain().ok  # the database alone is consistent: the old `verify` passed here
    with pytest.raises(CommandError) as excinfo:
        verify_command()
    assert excinfo.value.returncode == 1
    assert "数据库中缺少记录 #21（外部副本中有：" in str(excinfo.value)
    assert "记录已被删除" in str(excinfo.value)
    result = verify_audit_log()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (21, "removed")


def test_attack_delete_with_checkpoints_also_deleted_is_still_named(written: Any) -> None:
    written(20)
    create_periodic_checkpoint.call()
    written(10)
    create_periodic_checkpoint.call()  # this checkpoint vouches for #30 …
    disable_guards()
    AuditCheckpoint.objects.filter(seq=30).delete()  # … so the attacker deletes it too
    for seq in range(21, 31):
        raw_delete(seq)
    AuditChainHead.objects.filter(id=1).update(seq=20, hash=AuditRecord.objects.get(seq=20).hash)
    assert verify_chain().ok
    result = verify_audit_log()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (21, "removed")


def test_new_records_written_after_the_attack_do_not_hide_it(written: Any) -> None:
    written(10)
    disable_guards()
    for seq in range(6, 11):
        raw_delete(seq)
    AuditChainHead.objects.filter(id=1).update(seq=5, hash=AuditRecord.objects.get(seq=5).hash)
    written(2)  # the platform carries on: new #6 and #7 take the deleted numbers
    assert verify_chain().ok
    result = verify_audit_log()
    assert result.problem is not None
    assert result.problem.seq == 6 and result.problem.kind == "altered"


# --- the external copy itself ---------------------------------------------------------------------
def test_a_forged_line_appended_to_the_copy_is_reported(written: Any, sink_file: Any) -> None:
    written(3)
    with sink_file.open("ab") as handle:
        handle.write(sink_file.read_bytes().splitlines()[1] + b"\n")  # #2 again
    result = verify_audit_log()
    assert result.problem is not None
    assert result.problem.kind == "sink"
    assert "外部副本第 4 行的记录 #2 重复或顺序错乱" in result.problem.message


def test_a_changed_line_in_the_copy_is_reported(written: Any, sink_file: Any) -> None:
    written(3)
    lines = sink_file.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"i":1', b'"i":7')
    sink_file.write_bytes(b"".join(lines))  # only possible where the volume is not write-once
    result = verify_audit_log()
    assert result.problem is not None
    assert result.problem.kind == "sink"
    assert "外部副本第 2 行的记录 #2 内容与其哈希不符" in result.problem.message


def test_a_missing_copy_fails_verification(written: Any, sink_file: Any) -> None:
    written(2)
    sink_file.unlink()
    with pytest.raises(CommandError, match=r"外部副本文件 .* 不存在"):
        verify_command()


def test_records_not_copied_for_long_fail_and_fresh_ones_are_only_noted(
    sink_file: Any, make_records: Any
) -> None:
    from zhengwu.audit.sink import ship_pending

    make_records(1)
    ship_pending()
    make_records(2)  # committed, not shipped (this test's transaction never commits)
    fresh = verify_audit_log()
    assert fresh.ok
    assert "记录 #2 至 #3 刚写入，尚未写入外部副本" in fresh.notes
    later = compare_with_sink(now=timezone.now() + dt.timedelta(minutes=6))
    assert later.problem is not None
    assert later.problem.seq == 2 and "记录 #2 至 #3 未写入外部副本" in later.problem.message


def test_purged_records_stay_in_the_copy_and_verify_still_passes(sink_file: Any, db: Any) -> None:
    from zhengwu.audit.services import do_purge_records
    from zhengwu.audit.sink import ship_pending

    from .test_purge import make_old_records

    make_old_records(3)
    ship_pending()
    before = (timezone.localtime() - dt.timedelta(days=200)).date()
    do_purge_records(None, before)
    ship_pending()
    result = verify_audit_log()
    assert result.ok, result.message
    assert result.sink is not None and result.sink.compared == 1  # the purge's own record


def test_verify_against_a_copy_rebuilt_from_the_syslog_collector(
    settings: Any,
    collector: SyslogCollector,
    written: Any,
    tmp_path: Any,
) -> None:
    settings.AUDIT_SYSLOG = collector.address
    written(6)
    # The collector's messages: MSG (after the BOM) is the record's JSON object, one per line.
    exported = tmp_path / "collector-export.jsonl"
    exported.write_bytes(b"".join(m.split(b"\xef\xbb\xbf", 1)[1] + b"\n" for m in collector.messages))
    assert "逐条比对 6 条一致" in verify_command("--sink", str(exported))
    disable_guards()
    raw_update_details(4, {"i": "x"})
    rewrite_chain_from(4)
    with pytest.raises(CommandError, match="记录 #4 的字段 详情"):
        verify_command("--sink", str(exported))


# --- the key that checkpoints are verified with lives outside the database ---------------------
def test_verification_trusts_the_configured_public_key_file_not_the_database(
    settings: Any, make_records: Any, signing_key_file: Any, tmp_path: Any
) -> None:
    make_records(3)
    do_create_checkpoint(None)
    public = tmp_path / "audit_sm2.pub.pem"
    public.write_text(signing.public_key_pem(create=False) or "", encoding="ascii")
    settings.AUDIT_VERIFY_PUBLIC_KEY_FILE = str(public)
    signing_key_file.unlink()  # an auditor's machine: public key only
    assert verify_chain().ok

    # Another key pair in the file: the platform's own checkpoints no longer count as signed,
    # whatever public key their database rows carry.
    public.write_bytes(sm2_public_key_pem(sm2_generate_private_key_pem()))
    result = verify_chain()
    assert result.problem is not None
    assert result.problem.kind == "checkpoint"
    assert "不是用本平台的审计签名密钥签署的" in result.problem.message

    public.unlink()
    result = verify_chain()
    assert result.problem is not None
    assert f"审计核验公钥文件 {public} 不存在" in result.problem.message


def test_the_api_and_the_console_name_the_record_and_field(
    written: Any, client: Any, audit_admin: Any
) -> None:
    written(6)
    disable_guards()
    raw_update_details(5, {"i": "改写"})
    rewrite_chain_from(5)
    client.force_login(audit_admin)
    body = client.post("/api/v1/audit/verify").json()
    assert body["ok"] is False
    assert (body["problem"]["seq"], body["problem"]["kind"], body["problem"]["field"]) == (
        5,
        "altered",
        "details",
    )
    page = client.post("/audit/verify/").content.decode()
    assert "记录 #5 的字段 详情（details）与外部副本不符" in page
    assert "<code>details</code>" in page


def test_concurrent_writers_keep_the_copy_complete_and_in_order(written: Any, sink_file: Any) -> None:
    import threading

    from django.db import connection

    from zhengwu.audit.services import record_event

    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                record_event(None, "test.concurrent", details={"writer": n, "i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    from .conftest import sink_lines

    assert [line["seq"] for line in sink_lines(sink_file)] == list(range(1, 61))
    assert verify_audit_log().ok
