"""The exchange's row-scope matcher applies core.divisions' rule on 行政区划代码 fields (the one the
serving store's SQL applies, see tests/datahub/serving) and exact codes on other code-table fields."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from zhengwu.core import divisions
from zhengwu.core.errors import DomainError
from zhengwu.sharing.exchange.changes import _scope_matcher

ITEMS = [{"field_name": "division_code", "code_table": "GB/T 2260"}, {"field_name": "gender", "code_table": "GB/T 2261.1"}]
VALUES = ["441402", "441403", "441400", "441500", "440000", "441402001", "441402001001", "441402000000",
          "44140", "4414", "4414021", "", None]


def matcher(scope: dict[str, list[str]]) -> Any:
    return _scope_matcher(SimpleNamespace(scope=scope), ITEMS)  # type: ignore[arg-type]


@pytest.mark.parametrize("codes", [["440000"], ["441400"], ["441402"], ["441402001"], ["441403", "441500"]])
def test_division_fields_follow_the_core_rule(codes: list[str]) -> None:
    inside = matcher({"division_code": codes})
    rule = divisions.scope_matcher(codes)
    got = [v for v in VALUES if inside({"division_code": v})]
    assert got == [v for v in VALUES if v is not None and rule(v)]


def test_villages_townships_and_non_codes() -> None:
    inside = matcher({"division_code": ["441402"]})
    assert [v for v in VALUES if inside({"division_code": v})] == ["441402", "441402001", "441402001001", "441402000000"]
    city = matcher({"division_code": ["441400"]})
    assert not city({"division_code": "44140"}) and not city({"division_code": "4414021"})


def test_other_fields_match_exactly_and_fields_are_anded() -> None:
    inside = matcher({"division_code": ["441400"], "gender": ["1"]})
    assert inside({"division_code": "441402", "gender": "1"})
    assert not inside({"division_code": "441402", "gender": "2"})
    assert not inside({"division_code": "441402", "gender": "10"})  # exact, not a prefix
    assert not inside({"division_code": "440103", "gender": "1"})
    assert matcher({})({"division_code": "999999"})  # no scope: every row
    assert not matcher({"division_code": []})({"division_code": "441402"})  # empty code list: nothing


def test_a_malformed_scope_code_is_a_chinese_error() -> None:
    with pytest.raises(DomainError, match="应为 6、9 或 12 位数字"):
        matcher({"division_code": ["44"]})
