"""Uploads default to 增量; a full load (全量替换) is previewed before it commits and one that would
delete more than ZHENGWU_INGEST_FULL_DELETE_CONFIRM_SHARE of the current rows waits (待确认) for the
uploader or a data manager of the unit: confirmed, cancelled, re-checked or expired — with
permission checks, audit, and a stale confirmation refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from zhengwu.audit.models import AuditRecord
from zhengwu.core.errors import Conflict, DomainError, PermissionDenied
from zhengwu.datahub import lake, services
from zhengwu.datahub.models import IngestBatch, ResourceVersion

from .conftest import Upload, people_csv, person

API = "/api/v1/datahub"

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _first(queued: Any, tmp_path: Path, entry: Any, admin: Any, n: int = 10) -> IngestBatch:
    batch = queued(services.do_submit_upload, admin, entry.resource_code,
                   Upload(people_csv(tmp_path / "first.csv", [person(i) for i in range(1, n + 1)])))
    batch.refresh_from_db()
    assert batch.status == "succeeded" and batch.lake_version == 0
    return batch


def _full(queued: Any, tmp_path: Path, entry: Any, admin: Any, seqs: range, name: str = "full.csv") -> IngestBatch:
    batch = queued(services.do_submit_upload, admin, entry.resource_code,
                   Upload(people_csv(tmp_path / name, [person(i) for i in seqs])), mode="full")
    batch.refresh_from_db()
    return batch


def test_uploads_default_to_incremental_everywhere(queued: Any, tmp_path: Path, publish: Any, data_admin: Any) -> None:
    from zhengwu.datahub.forms import UploadForm
    from zhengwu.datahub.schemas import PushIn

    entry = publish(data_admin)
    _first(queued, tmp_path, entry, data_admin)
    # a second file without rows 1–5: the default keeps them
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code,
                   Upload(people_csv(tmp_path / "b.csv", [person(i) for i in range(6, 13)])))
    batch.refresh_from_db()
    assert (batch.mode, batch.status, batch.rows_deleted, batch.rows_inserted) == ("incremental", "succeeded", 0, 2)
    assert lake.count_rows(entry.resource_code) == 12
    assert UploadForm().fields["mode"].initial == "incremental"
    assert UploadForm().fields["mode"].choices[0][0] == "incremental"
    assert PushIn(records=[{"a": 1}]).mode == "incremental"
    assert IngestBatch._meta.get_field("mode").default == "incremental"
    # the command line
    path = people_csv(tmp_path / "c.csv", [person(i) for i in range(1, 3)])
    call_command("ingest", str(path), resource=entry.resource_code, user=data_admin.username, no_progress=True)
    last = IngestBatch.objects.latest("id")
    assert last.mode == "incremental" and last.rows_deleted == 0 and lake.count_rows(entry.resource_code) == 12


def test_the_api_upload_defaults_to_incremental(tmp_path: Path, publish: Any, data_admin: Any,
                                                django_capture_on_commit_callbacks: Any) -> None:
    entry = publish(data_admin)
    client = _client(data_admin)
    code = entry.resource_code.replace("/", "%2F")
    for seqs in (range(1, 11), range(9, 12)):
        with (tmp_path / f"{seqs.start}.csv").open("wb") as out:
            out.write(people_csv(tmp_path / f"p{seqs.start}.csv", [person(i) for i in seqs]).read_bytes())
        with (tmp_path / f"{seqs.start}.csv").open("rb") as fh, django_capture_on_commit_callbacks(execute=True):
            answer = client.post(f"{API}/resources/{code}/batches", {"file": fh})
        assert answer.status_code == 202 and answer.json()["mode"] == "incremental"
        assert answer.json()["mode_label"] == "增量（按主键更新）"
    assert lake.count_rows(entry.resource_code) == 11


def test_a_full_load_deleting_a_large_share_waits_and_commits_only_when_confirmed(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any
) -> None:
    entry = publish(data_admin)
    _first(queued, tmp_path, entry, data_admin)
    # keeps rows 1–3, drops 4–10 (7 of 10 = 70%), adds 11–12
    batch = _full(queued, tmp_path, entry, data_admin, range(1, 4), "b.csv")
    more = queued(services.do_submit_upload, data_admin, entry.resource_code,
                  Upload(people_csv(tmp_path / "b2.csv", [person(i) for i in (1, 2, 3, 11, 12)])), mode="full")
    more.refresh_from_db()
    batch.refresh_from_db()
    assert batch.status == "awaiting" and batch.get_status_display() == "待确认"
    assert {k: batch.preview[k] for k in ("base_version", "rows_current", "inserted", "updated", "deleted")} == {
        "base_version": 0, "rows_current": 10, "inserted": 0, "updated": 0, "deleted": 7}
    assert batch.preview["delete_share"] == 0.7 and batch.preview["threshold"] == 0.1
    assert more.status == "awaiting" and more.preview["inserted"] == 2 and more.preview["deleted"] == 7
    # nothing written: same version, same rows; the checked rows kept for the commit
    assert lake.current_version(entry.resource_code) == 0 and lake.count_rows(entry.resource_code) == 10
    assert (services.work_dir(batch.pk) / "checked" / "accepted.parquet").exists()
    assert batch.report["rows_accepted"] == 3 and any("等待确认" in n for n in batch.notes)
    assert AuditRecord.objects.filter(action="datahub.batch.await_confirmation", details__batch=batch.pk).exists()
    from zhengwu.core.models import Notification

    told = Notification.objects.get(recipient=data_admin, kind="datahub.batch.awaiting", url=f"/datahub/batches/{batch.pk}/")
    assert "删除 7 行" in told.title

    confirmed = queued(services.do_confirm_full_load, data_admin, more.pk)
    assert confirmed.confirmed_by == data_admin
    more.refresh_from_db()
    assert more.status == "succeeded" and more.lake_version == 1
    assert (more.rows_inserted, more.rows_updated, more.rows_deleted) == (2, 0, 7)
    assert lake.count_rows(entry.resource_code) == 5
    assert ResourceVersion.objects.get(resource_code=entry.resource_code, lake_version=1).batch_id == more.pk
    assert any("确认" in n for n in more.notes)
    audit = AuditRecord.objects.get(action="datahub.batch.confirm", object_id=str(more.pk))
    assert audit.details["deleted"] == 7 and audit.actor == data_admin.username

    # the other waiting batch is now stale: the resource has a new version since its preview
    with pytest.raises(Conflict) as info:
        services.do_confirm_full_load(data_admin, batch.pk)
    assert "重新校验" in info.value.message and "v1" in info.value.message and info.value.field == "batch"
    batch.refresh_from_db()
    assert batch.status == "awaiting" and lake.current_version(entry.resource_code) == 1
    assert AuditRecord.objects.filter(action="datahub.batch.confirm", object_id=str(batch.pk), result="failure").exists()
    # re-checked against the current data (5 rows: keeps 3, deletes 11 and 12 = 40%) — waits again
    queued(services.do_recheck_batch, data_admin, batch.pk)
    batch.refresh_from_db()
    assert batch.status == "awaiting" and batch.preview["base_version"] == 1
    assert (batch.preview["rows_current"], batch.preview["deleted"]) == (5, 2)


def test_a_full_load_under_the_share_commits_at_once_with_its_preview(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any
) -> None:
    entry = publish(data_admin)
    _first(queued, tmp_path, entry, data_admin)
    batch = _full(queued, tmp_path, entry, data_admin, range(2, 12))  # deletes 1 of 10: exactly 10%, not more
    assert batch.status == "succeeded" and batch.rows_deleted == 1 and batch.rows_inserted == 1
    assert batch.preview["deleted"] == 1 and batch.preview["needs_confirmation"] is False


@pytest.mark.usefixtures("lake_dir")
def test_the_preview_foretells_the_commit_with_and_without_a_key(tmp_path: Path) -> None:
    from .test_lake import CODE, accepted, refused, schema

    keyed = schema()
    lake.commit_batch(CODE, keyed, accepted(tmp_path, "a", [("1", "甲", 1.0), ("2", "乙", 2.0), ("3", "丙", 3.0),
                                                              ("4", "丁", 4.0)], 1), mode="full", batch_id=1)
    # 1 unchanged, 2 updated, 3 refused in this batch (kept), 4 missing (deleted), 5 new
    new = accepted(tmp_path, "b", [("1", "甲", 1.0), ("2", "乙", 9.0), ("5", "戊", 5.0)], 2)
    bad = refused(tmp_path, "r", ["3"])
    preview = lake.preview_full_load(CODE, keyed, new, bad)
    assert (preview.base_version, preview.rows_current, preview.inserted, preview.updated, preview.deleted) == (0, 4, 1, 1, 1)
    done = lake.commit_batch(CODE, keyed, new, mode="full", batch_id=2, refused=bad)
    assert (done.inserted, done.updated, done.deleted) == (preview.inserted, preview.updated, preview.deleted)

    plain, other = schema(keyed=False), "1/01/001/000002"
    lake.commit_batch(other, plain, accepted(tmp_path, "c", [("1", "甲", 1.0), ("2", "乙", 2.0)], 3), mode="full", batch_id=3)
    same = lake.preview_full_load(other, plain, accepted(tmp_path, "d", [("2", "乙", 2.0), ("1", "甲", 1.0)], 4))
    assert (same.inserted, same.deleted) == (0, 0)  # the same rows: nothing happens
    replaced = lake.preview_full_load(other, plain, accepted(tmp_path, "e", [("9", "壬", 9.0)], 5))
    assert (replaced.rows_current, replaced.inserted, replaced.deleted, replaced.delete_share) == (2, 1, 2, 1.0)
    assert lake.preview_full_load("1/01/001/000003", plain, accepted(tmp_path, "f", [("9", "壬", 9.0)], 6)).deleted == 0


def test_cancel_changes_nothing_and_permissions(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any, authority_admin: Any, other_unit_admin: Any,
    make_user: Any, provider: Any,
) -> None:
    from .conftest import grant

    entry = publish(data_admin)
    _first(queued, tmp_path, entry, data_admin)
    batch = _full(queued, tmp_path, entry, data_admin, range(1, 3))
    assert batch.status == "awaiting"
    # another unit's data manager, and the authority's (who did not upload), may not confirm or cancel
    for outsider in (other_unit_admin, authority_admin):
        for service in (services.do_confirm_full_load, services.do_cancel_batch, services.do_recheck_batch):
            with pytest.raises(PermissionDenied) as info:
                service(outsider, batch.pk)
            assert "市公安局的数据管理员" in info.value.message
    assert AuditRecord.objects.filter(action="datahub.batch.confirm", result="failure",
                                      actor=other_unit_admin.username).exists()
    batch.refresh_from_db()
    assert batch.status == "awaiting" and lake.current_version(entry.resource_code) == 0
    # a colleague of the uploader (another 数据管理员 of the unit) may cancel
    colleague = make_user("ga_data2", unit=provider, full_name="公安数据员二")
    grant(colleague, "data_admin", provider)
    cancelled = services.do_cancel_batch(colleague, batch.pk)
    assert cancelled.status == "cancelled" and "公安数据员二" in cancelled.error_message and cancelled.finished
    assert lake.current_version(entry.resource_code) == 0 and lake.count_rows(entry.resource_code) == 10
    assert not (services.work_dir(batch.pk) / "checked").exists()  # intermediates gone, input kept for retention
    assert AuditRecord.objects.filter(action="datahub.batch.cancel", object_id=str(batch.pk), result="success").exists()
    with pytest.raises(DomainError) as info:
        services.do_confirm_full_load(data_admin, batch.pk)
    assert "已取消" in info.value.message and "待确认" in info.value.message


def test_the_authority_uploader_may_confirm_its_own_full_load(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any, authority_admin: Any
) -> None:
    entry = publish(data_admin)
    _first(queued, tmp_path, entry, data_admin)
    batch = _full(queued, tmp_path, entry, authority_admin, range(1, 3))
    assert batch.status == "awaiting"
    queued(services.do_confirm_full_load, authority_admin, batch.pk)
    batch.refresh_from_db()
    assert batch.status == "succeeded" and batch.rows_deleted == 8


def test_expired_waiting_batches_are_cancelled_by_housekeeping(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any, settings: Any
) -> None:
    settings.INGEST_FULL_CONFIRM_EXPIRE_HOURS = 24
    entry = publish(data_admin)
    _first(queued, tmp_path, entry, data_admin)
    batch = _full(queued, tmp_path, entry, data_admin, range(1, 3))
    assert services.do_expire_waiting_batches(timezone.now() + timedelta(hours=23)) == []
    assert services.do_expire_waiting_batches(timezone.now() + timedelta(hours=25)) == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == "cancelled" and "24 小时" in batch.error_message
    assert lake.count_rows(entry.resource_code) == 10
    assert AuditRecord.objects.filter(action="datahub.batch.expire", object_id=str(batch.pk)).exists()


def test_the_batch_page_and_the_api_show_the_figures_and_confirm(
    tmp_path: Path, queued: Any, publish: Any, data_admin: Any, other_unit_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    entry = publish(data_admin)
    _first(queued, tmp_path, entry, data_admin)
    batch = _full(queued, tmp_path, entry, data_admin, range(1, 3))
    client = _client(data_admin)
    page = client.get(f"/datahub/batches/{batch.pk}/").content.decode()
    assert "全量替换待确认" in page and 'id="preview-deleted">8<' in page and "确认全量替换（删除 8 行）" in page
    assert 'data-batch-poll' not in page  # waiting is not processing: the page does not poll
    answer = client.get(f"{API}/batches/{batch.pk}").json()
    assert answer["status"] == "awaiting" and answer["status_label"] == "待确认"
    assert answer["preview"]["deleted"] == 8 and answer["preview"]["rows_current"] == 10
    assert answer["confirm_expires_at"] and answer["confirm_url"].endswith(f"/batches/{batch.pk}/confirm")
    # another unit's user: the batch is not visible, nothing changes
    outsider = _client(other_unit_admin)
    assert outsider.post(f"{API}/batches/{batch.pk}/confirm").status_code == 404
    assert outsider.post(f"/datahub/batches/{batch.pk}/", {"action": "confirm"}).status_code in (403, 404)
    assert IngestBatch.objects.get(pk=batch.pk).status == "awaiting"
    # a batch that is not waiting cannot be confirmed (409, Chinese)
    done = IngestBatch.objects.filter(resource_code=entry.resource_code, status="succeeded").first()
    assert done is not None
    refused = client.post(f"{API}/batches/{done.pk}/confirm")
    assert refused.status_code == 409 and "待确认" in refused.json()["detail"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"{API}/batches/{batch.pk}/confirm")
    assert answer.status_code == 202
    final = client.get(f"{API}/batches/{batch.pk}").json()
    assert final["status"] == "succeeded" and final["rows_deleted"] == 8 and final["confirmed_by"] == "公安数据员"


def test_the_page_buttons_cancel(tmp_path: Path, queued: Any, publish: Any, data_admin: Any) -> None:
    entry = publish(data_admin)
    _first(queued, tmp_path, entry, data_admin)
    batch = _full(queued, tmp_path, entry, data_admin, range(1, 3))
    client = _client(data_admin)
    answer = client.post(f"/datahub/batches/{batch.pk}/", {"action": "cancel"}, follow=True)
    assert "已取消批次" in answer.content.decode()
    assert IngestBatch.objects.get(pk=batch.pk).status == "cancelled"
