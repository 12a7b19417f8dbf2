"""Validation and quality rules of collected data, written once as Ibis expressions.

`derive_rules(schema, custom)` turns a resource's catalog items (and its custom rules) into a list
of `Rule`. `Checker(rules, today=..., references=...)` evaluates them over a staged table
(``_row``, ``_structure`` and one text column per item): `failures(t)` keeps the rows that fail
something, with one column per rule holding the Chinese reason (null when the row passes that
rule); `annotate(t)` does the same for every row. Each rule is a cheap boolean test, used as the
filter of the one pass over the whole batch, plus a reason expression worked out only for the rows
that fail (which check of an identity number failed, the expected check character, ...).

The same expressions run on DuckDB and on PySpark: only functions both compile and evaluate the
same are used. Regular expressions are plain, anchored RE2/Java syntax; a date is a real date when
its text has the exact shape and ``TRY_CAST`` to DATE succeeds (both engines use the proleptic
Gregorian calendar; year 0000 is excluded); check sums come from ``ascii()`` arithmetic on text
whose shape is already checked, so neither engine's lenient parsing decides anything. Set
membership in large tables (area codes, long code lists, duplicated keys, another resource's keys)
is a left join with a small table, which both engines broadcast or hash.

Rules derived from each column, in this order (codes in brackets):

- required [required:f] — completeness: the value is present (the only rule that fails on null);
- type [type:f] — validity, by data type:
    数字: plain decimal notation, optional sign: ``-12.5``, ``007``, ``+3``; no exponent (``1e3``),
          no thousands separators, at most 32 integer digits and 6 decimal places, because the lake
          stores decimal(38, 6) and a value with more places would be silently rounded;
    日期: ``YYYY-MM-DD`` and a real calendar date (years 0001–9999) — the common Chinese forms
          (2006年4月25日, 2006/4/25, 2006.4.25, 2006-4-25, 20060425) are rewritten to that form
          first (`normalised_date`, applied by the engine before any rule);
    日期时间/时间戳: ``YYYY-MM-DD HH:MM``, ``YYYY-MM-DD HH:MM:SS`` or with up to 6 decimals of a
          second (``T`` may stand for the space), a real date and time;
    布尔: true/false (any case), 是/否, 1/0;
    二进制: base64 text (length a multiple of 4, ``=`` padding only at the end);
    字符: no type rule;
- length [length:f] — validity, 字符 only: at most Column.length characters (not bytes);
- code table [code_table:f] — validity: an enumeration's codes, a range (numbers or dates,
  inclusive), or the GB/T 2260 division table (same check as the division rule below);
- semantic kinds — validity, with the semantics of `zhengwu.core.validators`:
    resident_id [resident_id:f]: `check_resident_id` (18 characters, 17 digits and a digit or X,
          GB 11643 check character, a real birth date from 1850-01-01 to today, an area code that
          is a current or historical GB/T 2260 code);
    uscc [uscc:f]: `check_uscc` (GB 32100 alphabet without I O Z S V, positions 3–8 digits, the
          check character, registration authority and entity type as in USCC_CATEGORIES, an area
          code that is known or 100000);
    division [division:f]: `check_division_code` (6 digits in the current table; 9- and
          12-digit statistical codes under a current county).
  One difference on purpose: the Python validators first tidy their input (full-width folded,
  spaces and hyphens removed, upper-cased); the engine stores what it accepts unchanged, so it
  accepts a value only when it is already in that canonical form (``11010519491231002x`` with a
  lowercase x is refused). For canonical text the two agree (tested with hypothesis).

The structure rule [structure] comes first. After the columns' rules: key uniqueness
[unique:k1+k2] (uniqueness): every row whose key (all key columns) appears more
than once in the batch is refused. Then custom rules [custom:<id>] (`schema.RuleSpec`): pattern
(the whole value must match), range, compare and id_birthdate (consistency), reference
(consistency: the value exists as the key of another resource's current data). Finally every
rule except `required` passes a null value, and a row the reader could not split into fields
(``_structure`` not null) fails only the structure rule [structure], with the reader's reason.
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from zhengwu.catalog.codetables import COMPARE_WORDS, COMPARE_WORDS_DATES, range_text
from zhengwu.core import divisions
from zhengwu.core import validators as pyval
from zhengwu.core.errors import DomainError

from .constants import RuleKind
from .schema import DIVISION, RESIDENT_ID, USCC, Column, ResourceSchema, RuleSpec

COMPLETENESS, VALIDITY, UNIQUENESS, CONSISTENCY = "completeness", "validity", "uniqueness", "consistency"
CATEGORIES = (COMPLETENESS, VALIDITY, UNIQUENESS, CONSISTENCY)

# Rule kinds (Rule.kind); custom kinds are the RuleKind values.
STRUCTURE, REQUIRED, TYPE, LENGTH, CODE_TABLE, UNIQUE = "structure", "required", "type", "length", "code_table", "unique"
ROW_COLUMN, STRUCTURE_COLUMN = "_row", "_structure"

NUMBER_TYPE, DATE_TYPE, DATETIME_TYPE, TIMESTAMP_TYPE, BOOLEAN_TYPE, BINARY_TYPE, TEXT_TYPE = (
    "数字", "日期", "日期时间", "时间戳", "布尔", "二进制", "字符",
)
DECIMAL_TYPE = "decimal(38, 6)"
DECIMAL_INTEGER_DIGITS, DECIMAL_SCALE = 32, 6
TRUE_TEXTS = ("true", "是", "1")
FALSE_TEXTS = ("false", "否", "0")
COMPARE_OPS = ("<", "<=", "=", "!=", ">=", ">")

# Regular expressions, the same in RE2 (DuckDB) and java.util.regex (Spark).
_NUMBER = r"^[+-]?[0-9]+(\.[0-9]+)?$"
_DECIMAL = rf"^[+-]?[0-9]{{1,{DECIMAL_INTEGER_DIGITS}}}(\.[0-9]{{1,{DECIMAL_SCALE}}})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
_BASE64 = r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_DIGITS = r"^[0-9]+$"
_RESIDENT_ID_SHAPE = r"^[0-9]{17}[0-9X]$"
_USCC_CHARS = "^[" + pyval.USCC_ALPHABET.replace("ABCDEFGH", "A-H") + "]{18}$"
# Lookups (set membership) with more values than this become a join with a small table: an IN list
# in a projection is evaluated value by value on DuckDB.
_INLINE_SET_MAX = 16


@dataclass(frozen=True)
class Rule:
    """One check. `message` is the general reason shown for a refused row; some kinds give a
    more precise per-row reason (which check of an identity number failed)."""

    code: str
    field: str  # field_name, or "" for a row-level rule
    label: str
    category: str
    message: str
    kind: str
    fields: tuple[str, ...] = ()  # the columns it reads; "checked" counts rows where all are filled
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False, compare=False)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "label": self.label, "category": self.category}


# --- Chinese date forms --------------------------------------------------------------------------
# Dates people type and spreadsheets export besides ISO: 2006年4月25日, 2006/4/25, 2006.4.25,
# 2006-4-25 (month and day with or without a leading zero) and 20060425; date-times are one of
# those, a space (or T) and H:MM[:SS[.ffffff]]. `normalised_date` rewrites them to ISO text before
# any rule runs (so the type rule still decides whether the date exists); anything else is left
# as it was. Only regexp_extract, lpad and concat are used: the same on DuckDB and Spark.
_DATE_FORMS = (
    r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日",
    r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})",
    r"([0-9]{4})\.([0-9]{1,2})\.([0-9]{1,2})",
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})",
    r"([0-9]{4})([0-9]{2})([0-9]{2})",
)
_TIME_PART = r"[ T]([0-9]{1,2}):([0-9]{2})((:[0-9]{2})(\.[0-9]{1,6})?)?"
_DATE_SHAPES = r"^[0-9]{4}(年|/|\.|-)?[0-9]{1,2}(月|/|\.|-)?[0-9]{1,2}日?"  # cheap pre-test


def normalised_date(v: ir.StringValue, data_type: str) -> ir.StringValue:
    """`v` in ISO form (YYYY-MM-DD, or YYYY-MM-DD HH:MM[:SS…] for 日期时间/时间戳) when it is
    written in one of the common Chinese forms; otherwise `v` unchanged."""
    with_time = data_type in (DATETIME_TYPE, TIMESTAMP_TYPE)
    canonical = _DATETIME if with_time else _DATE
    branches: list[tuple[ir.BooleanValue, ir.StringValue]] = []
    for form in _DATE_FORMS:
        pattern = f"^{form}{_TIME_PART}$" if with_time else f"^{form}$"

        def group(i: int, p: str = pattern) -> ir.StringValue:
            return v.re_extract(p, i)

        iso = group(1).concat("-", group(2).lpad(2, "0"), "-", group(3).lpad(2, "0"))
        if with_time:
            iso = iso.concat(" ", group(4).lpad(2, "0"), ":", group(5), group(6))
        branches.append((v.re_search(pattern), iso))
    rewritten = ibis.cases(*branches, else_=v)
    return ibis.cases((v.isnull() | v.re_search(canonical) | ~v.re_search(_DATE_SHAPES), v), else_=rewritten)


def date_columns(schema: ResourceSchema) -> list[Column]:
    """The columns whose text `normalised_date` rewrites (日期, 日期时间, 时间戳)."""
    return [c for c in schema.columns if c.data_type in (DATE_TYPE, DATETIME_TYPE, TIMESTAMP_TYPE)]


# --- deriving rules -----------------------------------------------------------------------------
_TYPE_LABELS = {
    NUMBER_TYPE: "数字（如 12、-3.5）",
    DATE_TYPE: "日期（YYYY-MM-DD）",
    DATETIME_TYPE: "日期时间（YYYY-MM-DD HH:MM[:SS]）",
    TIMESTAMP_TYPE: "时间戳（YYYY-MM-DD HH:MM[:SS]）",
    BOOLEAN_TYPE: "布尔值（true/false、是/否、1/0）",
    BINARY_TYPE: "Base64 编码的二进制内容",
}


def structure_rule() -> Rule:
    return Rule(
        code=STRUCTURE, field="", label="结构", category=VALIDITY, message="记录结构错误，无法拆分为各信息项",
        kind=STRUCTURE,
    )


def _column_rules(c: Column) -> list[Rule]:
    f, title = c.field_name, c.title
    out: list[Rule] = []
    if c.required:
        out.append(Rule(f"required:{f}", f, f"{title} 必填", COMPLETENESS, f"{title}：必填，不能为空", REQUIRED, (f,)))
    if c.data_type in _TYPE_LABELS:
        what = _TYPE_LABELS[c.data_type]
        message = f"{title}：不是有效的{what}"
        if c.data_type == NUMBER_TYPE:
            message = f"{title}：不是有效的数字（如 12、-3.5，不用科学计数法和千分位）"
        out.append(Rule(f"type:{f}", f, f"{title} 应为{what}", VALIDITY, message, TYPE, (f,), {"data_type": c.data_type}))
    if c.data_type == TEXT_TYPE and c.length:
        out.append(Rule(f"length:{f}", f, f"{title} 不超过 {c.length} 个字符", VALIDITY,
                        f"{title}：长度不能超过 {c.length} 个字符", LENGTH, (f,), {"length": int(c.length)}))
    table = c.code_table
    if table is not None and not (table.kind == "division" and c.semantic == DIVISION):
        if table.kind == "enum":
            params: dict[str, Any] = {"values": tuple(table.values)}
        elif table.kind == "range":
            try:
                params = _range_params(None, table.low, table.high)
            except DomainError as exc:
                raise DomainError(f"{title}：{exc.message}", f) from exc
        else:
            params = {"division": True}
        params["data_type"] = c.data_type
        described = table.describe()
        if table.kind == "range":  # 出生日期(birth_date) 取值不早于 1900-01-01
            label, message = f"{title} {described}", f"{title}：取值应{range_text(table.low, table.high)}"
        else:
            label, message = f"{title} 取值符合{described}", f"{title}：取值不符合{described}"
        out.append(Rule(f"code_table:{f}", f, label, VALIDITY, message, CODE_TABLE, (f,), params))
    if c.semantic == RESIDENT_ID:
        out.append(Rule(f"resident_id:{f}", f, f"{title} 是有效的公民身份号码（GB 11643）", VALIDITY,
                        f"{title}：不是有效的公民身份号码", RESIDENT_ID, (f,)))
    elif c.semantic == USCC:
        out.append(Rule(f"uscc:{f}", f, f"{title} 是有效的统一社会信用代码（GB 32100）", VALIDITY,
                        f"{title}：不是有效的统一社会信用代码", USCC, (f,)))
    elif c.semantic == DIVISION:
        out.append(Rule(f"division:{f}", f, f"{title} 是现行行政区划代码（GB/T 2260）", VALIDITY,
                        f"{title}：不是现行行政区划代码", DIVISION, (f,)))
    return out


def _custom_error(spec: RuleSpec, reason: str) -> DomainError:
    which = f"自定义规则 {spec.id}" if spec.id else "自定义规则"
    return DomainError(f"{which}（{spec.field}）：{reason}", "params")


def _bound_kind(text: str) -> str:
    if re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text):
        return "number"
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            date.fromisoformat(text)
        except ValueError:
            return ""
        return "date"
    return ""


def _range_params(spec: RuleSpec | None, low: Any, high: Any) -> dict[str, Any]:
    lo = "" if low is None else str(low).strip()
    hi = "" if high is None else str(high).strip()
    kinds = {_bound_kind(b) for b in (lo, hi) if b}
    if not kinds or "" in kinds or len(kinds) > 1:
        if spec is None:
            raise DomainError(f"值域上下限必须都是数字或都是 YYYY-MM-DD 日期：[{lo}, {hi}]", "code_table")
        raise _custom_error(spec, f"范围的上下限（min/max）必须都是数字或都是 YYYY-MM-DD 日期，实为 [{lo}, {hi}]")
    kind = kinds.pop()
    if kind == "number" and lo and hi and float(lo) > float(hi):
        raise _custom_error(spec, f"下限 {lo} 大于上限 {hi}") if spec else DomainError(f"值域下限 {lo} 大于上限 {hi}")
    if kind == "date" and lo and hi and lo > hi:
        raise _custom_error(spec, f"下限 {lo} 晚于上限 {hi}") if spec else DomainError(f"值域下限 {lo} 晚于上限 {hi}")
    return {"min": lo or None, "max": hi or None, "bounds": kind}


# Constructs java.util.regex and Python accept but RE2 (DuckDB) does not, or the reverse.
_NOT_PORTABLE = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P|\\[AZz]|[*+?}][+]")


def _custom_rule(spec: RuleSpec, schema: ResourceSchema) -> Rule:
    names = set(schema.field_names)
    if spec.field not in names:
        which = f"自定义规则 {spec.id}" if spec.id else "自定义规则"
        raise DomainError(f"{which}：字段 {spec.field or '（空）'} 不是资源 {schema.resource_code} 的信息项", "field")
    c = schema.column(spec.field)
    title, params, code = c.title, dict(spec.params or {}), f"custom:{spec.id}"
    fields: tuple[str, ...]
    if spec.kind == RuleKind.PATTERN:
        pattern = str(params.get("pattern") or "")
        if not pattern:
            raise _custom_error(spec, "缺少正则表达式（pattern）")
        try:
            re.compile(pattern)
        except re.error as exc:
            where = f"第 {exc.pos + 1} 个字符处" if exc.pos is not None else ""
            raise _custom_error(spec, f"正则表达式“{pattern}”写法有误（{where}括号、方括号或转义不完整），请检查") from exc
        if _NOT_PORTABLE.search(pattern):
            raise _custom_error(spec, f"正则表达式“{pattern}”用了 DuckDB 与 Spark 不能同样执行的写法（前后断言、反向引用、占有量词等）")
        label, message, category, fields = f"{title} 符合格式 {pattern}", f"{title}：格式不符合 {pattern}", VALIDITY, (c.field_name,)
        params = {"pattern": pattern}
    elif spec.kind == RuleKind.RANGE:
        params = _range_params(spec, params.get("min"), params.get("max"))
        shown = range_text(params["min"], params["max"])
        label, message, category, fields = f"{title} {shown}", f"{title}：超出范围，应{shown}", VALIDITY, (c.field_name,)
    elif spec.kind == RuleKind.ID_BIRTHDATE:
        id_field = str(params.get("id_field") or "")
        if id_field not in names:
            raise _custom_error(spec, f"身份号码字段（id_field）“{id_field}”不是本资源的信息项")
        other = schema.column(id_field)
        label = f"{title} 与{other.title}中的出生日期一致"
        message = f"{title}：与{other.title}中的出生日期不一致"
        category, fields, params = CONSISTENCY, (c.field_name, id_field), {"id_field": id_field}
    elif spec.kind == RuleKind.COMPARE:
        op, other_name = str(params.get("op") or ""), str(params.get("other") or "")
        if op not in COMPARE_OPS:
            raise _custom_error(spec, f"比较符（op）“{op}”无效，可用：{' '.join(COMPARE_OPS)}")
        if other_name not in names or other_name == c.field_name:
            raise _custom_error(spec, f"比较字段（other）“{other_name}”不是本资源的另一个信息项")
        other = schema.column(other_name)
        if other.data_type != c.data_type and {other.data_type, c.data_type} != {DATETIME_TYPE, TIMESTAMP_TYPE}:
            raise _custom_error(spec, f"{title}（{c.data_type}）与 {other.title}（{other.data_type}）类型不同，不能比较")
        dated = c.data_type in (DATE_TYPE, DATETIME_TYPE, TIMESTAMP_TYPE)
        words = (COMPARE_WORDS_DATES if dated else COMPARE_WORDS)[op]  # 出生日期 早于 死亡日期
        label = f"{title} {words} {other.title}"
        message = f"{title}：应{words}“{other.label}”"
        category, fields, params = CONSISTENCY, (c.field_name, other_name), {"op": op, "other": other_name}
    elif spec.kind == RuleKind.REFERENCE:
        resource_code, key = str(params.get("resource_code") or ""), str(params.get("key") or "")
        if not resource_code or not key:
            raise _custom_error(spec, "引用规则需要被引用资源的代码（resource_code）和主键字段（key）")
        label = f"{title} 存在于资源 {resource_code} 的 {key}"
        message = f"{title}：在资源 {resource_code} 的 {key} 中不存在"
        category, fields, params = CONSISTENCY, (c.field_name,), {"resource_code": resource_code, "key": key}
    else:
        raise _custom_error(spec, f"不认识的规则类型“{spec.kind}”")
    params["data_type"] = c.data_type
    custom_message = (spec.message or "").strip()
    if custom_message:
        params["custom_message"] = True
        message = custom_message
    return Rule(code, c.field_name, label, category, message, str(spec.kind), fields, params)


def check_rule_spec(spec: RuleSpec, schema: ResourceSchema) -> Rule:
    """The rule a custom spec makes for this schema; DomainError (Chinese, naming the field or
    parameter) when it cannot run. Services call this before saving a custom rule."""
    return _custom_rule(spec, schema)


def derive_rules(schema: ResourceSchema, custom: Sequence[RuleSpec] = ()) -> list[Rule]:
    """The rules of a resource: structure, then each column's (schema order), key uniqueness, then
    the custom rules in the order given. Raises DomainError for a custom rule that cannot run."""
    rules = [structure_rule()]
    for c in schema.columns:
        rules.extend(_column_rules(c))
    keys = schema.keys
    if keys:
        names = tuple(k.field_name for k in keys)
        titles = "、".join(k.title for k in keys)
        rules.append(Rule(
            f"unique:{'+'.join(names)}", names[0] if len(names) == 1 else "", f"主键（{titles}）在本批次内唯一",
            UNIQUENESS, "主键重复", UNIQUE, names,
        ))
    seen: set[int] = set()
    for spec in custom:
        if spec.id in seen:
            raise _custom_error(spec, "规则编号重复")
        seen.add(spec.id)
        rules.append(_custom_rule(spec, schema))
    return rules


# --- code sets used by the checks ---------------------------------------------------------------
@lru_cache(maxsize=1)
def _current_divisions() -> tuple[str, ...]:
    return tuple(sorted(divisions.table()))


@lru_cache(maxsize=1)
def _historical_divisions() -> tuple[str, ...]:
    current = set(divisions.table())
    return tuple(sorted(c for c in pyval.historical_areas() if c not in current))


@lru_cache(maxsize=1)
def _known_areas() -> tuple[str, ...]:
    """Codes `validators.known_area` accepts: current or historical GB/T 2260 codes."""
    return tuple(sorted(set(_current_divisions()) | set(_historical_divisions())))


@lru_cache(maxsize=1)
def _county_like() -> tuple[str, ...]:
    return tuple(c for c in _current_divisions() if pyval._county_like(c) is not None)


@lru_cache(maxsize=1)
def _area_rows() -> dict[str, list[Any]]:
    """Current and historical area codes, whether current and county-like, and their share of the
    identity-number and credit-code check sums (positions 1–6 of an identity number, 3–8 of a credit
    code), so the per-row sum only adds the other 11 characters."""
    current, county = set(_current_divisions()), set(_county_like())
    codes = list(_known_areas())
    rid_w, uscc_w = pyval.RESIDENT_ID_WEIGHTS[:6], pyval.USCC_WEIGHTS[2:8]
    return {
        "code": codes,
        "current": [c in current for c in codes],
        "county": [c in county for c in codes],
        "rid_sum": [sum(int(d) * w for d, w in zip(c, rid_w, strict=True)) for c in codes],
        "uscc_sum": [sum(int(d) * w for d, w in zip(c, uscc_w, strict=True)) for c in codes],
    }


@lru_cache(maxsize=1)
def _area_arrow() -> pa.Table:
    schema = pa.schema([("code", pa.string()), ("current", pa.bool_()), ("county", pa.bool_()),
                        ("rid_sum", pa.int64()), ("uscc_sum", pa.int64())])
    return pa.Table.from_pydict(_area_rows(), schema=schema)


@lru_cache(maxsize=8)
def _sum_arrow(rows_of: Callable[..., dict[str, list[Any]]], *args: Any) -> pa.Table:
    """A (code, rid_sum) table as Arrow, built once per process: an Ibis memtable made from a dict
    goes through a pandas DataFrame, which cost more than the rest of the check's expression."""
    rows = rows_of(*args)
    return pa.Table.from_pydict(rows, schema=pa.schema([("code", pa.string()), ("rid_sum", pa.int64())]))


def _memtable(table: pa.Table, names: Sequence[str]) -> ir.Table:
    """An Ibis memtable over `table` (zero-copy) with its columns renamed to `names`."""
    return ibis.memtable(table.rename_columns(list(names)))


@lru_cache(maxsize=4)
def _birth_rows(earliest: date, today: date) -> dict[str, list[Any]]:
    """Every date from `earliest` to `today` as YYYYMMDD (positions 7–14 of an identity number) with
    its share of the check sum: a join with it tells whether the birth date exists and is in range,
    and adds those eight digits' share, so the per-row test needs no date cast or digit arithmetic."""
    weights = pyval.RESIDENT_ID_WEIGHTS[6:14]

    def share(digits: str, part: tuple[int, ...]) -> int:
        return sum(int(d) * w for d, w in zip(digits, part, strict=True))

    # The sum splits into the year's, the month's and the day's shares, each computed once: building
    # the ~65,000 dates with strftime and summing their digits took 0.4 s CPU in every new process.
    month_share = [share(f"{m:02d}", weights[4:6]) for m in range(13)]
    day_share = [share(f"{d:02d}", weights[6:8]) for d in range(32)]
    first, last = (earliest.year, earliest.month, earliest.day), (today.year, today.month, today.day)
    codes: list[str] = []
    sums: list[int] = []
    for y in range(earliest.year, today.year + 1):
        year_share = share(f"{y:04d}", weights[0:4])
        for m in range(1, 13):
            for d in range(1, calendar.monthrange(y, m)[1] + 1):
                if first <= (y, m, d) <= last:
                    codes.append(f"{y:04d}{m:02d}{d:02d}")
                    sums.append(year_share + month_share[m] + day_share[d])
    return {"code": codes, "rid_sum": sums}


@lru_cache(maxsize=1)
def _rid_tail_rows() -> dict[str, list[Any]]:
    """Positions 15–18 of an identity number (three digits and the check character, a digit or X)
    with their share of the check sum (X counts 10)."""
    weights = pyval.RESIDENT_ID_WEIGHTS[14:17]
    codes = [f"{n:03d}{c}" for n in range(1000) for c in "0123456789X"]
    return {
        "code": codes,
        "rid_sum": [sum(int(d) * w for d, w in zip(c[:3], weights, strict=True)) + (10 if c[3] == "X" else int(c[3]))
                    for c in codes],
    }


@lru_cache(maxsize=1)
def _uscc_categories() -> tuple[str, ...]:
    return tuple(a + t for a, (_name, types) in pyval.USCC_CATEGORIES.items() for t in types)


def warm_up(today: date) -> None:
    """Build the code tables the checks join with (the first call in a process reads the historical
    division codes, about a second)."""
    _area_arrow()
    _sum_arrow(_rid_tail_rows)
    _sum_arrow(_birth_rows, pyval.EARLIEST_BIRTH_DATE, today)
    _uscc_categories()


# --- building the check expression ----------------------------------------------------------------
def _lit(text: str) -> ir.StringValue:
    return ibis.literal(text, type="string")


def _null() -> ir.StringValue:
    return ibis.null("string")


def _first(*branches: tuple[ir.BooleanValue, ir.StringValue | str]) -> ir.StringValue:
    """The reason of the first true condition, else null."""
    return ibis.cases(*[(cond, _lit(v) if isinstance(v, str) else v) for cond, v in branches], else_=_null())


def _text(n: ir.IntegerValue) -> ir.StringValue:
    return n.cast("string")


@ibis.udf.scalar.builtin(name="substring")
def _substring(text: str, start: int, length: int) -> str:  # type: ignore[empty-body]
    """SQL SUBSTRING (1-based), the same on DuckDB and Spark."""


def _sub(v: ir.StringValue, start: int | ir.IntegerValue, length: int) -> ir.StringValue:
    """`length` characters from 0-based `start` (never negative here). Ibis' own substr guards
    against negative starts with a CASE that repeats `start`, which bloats Spark's plans."""
    result: ir.StringValue = _substring(v, start + 1, length)
    return result


def _digit(v: ir.StringValue, i: int) -> ir.IntegerValue:
    """The numeric value of the digit at position i (0-based); garbage for a non-digit."""
    return _sub(v, i, 1).ascii_str() - 48


def _int(v: ir.StringValue, start: int, length: int) -> ir.IntegerValue:
    """Digits at [start, start+length) as a number (assumes they are digits)."""
    total: ir.IntegerValue = _digit(v, start)
    for i in range(start + 1, start + length):
        total = total * 10 + _digit(v, i)
    return total


def _is_date(v: ir.StringValue) -> ir.BooleanValue:
    """`v` (shape YYYY-MM-DD already checked) is a real date. TRY_CAST agrees on DuckDB and Spark
    for that shape (proleptic Gregorian) except for year 0000, which Python has not either."""
    return v.try_cast("date").notnull() & ~v.startswith("0000")


Reason = Callable[[ir.Table], ir.StringValue]
Test = Callable[[ir.Table], ir.BooleanValue]
Branches = Callable[[ir.Table], list[tuple[ir.BooleanValue, ir.StringValue | str]]]


@dataclass
class _Check:
    """How one rule is evaluated: `fails` on every row (kept cheap: it is the filter of the one
    pass over the whole batch), `reason` only on the rows that fail something."""

    fails: Test
    reason: Reason


def _guard(fails: Test, fields: Sequence[str]) -> Test:
    def guarded(j: ir.Table) -> ir.BooleanValue:
        filled = functools.reduce(operator.and_, [j[f].notnull() for f in fields])
        return filled & fails(j)

    return guarded


def _chain(branches: Branches, fails: Test | None = None) -> _Check:
    """A check from (condition, reason) branches, the first true one giving the reason. `fails`
    defaults to "any condition is true"; a cheaper equivalent test may be given."""

    def any_true(j: ir.Table) -> ir.BooleanValue:
        return functools.reduce(operator.or_, [cond for cond, _ in branches(j)])

    return _Check(fails or any_true, lambda j: _first(*branches(j)))


@dataclass
class _Lookup:
    """A left join adding `hit` (not null when the row's key is found) and `extra` columns."""

    hit: str
    right: ir.Table
    on: list[tuple[ir.Value, str]]  # (expression on the staged table, column of `right`)
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Areas:
    """Columns an area-code join adds: `current` (true current, false historical, null unknown),
    `county` (a current county-like code) and the codes' shares of the check sums."""

    current: str
    county: str
    rid_sum: str
    uscc_sum: str

    def known(self, j: ir.Table) -> ir.BooleanValue:
        return j[self.current].notnull()

    def is_current(self, j: ir.Table) -> ir.BooleanValue:
        return j[self.current].fill_null(False)

    def is_county(self, j: ir.Table) -> ir.BooleanValue:
        return j[self.county].fill_null(False)


def _title(rule: Rule) -> str:
    return rule.message.split("：", 1)[0] if "：" in rule.message else rule.field


class Checker:
    """Evaluates rules over a staged table (``_row``, ``_structure`` and the text columns).

    `references` maps a reference rule's resource_code to that resource's current data (an Ibis
    table on the same backend), or None when the resource has no data yet. `today` bounds birth
    dates in identity numbers; the caller fixes it once so every engine uses the same day.
    """

    def __init__(
        self, rules: Sequence[Rule], *, today: date, references: Mapping[str, ir.Table | None] | None = None
    ):
        self.rules = list(rules)
        self.today = today
        self.references = dict(references or {})
        self._lookups: list[_Lookup] = []

    @staticmethod
    def reason_column(index: int) -> str:
        return f"_r{index}"

    @property
    def reason_columns(self) -> list[str]:
        return [self.reason_column(i) for i in range(len(self.rules))]

    def _prepare(self, t: ir.Table) -> tuple[ir.Table, list[_Check]]:
        needed = (ROW_COLUMN, STRUCTURE_COLUMN, *dict.fromkeys(f for r in self.rules for f in r.fields))
        missing = [c for c in needed if c not in t.columns]
        if missing:
            raise DomainError(f"暂存数据缺少列：{'、'.join(missing)}", missing[0])
        self._lookups = []
        checks = [self._plan(rule, t) for rule in self.rules]
        guarded = []
        for rule, check in zip(self.rules, checks, strict=True):
            if rule.kind not in (STRUCTURE, REQUIRED) and rule.fields:
                # a rule other than `required` passes a missing value
                check = _Check(_guard(check.fails, rule.fields), check.reason)
            guarded.append(check)
        return self._join(t), guarded

    def _fails(self, j: ir.Table, rule: Rule, check: _Check) -> ir.BooleanValue:
        """Whether the row fails `rule`; a row that could not be split fails only the structure rule."""
        if rule.kind == STRUCTURE:
            return check.fails(j)
        return j[STRUCTURE_COLUMN].isnull() & check.fails(j).fill_null(False)

    def _reasons(self, j: ir.Table, checks: list[_Check]) -> dict[str, ir.Value]:
        out: dict[str, ir.Value] = {}
        for i, (rule, check) in enumerate(zip(self.rules, checks, strict=True)):
            reason = _lit(rule.message) if rule.params.get("custom_message") else check.reason(j).fill_null(rule.message)
            out[self.reason_column(i)] = ibis.ifelse(self._fails(j, rule, check), reason, _null())
        return out

    def annotate(self, t: ir.Table) -> ir.Table:
        """Every row of `t` plus `_r<i>` (string; null when the row passes rule i)."""
        joined, checks = self._prepare(t)
        return joined.select(*[joined[c] for c in t.columns], **self._reasons(joined, checks))

    def failures(self, t: ir.Table) -> ir.Table:
        """Only the rows of `t` that fail some rule, plus the `_r<i>` reason columns. The filter
        evaluates the cheap tests on every row; reasons are worked out for the failing rows only."""
        joined, checks = self._prepare(t)
        split = joined[STRUCTURE_COLUMN].isnull()
        tests = [check.fails(joined) for rule, check in zip(self.rules, checks, strict=True) if rule.kind != STRUCTURE]
        condition = ~split
        if tests:
            condition = condition | (split & functools.reduce(operator.or_, tests))
        failing = joined.filter(condition)
        return failing.select(*[failing[c] for c in t.columns], **self._reasons(failing, checks))

    def _join(self, t: ir.Table) -> ir.Table:
        if not self._lookups:
            return t
        keys = {f"_lk{i}_on{n}": expr for i, lk in enumerate(self._lookups) for n, (expr, _c) in enumerate(lk.on)}
        keyed = t.mutate(**keys)
        # One chain of left joins and one projection: a projection after every join made Ibis
        # re-resolve every column of the growing table at each step (half the expression's cost).
        joined: ir.Table = keyed
        for i, lk in enumerate(self._lookups):
            predicates = [keyed[f"_lk{i}_on{n}"] == lk.right[c] for n, (_e, c) in enumerate(lk.on)]
            joined = joined.left_join(lk.right, predicates)
        return joined.select(
            *[keyed[c] for c in t.columns], *[lk.right[c] for lk in self._lookups for c in (lk.hit, *lk.extra)]
        )

    def _member(self, t: ir.Table, key: Callable[[ir.Table], ir.StringValue], values: Sequence[str]) -> Test:
        """Whether key(row) is one of `values`: an IN list for a few values, else a join with a
        one-column table (an IN list inside a projection is tested value by value on DuckDB)."""
        if len(values) <= _INLINE_SET_MAX:
            listed = list(values)
            return lambda j: key(j).isin(listed)
        index = len(self._lookups)
        hit, code = f"_lk{index}_hit", f"_lk{index}_key"
        right = _memtable(pa.table({code: pa.array(list(values), pa.string())}), [code]).mutate(**{hit: ibis.literal(True)})
        self._lookups.append(_Lookup(hit, right, [(key(t), code)]))
        return lambda j: j[hit].notnull()

    def _areas(self, t: ir.Table, key: Callable[[ir.Table], ir.StringValue]) -> _Areas:
        """Facts about the 6-digit area code key(row): one join with the table of current and
        historical GB/T 2260 codes."""
        index = len(self._lookups)
        names = {c: f"_lk{index}_{c}" for c in ("code", "current", "county", "rid_sum", "uscc_sum")}
        right = _memtable(_area_arrow(), [names[c] for c in _area_arrow().column_names])
        extra = (names["county"], names["rid_sum"], names["uscc_sum"])
        self._lookups.append(_Lookup(names["current"], right, [(key(t), names["code"])], extra))
        return _Areas(names["current"], names["county"], names["rid_sum"], names["uscc_sum"])

    def _sum_lookup(self, t: ir.Table, key: Callable[[ir.Table], ir.StringValue], rows: pa.Table) -> str:
        """Join a (code, rid_sum) table on key(row); the name of the added rid_sum column (null when
        the key is not in the table)."""
        index = len(self._lookups)
        code, share = f"_lk{index}_code", f"_lk{index}_sum"
        right = _memtable(rows, [code, share])
        self._lookups.append(_Lookup(share, right, [(key(t), code)]))
        return share

    def _plan(self, rule: Rule, t: ir.Table) -> _Check:
        builder = getattr(self, f"_plan_{rule.kind}", None)
        if builder is None:
            raise DomainError(f"规则 {rule.code} 的类型“{rule.kind}”无法执行", "rules")
        check: _Check = builder(rule, t)
        return check

    # Each _plan_<kind>(rule, t) registers the joins it needs on `t` and returns the _Check,
    # whose functions take the joined (and possibly filtered) table.
    def _plan_structure(self, rule: Rule, t: ir.Table) -> _Check:
        return _Check(lambda j: j[STRUCTURE_COLUMN].notnull(), lambda j: j[STRUCTURE_COLUMN])

    def _plan_required(self, rule: Rule, t: ir.Table) -> _Check:
        return _Check(lambda j: j[rule.field].isnull(), lambda j: _lit(rule.message))

    def _plan_type(self, rule: Rule, t: ir.Table) -> _Check:
        data_type, title = rule.params["data_type"], _title(rule)
        f = rule.field
        if data_type == NUMBER_TYPE:
            return _chain(
                lambda j: [
                    (~j[f].re_search(_NUMBER), rule.message),
                    (~j[f].re_search(_DECIMAL),
                     f"{title}：超出可存储的精度（整数部分最多 {DECIMAL_INTEGER_DIGITS} 位，小数最多 {DECIMAL_SCALE} 位）"),
                ],
                lambda j: ~j[f].re_search(_DECIMAL),
            )
        if data_type == DATE_TYPE:
            return _chain(lambda j: [
                (~j[f].re_search(_DATE), rule.message),
                (~_is_date(j[f]), _lit(f"{title}：日期 ").concat(j[f], " 不存在")),
            ])
        if data_type in (DATETIME_TYPE, TIMESTAMP_TYPE):
            return _chain(lambda j: [
                (~j[f].re_search(_DATETIME), rule.message),
                (~_is_date(_sub(j[f], 0, 10)), _lit(f"{title}：日期 ").concat(_sub(j[f], 0, 10), " 不存在")),
            ])
        if data_type == BOOLEAN_TYPE:
            return _chain(lambda j: [(~j[f].lower().isin([*TRUE_TEXTS, *FALSE_TEXTS]), rule.message)])
        return _chain(lambda j: [(~j[f].re_search(_BASE64), rule.message)])  # BINARY_TYPE

    def _plan_length(self, rule: Rule, t: ir.Table) -> _Check:
        limit = int(rule.params["length"])
        return _Check(
            lambda j: j[rule.field].length() > limit,
            lambda j: _lit(rule.message + "，实为 ").concat(_text(j[rule.field].length()), " 个"),
        )

    def _plan_code_table(self, rule: Rule, t: ir.Table) -> _Check:
        if "values" in rule.params:
            inside = self._member(t, lambda x: x[rule.field], rule.params["values"])
            return _Check(lambda j: ~inside(j), lambda j: _lit(rule.message))
        if rule.params.get("division"):
            return self._plan_division(rule, t)
        return self._plan_range(rule, t)

    def _plan_range(self, rule: Rule, t: ir.Table) -> _Check:
        low, high, bounds = rule.params.get("min"), rule.params.get("max"), rule.params.get("bounds")
        data_type, f = rule.params.get("data_type", ""), rule.field

        def branches(j: ir.Table) -> list[tuple[ir.BooleanValue, ir.StringValue | str]]:
            v = j[f]
            out: list[ir.BooleanValue] = []
            if bounds == "number":
                # a 数字 column's type rule already refuses text that is not a number
                readable = v.re_search(_NUMBER)
                number = v.try_cast("float64")
                unreadable = None if data_type == NUMBER_TYPE else rule.message + "（不是数字）"
                out += [number < float(low)] if low is not None else []
                out += [number > float(high)] if high is not None else []
            else:
                readable = v.re_search(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")
                dated = data_type in (DATE_TYPE, DATETIME_TYPE, TIMESTAMP_TYPE)
                unreadable = None if dated else rule.message + "（不是 YYYY-MM-DD 日期）"
                day = _sub(v, 0, 10)
                out += [day < _lit(str(low))] if low is not None else []
                out += [day > _lit(str(high))] if high is not None else []
            outside = readable & functools.reduce(operator.or_, out)
            if unreadable is None:
                return [(outside, rule.message)]
            return [(~readable, unreadable), (outside, rule.message)]

        return _chain(branches)

    def _plan_resident_id(self, rule: Rule, t: ir.Table) -> _Check:
        area = self._areas(t, lambda x: _sub(x[rule.field], 0, 6))
        today, earliest = self.today.strftime("%Y%m%d"), pyval.EARLIEST_BIRTH_DATE.strftime("%Y%m%d")
        prefix = f"{_title(rule)}："
        weights = pyval.RESIDENT_ID_WEIGHTS

        def weighted(v: ir.StringValue, start: int) -> ir.IntegerValue:
            total: ir.IntegerValue = _digit(v, start) * weights[start]
            for i in range(start + 1, 17):
                total = total + _digit(v, i) * weights[i]
            return total

        def check_value(v: ir.StringValue) -> ir.IntegerValue:
            return ibis.ifelse(_sub(v, 17, 1) == "X", 10, _digit(v, 17))

        # ISO 7064 MOD 11-2: the weighted digits plus the check value (X = 10) ≡ 1 (mod 11). Three
        # joins on small tables bring the shares of the sum: the area code (positions 1–6, current
        # or historical codes), the birth date (7–14, only real dates from EARLIEST_BIRTH_DATE to
        # today) and the tail (15–18, three digits and a digit or X). A part not in its table is
        # null, so the row fails: with the length 18 this is exactly the shape, the birth date and
        # the area code checks, without a regular expression, a date cast or digit arithmetic
        # (which cost more per row than all the other checks of a batch together).
        born = self._sum_lookup(t, lambda x: _sub(x[rule.field], 6, 8), _sum_arrow(_birth_rows, pyval.EARLIEST_BIRTH_DATE, self.today))
        tail = self._sum_lookup(t, lambda x: _sub(x[rule.field], 14, 4), _sum_arrow(_rid_tail_rows))

        def fails(j: ir.Table) -> ir.BooleanValue:
            check_ok = (j[area.rid_sum] + j[born] + j[tail]) % 11 == 1
            return (j[rule.field].length() != 18) | ~check_ok.fill_null(False)

        def branches(j: ir.Table) -> list[tuple[ir.BooleanValue, ir.StringValue | str]]:
            v = j[rule.field]
            n, given, birth = v.length(), _sub(v, 17, 1), _sub(v, 6, 8)
            iso = _sub(v, 6, 4).concat("-", _sub(v, 10, 2), "-", _sub(v, 12, 2))
            total = weighted(v, 0)
            expected = _sub(_lit(pyval.RESIDENT_ID_CHECK_CHARS), total % 11, 1)
            y, m, d = _int(v, 6, 4), _int(v, 10, 2), _int(v, 12, 2)
            not_leap = ~((y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0)))
            leap_hint = ibis.ifelse(
                (m == 2) & (d == 29) & not_leap, _lit("（").concat(_sub(v, 6, 4), " 年不是闰年，2 月没有 29 日）"), _lit("")
            )
            head = _lit(prefix)
            return [
                ((n == 15) & v.re_search(_DIGITS), prefix + "应为 18 位，实为 15 位（这是 15 位的旧号码，请使用 18 位号码）"),
                (n != 18, head.concat("应为 18 位，实为 ", _text(n), " 位")),
                (~v.re_search(r"^[0-9]{17}"), prefix + "前 17 位必须是数字"),
                (~v.re_search(_RESIDENT_ID_SHAPE), head.concat("第 18 位（校验码）必须是数字或 X，实为“", given, "”")),
                ((total + check_value(v)) % 11 != 1, head.concat("校验码错误：应为 ", expected, "，实为 ", given)),
                (iso.try_cast("date").isnull(), head.concat("出生日期 ", birth, " 不是有效日期", leap_hint)),
                (birth > _lit(today), head.concat("出生日期 ", iso, " 晚于今天")),
                (birth < _lit(earliest), head.concat("出生日期 ", iso, f" 早于 {pyval.EARLIEST_BIRTH_DATE.isoformat()}")),
                (~area.known(j), head.concat("地址码 ", _sub(v, 0, 6), " 不是已知的行政区划代码")),
            ]

        return _chain(branches, fails)

    def _plan_uscc(self, rule: Rule, t: ir.Table) -> _Check:
        area = self._areas(t, lambda x: _sub(x[rule.field], 2, 6))
        categories, authorities = list(_uscc_categories()), list(pyval.USCC_CATEGORIES)
        prefix = f"{_title(rule)}："
        alphabet = _lit(pyval.USCC_ALPHABET)
        weights = pyval.USCC_WEIGHTS
        national_sum = sum(int(d) * w for d, w in zip(pyval.NATIONAL_AREA_CODE, weights[2:8], strict=True))

        def weighted(v: ir.StringValue, positions: Sequence[int]) -> ir.IntegerValue:
            terms = [alphabet.find(_sub(v, i, 1)) * weights[i] for i in positions]
            return functools.reduce(operator.add, terms)

        def fails(j: ir.Table) -> ir.BooleanValue:
            v = j[rule.field]
            # the area join brings positions 3–8's share of the sum (null for an unknown area code)
            area_sum = ibis.ifelse(_sub(v, 2, 6) == pyval.NATIONAL_AREA_CODE, national_sum, j[area.uscc_sum])
            total = area_sum + weighted(v, [0, 1, *range(8, 17)])
            # the check character's value makes the weighted sum a multiple of 31
            check_ok = (total + alphabet.find(_sub(v, 17, 1))) % 31 == 0
            return ~v.re_search(_USCC_CHARS) | ~check_ok.fill_null(False) | ~_sub(v, 0, 2).isin(categories)

        def branches(j: ir.Table) -> list[tuple[ir.BooleanValue, ir.StringValue | str]]:
            v = j[rule.field]
            given, area_code, authority, n = _sub(v, 17, 1), _sub(v, 2, 6), _sub(v, 0, 1), v.length()
            total = weighted(v, range(17))
            expected = _sub(alphabet, (31 - total % 31) % 31, 1)
            head = _lit(prefix)
            return [
                (n != 18, head.concat("应为 18 位，实为 ", _text(n), " 位")),
                (~v.re_search(_USCC_CHARS), prefix + "含不允许的字符（只用数字和除 I、O、Z、S、V 外的大写字母）"),
                (~area_code.re_search(_DIGITS),
                 head.concat("第 3—8 位（登记管理机关行政区划码）必须是数字，实为 ", area_code)),
                ((total + alphabet.find(given)) % 31 != 0, head.concat("校验码错误：应为 ", expected, "，实为 ", given)),
                (~authority.isin(authorities), head.concat("登记管理部门代码“", authority, "”不在 GB 32100 代码表中")),
                (~_sub(v, 0, 2).isin(categories),
                 head.concat("机构类别代码“", _sub(v, 1, 1), "”不属于登记管理部门“", authority, "”")),
                (~(area.known(j) | (area_code == pyval.NATIONAL_AREA_CODE)),
                 head.concat("登记管理机关行政区划码 ", area_code, " 不是已知的行政区划代码")),
            ]

        return _chain(branches, fails)

    def _plan_division(self, rule: Rule, t: ir.Table) -> _Check:
        area = self._areas(t, lambda x: _sub(x[rule.field], 0, 6))
        known, current, county = area.known, area.is_current, area.is_county
        prefix, f = f"{_title(rule)}：", rule.field

        def shape(j: ir.Table) -> tuple[ir.StringValue, ir.IntegerValue, ir.BooleanValue]:
            v = j[f]
            n = v.length()
            # a 12-digit code padded with 000000 stands for the 6-digit code (and 000 for the 9-digit)
            return v, n, (n == 6) | ((n == 12) & (_sub(v, 6, 6) == "000000"))

        def fails(j: ir.Table) -> ir.BooleanValue:
            v, n, level6 = shape(j)
            lower = ((n == 9) | (n == 12)) & county(j) & (_sub(v, 6, 3) != "000")
            return ~v.re_search(_DIGITS) | ~ibis.ifelse(level6, current(j), lower)

        def branches(j: ir.Table) -> list[tuple[ir.BooleanValue, ir.StringValue | str]]:
            v, n, level6 = shape(j)
            short = ibis.ifelse(
                level6, _sub(v, 0, 6), ibis.ifelse((n == 12) & (_sub(v, 9, 3) == "000"), _sub(v, 0, 9), v)
            )
            head = _lit(prefix)
            return [
                (~v.re_search(_DIGITS), prefix + "只能包含数字"),
                (level6 & known(j) & ~current(j), head.concat("行政区划代码 ", short, " 已撤销或变更，不是现行代码")),
                (level6 & ~current(j), head.concat("行政区划代码 ", short, " 不是已知的行政区划代码")),
                (~level6 & ~((n == 9) | (n == 12)),
                 head.concat("应为 6 位（县级及以上）或 9 位、12 位（乡级、村级统计用代码），实为 ", _text(n), " 位")),
                (~level6 & ~county(j), head.concat("行政区划代码 ", short, " 的前 6 位不是现行的县级行政区划代码")),
                (~level6 & (_sub(v, 6, 3) == "000"),
                 head.concat("行政区划代码 ", short, " 的乡级部分（第 7—9 位）不能是 000")),
            ]

        return _chain(branches, fails)

    def _plan_unique(self, rule: Rule, t: ir.Table) -> _Check:
        keys = list(rule.fields)
        index = len(self._lookups)
        hit = f"_lk{index}_hit"
        filled = t[STRUCTURE_COLUMN].isnull()
        for k in keys:
            filled = filled & t[k].notnull()
        names = {f"_lk{index}_k{n}": k for n, k in enumerate(keys)}
        duplicated = (
            t.filter(filled).group_by(keys).aggregate(**{hit: ibis._.count()}).filter(ibis._[hit] > 1).rename(names)
        )
        self._lookups.append(_Lookup(hit, duplicated, [(t[k], name) for name, k in names.items()]))
        return _Check(
            lambda j: j[hit].notnull(),
            lambda j: _lit("主键重复：本批次有 ").concat(_text(j[hit]), " 行主键相同"),
        )

    def _plan_pattern(self, rule: Rule, t: ir.Table) -> _Check:
        pattern = f"^(?:{rule.params['pattern']})$"
        return _Check(lambda j: ~j[rule.field].re_search(pattern), lambda j: _lit(rule.message))

    def _plan_id_birthdate(self, rule: Rule, t: ir.Table) -> _Check:
        id_field = rule.params["id_field"]

        def fails(j: ir.Table) -> ir.BooleanValue:
            v, ident = j[rule.field], j[id_field]
            # only when both can be read; their own rules report unreadable values
            # (LIKE, not a regular expression: the shape is enough, and it is cheaper per row)
            comparable = v.like("____-__-__%") & (ident.length() == 18)
            day = _sub(v, 0, 4).concat(_sub(v, 5, 2), _sub(v, 8, 2))
            return comparable & (day != _sub(ident, 6, 8))

        return _Check(fails, lambda j: _lit(rule.message))

    def _plan_compare(self, rule: Rule, t: ir.Table) -> _Check:
        op, other, data_type = rule.params["op"], rule.params["other"], rule.params.get("data_type", "")

        def fails(j: ir.Table) -> ir.BooleanValue:
            a, b = j[rule.field], j[other]
            x: ir.Value
            y: ir.Value
            if data_type == NUMBER_TYPE:
                readable = a.re_search(_NUMBER) & b.re_search(_NUMBER)
                x, y = a.try_cast("float64"), b.try_cast("float64")
            elif data_type == DATE_TYPE:
                readable = a.re_search(_DATE) & b.re_search(_DATE)
                x, y = a, b
            elif data_type in (DATETIME_TYPE, TIMESTAMP_TYPE):
                readable = a.re_search(_DATETIME) & b.re_search(_DATETIME)
                x, y = a.try_cast("timestamp"), b.try_cast("timestamp")
            else:
                readable, x, y = ibis.literal(True), a, b
            holds = {"<": x < y, "<=": x <= y, "=": x == y, "!=": x != y, ">=": x >= y, ">": x > y}[op]
            return readable & ~holds.fill_null(True)

        return _Check(fails, lambda j: _lit(rule.message))

    def _plan_reference(self, rule: Rule, t: ir.Table) -> _Check:
        resource_code, key = rule.params["resource_code"], rule.params["key"]
        if resource_code not in self.references:
            raise DomainError(f"引用规则“{rule.label}”需要资源 {resource_code} 的当前数据，但调用时没有提供", rule.field)
        target = self.references[resource_code]
        if target is None:
            empty = f"{_title(rule)}：被引用的资源 {resource_code} 还没有任何数据，无法核对"
            return _Check(lambda j: j[rule.field].notnull(), lambda j: _lit(empty))
        if key not in target.columns:
            raise DomainError(f"引用规则“{rule.label}”：资源 {resource_code} 的数据没有字段 {key}", rule.field)
        index = len(self._lookups)
        hit, code = f"_lk{index}_hit", f"_lk{index}_key"
        target_type = target[key].type()
        value = t[rule.field] if target_type.is_string() else t[rule.field].try_cast(target_type)
        right = (
            target.select(**{code: target[key]}).filter(ibis._[code].notnull()).distinct()
            .mutate(**{hit: ibis.literal(True)})
        )
        self._lookups.append(_Lookup(hit, right, [(value, code)]))
        return _Check(lambda j: j[rule.field].notnull() & j[hit].isnull(), lambda j: _lit(rule.message))
