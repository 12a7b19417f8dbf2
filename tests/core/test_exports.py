"""core.exports: formulas neutralised exactly (OWASP CSV injection), restored exactly on upload,
numbers left as numbers, CSV with BOM streamed, XLSX text cells."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from zhengwu.core import exports

ATTACKS = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", "\t=1+1", "\r=1+1",
           "＝1+1", "＋1", "－1", "＠SUM(A1)"]


@pytest.mark.parametrize("text", ATTACKS)
def test_a_formula_gets_one_apostrophe_and_keeps_the_rest(text: str) -> None:
    assert exports.neutralise(text) == "'" + text
    assert exports.restore("'" + text) == text


@pytest.mark.parametrize("text", ["", "普通文本", "1+1", "a=b", "'", "'quoted", "2024-01-01", " =x"])
def test_plain_text_is_untouched(text: str) -> None:
    assert exports.neutralise(text) == text
    assert exports.restore(text) == text


def test_text_that_already_starts_with_an_apostrophe_before_a_formula_round_trips() -> None:
    assert exports.neutralise("'=1") == "''=1"
    assert exports.restore("''=1") == "'=1"
    assert exports.restore("'=1") == "=1"


@given(st.text(max_size=30))
def test_restore_undoes_neutralise(text: str) -> None:
    assert exports.restore(exports.neutralise(text)) == text
    assert not exports.neutralise(text).startswith(exports.FORMULA_STARTS)


def test_csv_keeps_the_tab_after_the_quote_and_numbers_as_numbers() -> None:
    data = b"".join(exports.csv_stream(["值", "数"], [[a, -2] for a in ATTACKS] + [[None, Decimal("-3.5")]]))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert table[0] == ["值", "数"]
    assert [r[0] for r in table[1:-1]] == ["'" + a for a in ATTACKS]
    assert table[1 + ATTACKS.index("\t=1+1")][0] == "'\t=1+1"
    assert [r[1] for r in table[1:]] == ["-2"] * len(ATTACKS) + ["-3.5"]
    assert table[-1][0] == ""


def test_xlsx_cells_are_text_and_numbers_stay_numeric() -> None:
    handle = exports.xlsx_file(["值", "数"], [[a, -2] for a in ATTACKS] + [["控制\x01字符", 1.5]])
    sheet = load_workbook(handle).active
    rows = list(sheet.iter_rows(min_row=2))
    for (text, number), attack in zip(rows, ATTACKS, strict=False):
        # XML turns a bare \r into \n: text with \r (or a control character) is stored in OOXML's
        # _xHHHH_ form, which Excel and WPS decode (openpyxl leaves it to the caller)
        assert text.data_type == "s" and unescape(text.value) == "'" + attack
        assert text.value == ("'" + attack if "\r" not in attack else "'_x000d_=1+1")
        assert number.data_type == "n" and number.value == -2
    assert rows[-1][0].value == "控制_x0001_字符" and unescape(rows[-1][0].value) == "控制\x01字符"
    handle.close()


def test_csv_response_streams_with_a_chinese_file_name() -> None:
    response = exports.csv_response("隔离数据.csv", ["a"], iter([["=1"]]))
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"] and "filename*=utf-8''" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).decode("utf-8-sig").splitlines() == ["a", "'=1"]
