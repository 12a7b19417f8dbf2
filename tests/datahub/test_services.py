"""The ingest pipeline end to end through services: upload → stage → check → quarantine →
commit, with lineage, audit, catalog arrival, permissions, push idempotency, corrections,
rollback and recovery of a batch whose process died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from zhengwu.audit.models import AuditRecord
from zhengwu.core.errors import Conflict, DomainError, PermissionDenied
from zhengwu.datahub import lake, queries, services
from zhengwu.datahub.models import IngestBatch, ResourceVersion

from .conftest import PEOPLE_ITEMS, Upload, people_csv, person, valid_id

# Every test here runs on the local lake folder and on S3-compatible storage (a real SeaweedFS).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("any_lake")]


def good_and_bad(n: int = 20) -> list[dict[str, Any]]:
    rows = [person(i) for i in range(1, n + 1)]
    rows[2]["id_no"] = rows[2]["id_no"][:-1] + ("0" if rows[2]["id_no"][-1] != "0" else "1")  # wrong check digit
    rows[5]["person_name"] = ""  # required
    rows[7]["gender"] = "5"  # not in GB/T 2261.1
    rows[9]["birth_date"] = "1990-02-30"  # not a date
    rows[11]["division_code"] = "449999"  # not a division
    return rows


def test_upload_gbk_csv_commits_accepted_rows_and_quarantines_the_rest(queued: Any,
    tmp_path: Path, publish: Any, data_admin: Any, authority_admin: Any
) -> None:
    entry = publish(data_admin)
    path = people_csv(tmp_path / "人口.csv", good_and_bad(), encoding="gbk")
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(path))
    batch.refresh_from_db()
    assert batch.status == "succeeded", batch.error_message
    assert (batch.encoding, batch.rows_in, batch.rows_accepted, batch.rows_refused) == ("GBK", 20, 15, 5)
    assert batch.lake_version == 0 and batch.rows_inserted == 15
    assert 0 < batch.validity < 1 and batch.completeness < 1
    version = ResourceVersion.objects.get(resource_code=entry.resource_code, lake_version=0)
    assert version.batch_id == batch.pk and version.operation == "create"
    entry.refresh_from_db()
    assert entry.last_data_at is not None  # the catalog knows data arrived

    data = queries.quarantine(data_admin, batch)
    assert data["total"] == 5
    reasons = {row["_row"]: row["_errors"] for row in data["rows"]}
    assert set(reasons) == {3, 6, 8, 10, 12}
    assert "校验" in reasons[3] or "公民身份号码" in reasons[3]
    assert "姓名" in reasons[6]
    assert "性别" in reasons[8]
    assert "出生日期" in reasons[10]
    assert "行政区划代码" in reasons[12]
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {"datahub.batch.submit", "datahub.batch.finish", "datahub.quarantine.read"} <= actions

    page = queries.version_rows(data_admin, entry.resource_code, 0)
    assert page["total"] == 15
    # the provider's data manager sees identity numbers clear (row order is not part of a version)
    assert person(1)["id_no"] in {row["id_no"] for row in page["rows"]}
    shown = {row["id_no"] for row in queries.version_rows(authority_admin, entry.resource_code, 0)["rows"]}
    assert len(shown) == 15 and all("*" in v for v in shown)  # others: masked by its 脱敏方式
    assert person(1)["id_no"] not in shown


def test_second_full_batch_replaces_and_keeps_the_first_version_readable(queued: Any,
    tmp_path: Path, publish: Any, data_admin: Any, settings: Any
) -> None:
    settings.INGEST_FULL_DELETE_CONFIRM_SHARE = 0.5  # deletes 1 of 5 rows: below the share, no confirmation
    entry = publish(data_admin)
    first = [person(i) for i in range(1, 6)]
    queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(people_csv(tmp_path / "a.csv", first)))
    second = [person(i) for i in range(2, 8)]
    second[0]["household_address"] = "梅江区新地址 1 号"
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(people_csv(tmp_path / "b.csv", second)),
                   mode="full")
    batch.refresh_from_db()
    assert (batch.lake_version, batch.rows_inserted, batch.rows_updated, batch.rows_deleted) == (1, 2, 1, 1)
    assert {k: batch.preview[k] for k in ("rows_current", "inserted", "updated", "deleted")} == {
        "rows_current": 5, "inserted": 2, "updated": 1, "deleted": 1}  # the preview foretold the commit
    assert queries.version_rows(data_admin, entry.resource_code, 0)["total"] == 5
    assert queries.version_rows(data_admin, entry.resource_code)["total"] == 6
    deleted = [c for c in lake.changes(entry.resource_code, 1).to_pylist() if c["_change_type"] == "delete"]
    assert [c["id_no"] for c in deleted] == [person(1)["id_no"]]


def test_a_bad_file_fails_the_batch_and_changes_nothing(queued: Any, tmp_path: Path, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    header = [item["name"] for item in PEOPLE_ITEMS if item["field_name"] != "gender"]
    path = tmp_path / "少列.csv"
    path.write_text(",".join(header) + "\n" + ",".join(["x"] * len(header)) + "\n", encoding="utf-8")
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(path))
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert "性别" in batch.error_message and batch.error_field == "file"
    assert lake.current_version(entry.resource_code) is None
    assert not ResourceVersion.objects.exists()
    entry.refresh_from_db()
    assert entry.last_data_at is None


def test_refusals_before_queueing_are_clear_and_audited(queued: Any, tmp_path: Path, publish: Any, data_admin: Any, other_unit_admin: Any,
                                                        settings: Any) -> None:
    entry = publish(data_admin)
    path = people_csv(tmp_path / "p.csv", [person(1)])
    with pytest.raises(PermissionDenied, match="市公安局"):
        queued(services.do_submit_upload, other_unit_admin, entry.resource_code, Upload(path))
    with pytest.raises(DomainError, match="不支持的文件类型"):
        queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(path, name="p.pdf"))
    settings.INGEST_MAX_FILE_MB = 1
    big = tmp_path / "big.csv"
    with big.open("wb") as fh:
        fh.truncate(2 * 1024**3)  # a sparse 2 GB file
    with pytest.raises(DomainError, match="超过单个批次的上限 1 MB"):
        services.do_submit_file(data_admin, entry.resource_code, big)
    assert not IngestBatch.objects.exists()
    failures = AuditRecord.objects.filter(action="datahub.batch.submit", result="failure").count()
    assert failures == 3


def test_the_data_authority_collects_on_behalf_of_a_unit(tmp_path: Path, publish: Any, data_admin: Any,
                                                         authority_admin: Any) -> None:
    entry = publish(data_admin)
    batch = services.ingest_file(authority_admin, entry.resource_code, people_csv(tmp_path / "p.csv", [person(1)]))
    assert batch.status == "succeeded" and batch.unit_id == entry.provider_id


def test_push_is_applied_once_per_idempotency_key(queued: Any, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    token, secret = services.do_create_push_token(data_admin, data_admin.unit, name="户籍系统")
    assert services.authenticate_push_token(secret) == token
    records = [person(1), person(2)]
    first, created = queued(services.do_push_records, None, entry.resource_code, records, idempotency_key="k-1", token=token)
    again, created_again = queued(services.do_push_records, None, entry.resource_code, records, idempotency_key="k-1", token=token)
    assert created and not created_again and again.pk == first.pk
    assert ResourceVersion.objects.filter(resource_code=entry.resource_code).count() == 1
    with pytest.raises(Conflict, match="幂等键 k-1 已用于内容不同"):
        queued(services.do_push_records, None, entry.resource_code, [person(3)], idempotency_key="k-1", token=token)
    with pytest.raises(DomainError, match="幂等键"):
        queued(services.do_push_records, None, entry.resource_code, records, idempotency_key="", token=token)
    services.do_revoke_push_token(data_admin, token)
    assert services.authenticate_push_token(secret) is None


def test_a_token_pushes_only_its_own_units_resources(queued: Any, publish: Any, data_admin: Any, other_unit_admin: Any) -> None:
    entry = publish(data_admin)
    token, _ = services.do_create_push_token(other_unit_admin, other_unit_admin.unit, name="民政系统")
    with pytest.raises(PermissionDenied, match="市民政局"):
        queued(services.do_push_records, None, entry.resource_code, [person(1)], idempotency_key="x", token=token)


def test_a_correction_batch_resolves_quarantined_rows(queued: Any, tmp_path: Path, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    rows = good_and_bad(12)
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(people_csv(tmp_path / "a.csv", rows)))
    batch.refresh_from_db()
    assert batch.rows_refused == 5
    fixed = [person(6), person(8)]  # the empty name and the bad gender, corrected
    correction = queued(services.do_submit_upload,
        data_admin, entry.resource_code, Upload(people_csv(tmp_path / "fix.csv", fixed)), parent=batch
    )
    correction.refresh_from_db()
    batch.refresh_from_db()
    assert correction.source_kind == "correction" and correction.mode == "incremental"
    assert batch.rows_resolved == 2
    assert queries.version_rows(data_admin, entry.resource_code)["total"] == 7 + 2


def test_a_correction_of_a_batch_that_refused_every_row_resolves_them(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any
) -> None:
    """The first version of a local table takes the accepted file itself; the correction's
    delivered keys are read before that (it failed with FileNotFoundError on accepted.parquet)."""
    entry = publish(data_admin)
    bad = [person(1, person_name=""), person(2, gender="5")]
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(people_csv(tmp_path / "a.csv", bad)))
    batch.refresh_from_db()
    assert (batch.rows_accepted, batch.rows_refused) == (0, 2)
    correction = queued(services.do_submit_upload,
        data_admin, entry.resource_code, Upload(people_csv(tmp_path / "fix.csv", [person(1), person(2)])), parent=batch
    )
    correction.refresh_from_db()
    batch.refresh_from_db()
    assert correction.status == "succeeded", correction.error
    assert batch.rows_resolved == 2
    assert queries.version_rows(data_admin, entry.resource_code)["total"] == 2


def test_rollback_makes_an_earlier_version_current(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "a.csv", [person(1)]))
    services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "b.csv", [person(2), person(3)]))
    with pytest.raises(DomainError, match="回滚原因"):
        services.do_rollback(data_admin, entry.resource_code, 0, reason=" ")
    version = services.do_rollback(data_admin, entry.resource_code, 0, reason="第二批数据来源有误")
    assert (version.lake_version, version.restored_from, version.operation) == (2, 0, "rollback")
    rows = queries.version_rows(data_admin, entry.resource_code)
    assert rows["total"] == 1


def test_recovery_fails_a_dead_batch_and_undoes_its_unrecorded_commit(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "a.csv", [person(1)]))
    batch = services.do_submit_file(data_admin, entry.resource_code, people_csv(tmp_path / "b.csv", [person(2)]), enqueue=False)
    # The process committed to the lake and died before recording it.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    IngestBatch.objects.filter(pk=batch.pk).update(status="running", worker_host=__import__("socket").gethostname(),
                                                   worker_pid=dead.pid)
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from zhengwu.datahub.lake import _props, data_uri, storage_options

    current = DeltaTable(data_uri(entry.resource_code), storage_options=storage_options()).to_pyarrow_table()
    row = current.set_column(current.schema.get_field_index("id_no"), "id_no", pa.array([person(2)["id_no"]]))
    write_deltalake(data_uri(entry.resource_code), row, mode="append", commit_properties=_props(batch.pk),
                    storage_options=storage_options())
    assert lake.current_version(entry.resource_code) == 1
    assert services.do_recover_interrupted_batches() == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == "failed" and "中断" in batch.error_message
    assert lake.current_version(entry.resource_code) == 2  # the restore commit
    assert [r["id_no"] for r in lake.read_rows(entry.resource_code)[1]] == [person(1)["id_no"]]
    assert services.do_recover_interrupted_batches() == []


def test_recovery_removes_a_first_version_made_by_a_dead_batch(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    import socket

    from deltalake import write_deltalake

    from zhengwu.datahub.lake import _props, data_uri, storage_options

    entry = publish(data_admin)
    batch = services.do_submit_file(data_admin, entry.resource_code, people_csv(tmp_path / "a.csv", [person(1)]), enqueue=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    IngestBatch.objects.filter(pk=batch.pk).update(status="running", worker_host=socket.gethostname(), worker_pid=dead.pid)
    import pyarrow as pa

    write_deltalake(data_uri(entry.resource_code), pa.table({"id_no": [person(1)["id_no"]]}), commit_properties=_props(batch.pk),
                    storage_options=storage_options())
    assert lake.current_version(entry.resource_code) == 0
    assert services.do_recover_interrupted_batches() == [batch.pk]
    assert lake.current_version(entry.resource_code) is None  # as before the batch: no data
    assert not ResourceVersion.objects.exists()


def _database_url() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user, host, port = settings_dict.get("USER") or "postgres", settings_dict.get("HOST") or "127.0.0.1", settings_dict.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{settings_dict['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_killing_the_process_mid_batch_leaves_the_previous_version_intact(
    tmp_path: Path, publish: Any, data_admin: Any, settings: Any
) -> None:
    entry = publish(data_admin)
    services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "a.csv", [person(1), person(2)]))
    before = sorted(r["id_no"] for r in lake.read_rows(entry.resource_code, limit=10)[1])
    big = tmp_path / "big.csv"
    people_csv(big, [person(i % 999 + 1, household_address=f"梅江区江南路{i}号") | {"id_no": valid_id(birth=f"19{50 + i % 40}0101", seq=i % 999 + 1)} for i in range(120_000)])
    env = dict(os.environ, DATABASE_URL=_database_url(), ZHENGWU_LAKE_URL=str(settings.LAKE_URL),
               ZHENGWU_LAKE_STORAGE_OPTIONS=settings.LAKE_STORAGE_OPTIONS or "",
               ZHENGWU_INGEST_WORK_DIR=str(settings.INGEST_WORK_DIR), ZHENGWU_ENV="test")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhengwu.cli", "ingest", str(big), "--resource", entry.resource_code,
         "--user", data_admin.username, "--no-progress"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    killed_at = ""
    while time.monotonic() < deadline and proc.poll() is None:
        batch = IngestBatch.objects.exclude(status="succeeded").order_by("-id").first()
        if batch is not None and batch.status == "running" and batch.stage in ("checking", "writing"):
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = batch.stage
            break
        time.sleep(0.02)
    proc.wait()
    assert killed_at, f"the batch finished before it could be killed: {proc.stdout.read() if proc.stdout else ''}"
    assert services.do_recover_interrupted_batches() != []
    batch = IngestBatch.objects.order_by("-id").first()
    assert batch is not None and batch.status == "failed" and "中断" in batch.error_message
    after = sorted(r["id_no"] for r in lake.read_rows(entry.resource_code, limit=10)[1])
    assert after == before
    assert not ResourceVersion.objects.filter(batch=batch).exists()


def _source_db(path: Path, people: list[dict[str, Any]]) -> str:
    import sqlalchemy as sa

    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    columns = [item["field_name"] for item in PEOPLE_ITEMS]
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE hj ({', '.join(c + ' TEXT' for c in columns)}, seq INTEGER)"))
        for n, p in enumerate(people, start=1):
            conn.execute(sa.text(f"INSERT INTO hj VALUES ({', '.join(':' + c for c in columns)}, :seq)"), {**p, "seq": n})
    engine.dispose()
    return url


def test_scheduled_pulls_follow_the_update_cycle_and_load_only_new_rows(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from zhengwu.datahub.models import DataSource

    entry = publish(data_admin, cycle="每日")
    url = _source_db(tmp_path / "hj.sqlite3", [person(1), person(2)])
    source = services.do_create_source(
        data_admin, entry.resource_code, name="户籍库", url=url, table="hj", mode="incremental", watermark_column="seq",
    )
    assert source.url_encrypted and url not in source.url_encrypted  # kept SM4-encrypted
    assert source.next_run_at is not None and source.next_run_at - timezone.now() > timedelta(hours=23)
    assert services.do_run_due_sources() == []  # not due yet
    later = timezone.now() + timedelta(days=1, minutes=1)
    started = queued(services.do_run_due_sources, later)
    assert len(started) == 1
    first = IngestBatch.objects.get(pk=started[0])
    assert (first.status, first.source_kind, first.rows_accepted) == ("succeeded", "database", 2), first.error_message
    source = DataSource.objects.get(pk=source.pk)
    assert source.watermark_value == "2" and source.last_run_at is not None
    assert source.next_run_at is not None and source.next_run_at - source.last_run_at == timedelta(days=1)
    # New rows arrive in the unit's database; the next pull takes only those.
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        columns = [item["field_name"] for item in PEOPLE_ITEMS]
        conn.execute(sa.text(f"INSERT INTO hj VALUES ({', '.join(':' + c for c in columns)}, 3)"), person(3))
    engine.dispose()
    second = queued(services.do_run_source, data_admin, source)
    second.refresh_from_db()
    assert (second.rows_in, second.rows_inserted, second.lake_version) == (1, 1, 1)
    assert queries.version_rows(data_admin, entry.resource_code)["total"] == 3
