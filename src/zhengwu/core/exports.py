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
`xlsx_stream_response` streams a plain one-sheet workbook as it is written (a ZIP written forward
with data descriptors, the sheet's rows as inline strings): the first bytes leave at once and
memory stays flat, for downloads of millions of rows.

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


# --- XLSX, streamed ---------------------------------------------------------------------------------

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    # Styles: 0 general, 1 date (yyyy-mm-dd), 2 date and time (yyyy-mm-dd hh:mm:ss), 3 time.
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
        '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/><numFmt numFmtId="166" formatCode="hh:mm:ss"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
_EPOCH = datetime(1899, 12, 30)


class _Sink:
    """A forward-only file for zipfile (no seek: it writes data descriptors), handing out what
    was written since the last `take`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts = []
        return out


def _xlsx_cell(value: Any) -> str:
    from xml.sax.saxutils import escape

    value = xlsx_value(value)
    if value is None:
        return "<c/>"
    if _is_number(value):
        return f"<c><v>{value}</v></c>" if not isinstance(value, Decimal) or value.is_finite() else "<c/>"
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
        return f'<c s="2"><v>{(naive - _EPOCH).total_seconds() / 86400:.10f}</v></c>'
    if isinstance(value, date):
        return f'<c s="1"><v>{(value - _EPOCH.date()).days}</v></c>'
    if isinstance(value, time):
        return f'<c s="3"><v>{(value.hour * 3600 + value.minute * 60 + value.second) / 86400:.10f}</v></c>'
    text = str(value)[:XLSX_MAX_CELL]
    return f'<c t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def xlsx_stream(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, sheet_title: str = "数据") -> Iterator[bytes]:
    """A one-sheet workbook as bytes, written forward: the package parts and the header row go out
    first, then the rows about every 64 KB of compressed output; every value through `xlsx_value`."""
    import zipfile
    from xml.sax.saxutils import quoteattr

    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)  # type: ignore[call-overload]
    title = "".join(ch for ch in str(sheet_title) if ch not in '[]:*?/\\')[:31] or "数据"
    for name, text in _XLSX_PARTS.items():
        archive.writestr(name, text)
    archive.writestr("xl/workbook.xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name={quoteattr(title)} sheetId="1" r:id="rId1"/></sheets></workbook>'
    ))
    with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
        sheet.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        )
        number = 1
        sheet.write(f'<row r="1">{"".join(_xlsx_cell(v) for v in header)}</row>'.encode())
        sheet.flush()
        yield sink.take()
        pending: list[str] = []
        for row in rows:
            number += 1
            pending.append(f'<row r="{number}">{"".join(_xlsx_cell(v) for v in row)}</row>')
            if len(pending) >= 500:
                sheet.write("".join(pending).encode())
                pending = []
                if sink.parts:
                    yield sink.take()
        sheet.write(("".join(pending) + "</sheetData></worksheet>").encode())
    archive.close()
    yield sink.take()


def xlsx_stream_response(
    filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], *, sheet_title: str = "数据"
) -> StreamingHttpResponse:
    """A streamed XLSX download named `filename` (`xlsx_stream`)."""
    response = StreamingHttpResponse(xlsx_stream(header, rows, sheet_title=sheet_title), content_type=XLSX_TYPE)
    response["Content-Disposition"] = str(content_disposition_header(True, filename))
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
