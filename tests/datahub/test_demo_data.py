"""Demo data of the demo city's base resources (datahub.demo) and the load_demo_data command:
generated codes pass the national validators unless deliberately corrupted (and then fail in the
recorded way), generation is deterministic and lazy, the writers produce what government exports
look like, and — through the real ingest path — the corrupted rows end up in quarantine."""

from __future__ import annotations

import csv
import inspect
import io
import itertools
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from zhengwu.catalog.codetables import ETHNIC_CODES, GENDER_CODES
from zhengwu.catalog.models import CatalogEntry
from zhengwu.core import divisions
from zhengwu.core.errors import DomainError
from zhengwu.core.validators import check_division_code, check_mobile, check_resident_id, check_uscc
from zhengwu.datahub import demo
from zhengwu.datahub.schema import Column, ResourceSchema, RuleSpec, schema_for

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 1)
BIRTH_RULE = RuleSpec(id=1, kind="id_birthdate", field="birth_date", params={"id_field": "id_no"})


@pytest.fixture
def demo_city() -> dict[str, ResourceSchema]:
    """The demo city and its catalog, loaded; the base resources' schemas by kind."""
    from zhengwu.catalog.demo import load_demo_catalog
    from zhengwu.directory.demo import load_demo_city

    load_demo_city()
    load_demo_catalog()
    return {
        kind: schema_for(CatalogEntry.objects.get(name=name).resource_code)
        for kind, name in demo.RESOURCE_NAMES.items()
    }


def _meizhou_counties() -> set[str]:
    return {c.code for c in divisions.children("441400")}


def _by_row(table: demo.DemoTable) -> dict[int, demo.Corruption]:
    return {c.row: c for c in table.corruptions}


# --- people ----------------------------------------------------------------------------------------


def test_people_pass_the_validators_unless_corrupted_and_fail_as_recorded(demo_city: dict[str, Any]) -> None:
    schema = demo_city["people"]
    table = demo.people_rows(schema, 3000, seed=7, error_rate=0.05, rules=[BIRTH_RULE], today=TODAY)
    rows = list(table)
    corrupted = _by_row(table)
    counties = _meizhou_counties()
    assert len(rows) == 3000
    assert 0.035 < len(corrupted) / len(rows) < 0.065
    # every kind the population schema can show is used, spread round-robin
    kinds = {c.kind for c in corrupted.values()}
    assert kinds == set(table.error_kinds)
    assert {"check_digit", "impossible_birth_date", "birth_date_mismatch", "empty_required", "unknown_code",
            "unknown_division", "duplicate_key", "too_long", "bad_date"} <= kinds

    first_row_of_key: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        first_row_of_key.setdefault(row["id_no"], number)
        corruption = corrupted.get(number)
        if corruption is None or corruption.kind in {"too_long", "empty_required", "bad_date", "unknown_code",
                                                      "unknown_division", "duplicate_key"}:
            result = check_resident_id(row["id_no"], today=TODAY)
            assert result.ok, (number, row["id_no"], result.reason)
            assert result.area_code in counties  # born in a real 梅州 county
        if corruption is None:
            assert result.birth_date is not None and row["birth_date"] == result.birth_date.isoformat()
            assert row["gender"] == ("1" if int(row["id_no"][16]) % 2 else "2")
            assert row["gender"] in GENDER_CODES and row["ethnicity"] in ETHNIC_CODES
            assert 2 <= len(row["person_name"]) <= 4
            assert check_division_code(row["division_code"]).ok and row["division_code"] in counties
            assert row["household_address"].startswith(divisions.get(row["division_code"]).full_name)  # type: ignore[union-attr]
            assert row["phone"] == "" or check_mobile(row["phone"]).ok
            assert check_resident_id(row["householder_id_no"], today=TODAY).ok
            for column in schema.columns:
                value = row[column.field_name]
                if column.required:
                    assert value, column.field_name
                if column.length and column.data_type == "字符":
                    assert len(value) <= column.length, column.field_name
                table_ = column.code_table
                if table_ is not None and table_.kind == "enum" and value:
                    assert value in table_.values, (column.field_name, value)
            continue
        value = row[corruption.field]
        assert value == corruption.value
        if corruption.kind == "check_digit":
            assert "校验码错误" in check_resident_id(value, today=TODAY).reason
        elif corruption.kind == "impossible_birth_date":
            assert "不是有效日期" in check_resident_id(value, today=TODAY).reason
        elif corruption.kind == "birth_date_mismatch":
            assert check_resident_id(row["id_no"], today=TODAY).ok
            assert value != f"{row['id_no'][6:10]}-{row['id_no'][10:12]}-{row['id_no'][12:14]}"
            date.fromisoformat(value)
        elif corruption.kind == "empty_required":
            assert value == "" and schema.column(corruption.field).required
        elif corruption.kind == "unknown_code":
            assert value not in (schema.column(corruption.field).code_table.values)  # type: ignore[union-attr]
        elif corruption.kind == "unknown_division":
            assert not check_division_code(value).ok
        elif corruption.kind == "duplicate_key":
            assert corruption.original_row is not None and corruption.original_row < number
            assert first_row_of_key[value] == corruption.original_row
            assert corruption.original_row not in corrupted
        elif corruption.kind == "too_long":
            assert len(value) > (schema.column(corruption.field).length or 0)
        elif corruption.kind == "bad_date":
            with pytest.raises(ValueError):
                date.fromisoformat(value)
    keys = [row["id_no"] for row in rows]
    duplicates = {c.value for c in corrupted.values() if c.kind == "duplicate_key"}
    assert len(set(keys)) == len(keys) - len([c for c in corrupted.values() if c.kind == "duplicate_key"])
    assert table.duplicated_rows == {first_row_of_key[k] for k in duplicates}


def test_error_kinds_follow_what_the_schema_can_catch(demo_city: dict[str, Any]) -> None:
    people = demo.people_rows(demo_city["people"], 10)
    assert "birth_date_mismatch" not in people.error_kinds  # no id_birthdate rule given
    assert "birth_date_mismatch" in demo.people_rows(demo_city["people"], 10, rules=[BIRTH_RULE]).error_kinds
    has_numbers = any(c.data_type == "数字" for c in demo_city["people"].columns)
    assert ("not_a_number" in people.error_kinds) == has_numbers
    companies = demo.legal_person_rows(demo_city["legal_persons"], 10)
    assert {"check_digit", "not_a_number", "unknown_code", "duplicate_key"} <= set(companies.error_kinds)
    assert "impossible_birth_date" not in companies.error_kinds
    clean = demo.people_rows(demo_city["people"], 500, error_rate=0)
    list(clean)
    assert clean.corruptions == []


# --- legal persons, licences, addresses --------------------------------------------------------------------


def test_legal_persons_have_valid_credit_codes_unless_corrupted(demo_city: dict[str, Any]) -> None:
    schema = demo_city["legal_persons"]
    table = demo.legal_person_rows(schema, 2000, seed=3, error_rate=0.05, today=TODAY)
    rows = list(table)
    corrupted = _by_row(table)
    areas = _meizhou_counties() | {"441400"}
    status_codes = set(schema.column("reg_status").code_table.values)  # type: ignore[union-attr]
    kinds = set()
    for number, row in enumerate(rows, start=1):
        corruption = corrupted.get(number)
        if corruption is not None:
            kinds.add(corruption.kind)
            if corruption.kind == "check_digit":
                assert "校验码错误" in check_uscc(row["uscc"]).reason
            elif corruption.kind == "not_a_number":
                with pytest.raises(ValueError):
                    float(row["reg_capital"])
            elif corruption.kind == "unknown_code":
                assert row[corruption.field] not in schema.column(corruption.field).code_table.values  # type: ignore[union-attr]
            continue
        result = check_uscc(row["uscc"])
        assert result.ok, (row["uscc"], result.reason)
        assert result.area_code in areas
        assert result.authority_code == "9" and row["ent_type"] == row["uscc"][1]
        assert row["reg_status"] in status_codes
        assert float(row["reg_capital"]) > 0
        assert date(1992, 1, 1) <= date.fromisoformat(row["est_date"]) < TODAY
        assert row["ent_name"].endswith(("有限公司", "有限责任公司", "专业合作社")) or row["ent_type"] == "2"
        if row["ent_type"] == "1":
            assert row["ent_name"].startswith("梅州市")
        assert check_division_code(row["division_code"]).ok
    assert {"check_digit", "not_a_number", "unknown_code", "duplicate_key", "bad_date"} <= kinds
    assert len({r["uscc"] for r in rows}) == len(rows) - sum(1 for c in corrupted.values() if c.kind == "duplicate_key")


def test_licences_refer_to_clean_people_and_enterprises(demo_city: dict[str, Any]) -> None:
    people = demo.people_rows(demo_city["people"], 400, seed=5, error_rate=0.1, today=TODAY)
    companies = demo.legal_person_rows(demo_city["legal_persons"], 300, seed=5, error_rate=0.1, today=TODAY)
    holders = demo.sample_holders(people, 50) + demo.sample_holders(companies, 40)
    assert len(holders) == 90
    clean_people = {r["id_no"]: r["person_name"] for n, r in enumerate(people, 1) if n not in people.expected_refused_rows}
    clean_companies = {r["uscc"]: r["ent_name"] for n, r in enumerate(companies, 1)
                       if n not in companies.expected_refused_rows}
    licences = demo.licence_rows(demo_city["licences"], 500, holders=holders, seed=5, today=TODAY)
    rows = list(licences)
    corrupted = licences.corrupted_rows
    types = {t[0]: t[2] for t in demo.LICENCE_TYPES}
    for number, row in enumerate(rows, start=1):
        if number in corrupted:
            continue
        code = row["holder_code"]
        if types[row["licence_type"]] == "person":
            assert clean_people[code] == row["holder_name"]
        else:
            assert clean_companies[code] == row["holder_name"]
        assert date.fromisoformat(row["issue_date"]) < TODAY
        assert row["valid_until"] == demo.FAR_FUTURE or date.fromisoformat(row["valid_until"]) > date.fromisoformat(row["issue_date"])
    assert len({r["licence_id"] for n, r in enumerate(rows, 1) if n not in corrupted}) == len(rows) - len(corrupted)


def test_addresses_lie_in_meizhou(demo_city: dict[str, Any]) -> None:
    table = demo.address_rows(demo_city["addresses"], 1000, seed=9, today=TODAY)
    rows = list(table)
    corrupted = table.corrupted_rows
    counties = _meizhou_counties()
    for number, row in enumerate(rows, start=1):
        if number in corrupted:
            continue
        assert 115.5 <= float(row["longitude"]) <= 116.9 and 23.3 <= float(row["latitude"]) <= 24.9
        assert row["division_code"] in counties
        assert row["addr_code"].startswith(row["division_code"])
        assert row["std_address"].startswith(divisions.get(row["division_code"]).full_name)  # type: ignore[union-attr]
    assert len({r["addr_code"] for n, r in enumerate(rows, 1) if n not in corrupted}) == len(rows) - len(corrupted)


def test_values_follow_the_schema_for_items_nobody_anticipated() -> None:
    def col(label: str, field: str, data_type: str = "字符", length: int | None = None, code_table: str = "",
            **flags: Any) -> Column:
        return Column(field_name=field, label=label, data_type=data_type, length=length, code_table_text=code_table,
                      **flags)

    schema = ResourceSchema(
        resource_code="TEST/1", name="测试资源", provider_id=1, catalog_version=1, update_cycle="每日",
        columns=(
            col("登记编号", "reg_no", length=12, is_key=True, required=True),
            col("母亲身份号码", "mother_id", length=18, semantic="resident_id"),
            col("邮政编码", "post", length=6),
            col("体重（公斤）", "weight", "数字", 6, "[30,150]"),
            col("婚姻状况", "marriage", length=2, code_table="10=未婚;20=已婚;30=丧偶;40=离婚"),
            col("证件类型", "doc_type", length=1, code_table="A=身份证;B=护照"),
            col("登记时间", "reg_time", "日期时间"),
            col("是否有效", "valid", "布尔"),
            col("所属区县", "county", length=6, code_table="GB/T 2260"),
            col("联系人", "contact", length=3),
        ),
    )
    table = demo.demo_rows(schema, 300, kind="people", error_rate=0, today=TODAY)
    for row in table:
        assert set(row) == set(schema.field_names)
        assert len(row["reg_no"]) <= 12 and row["reg_no"]
        assert check_resident_id(row["mother_id"], today=TODAY).ok
        assert 30 <= float(row["weight"]) <= 150
        assert row["marriage"] in {"10", "20", "30", "40"} and row["doc_type"] in {"A", "B"}
        day, _, clock = row["reg_time"].partition(" ")
        assert date.fromisoformat(day) < TODAY and len(clock) == 8
        assert row["valid"] in {"1", "0"}
        assert check_division_code(row["county"]).ok
        assert 1 <= len(row["contact"]) <= 3


# --- determinism and streaming -----------------------------------------------------------------------


def test_same_seed_same_rows_and_errors(demo_city: dict[str, Any]) -> None:
    schema = demo_city["people"]
    first = demo.people_rows(schema, 500, seed=11, today=TODAY, error_rate=0.05)
    again = demo.people_rows(schema, 500, seed=11, today=TODAY, error_rate=0.05)
    other = demo.people_rows(schema, 500, seed=12, today=TODAY, error_rate=0.05)
    rows = list(first)
    assert rows == list(again) and first.corruptions == again.corruptions and first.corruptions
    assert rows == list(first)  # iterating again gives the same rows (and records the same errors)
    assert rows != list(other)
    assert [r["id_no"] for r in rows[:100]] == [r["id_no"] for r in demo.people_rows(schema, 100, seed=11, today=TODAY,
                                                                                          error_rate=0.05)]


def test_rows_are_generated_lazily(demo_city: dict[str, Any]) -> None:
    table = demo.people_rows(demo_city["people"], 10**9, today=TODAY)
    iterator = iter(table)
    assert inspect.isgenerator(iterator)
    assert len(list(itertools.islice(iterator, 5))) == 5  # a billion rows are never built


# --- writers ------------------------------------------------------------------------------------------


def test_gbk_csv_has_the_chinese_header_and_the_rows(demo_city: dict[str, Any], tmp_path: Path) -> None:
    schema = demo_city["people"]
    table = demo.people_rows(schema, 1200, today=TODAY)
    path = tmp_path / "人口基本信息.csv"
    assert demo.write_csv(table, path, chunk_rows=500) == 1200
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really GBK, not UTF-8
    records = list(csv.reader(io.StringIO(raw.decode("gbk"), newline="")))
    assert records[0] == [c.label for c in schema.columns] and records[0][:2] == ["公民身份号码", "姓名"]
    assert records[1:] == [[row[c.field_name] for c in schema.columns] for row in table]


def test_csv_writer_names_the_row_of_a_character_gbk_cannot_hold(tmp_path: Path) -> None:
    rows = [{"姓名": "张三", "地址": "梅江区"}, {"姓名": "李\U0001f600", "地址": "梅县区"}]
    with pytest.raises(DomainError, match="第 2 行“姓名”"):
        demo.write_csv(rows, tmp_path / "bad.csv")
    assert demo.write_csv(rows, tmp_path / "ok.csv", encoding="utf-8") == 2


def test_jsonl_and_xlsx_writers(demo_city: dict[str, Any], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    schema = demo_city["addresses"]
    table = demo.address_rows(schema, 50, today=TODAY)
    assert demo.write_jsonl(table, tmp_path / "a.jsonl") == 50
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(table)
    assert demo.write_xlsx(table, tmp_path / "a.xlsx") == 50
    sheet = load_workbook(tmp_path / "a.xlsx", read_only=True).worksheets[0]
    values = [[v if v is not None else "" for v in r] for r in sheet.iter_rows(values_only=True)]  # "" reads back as None
    assert values[0] == [c.label for c in schema.columns]
    assert values[1:] == [[row[c.field_name] for c in schema.columns] for row in table]


# --- the command ---------------------------------------------------------------------------------------


def test_command_needs_the_demo_city_and_catalog() -> None:
    with pytest.raises(CommandError, match="load_demo_city"):
        call_command("load_demo_data", stdout=io.StringIO())
    from zhengwu.directory.demo import load_demo_city

    load_demo_city()
    with pytest.raises(CommandError, match="load_demo_catalog"):
        call_command("load_demo_data", stdout=io.StringIO())


def test_command_refuses_bad_options() -> None:
    with pytest.raises(CommandError, match="错误率"):
        call_command("load_demo_data", "--error-rate", "0.9", stdout=io.StringIO())
    with pytest.raises(CommandError, match="行数"):
        call_command("load_demo_data", "--people", "0", stdout=io.StringIO())


# --- through the real ingest path ------------------------------------------------------------------------


def _ingest() -> Callable[..., Any]:
    from zhengwu.datahub.services import ingest_file

    return ingest_file


def test_corrupted_rows_end_up_in_quarantine(demo_city: dict[str, Any], tmp_path: Path) -> None:
    ingest_file = _ingest()
    from zhengwu.datahub import lake
    from zhengwu.directory.models import User

    actor = User.objects.get(username="gaj_data")
    schema = demo_city["people"]
    code = schema.resource_code
    rules = demo.ensure_demo_rules(actor, code, schema)
    assert [r.kind for r in rules] == ["id_birthdate"]
    assert demo.ensure_demo_rules(actor, code, schema) == rules  # idempotent
    table = demo.people_rows(schema, 1500, seed=21, error_rate=0.05, rules=rules)
    path = tmp_path / "人口基本信息.csv"
    demo.write_csv(table, path)
    batch = ingest_file(actor, code, path, file_name=path.name, mode="full", progress=None)
    assert batch.status == "succeeded", batch.error_message
    assert batch.encoding.upper() in {"GBK", "GB18030"}
    expected = table.expected_refused_rows
    assert (batch.rows_in, batch.rows_refused, batch.rows_accepted) == (1500, len(expected), 1500 - len(expected))
    _columns, refused, total = lake.quarantine_rows(code, batch.pk, limit=None)
    assert total == len(expected)
    assert {r["_row"] for r in refused} == expected
    by_row = {r["_row"]: r for r in refused}
    for corruption in table.corruptions:  # the reason names the item made wrong
        reasons = str(by_row[corruption.row]["_errors"])
        label = schema.column(corruption.field).label
        assert label in reasons or corruption.field in reasons or corruption.kind == "duplicate_key", (corruption, reasons)


def test_load_demo_data_collects_every_base_resource_once(
    demo_city: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    _ingest()
    from zhengwu.datahub.models import IngestBatch

    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    options = ["--people", "600", "--companies", "300", "--licences", "200", "--addresses", "150",
               "--error-rate", "0.05", "--seed", "4"]
    call_command("load_demo_data", *options, stdout=out)
    text = out.getvalue()
    batches = {b.resource_code: b for b in IngestBatch.objects.all()}
    assert len(batches) == 4
    expectations = {"people": 600, "legal_persons": 300, "licences": 200, "addresses": 150}
    for kind, rows in expectations.items():
        batch = batches[demo_city[kind].resource_code]
        assert batch.status == "succeeded" and batch.rows_in == rows, batch.error_message
        assert 0 < batch.rows_refused < rows * 0.2
        assert f"读入 {rows} 行" in text
    by_user = {b.resource_code: b.created_by.username for b in batches.values()}
    assert by_user[demo_city["people"].resource_code] == "gaj_data"
    assert by_user[demo_city["legal_persons"].resource_code] == "scj_data"
    assert by_user[demo_city["addresses"].resource_code] == "dsj_data"
    files = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {"人口基本信息.csv", "市场主体登记信息.csv", "电子证照目录信息.jsonl", "地名地址信息.xlsx"} <= files
    assert "人口基本信息.故意错误.csv" in files

    again = io.StringIO()
    call_command("load_demo_data", *options, stdout=again)
    assert IngestBatch.objects.count() == 4
    assert again.getvalue().count("跳过") == 4
