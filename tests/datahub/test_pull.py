"""Pull from a unit's own database: a real PostgreSQL table (in database `test`, talked to directly,
independent of Django's database) and an SQLite file."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from zhengwu.core.errors import DomainError
from zhengwu.datahub.pull import check_select, check_source, mask_url, stage_database, typed_watermark
from zhengwu.datahub.schema import Column, ResourceSchema

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

SCHEMA = ResourceSchema(
    resource_code="R-POP",
    name="人口基本信息",
    provider_id=1,
    catalog_version=1,
    update_cycle="每日",
    columns=(
        Column("id_no", "公民身份号码", "字符", 18, is_key=True, required=True, semantic="resident_id"),
        Column("person_name", "姓名", "字符", 50, required=True),
        Column("birth_date", "出生日期", "日期"),
        Column("height", "身高", "数字"),
    ),
)
DATA_COLUMNS = ["id_no", "person_name", "birth_date", "height"]

BASE = dt.datetime(2024, 5, 1, 8, 0, 0)


def person(i: int) -> dict[str, Any]:
    return {
        "id_no": f"4414021980010100{i:02d}",
        "person_name": f"  姓名{i} ",
        "birth_date": dt.date(1980, 1, i),
        "height": 150 + i if i % 3 else None,
        "seq": i * 10,
        "updated_at": BASE + dt.timedelta(hours=i, microseconds=i),
        "secret_note": "内部字段",
    }


def make_table(engine: sa.Engine, name: str, rows: list[dict[str, Any]], schema: str | None = None) -> sa.Table:
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id_no", sa.String(18), primary_key=True),
        sa.Column("person_name", sa.String(50)),
        sa.Column("birth_date", sa.Date),
        sa.Column("height", sa.Integer),
        sa.Column("seq", sa.Integer),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("secret_note", sa.String(50)),
        schema=schema,
    )
    table.create(engine)
    if rows:
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
    return table


@pytest.fixture
def pg() -> Iterator[tuple[sa.Engine, str, sa.Table]]:
    engine = sa.create_engine(PG_URL)
    name = f"zw_pull_{uuid.uuid4().hex[:12]}"
    table = make_table(engine, name, [person(i) for i in range(1, 6)])
    try:
        yield engine, name, table
    finally:
        table.drop(engine, checkfirst=True)
        engine.dispose()


def read(out: Path) -> list[dict[str, Any]]:
    table = pq.read_table(out)
    assert table.schema.names == ["_row", "_structure", *DATA_COLUMNS]
    return table.to_pylist()


def expected(i: int, row: int) -> dict[str, Any]:
    return {
        "_row": row,
        "_structure": None,
        "id_no": f"4414021980010100{i:02d}",
        "person_name": f"姓名{i}",
        "birth_date": f"1980-01-{i:02d}",
        "height": str(150 + i) if i % 3 else None,
    }


def test_mask_url() -> None:
    assert mask_url("postgresql+psycopg://etl:S3cret@db.example:5432/pop") == "postgresql+psycopg://etl:***@db.example:5432/pop"
    assert mask_url("sqlite:////data/unit.db") == "sqlite:////data/unit.db"
    assert "S3cret" not in mask_url("not a url //etl:S3cret@host")


def test_full_load_of_a_table(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path) -> None:
    _, name, _ = pg
    out = tmp_path / "staged.parquet"
    check_source(PG_URL, name, "", SCHEMA)
    progress: list[int] = []
    result, watermark = stage_database(PG_URL, SCHEMA, out, table=name, progress=progress.append)
    assert result.rows == 5 and result.file_format == "database" and result.sha256 == "" and result.encoding == ""
    assert watermark == ""
    got = sorted(read(out), key=lambda r: r["id_no"])  # a full load has no particular order
    assert [{**r, "_row": 0} for r in got] == [expected(i, 0) for i in range(1, 6)]
    assert sorted(r["_row"] for r in got) == [1, 2, 3, 4, 5]
    assert progress[-1] == 5
    assert any("另有 3 列不在目录中，未抽取：seq、updated_at、secret_note" in n for n in result.notes)


def test_schema_qualified_table(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path) -> None:
    _, name, _ = pg
    result, _ = stage_database(PG_URL, SCHEMA, tmp_path / "s.parquet", table=f"public.{name}")
    assert result.rows == 5


def test_incremental_by_integer(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path) -> None:
    engine, name, table = pg
    out = tmp_path / "staged.parquet"
    check_source(PG_URL, name, "", SCHEMA, "seq")
    result, watermark = stage_database(PG_URL, SCHEMA, out, table=name, watermark_column="seq", since="30")
    assert result.rows == 2 and watermark == "50"
    assert read(out) == [expected(4, 1), expected(5, 2)]  # in watermark order
    with engine.begin() as conn:
        conn.execute(table.insert(), [person(7), person(6)])
    result, watermark = stage_database(PG_URL, SCHEMA, out, table=name, watermark_column="seq", since=watermark)
    assert [r["id_no"] for r in read(out)] == [expected(6, 1)["id_no"], expected(7, 2)["id_no"]]
    assert watermark == "70"
    result, again = stage_database(PG_URL, SCHEMA, out, table=name, watermark_column="seq", since=watermark)
    assert result.rows == 0 and again == "70" and read(out) == []
    first, full_mark = stage_database(PG_URL, SCHEMA, out, table=name, watermark_column="SEQ")
    assert first.rows == 7 and full_mark == "70"


def test_incremental_by_timestamp(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path) -> None:
    _, name, _ = pg
    out = tmp_path / "staged.parquet"
    since = (BASE + dt.timedelta(hours=3, microseconds=3)).isoformat(sep=" ")
    result, watermark = stage_database(PG_URL, SCHEMA, out, table=name, watermark_column="updated_at", since=since)
    assert [r["id_no"] for r in read(out)] == [expected(4, 1)["id_no"], expected(5, 2)["id_no"]]
    assert watermark == "2024-05-01 13:00:00.000005"
    assert typed_watermark(watermark, dt.datetime) == BASE + dt.timedelta(hours=5, microseconds=5)
    result, _ = stage_database(PG_URL, SCHEMA, out, table=name, watermark_column="updated_at", since="2024-05-01")
    assert result.rows == 5
    with pytest.raises(DomainError) as info:
        stage_database(PG_URL, SCHEMA, out, table=name, watermark_column="updated_at", since="昨天")
    assert info.value.field == "watermark_column" and "昨天" in info.value.message


def test_query_source(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path) -> None:
    _, name, _ = pg
    out = tmp_path / "staged.parquet"
    query = (
        f"SELECT person_name AS 姓名, id_no, birth_date, height, seq FROM {name} "
        "WHERE person_name <> 'a;b' -- a comment; with a semicolon\n;"
    )
    check_source(PG_URL, "", query, SCHEMA, "seq")
    result, watermark = stage_database(PG_URL, SCHEMA, out, query=query, watermark_column="seq", since="20")
    assert result.rows == 3 and watermark == "50"
    assert read(out) == [expected(3, 1), expected(4, 2), expected(5, 3)]
    assert "查询结果的列顺序与目录不同，已按列名对应" in result.notes


def test_query_must_be_one_select(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path) -> None:
    engine, name, table = pg
    bad = [
        (f"DELETE FROM {name}", "查询必须是一条 SELECT 语句"),
        (f"SELECT * FROM {name}; DROP TABLE {name}", "查询只能是一条 SELECT 语句"),
        (f"/* x */ UPDATE {name} SET height = 1", "查询必须是一条 SELECT 语句"),
        ("SELECT 'unclosed", "查询语句的引号没有闭合"),
    ]
    for query, message in bad:
        with pytest.raises(DomainError) as info:
            check_source(PG_URL, "", query, SCHEMA)
        assert info.value.field == "query" and info.value.message.startswith(message)
    # A data-modifying CTE is refused by PostgreSQL inside the subquery (and the session is read-only).
    cte = f"WITH gone AS (DELETE FROM {name} RETURNING *) SELECT id_no, person_name, birth_date, height FROM gone"
    with pytest.raises(DomainError) as info:
        stage_database(PG_URL, SCHEMA, tmp_path / "x.parquet", query=cte)
    assert info.value.field == "query" and info.value.message.startswith("查询语句执行出错")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 5
    assert not (tmp_path / "x.parquet").exists()
    assert check_select("select 1;;") == "select 1"


def test_missing_columns_and_watermark(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path) -> None:
    engine, name, _ = pg
    other = f"{name}_b"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{other}" (id_no text, 姓名 text)'))
    try:
        with pytest.raises(DomainError) as info:
            check_source(PG_URL, other, "", SCHEMA)
        assert info.value.field == "table"
        assert info.value.message == f"表 {other} 缺少列：出生日期(birth_date)、身高(height)"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE "{other}"'))
    with pytest.raises(DomainError) as info:
        check_source(PG_URL, name, "", SCHEMA, "changed_at")
    assert info.value.field == "watermark_column" and "没有增量字段 changed_at" in info.value.message
    with pytest.raises(DomainError) as info:
        check_source(PG_URL, f"{name}_nope", "", SCHEMA)
    assert info.value.field == "table" and "不存在" in info.value.message
    with pytest.raises(DomainError) as info:
        check_source(PG_URL, "", f"SELECT id_no, person_name, height FROM {name}", SCHEMA)
    assert info.value.field == "query" and info.value.message == "查询结果缺少列：出生日期(birth_date)"
    with pytest.raises(DomainError) as info:
        check_source(PG_URL, "", f"SELECT id_no, person_name, birth_date, height FROM {name}", SCHEMA, "seq")
    assert info.value.field == "watermark_column" and info.value.message == "查询结果中没有增量字段 seq"
    with pytest.raises(DomainError) as info:
        check_source(PG_URL, "", f"SELECT * FROM {name}", SCHEMA)
    assert info.value.field == "query" and "查询结果有目录中没有的列：seq、updated_at、secret_note" in info.value.message
    with pytest.raises(DomainError) as info:
        check_source(PG_URL, name, "SELECT 1", SCHEMA)
    assert info.value.field == "query"
    with pytest.raises(DomainError) as info:
        check_source(PG_URL, "", "", SCHEMA)
    assert info.value.field == "table"


def test_unreachable_database_hides_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://etl:Very-S3cret-pw@127.0.0.1:1/test"
    for call in (
        lambda: check_source(url, "person", "", SCHEMA),
        lambda: stage_database(url, SCHEMA, tmp_path / "x.parquet", table="person"),
    ):
        with pytest.raises(DomainError) as info:
            call()
        assert info.value.field == "url"
        assert "Very-S3cret-pw" not in info.value.message
        assert info.value.message.startswith("无法连接数据库 postgresql+psycopg://etl:***@127.0.0.1:1/test：连接被拒绝")
    assert not (tmp_path / "x.parquet").exists()


def test_bad_urls() -> None:
    for url, message in [
        ("", "请填写数据库连接地址"),
        ("not a url", "数据库连接地址格式不正确"),
        ("nosuchdb+driver://u:p@h/d", "不支持的数据库类型"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/zw_no_such_database", "无法连接数据库"),
    ]:
        with pytest.raises(DomainError) as info:
            check_source(url, "t", "", SCHEMA)
        assert info.value.field == "url" and info.value.message.startswith(message), info.value.message


def test_sqlite_file_source(tmp_path: Path) -> None:
    db = tmp_path / "unit.db"
    url = f"sqlite:///{db}"
    engine = sa.create_engine(url)
    make_table(engine, "person", [person(i) for i in range(1, 6)])
    engine.dispose()
    out = tmp_path / "staged.parquet"
    check_source(url, "person", "", SCHEMA, "updated_at")
    result, watermark = stage_database(url, SCHEMA, out, table="person")
    assert result.rows == 5 and watermark == ""
    assert read(out) == [expected(i, i) for i in range(1, 6)]
    result, watermark = stage_database(url, SCHEMA, out, table="person", watermark_column="updated_at",
                                       since="2024-05-01 11:00:00.000003")  # fmt: skip
    assert [r["id_no"] for r in read(out)] == [expected(4, 1)["id_no"], expected(5, 2)["id_no"]]
    assert watermark == "2024-05-01 13:00:00.000005"
    query = "SELECT id_no, person_name, birth_date, height, seq FROM person WHERE seq >= 20"
    result, watermark = stage_database(url, SCHEMA, out, query=query, watermark_column="seq", since="30")
    assert result.rows == 2 and watermark == "50"
    # read-only: the source file is never written
    with pytest.raises(DomainError) as info:
        stage_database(url, SCHEMA, out, query="WITH x AS (SELECT 1) DELETE FROM person")
    assert info.value.field == "query"
    assert sqlite3.connect(db).execute("select count(*) from person").fetchone() == (5,)
    missing = tmp_path / "missing.db"
    with pytest.raises(DomainError) as info:
        check_source(f"sqlite:///{missing}", "person", "", SCHEMA)
    assert info.value.field == "url" and info.value.message == f"SQLite 数据库文件不存在：{missing}"
    assert not missing.exists()
