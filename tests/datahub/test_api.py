"""The datahub JSON API (/api/v1/datahub/…) through Django's test client: upload → batch → report,
quarantine as JSON and CSV, the CSV corrected and uploaded back, push with tokens and idempotency
keys, time travel, changes, rollback, rules, sources' refusals, quality, permissions and bad input.

Batches run through the ImmediateBackend when the request's transaction commits; the tests wrap
the requests that queue a batch in `django_capture_on_commit_callbacks(execute=True)`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from zhengwu.audit.models import AuditRecord
from zhengwu.datahub import lake
from zhengwu.datahub.models import IngestBatch, PushToken, ResourceRule, ResourceVersion

from .conftest import PEOPLE_ITEMS, grant, people_csv, person

pytestmark = pytest.mark.django_db

API = "/api/v1/datahub"
LABELS = [item["name"] for item in PEOPLE_ITEMS]
FIELDS = [item["field_name"] for item in PEOPLE_ITEMS]


@pytest.fixture
def entry(authority: Any, data_admin: Any, make_user: Callable[..., Any]) -> Any:
    """The population resource of 市公安局, published (items: PEOPLE_ITEMS)."""
    from zhengwu.catalog import services as catalog

    reviewer = make_user("api_review", unit=authority, full_name="目录审核员乙")
    grant(reviewer, "catalog_reviewer", authority)
    data = {
        "category": "1", "class_item": "01", "class_sub": "001", "name": "人口基本信息",
        "abstract": "人口基本信息：测试用的信息资源，用于数据归集接口测试，包含身份、地址等信息项。",
        "resource_format": "数据库", "share_type": "无条件共享", "share_method": "共享平台",
        "open_type": "不予开放", "open_basis": "《中华人民共和国个人信息保护法》", "update_cycle": "每日",
        "security_level": "敏感", "items": PEOPLE_ITEMS,
    }
    created = catalog.do_create_entry(data_admin, data)
    catalog.do_submit_entry(data_admin, created)
    catalog.do_approve_entry(reviewer, created)
    created.refresh_from_db()
    assert "/" in created.resource_code
    return created


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(code: str, tail: str = "") -> str:
    return f"{API}/resources/{code.replace('/', '%2F')}{tail}"


def upload(client: Client, code: str, path: Path, mode: str = "full") -> Any:
    with path.open("rb") as fh:
        return client.post(url(code, "/batches"), {"file": fh, "mode": mode})


def bad_rows(n: int = 12) -> list[dict[str, Any]]:
    rows = [person(i) for i in range(1, n + 1)]
    good_id = rows[2]["id_no"]
    rows[2]["id_no"] = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")  # wrong check digit: row 3
    rows[5]["person_name"] = ""  # required: row 6
    rows[7]["gender"] = "5"  # not in GB/T 2261.1: row 8
    rows[9]["birth_date"] = "1990-02-30"  # not a date: row 10
    return rows


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def versions(code: str) -> int:
    return ResourceVersion.objects.filter(resource_code=code).count()


def test_upload_report_quarantine_csv_and_correction_round_trip(
    tmp_path: Path, entry: Any, data_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = client_for(data_admin)
    code = entry.resource_code
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, code, people_csv(tmp_path / "人口.csv", bad_rows(), encoding="gbk"))
    assert response.status_code == 202, response.content
    submitted = response.json()
    assert submitted["status"] == "pending" and submitted["source_kind"] == "upload"
    assert submitted["progress_url"] == f"{API}/batches/{submitted['id']}"

    batch = api.get(submitted["progress_url"]).json()
    assert batch["status"] == "succeeded", batch["error_message"]
    assert (batch["stage"], batch["progress"], batch["encoding"]) == ("done", 100, "GBK")
    assert (batch["rows_in"], batch["rows_accepted"], batch["rows_refused"], batch["lake_version"]) == (12, 8, 4, 0)
    report = batch["report"]
    assert report["rows_refused"] == 4 and report["rules"] and report["fields"]
    assert {"completeness", "validity", "uniqueness", "consistency"} <= set(report["metrics"])
    assert 0 < batch["metrics"]["validity"] < 1

    page = api.get(batch["quarantine_url"], {"limit": 2}).json()
    assert page["count"] == 4 and len(page["items"]) == 2
    assert [c["label"] for c in page["columns"]] == LABELS
    whole = api.get(batch["quarantine_url"]).json()["items"]
    by_row = {item["row"]: item for item in whole}
    assert set(by_row) == {3, 6, 8, 10}
    assert any("姓名" in reason for reason in by_row[6]["reasons"])
    assert any("性别" in reason for reason in by_row[8]["reasons"])
    assert by_row[8]["values"]["gender"] == "5"  # the provider sees the raw text to correct it

    exported = api.get(f"{API}/batches/{batch['id']}/quarantine.csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    raw = b"".join(exported.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == ["行号", "错误原因", *LABELS]
    assert [row[0] for row in table[1:]] == ["3", "6", "8", "10"]
    assert all(chinese(row[1]) for row in table[1:])
    assert {"datahub.quarantine.read", "datahub.quarantine.export"} <= set(
        AuditRecord.objects.values_list("action", flat=True)
    )

    # Correct three of the four rows in the downloaded file (as Excel would save it: GBK), keep
    # 行号 and 错误原因 in it, and upload it back as a correction.
    fixed_rows = [table[0]]
    for row in table[1:]:
        number = int(row[0])
        if number == 10:
            fixed_rows.append(row)  # still wrong
            continue
        good = person(number)
        fixed_rows.append([row[0], row[1], *[good[f] for f in FIELDS]])
    correction_file = tmp_path / "补正.csv"
    with correction_file.open("w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows(fixed_rows)
    with django_capture_on_commit_callbacks(execute=True), correction_file.open("rb") as fh:
        response = api.post(f"{API}/batches/{batch['id']}/corrections", {"file": fh})
    assert response.status_code == 202, response.content
    correction = api.get(response.json()["progress_url"]).json()
    assert correction["status"] == "succeeded", correction["error_message"]
    assert (correction["source_kind"], correction["mode"], correction["parent_id"]) == ("correction", "incremental", batch["id"])
    assert (correction["rows_in"], correction["rows_accepted"], correction["rows_refused"]) == (4, 3, 1)
    # Resolution matches refused rows by key: rows 6 and 8 are resolved; row 3's key was itself the
    # error, so its corrected copy arrives as a new record rather than as a resolved one.
    assert api.get(batch["progress_url"]).json()["rows_resolved"] == 2
    assert api.get(url(code, "/rows")).json()["count"] == 11

    listed = api.get(url(code, "/batches")).json()
    assert listed["count"] == 2 and [b["id"] for b in listed["items"]] == [correction["id"], batch["id"]]


def test_the_quarantine_csv_is_accepted_back_as_is(
    tmp_path: Path, entry: Any, data_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = client_for(data_admin)
    with django_capture_on_commit_callbacks(execute=True):
        batch_id = upload(api, entry.resource_code, people_csv(tmp_path / "p.csv", bad_rows())).json()["id"]
    raw = b"".join(api.get(f"{API}/batches/{batch_id}/quarantine.csv").streaming_content)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{API}/batches/{batch_id}/corrections", {"file": _named(raw)})
    assert response.status_code == 202, response.content
    again = api.get(response.json()["progress_url"]).json()
    # Nothing was corrected: the same four rows are read (行号/错误原因 dropped) and refused again.
    assert again["status"] == "succeeded", again["error_message"]
    assert (again["rows_in"], again["rows_accepted"], again["rows_refused"]) == (4, 0, 4)
    reasons = [item["reasons"] for item in api.get(again["quarantine_url"]).json()["items"]]
    first = [item["reasons"] for item in api.get(f"{API}/batches/{batch_id}/quarantine").json()["items"]]
    assert reasons == first
    assert api.get(f"{API}/batches/{batch_id}").json()["rows_resolved"] == 0


def _named(data: bytes, name: str = "隔离数据.csv") -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def test_push_with_tokens_is_idempotent_and_scoped(
    entry: Any, data_admin: Any, other_unit_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    code = entry.resource_code
    api = client_for(data_admin)
    created = api.post(f"{API}/tokens", {"name": "户籍系统", "resource_codes": [code]}, content_type="application/json")
    assert created.status_code == 201, created.content
    secret = created.json()["token"]
    assert secret.startswith("zwp_") and created.json()["prefix"] == secret[:12]
    listed = api.get(f"{API}/tokens").json()["items"]
    assert [t["name"] for t in listed] == ["户籍系统"] and "token" not in listed[0]

    system = Client()  # a unit's system: no session, only the token
    records = [person(1), person(2), person(3)]

    def push(body: dict[str, Any], key: str, token: str = secret) -> Any:
        return system.post(
            url(code, "/push"), body, content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )

    with django_capture_on_commit_callbacks(execute=True):
        first = push({"records": records}, "2026-11-21-001")
    assert first.status_code == 202, first.content
    assert first.json()["source_kind"] == "push" and first.json()["push_token"] == secret[:12]
    assert first.json()["created_by"] == ""
    finished = api.get(first.json()["progress_url"]).json()
    assert finished["status"] == "succeeded" and finished["rows_accepted"] == 3
    assert versions(code) == 1
    # The system follows its own batch with its token, and sees no other batch.
    polled = system.get(first.json()["progress_url"], headers={"Authorization": f"Bearer {secret}"})
    assert polled.status_code == 200 and polled.json()["rows_accepted"] == 3
    assert system.get(first.json()["progress_url"]).status_code == 401

    with django_capture_on_commit_callbacks(execute=True):
        again = push({"records": records, "mode": "incremental"}, "2026-11-21-001")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert versions(code) == 1 and IngestBatch.objects.count() == 1  # applied once

    conflict = push({"records": [person(4)]}, "2026-11-21-001")
    assert conflict.status_code == 409
    assert "幂等键" in conflict.json()["detail"] and conflict.json()["errors"][0]["field"] == "Idempotency-Key"
    assert versions(code) == 1 and IngestBatch.objects.count() == 1

    other = client_for(other_unit_admin)
    foreign = other.post(f"{API}/tokens", {"name": "民政系统"}, content_type="application/json").json()["token"]
    refused = push({"records": [person(5)]}, "mz-1", token=foreign)
    assert refused.status_code == 403 and "市民政局" in refused.json()["detail"]
    peek = system.get(first.json()["progress_url"], headers={"Authorization": f"Bearer {foreign}"})
    assert peek.status_code == 404  # a token sees only the batches it pushed

    revoked = api.post(f"{API}/tokens/{created.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = push({"records": [person(6)]}, "2026-11-21-002")
    assert after.status_code == 401 and "令牌" in after.json()["detail"]
    garbage = push({"records": [person(6)]}, "2026-11-21-002", token="zwp_not-a-token")
    assert garbage.status_code == 401
    nothing = system.post(url(code, "/push"), {"records": [person(6)]}, content_type="application/json",
                          headers={"Idempotency-Key": "x"})
    assert nothing.status_code == 401
    assert versions(code) == 1 and IngestBatch.objects.count() == 1
    # Another unit's administrator cannot revoke (or even see) this unit's tokens.
    assert other.post(f"{API}/tokens/{created.json()['id']}/revoke").status_code == 404
    assert PushToken.objects.filter(revoked_at__isnull=True).count() == 1  # the 民政 token


def test_push_through_the_session_and_its_bad_input(
    entry: Any, data_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    code = entry.resource_code
    api = client_for(data_admin)

    def push(body: Any, key: str | None = "k-1") -> Any:
        headers = {"Idempotency-Key": key} if key is not None else {}
        return api.post(url(code, "/push"), body, content_type="application/json", headers=headers)

    not_objects = push({"records": [person(1), "张三", 3]})
    assert not_objects.status_code == 422
    fields = {e["field"] for e in not_objects.json()["errors"]}
    assert fields == {"records.1", "records.2"} and "必须是对象" in not_objects.json()["detail"]
    assert push({"records": []}).json()["errors"][0]["field"] == "records"
    assert push({"records": "张三"}).status_code == 422
    bad_mode = push({"records": [person(1)], "mode": "all"})
    assert bad_mode.status_code == 422 and bad_mode.json()["errors"][0]["field"] == "mode"
    missing_key = push({"records": [person(1)]}, key=None)
    assert missing_key.status_code == 422
    assert missing_key.json()["errors"] == [{"field": "Idempotency-Key", "message": "幂等键：必须填写"}]
    assert not IngestBatch.objects.exists() and versions(code) == 0

    with django_capture_on_commit_callbacks(execute=True):
        ok = push({"records": [person(1)], "mode": "full"})
    assert ok.status_code == 202 and ok.json()["created_by"] == "公安数据员" and ok.json()["mode"] == "full"
    assert api.get(ok.json()["progress_url"]).json()["status"] == "succeeded"


def test_bad_uploads_are_refused_in_chinese_and_change_nothing(tmp_path: Path, entry: Any, data_admin: Any) -> None:
    code = entry.resource_code
    api = client_for(data_admin)
    empty = tmp_path / "空.csv"
    empty.write_bytes(b"")
    response = upload(api, code, empty)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file" and "空" in response.json()["detail"]
    pdf = tmp_path / "人口.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    response = upload(api, code, pdf)
    assert response.status_code == 400 and "不支持的文件类型" in response.json()["detail"]
    response = upload(api, code, people_csv(tmp_path / "p.csv", [person(1)]), mode="替换")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "mode"
    missing = api.post(url(code, "/batches"), {"mode": "full"})
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "file"
    assert not IngestBatch.objects.exists() and versions(code) == 0
    unknown = upload(api, "999999/99999", people_csv(tmp_path / "q.csv", [person(1)]))
    assert unknown.status_code == 404 and chinese(unknown.json()["detail"])
    nul = api.get(f"{API}/resources/101001%0000001/rows")  # a NUL in the code (PostgreSQL cannot store it)
    assert nul.status_code == 400 and "空字符" in nul.json()["detail"]  # core.middleware.RejectNulMiddleware


def test_a_file_the_readers_refuse_fails_the_batch_with_its_reason(
    tmp_path: Path, entry: Any, data_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = client_for(data_admin)
    path = tmp_path / "少列.csv"
    path.write_text(",".join(LABELS[:-1]) + "\n" + ",".join(["x"] * (len(LABELS) - 1)) + "\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, entry.resource_code, path)
    batch = api.get(response.json()["progress_url"]).json()
    assert batch["status"] == "failed" and batch["error_field"] == "file" and "户籍地址" in batch["error_message"]
    assert versions(entry.resource_code) == 0
    assert api.get(batch["quarantine_url"]).json()["count"] == 0


@pytest.mark.usefixtures("any_lake")  # on the local folder and on S3-compatible storage
def test_versions_time_travel_changes_and_rollback(
    tmp_path: Path, entry: Any, data_admin: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.INGEST_FULL_DELETE_CONFIRM_SHARE = 0.5  # the full load deletes 1 of 5 rows: no confirmation
    code = entry.resource_code
    api = client_for(data_admin)
    with django_capture_on_commit_callbacks(execute=True):
        upload(api, code, people_csv(tmp_path / "第一批.csv", [person(i) for i in range(1, 6)]))
    second = [person(i) for i in range(2, 8)]
    second[0]["household_address"] = "梅江区新地址 1 号"
    with django_capture_on_commit_callbacks(execute=True):
        upload(api, code, people_csv(tmp_path / "第二批.csv", second))

    listed = api.get(url(code, "/versions")).json()
    assert listed["count"] == 2
    newest, oldest = listed["items"]
    assert (newest["version"], newest["operation"], newest["rows_total"]) == (1, "replace", 6)
    assert (newest["rows_inserted"], newest["rows_updated"], newest["rows_deleted"]) == (2, 1, 1)
    assert newest["lineage"]["file_name"] == "第二批.csv" and newest["lineage"]["source_kind"] == "upload"
    assert oldest["lineage"]["file_name"] == "第一批.csv" and len(oldest["lineage"]["file_sha256"]) == 64

    v0 = api.get(url(code, "/versions/0/rows"), {"limit": 2}).json()
    assert (v0["version"], v0["count"], len(v0["items"])) == (0, 5, 2)
    assert [c["label"] for c in v0["columns"]][: len(LABELS)] == LABELS
    shown = {row["id_no"] for row in api.get(url(code, "/versions/0/rows")).json()["items"]}
    assert person(1)["id_no"] in shown  # the provider's data manager sees the values clear
    current = api.get(url(code, "/rows")).json()
    assert (current["version"], current["count"]) == (1, 6)
    assert current["items"][0]["birth_date"] == "1990-01-01"
    missing = api.get(url(code, "/versions/9/rows"))
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "version"

    changes = api.get(url(code, "/changes"), {"from_version": 1}).json()
    kinds = sorted(item["change_type"] for item in changes["items"])
    assert kinds == ["delete", "insert", "insert", "update_postimage", "update_preimage"]
    assert changes["count"] == 5 and changes["to_version"] == 1
    assert all(item["commit_version"] == 1 for item in changes["items"])
    assert person(2)["id_no"] in {item["values"]["id_no"] for item in changes["items"]}
    post = next(i for i in changes["items"] if i["change_type"] == "update_postimage")
    assert post["values"]["household_address"] == "梅江区新地址 1 号"
    assert AuditRecord.objects.filter(action="datahub.changes.read", object_id=code).exists()
    assert api.get(url(code, "/changes"), {"from_version": 0}).json()["count"] == 10
    late = api.get(url(code, "/changes"), {"from_version": 5})
    assert late.status_code == 400 and late.json()["errors"][0]["field"] == "from_version"
    backwards = api.get(url(code, "/changes"), {"from_version": 1, "to_version": 0})
    assert backwards.status_code == 400 and backwards.json()["errors"][0]["field"] == "to_version"

    no_reason = api.post(url(code, "/rollback"), {"version": 0, "reason": " "}, content_type="application/json")
    assert no_reason.status_code == 400 and no_reason.json()["errors"][0]["field"] == "reason"
    assert lake.current_version(code) == 1
    rolled = api.post(url(code, "/rollback"), {"version": 0, "reason": "第二批来源有误"}, content_type="application/json")
    assert rolled.status_code == 200, rolled.content
    assert (rolled.json()["version"], rolled.json()["operation"], rolled.json()["restored_from"]) == (2, "rollback", 0)
    assert rolled.json()["lineage"] is None and rolled.json()["reason"] == "第二批来源有误"
    assert api.get(url(code, "/rows")).json()["count"] == 5
    assert api.get(url(code, "/versions/1/rows")).json()["count"] == 6  # still readable
    # The rollback's changes come file by file; applied in order they turn 6 rows into 5.
    undo = api.get(url(code, "/changes"), {"from_version": 2, "limit": 500}).json()["items"]
    assert {i["change_type"] for i in undo} <= {"insert", "delete"} and all(i["commit_version"] == 2 for i in undo)
    assert sum(1 if i["change_type"] == "insert" else -1 for i in undo) == 5 - 6
    # The "-" form of the code names the same resource.
    assert api.get(f"{API}/resources/{code.replace('/', '-')}/versions").json()["count"] == 3


def test_rules_derived_and_custom(entry: Any, data_admin: Any, other_unit_admin: Any) -> None:
    code = entry.resource_code
    api = client_for(data_admin)
    rules = api.get(url(code, "/rules")).json()
    assert rules["resource_code"] == code and rules["custom"] == []
    assert {r["field"] for r in rules["derived"]} >= {"id_no", "person_name", "gender", "birth_date"}
    body = {"kind": "pattern", "field": "household_address", "params": {"pattern": "^梅江区"}, "message": "地址须在梅江区"}
    created = api.post(url(code, "/rules"), body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["kind_label"] == "格式（正则表达式）"
    unknown = api.post(url(code, "/rules"), {**body, "field": "nope"}, content_type="application/json")
    assert unknown.status_code == 400 and chinese(unknown.json()["detail"])
    assert unknown.json()["errors"][0]["field"]
    assert [r["id"] for r in api.get(url(code, "/rules")).json()["custom"]] == [created.json()["id"]]
    other = client_for(other_unit_admin)
    assert other.delete(f"{API}/rules/{created.json()['id']}").status_code == 403
    assert api.delete(f"{API}/rules/{created.json()['id']}").status_code == 204
    assert not ResourceRule.objects.exists()
    assert api.delete(f"{API}/rules/{created.json()['id']}").status_code == 404


def test_permissions(
    tmp_path: Path, entry: Any, data_admin: Any, other_unit_admin: Any, authority_admin: Any,
    make_user: Callable[..., Any], django_capture_on_commit_callbacks: Any,
) -> None:
    code = entry.resource_code
    with django_capture_on_commit_callbacks(execute=True):
        batch_id = upload(client_for(data_admin), code, people_csv(tmp_path / "p.csv", bad_rows())).json()["id"]

    other = client_for(other_unit_admin)
    assert other.get(url(code, "/batches")).status_code == 403
    refused = upload(other, code, people_csv(tmp_path / "q.csv", [person(1)]))
    assert refused.status_code == 403 and "市公安局" in refused.json()["detail"]
    for path in (f"/batches/{batch_id}", f"/batches/{batch_id}/quarantine", f"/batches/{batch_id}/quarantine.csv"):
        assert other.get(API + path).status_code == 404
    for path in ("/rows", "/versions", "/versions/0/rows", "/rules"):
        assert other.get(url(code, path)).status_code == 403, path
    assert other.get(url(code, "/changes"), {"from_version": 0}).status_code == 403
    assert other.post(url(code, "/rollback"), {"version": 0, "reason": "试试"}, content_type="application/json").status_code == 403
    assert other.get(f"{API}/resources").json()["count"] == 0
    assert IngestBatch.objects.count() == 1

    # The data authority's 数据管理员 collects on behalf of units and sees their batches.
    bureau = client_for(authority_admin)
    resources = bureau.get(f"{API}/resources").json()
    assert [r["resource_code"] for r in resources["items"]] == [code]
    assert resources["items"][0]["last_batch_status"] == "succeeded" and resources["items"][0]["latest_version"] == 0
    assert resources["items"][0]["score"] is not None
    assert bureau.get(f"{API}/batches/{batch_id}/quarantine").json()["count"] == 4

    # Administrators (三员) are refused; a plain staff member sees only the quality scores.
    for role in ("system_admin", "security_admin", "audit_admin"):
        admin = client_for(make_user(f"dh_{role}", admin_role=role))
        assert admin.get(f"{API}/resources").status_code == 403
        assert admin.get(f"{API}/batches/{batch_id}").status_code == 403
        assert admin.get(f"{API}/quality/units").status_code == 403
        assert admin.get(f"{API}/tokens").status_code == 403
        assert chinese(admin.get(f"{API}/resources").json()["detail"])
    staff = client_for(make_user("dh_clerk", unit=entry.provider))
    assert staff.get(f"{API}/resources").json()["count"] == 0
    assert staff.get(url(code, "/rows")).status_code == 403
    assert staff.post(f"{API}/tokens", {"name": "系统"}, content_type="application/json").status_code == 403
    units = staff.get(f"{API}/quality/units").json()
    assert units["items"][0]["unit"] == "市公安局" and units["items"][0]["rank"] == 1
    assert [d["key"] for d in units["items"][0]["dimensions"]] == [
        "completeness", "validity", "uniqueness", "consistency", "timeliness"
    ]
    resources = staff.get(f"{API}/quality/resources").json()["items"]
    scored = next(r for r in resources if r["resource_code"] == code)
    assert scored["has_data"] and scored["batch_id"] == batch_id and 0 < scored["score"] <= 100
    assert scored["rows_in"] == 12 and scored["rows_refused"] == 4
    assert Client().get(f"{API}/resources").status_code == 401


def test_sources_refuse_bad_input_without_storing_anything(entry: Any, data_admin: Any, other_unit_admin: Any) -> None:
    from zhengwu.datahub.models import DataSource

    api = client_for(data_admin)
    base = {"resource_code": entry.resource_code, "name": "户籍库", "url": "postgresql+psycopg://u:secret@127.0.0.1/none",
            "table": "people"}
    both = api.post(f"{API}/sources", {**base, "query": "select 1"}, content_type="application/json")
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "table"
    incremental = api.post(f"{API}/sources", {**base, "mode": "incremental"}, content_type="application/json")
    assert incremental.status_code == 400 and incremental.json()["errors"][0]["field"] == "watermark_column"
    nul = api.post(f"{API}/sources", {**base, "name": "户籍\x00库"}, content_type="application/json")
    assert nul.status_code == 400 and "空字符" in nul.json()["detail"]  # core.middleware.RejectNulMiddleware
    foreign = client_for(other_unit_admin).post(f"{API}/sources", base, content_type="application/json")
    assert foreign.status_code == 403
    assert not DataSource.objects.exists()
    assert api.get(f"{API}/sources").json() == {"count": 0, "limit": 50, "offset": 0, "items": []}
    assert api.delete(f"{API}/sources/1").status_code == 404
    assert api.post(f"{API}/sources/1/run").status_code == 404


PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def people_table() -> Any:
    """A unit's own PostgreSQL table with the resource's columns (5 people)."""
    import uuid

    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    table = sa.Table(
        f"zw_api_people_{uuid.uuid4().hex[:10]}", sa.MetaData(),
        *[sa.Column(f, sa.String(100)) for f in FIELDS],
    )
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [person(i) for i in range(1, 6)])
    try:
        yield table.name
    finally:
        table.drop(engine, checkfirst=True)
        engine.dispose()


def test_a_database_source_is_registered_run_and_traced(
    people_table: str, entry: Any, data_admin: Any, django_capture_on_commit_callbacks: Any, local_databases: None
) -> None:
    api = client_for(data_admin)
    secret_url = PG_URL.replace("postgres@", "postgres:Pw-123456@")
    body = {"resource_code": entry.resource_code.replace("/", "-"), "name": "户籍业务库", "url": secret_url,
            "table": people_table, "scheduled": False}
    created = api.post(f"{API}/sources", body, content_type="application/json")
    assert created.status_code == 201, created.content
    source = created.json()
    assert "Pw-123456" not in created.content.decode() and "url" not in source
    assert source["url_display"] == "postgresql+psycopg://postgres:***@127.0.0.1:5432/test"
    assert source["resource_code"] == entry.resource_code and source["next_run_at"] is None
    assert api.get(f"{API}/sources", {"resource_code": entry.resource_code}).json()["count"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        run = api.post(f"{API}/sources/{source['id']}/run")
    assert run.status_code == 202 and run.json()["source_kind"] == "database"
    batch = api.get(run.json()["progress_url"]).json()
    assert batch["status"] == "succeeded", batch["error_message"]
    assert batch["rows_accepted"] == 5 and batch["source_name"] == "户籍业务库"
    lineage = api.get(url(entry.resource_code, "/versions")).json()["items"][0]["lineage"]
    assert lineage["source_id"] == source["id"] and lineage["source_url"] == source["url_display"]

    assert api.delete(f"{API}/sources/{source['id']}").status_code == 204
    assert api.get(f"{API}/sources").json()["count"] == 0
    assert api.get(run.json()["progress_url"]).json()["source_id"] is None  # the batch stays, unlinked
