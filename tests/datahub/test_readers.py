"""Readers: files and pushed records staged as Parquet of text columns (plain pytest, no database)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhengwu.core.errors import DomainError
from zhengwu.datahub import readers
from zhengwu.datahub.readers import detect_format, stage_file, stage_records, value_text
from zhengwu.datahub.schema import Column, ResourceSchema

SCHEMA = ResourceSchema(
    resource_code="R-POP",
    name="人口基本信息",
    provider_id=1,
    catalog_version=1,
    update_cycle="每日",
    columns=(
        Column("id_no", "公民身份号码", "字符", 18, is_key=True, required=True, semantic="resident_id"),
        Column("person_name", "姓名", "字符", 50, required=True),
        Column("birth_date", "出生日期", "日期"),
        Column("address", "住址", "字符", 200),
    ),
)
HEADER = "id_no,person_name,birth_date,address"
DATA_COLUMNS = ["id_no", "person_name", "birth_date", "address"]


def staged(out: Path) -> list[dict[str, Any]]:
    table = pq.read_table(out)
    assert table.schema.names == ["_row", "_structure", *DATA_COLUMNS]
    assert table.schema.field("_row").type == pa.int64()
    for name in ["_structure", *DATA_COLUMNS]:
        assert table.schema.field(name).type == pa.string()
    return table.to_pylist()


def refused(tmp_path: Path, path: Path, field: str = "file", **kwargs: Any) -> str:
    """Stage `path`, expect a DomainError on `field` (the file, or its encoding), and check that
    nothing was written."""
    out = tmp_path / "out" / "staged.parquet"
    with pytest.raises(DomainError) as info:
        stage_file(path, SCHEMA, out, **kwargs)
    assert info.value.field == field
    assert not out.exists()
    assert not list(out.parent.glob("*")) if out.parent.exists() else True
    return info.value.message


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


# --- formats -----------------------------------------------------------------------------------


def test_detect_format() -> None:
    assert detect_format("人口.csv") == "csv"
    assert detect_format("DATA.TXT") == "csv"
    assert detect_format("a.xlsx") == "xlsx"
    assert detect_format("a.jsonl") == "jsonl"
    assert detect_format("a.ndjson") == "jsonl"
    with pytest.raises(DomainError) as info:
        detect_format("old.xls")
    assert info.value.field == "file"
    assert "不支持的文件类型“.xls”" in info.value.message and "另存为 .xlsx" in info.value.message
    with pytest.raises(DomainError):
        detect_format("noext")


# --- CSV ---------------------------------------------------------------------------------------

ROWS = [
    ("441402198001010011", "张三", "1980-01-01", "梅江区人民路1号"),
    ("441402199002020022", " 李四 ", "", "  "),
    ("441402200003030033", "王五", "2000-03-03", "梅县区, 新城"),
]


def csv_text(header: str = HEADER, rows: list[tuple[str, ...]] = ROWS, newline: str = "\r\n") -> str:
    lines = [header]
    for row in rows:
        lines.append(",".join(f'"{v}"' if "," in v or "\n" in v else v for v in row))
    return newline.join(lines) + newline


EXPECTED = [
    {"_row": 1, "_structure": None, "id_no": "441402198001010011", "person_name": "张三",
     "birth_date": "1980-01-01", "address": "梅江区人民路1号"},
    {"_row": 2, "_structure": None, "id_no": "441402199002020022", "person_name": "李四",
     "birth_date": None, "address": None},
    {"_row": 3, "_structure": None, "id_no": "441402200003030033", "person_name": "王五",
     "birth_date": "2000-03-03", "address": "梅县区, 新城"},
]  # fmt: skip


def test_csv_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", csv_text())
    out = tmp_path / "staged.parquet"
    calls: list[tuple[int, int]] = []
    result = stage_file(path, SCHEMA, out, progress=lambda done, total: calls.append((done, total)))
    assert staged(out) == EXPECTED
    assert result.rows == 3 and result.file_format == "csv" and result.encoding == "UTF-8"
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.notes == []
    assert calls[-1] == (path.stat().st_size, path.stat().st_size)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_csv_utf8_bom_and_chinese_header(tmp_path: Path) -> None:
    text = csv_text(header="公民身份号码,姓名,出生日期,住址")
    path = write(tmp_path, "p.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.encoding == "UTF-8（带 BOM）"
    assert staged(out) == EXPECTED


def test_csv_gbk(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", csv_text(header="公民身份号码,姓名,出生日期,住址"), encoding="gbk")
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.encoding == "GBK"
    assert "文件编码为 GBK，已自动识别并转换" in result.notes
    assert staged(out) == EXPECTED


def test_csv_gb18030_only_characters(tmp_path: Path) -> None:
    rows = [*ROWS, ("441402198001010044", "陈𠀀", "1980-01-01", "㐀村")]
    with pytest.raises(UnicodeEncodeError):
        "𠀀㐀".encode("gbk")
    path = write(tmp_path, "p.csv", csv_text(rows=rows), encoding="gb18030")
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.encoding == "GB18030"
    got = staged(out)
    assert got[:3] == EXPECTED
    assert got[3]["person_name"] == "陈𠀀" and got[3]["address"] == "㐀村"


@pytest.mark.parametrize("encoding", ["GBK", "GB18030"])
def test_transcoding_iconv_and_python_codecs_agree(tmp_path: Path, encoding: str) -> None:
    """The iconv(3) path and Python's codecs give the same UTF-8, across many 1 MB reads."""
    # 龴 is 0x82359037 in Python's GB18030 table, a sequence newer iconv tables refuse: Python's codec fills in.
    names = "张王李赵陈" + ("𠀀㐀龴" if encoding == "GB18030" else "")
    line = ",".join(f"{names[i % len(names)]}{i}号" for i in range(40)) + "\n"
    text = line * 12000
    path = write(tmp_path, "big.csv", text, encoding=encoding.lower())
    assert path.stat().st_size > 2 * readers.READ_BYTES
    outputs = []
    for use_iconv, background in ((True, False), (False, False), (True, True), (False, True)):
        stream = readers._SourceStream(path, encoding, use_iconv=use_iconv, background=background)
        if use_iconv and sys.platform == "linux":
            assert stream.iconv is not None  # glibc's iconv is there
        chunks = []
        while chunk := stream.read(65_536):
            chunks.append(chunk)
        stream.close()
        outputs.append(b"".join(chunks))
        assert stream.hasher.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3] == text.encode("utf-8")


@pytest.mark.parametrize("background", [False, True])
def test_transcoding_failure_offset_on_the_helper_thread(tmp_path: Path, background: bool) -> None:
    """A byte sequence GB18030 cannot decode, past the first MBs: the same offset is raised from
    read() whether the conversion runs on a helper thread or not, and close() stops the helper."""
    good = ("张王李赵陈,1号\n" * 200_000).encode("gb18030")
    path = tmp_path / "bad.csv"
    path.write_bytes(good + b"\x81\x20" + "后面\n".encode("gb18030"))
    assert len(good) > 2 * readers.READ_BYTES
    stream = readers._SourceStream(path, "GB18030", background=background)
    with pytest.raises(readers._DecodeFailure) as caught:
        while stream.read(65_536):
            pass
    stream.close()
    assert caught.value.offset == len(good)


def test_csv_reordered_header(tmp_path: Path) -> None:
    rows = [(r[3], r[1], r[0], r[2]) for r in ROWS]
    path = write(tmp_path, "p.csv", csv_text(header="住址,person_name,ID_NO,出生日期", rows=rows))
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.notes == ["列顺序与目录不同，已按列名对应"]
    assert staged(out) == EXPECTED


def test_csv_tab_separated_txt(tmp_path: Path) -> None:
    text = "\n".join("\t".join(r) for r in [tuple(HEADER.split(",")), *ROWS]) + "\n"
    path = write(tmp_path, "p.txt", text)
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert "文件以制表符分隔" in result.notes
    assert staged(out) == EXPECTED


def test_csv_quoted_newline_keeps_ordinals(tmp_path: Path) -> None:
    rows = [ROWS[0], ("441402199002020022", "李四", "1990-02-02", "第一行\n第二行"), ROWS[2]]
    path = write(tmp_path, "p.csv", csv_text(rows=rows, newline="\n"))
    out = tmp_path / "staged.parquet"
    got = staged(out) if stage_file(path, SCHEMA, out) else []
    assert [r["_row"] for r in got] == [1, 2, 3]
    assert got[1]["address"] == "第一行\n第二行"


def test_csv_ragged_rows_become_structure_rows(tmp_path: Path) -> None:
    text = (
        HEADER + "\n"
        "441402198001010011,张三,1980-01-01\n"  # 3 fields: row 1
        "441402199002020022,李四,1990-02-02,地址\n"  # good: row 2
        "441402200003030033,王五,2000-03-03,地址,多余,又多\n"  # 6 fields: row 3
        "441402200003030044,赵六,2000-03-03,地址\n"  # good: row 4
        "441402200003030055,孙七,2000-03-03,地址\n"  # good: row 5
        "only-one\n"  # 1 field: row 6 (the last line)
    )
    path = write(tmp_path, "p.csv", text)
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    got = staged(out)
    assert result.rows == 6
    assert [r["_row"] for r in got] == [1, 2, 3, 4, 5, 6]
    assert got[0] == {"_row": 1, "_structure": "本行有 3 个字段，表头有 4 列", **dict.fromkeys(DATA_COLUMNS)}
    assert got[2]["_structure"] == "本行有 6 个字段，表头有 4 列" and got[2]["id_no"] is None
    assert got[5]["_structure"] == "本行有 1 个字段，表头有 4 列"
    assert [r["id_no"] for r in got if r["_structure"] is None] == [
        "441402199002020022", "441402200003030044", "441402200003030055",
    ]  # fmt: skip


def test_csv_large_file_ordinals_across_blocks_and_row_groups(tmp_path: Path) -> None:
    """200k GBK rows (several read blocks and row groups) with ragged rows scattered through."""
    n = 200_000
    bad = {1, 7, 65_536, 65_537, 100_000, 131_072, 199_999, n}
    lines = [HEADER]
    for i in range(1, n + 1):
        if i in bad:
            lines.append(f"{i},坏行" if i % 2 else f"{i},坏行,1,2,3")
        else:
            lines.append(f"{i:018d},姓名{i},2000-01-01,梅州市梅江区{i}号")
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n", encoding="gbk")
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.rows == n and result.encoding == "GBK"
    table = pq.read_table(out)
    assert table.column("_row").to_pylist() == list(range(1, n + 1))
    structure = table.column("_structure").to_pylist()
    ids = table.column("id_no").to_pylist()
    assert {i + 1 for i, s in enumerate(structure) if s} == bad
    assert all(ids[i - 1] == f"{i:018d}" for i in range(1, n + 1) if i not in bad)
    assert all(ids[i - 1] is None for i in bad)
    assert pq.ParquetFile(out).metadata.num_row_groups > 1


def test_csv_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "birth_date,address\n2000-01-01,地址\n")
    assert refused(tmp_path, path) == "文件缺少列：公民身份号码(id_no)、姓名(person_name)"


def test_csv_extra_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", HEADER + ",电话,备注\n1,2,3,4,5,6\n")
    assert refused(tmp_path, path) == "文件有目录中没有的列：电话、备注"


def test_csv_duplicated_header(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", HEADER + ",姓名\n1,2,3,4,5\n")
    message = refused(tmp_path, path)
    assert message == "文件有重复的列：姓名(person_name)（第 2、5 列）"


def test_csv_unnamed_header_cell(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", HEADER + ",\n1,2,3,4,\n")
    assert refused(tmp_path, path) == "表头第 5 列没有列名"


@pytest.mark.parametrize("content", [b"", b"   \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    assert refused(tmp_path, write(tmp_path, "p.csv", content)) == "文件为空"


@pytest.mark.parametrize("content", [HEADER, HEADER + "\n", HEADER + "\r\n\r\n\r\n"])
def test_header_only(tmp_path: Path, content: str) -> None:
    assert refused(tmp_path, write(tmp_path, "p.csv", content)) == "文件只有表头，没有数据行"


def test_file_over_size_limit_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "wb") as fh:
        fh.truncate(2 * 1024**3)  # sparse: costs nothing on disk
    message = refused(tmp_path, path, max_bytes=1024 * 1024**2)
    assert message == "文件大小 2.0 GB，超过上限 1024 MB"


def test_utf16_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", csv_text(), encoding="utf-16")
    assert "UTF-16" in refused(tmp_path, path)


def test_binary_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", b"PK\x03\x04\x14\x00\x00\x00binary")
    message = refused(tmp_path, path)
    assert "第 1 行（第 6 个字节）含有空字节" in message and "不是 UTF-8、GBK 或 GB18030" in message


def test_undecodable_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", HEADER.encode() + b"\n1,\xff\xfe\xff,3,4\n")
    message = refused(tmp_path, path, field="encoding")
    assert message.startswith("文件编码可能不是 UTF-8/GBK：无法识别文件编码，第 2 行")
    assert "请在“文件编码”中选择文件的实际编码" in message
    assert "既不是 UTF-8，也不是 GBK 或 GB18030" in message


def test_gbk_decode_error_late_in_file_names_the_line(tmp_path: Path) -> None:
    good = csv_text(rows=ROWS * 30_000, newline="\n").encode("gbk")  # ~3 MB, beyond the sample
    assert len(good) > 2 * readers.SAMPLE_BYTES
    lines = good.count(b"\n")
    path = write(tmp_path, "p.csv", good + b"441402198001010011,\xff\xff,1980-01-01,x\n")
    message = refused(tmp_path, path)
    assert message.startswith(f"文件第 {lines + 1} 行（第 {len(good) + 20} 个字节）不是有效的 GBK 编码")


def test_utf8_then_gbk_late_in_file_names_the_line(tmp_path: Path) -> None:
    good = csv_text(rows=ROWS * 30_000, newline="\n").encode("utf-8")
    lines = good.count(b"\n")
    tail = "441402198001010011,张三,1980-01-01,x\n".encode("gbk")
    path = write(tmp_path, "p.csv", good + tail)
    message = refused(tmp_path, path)
    assert message.startswith(f"文件第 {lines + 1} 行（第 {len(good) + 20} 个字节）不是有效的 UTF-8 编码")


def test_gbk_file_with_a_gb18030_character_late_in_the_file(tmp_path: Path) -> None:
    rows = [*ROWS * 40_000, ("441402198001010044", "陈𠀀", "1980-01-01", "㐀村")]
    path = write(tmp_path, "p.csv", csv_text(rows=rows, newline="\n"), encoding="gb18030")
    assert path.stat().st_size > 2 * readers.SAMPLE_BYTES
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.encoding == "GBK"  # as far as the first MB shows
    last = staged(out)[-1]
    assert last["person_name"] == "陈𠀀" and last["address"] == "㐀村" and last["_row"] == len(rows)


def test_ascii_start_then_gbk_is_detected_as_gbk(tmp_path: Path) -> None:
    ascii_rows = [(f"{i:018d}", "Zhang", "2000-01-01", "Road") for i in range(60_000)]
    text = csv_text(rows=[*ascii_rows, ROWS[0]], newline="\n")
    path = write(tmp_path, "p.csv", text, encoding="gbk")
    assert path.stat().st_size > 2 * readers.SAMPLE_BYTES
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.encoding == "GBK"
    assert staged(out)[-1]["person_name"] == "张三"


def test_unclosed_quote(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", HEADER + '\n1,"张三,2000-01-01,x\n2,李四,2000-01-01,y\n')
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.rows == 1  # the rest of the file is one quoted field
    assert staged(out)[0]["_structure"] == "本行有 2 个字段，表头有 4 列（可能有未闭合的双引号）"


def test_unclosed_quote_in_large_file(tmp_path: Path) -> None:
    rows = "".join(f"{i},姓名,2000-01-01,地址\n" for i in range(300_000))
    path = write(tmp_path, "p.csv", HEADER + '\n1,"张三,2000-01-01,x\n' + rows)
    assert path.stat().st_size > 2 * readers.READ_BYTES
    message = refused(tmp_path, path)
    assert message.startswith("CSV 文件格式有误：可能有未闭合的双引号")


# --- XLSX --------------------------------------------------------------------------------------


def make_xlsx(path: Path, rows: list[list[Any]], *, sheets: tuple[str, ...] = ("数据",), merge: str = "",
              formats: dict[str, str] | None = None) -> Path:  # fmt: skip
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheets[0]
    for row in rows:
        ws.append(row)
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    if merge:
        ws.merge_cells(merge)
    for name in sheets[1:]:
        wb.create_sheet(name)
    wb.save(path)
    return path


def test_xlsx(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["公民身份号码", "姓名", "出生日期", "住址"],
        ["441402198001010011", " 张三 ", dt.datetime(1980, 1, 1), 12],
        ["441402199002020022", "李四", dt.date(1990, 2, 2), 3.5],
        [None, None, None, None],  # blank row: skipped, ordinals follow the sheet rows
        ["441402200003030033", True, dt.datetime(2000, 3, 3, 8, 30, 5), 7.0],
        ["441402200003030044", "赵六", dt.datetime(2000, 3, 4), 0.1],
    ]
    path = make_xlsx(tmp_path / "p.xlsx", rows, formats={"C2": "yyyy/m/d", "C6": "yyyy-mm-dd hh:mm:ss"})
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.file_format == "xlsx" and result.encoding == "" and result.rows == 4
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    got = staged(out)
    assert [r["_row"] for r in got] == [1, 2, 4, 5]
    assert got[0] == {"_row": 1, "_structure": None, "id_no": "441402198001010011", "person_name": "张三",
                      "birth_date": "1980-01-01", "address": "12"}  # fmt: skip
    assert got[1]["id_no"] == "441402199002020022" and got[1]["birth_date"] == "1990-02-02"
    assert got[1]["address"] == "3.5"
    assert got[2]["person_name"] == "true" and got[2]["birth_date"] == "2000-03-03 08:30:05"
    assert got[2]["address"] == "7"
    assert got[3]["birth_date"] == "2000-03-04 00:00:00" and got[3]["address"] == "0.1"


def test_xlsx_reordered_and_ragged(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["姓名", "公民身份号码", "住址", "出生日期"],
        ["张三", "441402198001010011", "地址", "1980-01-01"],
        ["李四", "441402199002020022", "地址", "1990-02-02", "多出来的"],
    ]
    path = make_xlsx(tmp_path / "p.xlsx", rows)
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.notes == ["列顺序与目录不同，已按列名对应"]
    got = staged(out)
    assert got[0]["id_no"] == "441402198001010011" and got[0]["person_name"] == "张三"
    assert got[1] == {"_row": 2, "_structure": "本行有 5 个字段，表头有 4 列", **dict.fromkeys(DATA_COLUMNS)}


def test_xlsx_several_sheets(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "p.xlsx", [HEADER.split(","), list("1234")], sheets=("人口", "说明", "Sheet3"))
    message = refused(tmp_path, path)
    assert message.startswith("工作簿有 3 个工作表（“人口”、“说明”、“Sheet3”），只能有一个")


def test_xlsx_merged_cells(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "p.xlsx", [HEADER.split(","), list("1234"), list("5678")], merge="A2:B3")
    assert refused(tmp_path, path).startswith("工作表“数据”有合并单元格（第一处是 A2:B3）")


def test_xlsx_not_a_workbook(tmp_path: Path) -> None:
    assert "文件不是有效的 XLSX 工作簿" in refused(tmp_path, write(tmp_path, "p.xlsx", csv_text()))
    with zipfile.ZipFile(tmp_path / "z.xlsx", "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    assert "文件不是有效的 XLSX 工作簿" in refused(tmp_path, tmp_path / "z.xlsx")


def test_xlsx_header_only_and_empty(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "p.xlsx", [HEADER.split(",")])
    assert refused(tmp_path, path) == "文件只有表头，没有数据行"
    path = make_xlsx(tmp_path / "e.xlsx", [])
    assert refused(tmp_path, path).startswith("文件为空")


def test_xlsx_missing_column(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "p.xlsx", [["公民身份号码", "姓名", "出生日期"], list("123")])
    assert refused(tmp_path, path) == "文件缺少列：住址(address)"


# --- JSON Lines --------------------------------------------------------------------------------


def jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def test_jsonl(tmp_path: Path) -> None:
    text = (
        '{"id_no": "441402198001010011", "person_name": " 张三 ", "birth_date": "1980-01-01", "address": 12}\n'
        "\n"
        '{"address": 1.0, "id_no": 441402199002020022, "person_name": "李四", "birth_date": null}\n'
        '{"公民身份号码": "441402200003030033", "姓名": true, "出生日期": "", "住址": 12.50}\n'
    )
    path = write(tmp_path, "p.jsonl", b"\xef\xbb\xbf" + text.encode("utf-8"))
    out = tmp_path / "staged.parquet"
    result = stage_file(path, SCHEMA, out)
    assert result.file_format == "jsonl" and result.encoding == "UTF-8（带 BOM）" and result.rows == 3
    assert result.notes == ["字段顺序与目录不同，已按字段名对应"]
    assert staged(out) == [
        {"_row": 1, "_structure": None, "id_no": "441402198001010011", "person_name": "张三",
         "birth_date": "1980-01-01", "address": "12"},
        {"_row": 2, "_structure": None, "id_no": "441402199002020022", "person_name": "李四",
         "birth_date": None, "address": "1"},
        {"_row": 3, "_structure": None, "id_no": "441402200003030033", "person_name": "true",
         "birth_date": None, "address": "12.5"},
    ]  # fmt: skip


def test_jsonl_array_refused(tmp_path: Path) -> None:
    records = [dict(zip(DATA_COLUMNS, r, strict=True)) for r in ROWS]
    message = refused(tmp_path, write(tmp_path, "p.jsonl", json.dumps(records, ensure_ascii=False)))
    assert message.startswith("文件不是 JSON Lines（每行一个 JSON 对象）")
    message = refused(tmp_path, write(tmp_path, "q.jsonl", json.dumps(records, ensure_ascii=False, indent=2)))
    assert message.startswith("文件不是 JSON Lines（每行一个 JSON 对象）：内容是一个 JSON 数组")


def test_jsonl_pretty_printed_object_refused(tmp_path: Path) -> None:
    record = dict(zip(DATA_COLUMNS, ROWS[0], strict=True))
    message = refused(tmp_path, write(tmp_path, "p.jsonl", json.dumps(record, ensure_ascii=False, indent=2)))
    assert message.startswith("文件不是 JSON Lines（每行一个 JSON 对象）：第 1 行不是一个完整的 JSON 对象")


def test_jsonl_bad_line_names_it(tmp_path: Path) -> None:
    records = [dict(zip(DATA_COLUMNS, r, strict=True)) for r in ROWS]
    text = jsonl(records[:2]) + '{"id_no": "1", "person_name": "x",}\n' + jsonl(records[2:])
    message = refused(tmp_path, write(tmp_path, "p.jsonl", text))
    assert message.startswith("第 3 行不是有效的 JSON")


def test_jsonl_nested_value_and_bad_keys(tmp_path: Path) -> None:
    records = [dict(zip(DATA_COLUMNS, r, strict=True)) for r in ROWS]
    nested = {**records[1], "address": {"city": "梅州"}}
    message = refused(tmp_path, write(tmp_path, "p.jsonl", jsonl([records[0], nested])))
    assert message == "第 2 行的 address（住址）不能是对象或数组"
    wrong = {"id_no": "1", "name": "x", "birth_date": "", "address": ""}
    message = refused(tmp_path, write(tmp_path, "q.jsonl", jsonl([records[0], wrong])))
    assert message == "第 2 行缺少字段：姓名(person_name)；第 2 行有目录中没有的字段：name（该记录的键：id_no、name、birth_date、address）"
    message = refused(tmp_path, write(tmp_path, "r.jsonl", jsonl(records) + "[1, 2]\n"))
    assert message.startswith("第 4 行不是 JSON 对象")


def test_jsonl_empty(tmp_path: Path) -> None:
    assert refused(tmp_path, write(tmp_path, "p.jsonl", "\n\n")) == "文件为空"


# --- pushed records ----------------------------------------------------------------------------


def test_records(tmp_path: Path) -> None:
    records = [
        {"id_no": "441402198001010011", "person_name": " 张三 ", "birth_date": "1980-01-01", "address": 12},
        {"住址": 2.50, "公民身份号码": "441402199002020022", "姓名": "李四", "出生日期": None},
    ]
    out = tmp_path / "staged.parquet"
    result = stage_records(records, SCHEMA, out)
    assert result.file_format == "records" and result.rows == 2 and result.sha256 == "" and result.encoding == ""
    got = staged(out)
    assert got[0]["person_name"] == "张三" and got[0]["address"] == "12"
    assert got[1] == {"_row": 2, "_structure": None, "id_no": "441402199002020022", "person_name": "李四",
                      "birth_date": None, "address": "2.5"}  # fmt: skip


def test_records_refused(tmp_path: Path) -> None:
    out = tmp_path / "staged.parquet"
    good = {"id_no": "1", "person_name": "x", "birth_date": "", "address": ""}
    cases = [
        ([good, {"id_no": "2", "person_name": "y", "birth_date": ""}],
         "第 2 条记录缺少字段：住址(address)（该记录的键：id_no、person_name、birth_date）"),
        ([good, good, {**good, "address": ["a"]}], "第 3 条记录的 address（住址）不能是对象或数组"),
        ([good, "oops"], "第 2 条记录不是 JSON 对象"),
        ([], "推送的记录为空"),
    ]  # fmt: skip
    for records, expected in cases:
        with pytest.raises(DomainError) as info:
            stage_records(records, SCHEMA, out)  # type: ignore[arg-type]
        assert info.value.message.startswith(expected), info.value.message
        assert info.value.field == "records"
        assert not out.exists()
        assert list(tmp_path.iterdir()) == []


# --- values ------------------------------------------------------------------------------------


def test_value_text() -> None:
    from zoneinfo import ZoneInfo

    assert value_text("  a ") == "a"
    assert value_text("　") is None  # ideographic space only
    assert value_text(None) is None
    assert value_text(True) == "true" and value_text(False) == "false"
    assert value_text(42) == "42"
    assert value_text(1.0) == "1" and value_text(2.5) == "2.5" and value_text(1e20) == "100000000000000000000"
    assert value_text(1e-7) == "0.0000001"
    assert value_text(Decimal("12.500")) == "12.5" and value_text(Decimal("1E+3")) == "1000"
    assert value_text(Decimal("-0.0")) == "0"
    assert value_text(dt.date(2024, 1, 2)) == "2024-01-02"
    assert value_text(dt.datetime(2024, 1, 2, 3, 4, 5, 678)) == "2024-01-02 03:04:05"
    utc = dt.datetime(2024, 1, 1, 16, 0, tzinfo=ZoneInfo("UTC"))
    assert value_text(utc) == "2024-01-02 00:00:00"  # in the platform's zone (Asia/Shanghai)
    assert value_text(dt.time(8, 30)) == "08:30:00"
    assert value_text(b"\x00\x01") == "AAE="
