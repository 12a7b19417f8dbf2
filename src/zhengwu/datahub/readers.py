"""Readers: turn an uploaded file or pushed records into a *staged Parquet file* of text columns.

The staged file is the contract between the readers and the engine. Its columns, in order:

  _row        int64   1-based ordinal of the record in the source (the first data row of a CSV/XLSX is 1)
  _structure  string  null when the record is structurally fine, else the Chinese reason; such a row
                      has every data column null and is quarantined by the engine
  <field>...  string  one per catalog column in schema order: the text as read, surrounding whitespace
                      stripped, empty text as null; numbers, dates and booleans as canonical text

Files are read in a stream (a 10-million-row CSV is never held in memory) and written with
`pyarrow.parquet.ParquetWriter` in row groups, to a temporary name renamed over `out` at the end:
bad input raises `DomainError(field="file")` with a Chinese message and leaves nothing behind.
The file's key-value metadata ``zhengwu.staged_counts`` holds the row count and the non-null cells
of each text column (`staged_counts`), so the quality report need not read every column again.

CSV: UTF-8 (with or without BOM), GBK and GB18030 are detected from a sample. GBK/GB18030 are
transcoded to UTF-8 with the C library's iconv(3) (through ctypes, which releases the GIL so the
conversion overlaps Arrow's parsing), falling back to Python's codecs where iconv lacks the codec or
refuses a character Python accepts. Arrow's streaming CSV reader parses the UTF-8 stream; rows with
the wrong number of fields are caught with their record numbers and staged as `_structure` rows.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import ctypes
import ctypes.util
import datetime as dt
import errno
import hashlib
import io
import json
import logging
import math
import os
import queue
import re
import threading
import uuid
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from zhengwu.core.errors import DomainError

from .constants import FILE_FORMATS
from .schema import ResourceSchema

_log = logging.getLogger(__name__)

ROW_COLUMN = "_row"
STRUCTURE_COLUMN = "_structure"

ENC_UTF8 = "UTF-8"
ENC_UTF8_BOM = "UTF-8（带 BOM）"
ENC_GBK = "GBK"
ENC_GB18030 = "GB18030"
ENC_BIG5 = "Big5"
# GB18030 decodes every GBK sequence exactly as GBK does (both in Python and in glibc's iconv), so a
# file detected as GBK from its first MB is read as GB18030: a rare character further on that only
# GB18030 encodes (𠀀, 㐀 …, common in names) is then read rather than refused.
_PY_CODECS = {ENC_UTF8: "utf-8", ENC_UTF8_BOM: "utf-8", ENC_GBK: "gb18030", ENC_GB18030: "gb18030", ENC_BIG5: "big5"}
# Encodings an uploader may choose instead of detection (the upload form's 文件编码).
CHOSEN_ENCODINGS = {"UTF-8": ENC_UTF8, "GBK": ENC_GBK, "GB18030": ENC_GB18030, "Big5": ENC_BIG5}
ENCODING_HINT = "请在“文件编码”中选择文件的实际编码（如繁体中文常用的 Big5）后重新上传，或将文件另存为 UTF-8 编码"

SAMPLE_BYTES = 1 << 20  # encoding detection looks at the first MB (further only if it is all ASCII)
READ_BYTES = 1 << 20  # the CSV stream reads the source a MB at a time
ROW_GROUP_ROWS = 65_536  # rows per Parquet row group
PROGRESS_BYTES = 4 << 20  # progress is reported every few MB
BUFFER_CHARS = 16 << 20  # a row buffer is written once its text reaches this many characters

_WHITESPACE = b" \t\r\n\x0b\x0c"
_BOM = codecs.BOM_UTF8
_NULL_TEXT = pa.scalar(None, pa.string())


@dataclass
class StageResult:
    rows: int  # records staged (including structurally bad ones)
    file_format: str  # "csv" | "xlsx" | "jsonl" | "records" | "database"
    encoding: str  # "UTF-8", "UTF-8（带 BOM）", "GBK", "GB18030" ("" when not a text file)
    sha256: str  # of the input bytes ("" for records/database)
    notes: list[str] = field(default_factory=list)  # Chinese notes for the batch report


Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def detect_format(file_name: str) -> str:
    """The file format by the name's suffix (.csv/.txt → csv, .xlsx, .jsonl/.ndjson → jsonl)."""
    suffix = Path(file_name).suffix.lower()
    fmt = FILE_FORMATS.get(suffix)
    if fmt is None:
        shown = f"“{suffix}”" if suffix else "（没有扩展名）"
        hint = "；旧版 Excel 文件（.xls）请另存为 .xlsx" if suffix == ".xls" else ""
        raise DomainError(
            f"不支持的文件类型{shown}：只接受 CSV（.csv/.txt）、Excel（.xlsx）和 JSON Lines（.jsonl/.ndjson）文件{hint}",
            "file",
        )
    return fmt


def stage_file(
    path: Path,
    schema: ResourceSchema,
    out: Path,
    *,
    file_format: str | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> StageResult:
    """Stage an uploaded file (CSV, XLSX or JSON Lines) as Parquet at `out`.

    `progress(bytes_done, bytes_total)` is called every few MB, from the calling thread.
    `encoding` (a CHOSEN_ENCODINGS key) reads a CSV/JSON Lines file in that encoding instead of
    detecting it."""
    path = Path(path)
    fmt = file_format or detect_format(path.name)
    if fmt not in set(FILE_FORMATS.values()):
        raise DomainError(f"不支持的文件格式“{fmt}”", "file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DomainError("无法读取上传的文件：文件不存在或没有读取权限", "file") from exc
    if max_bytes is not None and size > max_bytes:
        raise DomainError(f"文件大小 {_size_text(size)}，超过上限 {_limit_text(max_bytes)}", "file")
    if size == 0:
        raise DomainError("文件为空", "file")
    chosen: str | None = None
    if encoding:
        if encoding not in CHOSEN_ENCODINGS:
            raise DomainError(f"文件编码只能是 {'、'.join(CHOSEN_ENCODINGS)} 或自动识别，实为“{encoding}”", "encoding")
        chosen = CHOSEN_ENCODINGS[encoding]
    report = _ProgressReporter(progress, size)
    with _StageWriter(schema, Path(out)) as writer:
        if fmt == "csv":
            encoding, digest, notes = _stage_csv(path, size, schema, writer, report, chosen)
        elif fmt == "xlsx":
            encoding, digest, notes = "", _file_sha256(path), _stage_xlsx(path, size, schema, writer, report)
        else:
            encoding, digest, notes = _stage_jsonl(path, size, schema, writer, report, chosen)
        rows = writer.commit()
    report.done()
    return StageResult(rows=rows, file_format=fmt, encoding=encoding, sha256=digest, notes=notes)


def stage_records(records: list[dict[str, Any]], schema: ResourceSchema, out: Path) -> StageResult:
    """Stage a pushed batch (a list of JSON objects keyed by field name or item name)."""
    if not isinstance(records, list):
        raise DomainError("推送的数据必须是记录列表（JSON 数组，每个元素是一个 JSON 对象）", "records")
    if not records:
        raise DomainError("推送的记录为空", "records")
    mapper = _KeyMapper(schema, field_name="records")
    with _StageWriter(schema, Path(out)) as writer:
        buffer = _RowBuffer(writer, len(schema.columns))
        for index, record in enumerate(records, 1):
            where = f"第 {index} 条记录"
            if not isinstance(record, dict):
                raise DomainError(f'{where}不是 JSON 对象（应为 {{"字段名": 值, …}}）', "records")
            buffer.add(index, None, mapper.values(record, where))
        buffer.flush()
        rows = writer.commit()
    return StageResult(rows=rows, file_format="records", encoding="", sha256="", notes=mapper.notes())


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


STAGED_COUNTS_KEY = "zhengwu.staged_counts"


def staged_counts(path: Path) -> tuple[int, dict[str, int]] | None:
    """(rows, {column: non-null cells}) of a staged file, from the metadata `_StageWriter` writes
    (None for a file without it, e.g. one staged by other means, or a folder of part files): the
    quality report's filled counts without reading every column again."""
    try:
        metadata = pq.read_metadata(path)
        raw = (metadata.metadata or {}).get(STAGED_COUNTS_KEY.encode())
        if raw is None:
            return None
        counts = json.loads(raw)
        rows = int(counts["rows"])
        if rows != metadata.num_rows:
            return None
        return rows, {str(k): int(v) for k, v in counts["filled"].items()}
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None


def staged_arrow_schema(schema: ResourceSchema) -> pa.Schema:
    """The Arrow schema of a staged file for `schema`."""
    fields = [pa.field(ROW_COLUMN, pa.int64(), nullable=False), pa.field(STRUCTURE_COLUMN, pa.string())]
    fields += [pa.field(c.field_name, pa.string()) for c in schema.columns]
    return pa.schema(fields)


DICTIONARY_SAMPLE_ROWS = 4096  # rows of the first row group looked at to choose dictionary columns
DICTIONARY_MAX_SHARE = 0.05  # a column gets a dictionary when at most this share of its sampled values differ


def few_distinct_columns(table: pa.Table) -> list[str]:
    """The text columns of `table` whose first DICTIONARY_SAMPLE_ROWS filled cells hold few
    distinct values (at most DICTIONARY_MAX_SHARE of them, or one); empty columns are left out. A column
    that turns out more varied later costs nothing wrong: the writer falls back to plain pages when
    a row group's dictionary grows past its page limit."""
    sample = table.slice(0, DICTIONARY_SAMPLE_ROWS)
    chosen = []
    for name in sample.column_names:
        column = sample.column(name)
        if not pa.types.is_string(column.type):
            continue
        filled = len(column) - column.null_count
        if filled and pc.count_distinct(column).as_py() <= max(1.0, DICTIONARY_MAX_SHARE * filled):
            chosen.append(name)
    return chosen


class _StageWriter:
    """Writes staged record batches in row groups to a temporary file; `commit` renames it to
    `out`. Leaving the `with` block by an exception removes the temporary file."""

    def __init__(self, schema: ResourceSchema, out: Path):
        self.arrow_schema = staged_arrow_schema(schema)
        self.width = len(schema.columns)
        self.out = out
        self.tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.part")
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.rows = 0
        # non-null cells per text column (_structure and the fields), kept in the file's metadata
        self.filled = dict.fromkeys(self.arrow_schema.names[1:], 0)
        self.committed = False

    def __enter__(self) -> _StageWriter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.committed:
            if self.writer is not None:
                with contextlib.suppress(Exception):  # already failing; the temporary file goes anyway
                    self.writer.close()
            self.tmp.unlink(missing_ok=True)

    def _open(self, first: pa.Table | None = None) -> pq.ParquetWriter:
        if self.writer is None:
            # A staged file is read a few times, whole, soon after, from the page cache: statistics
            # and compression cost more to write (compression alone about as much as the Parquet
            # encoding) and to read back than they save the engine. Dictionary pages pay off for
            # the columns of few distinct values (codes, gender, types): the engine then checks
            # (UTF-8, code tables, lengths) each distinct value once instead of every cell — at 1M
            # people rows 1.4 CPU s less in finding the failing rows for 0.14 s more here. For values that are
            # mostly distinct (numbers, names, addresses) a dictionary only costs.
            self.writer = pq.ParquetWriter(
                self.tmp,
                self.arrow_schema,
                compression="none",
                write_statistics=False,
                use_dictionary=few_distinct_columns(first) if first is not None else False,
            )
        return self.writer

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        if data.num_rows == 0:
            return
        table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        for name in self.filled:
            column = table.column(name)
            self.filled[name] += len(column) - column.null_count
        self.pending.append(table)
        self.pending_rows += table.num_rows
        self.rows += table.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            table = pa.concat_tables(self.pending)
            self._open(table).write_table(table, row_group_size=max(ROW_GROUP_ROWS, table.num_rows))
            self.pending = []
            self.pending_rows = 0

    def commit(self) -> int:
        self.flush()
        writer = self._open()  # an empty staged file still has the schema
        writer.add_key_value_metadata({STAGED_COUNTS_KEY: json.dumps({"rows": self.rows, "filled": self.filled})})
        writer.close()
        os.replace(self.tmp, self.out)
        self.committed = True
        return self.rows


class _RowBuffer:
    """Collects rows of Python text values and writes them as record batches."""

    def __init__(self, writer: _StageWriter, width: int, batch_rows: int = 16_384):
        self.writer = writer
        self.width = width
        self.batch_rows = batch_rows
        self.ordinals: list[int] = []
        self.structure: list[str | None] = []
        self.columns: list[list[str | None]] = [[] for _ in range(width)]
        self.chars = 0

    def add(self, ordinal: int, structure: str | None, values: Sequence[str | None] | None) -> None:
        self.ordinals.append(ordinal)
        self.structure.append(structure)
        if values is None:
            for col in self.columns:
                col.append(None)
        else:
            for col, value in zip(self.columns, values, strict=True):
                col.append(value)
                if value is not None:
                    self.chars += len(value)
        # rows of long cells (up to 32,767 characters each) are written before they add up
        if len(self.ordinals) >= self.batch_rows or self.chars >= BUFFER_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self.ordinals:
            return
        arrays = [pa.array(self.ordinals, pa.int64()), pa.array(self.structure, pa.string())]
        arrays += [pa.array(col, pa.string()) for col in self.columns]
        self.writer.write(pa.RecordBatch.from_arrays(arrays, schema=self.writer.arrow_schema))
        self.ordinals = []
        self.structure = []
        self.columns = [[] for _ in range(self.width)]
        self.chars = 0


class _ProgressReporter:
    def __init__(self, callback: Progress | None, total: int):
        self.callback = callback
        self.total = total
        self.last = -PROGRESS_BYTES

    def update(self, done: int) -> None:
        if self.callback is not None and done - self.last >= PROGRESS_BYTES:
            self.last = done
            self.callback(min(done, self.total), self.total)

    def done(self) -> None:
        if self.callback is not None:
            self.callback(self.total, self.total)


# --------------------------------------------------------------------------------------------
# Header and key matching
# --------------------------------------------------------------------------------------------


def match_columns(
    names: Sequence[str],
    schema: ResourceSchema,
    *,
    what: str = "文件",
    unit: str = "列",
    field_name: str = "file",
    allow_extra: Iterable[str] = (),
) -> list[int]:
    """For each schema column, the index of the name (header cell, record key, result column)
    that names it — by field name in any case or by the item's Chinese name. Missing, extra,
    unnamed and duplicated names raise a DomainError naming them all. Names in `allow_extra`
    (compared case-insensitively) may be present without a column."""
    allowed = {a.strip().lower() for a in allow_extra if a}
    found: dict[str, list[int]] = {}
    extra: list[str] = []
    unnamed: list[int] = []
    for index, name in enumerate(names):
        text = str(name).strip().lstrip("\ufeff").strip()
        if not text:
            unnamed.append(index + 1)
            continue
        col = schema.find_column(text)
        if col is None:
            if text.lower() not in allowed:
                extra.append(text)
            continue
        found.setdefault(col.field_name, []).append(index)
    problems: list[str] = []
    if unnamed:
        problems.append(f"表头第 {'、'.join(map(str, unnamed))} 列没有列名")
    duplicated = [
        f"{schema.column(f).title}（第 {'、'.join(str(i + 1) for i in idx)} {unit}）"
        for f, idx in found.items()
        if len(idx) > 1
    ]
    if duplicated:
        problems.append(f"{what}有重复的{unit}：{'；'.join(duplicated)}")
    missing = [c.title for c in schema.columns if c.field_name not in found]
    if missing:
        problems.append(f"{what}缺少{unit}：{'、'.join(missing)}")
    if extra:
        problems.append(f"{what}有目录中没有的{unit}：{'、'.join(extra)}")
    if problems:
        raise DomainError("；".join(problems), field_name)
    return [found[c.field_name][0] for c in schema.columns]


def _order_note(mapping: Sequence[int], what: str = "列") -> list[str]:
    return [] if list(mapping) == sorted(mapping) else [f"{what}顺序与目录不同，已按列名对应"]


class _KeyMapper:
    """Maps the keys of JSON records to schema columns (cached per key set) and renders values."""

    def __init__(self, schema: ResourceSchema, field_name: str):
        self.schema = schema
        self.field_name = field_name
        self.cache: dict[tuple[str, ...], list[int]] = {}
        self.reordered = False

    def values(self, record: dict[str, Any], where: str) -> list[str | None]:
        keys = tuple(record)
        mapping = self.cache.get(keys)
        if mapping is None:
            try:
                mapping = match_columns(
                    [str(k) for k in keys], self.schema, what=where, unit="字段", field_name=self.field_name
                )
            except DomainError as exc:
                shown = "、".join(str(k) for k in keys) or "（无）"
                raise DomainError(f"{exc.message}（该记录的键：{shown}）", self.field_name) from exc
            self.reordered = self.reordered or mapping != sorted(mapping)
            self.cache[keys] = mapping
        items = list(record.values())
        out: list[str | None] = []
        for col, index in zip(self.schema.columns, mapping, strict=True):
            value = items[index]
            if isinstance(value, dict | list):
                raise DomainError(f"{where}的 {keys[index]}（{col.label}）不能是对象或数组", self.field_name)
            out.append(value_text(value))
        return out

    def notes(self) -> list[str]:
        return ["字段顺序与目录不同，已按字段名对应"] if self.reordered else []


# --------------------------------------------------------------------------------------------
# Canonical text of values (JSON, XLSX and database values)
# --------------------------------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """A number without exponent or trailing zeros: Decimal("1.50") → "1.5", Decimal("1E+2") → "100"."""
    if not value.is_finite():
        return str(value)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def float_text(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return decimal_text(Decimal(repr(value)))


def value_text(value: Any, *, as_datetime: bool | None = None) -> str | None:
    """The canonical text of a value: strings stripped (empty → None); ints as digits; floats and
    decimals without ".0" or exponent; dates YYYY-MM-DD; datetimes YYYY-MM-DD HH:MM:SS (aware ones in
    the platform's time zone); times HH:MM:SS; booleans true/false. `as_datetime` (for XLSX
    cells) says whether a datetime is really a date-and-time or only a date."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        return value.strip() or None
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return float_text(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_local_zone())
        if as_datetime is False:
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return float_text(float(value))
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii") or None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value).strip()
    return text or None


def _local_zone() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    from django.conf import settings

    return ZoneInfo(getattr(settings, "TIME_ZONE", None) or "Asia/Shanghai")


# --------------------------------------------------------------------------------------------
# Encoding detection and transcoding
# --------------------------------------------------------------------------------------------


def _decodes(data: bytes, codec: str, final: bool) -> UnicodeDecodeError | None:
    try:
        codecs.getincrementaldecoder(codec)().decode(data, final=final)
    except UnicodeDecodeError as exc:
        return exc
    return None


def _count_lines(path: Path, offset: int) -> int:
    """The 1-based line holding byte `offset` (newline bytes never occur inside a GBK/GB18030 or
    UTF-8 multi-byte character, so counting them is exact)."""
    lines = 1
    done = 0
    with open(path, "rb") as fh:
        while done < offset:
            chunk = fh.read(min(READ_BYTES * 8, offset - done))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            done += len(chunk)
    return lines


def detect_encoding(path: Path, size: int | None = None) -> str:
    """UTF-8 (with or without BOM) if the text decodes as UTF-8, else GBK, else GB18030; else a
    DomainError. Looks at the first MB, and when that is all ASCII, on to the first non-ASCII part.
    An empty or whitespace-only file is refused as 文件为空."""
    path = Path(path)
    size = path.stat().st_size if size is None else size
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
        bom = head.startswith(_BOM)
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise DomainError(
                "文件编码是 UTF-16，不支持：请另存为 UTF-8 或 GBK 编码的 CSV（Excel 中选择“CSV UTF-8（逗号分隔）”）",
                "file",
            )
        nul = head.find(b"\x00")
        if nul >= 0:
            line = head.count(b"\n", 0, nul) + 1
            raise DomainError(
                f"文件第 {line} 行（第 {nul + 1} 个字节）含有空字节，"
                "不是 UTF-8、GBK 或 GB18030 编码的文本文件（可能是 UTF-16 编码或二进制文件）",
                "file",
            )
        probe, probe_start = (head[3:], 3) if bom else (head, 0)
        at_end = len(head) >= size
        if probe.isascii():
            has_text = bool(probe.strip(_WHITESPACE))
            start = len(head)
            while not at_end:
                chunk = fh.read(SAMPLE_BYTES)
                if not chunk:
                    break
                if not chunk.isascii():
                    # An all-ASCII part ended right before, so `chunk` starts on a character.
                    probe, probe_start = chunk + fh.read(SAMPLE_BYTES), start
                    at_end = fh.tell() >= size
                    has_text = True
                    break
                has_text = has_text or bool(chunk.strip(_WHITESPACE))
                start += len(chunk)
            if not has_text:
                raise DomainError("文件为空", "file")
            if probe.isascii():
                return ENC_UTF8_BOM if bom else ENC_UTF8
    if _decodes(probe, "utf-8", at_end) is None:
        return ENC_UTF8_BOM if bom else ENC_UTF8
    if bom:
        err = _decodes(probe, "utf-8", at_end)
        offset = probe_start + (err.start if err else 0)
        raise DomainError(
            f"文件以 UTF-8 的 BOM 开头，但第 {_count_lines(path, offset)} 行（第 {offset + 1} 个字节）"
            "不是有效的 UTF-8 编码：请将整个文件另存为 UTF-8 或 GBK 编码",
            "file",
        )
    if _decodes(probe, "gbk", at_end) is None:
        return ENC_GBK
    err = _decodes(probe, "gb18030", at_end)
    if err is None:
        return ENC_GB18030
    offset = probe_start + err.start
    raise DomainError(
        f"文件编码可能不是 UTF-8/GBK：无法识别文件编码，第 {_count_lines(path, offset)} 行（第 {offset + 1} 个字节）起的内容"
        "既不是 UTF-8，也不是 GBK 或 GB18030 编码（可能是 Big5 等其他编码，或二进制文件）。" + ENCODING_HINT,
        "encoding",
    )


class _DecodeFailure(Exception):
    """A byte sequence of the source that its detected encoding cannot decode."""

    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


_SIZE_MAX = ctypes.c_size_t(-1).value


class _LibcIconv:
    """iconv(3) of the C library through ctypes, converting to UTF-8. The call releases the GIL."""

    _lib: Any = None
    _checked = False

    @classmethod
    def library(cls) -> Any:
        if not cls._checked:
            cls._checked = True
            try:
                lib = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
                lib.iconv_open.restype = ctypes.c_void_p
                lib.iconv_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
                lib.iconv.restype = ctypes.c_size_t
                lib.iconv.argtypes = [
                    ctypes.c_void_p,
                    ctypes.POINTER(ctypes.c_void_p),
                    ctypes.POINTER(ctypes.c_size_t),
                    ctypes.POINTER(ctypes.c_void_p),
                    ctypes.POINTER(ctypes.c_size_t),
                ]
                lib.iconv_close.argtypes = [ctypes.c_void_p]
                lib.iconv_close.restype = ctypes.c_int
                cls._lib = lib
            except (OSError, AttributeError):
                cls._lib = None
        return cls._lib

    @classmethod
    def open(cls, source: str) -> _LibcIconv | None:
        lib = cls.library()
        if lib is None:
            return None
        handle = lib.iconv_open(b"UTF-8", source.encode("ascii"))
        if handle is None or handle == _SIZE_MAX:
            return None
        return cls(lib, handle)

    def __init__(self, lib: Any, handle: int):
        self.lib = lib
        self.handle = handle
        self.out = ctypes.create_string_buffer(4 * READ_BYTES)

    def close(self) -> None:
        if self.handle:
            self.lib.iconv_close(self.handle)
            self.handle = 0

    def convert(self, data: bytes, start: int) -> tuple[bytes, int, str]:
        """Convert data[start:]; returns (utf-8 bytes, offset where it stopped, why it stopped:
        "" at the end, "illegal" at an invalid sequence, "incomplete" at a truncated character)."""
        base = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0
        pieces: list[bytes] = []
        pos = start
        while True:
            need = 2 * (len(data) - pos) + 16
            if ctypes.sizeof(self.out) < need:
                self.out = ctypes.create_string_buffer(need)
            in_ptr = ctypes.c_void_p(base + pos)
            in_left = ctypes.c_size_t(len(data) - pos)
            out_addr = ctypes.addressof(self.out)
            out_ptr = ctypes.c_void_p(out_addr)
            out_left = ctypes.c_size_t(ctypes.sizeof(self.out))
            rc = self.lib.iconv(
                self.handle,
                ctypes.byref(in_ptr),
                ctypes.byref(in_left),
                ctypes.byref(out_ptr),
                ctypes.byref(out_left),
            )
            err = ctypes.get_errno() if rc == _SIZE_MAX else 0
            produced = ctypes.sizeof(self.out) - out_left.value
            pieces.append(ctypes.string_at(out_addr, produced))
            pos = len(data) - in_left.value
            if rc != _SIZE_MAX:
                return b"".join(pieces), pos, ""
            if err == errno.E2BIG:
                continue
            return b"".join(pieces), pos, "incomplete" if err == errno.EINVAL else "illegal"


def _char_length(data: bytes, pos: int, codec: str) -> int:
    """Bytes of the GBK/GB18030 character starting at data[pos]."""
    if data[pos] < 0x80:
        return 1
    if codec == "gb18030" and pos + 1 < len(data) and 0x30 <= data[pos + 1] <= 0x39:
        return 4
    return 2


class _SourceStream:
    """A read-only file object giving the source as UTF-8 bytes, for Arrow's CSV reader.

    Counts and hashes the raw bytes read. For GBK/GB18030 it transcodes with iconv(3) (or Python's
    codec) — with `background` on a helper thread of its own, a few MB ahead of the parser, as
    transcoding costs about as much as parsing; a byte sequence the encoding cannot decode raises
    _DecodeFailure with its offset (from read(), as without the thread)."""

    def __init__(self, path: Path, encoding: str, *, use_iconv: bool = True, background: bool = False):
        self.fh: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.codec = _PY_CODECS[encoding]
        self.transcode = self.codec != "utf-8"
        self.iconv = _LibcIconv.open(self.codec.upper()) if (self.transcode and use_iconv) else None
        self.hasher = hashlib.sha256()
        self.bytes_read = 0
        self.eof = False
        self.closed = False
        self.carry = b""
        self.buffer = bytearray()  # converted text not yet read (only the converting thread's)
        self.background = background and self.transcode
        self.chunks: Generator[bytes, None, None] | None = None  # converted pieces from the helper thread
        self.ready = bytearray()  # converted text taken from the helper thread, not yet read
        self.finished = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.chunks is not None:
                self.chunks.close()  # stops the helper thread before its file and converter go
            self.fh.close()
            if self.iconv is not None:
                self.iconv.close()

    def _raw(self, size: int) -> bytes:
        chunk = self.fh.read(size)
        if chunk:
            self.hasher.update(chunk)
            self.bytes_read += len(chunk)
        else:
            self.eof = True
        return chunk

    def read(self, size: int = -1) -> bytes:
        if not self.transcode:
            if size is None or size < 0:
                parts = []
                while chunk := self._raw(READ_BYTES):
                    parts.append(chunk)
                return b"".join(parts)
            return self._raw(size)
        if self.background:
            return self._read_converted(size)
        want = READ_BYTES if size is None or size < 0 else size
        while len(self.buffer) < want and not self.eof:
            self._fill()
        if size is None or size < 0:
            while not self.eof:
                self._fill()
            want = len(self.buffer)
        out = bytes(self.buffer[:want])
        del self.buffer[:want]
        return out

    def _converted(self) -> Iterator[bytes]:
        """The source as UTF-8, a piece per MB read (runs on the helper thread)."""
        while not self.eof:
            self._fill()
            if self.buffer:
                piece = bytes(self.buffer)
                self.buffer.clear()
                yield piece

    def _read_converted(self, size: int) -> bytes:
        if self.chunks is None:
            self.chunks = _in_background(self._converted(), depth=4)
        want = size if size is not None and size >= 0 else -1
        while (want < 0 or len(self.ready) < want) and not self.finished:
            try:
                self.ready += next(self.chunks)
            except StopIteration:
                self.finished = True
        if want < 0:
            want = len(self.ready)
        out = bytes(self.ready[:want])
        del self.ready[:want]
        return out

    def drain(self) -> None:
        """Read (and hash) whatever is left of the source."""
        if self.chunks is not None:
            while not self.finished:
                self._read_converted(READ_BYTES)
            return
        while not self.eof:
            self._raw(READ_BYTES)

    def _fill(self) -> None:
        chunk = self._raw(READ_BYTES)
        base = self.bytes_read - len(chunk) - len(self.carry)  # source offset of data[0]
        data = self.carry + chunk
        self.carry = b""
        final = not chunk
        pos = 0
        while pos < len(data):
            text, pos, why = self._convert(data, pos)
            self.buffer += text
            if not why:
                break
            if why == "incomplete" and not final:
                self.carry = data[pos:]
                break
            # An invalid (or, at the end of the file, truncated) sequence for this converter:
            # Python's codec may still know the character (GB18030 mappings differ a little).
            length = min(_char_length(data, pos, self.codec), len(data) - pos)
            piece = data[pos : pos + length]
            try:
                self.buffer += piece.decode(self.codec).encode("utf-8")
            except UnicodeDecodeError:
                raise _DecodeFailure(base + pos) from None
            pos += length

    def _convert(self, data: bytes, pos: int) -> tuple[bytes, int, str]:
        if self.iconv is not None:
            return self.iconv.convert(data, pos)
        try:
            return data[pos:].decode(self.codec).encode("utf-8"), len(data), ""
        except UnicodeDecodeError as exc:
            good = data[pos : pos + exc.start].decode(self.codec).encode("utf-8")
            why = "incomplete" if "incomplete" in str(exc.reason) else "illegal"
            return good, pos + exc.start, why


def _first_utf8_error(path: Path) -> int | None:
    """Offset of the first byte that is not valid UTF-8 (None if the whole file is valid)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    done = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(READ_BYTES * 4)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0]) if not final else 0
                return max(0, done - pending + exc.start)
            if final:
                return None
            done += len(chunk)


def _encoding_error(path: Path, encoding: str, offset: int) -> DomainError:
    line = _count_lines(path, offset)
    return DomainError(
        f"文件第 {line} 行（第 {offset + 1} 个字节）不是有效的 {encoding.split('（')[0]} 编码："
        f"文件开头按 {encoding} 读取，这里出现了无法按该编码识别的内容（可能混用了几种编码，或文件已损坏），"
        "请将整个文件另存为 UTF-8 或 GBK 编码",
        "file",
    )


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------

_DELIMITERS = {",": "", "\t": "制表符", "|": "竖线（|）", ";": "分号（;）"}


def _read_header(path: Path, encoding: str) -> tuple[list[str], str]:
    """The header cells (first non-blank record) and the delimiter."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    text = codecs.getincrementaldecoder(_PY_CODECS[encoding])(errors="replace").decode(head, final=False)
    text = text.lstrip("\ufeff")
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = ","
    if "," not in first_line:
        counts = {d: first_line.count(d) for d in _DELIMITERS if d != ","}
        best = max(counts, key=lambda d: counts[d])
        if counts[best] > 0:
            delimiter = best
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        if any(cell.strip() for cell in row):
            return row, delimiter
    raise DomainError("文件为空", "file")


# Characters a header written by people is made of: ASCII, and the common Chinese characters and
# punctuation (GB 2312 hanzi rows, CJK punctuation and full-width brackets). Text decoded in the
# wrong encoding turns into the replacement character, kana, symbols, private-use and rare hanzi.
_HEADER_PUNCTUATION = set("（）【】《》、，。：；·—…“”‘’／－＿　")


def _plausible_char(c: str) -> bool:
    if c.isascii() or c in _HEADER_PUNCTUATION:
        return True
    if c == "\ufffd" or not ("\u4e00" <= c <= "\u9fff"):
        return False
    try:
        return c.encode("gb2312")[0] >= 0xB0  # GB 2312 rows 16–87: the 6,763 common hanzi
    except UnicodeEncodeError:
        return False


def looks_garbled(names: Sequence[str]) -> bool:
    """Whether header cells look like text decoded in the wrong encoding (mojibake): any
    replacement character, or at least a third of their non-ASCII characters implausible."""
    text = "".join(str(n) for n in names)
    if "\ufffd" in text:
        return True
    wide = [c for c in text if not c.isascii()]
    if not wide:
        return False
    rare = sum(1 for c in wide if not _plausible_char(c))
    return rare * 3 >= len(wide)


def _header_codec_guess(path: Path, schema: ResourceSchema, tried: str) -> str:
    """Another encoding under which the header names the catalog's items ("" if none does)."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    for name, encoding in CHOSEN_ENCODINGS.items():
        if _PY_CODECS[encoding] == _PY_CODECS.get(tried):
            continue
        try:
            text = codecs.getincrementaldecoder(_PY_CODECS[encoding])().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        first = next((ln for ln in text.lstrip("\ufeff").splitlines() if ln.strip()), "")
        cells = next(csv.reader([first], delimiter="," if "," in first else "\t"), [])
        if cells and any(schema.find_column(c.strip()) is not None for c in cells):
            return name
    return ""


def _garbled_header_error(path: Path, schema: ResourceSchema, encoding: str, chosen: bool) -> DomainError:
    how = "按您选择的" if chosen else "按自动识别的"
    guess = _header_codec_guess(path, schema, encoding)
    hint = f"按 {guess} 读取时表头与目录相符，请在“文件编码”中选择 {guess} 后重新上传" if guess else ENCODING_HINT
    return DomainError(
        f"文件编码可能不是 UTF-8/GBK：{how} {encoding.split('（')[0]} 编码读取时表头是乱码，与目录的信息项都对不上。{hint}",
        "encoding",
    )


def _stage_csv(
    path: Path,
    size: int,
    schema: ResourceSchema,
    writer: _StageWriter,
    report: _ProgressReporter,
    chosen: str | None = None,
) -> tuple[str, str, list[str]]:
    encoding = chosen or detect_encoding(path, size)
    header, delimiter = _read_header(path, encoding)
    try:
        mapping = match_columns(header, schema)
    except DomainError:
        unmatched = [h for h in header if h.strip() and schema.find_column(h.strip().lstrip("\ufeff")) is None]
        if looks_garbled(unmatched):
            raise _garbled_header_error(path, schema, encoding, chosen is not None) from None
        raise
    notes = _order_note(mapping)
    if chosen:
        notes.append(f"按上传时选择的 {chosen} 编码读取")
    elif encoding in (ENC_GBK, ENC_GB18030):
        notes.append(f"文件编码为 {encoding}，已自动识别并转换")
    if delimiter != ",":
        notes.append(f"文件以{_DELIMITERS[delimiter]}分隔")
    width = len(header)
    names = [f"c{i}" for i in range(width)]

    bad: list[tuple[int, str]] = []  # (ordinal, reason) of ragged records, ascending

    def on_invalid(row: Any) -> str:
        number = row.number
        if number is None or number < 0:  # only the threaded reader leaves it unknown
            raise RuntimeError("CSV 行号未知")
        reason = f"本行有 {row.actual_columns} 个字段，表头有 {width} 列"
        if '"' in (row.text or "") and "\n" in (row.text or ""):
            reason += "（可能有未闭合的双引号）"
        bad.append((int(number) - 1, reason))
        return "skip"

    stream = _SourceStream(path, encoding, background=PIPELINE)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=READ_BYTES, column_names=names),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        staged = _stage_csv_batches(reader, mapping, width, bad, writer, stream, report)
        stream.drain()
    except _DecodeFailure as exc:
        raise _encoding_error(path, encoding, exc.offset) from None
    except pa.ArrowInvalid as exc:
        message = str(exc)
        _log.info("CSV %s: Arrow refused it: %s", path, message)
        if "UTF8" in message or "UTF-8" in message:
            offset = _first_utf8_error(path)
            if offset is not None:
                raise _encoding_error(path, encoding, offset) from None
        raise DomainError(_csv_error_text(message), "file") from None
    finally:
        stream.close()
    if staged == 0:
        raise DomainError("文件只有表头，没有数据行", "file")
    return encoding, stream.hasher.hexdigest(), notes


def _csv_error_text(message: str) -> str:
    """A Chinese reason for an error of Arrow's CSV parser (its English text goes to the log)."""
    detail = message.split("\n")[0]
    if "straddling" in detail or "block" in detail:
        return "CSV 文件格式有误：可能有未闭合的双引号，使一条记录跨越了大段内容；请检查引号是否成对"
    if "column" in detail.lower():
        return "CSV 文件格式有误：某一行的字段数与表头不符且无法逐行分开；请检查分隔符和引号"
    return "CSV 文件格式有误，无法解析：请检查分隔符、引号和换行，或另存为 UTF-8 编码的 CSV 后重新上传"


def _clean_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strip surrounding whitespace; empty text becomes null."""
    trimmed = pc.utf8_trim_whitespace(column)
    return pa.chunked_array([_null_if_empty(chunk) for chunk in trimmed.chunks], pa.string())


def _null_if_empty(trimmed: pa.Array) -> pa.Array:
    if trimmed.offset != 0 or trimmed.null_count:
        trimmed = pc.if_else(pc.equal(trimmed, ""), _NULL_TEXT, trimmed)
        return trimmed
    offsets = np.frombuffer(trimmed.buffers()[1], dtype=np.int32, count=len(trimmed) + 1)
    present = np.diff(offsets) != 0
    if present.all():
        return trimmed
    validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), len(trimmed), [validity, trimmed.buffers()[1], trimmed.buffers()[2]]
    )


def _stage_csv_batches(
    reader: Any,
    mapping: list[int],
    width: int,
    bad: list[tuple[int, str]],
    writer: _StageWriter,
    stream: _SourceStream,
    report: _ProgressReporter,
) -> int:
    """Write the reader's batches (row 0 of the first is the header) as staged batches, with
    ordinals that skip the ragged records, which are staged as _structure rows in their place."""
    schema = writer.arrow_schema
    data_width = len(mapping)
    next_ordinal = 1
    bad_pos = 0
    first = True
    total = 0
    good: list[pa.RecordBatch] = []  # good rows not yet written, with their ordinals in column 0
    good_rows = 0
    ragged: list[tuple[int, str]] = []  # ragged records not yet written (ordinal, reason)

    def emit() -> None:
        out: pa.Table | None = None
        if good:
            table = pa.Table.from_batches(good)
            columns = [table.column(0), pa.chunked_array([pa.nulls(table.num_rows, pa.string())])]
            columns += [_clean_text(table.column(1 + j)) for j in mapping]
            out = pa.Table.from_arrays(columns, schema=schema)
        if ragged:
            bad_arrays = [
                pa.array([r[0] for r in ragged], pa.int64()),
                pa.array([r[1] for r in ragged], pa.string()),
                *([pa.nulls(len(ragged), pa.string())] * data_width),
            ]
            bad_table = pa.Table.from_arrays(bad_arrays, schema=schema)
            if out is None:
                out = bad_table
            else:  # keep the file's order
                both = pa.concat_tables([out, bad_table])
                order = np.argsort(both.column(0).to_numpy(), kind="stable")
                out = both.take(pa.array(order))
        if out is not None:
            writer.write(out)
        good.clear()
        ragged.clear()

    batches = _in_background(reader) if PIPELINE else iter(reader)
    with contextlib.closing(batches):
        for batch in batches:
            if first:
                first = False
                if bad and bad[0][0] < 1:
                    raise DomainError("无法解析表头：表头一行的格式有误", "file")
                batch = batch.slice(1)
            n = batch.num_rows
            segments: list[tuple[int, int]] = []  # (first ordinal, count) of this batch's good rows
            cur = next_ordinal
            remaining = n
            while remaining > 0:
                if bad_pos < len(bad) and bad[bad_pos][0] <= cur:
                    ragged.append(bad[bad_pos])
                    cur = max(cur, bad[bad_pos][0] + 1)
                    bad_pos += 1
                    continue
                limit = bad[bad_pos][0] if bad_pos < len(bad) else cur + remaining
                take = min(remaining, limit - cur)
                segments.append((cur, take))
                cur += take
                remaining -= take
            next_ordinal = cur
            if n:
                if len(segments) == 1:
                    ordinals = np.arange(cur - n, cur, dtype=np.int64)
                else:
                    ordinals = np.concatenate([np.arange(s, s + c, dtype=np.int64) for s, c in segments])
                good.append(
                    pa.RecordBatch.from_arrays(
                        [pa.array(ordinals), *batch.columns], names=["_row", *batch.schema.names]
                    )
                )
                good_rows += n
            if good_rows >= ROW_GROUP_ROWS:
                total += good_rows + len(ragged)
                emit()
                good_rows = 0
            report.update(stream.bytes_read)
    ragged.extend(bad[bad_pos:])
    total += good_rows + len(ragged)
    emit()
    return total


PIPELINE = True  # parse (and transcode) on a second thread while this one cleans and writes


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


_END = object()


def _in_background(source: Iterable[Any], depth: int = 3) -> Generator[Any, None, None]:
    """Iterate `source` on a helper thread, a few items ahead. Arrow's parser and iconv release
    the GIL, as do the compute and Parquet calls of the consumer, so the two overlap on two cores.
    An exception of the source is raised here; leaving the loop early stops the helper."""
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:
            put(_Failed(exc))

    worker = threading.Thread(target=run, name="zhengwu-csv-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------

_MERGE_RE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]+[0-9]+(?::[A-Za-z]+[0-9]+)?)\""
)
_TIME_TOKENS = re.compile(r"[hHsS]")
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


def _not_workbook(reason: str = "") -> DomainError:
    detail = f"（{reason}）" if reason else ""
    return DomainError(
        f"文件不是有效的 XLSX 工作簿{detail}：请用 Excel 或 WPS 打开后另存为 .xlsx（旧版 .xls 需另存为 .xlsx）",
        "file",
    )


def _first_merged_range(archive: zipfile.ZipFile) -> str | None:
    """The first merged range of any worksheet, found by streaming its XML for <mergeCell>."""
    for name in archive.namelist():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        tail = b""
        with archive.open(name) as part:
            while chunk := part.read(READ_BYTES):
                data = tail + chunk
                match = _MERGE_RE.search(data)
                if match:
                    return match.group(1).decode("ascii").upper()
                tail = data[-1024:]
    return None


# --- XLSX bombs: inspect the archive before expanding it ---------------------------------------

XLSX_MAX_CELL_CHARS = 32_767  # Excel's own limit for the text of one cell
XLSX_MAX_SHARED_STRINGS_BYTES = 256 << 20  # sharedStrings.xml is held in memory by the reader
XLSX_MAX_OTHER_PART_BYTES = 64 << 20  # styles, workbook, relationships …: parsed whole
XLSX_RATIO_FLOOR_BYTES = 1 << 20  # parts smaller than this are not judged by their ratio


def _xlsx_limits() -> tuple[int, int, int]:
    from django.conf import settings

    return (
        int(settings.INGEST_XLSX_MAX_UNCOMPRESSED_MB) << 20,
        int(settings.INGEST_XLSX_MAX_RATIO),
        int(settings.INGEST_XLSX_MAX_ROWS),
    )


def _bomb(reason: str) -> DomainError:
    return DomainError(f"XLSX 文件被拒绝：{reason}；文件未被展开，什么都没有改变", "file")


def inspect_xlsx(archive: zipfile.ZipFile) -> None:
    """Refuse an XLSX that would expand beyond the limits, before anything is expanded.

    1. From the zip directory (`infolist`): the total uncompressed size of all parts
       (ZHENGWU_INGEST_XLSX_MAX_UNCOMPRESSED_MB), each part's compression ratio
       (ZHENGWU_INGEST_XLSX_MAX_RATIO, parts over 1 MB), and the parts read whole (shared strings
       256 MB, styles and the rest 64 MB). `zipfile` never yields more than a part's declared size.
    2. Streaming the shared strings and the worksheets through expat a MB at a time, counting
       only: no cell (or shared string) longer than 32,767 characters, no more rows than
       ZHENGWU_INGEST_XLSX_MAX_ROWS, no DTD (entity expansion), and the text the sheet expands
       to through shared-string references no larger than the uncompressed limit.
    """
    total_cap, ratio_cap, rows_cap = _xlsx_limits()
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    if total > total_cap:
        raise _bomb(
            f"解压后共 {_size_text(total)}，超过上限 {_limit_text(total_cap)}（ZHENGWU_INGEST_XLSX_MAX_UNCOMPRESSED_MB）；"
            "请拆分后分批上传，或另存为 CSV"
        )
    for info in infos:
        if info.file_size > XLSX_RATIO_FLOOR_BYTES and info.file_size > ratio_cap * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise _bomb(
                f"其中 {info.filename} 的压缩比为 {ratio}:1（{_size_text(info.compress_size)} 解压为 {_size_text(info.file_size)}），"
                f"超过上限 {ratio_cap}:1（ZHENGWU_INGEST_XLSX_MAX_RATIO），是压缩炸弹的特征"
            )
        name = info.filename
        if name.startswith("xl/worksheets/"):
            continue
        cap = XLSX_MAX_SHARED_STRINGS_BYTES if name == "xl/sharedStrings.xml" else XLSX_MAX_OTHER_PART_BYTES
        if info.file_size > cap:
            raise _bomb(f"其中 {name} 解压后为 {_size_text(info.file_size)}，超过该部分的上限 {_limit_text(cap)}")
    lengths: Sequence[int] = ()
    names = set(archive.namelist())
    if "xl/sharedStrings.xml" in names:
        lengths = _scan_xml(archive, "xl/sharedStrings.xml", shared=True, rows_cap=rows_cap, expand_cap=total_cap)[0]
    for name in sorted(names):
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            _scan_xml(archive, name, shared=False, rows_cap=rows_cap, expand_cap=total_cap, lengths=lengths)


def _scan_xml(
    archive: zipfile.ZipFile, name: str, *, shared: bool, rows_cap: int, expand_cap: int, lengths: Sequence[int] | None = None,
) -> tuple[Sequence[int], int]:
    """Stream one part through expat counting characters (nothing is kept but the length of each
    shared string). Returns (shared-string lengths, rows)."""
    from array import array
    from xml.parsers import expat

    found = array("L")
    state: dict[str, Any] = {"depth_item": 0, "chars": 0, "rows": 0, "cell": "", "in_v": False, "v": "", "type": "", "expanded": 0}
    item_tag = "si" if shared else "c"

    def local(tag: str) -> str:
        return tag.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]

    def start(tag: str, attrs: dict[str, str]) -> None:
        tag = local(tag)
        if tag == item_tag:
            state["depth_item"] = 1
            state["chars"] = 0
            state["cell"] = attrs.get("r", "")
            state["type"] = attrs.get("t", "")
        elif tag == "row" and not shared:
            state["rows"] += 1
            if state["rows"] > rows_cap:
                raise _bomb(f"工作表超过 {rows_cap:,} 行（ZHENGWU_INGEST_XLSX_MAX_ROWS）；请拆分后分批上传")
        elif tag == "v" and not shared and state["type"] == "s":
            state["in_v"] = True
            state["v"] = ""

    def end(tag: str) -> None:
        tag = local(tag)
        if tag == item_tag:
            state["depth_item"] = 0
            if shared:
                found.append(min(state["chars"], XLSX_MAX_CELL_CHARS))
        elif tag == "v" and state["in_v"]:
            state["in_v"] = False
            text = str(state["v"]).strip()
            if lengths is not None and text.isascii() and text.isdigit() and int(text) < len(lengths):
                state["expanded"] += lengths[int(text)]
                if state["expanded"] > expand_cap:
                    raise _bomb(
                        f"工作表通过共享字符串展开后的文字超过 {_limit_text(expand_cap)}（ZHENGWU_INGEST_XLSX_MAX_UNCOMPRESSED_MB）"
                    )

    def text(data: str) -> None:
        if state["in_v"]:
            state["v"] = (str(state["v"]) + data)[:32]
        if state["depth_item"]:
            state["chars"] += len(data)
            if state["chars"] > XLSX_MAX_CELL_CHARS:
                where = f"单元格 {state['cell']}" if state["cell"] else (f"第 {len(found) + 1} 个共享字符串" if shared else "某个单元格")
                raise _bomb(f"{where}的内容超过 {XLSX_MAX_CELL_CHARS:,} 个字符（Excel 单元格的上限）")

    def doctype(*args: Any) -> None:
        raise _bomb(f"{name} 含有文档类型声明（DTD），正常的 Excel 文件没有，可能用于实体展开攻击")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        with archive.open(name) as part:
            while chunk := part.read(READ_BYTES):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError:
        raise _not_workbook(f"{name} 不是完整的 XML") from None
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError):
        raise _not_workbook(f"{name} 无法解压") from None
    return found, int(state["rows"])


def _cell_text(cell: Any) -> str | None:
    value = cell.value
    if isinstance(value, dt.datetime):
        fmt = _FORMAT_LITERALS.sub("", getattr(cell, "number_format", "") or "")
        as_datetime = bool(_TIME_TOKENS.search(fmt)) or value.time() != dt.time(0)
        return value_text(value, as_datetime=as_datetime)
    return value_text(value)


def _stage_xlsx(
    path: Path, size: int, schema: ResourceSchema, writer: _StageWriter, report: _ProgressReporter
) -> list[str]:
    from openpyxl import load_workbook

    with open(path, "rb") as fh:
        try:
            archive = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError):
            raise _not_workbook("不是 ZIP 格式的 Office 文件") from None
        with archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise _not_workbook("缺少工作簿内容")
            inspect_xlsx(archive)  # before anything is expanded: refuses bombs in Chinese
            try:
                workbook = load_workbook(fh, read_only=True, data_only=True)
            except Exception:
                _log.warning("openpyxl could not open %s", path, exc_info=True)
                raise _not_workbook("工作簿的内容无法解析") from None
            try:
                sheets = workbook.sheetnames
                if len(sheets) != 1:
                    shown = "、".join(f"“{s}”" for s in sheets)
                    raise DomainError(
                        f"工作簿有 {len(sheets)} 个工作表（{shown}），只能有一个：请把要上传的数据放在一个工作表中，删除其他工作表",
                        "file",
                    )
                merged = _first_merged_range(archive)
                if merged:
                    raise DomainError(
                        f"工作表“{sheets[0]}”有合并单元格（第一处是 {merged}），请取消合并、每个单元格填写完整后再上传",
                        "file",
                    )
                sheet = workbook.worksheets[0]
                if hasattr(sheet, "reset_dimensions"):
                    sheet.reset_dimensions()  # some writers record a wrong size; read every row
                return _stage_sheet_rows(sheet.iter_rows(), schema, writer, report, fh, size)
            finally:
                workbook.close()


def _stage_sheet_rows(
    rows: Iterator[tuple[Any, ...]],
    schema: ResourceSchema,
    writer: _StageWriter,
    report: _ProgressReporter,
    fh: IO[bytes],
    size: int,
) -> list[str]:
    header: list[str] | None = None
    header_index = 0
    mapping: list[int] = []
    buffer = _RowBuffer(writer, len(schema.columns))
    staged = 0
    index = 0
    for cells in rows:
        index = next((c.row for c in cells if getattr(c, "row", None)), index + 1)  # the sheet's row number
        texts = [_cell_text(c) for c in cells]
        while texts and texts[-1] is None:
            texts.pop()
        if header is None:
            if not texts:
                continue
            header = [t or "" for t in texts]
            header_index = index
            mapping = match_columns(header, schema)
            continue
        if not texts:
            continue
        ordinal = index - header_index
        if len(texts) > len(header):
            buffer.add(ordinal, f"本行有 {len(texts)} 个字段，表头有 {len(header)} 列", None)
        else:
            buffer.add(ordinal, None, [texts[j] if j < len(texts) else None for j in mapping])
        staged += 1
        if staged % 10_000 == 0:
            report.update(fh.tell())
    buffer.flush()
    if header is None:
        raise DomainError("文件为空：工作表中没有内容", "file")
    if staged == 0:
        raise DomainError("文件只有表头，没有数据行", "file")
    return _order_note(mapping)


# --------------------------------------------------------------------------------------------
# JSON Lines
# --------------------------------------------------------------------------------------------


def _stage_jsonl(
    path: Path, size: int, schema: ResourceSchema, writer: _StageWriter, report: _ProgressReporter,
    chosen: str | None = None,
) -> tuple[str, str, list[str]]:
    encoding = chosen or detect_encoding(path, size)
    codec = _PY_CODECS[encoding]
    mapper = _KeyMapper(schema, field_name="file")
    buffer = _RowBuffer(writer, len(schema.columns))
    hasher = hashlib.sha256()
    done = 0
    ordinal = 0
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            hasher.update(raw)
            done += len(raw)
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise _encoding_error(path, encoding, done - len(raw) + exc.start) from None
            if line_no == 1:
                text = text.lstrip("\ufeff")
            if not text.strip():
                continue
            try:
                obj = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                if ordinal == 0:
                    _not_json_lines(text, line_no, exc)
                raise DomainError(
                    f"第 {line_no} 行不是有效的 JSON（第 {exc.colno} 个字符处：{_json_reason(exc.msg)}）",
                    "file",
                ) from None
            if not isinstance(obj, dict):
                if ordinal == 0 and isinstance(obj, list):
                    raise DomainError(
                        "文件不是 JSON Lines（每行一个 JSON 对象）：第 1 行是一个 JSON 数组，请把数组中的每个对象单独写成一行",
                        "file",
                    )
                raise DomainError(f'第 {line_no} 行不是 JSON 对象（应为 {{"字段名": 值, …}}）', "file")
            ordinal += 1
            buffer.add(ordinal, None, mapper.values(obj, f"第 {line_no} 行"))
            report.update(done)
    buffer.flush()
    if ordinal == 0:
        raise DomainError("文件为空", "file")
    return encoding, hasher.hexdigest(), mapper.notes()


def _json_reason(msg: str) -> str:
    reasons = {
        "Expecting value": "缺少值",
        "Expecting property name enclosed in double quotes": "键必须用双引号",
        "Expecting ',' delimiter": "缺少逗号",
        "Expecting ':' delimiter": "缺少冒号",
        "Extra data": "一行中有多余内容",
        "Unterminated string starting at": "字符串没有结束引号",
        "Invalid control character at": "含有控制字符",
    }
    return reasons.get(msg, msg)


def _not_json_lines(text: str, line_no: int, exc: json.JSONDecodeError) -> None:
    """Explain a first line that does not parse: a JSON array or a pretty-printed document."""
    stripped = text.strip()
    if stripped.startswith("["):
        raise DomainError(
            "文件不是 JSON Lines（每行一个 JSON 对象）：内容是一个 JSON 数组，请把数组中的每个对象单独写成一行",
            "file",
        )
    if stripped.startswith("{"):
        raise DomainError(
            f"文件不是 JSON Lines（每行一个 JSON 对象）：第 {line_no} 行不是一个完整的 JSON 对象，"
            "看起来是分多行排版的 JSON，请让每个对象各占一行",
            "file",
        )
    raise DomainError(
        f"文件不是 JSON Lines（每行一个 JSON 对象）：第 {line_no} 行不是有效的 JSON（{_json_reason(exc.msg)}）",
        "file",
    )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_BYTES * 4):
            hasher.update(chunk)
    return hasher.hexdigest()


def _size_text(size: int) -> str:
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GB"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MB"
    return f"{size / 1024:.1f} KB"


def _limit_text(limit: int) -> str:
    if limit >= 1 << 20:
        mb = limit / (1 << 20)
        return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"
    return f"{limit} 字节"


__all__ = [
    "ENC_GB18030",
    "ENC_GBK",
    "ENC_UTF8",
    "ENC_UTF8_BOM",
    "ROW_COLUMN",
    "STRUCTURE_COLUMN",
    "StageResult",
    "decimal_text",
    "detect_encoding",
    "detect_format",
    "match_columns",
    "stage_file",
    "stage_records",
    "staged_arrow_schema",
    "staged_counts",
    "value_text",
]
