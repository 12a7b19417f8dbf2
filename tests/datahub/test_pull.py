"""Pull from a unit's own database: real PostgreSQL and MariaDB tables (database `test`, talked to
directly, independent of Django's database; reached through the egress policy, which the
`local_databases` fixture opens for 127.0.0.1:5432 and :3306) and an SQLite file (test suite only)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from zhengwu.core.egress import EgressRefused
from zhengwu.core.errors import DomainError
from zhengwu.core.models import EgressDestination
from zhengwu.datahub.pull import check_select, check_source, mask_url, stage_database, typed_watermark
from zhengwu.datahub.schema import Column, ResourceSchema

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

pytestmark = pytest.mark.usefixtures("local_databases")

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


GENERIC = re.compile(r"^无法连接该数据源：目标不在允许范围内或暂时不可达（参考编号 [0-9a-f]{8}）$")


def refused(call: Callable[[], Any]) -> EgressRefused:
    with pytest.raises(EgressRefused) as info:
        call()
    assert info.value.field == "url" and GENERIC.match(info.value.message), info.value.message
    return info.value


def test_unreachable_database_hides_the_password_and_the_driver_text(tmp_path: Path, settings: Any) -> None:
    settings.EGRESS_ALLOW_LOCAL = [*settings.EGRESS_ALLOW_LOCAL, "127.0.0.1:1"]
    EgressDestination.objects.create(host="127.0.0.1/32", port_min=1, port_max=1)
    url = "postgresql+psycopg://etl:Very-S3cret-pw@127.0.0.1:1/test"
    for call in (
        lambda: check_source(url, "person", "", SCHEMA),
        lambda: stage_database(url, SCHEMA, tmp_path / "x.parquet", table="person"),
    ):
        error = refused(call)
        assert "Very-S3cret-pw" not in error.message and "Very-S3cret-pw" not in error.detail
        assert "refused" in error.detail  # the driver's text: for the log and the audit record only
    assert not (tmp_path / "x.parquet").exists()


def test_passwords_are_removed_by_parsing_not_by_replacing_text(settings: Any) -> None:
    assert mask_url("postgresql+psycopg://etl:p@db.example:5432/pop") == "postgresql+psycopg://etl:***@db.example:5432/pop"
    assert mask_url("mysql+pymysql://etl:5432@db.example:5432/pop") == "mysql+pymysql://etl:***@db.example:5432/pop"
    assert mask_url("postgresql+psycopg://etl:p%40ss@db.example/pop") == "postgresql+psycopg://etl:***@db.example/pop"
    # A password "p" must not turn the driver's "port" into "***ort" in what is kept.
    settings.EGRESS_ALLOW_LOCAL = [*settings.EGRESS_ALLOW_LOCAL, "127.0.0.1:1"]
    EgressDestination.objects.create(host="127.0.0.1/32", port_min=1, port_max=1)
    error = refused(lambda: check_source("postgresql+psycopg://etl:p@127.0.0.1:1/test", "t", "", SCHEMA))
    assert "port 1 failed" in error.detail and "***ort" not in error.detail


def test_bad_urls() -> None:
    for url, message in [
        ("", "请填写数据库连接地址"),
        ("not a url", "数据库连接地址格式不正确"),
        ("nosuchdb+driver://u:p@h/d", "不支持的数据库类型：nosuchdb+driver（支持 PostgreSQL"),
        ("postgresql+psycopg2://u@10.1.2.3/d", "不支持的数据库类型"),
        ("mssql+pyodbc://u@10.1.2.3/d", "不支持的数据库类型"),
        ("postgresql+psycopg://u@/d", "连接地址必须写明数据库服务器的主机"),
        ("postgresql+psycopg://u@10.1.2.3:5432", "连接地址必须写明数据库名"),
        ("postgresql+psycopg://u@10.1.2.3/d?host=127.0.0.1", "连接地址不能带参数 host"),
        ("postgresql+psycopg://u@10.1.2.3/d?hostaddr=127.0.0.1", "连接地址不能带参数 hostaddr"),
        ("postgresql+psycopg://u@10.1.2.3/d?service=own", "连接地址不能带参数 service"),
        ("postgresql+psycopg://u@10.1.2.3/d?sslmode=bogus", "连接地址参数 sslmode 的值不正确"),
        ("mysql+pymysql://u@10.1.2.3/d?unix_socket=/run/mysqld/mysqld.sock", "连接地址不能带参数 unix_socket"),
        ("mysql+pymysql://u@10.1.2.3/d?local_infile=1", "连接地址不能带参数 local_infile"),
    ]:
        with pytest.raises(DomainError) as info:
            check_source(url, "t", "", SCHEMA)
        assert info.value.field == "url" and info.value.message.startswith(message), info.value.message


@pytest.fixture
def listener() -> Iterator[int]:
    """A throwaway TCP server on this machine that is not a database (like the platform's port 8000)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(0.5)
            with contextlib.suppress(OSError):
                conn.recv(1024)  # PostgreSQL's client speaks first, MySQL's waits for the server
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        server.close()


def _strip_reference(message: str) -> str:
    return re.sub(r"参考编号 [0-9a-f]{8}", "参考编号 …", message)


def test_the_source_form_is_no_port_scanner(listener: int, settings: Any) -> None:
    """A closed port, an open port that is no database, a live PostgreSQL outside the allowlist,
    a wrong password or database, and the platform's own port: one answer, no driver text."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    settings.EGRESS_ALLOW_LOCAL = [*settings.EGRESS_ALLOW_LOCAL, f"127.0.0.1:{closed_port}", f"127.0.0.1:{listener}",
                                   "127.0.0.1:5999"]  # fmt: skip
    for port in (closed_port, listener, 5999):
        EgressDestination.objects.create(host="127.0.0.1/32", port_min=port, port_max=port)
    attempts = {
        "closed port": f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/test",
        "closed 5999": "postgresql+psycopg://postgres@127.0.0.1:5999/test",
        "open port, not a database": f"postgresql+psycopg://postgres@127.0.0.1:{listener}/test",
        "MySQL driver on the open port": f"mysql+pymysql://root@127.0.0.1:{listener}/test",
        "live PostgreSQL, other port not listed": "postgresql+psycopg://postgres@127.0.0.1:5433/test",
        "live database, no such database": "postgresql+psycopg://postgres@127.0.0.1:5432/zw_no_such_database",
        "live MariaDB, wrong password": "mysql+pymysql://root:wrong@127.0.0.1:3306/test",
        "unlisted address": "postgresql+psycopg://postgres@10.255.255.1:5432/test",
        "own web port": "postgresql+psycopg://postgres@127.0.0.1:8000/test",
    }
    messages = {}
    for what, url in attempts.items():
        error = refused(lambda url=url: check_source(url, "t", "", SCHEMA))
        messages[what] = _strip_reference(error.message)
        assert error.detail, what
    assert set(messages.values()) == {"无法连接该数据源：目标不在允许范围内或暂时不可达（参考编号 …）"}, messages
    # The live PostgreSQL itself is reachable only once it is on the allowlist (the fixture's row).
    EgressDestination.objects.filter(port_min=5432).delete()
    refused(lambda: check_source(PG_URL, "t", "", SCHEMA))


def test_the_platforms_own_database_is_refused_as_a_source(settings: Any, platform_database: tuple[str, int]) -> None:
    name, port = platform_database
    for url in (
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}",
        f"postgresql://postgres@127.0.0.1:{port}/{name}",
        f"postgresql+psycopg://postgres@2130706433:{port}/{name}",
        f"postgresql+psycopg://postgres@LOCALHOST.:{port}/{name}",
    ):
        error = refused(lambda url=url: check_source(url, "django_session", "", SCHEMA))
        assert "平台自身的数据库" in error.detail
    with pytest.raises(DomainError) as info:  # another database on that server passes the policy
        check_source(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test", "zw_no_such_table", "", SCHEMA)
    assert info.value.field == "table"


def test_file_sources_are_refused_outside_the_test_suite(tmp_path: Path, settings: Any) -> None:
    from django.db import connection

    settings.DATAHUB_FILE_SOURCES = False
    db = tmp_path / "unit.db"
    sqlite3.connect(db).close()
    own = connection.settings_dict["NAME"]
    for url in (
        f"sqlite:///{db}",
        f"sqlite:///{own}",
        f"sqlite:///file:{own}?mode=rw&uri=true",
        "sqlite:////etc/passwd",
        "sqlite://",
        "sqlite+pysqlite:///:memory:",
    ):
        with pytest.raises(DomainError) as info:
            check_source(url, "django_session", "", SCHEMA)
        assert info.value.field == "url" and info.value.message.startswith("不支持以文件作为数据库来源"), url


def test_the_setting_is_off_outside_the_test_environment() -> None:
    code = "from django.conf import settings; print(settings.DATAHUB_FILE_SOURCES)"
    for env in ("development", "production"):
        environment = {**os.environ, "ZHENGWU_ENV": env, "DJANGO_SETTINGS_MODULE": "zhengwu.settings",
                       "ZHENGWU_SECRET_KEY": "x" * 60, "ZHENGWU_ALLOWED_HOSTS": "example.org"}  # fmt: skip
        out = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], env=environment,
                             capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
        assert out.stdout.strip() == "False", out.stderr


def test_in_the_test_suite_sqlite_is_read_only_and_never_the_platform_database(tmp_path: Path) -> None:
    from django.db import connection

    db = tmp_path / "unit.db"
    sqlite3.connect(db).close()
    for url, message in [
        (f"sqlite:///file:{db}?mode=rw&uri=true", "SQLite 来源只能是一个数据库文件的路径"),
        (f"sqlite:///{db}?mode=rw", "SQLite 来源只能是一个数据库文件的路径"),
        (f"sqlite:///{db}?uri=true", "SQLite 来源只能是一个数据库文件的路径"),
        ("sqlite://", "SQLite 来源必须是一个数据库文件"),
    ]:
        with pytest.raises(DomainError) as info:
            check_source(url, "person", "", SCHEMA)
        assert info.value.field == "url" and info.value.message.startswith(message), url
    if connection.vendor != "sqlite":
        return  # the platform's database is PostgreSQL here (refused above as a network source)
    own = Path(connection.settings_dict["NAME"])
    link = tmp_path / "looks-harmless.db"
    link.symlink_to(own)
    for path in (own, link, Path(f"{own}-wal")):
        refused(lambda path=path: check_source(f"sqlite:///{path}", "django_session", "", SCHEMA))


def _pg_sequence(engine: sa.Engine) -> str:
    name = f"zw_seq_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SEQUENCE {name}"))
    return name


def test_a_write_inside_the_source_query_is_refused(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path) -> None:
    """nextval() is a write a SELECT can make: the read-only transaction refuses it."""
    engine, name, _ = pg
    sequence = _pg_sequence(engine)
    try:
        query = f"SELECT id_no, person_name, birth_date, nextval('{sequence}') AS height FROM {name}"
        with pytest.raises(DomainError) as info:
            stage_database(PG_URL, SCHEMA, tmp_path / "x.parquet", query=query)
        assert info.value.field == "query"
        assert re.match(r"^读取查询出错：试图修改数据，来源只能只读访问（参考编号 [0-9a-f]{8}）$", info.value.message)
        with engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT last_value, is_called FROM {sequence}")).one() == (1, False)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SEQUENCE IF EXISTS {sequence}"))
    assert not (tmp_path / "x.parquet").exists()


def test_the_session_itself_is_read_only(pg: tuple[sa.Engine, str, sa.Table], mysql: tuple[sa.Engine, str]) -> None:
    from zhengwu.datahub.pull import _connect, _engine

    for url, statement in [
        (PG_URL, f"DELETE FROM {pg[1]}"),
        (PG_URL, "SELECT set_config('transaction_read_only', 'off', false)"),
        (MY_URL, f"DELETE FROM {mysql[1]}"),
        (MY_URL, f"INSERT INTO {mysql[1]} (id_no) VALUES ('x')"),
    ]:
        engine = _engine(url)
        try:
            with _connect(engine, url) as conn, pytest.raises(sa.exc.DBAPIError) as info:
                conn.exec_driver_sql(statement)
            assert "read-only" in str(info.value).lower() or "read only" in str(info.value).lower() or (
                "read-write mode" in str(info.value)
            ), info.value
        finally:
            engine.dispose()
    with pg[0].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pg[2])).scalar() == 5
    with mysql[0].connect() as conn:
        assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {mysql[1]}")).scalar() == 5


def test_a_slow_query_stops_at_the_statement_timeout(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path,
                                                     settings: Any) -> None:  # fmt: skip
    settings.PULL_STATEMENT_TIMEOUT_S = 1
    _, name, _ = pg
    query = f"SELECT id_no, person_name, birth_date, height FROM {name}, (SELECT pg_sleep(5)) AS slow"
    started = time.monotonic()
    with pytest.raises(DomainError) as info:
        stage_database(PG_URL, SCHEMA, tmp_path / "x.parquet", query=query)
    assert time.monotonic() - started < 3.5
    assert info.value.field == "query"
    assert re.match(r"^读取查询超时（超过 1 秒）：请缩小范围、在来源库建立索引，或改用增量抽取（参考编号 [0-9a-f]{8}）$",
                    info.value.message)  # fmt: skip


def test_a_query_cannot_lift_its_own_timeout(pg: tuple[sa.Engine, str, sa.Table], tmp_path: Path, settings: Any) -> None:
    """set_config() in the first rows lowers statement_timeout for the fetches that follow; the
    watchdog still cancels the later fetch that sleeps."""
    settings.PULL_STATEMENT_TIMEOUT_S = 1
    query = (
        "SELECT lpad(g::text, 18, '0') AS id_no, "
        "CASE WHEN g = 1 THEN set_config('statement_timeout', '0', false) "
        "WHEN g = 5500 THEN pg_sleep(8)::text ELSE 'x' END AS person_name, "
        "NULL::date AS birth_date, NULL::int AS height FROM generate_series(1, 6000) AS g"
    )
    started = time.monotonic()
    with pytest.raises(DomainError) as info:
        stage_database(PG_URL, SCHEMA, tmp_path / "x.parquet", query=query)
    assert time.monotonic() - started < 6
    assert info.value.message.startswith("读取查询超时（超过 1 秒）")


def test_the_row_cap_refuses_a_larger_pull(pg: tuple[sa.Engine, str, sa.Table], mysql: tuple[sa.Engine, str],
                                           tmp_path: Path, settings: Any) -> None:  # fmt: skip
    settings.PULL_MAX_ROWS = 4
    for url, table in [(PG_URL, pg[1]), (MY_URL, mysql[1])]:
        with pytest.raises(DomainError) as info:
            stage_database(url, SCHEMA, tmp_path / "x.parquet", table=table)
        assert info.value.field == "table"
        assert info.value.message == f"表 {table}的行数超过单次抽取上限 4 行（设置 ZHENGWU_PULL_MAX_ROWS）：请改用增量抽取，或缩小查询范围"
        assert not (tmp_path / "x.parquet").exists()
    settings.PULL_MAX_ROWS = 5
    assert stage_database(PG_URL, SCHEMA, tmp_path / "x.parquet", table=pg[1])[0].rows == 5


# --- MariaDB / MySQL ------------------------------------------------------------------------------------


MY_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


@pytest.fixture
def mysql() -> Iterator[tuple[sa.Engine, str]]:
    engine = sa.create_engine(MY_URL)
    name = f"zw_pull_{uuid.uuid4().hex[:12]}"
    table = make_table(engine, name, [person(i) for i in range(1, 6)])
    try:
        yield engine, name
    finally:
        table.drop(engine, checkfirst=True)
        engine.dispose()


def test_mariadb_full_incremental_and_query(mysql: tuple[sa.Engine, str], tmp_path: Path) -> None:
    _, name = mysql
    out = tmp_path / "staged.parquet"
    check_source(MY_URL, name, "", SCHEMA, "seq")
    result, watermark = stage_database(MY_URL, SCHEMA, out, table=name)
    assert result.rows == 5 and watermark == ""
    got = sorted(read(out), key=lambda r: r["id_no"])
    assert [{**r, "_row": 0} for r in got] == [expected(i, 0) for i in range(1, 6)]
    assert sorted(r["_row"] for r in got) == [1, 2, 3, 4, 5]
    result, watermark = stage_database(MY_URL, SCHEMA, out, table=name, watermark_column="seq", since="30")
    assert result.rows == 2 and watermark == "50"
    assert read(out) == [expected(4, 1), expected(5, 2)]
    query = f"SELECT person_name, id_no, birth_date, height, updated_at FROM {name} WHERE person_name <> 'a;b'"
    result, watermark = stage_database(MY_URL, SCHEMA, out, query=query, watermark_column="updated_at",
                                       since="2024-05-01 11:00:00.000003")  # fmt: skip
    assert [r["id_no"] for r in read(out)] == [expected(4, 1)["id_no"], expected(5, 2)["id_no"]]
    assert watermark.startswith("2024-05-01 13:00:00")


def test_mariadb_slow_query_stops_at_the_statement_timeout(mysql: tuple[sa.Engine, str], tmp_path: Path,
                                                           settings: Any) -> None:  # fmt: skip
    settings.PULL_STATEMENT_TIMEOUT_S = 1
    _, name = mysql
    query = f"SELECT id_no, person_name, birth_date, height FROM {name} WHERE SLEEP(5) = 0"
    started = time.monotonic()
    with pytest.raises(DomainError) as info:
        stage_database(MY_URL, SCHEMA, tmp_path / "x.parquet", query=query)
    assert time.monotonic() - started < 4
    assert info.value.message.startswith("读取查询超时（超过 1 秒）"), info.value.message


def test_mariadb_errors_are_chinese_without_server_text(mysql: tuple[sa.Engine, str]) -> None:
    _, name = mysql
    with pytest.raises(DomainError) as info:
        check_source(MY_URL, "", f"SELECT id_no, person_name, birth_date, nosuch AS height FROM {name}", SCHEMA)
    assert re.match(r"^查询语句执行出错：引用了不存在的表或列（参考编号 [0-9a-f]{8}）$", info.value.message)
    assert "Unknown column" in getattr(info.value, "detail", "")
    with pytest.raises(DomainError) as info:
        check_source(MY_URL, f"{name}_nope", "", SCHEMA)
    assert info.value.field == "table" and "不存在" in info.value.message


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


# --- through the services: the review's attack as a unit's data manager, and the audit trail ----------


def test_a_data_manager_cannot_register_the_platform_database_as_a_source(
    publish: Any, data_admin: Any, settings: Any
) -> None:
    """The review's attack: gaj_data registered `sqlite:///<the platform's database>` with a query on
    django_session and got every live session key. Outside the test suite it is refused at once;
    the refusal is audited with its cause."""
    from django.db import connection

    from zhengwu.audit.models import AuditRecord
    from zhengwu.datahub import services
    from zhengwu.datahub.models import DataSource

    entry = publish(data_admin)
    settings.DATAHUB_FILE_SOURCES = False
    own = connection.settings_dict["NAME"]
    query = "SELECT session_key AS id_no, session_data AS person_name, NULL AS birth_date, NULL AS height FROM django_session"
    for url in (f"sqlite:///{own}", f"sqlite:///file:{own}?mode=rw&uri=true", "sqlite:////etc/passwd"):
        with pytest.raises(DomainError) as info:
            services.do_create_source(data_admin, entry.resource_code, name="平台库", url=url, query=query)
        assert info.value.field == "url" and info.value.message.startswith("不支持以文件作为数据库来源")
    own_pg = (f"postgresql+psycopg://postgres@127.0.0.1:{connection.settings_dict.get('PORT') or 5432}/{own}"
              if connection.vendor == "postgresql" else "postgresql+psycopg://postgres@127.0.0.1:5999/zw")  # fmt: skip
    with pytest.raises(EgressRefused) as refused_info:
        services.do_create_source(data_admin, entry.resource_code, name="平台库", url=own_pg, query=query)
    assert not DataSource.objects.exists()
    record = AuditRecord.objects.filter(action="datahub.source.create", result="failure").order_by("-seq").first()
    assert record is not None and record.details["reason"] == refused_info.value.message
    assert refused_info.value.reference in record.details["reason"] and record.details["detail"] == refused_info.value.detail


def test_a_pull_refused_later_fails_the_batch_with_the_one_message(
    publish: Any, data_admin: Any, pg: tuple[sa.Engine, str, sa.Table], django_capture_on_commit_callbacks: Any
) -> None:
    """A source accepted yesterday whose destination the 安全管理员 removed from the allowlist today."""
    from zhengwu.audit.models import AuditRecord
    from zhengwu.datahub import services
    from zhengwu.datahub.models import IngestBatch

    entry = publish(data_admin)
    engine, name, _ = pg
    with engine.begin() as conn:
        conn.execute(sa.text(
            f'CREATE TABLE "{name}_p" AS SELECT id_no, person_name, NULL::text AS gender, birth_date, '
            f"NULL::text AS division_code, NULL::text AS household_address FROM {name}"
        ))  # fmt: skip
    try:
        source = services.do_create_source(data_admin, entry.resource_code, name="户籍库", url=PG_URL, table=f"{name}_p")
        EgressDestination.objects.filter(port_min=5432).delete()
        with django_capture_on_commit_callbacks(execute=True):
            batch = services.do_run_source(data_admin, source)
        batch = IngestBatch.objects.get(pk=batch.pk)
        assert batch.status == "failed" and GENERIC.match(batch.error_message), batch.error_message
        record = AuditRecord.objects.filter(action="datahub.source.pull", result="failure").get()
        assert record.details["batch"] == batch.pk and "白名单" in record.details["detail"]
        assert record.details["reason"] == batch.error_message
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}_p"'))
