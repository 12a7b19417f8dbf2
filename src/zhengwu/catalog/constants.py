"""Value lists of the catalog: 《政务信息资源目录编制指南（试行）》 (2017) and 国发〔2016〕51号.

Stored values are the standard's own Chinese words (电子表格, 有条件共享 …) so that Excel files,
JSON files and the API all speak the words the compilers know.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models


class Category(models.TextChoices):
    """信息资源分类 — 类 (one digit)."""

    BASE = "1", "基础信息资源"
    THEME = "2", "主题信息资源"
    DEPARTMENT = "3", "部门信息资源"


# 项 (two digits) under each 类. Base and theme lists are the guide's national lists.
BASE_ITEMS: dict[str, str] = {
    "01": "人口",
    "02": "法人单位",
    "03": "自然资源和空间地理",
    "04": "社会信用",
    "05": "电子证照",
}
THEME_ITEMS: dict[str, str] = {
    "01": "公共服务",
    "02": "健康保障",
    "03": "社会保障",
    "04": "食品药品安全",
    "05": "安全生产",
    "06": "价格监管",
    "07": "能源安全",
    "08": "信用体系",
    "09": "城乡建设",
    "10": "社区治理",
    "11": "生态环保",
    "12": "应急维稳",
}
# 部门信息资源 are itemised by the providing department's field of work. The guide leaves the
# list to the compiling government; this is the platform's list (documented in docs/catalog.md).
DEPARTMENT_ITEMS: dict[str, str] = {
    "01": "综合政务",
    "02": "发展改革",
    "03": "教育",
    "04": "科技和工业信息化",
    "05": "公安",
    "06": "民政",
    "07": "司法",
    "08": "财政",
    "09": "人力资源和社会保障",
    "10": "自然资源",
    "11": "生态环境",
    "12": "住房和城乡建设",
    "13": "交通运输",
    "14": "水利",
    "15": "农业农村",
    "16": "商务",
    "17": "文化和旅游",
    "18": "卫生健康",
    "19": "应急管理",
    "20": "市场监管",
    "21": "统计",
    "22": "医疗保障",
    "23": "税务",
    "24": "数据管理",
    "99": "其他",
}
CLASS_ITEMS: dict[str, dict[str, str]] = {
    Category.BASE: BASE_ITEMS,
    Category.THEME: THEME_ITEMS,
    Category.DEPARTMENT: DEPARTMENT_ITEMS,
}


def class_item_name(category: str, item: str) -> str:
    return CLASS_ITEMS.get(category, {}).get(item, "")


def class_item_choices() -> list[tuple[str, str]]:
    """("1-01", "基础信息资源 / 人口") pairs for forms."""
    out: list[tuple[str, str]] = []
    for cat in Category:
        for code, name in CLASS_ITEMS[cat].items():
            out.append((f"{cat.value}-{code}", f"{cat.label} / {code} {name}"))
    return out


class ResourceFormat(models.TextChoices):
    FILE = "电子文件"
    SHEET = "电子表格"
    DATABASE = "数据库"
    IMAGE = "图形图像"
    STREAM = "流媒体"
    SELF_DESCRIBING = "自描述格式"
    SERVICE = "服务接口"


# A "table" resource has rows with a key: exactly one information item must be the key.
TABLE_FORMATS = {ResourceFormat.SHEET.value, ResourceFormat.DATABASE.value}


class ShareType(models.TextChoices):
    UNCONDITIONAL = "无条件共享"
    CONDITIONAL = "有条件共享"
    NONE = "不予共享"


class ShareMethod(models.TextChoices):
    PLATFORM = "共享平台"
    EMAIL = "邮件"
    MEDIA = "介质"


class OpenType(models.TextChoices):
    UNCONDITIONAL = "无条件开放"
    CONDITIONAL = "有条件开放"
    NONE = "不予开放"


class UpdateCycle(models.TextChoices):
    REALTIME = "实时"
    DAILY = "每日"
    WEEKLY = "每周"
    MONTHLY = "每月"
    QUARTERLY = "每季度"
    HALF_YEARLY = "每半年"
    YEARLY = "每年"
    IRREGULAR = "不定时"


# How long after the last data arrival an entry counts as overdue. 实时 data is expected at
# least daily; 不定时 is never overdue.
UPDATE_CYCLE_PERIOD: dict[str, timedelta | None] = {
    UpdateCycle.REALTIME: timedelta(days=1),
    UpdateCycle.DAILY: timedelta(days=1),
    UpdateCycle.WEEKLY: timedelta(days=7),
    UpdateCycle.MONTHLY: timedelta(days=31),
    UpdateCycle.QUARTERLY: timedelta(days=92),
    UpdateCycle.HALF_YEARLY: timedelta(days=183),
    UpdateCycle.YEARLY: timedelta(days=366),
    UpdateCycle.IRREGULAR: None,
}


class DataType(models.TextChoices):
    CHAR = "字符"
    NUMBER = "数字"
    DATE = "日期"
    DATETIME = "日期时间"
    TIMESTAMP = "时间戳"
    BOOLEAN = "布尔"
    BINARY = "二进制"


class Masking(models.TextChoices):
    NONE = "不脱敏"
    PARTIAL = "部分遮盖"
    FULL = "全部遮盖"
    HASH = "哈希替换"
    GENERALISE = "泛化"
    ENCRYPT = "加密存储"


class SecurityLevel(models.TextChoices):
    PUBLIC = "公开"
    INTERNAL = "内部"
    SENSITIVE = "敏感"


class EntryStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    PENDING = "pending", "待审核"
    PUBLISHED = "published", "已发布"
    RETIRED = "retired", "已下线"


class CorrectionStatus(models.TextChoices):
    OPEN = "open", "待答复"
    ACCEPTED = "accepted", "已采纳"
    REJECTED = "rejected", "不予采纳"


DATA_ADMIN_ROLE = "data_admin"
CATALOG_REVIEWER_ROLE = "catalog_reviewer"
