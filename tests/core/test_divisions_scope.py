"""core.divisions' row-scope rule: which division codes a grant's scope covers. One rule, used by
the serving store's SQL and the exchange's Python matcher (their agreement is tested beside them)."""

from __future__ import annotations

import pytest

from zhengwu.core import divisions


def covers(codes: list[str], value: str) -> bool:
    return divisions.scope_matcher(codes)(value)


def test_prefix_of_each_level() -> None:
    assert divisions.scope_prefix("440000") == "44"  # province
    assert divisions.scope_prefix("441400") == "4414"  # prefecture
    assert divisions.scope_prefix("441402") == "441402"  # county
    assert divisions.scope_prefix("110101") == "110101"  # a municipality's district
    assert divisions.scope_prefix("441402001") == "441402001"  # township
    assert divisions.scope_prefix("441402001001") == "441402001001"  # village
    # long forms: a 12- or 9-digit code ending in 000 is its parent written long
    assert divisions.scope_prefix("441402001000") == "441402001"
    assert divisions.scope_prefix("441402000000") == "441402"
    assert divisions.scope_prefix("441400000000") == "4414"
    assert divisions.scope_prefix("440000000") == "44"


def test_a_province_covers_everything_under_it_and_nothing_else() -> None:
    for inside in ("440000", "441400", "441402", "441402001", "441402001001", "440103"):
        assert covers(["440000"], inside), inside
    for outside in ("450000", "450103", "430000", "110101"):
        assert not covers(["440000"], outside), outside


def test_prefecture_county_township_and_village() -> None:
    assert covers(["441400"], "441400") and covers(["441400"], "441422") and covers(["441400"], "441402001001")
    assert not covers(["441400"], "441500") and not covers(["441400"], "440000")  # not a sibling, not the parent
    assert covers(["441402"], "441402") and covers(["441402"], "441402001") and covers(["441402"], "441402001001")
    assert not covers(["441402"], "441403") and not covers(["441402"], "441400")
    assert covers(["441402001"], "441402001001") and covers(["441402001"], "441402001")
    assert not covers(["441402001"], "441402002001") and not covers(["441402001"], "441402")
    assert covers(["441402001001"], "441402001001")
    assert not covers(["441402001001"], "441402001002") and not covers(["441402001001"], "441402001")
    assert covers(["441402000000"], "441402001001")  # the county written long


def test_only_codes_are_covered_not_every_string_with_the_prefix() -> None:
    # "44140" starts with 441400's prefix "4414" but is no division code; nor are 7-, 8-, 10-digit strings
    for not_a_code in ("44140", "4414", "4414021", "44140200", "4414020010", "4414ab", "441402 ", " 441402", ""):
        assert not covers(["441400"], not_a_code), repr(not_a_code)
        assert not divisions.is_code(not_a_code)
    assert divisions.is_code("441402") and divisions.is_code("441402001") and divisions.is_code("441402001001")
    assert not divisions.is_code(441402)  # not text


def test_empty_scope_covers_nothing() -> None:
    assert divisions.scope_prefixes([]) == ()
    assert not covers([], "441402") and not divisions.covered("441402", ())


def test_prefixes_are_minimal_and_sorted() -> None:
    assert divisions.scope_prefixes(["441402", "440000"]) == ("44",)
    assert divisions.scope_prefixes(["441403", "441402", "441402"]) == ("441402", "441403")
    assert divisions.scope_prefixes(["441402001", "441400", "110101"]) == ("110101", "4414")
    assert divisions.scope_prefixes(["441402001001", "441402001"]) == ("441402001",)


@pytest.mark.parametrize("bad", ["44", "4414", "44140", "4414020", "44140200", "4414020010", "4414%", "44140a",
                                 "' OR 1=1 --", "", 441402, None])
def test_malformed_scope_codes_are_refused(bad: object) -> None:
    with pytest.raises(divisions.ScopeCodeError, match="应为 6、9 或 12 位数字"):
        divisions.scope_prefixes(["441402", bad])
