"""Value lists of data collection (数据归集)."""

from __future__ import annotations

from django.db import models


class SourceKind(models.TextChoices):
    UPLOAD = "upload", "文件上传"
    DATABASE = "database", "数据库抽取"
    PUSH = "push", "接口推送"
    CORRECTION = "correction", "补正重报"


class LoadMode(models.TextChoices):
    FULL = "full", "全量（替换）"
    INCREMENTAL = "incremental", "增量（按主键更新）"


class BatchStatus(models.TextChoices):
    PENDING = "pending", "排队中"
    RUNNING = "running", "处理中"
    SUCCEEDED = "succeeded", "已完成"
    FAILED = "failed", "失败"
    # A full load that would delete more than INGEST_FULL_DELETE_CONFIRM_SHARE of the current rows:
    # checked, nothing written yet; waits for the uploader (or a data manager of the unit).
    AWAITING = "awaiting", "待确认"
    CANCELLED = "cancelled", "已取消"


# A batch in one of these states will not change any more.
ENDED_STATUSES = (BatchStatus.SUCCEEDED, BatchStatus.FAILED, BatchStatus.CANCELLED)


class FileEncoding(models.TextChoices):
    """The encoding an uploader may choose for a CSV/JSON Lines file (自动: detected)."""

    AUTO = "", "自动识别"
    UTF8 = "UTF-8", "UTF-8"
    GBK = "GBK", "GBK"
    GB18030 = "GB18030", "GB18030"
    BIG5 = "Big5", "Big5（繁体）"


class BatchStage(models.TextChoices):
    QUEUED = "queued", "排队"
    READING = "reading", "读取"
    CHECKING = "checking", "校验"
    WRITING = "writing", "写入"
    DONE = "done", "完成"


class VersionOperation(models.TextChoices):
    CREATE = "create", "首次写入"
    REPLACE = "replace", "全量替换"
    UPSERT = "upsert", "增量更新"
    ROLLBACK = "rollback", "回滚"


class RuleKind(models.TextChoices):
    PATTERN = "pattern", "格式（正则表达式）"
    RANGE = "range", "取值范围"
    ID_BIRTHDATE = "id_birthdate", "出生日期与身份号码一致"
    COMPARE = "compare", "字段比较"
    REFERENCE = "reference", "引用其他资源的主键"


# File formats accepted for upload, by suffix.
FILE_FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl"}

DATA_ADMIN_ROLE = "data_admin"
