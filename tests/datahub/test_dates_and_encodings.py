"""Chinese date forms are stored as ISO dates and counted in the report; a file in Big5 (or
another encoding that decodes to nonsense headers) is refused with "文件编码可能不是 UTF-8/GBK…"
and can be uploaded again with the encoding chosen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import Client

from zhengwu.core.errors import DomainError
from zhengwu.datahub import engine, lake, services
from zhengwu.datahub.readers import looks_garbled, stage_file
from zhengwu.datahub.rules import derive_rules
from zhengwu.datahub.schema import Column, ResourceSchema

from .conftest import Upload, people_csv, person

pytestmark = pytest.mark.django_db

DATES = ResourceSchema("D", "日期", 1, 1, "每日", (
    Column("k", "编号", "字符", 10, is_key=True, required=True),
    Column("day", "登记日期", "日期"),
    Column("at", "登记时间", "日期时间"),
))


def _check(tmp_path: Path, rows: list[tuple[str, str | None, str | None]]) -> engine.CheckResult:
    staged = tmp_path / "staged.parquet"
    pq.write_table(pa.table({
        "_row": pa.array(range(1, len(rows) + 1), pa.int64()), "_structure": pa.nulls(len(rows), pa.string()),
        "k": [r[0] for r in rows], "day": [r[1] for r in rows], "at": [r[2] for r in rows],
    }), staged)
    return engine.check_batch(staged, DATES, derive_rules(DATES), out_dir=tmp_path / "out", batch_id=1)


def test_chinese_date_forms_become_iso_dates(tmp_path: Path) -> None:
    result = _check(tmp_path, [
        ("1", "2006年4月25日", "2006年4月25日 14:30"),
        ("2", "2006/4/25", "2006/4/25 14:30:00"),
        ("3", "2006.4.25", "2006.04.25 9:05"),
        ("4", "2006-4-25", "2006-4-25 14:30:15.5"),
        ("5", "20060425", "20060425 14:30"),
        ("6", "2006-04-25", "2006-04-25 14:30"),  # already ISO: not counted
        ("7", "2006年2月30日", None),  # not a date: refused, with its text as delivered
        ("8", "2006/4-25", None),  # mixed separators: not a form, refused
        ("9", None, "2006年13月1日 10:00"),
    ])
    rows = {r["k"]: r for r in pads_rows(result.accepted)}
    assert sorted(rows) == ["1", "2", "3", "4", "5", "6"]
    assert {r["day"] for r in rows.values()} == {dt.date(2006, 4, 25)}
    assert rows["1"]["at"] == dt.datetime(2006, 4, 25, 14, 30)
    assert rows["3"]["at"] == dt.datetime(2006, 4, 25, 9, 5)
    assert rows["4"]["at"] == dt.datetime(2006, 4, 25, 14, 30, 15, 500000)
    # every value written in a Chinese form is rewritten and counted (row 7's and 9's too, then refused
    # as dates that do not exist); row 8's mixed separators are no form and stay as they are
    assert result.report["normalised"] == {"day": 6, "at": 6}
    fields = {f["field"]: f for f in result.report["fields"]}
    assert fields["day"]["normalised"] == 6 and fields["k"]["normalised"] == 0
    refused = {r["k"]: r for r in pads_rows(result.refused)}
    assert refused["7"]["day"] == "2006年2月30日"  # kept as delivered
    assert "登记日期(day)：日期 2006-02-30 不存在" in refused["7"]["_errors"]
    assert refused["8"]["day"] == "2006/4-25" and "不是有效的日期" in refused["8"]["_errors"]
    assert "登记时间" in refused["9"]["_errors"]


def pads_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.dataset as pads

    return pads.dataset(str(path), format="parquet").to_table().to_pylist()


def test_an_upload_with_chinese_dates_reports_how_many_were_normalised(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any
) -> None:
    entry = publish(data_admin)
    people = [person(1, birth_date="1990年1月1日"), person(2, birth_date="1990/1/1"), person(3, birth_date="19900101"),
              person(4), person(5, birth_date="1990年2月30日")]
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(people_csv(tmp_path / "p.csv", people)))
    batch.refresh_from_db()
    assert (batch.status, batch.rows_accepted, batch.rows_refused) == ("succeeded", 4, 1)
    assert batch.report["normalised"] == {"birth_date": 4}
    assert any(n.startswith("出生日期：4 个值由中文日期写法") for n in batch.notes)
    _, rows, _ = lake.read_rows(entry.resource_code)
    assert {r["birth_date"] for r in rows} == {dt.date(1990, 1, 1)}
    client = Client()
    client.force_login(data_admin)
    page = client.get(f"/datahub/batches/{batch.pk}/").content.decode()
    assert "日期已转换" in page and "由中文日期写法" in page


# --- encodings ------------------------------------------------------------------------------------

BIG5_ITEMS = [
    {"name": "編號", "field_name": "code", "data_type": "字符", "length": 10, "is_key": True},
    {"name": "姓名", "field_name": "person_name", "data_type": "字符", "length": 20},
    {"name": "出生日期", "field_name": "birth", "data_type": "日期"},
    {"name": "住址", "field_name": "address", "data_type": "字符", "length": 60},
]
BIG5_TEXT = "編號,姓名,出生日期,住址\n1,陳大文,1980年5月6日,臺北市中正區\n2,林美玲,1985/12/1,高雄市\n"


def _big5(tmp_path: Path) -> Path:
    path = tmp_path / "繁體.csv"
    path.write_bytes(BIG5_TEXT.encode("big5"))  # a real Big5 file, by Python's codec
    return path


def test_a_big5_file_is_refused_with_the_encoding_hint_not_garbled_names(
    queued: Any, tmp_path: Path, publish: Any, data_admin: Any
) -> None:
    entry = publish(data_admin, name="繁體資料", items=BIG5_ITEMS)
    batch = queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(_big5(tmp_path)))
    batch.refresh_from_db()
    assert batch.status == "failed" and batch.error_field == "encoding"
    assert batch.error_message.startswith("文件编码可能不是 UTF-8/GBK")
    assert "Big5" in batch.error_message and "文件编码" in batch.error_message
    assert "目录中没有的列" not in batch.error_message and "\ufffd" not in batch.error_message
    assert lake.current_version(entry.resource_code) is None
    # the same file with Big5 chosen
    again = queued(services.do_submit_upload, data_admin, entry.resource_code, Upload(_big5(tmp_path)), encoding="Big5")
    again.refresh_from_db()
    assert (again.status, again.rows_accepted, again.requested_encoding) == ("succeeded", 2, "Big5")
    _, rows, _ = lake.read_rows(entry.resource_code)
    assert {r["person_name"] for r in rows} == {"陳大文", "林美玲"}
    assert {r["birth"] for r in rows} == {dt.date(1980, 5, 6), dt.date(1985, 12, 1)}
    assert any("Big5" in n for n in again.notes)


def test_gbk_decoded_big5_headers_are_recognised_as_garbled(tmp_path: Path) -> None:
    schema = ResourceSchema("B", "繁體", 1, 1, "每日", (
        Column("code", "編號", "字符", 10, is_key=True), Column("person_name", "姓名", "字符", 20),
    ))
    # Big5 text that GBK decodes without error: the header becomes kana and rare symbols
    path = tmp_path / "b.csv"
    header = "登記日期,電話,身分證"
    assert header.encode("big5").decode("gbk") == "祅癘ら戳,筿杠,ōだ靡"  # decodes without error, to nonsense
    path.write_bytes((header + "\n1,2\n").encode("big5"))
    with pytest.raises(DomainError) as info:
        stage_file(path, schema, tmp_path / "s.parquet")
    assert info.value.field == "encoding" and info.value.message.startswith("文件编码可能不是 UTF-8/GBK")
    assert "GBK" in info.value.message  # says how it was read
    # ordinary wrong headers are still listed by name
    plain = tmp_path / "p.csv"
    plain.write_text("编号,名字\n1,2\n", encoding="gbk")
    with pytest.raises(DomainError) as other:
        stage_file(plain, schema, tmp_path / "s2.parquet")
    assert "目录中没有的列：编号、名字" in other.value.message and other.value.field == "file"
    assert looks_garbled(["﹎�W"]) and looks_garbled(["ネら戳"]) and not looks_garbled(["公民身份号码", "id_no"])


def test_a_bad_encoding_choice_is_refused_and_changes_nothing(
    tmp_path: Path, publish: Any, data_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from zhengwu.datahub.models import IngestBatch

    entry = publish(data_admin)
    with pytest.raises(DomainError) as info:
        services.do_submit_upload(data_admin, entry.resource_code, Upload(people_csv(tmp_path / "p.csv", [person(1)])),
                                  encoding="latin-1")
    assert info.value.field == "encoding" and "文件编码只能是" in info.value.message and "Big5" in info.value.message
    assert not IngestBatch.objects.exists()
    client = Client()
    client.force_login(data_admin)
    code = entry.resource_code.replace("/", "%2F")
    with (tmp_path / "p.csv").open("rb") as fh:
        answer = client.post(f"/api/v1/datahub/resources/{code}/batches", {"file": fh, "encoding": "EBCDIC"})
    assert answer.status_code == 400 and "文件编码只能是" in answer.json()["detail"]
    assert answer.json()["errors"][0]["field"] == "encoding"
    with (tmp_path / "p.csv").open("rb") as fh:
        page = client.post("/datahub/", {"resource": entry.resource_code, "file": fh, "mode": "incremental",
                                         "encoding": "EBCDIC"})
    assert page.status_code == 200 and "文件编码只能是" in page.content.decode()
    assert not IngestBatch.objects.exists()
    # the API upload with Big5 chosen is accepted
    with (tmp_path / "p.csv").open("rb") as fh, django_capture_on_commit_callbacks(execute=True):
        ok = client.post(f"/api/v1/datahub/resources/{code}/batches", {"file": fh, "encoding": "UTF-8"})
    assert ok.status_code == 202 and ok.json()["requested_encoding"] == "UTF-8"
