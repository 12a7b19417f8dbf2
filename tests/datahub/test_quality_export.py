"""The quality scorecard (unit ranking) exports to Excel (core.exports: formulas neutralised) and
PDF (reportlab, CID font STSong-Light) for a chosen period; bad dates are refused in Chinese."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from zhengwu.audit.models import AuditRecord
from zhengwu.datahub import queries, services
from zhengwu.datahub.models import IngestBatch

from .conftest import Upload, people_csv, person

pytestmark = pytest.mark.django_db
API = "/api/v1/datahub"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def scored(queued: Any, tmp_path: Path, publish: Any, data_admin: Any, make_unit: Any, make_user: Any) -> dict[str, Any]:
    from .conftest import grant

    entry = publish(data_admin)
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code,
                   Upload(people_csv(tmp_path / "p.csv", [person(i) for i in range(1, 6)])))
    # a second unit whose name would be a formula in a spreadsheet
    unit = make_unit("=HYPERLINK(\"http://evil\")市民政局")
    admin = make_user("mz_x", unit=unit, full_name="民政")
    grant(admin, "data_admin", unit)
    publish(admin, name="低保对象信息", class_item="02")
    return {"entry": entry, "batch": IngestBatch.objects.get(pk=batch.pk), "unit": unit}


def _download(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_excel_export_of_a_period_neutralises_formulas(scored: dict[str, Any], data_admin: Any) -> None:
    today = timezone.localdate()
    answer = _client(data_admin).get(f"/datahub/quality/export.xlsx?from={today - timedelta(days=7)}&to={today}")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in answer["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(_download(answer))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["排名", "单位", "评分", "资源数", "已归集", "完整性", "有效性", "唯一性", "一致性", "及时性"]
    units = {r[1]: r for r in rows[1:]}
    assert "市公安局" in units and units["市公安局"][0] == 1 and units["市公安局"][4] == 1
    assert units["市公安局"][2] > 0
    evil = next(r for r in rows[1:] if "HYPERLINK" in str(r[1]))
    assert evil[1].startswith("'=") and evil[2] == 0  # text, never a formula; no data, score 0
    audit = AuditRecord.objects.filter(action="datahub.quality.export").latest("seq")
    assert audit.details["format"] == "xlsx" and audit.details["to"] == today.isoformat()


def test_pdf_export_opens_and_names_the_units(scored: dict[str, Any], data_admin: Any) -> None:
    start = timezone.localdate() - timedelta(days=30)
    answer = _client(data_admin).get(f"/datahub/quality/export.pdf?from={start}&to={timezone.localdate()}")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    data = _download(answer)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    text = "".join(page.extract_text() for page in reader.pages)
    assert "市公安局" in text and "市民政局" in text and "数据质量评分" in text and start.isoformat() in text


def test_a_period_before_any_batch_scores_nothing(scored: dict[str, Any], data_admin: Any) -> None:
    period = queries.parse_period("2000-01-01", "2000-12-31")
    assert period is not None
    units = {u.unit_name: u for u in queries.unit_ranking(period=period)}
    assert units["市公安局"].score == 0 and units["市公安局"].collected == 0
    current = {u.unit_name: u for u in queries.unit_ranking()}
    assert current["市公安局"].score > 0


def test_bad_periods_are_refused_in_chinese_and_export_nothing(scored: dict[str, Any], data_admin: Any) -> None:
    client = _client(data_admin)
    before = AuditRecord.objects.filter(action="datahub.quality.export").count()
    page = client.get("/datahub/quality/export.xlsx?from=2026-13-01&to=2026-12-31")
    assert page.status_code == 400 and "开始日期应为 YYYY-MM-DD 格式的有效日期" in page.content.decode()
    page = client.get("/datahub/quality/?from=2026-12-31&to=2026-01-01")
    assert page.status_code == 200 and "开始日期 2026-12-31 晚于结束日期 2026-01-01" in page.content.decode()
    answer = client.get(f"{API}/quality/export?format=pdf&to=20261231")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "to"
    assert "结束日期" in answer.json()["detail"]
    assert client.get(f"{API}/quality/export?format=doc").status_code == 400
    assert client.get("/datahub/quality/export.doc").status_code == 404
    assert AuditRecord.objects.filter(action="datahub.quality.export").count() == before


def test_the_api_exports_and_the_page_links_the_exports(scored: dict[str, Any], data_admin: Any) -> None:
    client = _client(data_admin)
    today = timezone.localdate()
    answer = client.get(f"{API}/quality/export?format=pdf&from=2026-01-01&to={today}")
    assert answer.status_code == 200 and _download(answer).startswith(b"%PDF-")
    xlsx = client.get(f"{API}/quality/export?format=xlsx")
    assert xlsx.status_code == 200 and load_workbook(io.BytesIO(_download(xlsx))).active["B1"].value == "单位"
    page = client.get(f"/datahub/quality/?from=2026-01-01&to={today}").content.decode()
    assert f"评分期间 2026-01-01 至 {today}" in page
    assert f'href="/datahub/quality/export.pdf?from=2026-01-01&amp;to={today}"' in page
    too_long = client.get(f"{API}/quality/export?format=pdf&from=2000-01-01&to={today}")
    assert too_long.status_code == 400 and "最长" in too_long.json()["detail"]
    assert Client().get("/datahub/quality/export.pdf").status_code in (302, 401)  # login first
