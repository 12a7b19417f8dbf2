"""The 代码表/值域 of an information item, parsed.

What a compiler writes in the catalog's 代码表/值域 column, and what it means:

- an enumeration: ``1=男;2=女`` or ``1:男，2:女`` or ``在营、吊销、注销`` — the allowed values are
  the codes (the part before ``=``/``:``), separated by ``;`` ``；`` ``,`` ``，`` ``、`` or ``|``;
- a range (numbers or dates): ``[0,100]``, ``0..100``, ``0~100``, ``[1900-01-01,]`` — inclusive;
  either side may be left empty;
- a national code table by its standard number: ``GB/T 2261.1`` (性别), ``GB/T 3304`` (民族),
  ``GB/T 2260`` (行政区划代码, the table from core.divisions).

The data center turns a parsed table into a validation rule for the item's column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

# GB/T 2261.1-2003 个人基本信息分类与代码 第1部分：人的性别代码.
GENDER_CODES = {"0": "未知的性别", "1": "男性", "2": "女性", "9": "未说明的性别"}

# GB/T 3304-1991 中国各民族名称的罗马字母拼写法和代码: the 56 nationalities in the standard's
# order, then 97 其他 and 98 外国血统中国籍人士.
_ETHNIC_TEXT = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 "
    "傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 "
    "毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 "
    "独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族"
)
_ETHNIC_NAMES = _ETHNIC_TEXT.split()
ETHNIC_CODES = {f"{i:02d}": name for i, name in enumerate(_ETHNIC_NAMES, start=1)} | {
    "97": "其他",
    "98": "外国血统中国籍人士",
}

NAMED_TABLES: dict[str, tuple[str, dict[str, str] | None]] = {
    "GB/T2261.1": ("GB/T 2261.1 人的性别代码", GENDER_CODES),
    "GB/T3304": ("GB/T 3304 民族代码", ETHNIC_CODES),
    "GB/T2260": ("GB/T 2260 行政区划代码", None),  # looked up in core.divisions
}

_RANGE = re.compile(r"^\s*[\[(（]?\s*([^,，~]*?)\s*(?:,|，|~|\.\.)\s*([^\])）]*?)\s*[\])）]?\s*$")
_SPLIT = re.compile(r"[;；,，、|]")


class CodeTableError(ValueError):
    """The text cannot be read as a code table; the message is Chinese."""


@dataclass(frozen=True)
class CodeTable:
    kind: str  # "enum" | "range" | "division"
    label: str
    values: dict[str, str] = field(default_factory=dict)  # enum: code -> meaning
    low: str | None = None  # range bounds, as written
    high: str | None = None

    def describe(self) -> str:
        if self.kind == "range":
            return f"取值{range_text(self.low, self.high)}"
        if self.kind == "division":
            return self.label
        shown = "、".join(list(self.values)[:8])
        more = f" 等 {len(self.values)} 个值" if len(self.values) > 8 else ""
        return f"{self.label}（{shown}{more}）"


def range_text(low: str | None, high: str | None) -> str:
    """A range as people read it, both ends included: "在 0 至 150 之间", "不早于 1900-01-01",
    "不大于 100". Dates are YYYY-MM-DD; anything else is read as a number."""
    is_date = bool(_DATE.fullmatch(low or high or ""))
    if low and high:
        return f"在 {low} 至 {high} 之间"
    if low:
        return f"不早于 {low}" if is_date else f"不小于 {low}"
    if high:
        return f"不晚于 {high}" if is_date else f"不大于 {high}"
    return "不限"


# A comparison of two items in words (the rule stores the operator): 出生日期 早于 死亡日期.
COMPARE_WORDS = {"<": "小于", "<=": "不大于", "=": "等于", "!=": "不等于", ">=": "不小于", ">": "大于"}
COMPARE_WORDS_DATES = {"<": "早于", "<=": "不晚于", "=": "等于", "!=": "不等于", ">=": "不早于", ">": "晚于"}


_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A reference to a standard by its number, maybe with its year and title (GB/T 2261.1-2003 人的性别代码,
# GA 24.4, 见 JT/T 697.7 …): names a table rather than listing codes.
_STANDARD = re.compile(
    r"^(?:见|参见|参照|依据|按|执行)?\s*([A-Za-z]{2,4}(?:/[TtZz])?\s*\d+(?:\.\d+)*)(?=$|[\s\-—–－《（(\u4e00-\u9fff])"
)


def _normalise_name(text: str) -> str:
    return re.split(r"[-—–－]", re.sub(r"\s+", "", text).upper())[0]


def _bound_kind(text: str) -> str:
    """"number", "date", "" (open side) or "bad"."""
    if text == "":
        return ""
    if _NUMBER.fullmatch(text):
        return "number"
    if _DATE.fullmatch(text):
        try:
            date.fromisoformat(text)
        except ValueError:
            return "bad"
        return "date"
    return "bad"


def _is_range_text(text: str) -> bool:
    if any(mark in text for mark in "=:："):
        return False  # an enumeration whose meanings may contain brackets, commas or "~"
    return text[:1] in "[(（" or text[-1:] in "])）" or ".." in text or "~" in text or "～" in text


def _parse_range(text: str) -> CodeTable:
    match = _RANGE.match(text.replace("～", "~"))
    if not match:
        raise CodeTableError(f"值域“{text}”格式不对：应写成 [下限,上限]，如 [0,100] 或 [1900-01-01,]")
    low, high = match.group(1).strip(), match.group(2).strip()
    kinds = {_bound_kind(low), _bound_kind(high)}
    if "bad" in kinds or kinds == {""}:
        raise CodeTableError(f"值域“{text}”的上下限必须是数字或有效的 YYYY-MM-DD 日期，如 [0,100]")
    if kinds == {"number", "date"}:
        raise CodeTableError(f"值域“{text}”的上下限一个是数字、一个是日期，必须同为数字或同为日期")
    if low and high:
        reversed_ = (Decimal(low) > Decimal(high)) if "number" in kinds else (low > high)
        if reversed_:
            raise CodeTableError(f"值域“{text}”的下限 {low} 大于上限 {high}")
    return CodeTable(kind="range", label="值域", low=low or None, high=high or None)


@lru_cache(maxsize=512)
def parse_code_table(text: str) -> CodeTable | None:
    """Parse the 代码表/值域 text of an item; None when it is empty. Raises CodeTableError."""
    text = (text or "").strip()
    if not text:
        return None
    standard = _STANDARD.match(text)
    if standard and not any(mark in text for mark in "=:："):
        name = _normalise_name(standard.group(1))
        if name in NAMED_TABLES:
            label, named = NAMED_TABLES[name]
            if named is None:
                return CodeTable(kind="division", label=label)
            return CodeTable(kind="enum", label=label, values=dict(named))
        known = "、".join(k.replace("GB/T", "GB/T ") for k in NAMED_TABLES)
        raise CodeTableError(f"不认识的代码表“{text}”：可直接引用的国家标准代码表有 {known}，其他代码表请逐项列出（如 1=男;2=女）")
    if _is_range_text(text):
        return _parse_range(text)
    values: dict[str, str] = {}
    for part in _SPLIT.split(text):
        part = part.strip()
        if not part:
            continue
        pieces = re.split(r"=|:|：", part, maxsplit=1)
        code, meaning = (pieces[0], pieces[1]) if len(pieces) == 2 else (part, "")
        code = code.strip()
        if not code:
            raise CodeTableError(f"代码表“{text}”中“{part}”缺少代码")
        if code in values:
            raise CodeTableError(f"代码表“{text}”中代码“{code}”重复")
        values[code] = meaning.strip() or code
    if not values:
        raise CodeTableError(f"代码表“{text}”中没有任何代码")
    return CodeTable(kind="enum", label="代码表", values=values)
