"""Every audit record is copied, after its transaction commits, to the JSON Lines file and to syslog."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from django.db import connection, transaction

from zhengwu.audit import sink
from zhengwu.audit.models import AuditRecord, AuditSinkCursor
from zhengwu.audit.services import record_event
from zhengwu.audit.tasks import ship_audit_records

from .conftest import SyslogCollector, free_port, sink_lines

FRAME = re.compile(
    rb"^<(?P<pri>\d+)>1 (?P<ts>\S+) (?P<host>\S+) zhengwu (?P<pid>\d+) audit "
    rb'\[audit@32473 seq="(?P<seq>\d+)" hash="(?P<hash>[0-9a-f]{64})" action="(?P<action>[^"]*)"\] '
    rb"\xef\xbb\xbf(?P<msg>.*)$",
    re.DOTALL,
)


def test_each_record_is_appended_with_seq_hash_and_every_field(
    sink_file: Any, make_records: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        records = make_records(3)
    lines = sink_lines(sink_file)
    assert [line["seq"] for line in lines] == [1, 2, 3]
    for line, record in zip(lines, records, strict=True):
        assert line == sink.entry_for(record)
        assert line["hash"] == record.hash and line["prev_hash"] == record.prev_hash
        assert set(line) == set(sink.ENTRY_FIELDS)
        assert line["details"] == record.details
    assert lines[0]["occurred_at"].endswith("Z")


def test_nothing_is_shipped_before_the_transaction_commits_and_a_rollback_ships_nothing(
    sink_file: Any, db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event(None, "test.rolled_back")
            raise RuntimeError("回滚")
        assert not sink_file.exists()
        with transaction.atomic():
            record_event(None, "test.kept", details={"n": 1})
            record_event(None, "test.kept", details={"n": 2})
            assert not sink_file.exists()  # not before the commit
    assert [(line["seq"], line["action"]) for line in sink_lines(sink_file)] == [
        (1, "test.kept"),
        (2, "test.kept"),
    ]


def test_one_shipping_callback_per_transaction(
    sink_file: Any, db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for i in range(5):
            record_event(None, "test.many", details={"i": i})
    assert len(callbacks) == 1
    assert [line["seq"] for line in sink_lines(sink_file)] == [1, 2, 3, 4, 5]


def test_records_committed_but_never_shipped_are_caught_up_by_the_next_write(
    sink_file: Any, make_records: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # The process "died" between commit and shipping: its pending after-commit callbacks are gone.
    make_records(4)
    connection.run_on_commit.clear()
    assert not sink_file.exists()
    with django_capture_on_commit_callbacks(execute=True):
        record_event(None, "test.next")
    assert [line["seq"] for line in sink_lines(sink_file)] == [1, 2, 3, 4, 5]


def test_the_periodic_job_catches_up_and_the_file_is_only_appended(sink_file: Any, make_records: Any) -> None:
    make_records(3)
    assert ship_audit_records.call()["file_written"] == 3
    before = sink_file.read_bytes()
    make_records(2)
    assert ship_audit_records.call()["file_written"] == 2
    after = sink_file.read_bytes()
    assert after.startswith(before)  # earlier lines untouched
    assert [line["seq"] for line in sink_lines(sink_file)] == [1, 2, 3, 4, 5]
    assert ship_audit_records.call()["file_written"] == 0  # nothing twice


def test_a_torn_last_line_is_left_behind_and_its_record_shipped_again(
    sink_file: Any, make_records: Any
) -> None:
    make_records(2)
    sink.ship_pending()
    # A crash in the middle of writing record #3's line.
    make_records(1)
    line3 = sink.entry_line(sink.entry_for(AuditRecord.objects.get(seq=3)))
    with sink_file.open("ab") as handle:
        handle.write(line3[:25])
    assert sink.last_shipped_seq(sink_file) == 2
    sink.ship_pending()
    raw = sink_file.read_bytes().splitlines()
    assert raw[2] == line3[:25]  # the torn half stays (the file is append-only) on its own line
    assert [line["seq"] for line in map(sink.parse_entry, raw) if line] == [1, 2, 3]


def test_a_line_appended_by_hand_with_a_huge_seq_does_not_stop_the_copying(
    sink_file: Any, make_records: Any
) -> None:
    make_records(2)
    sink.ship_pending()
    with sink_file.open("ab") as handle:
        handle.write(json.dumps({"seq": 10**9, "hash": "0" * 64}).encode() + b"\n")
    make_records(1)
    sink.ship_pending()
    seqs = [line["seq"] for line in sink_lines(sink_file)]
    assert seqs == [1, 2, 10**9, 3]


def test_no_sink_configured_ships_nothing(settings: Any, make_records: Any, tmp_path: Any) -> None:
    settings.AUDIT_SINK_FILE = ""
    make_records(1)
    assert sink.ship_pending().file_written == 0
    assert list(tmp_path.rglob("*.jsonl")) == []


# --- syslog against a real TCP collector ------------------------------------------------------
def _parse(message: bytes) -> dict[str, Any]:
    match = FRAME.match(message)
    assert match is not None, message[:120]
    return {
        "pri": int(match["pri"]),
        "ts": match["ts"].decode(),
        "seq": int(match["seq"]),
        "hash": match["hash"].decode(),
        "action": match["action"].decode(),
        "entry": json.loads(match["msg"].decode("utf-8")),
    }


def test_records_reach_the_collector_as_rfc5424_octet_counted_frames(
    settings: Any,
    sink_file: Any,
    collector: SyslogCollector,
    make_records: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.AUDIT_SYSLOG = collector.address
    with django_capture_on_commit_callbacks(execute=True):
        records = make_records(2)
        failed = record_event(
            None, "identity.login", result="failure", actor_username="张三", details={"原因": "密码错误"}
        )
    parsed = [_parse(m) for m in collector.messages]
    assert [p["seq"] for p in parsed] == [1, 2, 3]
    assert [p["pri"] for p in parsed] == [13 * 8 + 5, 13 * 8 + 5, 13 * 8 + 4]  # log audit; notice / warning
    for p, record in zip(parsed, [*records, failed], strict=True):
        assert p["entry"] == sink.entry_for(record)  # the same object as the file's line
        assert p["hash"] == record.hash
        assert p["ts"] == sink.format_time(record.occurred_at)
        assert p["action"] == record.action
    assert parsed[2]["entry"]["details"] == {"原因": "密码错误"}
    assert AuditSinkCursor.objects.get(name="syslog").seq == 3


def test_an_unreachable_collector_loses_nothing_and_the_periodic_job_resends(
    settings: Any,
    sink_file: Any,
    collector: SyslogCollector,
    make_records: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: Any,
) -> None:
    settings.AUDIT_SYSLOG = f"127.0.0.1:{free_port()}"  # nobody listens there
    with (
        caplog.at_level(logging.WARNING, logger="zhengwu.audit.sink"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        make_records(3)
    cursor = AuditSinkCursor.objects.get(name="syslog")
    assert cursor.seq == 0
    assert cursor.failing_since is not None and cursor.last_error
    assert any(
        "发送到 syslog 收集端" in r.getMessage() and "定期任务将从未送达的记录起重发" in r.getMessage()
        for r in caplog.records
    )
    assert [line["seq"] for line in sink_lines(sink_file)] == [1, 2, 3]  # the file still got them

    # Later writes within the back-off do not wait on the dead collector again.
    connections = collector.connections
    with django_capture_on_commit_callbacks(execute=True):
        make_records(1)
    assert AuditSinkCursor.objects.get(name="syslog").seq == 0

    settings.AUDIT_SYSLOG = collector.address  # the collector is back
    outcome = ship_audit_records.call()
    assert outcome["syslog_sent"] == 4 and outcome["errors"] == []
    assert [_parse(m)["seq"] for m in collector.messages] == [1, 2, 3, 4]
    assert collector.connections == connections + 1
    cursor = AuditSinkCursor.objects.get(name="syslog")
    assert (cursor.seq, cursor.failing_since, cursor.last_error) == (4, None, "")
    assert ship_audit_records.call()["syslog_sent"] == 0  # nothing sent twice


def test_many_records_are_sent_in_batches_in_order(
    settings: Any, collector: SyslogCollector, make_records: Any
) -> None:
    settings.AUDIT_SYSLOG = collector.address
    make_records(sink.SYSLOG_BATCH + 7)
    assert sink.ship_pending().syslog_sent == sink.SYSLOG_BATCH + 7
    assert [_parse(m)["seq"] for m in collector.messages] == list(range(1, sink.SYSLOG_BATCH + 8))
    assert collector.connections == 2


def test_a_malformed_syslog_setting_is_reported_in_chinese(settings: Any, make_records: Any) -> None:
    settings.AUDIT_SYSLOG = "collector.example"  # no port
    make_records(1)
    outcome = sink.ship_pending()
    assert outcome.errors == ["ZHENGWU_AUDIT_SYSLOG 应为 主机:端口，当前为 'collector.example'"]


def test_system_checks_warn_without_an_external_copy_and_refuse_a_bad_syslog_setting(settings: Any) -> None:
    from zhengwu.audit.checks import check_external_copy, check_syslog_setting

    settings.AUDIT_SINK_FILE, settings.AUDIT_SYSLOG = "", ""
    assert [w.id for w in check_external_copy()] == ["zhengwu.audit.W001"]
    settings.AUDIT_SINK_FILE = "/mnt/audit-worm/audit.jsonl"
    assert check_external_copy() == []
    settings.AUDIT_SYSLOG = "10.0.8.20:99999"
    assert [e.id for e in check_syslog_setting()] == ["zhengwu.audit.E001"]
    settings.AUDIT_SYSLOG = "10.0.8.20:6514"
    assert check_syslog_setting() == []
