"""datastore_search_sql: off by default; one read-only SELECT over one open resource's open columns."""

from __future__ import annotations

from typing import Any

import ckanapi
import pytest

from zhengwu.opendata import queries

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ckan(live_server: Any, themes: None) -> ckanapi.RemoteCKAN:
    return ckanapi.RemoteCKAN(live_server.url)


@pytest.fixture
def clinics(open_dataset: Any) -> Any:
    return open_dataset()


def rid(entry: Any) -> str:
    return queries.resource_id(entry.resource_code, "CSV")


def test_off_unless_enabled(ckan: Any, clinics: Any) -> None:
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search_sql(sql=f'SELECT * FROM "{rid(clinics)}"')


def test_select_over_open_columns(ckan: Any, clinics: Any, settings: Any) -> None:
    settings.OPENDATA_SQL_ENABLED = True
    answer = ckan.action.datastore_search_sql(
        sql=f'SELECT category, count(*) AS n, sum(beds) AS beds FROM "{rid(clinics)}" GROUP BY category ORDER BY category'
    )
    assert [r["category"] for r in answer["records"]] == sorted(["综合医院", "中医医院", "社区卫生服务中心", "乡镇卫生院", "诊所"])
    assert sum(r["n"] for r in answer["records"]) == 20
    star = ckan.action.datastore_search_sql(sql=f'SELECT * FROM "{rid(clinics)}" LIMIT 1')
    assert "phone" not in star["records"][0] and "org_code" in star["records"][0]
    cte = ckan.action.datastore_search_sql(sql=f'WITH t AS (SELECT beds FROM "{rid(clinics)}") SELECT max(beds) AS m FROM t')
    assert cte["records"] == [{"m": max((i * 7) % 300 for i in range(1, 21))}]


def test_row_limit(ckan: Any, clinics: Any, settings: Any) -> None:
    settings.OPENDATA_SQL_ENABLED = True
    settings.OPENDATA_SQL_MAX_ROWS = 5
    answer = ckan.action.datastore_search_sql(sql=f'SELECT org_code FROM "{rid(clinics)}"')
    assert len(answer["records"]) == 5 and answer["records_truncated"] is True


@pytest.mark.parametrize("template, reason", [
    ('SELECT phone FROM "{rid}"', "字段或表不存在"),
    ('SELECT org_code FROM "{rid}" WHERE phone LIKE \'139%\'', "字段或表不存在"),
    ('INSERT INTO "{rid}" VALUES (1)', "只允许只读的 SELECT"),
    ('DELETE FROM "{rid}"', "只允许只读的 SELECT"),
    ('DROP TABLE "{rid}"', "只允许只读的 SELECT"),
    ('SELECT 1 FROM "{rid}"; DROP TABLE "{rid}"', "只能执行一条"),
    ("SELECT * FROM read_csv('/etc/passwd')", "表函数"),
    ("SELECT * FROM '/etc/passwd'", "不存在"),  # a quoted path is read as a table name: no such resource
    ('SELECT * FROM "{rid}" a JOIN "{closed}" b ON a.org_code = b.org_code', "只能读取一个数据资源"),
    ('SELECT * FROM "{rid}" UNION SELECT * FROM "{closed}"', "只允许"),
    ('SELECT getenv(\'HOME\') FROM "{rid}"', "不允许使用函数"),
    ("SELECT 1", "缺少 FROM"),
    ('SELECT * FROM "{closed}"', "不存在"),
    ('COPY (SELECT * FROM "{rid}") TO \'/tmp/x.csv\'', "只允许"),
    ("ATTACH '/tmp/x.db'", "只允许"),
    ('SELECT * FROM main."{rid}"', "不认识的表"),
    ("SELEC * FROM x", "语法错误"),
])
def test_refusals(ckan: Any, clinics: Any, open_dataset: Any, settings: Any, template: str, reason: str) -> None:
    settings.OPENDATA_SQL_ENABLED = True
    closed = open_dataset(name="预防接种记录", open_type="不予开放")
    sql = template.format(rid=rid(clinics), closed=queries.resource_id(closed.resource_code, "CSV"))
    with pytest.raises((ckanapi.ValidationError, ckanapi.NotFound)) as refused:
        ckan.action.datastore_search_sql(sql=sql)
    assert reason in str(refused.value)


def test_too_long_query_is_interrupted(ckan: Any, clinics: Any, settings: Any) -> None:
    settings.OPENDATA_SQL_ENABLED = True
    settings.OPENDATA_SQL_TIMEOUT_SECONDS = 0.3
    t = f'"{rid(clinics)}"'
    sql = f"SELECT count(*) FROM {t} a, {t} b, {t} c, {t} d, {t} e, {t} f, {t} g WHERE a.beds + b.beds + g.beds > -1"
    with pytest.raises(ckanapi.ValidationError) as refused:
        ckan.action.datastore_search_sql(sql=sql)
    assert "已中止" in str(refused.value)
