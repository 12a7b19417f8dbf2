from __future__ import annotations

from typing import Any

import pytest

from zhengwu.datahub.serving import queries, services

from ..conftest import person
from .conftest import by_key, lake_rows

pytestmark = pytest.mark.django_db

COLUMNS = ["id_no", "person_name", "gender", "birth_date", "division_code", "household_address"]


def test_smoke(publish: Any, data_admin: Any, ingest: Any) -> None:
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(i) for i in range(1, 31)])
    result = services.do_refresh_served(code)
    assert result.mode == "full" and result.rows == 30
    info = queries.served(code)
    assert info is not None and info.lake_version == 0
    assert by_key(queries.query(code, columns=COLUMNS, limit=100).rows, "id_no") == by_key(lake_rows(code), "id_no")
    row = queries.lookup(code, {"id_no": person(3)["id_no"]}, columns=COLUMNS)
    assert row == by_key(lake_rows(code), "id_no")[person(3)["id_no"]]
    ingest(entry, [person(1, person_name="李四"), person(40)])
    result = services.do_refresh_served(code)
    assert result.mode == "incremental", result
    assert by_key(queries.query(code, columns=COLUMNS, limit=100).rows, "id_no") == by_key(lake_rows(code), "id_no")
