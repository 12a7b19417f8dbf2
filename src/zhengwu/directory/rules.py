"""Pure checks on directory data (no writes): used by services, forms and the demo loader.

Each check raises DomainError with a Chinese message naming the field, or returns normalised input.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from zhengwu.core import divisions
from zhengwu.core.errors import DomainError

from .models import UnitLevel

# Higher administrative level = smaller rank. A child's rank must be >= its parent's.
LEVEL_RANK = {
    UnitLevel.PROVINCE: 0,
    UnitLevel.CITY: 1,
    UnitLevel.COUNTY: 2,
    UnitLevel.TOWNSHIP: 3,
    UnitLevel.VILLAGE: 4,
}

# Which GB/T 2260 level a unit's division code must have, per unit level.
DIVISION_LEVEL_FOR = {
    UnitLevel.PROVINCE: divisions.PROVINCE,
    UnitLevel.CITY: divisions.PREFECTURE,
    UnitLevel.COUNTY: divisions.COUNTY,
    UnitLevel.TOWNSHIP: divisions.COUNTY,  # 乡镇街道 carry their county's code
    UnitLevel.VILLAGE: divisions.COUNTY,  # 村社区 too
}
STAT_CODE_LENGTH = {UnitLevel.TOWNSHIP: 9, UnitLevel.VILLAGE: 12}

USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{2,63}$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def _core_validators() -> Any | None:
    """The shared validators module (zhengwu.core.validators), when it is installed."""
    try:
        return importlib.import_module("zhengwu.core.validators")
    except ImportError:
        return None


def level_label(level: str) -> str:
    try:
        return str(UnitLevel(level).label)
    except ValueError:
        return level


def check_level(level: str) -> str:
    if level not in UnitLevel.values:
        raise DomainError("行政层级取值无效", "level")
    return level


def check_level_under(level: str, parent_level: str | None) -> None:
    """A child's level is not higher than its parent's (a 县区 unit cannot sit under a 乡镇)."""
    if parent_level is None:
        return
    if LEVEL_RANK[UnitLevel(level)] < LEVEL_RANK[UnitLevel(parent_level)]:
        raise DomainError(
            f"行政层级不一致：{level_label(level)}级单位不能隶属于{level_label(parent_level)}级单位", "level"
        )


def division_within(child_code: str, parent_code: str) -> bool:
    """True when `child_code` equals `parent_code` or lies inside it in the GB/T 2260 tree."""
    if child_code == parent_code:
        return True
    return any(d.code == parent_code for d in divisions.ancestors(child_code))


def check_division_code(code: str, level: str, parent_division_code: str | None = None) -> str:
    code = (code or "").strip()
    if not code:
        raise DomainError("行政区划代码：必须填写", "division_code")
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        raise DomainError("行政区划代码：必须是 6 位数字（GB/T 2260）", "division_code")
    division = divisions.get(code)
    if division is None:
        raise DomainError(f"行政区划代码：{code} 不在 GB/T 2260 行政区划表中", "division_code")
    wanted = DIVISION_LEVEL_FOR[UnitLevel(level)]
    if division.level != wanted:
        raise DomainError(
            f"行政区划代码：{level_label(level)}级单位应使用{divisions.LEVEL_NAMES[wanted]}区划代码，"
            f"{code}（{division.name}）是{division.level_name}代码",
            "division_code",
        )
    if parent_division_code and not division_within(code, parent_division_code):
        parent = divisions.get(parent_division_code)
        parent_name = parent.name if parent else parent_division_code
        raise DomainError(
            f"行政区划代码：{code}（{division.name}）不在上级单位的行政区划"
            f"{parent_division_code}（{parent_name}）范围内",
            "division_code",
        )
    return code


def check_stat_division_code(
    stat_code: str, level: str, division_code: str, parent_stat_code: str = ""
) -> str:
    stat_code = (stat_code or "").strip()
    if not stat_code:
        return ""
    length = STAT_CODE_LENGTH.get(UnitLevel(level))
    if length is None:
        raise DomainError(
            "统计用区划代码：仅乡镇街道（9 位）和村社区（12 位）单位可填写", "stat_division_code"
        )
    if not (stat_code.isascii() and stat_code.isdigit()) or len(stat_code) != length:
        raise DomainError(
            f"统计用区划代码：{level_label(level)}单位应为 {length} 位数字", "stat_division_code"
        )
    if not stat_code.startswith(division_code):
        raise DomainError(
            f"统计用区划代码：必须以本单位的行政区划代码 {division_code} 开头", "stat_division_code"
        )
    if parent_stat_code and not stat_code.startswith(parent_stat_code):
        raise DomainError(
            f"统计用区划代码：必须以上级单位的统计用区划代码 {parent_stat_code} 开头", "stat_division_code"
        )
    return stat_code


def uscc_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code (GB 32100-2015), or None."""
    validators = _core_validators()
    if validators is not None and hasattr(validators, "check_uscc"):
        result = validators.check_uscc(code)
        return None if result.ok else str(result.reason)
    from stdnum.cn import uscc as stdnum_uscc
    from stdnum.exceptions import ValidationError as StdnumError

    try:
        stdnum_uscc.validate(code)
    except StdnumError:
        return "不是有效的统一社会信用代码（GB 32100 校验未通过）"
    return None


def check_uscc(code: str | None) -> str | None:
    code = (code or "").strip().upper()
    if not code:
        return None
    if len(code) != 18:
        raise DomainError("统一社会信用代码：必须是 18 位", "uscc")
    problem = uscc_problem(code)
    if problem:
        raise DomainError(f"统一社会信用代码：{problem}", "uscc")
    return code


def check_mobile(mobile: str | None) -> str:
    mobile = (mobile or "").strip()
    if not mobile:
        return ""
    validators = _core_validators()
    if validators is not None and hasattr(validators, "check_mobile"):
        result = validators.check_mobile(mobile)
        if not result.ok:
            raise DomainError(f"手机号码：{result.reason}", "mobile")
        return str(getattr(result, "normalized", "") or mobile)
    if not _MOBILE_RE.match(mobile):
        raise DomainError("手机号码：必须是 11 位中国大陆手机号码", "mobile")
    return mobile


def check_username(username: str | None) -> str:
    username = (username or "").strip()
    if not username:
        raise DomainError("用户名：必须填写", "username")
    if not USERNAME_RE.match(username):
        raise DomainError("用户名：须以字母开头，3–64 位，只能包含字母、数字、下划线、点和连字符", "username")
    return username


def check_text(value: str | None, label: str, field: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"{label}：必须填写", field)
    if len(value) > max_length:
        raise DomainError(f"{label}：长度不能超过 {max_length} 个字符", field)
    if any(ord(ch) < 32 for ch in value):
        raise DomainError(f"{label}：不能包含控制字符", field)
    return value
