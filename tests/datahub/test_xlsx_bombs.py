"""XLSX bombs (issue 8): a ~300 KB file with one 300 MB cell, a shared-strings bomb and a sheet
that expands one long shared string a hundred thousand times are refused in Chinese, naming the
limit, before anything is expanded — and the process's peak memory stays low (measured in a
subprocess with resource.getrusage)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from zhengwu.core.errors import DomainError
from zhengwu.datahub import readers

from .test_readers import SCHEMA

WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>id_no</t></is></c><c r="B1" t="inlineStr"><is><t>person_name</t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>birth_date</t></is></c><c r="D1" t="inlineStr"><is><t>address</t></is></c></row>'
)
SHEET_TAIL = "</sheetData></worksheet>"
CHUNK = 1 << 20


def _skeleton(zf: zipfile.ZipFile, shared: bool) -> None:
    zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
    zf.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>')
    zf.writestr("xl/workbook.xml", WORKBOOK)
    rels = '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    if shared:
        rels += '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    zf.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>')


def huge_cell_bomb(path: Path, megabytes: int = 300) -> Path:
    """One inline-string cell of `megabytes` MB (deflated to a few hundred KB)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        _skeleton(zf, shared=False)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write((SHEET_HEAD + '<row r="2"><c r="A2" t="inlineStr"><is><t>').encode())
            block = b"A" * CHUNK
            for _ in range(megabytes):
                part.write(block)
            part.write(("</t></is></c></row>" + SHEET_TAIL).encode())
    return path


def shared_strings_bomb(path: Path, count: int = 2_500_000) -> Path:
    """Millions of shared strings of 100 characters (250 MB of XML, deflated to ~1 MB)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        _skeleton(zf, shared=True)
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{count}" uniqueCount="{count}">'.encode())
            item = ("<si><t>" + "梅" * 33 + "</t></si>").encode()
            for _ in range(count // 1000):
                part.write(item * 1000)
            part.write(b"</sst>")
        zf.writestr("xl/worksheets/sheet1.xml", SHEET_HEAD + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>' + SHEET_TAIL)
    return path


def expanding_sheet(path: Path, rows: int = 100_000) -> Path:
    """One shared string of 32,000 characters referenced by four cells in each of 100,000 rows:
    a 10 MB sheet that expands to 12.8 GB of text."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _skeleton(zf, shared=True)
        zf.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + "x" * 32_000 + "</t></si></sst>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(SHEET_HEAD.encode())
            for r in range(2, rows + 2):
                part.write(f'<row r="{r}">'.encode() + b"".join(f'<c r="{c}{r}" t="s"><v>0</v></c>'.encode() for c in "ABCD") + b"</row>")
            part.write(SHEET_TAIL.encode())
    return path


PROBE = r"""
import json, os, resource, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
django.setup()
from pathlib import Path
from zhengwu.core.errors import DomainError
from zhengwu.datahub import readers
sys.path.insert(0, os.getcwd())
from tests.datahub.test_readers import SCHEMA
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
message = ""
try:
    readers.stage_file(Path(sys.argv[1]), SCHEMA, Path(sys.argv[2]))
except DomainError as exc:
    message = exc.message
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_mb": before / 1024, "peak_mb": after / 1024, "message": message}, ensure_ascii=False))
"""


def stage_in_subprocess(path: Path, **env: str) -> dict[str, object]:
    environment = dict(os.environ, ZHENGWU_ENV="test", **env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), str(path.with_suffix(".parquet"))],
        capture_output=True, text=True, env=environment, cwd=Path(__file__).resolve().parents[2], timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    print(path.name, result)  # the figures quoted in the report (pytest -s)
    return result


def test_a_300_mb_cell_in_a_300_kb_file_is_refused_by_its_compression_ratio(tmp_path: Path) -> None:
    bomb = huge_cell_bomb(tmp_path / "一个大单元格.xlsx")
    assert bomb.stat().st_size < 1 << 20
    result = stage_in_subprocess(bomb)
    assert "压缩比" in str(result["message"]) and "ZHENGWU_INGEST_XLSX_MAX_RATIO" in str(result["message"])
    assert float(result["peak_mb"]) - float(result["before_mb"]) < 50  # nothing was expanded


def test_the_same_cell_is_refused_while_streaming_when_the_ratio_is_allowed(tmp_path: Path) -> None:
    bomb = huge_cell_bomb(tmp_path / "一个大单元格.xlsx")
    result = stage_in_subprocess(bomb, ZHENGWU_INGEST_XLSX_MAX_RATIO="100000")
    message = str(result["message"])
    assert "单元格 A2" in message and "32,767" in message, message
    assert float(result["peak_mb"]) - float(result["before_mb"]) < 100


def test_a_shared_strings_bomb_is_refused_with_low_memory(tmp_path: Path) -> None:
    bomb = shared_strings_bomb(tmp_path / "共享字符串.xlsx")
    assert bomb.stat().st_size < 5 << 20
    result = stage_in_subprocess(bomb)
    assert "sharedStrings.xml" in str(result["message"]), result
    assert float(result["peak_mb"]) - float(result["before_mb"]) < 50
    streamed = stage_in_subprocess(bomb, ZHENGWU_INGEST_XLSX_MAX_RATIO="100000")  # caught by the part's size cap
    assert "256 MB" in str(streamed["message"]) and float(streamed["peak_mb"]) - float(streamed["before_mb"]) < 50


def test_a_sheet_expanding_one_long_shared_string_is_refused(tmp_path: Path) -> None:
    bomb = expanding_sheet(tmp_path / "展开.xlsx")
    result = stage_in_subprocess(bomb)
    assert "共享字符串展开" in str(result["message"]), result
    assert float(result["peak_mb"]) - float(result["before_mb"]) < 100


def test_cell_length_row_count_and_dtd_limits(tmp_path: Path, settings: object) -> None:
    from openpyxl import Workbook

    def book(rows: list[list[str]], name: str) -> Path:
        wb = Workbook()
        ws = wb.active
        ws.append(["id_no", "person_name", "birth_date", "address"])
        for row in rows:
            ws.append(row)
        path = tmp_path / name
        wb.save(path)
        return path

    ok = readers.stage_file(book([["x", "张三", "", "梅" * 32_767]], "ok.xlsx"), SCHEMA, tmp_path / "ok.parquet")
    assert ok.rows == 1  # exactly Excel's limit is accepted
    long_cell = tmp_path / "long.xlsx"  # written by hand: openpyxl itself truncates to Excel's limit
    with zipfile.ZipFile(long_cell, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _skeleton(zf, shared=False)
        zf.writestr("xl/worksheets/sheet1.xml", SHEET_HEAD + '<row r="2"><c r="D2" t="inlineStr"><is><t>' + "梅" * 32_768 + "</t></is></c></row>" + SHEET_TAIL)
    with pytest.raises(DomainError, match="32,767") as refused:
        readers.stage_file(long_cell, SCHEMA, tmp_path / "l.parquet")
    assert refused.value.field == "file" and "D2" in refused.value.message
    settings.INGEST_XLSX_MAX_ROWS = 3  # type: ignore[attr-defined]
    with pytest.raises(DomainError, match="超过 3 行"):
        readers.stage_file(book([["x", "张三", "", "a"]] * 3, "rows.xlsx"), SCHEMA, tmp_path / "r.parquet")
    settings.INGEST_XLSX_MAX_UNCOMPRESSED_MB = 0  # type: ignore[attr-defined]
    with pytest.raises(DomainError, match="ZHENGWU_INGEST_XLSX_MAX_UNCOMPRESSED_MB"):
        readers.stage_file(book([["x", "张三", "", "a"]], "total.xlsx"), SCHEMA, tmp_path / "t.parquet")
    settings.INGEST_XLSX_MAX_UNCOMPRESSED_MB = 2048  # type: ignore[attr-defined]
    laughs = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(laughs, "w") as zf:
        _skeleton(zf, shared=False)
        zf.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>' + SHEET_HEAD[SHEET_HEAD.index("<worksheet"):] + SHEET_TAIL)
    with pytest.raises(DomainError, match="DTD"):
        readers.stage_file(laughs, SCHEMA, tmp_path / "x.parquet")
