"""The serving store: built from real ingested resources (datahub services, the real lake), its
answers compared with DuckDB over the lake version; incremental vs full, rollback, undone versions,
the atomic switch, removal, eligibility, the listener path, the concurrency guard, bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.datahub import test_ingest_robustness as robustness
from zhengwu.audit.models import AuditRecord
from zhengwu.datahub import lake, listeners
from zhengwu.datahub import services as datahub
from zhengwu.datahub.models import ResourceVersion
from zhengwu.datahub.serving import queries, services, store
from zhengwu.datahub.serving.models import ServedResource, ServedTable, TableState
from zhengwu.datahub.serving.queries import Filter, NotServed, ServingError

from ..conftest import Upload, people_csv, person, write_csv
from .conftest import TYPED_ITEMS, by_key, lake_rows

pytestmark = pytest.mark.django_db

PEOPLE = ["id_no", "person_name", "gender", "birth_date", "division_code", "household_address"]


def _all(code: str, columns: list[str] = PEOPLE, **kwargs: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for batch in queries.iter_rows(code, columns=columns, batch_size=7, **kwargs):
        rows.extend(batch)
    return rows


def _refresh_records(code: str) -> list[dict[str, Any]]:
    return [r.details for r in AuditRecord.objects.filter(action="serving.refresh", object_id=code).order_by("id")]


def test_the_listener_path_builds_then_patches(tmp_path: Path, publish: Any, data_admin: Any, queued: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    assert queries.served(code) is None
    queued(datahub.do_submit_upload, data_admin, code, Upload(people_csv(tmp_path / "a.csv", [person(i) for i in range(1, 31)])))
    info = queries.served(code)
    assert info is not None and (info.lake_version, info.rows) == (0, 30)
    assert [c.field for c in info.public_columns] == PEOPLE and info.keys == ("id_no",)
    assert by_key(_all(code), "id_no") == by_key(lake_rows(code), "id_no")

    changed = [person(1, person_name="李雷"), person(31)]
    queued(datahub.do_submit_upload, data_admin, code, Upload(people_csv(tmp_path / "b.csv", changed)))
    info = queries.served(code)
    assert info is not None and (info.lake_version, info.rows) == (1, 31) == (lake.current_version(code), 31)
    assert by_key(_all(code), "id_no") == by_key(lake_rows(code), "id_no")
    assert queries.lookup(code, {"id_no": person(1)["id_no"]}, columns=["person_name"]) == {"person_name": "李雷"}
    records = _refresh_records(code)
    assert [(r["mode"], r["version"], r["rows"]) for r in records] == [("full", 0, 30), ("incremental", 1, 31)]
    assert records[1]["upserted"] == 2 and records[1]["deleted"] == 0 and records[0]["seconds"] >= 0
    assert AuditRecord.objects.filter(action="serving.refresh").first().actor == ""  # type: ignore[union-attr]


def _typed(publish: Any, data_admin: Any, tmp_path: Path, name: str = "企业登记信息") -> Any:
    entry = publish(data_admin, name=name, items=TYPED_ITEMS)
    rows = [
        ["A001", "1234567890123.123456", "2024-01-31", "2024-02-01 08:30:00", "是", "441402"],
        ["A002", "-0.5", "2023-12-01", "2024-02-01 08:30:00.250000", "否", "441403"],
        ["A003", "100", "", "", "", "441422"],
        ["A004", "", "2024-06-15", "2023-01-01 00:00:00", "true", "440103"],
        ["B001", "0.000001", "2024-01-31", "2025-05-05 23:59:59", "false", "441400"],
        ["B002", "12345678901234567890.123456", "2020-02-29", "2020-02-29 12:00:00", "1", ""],
    ]
    header = [item["name"] for item in TYPED_ITEMS]
    batch = datahub.ingest_file(data_admin, entry.resource_code, write_csv(tmp_path / "typed.csv", header, rows))
    assert batch.status == "succeeded" and batch.rows_accepted == 6, (batch.error_message, batch.report)
    assert services.do_refresh_served(entry.resource_code).mode == "full"
    return entry


TYPED = [item["field_name"] for item in TYPED_ITEMS]


def test_typed_values_are_the_lakes_on_both_databases(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    code = _typed(publish, data_admin, tmp_path).resource_code
    expected = by_key(lake_rows(code), "code")
    assert by_key(_all(code, TYPED), "code") == expected
    page = queries.query(code, columns=TYPED, limit=100)
    assert by_key(page.rows, "code") == expected and page.next_after is None and page.lake_version == 0
    assert expected["A001"] == {
        "code": "A001", "amount": "1234567890123.123456", "reg_date": "2024-01-31", "updated_at": "2024-02-01T08:30:00",
        "active": True, "division_code": "441402",
    }
    assert expected["A003"]["reg_date"] is None and expected["A003"]["active"] is None
    assert expected["B002"]["amount"] == "12345678901234567890.123456"  # 26 digits, exact (REAL would not be)
    assert expected["A002"]["updated_at"] == "2024-02-01T08:30:00.250000" and expected["A002"]["amount"] == "-0.5"
    for key, row in expected.items():
        assert queries.lookup(code, {"code": key}, columns=TYPED) == row
    assert queries.lookup(code, {"code": "Z999"}, columns=TYPED) is None
    info = queries.served(code)
    assert info is not None and [c.kind for c in info.columns] == ["text", "number", "date", "timestamp", "boolean", "text"]
    assert info.column("division_code").division and info.column("reg_date").indexed


@pytest.mark.parametrize(("flt", "where", "params"), [
    (Filter("amount", "gt", ("0",)), "amount > 0", []),
    (Filter("amount", "lte", ("100",)), "amount <= 100", []),
    (Filter("amount", "between", ("-1", "100")), "amount BETWEEN -1 AND 100", []),
    (Filter("amount", "eq", ("100.000",)), "amount = 100", []),
    (Filter("reg_date", "gte", ("2024-01-31",)), "reg_date >= DATE '2024-01-31'", []),
    (Filter("reg_date", "lt", ("2024-01-31",)), "reg_date < DATE '2024-01-31'", []),
    (Filter("updated_at", "gt", ("2024-02-01T08:30:00",)), "updated_at > TIMESTAMP '2024-02-01 08:30:00'", []),
    (Filter("updated_at", "between", ("2020-01-01 00:00:00", "2024-02-01T08:30:00")),
     "updated_at BETWEEN TIMESTAMP '2020-01-01' AND TIMESTAMP '2024-02-01 08:30:00'", []),
    (Filter("active", "eq", ("是",)), "active", []),
    (Filter("active", "in", ("false", "0")), "NOT active", []),
    (Filter("code", "prefix", ("A",)), "code LIKE 'A%'", []),
    (Filter("code", "in", ("A001", "B002", "nope")), "code IN ('A001', 'B002')", []),
    (Filter("division_code", "eq", ("441402",)), "division_code = '441402'", []),
    (Filter("code", "gte", ("A003",)), "code >= 'A003'", []),
])
def test_filters_match_duckdb_over_the_lake(tmp_path: Path, publish: Any, data_admin: Any, flt: Filter, where: str, params: list[Any]) -> None:
    code = _typed(publish, data_admin, tmp_path).resource_code
    expected = sorted(r["code"] for r in lake_rows(code, where=f"WHERE {where}"))
    got = sorted(r["code"] for r in queries.query(code, columns=["code"], filters=[flt], limit=100).rows)
    assert got == expected and expected
    assert queries.count(code, filters=[flt]) == len(expected)


def test_keyset_pages_cover_every_row_once_in_order(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    people = [person(i, birth_date="" if i % 5 == 0 else f"19{50 + i % 17}-0{1 + i % 9}-1{i % 10}") for i in range(1, 58)]
    ingest(entry, people)
    services.do_refresh_served(code)
    expected = lake_rows(code)
    for order, descending in [(None, False), (None, True), ("birth_date", False), ("birth_date", True), ("person_name", False)]:
        seen: list[dict[str, Any]] = []
        after = None
        while True:
            page = queries.query(code, columns=["id_no", "birth_date"], limit=10, after=after, order=order, descending=descending)
            seen.extend(page.rows)
            if page.next_after is None:
                break
            after = page.next_after
            assert len(page.rows) == 10
        assert sorted(r["id_no"] for r in seen) == sorted(r["id_no"] for r in expected), (order, descending)
        if order == "birth_date":
            dated = [r["birth_date"] for r in seen if r["birth_date"] is not None]
            assert dated == sorted(dated, reverse=descending)
            assert all(r["birth_date"] is None for r in seen[len(dated):])  # nulls last
        if order is None:
            ids = [r["id_no"] for r in seen]
            assert ids == sorted(ids, reverse=descending)
    assert queries.count(code) == 57


def test_row_scope_on_divisions_allows_descendants(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    divisions = {1: "441402", 2: "441403", 3: "441422", 4: "440103", 5: "441402"}
    ingest(entry, [person(i, division_code=d) for i, d in divisions.items()])
    services.do_refresh_served(code)

    def ids(scope: dict[str, list[str]]) -> list[int]:
        rows = queries.query(code, columns=["id_no"], scope=scope, limit=100).rows
        found = {r["id_no"] for r in rows}
        assert queries.count(code, scope=scope) == len(found)
        assert {r["id_no"] for r in _all(code, ["id_no"], scope=scope)} == found
        return sorted(i for i in divisions if person(i)["id_no"] in found)

    assert ids({"division_code": ["441400"]}) == [1, 2, 3, 5]  # 梅州市: its districts and counties
    assert ids({"division_code": ["441402"]}) == [1, 5]
    assert ids({"division_code": ["440000"]}) == [1, 2, 3, 4, 5]  # the province
    assert ids({"division_code": ["441403", "440100"]}) == [2, 4]
    assert ids({"division_code": []}) == []
    assert ids({"division_code": ["441402"], "gender": ["1"]}) == [1, 5]
    assert ids({"gender": ["2"]}) == []
    inside = queries.lookup(code, {"id_no": person(1)["id_no"]}, columns=["id_no"], scope={"division_code": ["441400"]})
    assert inside == {"id_no": person(1)["id_no"]}
    assert queries.lookup(code, {"id_no": person(4)["id_no"]}, columns=["id_no"], scope={"division_code": ["441400"]}) is None
    for bad in (["44"], ["4414%"], ["' OR 1=1 --"]):
        with pytest.raises(ServingError, match="区划代码") as caught:
            queries.query(code, columns=["id_no"], scope={"division_code": bad})
        assert caught.value.field == "division_code"


def test_scope_sql_agrees_with_the_core_division_rule(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    """The serving store's SQL scope and core.divisions' matcher (which the exchange applies to its
    rows) decide alike, also on values the lake's validation would normally keep out: village and
    township codes, long forms, and strings that start with a scope's prefix but are no codes."""
    from zhengwu.core import divisions as rule

    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(1, division_code="441402")])
    services.do_refresh_served(code)
    table = queries.served(code).table  # type: ignore[union-attr]
    values = ["441402", "441403", "441400", "441500", "440000", "450000", "441402001", "441402001001",
              "441402002001", "441402000000", "44140", "4414", "4414021", "4414020010", "4414ab", "44", ""]
    with connection.cursor() as cursor:
        for n, value in enumerate(values):
            cursor.execute(
                f"INSERT INTO {store.quote(table)} ({store.quote('id_no')}, {store.quote('division_code')}) VALUES (%s, %s)",
                [f"X{n:03d}", value],
            )
    scopes = [["440000"], ["441400"], ["441402"], ["441402001"], ["441402001001"], ["441402000000"],
              ["441403", "441500"], ["441402", "440000"]]
    for scope in scopes:
        got = {r["division_code"] for r in _all(code, ["id_no", "division_code"], scope={"division_code": scope})}
        expected = {v for v in values if rule.scope_matcher(scope)(v)}
        assert got == expected | ({"441402"} if rule.scope_matcher(scope)("441402") else set()), scope
    assert {r["division_code"] for r in _all(code, ["division_code"], scope={"division_code": ["441400"]})} == {
        "441402", "441403", "441400", "441402001", "441402001001", "441402002001", "441402000000"}


def test_injection_and_bad_input_are_refused_and_change_nothing(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    code = _typed(publish, data_admin, tmp_path).resource_code
    table = queries.served(code).table  # type: ignore[union-attr]
    evil = ['code" FROM x; DROP TABLE t; --', "code; DROP TABLE serving_servedtable", "CODE", "_srv_row", "1"]
    for name in evil:
        with pytest.raises(ServingError) as caught:
            queries.query(code, columns=[name])
        assert "不是资源" in caught.value.message
        with pytest.raises(ServingError):
            queries.query(code, columns=["code"], filters=[Filter(name, "eq", ("x",))])
        with pytest.raises(ServingError):
            queries.query(code, columns=["code"], order=name)
        with pytest.raises(ServingError):
            queries.count(code, scope={name: ["x"]})
        with pytest.raises(ServingError):
            queries.lookup(code, {name: "A001"}, columns=["code"])
        with pytest.raises(ServingError):
            queries.query(code, columns=["code"], after={name: "A001"})
    with pytest.raises(ServingError, match="不支持的条件"):
        queries.query(code, columns=["code"], filters=[Filter("code", "eq) OR (1=1", ("A001",))])
    with pytest.raises(ServingError, match="空字符"):
        queries.lookup(code, {"code": "A001\x00"}, columns=["code"])
    for value in ("' OR '1'='1", "A001' --", "%", "*", "A001;"):
        assert queries.query(code, columns=["code"], filters=[Filter("code", "eq", (value,))], limit=5).rows == []
        assert queries.lookup(code, {"code": value}, columns=["code"]) is None
    assert queries.query(code, columns=["code"], filters=[Filter("code", "prefix", ("%",))]).rows == []
    assert queries.query(code, columns=["code"], filters=[Filter("code", "prefix", ("*",))]).rows == []
    bad_values = [
        (Filter("amount", "gt", ("1 OR 1=1",)), "amount", "不是有效的数字"),
        (Filter("amount", "eq", ("NaN",)), "amount", "不是有效的数字"),
        (Filter("reg_date", "eq", ("2024-13-01",)), "reg_date", "不是有效的日期"),
        (Filter("reg_date", "eq", ("2024-01-01' OR '1'='1",)), "reg_date", "不是有效的日期"),
        (Filter("updated_at", "gt", ("2024-01-01T00:00:00+08:00",)), "updated_at", "时区"),
        (Filter("active", "eq", ("maybe",)), "active", "不是有效的布尔"),
        (Filter("active", "gt", ("true",)), "active", "eq 或 in"),
        (Filter("amount", "prefix", ("1",)), "amount", "prefix"),
        (Filter("code", "between", ("A",)), "code", "需要 2 个取值"),
        (Filter("code", "in", ()), "code", "in 条件"),
    ]
    for flt, field, message in bad_values:
        with pytest.raises(ServingError, match=message) as caught:
            queries.query(code, columns=["code"], filters=[flt])
        assert caught.value.field == field and caught.value.status == 400
    with pytest.raises(ServingError, match="limit"):
        queries.query(code, columns=["code"], limit=0)
    with pytest.raises(ServingError, match="缺少主键"):
        queries.lookup(code, {}, columns=["code"])
    with pytest.raises(NotServed):
        queries.query("nope-0000", columns=["code"])
    assert queries.count(code) == 6 and store.table_exists(table) and store.count_table(table) == 6


def test_incremental_and_full_refresh_give_identical_tables(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    people = [person(i) for i in range(1, 51)]
    ingest(entry, people)
    assert services.do_refresh_served(code).mode == "full"
    ingest(entry, [person(2, household_address="新地址2号"), person(3, gender="2"), person(60), person(61)])
    # A full load that drops two people and changes one: deletions through the change feed.
    people = [p for p in people if p["id_no"] not in (person(7)["id_no"], person(8)["id_no"])]
    people = [person(2, household_address="新地址2号"), person(3, gender="2"), person(60), person(61, person_name="韩梅梅")] + [
        p for p in people if p["id_no"] not in (person(2)["id_no"], person(3)["id_no"])
    ]
    ingest(entry, people, mode="full")
    live = queries.served(code)
    result = services.do_refresh_served(code)
    assert result.mode == "incremental" and result.lake_version == 2 and result.rows == 50
    patched = queries.served(code)
    assert patched is not None and patched.table == live.table  # type: ignore[union-attr]
    incremental = by_key(_all(code), "id_no")
    assert person(7)["id_no"] not in incremental and incremental[person(61)["id_no"]]["person_name"] == "韩梅梅"
    assert services.do_refresh_served(code).mode == "current"
    rebuilt = services.do_refresh_served(code, full=True)
    assert rebuilt.mode == "full" and rebuilt.table != patched.table and rebuilt.rows == 50
    assert by_key(_all(code), "id_no") == incremental == by_key(lake_rows(code), "id_no")


def test_a_large_change_rebuilds(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(i) for i in range(1, 11)])
    services.do_refresh_served(code)
    ingest(entry, [person(i, household_address=f"新址{i}") for i in range(1, 4)])  # 3 of 10 rows: more than 20%
    assert services.do_refresh_served(code).mode == "full"
    assert by_key(_all(code), "id_no") == by_key(lake_rows(code), "id_no")


def test_rollback_rebuilds_with_the_rolled_back_content(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(i) for i in range(1, 21)])
    services.do_refresh_served(code)
    ingest(entry, [person(1, person_name="王五")])
    assert services.do_refresh_served(code).mode == "incremental"
    datahub.do_rollback(data_admin, code, 0, reason="第二批数据有误")
    result = services.do_refresh_served(code)
    assert result.mode == "full" and result.lake_version == 2
    assert by_key(_all(code), "id_no") == by_key(lake_rows(code, 0), "id_no")
    assert queries.lookup(code, {"id_no": person(1)["id_no"]}, columns=["person_name"]) == {"person_name": person(1)["person_name"]}


def test_an_undone_version_is_never_served(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(1)])
    services.do_refresh_served(code)
    batch = robustness._die_after_commit(entry, data_admin, tmp_path)  # v1 in the lake, never recorded
    assert lake.current_version(code) == 1
    assert services.do_refresh_served(code).mode == "current"
    assert [r["id_no"] for r in _all(code)] == [person(1)["id_no"]]
    assert datahub.do_recover_interrupted_batches() == [batch.pk]  # v1 undone, v2 undoes it
    assert services.target_version(code) == 0
    assert services.do_refresh_served(code).mode == "current" and queries.served(code).lake_version == 0  # type: ignore[union-attr]
    ingest(entry, [person(3)])
    result = services.do_refresh_served(code)
    assert result.mode == "full" and result.lake_version == 3  # across an undone version: rebuilt, not patched
    assert sorted(r["id_no"] for r in _all(code)) == sorted([person(1)["id_no"], person(3)["id_no"]])
    assert person(2)["id_no"] not in {r["id_no"] for r in _all(code)}


def test_removed_data_retires_the_table(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any,
                                        django_capture_on_commit_callbacks: Any, settings: Any) -> None:
    settings.SERVING_GRACE_SECONDS = 0
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(1), person(2)])
    services.do_refresh_served(code)
    table = queries.served(code).table  # type: ignore[union-attr]
    # What datahub does when it undoes a resource's first commit: the table goes, listeners hear NO_DATA.
    lake.drop_unrecorded_table(code)
    ResourceVersion.objects.filter(resource_code=code).delete()
    with django_capture_on_commit_callbacks(execute=True):
        listeners.version_changed(code, listeners.NO_DATA)
    assert queries.served(code) is None and not store.table_exists(table)
    with pytest.raises(NotServed):
        queries.lookup(code, {"id_no": person(1)["id_no"]}, columns=["id_no"])
    assert _refresh_records(code)[-1]["mode"] == "retire"


def test_only_published_shareable_or_open_resources_are_served(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    from zhengwu.catalog.models import CatalogEntry, CatalogEntryVersion

    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(1)])
    assert services.servable(code) == ""

    def set_types(share: str, opened: str) -> None:
        CatalogEntry.objects.filter(pk=entry.pk).update(share_type=share, open_type=opened)
        version = CatalogEntryVersion.objects.get(entry=entry, version=entry.published_version)
        version.snapshot = {**version.snapshot, "share_type": share, "open_type": opened}
        version.save()

    set_types("不予共享", "不予开放")
    assert services.servable(code) == "不予共享且不予开放"
    assert services.do_refresh_served(code).mode == "current" and queries.served(code) is None
    set_types("不予共享", "无条件开放")
    assert services.do_refresh_served(code).mode == "full"
    set_types("不予共享", "不予开放")
    assert services.do_refresh_served(code).mode == "retire" and queries.served(code) is None
    set_types("有条件共享", "不予开放")
    assert services.do_refresh_served(code).mode == "full"
    CatalogEntry.objects.filter(pk=entry.pk).update(status="retired")
    assert services.do_refresh_served(code).mode == "retire"


def test_a_reader_during_a_rebuild_sees_the_old_version_whole_then_the_new(
    tmp_path: Path, publish: Any, data_admin: Any, ingest: Any, settings: Any,
) -> None:
    settings.SERVING_GRACE_SECONDS = 600
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(i) for i in range(1, 31)])
    services.do_refresh_served(code)
    old = queries.served(code)
    assert old is not None
    reader = queries.iter_rows(code, columns=["id_no", "person_name"], batch_size=4)
    seen = list(next(reader))
    ingest(entry, [person(i, person_name=f"新名{i}") for i in range(1, 31)])  # every row changes: a rebuild
    result = services.do_refresh_served(code)
    assert result.mode == "full" and result.lake_version == 1
    for batch in reader:  # the reader that started on v0 finishes on v0
        seen.extend(batch)
    assert by_key(seen, "id_no") == {k: {"id_no": k, "person_name": v["person_name"]} for k, v in by_key(lake_rows(code, 0), "id_no").items()}
    page = queries.query(code, columns=["id_no", "person_name"], limit=100)
    assert page.lake_version == 1 and all(r["person_name"].startswith("新名") for r in page.rows) and len(page.rows) == 30
    retired = ServedTable.objects.get(table_name=old.table)
    assert retired.state == TableState.RETIRED and store.table_exists(old.table)
    assert services.drop_expired_tables() == []
    assert services.drop_expired_tables(timezone.now() + timedelta(seconds=601)) == [old.table]
    assert not store.table_exists(old.table) and not ServedTable.objects.filter(table_name=old.table).exists()
    assert ServedTable.objects.filter(resource_code=code, state=TableState.LIVE).count() == 1


def test_one_refresh_at_a_time_a_second_request_coalesces(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(1)])
    token = services._claim(code)  # a refresh in progress elsewhere
    assert token is not None
    result = services.do_refresh_served(code)
    assert result.mode == "coalesced" and queries.served(code) is None
    assert ServedResource.objects.get(resource_code=code).rerun
    assert services._claim(code) is None
    assert services._release(code, token) is False  # asked to go round again: keeps the claim
    assert services._release(code, token) is True
    assert services.do_refresh_served(code).mode == "full"
    # A claim whose process died is taken over once stale.
    stuck = services._claim(code)
    assert stuck is not None and services.do_refresh_served(code).mode == "coalesced"
    ServedResource.objects.filter(resource_code=code).update(claimed_at=timezone.now() - timedelta(hours=1))
    ingest(entry, [person(1), person(2)])
    assert services.do_refresh_served(code).mode in ("incremental", "full")
    assert queries.served(code).lake_version == 1  # type: ignore[union-attr]
    assert not ServedResource.objects.get(resource_code=code).claimed_at
    # The floor under the claim: a second building row for the same resource cannot exist.
    from django.db import IntegrityError, transaction

    ServedTable.objects.create(resource_code=code, lake_version=1, table_name="srv_x_building_1", state=TableState.BUILDING)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServedTable.objects.create(resource_code=code, lake_version=1, table_name="srv_x_building_2", state=TableState.BUILDING)
    services.do_refresh_served(code, full=True)  # clears the orphan build first
    assert not ServedTable.objects.filter(resource_code=code, state=TableState.BUILDING).exists()


def test_catch_up_and_the_command(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any, capsys: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(1), person(2)])  # no listener ran (no commit in a test): the catch-up finds it
    assert services.needs_refresh(code)
    summary = services.do_catch_up()
    assert summary["refreshed"] == {code: "full"} and not services.needs_refresh(code)
    assert services.do_catch_up()["refreshed"] == {}
    call_command("serving_refresh", code)
    assert "已是最新" in capsys.readouterr().out
    call_command("serving_refresh", "--all", "--full")
    assert "全量重建" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("serving_refresh")


def test_physical_table_types_and_indexes(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    code = _typed(publish, data_admin, tmp_path).resource_code
    info = queries.served(code)
    assert info is not None and info.table.startswith("srv_") and store.IDENTIFIER_RE.fullmatch(info.table)
    with connection.cursor() as cursor:
        description = {c.name: c for c in connection.introspection.get_table_description(cursor, info.table)}
        constraints = connection.introspection.get_constraints(cursor, info.table)
    assert set(description) == set(TYPED)
    unique = [c for c in constraints.values() if c["unique"] and c["columns"] == ["code"]]
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"]}
    assert unique and ("division_code",) in indexed and ("reg_date",) in indexed and ("amount",) not in indexed
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s", [info.table],
            )
            types = dict(cursor.fetchall())
        assert types == {"code": "text", "amount": "numeric", "reg_date": "date",
                         "updated_at": "timestamp without time zone", "active": "boolean", "division_code": "text"}


def test_a_stale_cached_description_with_the_same_table_id_is_read_again(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    """A cached description of another table that has the same id (a restored database, a test
    database) must not refuse valid input: the look-up reads the pointer again first."""
    import dataclasses

    code = _typed(publish, data_admin, tmp_path).resource_code
    info = queries._known_info(code, fresh=True)
    stale = dataclasses.replace(info, columns=tuple(c for c in info.columns if c.field != "amount"))
    queries._known[code] = stale
    assert queries.lookup(code, {"code": "A001"}, columns=["code", "amount"]) == {"code": "A001", "amount": "1234567890123.123456"}
    with pytest.raises(queries.ServingError):  # a truly unknown column is still refused
        queries.lookup(code, {"code": "A001"}, columns=["nothing"])
