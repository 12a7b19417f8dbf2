"""The one place where a batch's failure becomes the reason its submitter reads.

Anything raised while a batch runs ends here (`services.run_batch`): a `DomainError` already
carries a Chinese message naming the field; any other exception — DeltaError, ArrowInvalid, a
DuckDB or openpyxl error, a full disk — is logged with its original text and traceback for the
operator, and the batch stores a Chinese reason that names the cause in the user's terms. English
library text never reaches a page or an API answer.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

from zhengwu.core.errors import DomainError

log = logging.getLogger("zhengwu.datahub.failures")

_STAGES = {"reading": "读取", "checking": "校验", "writing": "写入", "queued": "排队", "done": "完成"}
_AFTER = "本批次未生效，之前的数据版本保持不变"


def _module(exc: BaseException) -> str:
    """The library an exception class comes from ("deltalake", "duckdb", …), also for classes
    defined in compiled modules (deltalake's `_internal`, DuckDB's `_duckdb`)."""
    for cls in type(exc).__mro__:
        module = cls.__module__.split(".")[0]
        if module == "_internal":
            return "deltalake"
        if module == "_duckdb":
            return "duckdb"
        if module not in ("builtins", "__main__"):
            return module
    return "builtins"


def _cause(exc: BaseException) -> tuple[str, str]:
    """(Chinese cause, field) of a library or system error."""
    name = type(exc).__name__
    module = _module(exc)
    if isinstance(exc, MemoryError) or "OutOfMemory" in name:
        return ("服务器内存不足，无法处理这样大的批次；请拆分后分批提交，或由管理员调整 ZHENGWU_DUCKDB_MEMORY_LIMIT", "")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ("服务器磁盘空间不足（批次工作目录或数据湖所在的磁盘已满）；请联系系统管理员清理空间后重新提交", "")
    if isinstance(exc, PermissionError):
        return ("服务器没有批次工作目录或数据湖的读写权限；请联系系统管理员检查目录权限", "")
    if isinstance(exc, UnicodeError):
        return ("文件中有无法按所识别编码解读的字符；请另存为 UTF-8 编码后重新上传", "file")
    if module == "deltalake":
        if "CommitFailed" in name or "conflict" in str(exc).lower():
            return ("数据湖中该资源的表正被另一操作修改，写入未完成；请稍后重新提交", "")
        return ("写入数据湖失败（数据湖表的结构与本批数据不一致或存储不可用）；请联系系统管理员检查该资源的数据湖表", "")
    if module in ("pyarrow", "arro3"):
        return ("数据格式转换失败（某列的值无法按目录规定的类型保存）；请检查数据后重新提交，如反复出现请联系系统管理员", "")
    if module == "duckdb" or module == "ibis" or module == "pyspark" or module == "py4j":
        return ("校验引擎执行失败（可能是数据量超出引擎的内存或磁盘限制）；请拆分后分批提交，如反复出现请联系系统管理员", "")
    if module == "openpyxl" or module == "zipfile" or name in ("BadZipFile", "ParseError", "ExpatError"):
        return ("XLSX 文件内容无法解析；请用 Excel 或 WPS 打开后另存为 .xlsx 再上传", "file")
    if module == "sqlalchemy":
        return ("从数据库来源读取数据失败；请检查来源的连接地址、表或查询语句", "source")
    if isinstance(exc, OSError):
        return ("读写批次工作目录或数据湖时出错（文件系统错误）；请稍后重新提交，如反复出现请联系系统管理员", "")
    return ("平台内部错误", "")


def failure_reason(exc: BaseException, batch: Any = None) -> tuple[str, str]:
    """(Chinese message, field) for a batch that failed with `exc`. Non-domain errors are logged
    here with the original exception (the message shown names the cause and the batch)."""
    if isinstance(exc, DomainError):
        return exc.message, exc.field or ""
    cause, field = _cause(exc)
    number = getattr(batch, "pk", None)
    stage = _STAGES.get(str(getattr(batch, "stage", "") or ""), "")
    log.error(
        "batch %s failed in stage %s: %s: %s", number, stage or "?", type(exc).__name__, exc,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    where = f"{stage}阶段" if stage else "处理中"
    tail = f"（批次 {number}，详细信息已记入服务器日志）" if number else "（详细信息已记入服务器日志）"
    return f"{where}出错：{cause}；{_AFTER}{tail}", field


# What a failure's `field` (a code name, kept for programs) is called on the pages: the upload
# form's labels, then the resource's information items; an unknown code is not shown at all.
FIELD_LABELS = {
    "file": "数据文件", "mode": "归集方式", "encoding": "文件编码", "records": "推送的记录",
    "source": "数据库来源", "url": "数据库连接地址", "query": "抽取语句", "table": "数据表",
    "watermark_column": "增量标记列", "version": "数据版本", "parent": "原批次", "rules": "校验规则",
    "resource_code": "信息资源代码", "batch": "批次",
}


def failure_field_label(field: str, item_labels: dict[str, str] | None = None) -> str:
    """The label of the field a failure names ("file" → 数据文件, "ethnicity" → 民族), or ""."""
    if not field:
        return ""
    return (item_labels or {}).get(field) or FIELD_LABELS.get(field, "")
