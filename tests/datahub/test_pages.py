"""The data collection pages (数据归集, 数据质量评分) through Django's test client: who may open
them, uploads and the batch page (report, quarantine, correction), the resource page (versions,
time travel, rollback, rules, database sources), the quality ranking and push tokens. Refused
input shows a Chinese message on the form and changes nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from zhengwu.audit.models import AuditRecord
from zhengwu.core.masking import mask_text
from zhengwu.datahub import services
from zhengwu.datahub.models import DataSource, IngestBatch, PushToken, ResourceRule, ResourceVersion

from .conftest import people_csv, person

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def bad_people(n: int = 12) -> list[dict[str, Any]]:
    """n people, rows 3 (identity number check character), 6 (name missing) and 8 (gender not in
    GB/T 2261.1) wrong."""
    rows = [person(i) for i in range(1, n + 1)]
    last = rows[2]["id_no"][-1]
    rows[2]["id_no"] = rows[2]["id_no"][:-1] + ("0" if last != "0" else "1")
    rows[5]["person_name"] = ""
    rows[7]["gender"] = "5"
    return rows


def upload_file(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")


def counts() -> tuple[int, ...]:
    return (
        IngestBatch.objects.count(), ResourceVersion.objects.count(), ResourceRule.objects.count(),
        DataSource.objects.count(), PushToken.objects.count(),
    )


@pytest.fixture
def entry(publish: Callable[..., Any], data_admin: Any) -> Any:
    return publish(data_admin)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run the background task a request queues (the immediate task backend runs it on commit)."""

    def post(client: Client, url: str, data: dict[str, Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


@pytest.fixture
def uploaded(tmp_path: Path, entry: Any, data_admin: Any, run_on_commit: Callable[..., Any]) -> Iterator[IngestBatch]:
    """A GBK CSV with three bad rows uploaded through the index page and processed."""
    path = people_csv(tmp_path / "人口.csv", bad_people(), encoding="gbk")
    response = run_on_commit(login(data_admin), "/datahub/", {"resource": entry.resource_code, "mode": "full",
                                                                "file": upload_file(path)})
    batch = IngestBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/datahub/batches/{batch.pk}/"
    batch.refresh_from_db()
    assert batch.status == "succeeded", batch.error_message
    yield batch


# --- who may open what ------------------------------------------------------------------------------------


def test_index_lists_the_collectors_resources_with_upload_forms(entry: Any, data_admin: Any, settings: Any) -> None:
    settings.INGEST_MAX_FILE_MB = 300
    page = text(login(data_admin).get("/datahub/"))
    assert entry.resource_code in page and entry.name in page and "市公安局" in page
    assert page.count('name="file"') == 1 and 'value="incremental"' in page
    assert re.search(r'id="max-file">300 MB<', page)
    assert "尚无数据" in page


def test_pages_refuse_who_may_not_collect(
    entry: Any, other_unit_admin: Any, make_user: Callable[..., Any], provider: Any
) -> None:
    code = entry.resource_code
    # Another unit's data admin: no such resource on the index, 403 on its page.
    other = login(other_unit_admin)
    assert code not in text(other.get("/datahub/"))
    denied = other.get(f"/datahub/resources/{code}/")
    assert denied.status_code == 403 and "市公安局" in text(denied)
    # A staff member without the data admin role: no collection pages, but the quality ranking.
    clerk = login(make_user(unit=provider))
    assert clerk.get("/datahub/").status_code == 403
    assert clerk.get("/datahub/tokens/").status_code == 403
    assert clerk.get(f"/datahub/resources/{code}/").status_code == 403
    assert clerk.get("/datahub/quality/").status_code == 200
    # Administrators are refused everywhere; anonymous users are sent to log in.
    admin = login(make_user(unit=provider, admin_role="system_admin"))
    for url in ("/datahub/", "/datahub/quality/", "/datahub/tokens/", f"/datahub/resources/{code}/"):
        assert admin.get(url).status_code == 403, url
    anonymous = Client().get("/datahub/quality/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert login(other_unit_admin).get("/datahub/resources/999999/00001/").status_code == 404


def test_authority_data_admin_collects_for_every_unit(entry: Any, authority_admin: Any) -> None:
    client = login(authority_admin)
    assert entry.resource_code in text(client.get("/datahub/"))
    assert client.get(f"/datahub/resources/{entry.resource_code}/").status_code == 200


# --- uploads, the batch page, quarantine and correction ---------------------------------------------------------


def test_upload_errors_are_shown_on_the_form_and_change_nothing(
    tmp_path: Path, entry: Any, data_admin: Any, settings: Any
) -> None:
    client = login(data_admin)
    before = counts()
    missing = client.post("/datahub/", {"resource": entry.resource_code, "mode": "full"})
    assert missing.status_code == 200 and "请选择要上传的文件" in text(missing)
    pdf = SimpleUploadedFile("人口.pdf", b"%PDF-1.4", content_type="application/pdf")
    wrong = client.post("/datahub/", {"resource": entry.resource_code, "mode": "full", "file": pdf})
    assert "不支持的文件类型" in text(wrong) and ".csv" in text(wrong)
    path = people_csv(tmp_path / "p.csv", [person(1)])
    mode = client.post("/datahub/", {"resource": entry.resource_code, "mode": "replace", "file": upload_file(path)})
    assert "归集方式" in text(mode)
    settings.INGEST_MAX_FILE_MB = 0
    big = client.post(f"/datahub/resources/{entry.resource_code}/",
                      {"action": "upload", "mode": "full", "file": upload_file(path)})
    assert big.status_code == 200 and "超过单个批次的上限 0 MB" in text(big)
    assert counts() == before


def test_batch_page_shows_report_and_quarantine_then_a_correction_resolves_rows(
    tmp_path: Path, uploaded: IngestBatch, entry: Any, data_admin: Any, run_on_commit: Callable[..., Any]
) -> None:
    batch = uploaded
    client = login(data_admin)
    page = text(client.get(f"/datahub/batches/{batch.pk}/"))
    assert (batch.rows_in, batch.rows_accepted, batch.rows_refused) == (12, 9, 3)
    assert 'id="rows-in">12<' in page and 'id="rows-accepted">9<' in page and 'id="rows-refused">3<' in page
    assert "GBK" in page and batch.file_sha256[:16] in page
    # The per-rule and per-field tables, with the failures and pass rates.
    rules = page[page.index('id="rule-report"'):page.index('id="field-report"')]
    assert "公民身份号码" in rules and "完整性" in rules and "有效性" in rules and "唯一性" in rules
    assert "91.67%" in rules  # 11 of 12 rows pass the name rule and the gender rule
    assert "性别(gender)" in page
    # Quarantine: reasons first, raw values (the provider corrects them), a download link.
    quarantine = page[page.index('id="quarantine-table"'):]
    header = quarantine[:quarantine.index("</thead>")]
    assert header.index("行号") < header.index("隔离原因") < header.index("公民身份号码")
    assert "姓名" in quarantine and "性别" in quarantine
    bad = bad_people()
    assert bad[2]["id_no"] in quarantine  # shown as delivered
    assert f'href="/api/v1/datahub/batches/{batch.pk}/quarantine.csv"' in page
    assert 'id="correction-form"' in page and 'id="resolved-count">0<' in page
    assert AuditRecord.objects.filter(action="datahub.quarantine.read").exists()

    # 补正重报: the two fixable rows, corrected, through the page.
    fixed = people_csv(tmp_path / "补正.csv", [person(6), person(8)], encoding="gbk")
    response = run_on_commit(client, f"/datahub/batches/{batch.pk}/", {"file": upload_file(fixed)})
    correction = IngestBatch.objects.get(parent=batch)
    assert response.status_code == 302 and response["Location"] == f"/datahub/batches/{correction.pk}/"
    correction.refresh_from_db()
    assert correction.status == "succeeded" and correction.source_kind == "correction"
    assert correction.mode == "incremental" and correction.rows_accepted == 2
    page = text(client.get(f"/datahub/batches/{batch.pk}/"))
    assert 'id="resolved-count">2<' in page and f"批次 {correction.pk}" in page
    assert "补正的批次" in text(client.get(f"/datahub/batches/{correction.pk}/"))


def test_correction_upload_accepts_the_downloaded_quarantine_csv_shape(
    uploaded: IngestBatch, data_admin: Any, run_on_commit: Callable[..., Any]
) -> None:
    """The quarantine CSV (行号, 错误原因, then the items by name) corrected in place is accepted."""
    from .conftest import PEOPLE_ITEMS

    names = [item["name"] for item in PEOPLE_ITEMS]
    fields = [item["field_name"] for item in PEOPLE_ITEMS]
    out = io.StringIO()
    out.write("行号,错误原因," + ",".join(names) + "\n")
    for row_no, p in ((6, person(6)), (8, person(8))):
        out.write(f"{row_no},已改正," + ",".join(str(p[f]) for f in fields) + "\n")
    upload = SimpleUploadedFile("隔离数据-补正.csv", ("\ufeff" + out.getvalue()).encode(), content_type="text/csv")
    run_on_commit(login(data_admin), f"/datahub/batches/{uploaded.pk}/", {"file": upload})
    correction = IngestBatch.objects.get(parent=uploaded)
    assert correction.status == "succeeded", correction.error_message
    uploaded.refresh_from_db()
    assert uploaded.rows_resolved == 2


def test_correction_form_errors_change_nothing(uploaded: IngestBatch, data_admin: Any) -> None:
    client = login(data_admin)
    before = counts()
    empty = client.post(f"/datahub/batches/{uploaded.pk}/", {})
    assert empty.status_code == 200 and "请选择补正后的文件" in text(empty)
    wrong = client.post(f"/datahub/batches/{uploaded.pk}/",
                        {"file": SimpleUploadedFile("x.docx", b"PK\x03\x04", content_type="application/octet-stream")})
    assert "不支持的文件类型" in text(wrong)
    assert counts() == before


def test_batch_page_of_a_queued_batch_polls_its_progress(tmp_path: Path, entry: Any, data_admin: Any,
                                                         other_unit_admin: Any) -> None:
    path = people_csv(tmp_path / "p.csv", [person(1)])
    with path.open("rb") as fh:
        batch = services.do_submit_upload(data_admin, entry.resource_code, SimpleUploadedFile("p.csv", fh.read()),
                                          enqueue=False)
    page = text(login(data_admin).get(f"/datahub/batches/{batch.pk}/"))
    assert "排队中" in page and 'aria-valuenow="0"' in page
    # polled by console.js (no inline script under the CSP)
    assert f'data-batch-poll="/api/v1/datahub/batches/{batch.pk}"' in page and "zhengwu/console.js" in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript the page refreshes itself
    assert login(other_unit_admin).get(f"/datahub/batches/{batch.pk}/").status_code == 404


def test_failed_batch_shows_the_reason_in_chinese(tmp_path: Path, entry: Any, data_admin: Any,
                                                  run_on_commit: Callable[..., Any]) -> None:
    path = tmp_path / "人口.csv"
    path.write_text("姓名,性别\n张三,1\n", encoding="utf-8")
    run_on_commit(login(data_admin), "/datahub/", {"resource": entry.resource_code, "mode": "full",
                                                   "file": upload_file(path)})
    batch = IngestBatch.objects.get()
    assert batch.status == "failed"
    page = text(login(data_admin).get(f"/datahub/batches/{batch.pk}/"))
    assert 'id="batch-error"' in page and "公民身份号码" in page
    assert ResourceVersion.objects.count() == 0


# --- the resource page ------------------------------------------------------------------------------------------


def test_resource_page_versions_lineage_preview_and_rollback(
    tmp_path: Path, uploaded: IngestBatch, entry: Any, data_admin: Any, authority_admin: Any,
    run_on_commit: Callable[..., Any],
) -> None:
    code = entry.resource_code
    client = login(data_admin)
    url = f"/datahub/resources/{code}/"
    # A second, incremental batch: v1.
    more = people_csv(tmp_path / "增量.csv", [person(20), person(21)])
    run_on_commit(client, url, {"action": "upload", "mode": "incremental", "file": upload_file(more)})
    second = IngestBatch.objects.exclude(pk=uploaded.pk).get()
    assert second.status == "succeeded" and second.lake_version == 1

    page = text(client.get(url))
    versions = page[page.index('id="versions"'):page.index('id="preview"')]
    assert "v1" in versions and "v0" in versions and "首次写入" in versions and "增量更新" in versions
    assert f"#{uploaded.pk}" in versions and "人口.csv" in versions and "文件上传" in versions
    assert 'id="current-version">v1<' in page
    # Derived rules and the quality trend chart.
    assert "公民身份号码(id_no) 是有效的公民身份号码" in page and "<svg" in page[page.index('id="trend"'):]
    # Time travel: v0 has the 9 first accepted rows; the provider's data manager sees them clear,
    # the data authority masked; the read is audited.
    preview = text(client.get(url, {"version": "0"}))
    table = preview[preview.index('id="preview-table"'):]
    first = person(1)
    assert "共 9 行" in preview
    assert first["id_no"] in table and 'id="preview-masked"' not in preview
    preview = text(login(authority_admin).get(url, {"version": "0"}))
    table = preview[preview.index('id="preview-table"'):]
    assert first["id_no"] not in table and mask_text(first["id_no"]) in table
    assert first["household_address"] in table  # not sensitive
    assert "公民身份号码、姓名 已按目录的脱敏方式遮盖" in preview
    assert AuditRecord.objects.filter(action="datahub.version.read").exists()
    assert "共 11 行" in text(client.get(url, {"version": "1"}))
    assert "版本 7 不存在" in text(client.get(url, {"version": "7"}))

    # Rollback needs a reason and the confirmation; then v2 is v0's content.
    before = counts()
    unconfirmed = client.post(url, {"action": "rollback", "version": "0", "reason": "误传"})
    assert unconfirmed.status_code == 200 and "请勾选确认回滚" in text(unconfirmed)
    no_reason = client.post(url, {"action": "rollback", "version": "0", "reason": "", "confirm": "on"})
    assert "请填写回滚原因" in text(no_reason)
    assert counts() == before
    done = client.post(url, {"action": "rollback", "version": "0", "reason": "增量批次有误", "confirm": "on"})
    assert done.status_code == 302
    rolled = ResourceVersion.objects.get(resource_code=code, lake_version=2)
    assert rolled.operation == "rollback" and rolled.restored_from == 0 and rolled.rows_total == 9
    page = text(client.get(url))
    assert 'id="current-version">v2<' in page and "回滚（到 v0）" in page and "增量批次有误" in page


def test_custom_rules_added_checked_and_deleted_through_the_page(entry: Any, data_admin: Any) -> None:
    url = f"/datahub/resources/{entry.resource_code}/"
    client = login(data_admin)
    before = counts()
    no_pattern = client.post(url, {"action": "rule_add", "kind": "pattern", "field": "household_address"})
    assert no_pattern.status_code == 200 and "正则表达式" in text(no_pattern)
    bad_regex = client.post(url, {"action": "rule_add", "kind": "pattern", "field": "household_address",
                                  "pattern": "^(梅江"})
    assert "有误" in text(bad_regex)
    reversed_range = client.post(url, {"action": "rule_add", "kind": "range", "field": "birth_date",
                                       "min_value": "2000-01-01", "max_value": "1900-01-01"})
    assert "晚于上限" in text(reversed_range)
    no_field = client.post(url, {"action": "rule_add", "kind": "pattern", "pattern": "^.+$"})
    assert "请填写检查的字段" in text(no_field)
    assert counts() == before

    ok = client.post(url, {"action": "rule_add", "kind": "id_birthdate", "field": "birth_date", "id_field": "id_no",
                           "message": "出生日期与身份证不符"})
    assert ok.status_code == 302
    rule = ResourceRule.objects.get()
    assert (rule.kind, rule.field, rule.params, rule.message) == (
        "id_birthdate", "birth_date", {"id_field": "id_no"}, "出生日期与身份证不符")
    page = text(client.get(url))
    custom = page[page.index('id="custom-rules"'):]
    assert "出生日期与身份号码一致" in custom and "出生日期与身份证不符" in custom
    assert client.post(url, {"action": "rule_delete", "rule": str(rule.pk)}).status_code == 302
    assert not ResourceRule.objects.exists()


def test_database_source_form_refuses_bad_input_and_masks_the_password(
    entry: Any, data_admin: Any, run_on_commit: Callable[..., Any], local_databases: None
) -> None:
    """A real PostgreSQL table as the unit's database (the test server at 127.0.0.1:5432)."""
    import sqlalchemy as sa

    url = f"/datahub/resources/{entry.resource_code}/"
    client = login(data_admin)
    before = counts()
    both = client.post(url, {"action": "source_add", "name": "人口库", "url": "sqlite://", "table": "t",
                             "query": "select 1", "mode": "full", "scheduled": "on"})
    assert both.status_code == 200 and "表名和查询语句必须且只能填写一项" in text(both)
    no_watermark = client.post(url, {"action": "source_add", "name": "人口库", "url": "sqlite://", "table": "t",
                                     "mode": "incremental"})
    assert "增量标识列" in text(no_watermark)
    no_url = client.post(url, {"action": "source_add", "name": "人口库", "table": "t", "mode": "full"})
    assert "请填写数据库连接地址" in text(no_url)
    assert counts() == before

    table = f"zw_page_people_{IngestBatch.objects.count()}_{id(client) % 100000}"
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    columns = ["id_no", "person_name", "gender", "birth_date", "division_code", "household_address"]
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table} ({', '.join(c + ' text' for c in columns)})"))
            for i in (1, 2, 3):
                p = person(i)
                conn.execute(sa.text(f"INSERT INTO {table} VALUES ({', '.join(':' + c for c in columns)})"),
                             {c: p[c] for c in columns})
        source_url = "postgresql+psycopg://postgres:s3cret-pass@127.0.0.1:5432/test"
        created = client.post(url, {"action": "source_add", "name": "公安人口库", "url": source_url, "table": table,
                                    "mode": "full", "scheduled": "on"})
        assert created.status_code == 302, text(created)
        source = DataSource.objects.get()
        page = text(client.get(url))
        listing = page[page.index('id="source-list"'):]
        assert "公安人口库" in listing and "s3cret-pass" not in page and table in listing
        assert source.url_encrypted and "s3cret" not in source.url_encrypted
        ran = run_on_commit(client, url, {"action": "source_run", "source": str(source.pk)})
        batch = IngestBatch.objects.get(source=source)
        assert ran.status_code == 302 and ran["Location"] == f"/datahub/batches/{batch.pk}/"
        batch.refresh_from_db()
        assert batch.status == "succeeded", batch.error_message
        assert batch.rows_accepted == 3
        assert client.post(url, {"action": "source_delete", "source": str(source.pk)}).status_code == 302
        assert not DataSource.objects.exists()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


# --- quality ranking ------------------------------------------------------------------------------------------


def test_quality_page_ranks_units_for_every_staff_member(
    uploaded: IngestBatch, entry: Any, publish: Callable[..., Any], other_unit_admin: Any, make_user: Callable[..., Any]
) -> None:
    publish(other_unit_admin, name="低保对象信息", category="2", class_item="05")  # no data yet: scores 0
    clerk = make_user(unit=other_unit_admin.unit)
    client = login(clerk)
    page = text(client.get("/datahub/quality/"))
    ranking = page[page.index('id="unit-ranking"'):page.index('id="resources"')]
    assert ranking.index("市公安局") < ranking.index("市民政局")
    assert "1 / 1" in ranking and "0 / 1" in ranking
    chart = page[page.index('id="unit-chart"'):page.index('id="unit-ranking"')]
    assert "<svg" in chart and "市公安局" in chart
    assert "20% × 完整性" in page and "30% × 有效性" in page and "三个周期" in page
    scores = page[page.index('id="resource-scores"'):]
    assert scores.index(entry.name) < scores.index("低保对象信息")
    ascending = text(client.get("/datahub/quality/", {"sort": "score"}))
    scores = ascending[ascending.index('id="resource-scores"'):]
    assert scores.index("低保对象信息") < scores.index(entry.name)
    # Scores only: no data values on this page, and links only to resources the reader collects.
    assert person(1)["id_no"] not in page
    link = f'href="/datahub/resources/{entry.resource_code}/"'
    assert link not in page and link not in text(login(other_unit_admin).get("/datahub/quality/"))
    assert link in text(login(uploaded.created_by).get("/datahub/quality/"))


# --- push tokens ----------------------------------------------------------------------------------------------


def test_push_token_is_shown_once_and_can_be_revoked(entry: Any, data_admin: Any) -> None:
    client = login(data_admin)
    before = counts()
    nameless = client.post("/datahub/tokens/", {"action": "create", "unit": str(data_admin.unit_id), "name": ""})
    assert nameless.status_code == 200 and "请填写使用该令牌的系统名称" in text(nameless)
    assert counts() == before

    created = client.post("/datahub/tokens/", {"action": "create", "unit": str(data_admin.unit_id),
                                               "name": "人口业务系统", "resource_codes": [entry.resource_code]})
    page = text(created)
    secret = re.search(r'id="token-secret">(zwp_[^<]+)<', page)
    assert secret is not None and "只显示这一次" in page and created["Cache-Control"] == "no-store"
    token = PushToken.objects.get()
    assert token.resource_codes == [entry.resource_code]
    assert services.authenticate_push_token(secret.group(1)) == token
    listing = text(client.get("/datahub/tokens/"))
    assert "人口业务系统" in listing and secret.group(1) not in listing and token.prefix in listing

    assert client.post("/datahub/tokens/", {"action": "revoke", "token": str(token.pk)}).status_code == 302
    assert services.authenticate_push_token(secret.group(1)) is None
    assert "已吊销" in text(client.get("/datahub/tokens/"))

