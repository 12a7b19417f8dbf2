"""The one writer of CSV and XLSX downloads, with spreadsheet formulas neutralised.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or the
full-width ＝＋－＠, which some spreadsheet programs accept too) is read by Excel, WPS and
LibreOffice as a formula: ``=HYPERLINK(…)`` makes a link that sends data away, ``=cmd|' /C calc'!A0``
runs a program through DDE. Following the OWASP guidance on CSV injection, such text gets one
leading apostrophe ``'`` and is otherwise kept exactly (``\\t=1+1`` becomes ``'\\t=1+1``).
Text that already starts with apostrophes followed by a formula character gets one more, so
`restore` gives back exactly what was written (a file downloaded, corrected and uploaded back
carries the same values: `restore` is what uploads apply).

Numbers are written as numbers (an XLSX numeric cell, or the plain digits in CSV): a number is
never a formula, and ``-3.5`` stays a negative number. In XLSX every text is a string cell
(``data_type == "s"``); characters XML cannot hold are written in the ``_xHHHH_`` form Excel
reads back.

CSV is UTF-8 with a byte-order mark (so Excel opens Chinese text correctly), streamed row by row
(`csv_stream`, `csv_response`): an export of millions of rows never sits in memory. XLSX is
written in openpyxl's write-only mode to a temporary file that the response streams
(`xlsx_response`); `xlsx_value` neutralises one value for code that styles its own workbook.

PDF (`pdf_response`, reportlab): a title and one table, in reportlab's built-in CID font
STSong-Light (PDF readers supply the Chinese glyphs, so no font file ships with the platform).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
QUOTE = "'"
BOM = "\ufeff"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX_CELL = 32_767  # Excel's limit of characters in one cell


def _formula_like(text: str) -> bool:
    """The text starts with a formula character, after any number of apostrophes."""
    return text.lstrip(QUOTE).startswith(FORMULA_STARTS)


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as text, never evaluates: one apostrophe in front of a formula."""
    return QUOTE + text if _formula_like(text) else text


def restore(text: str) -> str:
    """The text `neutralise` was given: one leading apostrophe removed where it added one."""
    if text.startswith(QUOTE) and _formula_like(text[1:]):
        return text[1:]
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def csv_cell(value: Any) -> str:
    """One value as CSV text: None → empty, numbers as digits, dates ISO, everything else neutralised."""
    if value is None:
        return ""
    if _is_number(value):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    return neutralise(str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text line by line, the first with the byte-order mark; every cell neutralised."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([csv_cell(v) for v in header])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def csv_stream(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """`csv_lines` encoded as UTF-8: the header line at once (the download starts before the first
    rows are read), then chunks of about 64 KB (fewer, larger writes)."""
    lines = csv_lines(header, rows)
    yield next(lines).encode("utf-8")
    chunk: list[str] = []
    size = 0
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= 65536:
            yield "".join(chunk).encode("utf-8")
            chunk, size = [], 0
    if chunk:
        yield "".join(chunk).encode("utf-8")


def csv_response(filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """A streamed CSV download (UTF-8 with BOM) named `filename` (Chinese names allowed)."""
    response = StreamingHttpResponse(csv_stream(header, rows), content_type=CSV_TYPE)
    response["Content-Disposition"] = str(content_disposition_header(True, filename))
    return response


def xlsx_value(value: Any) -> Any:
    """One value for an openpyxl cell: numbers, dates and None as they are; text neutralised (so
    openpyxl stores a string, never a formula) with characters XML cannot hold escaped."""
    if value is None or _is_number(value) or isinstance(value, (datetime, date, time)):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils.escape import escape

    text = neutralise(str(value))
    if "\r" in text or ILLEGAL_CHARACTERS_RE.search(text):
        text = escape(text)  # XML would turn \r into \n and cannot hold other control characters
    return text


def xlsx_rows(sheet: Any, rows: Iterable[Sequence[Any]]) -> None:
    """Append rows to an openpyxl worksheet (normal or write-only), every value through `xlsx_value`."""
    for row in rows:
        sheet.append([xlsx_value(v) for v in row])


def xlsx_file(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, sheet_title: str = "数据") -> Any:
    """A temporary file (deleted when closed) holding a one-sheet workbook, written in
    openpyxl's write-only mode (rows are not kept in memory), positioned at its start."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    xlsx_rows(sheet, [header])
    xlsx_rows(sheet, rows)
    out = tempfile.TemporaryFile(prefix="zhengwu-export-", suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    workbook.save(out)
    out.seek(0)
    return out


def xlsx_response(
    filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], *, sheet_title: str = "数据"
) -> FileResponse:
    """An XLSX download named `filename`, streamed from a temporary file."""
    response = FileResponse(
        xlsx_file(header, rows, sheet_title=sheet_title), content_type=XLSX_TYPE, as_attachment=True, filename=filename
    )
    return response


# --- PDF ---------------------------------------------------------------------------------------------

PDF_TYPE = "application/pdf"
PDF_FONT = "STSong-Light"  # reportlab's built-in CID font for Simplified Chinese: no font file is shipped


def pdf_file(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], *, subtitle: str = "") -> Any:
    """A temporary file (deleted when closed) holding an A4 landscape PDF: a title, a subtitle and
    one table (the header repeated on every page), in the CID font STSong-Light, which PDF readers
    render with their own Chinese font."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    heading = ParagraphStyle("title", fontName=PDF_FONT, fontSize=16, leading=22)
    small = ParagraphStyle("small", fontName=PDF_FONT, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=9, leading=11, wordWrap="CJK")

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, (datetime, date, time)):
            return value.isoformat(sep=" ", timespec="minutes") if isinstance(value, datetime) else value.isoformat()
        from xml.sax.saxutils import escape

        return escape(str(value))

    data = [[Paragraph(text(h), cell) for h in header]]
    data += [[Paragraph(text(v), cell) for v in row] for row in rows]
    table = LongTable(data, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.93, 0.97)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    out = tempfile.TemporaryFile(prefix="zhengwu-export-", suffix=".pdf")  # noqa: SIM115 (the response closes it)
    doc = SimpleDocTemplate(
        out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
        title=title, author="zhengwu",
    )
    story: list[Any] = [Paragraph(text(title), heading)]
    if subtitle:
        story.append(Paragraph(text(subtitle), small))
    story += [Spacer(1, 4 * mm), table]
    doc.build(story)
    out.seek(0)
    return out


def pdf_response(
    filename: str, title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], *, subtitle: str = ""
) -> FileResponse:
    """A PDF download named `filename` (Chinese names allowed), streamed from a temporary file."""
    return FileResponse(
        pdf_file(title, header, rows, subtitle=subtitle), content_type=PDF_TYPE, as_attachment=True, filename=filename
    )
