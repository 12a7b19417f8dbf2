"""Ingest failures found by the security review (issue 8): a batch that changes nothing, refused
rows with empty optional cells, undone versions, Chinese failure reasons, retention."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhengwu.audit.models import AuditRecord
from zhengwu.core.errors import DomainError, Gone
from zhengwu.datahub import lake, queries, services
from zhengwu.datahub.models import IngestBatch, ResourceVersion

from .conftest import people_csv, person

pytestmark = pytest.mark.django_db


def test_reuploading_unchanged_data_succeeds_without_a_new_version(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    rows = [person(i) for i in range(1, 6)]
    first = services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "a.csv", rows))
    assert first.status == "succeeded" and first.lake_version == 0
    again = services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "b.csv", rows))
    assert again.status == "succeeded", again.error_message
    assert "无变化，未产生新版本" in again.notes
    assert again.lake_version is None and again.report["rows_in"] == 5
    assert ResourceVersion.objects.filter(resource_code=entry.resource_code).count() == 1
    assert lake.current_version(entry.resource_code) == 0
    assert not services.resource_busy(entry.resource_code)
    third = services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "c.csv", rows), mode="incremental")
    assert third.status == "succeeded" and "无变化，未产生新版本" in third.notes


def test_a_refused_row_with_an_empty_optional_cell_after_a_full_one(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    full = [person(1), person(2, gender="5")]  # refused, every optional cell filled
    first = services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "a.csv", full))
    assert (first.status, first.rows_refused) == ("succeeded", 1), first.error_message
    empty = [person(3), person(4, gender="5", household_address="", birth_date="")]
    second = services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "b.csv", empty))
    assert (second.status, second.rows_refused) == ("succeeded", 1), second.error_message


# --- undone versions ---------------------------------------------------------------------------------


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(code: str, tail: str = "") -> str:
    return f"/api/v1/datahub/resources/{code.replace('/', '%2F')}{tail}"


def _die_after_commit(entry: Any, data_admin: Any, tmp_path: Path) -> IngestBatch:
    """A batch whose process committed v1 to the lake and died before recording it."""
    from deltalake import DeltaTable, write_deltalake

    from zhengwu.datahub.lake import _props, data_uri

    batch = services.do_submit_file(data_admin, entry.resource_code, people_csv(tmp_path / "b.csv", [person(2)]), enqueue=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    IngestBatch.objects.filter(pk=batch.pk).update(status="running", worker_host=socket.gethostname(), worker_pid=dead.pid)
    current = DeltaTable(data_uri(entry.resource_code)).to_pyarrow_table()
    row = current.set_column(current.schema.get_field_index("id_no"), "id_no", pa.array([person(2)["id_no"]]))
    write_deltalake(data_uri(entry.resource_code), row, mode="append", commit_properties=_props(batch.pk))
    return batch


def test_an_undone_version_is_marked_and_never_served(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    services.ingest_file(data_admin, code, people_csv(tmp_path / "a.csv", [person(1)]))
    batch = _die_after_commit(entry, data_admin, tmp_path)
    api = _client(data_admin)
    # Before recovery the unrecorded commit is not served either: current data is still v0.
    assert [r["id_no"] for r in api.get(_url(code, "/rows")).json()["items"]] == [person(1)["id_no"]]
    assert services.do_recover_interrupted_batches() == [batch.pk]

    undone = ResourceVersion.objects.get(resource_code=code, lake_version=1)
    assert undone.undone and undone.batch_id == batch.pk
    undoing = ResourceVersion.objects.get(resource_code=code, lake_version=2)
    assert (undoing.operation, undoing.undoes, undoing.restored_from) == ("rollback", 1, 0)

    listed = {v["version"]: v for v in api.get(_url(code, "/versions")).json()["items"]}
    assert listed[1]["undone"] and listed[1]["state_label"] == "已撤销"
    assert listed[2]["undoes"] == 1 and not listed[2]["undone"]

    refused = api.get(_url(code, "/versions/1/rows"))
    assert refused.status_code == 410, refused.content
    assert "已撤销" in refused.json()["detail"] and refused.json()["errors"][0]["field"] == "version"
    with pytest.raises(Gone):
        queries.version_rows(data_admin, code, 1)
    current = api.get(_url(code, "/rows")).json()
    assert current["version"] == 2 and [r["id_no"] for r in current["items"]] == [person(1)["id_no"]]

    feed = api.get(_url(code, "/changes"), {"from_version": 0}).json()
    ids = [item["values"]["id_no"] for item in feed["items"]]
    assert feed["count"] == 1 and len(ids) == 1  # v0's insert only: v1 and its undoing v2 change nothing
    assert {item["commit_version"] for item in feed["items"]} == {0}

    with pytest.raises(DomainError, match="已撤销"):
        services.do_rollback(data_admin, code, 1, reason="试图恢复被撤销的版本")
    page = api.get(f"/datahub/resources/{code}/")
    assert page.status_code == 200 and "已撤销" in page.content.decode()


def test_a_batch_that_fails_after_its_commit_records_the_undone_version(
    tmp_path: Path, publish: Any, data_admin: Any, monkeypatch: Any
) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    services.ingest_file(data_admin, code, people_csv(tmp_path / "a.csv", [person(1)]))

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(services, "do_record_data_arrival", disk_full)  # fails after the lake commit
    batch = services.ingest_file(data_admin, code, people_csv(tmp_path / "b.csv", [person(1), person(2)]))
    assert batch.status == "failed" and "磁盘空间不足" in batch.error_message
    assert "No space" not in batch.error_message
    assert lake.current_version(code) == 2
    assert ResourceVersion.objects.get(resource_code=code, lake_version=1).undone
    assert ResourceVersion.objects.get(resource_code=code, lake_version=2).undoes == 1
    assert queries.version_rows(data_admin, code)["total"] == 1
    assert not services.resource_busy(code)


# --- Chinese failure reasons -------------------------------------------------------------------------

ALLOWED_LATIN = re.compile(r"XLSX|ZIP|CSV|JSON|Lines|Excel|WPS|UTF-8|GBK|GB18030|ZHENGWU_[A-Z_]+|SHA-256|MB|GB|KB|xlsx|xls|csv|v\d+")


def english_left(message: str) -> list[str]:
    return re.findall(r"[A-Za-z]{3,}", ALLOWED_LATIN.sub("", message))


def test_library_errors_become_chinese_reasons_naming_the_cause(
    tmp_path: Path, publish: Any, data_admin: Any, settings: Any, caplog: Any
) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    # 1. the quarantine table's log is damaged: deltalake refuses to open it (DeltaError)
    log_dir = Path(lake.quarantine_uri(code)) / "_delta_log"
    log_dir.mkdir(parents=True)
    (log_dir / "00000000000000000000.json").write_text("{not json\n", encoding="utf-8")
    bad = services.ingest_file(data_admin, code, people_csv(tmp_path / "a.csv", [person(1), person(2, gender="5")]))
    assert bad.status == "failed"
    assert "写入数据湖失败" in bad.error_message and f"批次 {bad.pk}" in bad.error_message
    assert not english_left(bad.error_message), bad.error_message
    assert "Delta" in caplog.text or "Schema" in caplog.text or "schema" in caplog.text  # the original is logged

    # 2. DuckDB refuses its configuration (an English InvalidInputException)
    settings.DUCKDB_MEMORY_LIMIT = "lots"
    failed = services.ingest_file(data_admin, code, people_csv(tmp_path / "b.csv", [person(3)]))
    assert failed.status == "failed" and "校验引擎执行失败" in failed.error_message
    assert not english_left(failed.error_message), failed.error_message
    settings.DUCKDB_MEMORY_LIMIT = "1GB"

    # 3. an XLSX whose workbook part is not XML (openpyxl raises)
    import zipfile

    broken = tmp_path / "坏.xlsx"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "not xml at all <")
    xlsx = services.ingest_file(data_admin, code, broken)
    assert xlsx.status == "failed" and "XLSX" in xlsx.error_message
    assert not english_left(xlsx.error_message), xlsx.error_message

    # 4. a CSV Arrow cannot parse (an unterminated quote over a block)
    quoted = tmp_path / "引号.csv"
    header = "公民身份号码,姓名,性别,出生日期,行政区划代码,户籍地址\n"
    quoted.write_text(header + '"' + "张三," * 400_000 + "\n", encoding="utf-8")
    csv_batch = services.ingest_file(data_admin, code, quoted)
    assert csv_batch.status == "failed"
    assert not english_left(csv_batch.error_message), csv_batch.error_message

    for batch in IngestBatch.objects.filter(status="failed"):
        assert not english_left(batch.error_message), batch.error_message
        assert not services.resource_busy(code)
    reasons = [r.details.get("reason", "") for r in AuditRecord.objects.filter(action="datahub.batch.finish", result="failure")]
    assert reasons and all(not english_left(r) for r in reasons)


# --- nullable quarantine: an old table, and a property over every source ----------------------------


def test_a_quarantine_table_created_the_old_way_with_not_null_columns_takes_empty_cells(
    tmp_path: Path, publish: Any, data_admin: Any
) -> None:
    from deltalake import DeltaTable, write_deltalake

    entry = publish(data_admin)
    code = entry.resource_code
    names = ["_row", "_errors", "_rules", "id_no", "person_name", "gender", "birth_date", "division_code", "household_address"]
    old = pa.schema([pa.field("_batch", pa.int64())] + [pa.field(n, pa.int64() if n == "_row" else pa.string(), nullable=False) for n in names])
    write_deltalake(lake.quarantine_uri(code), pa.table({n: [999 if n in ("_batch", "_row") else "x"] for n in old.names}, schema=old))
    assert not any(f.nullable for f in DeltaTable(lake.quarantine_uri(code)).schema().fields if f.name != "_batch")
    rows = [person(1), person(2, gender="5", household_address="", birth_date="")]
    batch = services.ingest_file(data_admin, code, people_csv(tmp_path / "a.csv", rows))
    assert (batch.status, batch.rows_refused) == ("succeeded", 1), batch.error_message
    refused = queries.quarantine(data_admin, batch)["rows"]
    assert refused[0]["household_address"] is None and refused[0]["birth_date"] is None
    assert all(f.nullable for f in DeltaTable(lake.quarantine_uri(code)).schema().fields)


FIELDS = ["id_no", "person_name", "gender", "birth_date", "division_code", "household_address"]
_TEXT = st.text(alphabet=st.sampled_from("0123456789abcxX张三江南路-/ .,;:\"'#"), min_size=1, max_size=12)


def _cell(field: str, seq: int) -> st.SearchStrategy[str]:
    valid = person(seq)[field]
    return st.one_of(st.just(""), st.just(valid), _TEXT)


@st.composite
def _rows(draw: Any) -> list[dict[str, str]]:
    count = draw(st.integers(min_value=1, max_value=8))
    rows = []
    for seq in range(1, count + 1):
        row = {f: draw(_cell(f, seq)) for f in FIELDS}
        if not any(v.strip() for v in row.values()):
            row["household_address"] = "梅江区"
        rows.append(row)
    return rows


def _write_source(kind: str, rows: list[dict[str, str]], folder: Path, n: int) -> Path:
    import json
    import sqlite3

    from openpyxl import Workbook

    from .conftest import PEOPLE_ITEMS

    labels = [item["name"] for item in PEOPLE_ITEMS]
    if kind == "csv":
        return people_csv(folder / f"{n}.csv", rows)
    if kind == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.append(labels)
        for row in rows:
            sheet.append([row[f] if row[f] != "" else None for f in FIELDS])
        path = folder / f"{n}.xlsx"
        book.save(path)
        return path
    if kind == "jsonl":
        path = folder / f"{n}.jsonl"
        path.write_text("".join(json.dumps({f: (row[f] or None) for f in FIELDS}, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        return path
    path = folder / f"{n}.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE hj ({', '.join(f + ' TEXT' for f in FIELDS)})")
        db.executemany(f"INSERT INTO hj VALUES ({', '.join('?' for _ in FIELDS)})", [[row[f] or None for f in FIELDS] for row in rows])
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx", "jsonl", "push", "database"])
def test_random_rows_with_random_empty_cells_finish_through_every_source(
    kind: str, tmp_path: Path, publish: Any, data_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # random full loads may delete most rows: here they must finish, not wait for confirmation
    # (the confirmation has its own tests in test_full_load_confirmation.py)
    from django.conf import settings as django_settings

    monkeypatch.setattr(django_settings, "INGEST_FULL_DELETE_CONFIRM_SHARE", 1.0)
    entry = publish(data_admin)
    code = entry.resource_code
    counter = iter(range(1, 10_000))

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(rows=_rows(), mode=st.sampled_from(["full", "incremental"]))
    def run(rows: list[dict[str, str]], mode: str) -> None:
        n = next(counter)
        if kind == "push":
            records = [{f: (row[f] or None) for f in FIELDS} for row in rows]
            batch, _ = services.do_push_records(data_admin, code, records, idempotency_key=f"k{n}", mode=mode)
            batch = services.run_batch(batch.pk)
        elif kind == "database":
            path = _write_source(kind, rows, tmp_path, n)
            source = services.do_create_source(data_admin, code, name=f"库{n}", url=f"sqlite:///{path}", table="hj", mode=mode,
                                               watermark_column="id_no" if mode == "incremental" else "", scheduled=False)
            batch = services.run_batch(services.do_run_source(data_admin, source).pk)
        else:
            batch = services.ingest_file(data_admin, code, _write_source(kind, rows, tmp_path, n), mode=mode)
        assert batch.status == "succeeded", (batch.error_message, rows)
        assert batch.rows_in == len(rows)
        assert batch.rows_accepted + batch.rows_refused == len(rows), rows
        assert not services.resource_busy(code)

    run()


# --- retention ---------------------------------------------------------------------------------------


class _Upload:
    def __init__(self, path: Path):
        self.path, self.name, self.size = path, path.name, path.stat().st_size

    def chunks(self) -> Any:
        yield self.path.read_bytes()


def test_inputs_are_kept_for_the_retention_period_then_purged_and_audited(
    tmp_path: Path, publish: Any, data_admin: Any, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from zhengwu.datahub.tasks import datahub_housekeeping

    settings.INGEST_KEEP_INPUT_DAYS = 7
    entry = publish(data_admin)
    code = entry.resource_code
    uploaded = services.do_submit_upload(data_admin, code, _Upload(people_csv(tmp_path / "a.csv", [person(1)])), enqueue=False)
    uploaded = services.run_batch(uploaded.pk)
    pushed, _ = services.do_push_records(data_admin, code, [person(2)], idempotency_key="r1")
    pushed = services.run_batch(pushed.pk)
    in_place = services.ingest_file(data_admin, code, people_csv(tmp_path / "own.csv", [person(3)]))  # command line
    work = Path(settings.INGEST_WORK_DIR)
    upload_input = Path(uploaded.file_path)
    push_input = Path(pushed.file_path)
    assert upload_input.is_file() and push_input.is_file() and upload_input.parent == work / f"batch-{uploaded.pk}"
    assert sorted(p.name for p in upload_input.parent.iterdir()) == ["input.csv"]  # no intermediates

    assert services.do_purge_expired_inputs(timezone.now() + timedelta(days=6)) == []  # still kept
    assert upload_input.is_file()
    later = timezone.now() + timedelta(days=7, minutes=1)
    assert sorted(services.do_purge_expired_inputs(later)) == sorted([uploaded.pk, pushed.pk])
    assert not upload_input.exists() and not push_input.exists() and not upload_input.parent.exists()
    assert (tmp_path / "own.csv").is_file()  # a server file read in place is never deleted
    uploaded.refresh_from_db()
    assert uploaded.input_purged_at is not None and uploaded.file_path == "" and uploaded.file_sha256
    audits = AuditRecord.objects.filter(action="datahub.input.purge").order_by("id")
    assert [a.details["batch"] for a in audits] == [uploaded.pk, pushed.pk]
    assert audits[0].details["keep_days"] == 7 and audits[0].details["sha256"] == uploaded.file_sha256
    assert services.do_purge_expired_inputs(later) == []  # once
    in_place.refresh_from_db()
    assert in_place.input_purged_at is None
    # the periodic job runs the purge
    assert datahub_housekeeping.call()["purged_inputs"] == []


def test_a_killed_workers_intermediates_are_removed_by_recovery_and_housekeeping(
    tmp_path: Path, publish: Any, data_admin: Any, settings: Any
) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    batch = services.do_submit_upload(data_admin, code, _Upload(people_csv(tmp_path / "a.csv", [person(1)])), enqueue=False)
    space = Path(batch.file_path).parent
    # What a process killed mid-batch leaves: the staged file, checked/ with its spill, a half-written file.
    (space / "staged.parquet").write_bytes(b"PAR1")
    (space / "checked" / "duckdb-spill").mkdir(parents=True)
    (space / "checked" / "accepted.parquet").write_bytes(b"PAR1")
    (space / ".staged.parquet.0123.part").write_bytes(b"x")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    IngestBatch.objects.filter(pk=batch.pk).update(status="running", worker_host=socket.gethostname(), worker_pid=dead.pid)
    assert services.do_recover_interrupted_batches() == [batch.pk]
    assert sorted(p.name for p in space.iterdir()) == ["input.csv"]

    # A batch that died before this fix (already marked failed, intermediates still there).
    other = services.do_submit_upload(data_admin, code, _Upload(people_csv(tmp_path / "b.csv", [person(2)])), enqueue=False)
    other_space = Path(other.file_path).parent
    (other_space / "staged.parquet").write_bytes(b"PAR1")
    (other_space / "checked").mkdir()
    IngestBatch.objects.filter(pk=other.pk).update(status="failed")
    # A work space whose submission was rolled back (no batch row), an hour old.
    import os
    import time

    orphan = Path(settings.INGEST_WORK_DIR) / "batch-9999"
    orphan.mkdir()
    (orphan / "input.csv").write_text("x", encoding="utf-8")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    services.do_purge_expired_inputs()
    assert sorted(p.name for p in other_space.iterdir()) == ["input.csv"]
    assert not orphan.exists()
    assert AuditRecord.objects.filter(action="datahub.input.purge", object_id="batch-9999").exists()


def test_full_loads_deleting_and_keeping_rows_commit_on_a_table_made_in_place(
    tmp_path: Path, publish: Any, data_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first version of a local table adopts the engine's file; its `_batch` column must not
    be NOT NULL, or delta-rs refuses the change-feed rows of a later full load's deletes (found by
    the property test above on PostgreSQL: "1 rows failed validation check")."""
    from deltalake import DeltaTable
    from django.conf import settings as django_settings

    from zhengwu.datahub import lake

    monkeypatch.setattr(django_settings, "INGEST_FULL_DELETE_CONFIRM_SHARE", 1.0)
    entry = publish(data_admin)
    code = entry.resource_code
    first = services.ingest_file(data_admin, code, people_csv(tmp_path / "1.csv", [
        person(1), person(2, birth_date=""), person(3), person(4, household_address=""),
    ]), mode="full")
    assert first.status == "succeeded"
    sequence = [
        [person(1), person(3, gender="9")],  # 2 and 4 deleted, 3 refused and kept
        [person(5, birth_date=""), person(3)],  # 1 deleted, 5 inserted, 3 updated back
        [person(3, person_name=""), person(6)],  # 5 deleted, 3 refused and kept, 6 inserted
    ]
    for n, rows in enumerate(sequence, start=2):
        batch = services.ingest_file(data_admin, code, people_csv(tmp_path / f"{n}.csv", rows), mode="full")
        assert batch.status == "succeeded", batch.error_message
    assert lake.count_rows(code) == 2
    schema = DeltaTable(lake.data_uri(code)).schema()
    assert [f.name for f in schema.fields if not f.nullable] == []
