"""Rows come from the serving store when it holds the dataset's version, else from the lake: the same answer."""

from __future__ import annotations

from typing import Any

import pytest

from zhengwu.opendata import data, queries

pytestmark = pytest.mark.django_db(transaction=True)


def test_serving_store_and_lake_give_the_same_rows(open_dataset: Any, themes: None) -> None:
    from zhengwu.datahub.serving import queries as serving

    entry = open_dataset()
    dataset = queries.get_dataset(entry.resource_code)
    info = serving.served(entry.resource_code)
    assert info is not None and info.lake_version == dataset.version.lake_version
    fields = dataset.field_names
    keys = [f"PDY{i:06d}" for i in (1, 2, 3, 5, 6, 10, 11, 15, 16, 20)]
    by_key = data.Search(fields, {"org_code": keys, "division_code": ["441402", "441403"]}, sort=[("org_code", True)], limit=5)
    served = data.query_served(entry.resource_code, dataset.version.lake_version, by_key)
    assert served is not None
    broad = data.Search(fields, {"division_code": ["441402", "441403"]}, sort=[("org_code", True)], limit=5)
    broad_served = data.query_served(entry.resource_code, dataset.version.lake_version, broad)
    assert broad_served is not None and broad_served.total == 8
    dataset_arrow = data.version_dataset(entry.resource_code, dataset.version.lake_version)
    assert dataset_arrow is not None
    import duckdb

    con = duckdb.connect()
    con.register("src", dataset_arrow)
    lake_rows = con.execute(
        "SELECT org_code, org_name, category, beds, division_code, reg_date FROM src "
        f"WHERE division_code IN ('441402', '441403') AND org_code IN ({', '.join(repr(k) for k in keys)}) ORDER BY org_code DESC LIMIT 5"
    ).fetchall()
    assert served.rows == lake_rows
    assert served.total == 8
    lake_rows = con.execute(
        "SELECT org_code, org_name, category, beds, division_code, reg_date FROM src "
        "WHERE division_code IN ('441402', '441403') ORDER BY org_code DESC LIMIT 5"
    ).fetchall()
    assert broad_served.rows == lake_rows
    # a query the store does not answer (offset) falls back to the lake with the same rows
    offset = data.query(entry.resource_code, dataset.version.lake_version,
                        data.Search(fields, {"division_code": ["441402", "441403"]}, sort=[("org_code", True)], limit=4, offset=1),
                        searchable=fields)
    assert offset.rows == lake_rows[1:5] and offset.total == 8


def test_stale_serving_version_is_not_used(open_dataset: Any, themes: None) -> None:
    entry = open_dataset()
    dataset = queries.get_dataset(entry.resource_code)
    search = data.Search(dataset.field_names, {}, limit=3)
    assert data.query_served(entry.resource_code, dataset.version.lake_version + 1, search) is None
