"""Correction files (补正重报): a quarantine CSV downloaded from the platform, corrected in place
and uploaded back, carries 行号 and 错误原因 in front of the data, and the apostrophe the export
writer put in front of values that start like a formula (`core.exports.neutralise`). The readers
accept only the resource's items, so those two columns are dropped and each value restored
(`core.exports.restore`: exactly the one apostrophe the writer added) into a UTF-8 copy before
the file reaches the services. Used by the API and the batch page alike."""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.core.files import File as DjangoFile

from zhengwu.core.errors import DomainError
from zhengwu.core.exports import restore

from .constants import FILE_FORMATS

ROW_HEADER, REASON_HEADER = "行号", "错误原因"
EXTRA_HEADERS = (ROW_HEADER, REASON_HEADER)


def _csv_encoding(head: bytes) -> str | None:
    """UTF-8 (with or without BOM) or GB18030 (which reads GBK), judged from the file's start."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        return None


@contextmanager
def without_quarantine_columns(upload: Any) -> Iterator[Any]:
    """A correction CSV is rewritten into a UTF-8 copy without the 行号 and 错误原因 columns of
    quarantine.csv (if present), each value restored from the export's formula neutralisation
    (`'=1+1` back to `=1+1`). Other files pass unchanged."""
    if FILE_FORMATS.get(Path(upload.name or "").suffix.lower()) != "csv":
        yield upload
        return
    upload.seek(0)
    head = upload.read(65536)
    upload.seek(0)
    encoding = _csv_encoding(head)
    if encoding is None:
        yield upload  # the readers explain the encoding problem
        return
    text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        header = []
    drop = {i for i, cell in enumerate(header) if cell.strip().lstrip("\ufeff").strip() in EXTRA_HEADERS}
    with tempfile.TemporaryDirectory(prefix="zhengwu-correction-") as tmp:
        target = Path(tmp) / (Path(upload.name or "correction.csv").name or "correction.csv")
        # newline="": only \r and \n end records (a value may hold U+2028 and the like).
        text_in = io.TextIOWrapper(cast(BinaryIO, upload.file), encoding=encoding, errors="strict", newline="")
        reader = csv.reader(text_in)
        try:
            with target.open("w", encoding="utf-8-sig", newline="") as out:
                writer = csv.writer(out)
                for row in reader:
                    writer.writerow([restore(cell) for i, cell in enumerate(row) if i not in drop])
        except UnicodeDecodeError as exc:
            raise DomainError(
                f"补正文件第 {reader.line_num + 1} 行附近的内容不是有效的 {encoding.removesuffix('-sig').upper()} 文本，"
                "请用 UTF-8 或 GBK 保存后重新上传", "file",
            ) from exc
        except csv.Error as exc:
            raise DomainError(
                f"补正文件第 {reader.line_num} 行无法按 CSV 解析（可能含有空字符、引号不配对或单个值过长），请检查后重新上传",
                "file",
            ) from exc
        finally:
            text_in.detach()  # the upload stays open for Django to clean up
        with target.open("rb") as fh:
            yield DjangoFile(fh, name=upload.name)
