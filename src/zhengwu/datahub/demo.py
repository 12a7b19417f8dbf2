"""Demo data for the demo city's base resources (人口、法人、电子证照、地名地址), with deliberate errors.

Everything here is GENERATED, not real: the people, enterprises, licences and addresses are made up
from one seeded ``random.Random``, so the same seed gives the same rows. They are made to look like
a real 梅州 export and to pass the national checks a real export would pass:

- people: 18-digit resident identity numbers whose address code is a real 梅州 county code (read
  from ``core.divisions``, the city found by ``directory.demo.city_division``), with a birth date
  and sex digit that agree with the birth date and sex columns and a correct check character;
  Chinese names drawn from weighted surnames common in 梅州 and given-name characters of the
  person's generation; addresses in the real counties with made-up streets and numbers; mobile
  numbers with real carrier prefixes;
- legal persons: unified social credit codes with a valid check character, names such as
  "梅州市梅江区鸿达贸易有限公司", capital, founding date and a registration status from the item's
  code table;
- e-licences referring to generated people and enterprises, and addresses with coordinates
  inside 梅州 (longitude 115.5–116.9, latitude 23.3–24.9).

Rows are driven by the resource's schema at run time (``datahub.schema.schema_for``): each item
gets its value from a generator for its field name when one is known (``id_no``, ``uscc``, …), else
by its semantic kind, code table, Chinese name, and finally its data type. So items added to the
catalog later still get sensible values, and values always obey the item's code table.

Deliberate errors: a share of rows (``error_rate``, default 2 %) is made wrong in one realistic way,
spread over the kinds in `ERROR_KINDS` that the resource's rules can catch (a wrong check
character only where there is an identity number or credit code, an unknown code only where the
item has a code table, an empty value only in a required item …). Each is recorded as a
`Corruption` so tests and the demo can find it again in quarantine.

Rows are produced lazily (``iter(DemoTable)`` is a generator), and the writers stream, so a file
of ten million rows is written without holding it in memory.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import json
import math
import random
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from zhengwu.catalog.codetables import ETHNIC_CODES, CodeTable
from zhengwu.core import divisions
from zhengwu.core.errors import DomainError
from zhengwu.core.validators import known_area, resident_id_check_char, uscc_check_char

from .constants import RuleKind
from .schema import DIVISION, RESIDENT_ID, USCC, Column, ResourceSchema, RuleSpec

DEFAULT_SEED = 2026
DEFAULT_ERROR_RATE = 0.02

PEOPLE, LEGAL_PERSONS, LICENCES, ADDRESSES = "people", "legal_persons", "licences", "addresses"
KINDS = (PEOPLE, LEGAL_PERSONS, LICENCES, ADDRESSES)

# The demo catalog's names of the base resources (catalog/demo.py), by kind.
RESOURCE_NAMES = {
    PEOPLE: "人口基本信息",
    LEGAL_PERSONS: "市场主体登记信息",
    LICENCES: "电子证照目录信息",
    ADDRESSES: "地名地址信息",
}

# Deliberate error kinds, in the order they are spread over corrupted rows.
ERROR_KINDS: dict[str, str] = {
    "check_digit": "校验码错误",
    "impossible_birth_date": "身份号码中的出生日期不存在",
    "birth_date_mismatch": "出生日期与身份号码不一致",
    "empty_required": "必填项为空",
    "unknown_code": "代码不在代码表中",
    "unknown_division": "行政区划代码不存在",
    "duplicate_key": "主键重复",
    "too_long": "超过规定长度",
    "bad_date": "日期格式错误",
    "not_a_number": "数字项含非数字字符",
}

def _words(text: str) -> list[str]:
    return text.split()


LONGITUDE_RANGE = (115.5, 116.9)
LATITUDE_RANGE = (23.3, 24.9)

# Registration status codes of market entities (the demo catalog's code table).
REG_STATUS = {"1": "存续", "2": "在业", "3": "吊销", "4": "注销", "5": "迁出"}
_REG_STATUS_WEIGHTS = {"1": 70, "2": 15, "3": 4, "4": 9, "5": 2}

# GB/T 4762 政治面貌 (婚姻状况 GB/T 2261.2 and 学历 GB/T 4658 codes are chosen by age below).
POLITICAL_CODES = {"01": "中国共产党党员", "03": "中国共产主义青年团团员", "13": "群众"}


@dataclass(frozen=True)
class Corruption:
    """One deliberately wrong row."""

    row: int  # 1-based data row number (the header row is not counted)
    kind: str  # a key of ERROR_KINDS
    field: str  # the item made wrong
    value: str  # the wrong value as written
    key: str  # the row's key value(s) as written, joined by "|"
    note: str  # what is wrong, in Chinese
    original_row: int | None = None  # duplicate_key: the earlier row whose key is repeated

    @property
    def kind_label(self) -> str:
        return ERROR_KINDS[self.kind]


# --- the demo city's geography ---------------------------------------------------------------------

# Approximate centre (longitude, latitude) of each 梅州 county-level division, its spread in degrees
# and its share of the population (2020 census, in ten thousands), by GB/T 2260 code. Names come from
# the division table, not from here; a county missing below gets the city centre and a small share.
_COUNTY_FACTS: dict[str, tuple[float, float, float, float]] = {
    "441402": (116.12, 24.31, 0.05, 45),
    "441403": (116.05, 24.27, 0.15, 56),
    "441422": (116.69, 24.35, 0.14, 37),
    "441423": (116.18, 23.75, 0.14, 48),
    "441424": (115.78, 23.93, 0.15, 105),
    "441426": (115.89, 24.57, 0.12, 23),
    "441427": (116.17, 24.66, 0.10, 20),
    "441481": (115.73, 24.14, 0.15, 96),
}
_CITY_CENTRE = (116.12, 24.29)

# Made-up road and township name stems (generic words used for streets all over China).
_STEMS = _words(
    "人民 解放 建设 和平 文化 新华 东风 嘉应 客都 梅水 江南 江北 彩虹 沿江 环城 学府 丽都 富康 兴业 华侨 育才 "
    "桂花 榕树 松涛 凤岗 龙岗 青云 锦绣 金湖 长安 东升 南华 西岭 北山 五里 三星 双龙 黄竹 新村 石岭"
)
_ROAD_SUFFIXES = (("路", 50), ("大道", 8), ("街", 20), ("巷", 10), ("北路", 6), ("南路", 6))
_ESTATES = _words("花园 小区 新村 苑 雅居 华庭 名都 御景")


@dataclass(frozen=True)
class County:
    code: str
    name: str
    full_name: str  # 广东省梅州市梅江区
    weight: float
    lon: float
    lat: float
    spread: float
    towns: tuple[str, ...]
    bad_codes: tuple[str, ...]  # typos of the code that are no division code, now or ever
    native_place: str  # how 籍贯 is written: 广东五华县


def _typos(code: str) -> tuple[str, ...]:
    """Plausible mistypings of a county code (swapped or changed last digits) that no table knows."""
    candidates = [code[:4] + code[5] + code[4], code[:5] + str((int(code[5]) + 5) % 10), code[:4] + "9" + code[5]]
    return tuple(c for c in dict.fromkeys(candidates) if c != code and known_area(c) is None)


@lru_cache(maxsize=1)
def demo_counties() -> tuple[County, ...]:
    """The demo city's county-level divisions (梅州市 441400's children in the division table)."""
    from zhengwu.directory.demo import COUNTIES, city_division

    city = city_division()
    province = divisions.get(city.parent_code or "")
    province_short = province.name.removesuffix("省") if province else ""
    result = []
    for index, division in enumerate(divisions.children(city.code)):
        lon, lat, spread, weight = _COUNTY_FACTS.get(division.code, (*_CITY_CENTRE, 0.1, 20))
        real_towns = tuple(COUNTIES.get(division.name, {}))
        made_up = tuple(
            _STEMS[(index * 7 + k * 5) % len(_STEMS)] + ("镇" if k % 3 else "街道") for k in range(8)
        )
        towns = tuple(dict.fromkeys(real_towns + made_up))
        result.append(
            County(
                code=division.code, name=division.name, full_name=division.full_name, weight=weight, lon=lon,
                lat=lat, spread=spread, towns=towns, bad_codes=_typos(division.code),
                native_place=province_short + division.name,
            )
        )
    if not result:
        raise DomainError(f"行政区划表中 {city.name}（{city.code}）没有下级区县，无法生成演示数据")
    return tuple(result)


def demo_city() -> divisions.Division:
    from zhengwu.directory.demo import city_division

    return city_division()


def demo_city_display_name() -> str:
    """The name the demo city's own units carry (示范市), e.g. for a registration authority."""
    from zhengwu.directory.demo import CITY_DISPLAY_NAME

    return CITY_DISPLAY_NAME


# --- names ---------------------------------------------------------------------------------------------

# Surnames common in 梅州 (客家), with rough weights.
_SURNAMES = [
    ("李", 60), ("张", 50), ("黄", 50), ("陈", 48), ("刘", 45), ("曾", 30), ("钟", 30), ("罗", 30), ("林", 28),
    ("温", 25), ("杨", 25), ("叶", 22), ("谢", 20), ("古", 18), ("廖", 20), ("邓", 18), ("丘", 10), ("邱", 12),
    ("朱", 12), ("吴", 15), ("何", 12), ("王", 15), ("赖", 15), ("卢", 12), ("梁", 10), ("蓝", 6), ("饶", 6),
    ("彭", 8), ("徐", 8), ("傅", 5), ("熊", 5), ("范", 5), ("余", 6), ("郭", 6), ("江", 6), ("胡", 6), ("肖", 6),
    ("潘", 5), ("巫", 4), ("凌", 4), ("郑", 6), ("宋", 4), ("魏", 4), ("周", 6), ("侯", 4), ("利", 3), ("池", 3),
    ("房", 3), ("汤", 3), ("欧阳", 1), ("司徒", 1),
]
# Given-name characters by sex and generation (born before 1970, 1970–1999, 2000 and later).
_GIVEN = {
    ("1", 0): "国 建 德 福 财 生 贵 发 明 华 文 荣 祥 金 水 林 昌 振 兴 添 新 汉 永 光 庆 瑞 胜 耀 辉 炳 锦 桂",
    ("1", 1): "伟 强 明 志 华 建 俊 杰 文 辉 军 勇 斌 涛 峰 磊 超 林 荣 锋 平 东 海 波 洪 坤 彬 健 亮 振 嘉 宏 新 源",
    ("1", 2): "浩 宇 轩 子 睿 俊 杰 博 文 泽 昊 晨 梓 航 嘉 鑫 宏 铭 哲 皓 瀚 逸 宸 熙 然 霖 锐 凯 祺 钧",
    ("2", 0): "秀 英 兰 凤 珍 玉 桂 梅 娣 妹 芳 琼 金 珠 莲 菊 香 娥 群 丽 华 春 淑 惠 素 月",
    ("2", 1): "芳 丽 敏 静 燕 娟 玲 红 梅 霞 婷 雪 琳 慧 艳 萍 琴 莉 洁 倩 颖 蓉 丹 晶 佳 露 红 媚 秋 美",
    ("2", 2): "欣 怡 诗 雨 萱 涵 梓 可 思 琪 婷 佳 悦 妍 晴 雅 彤 馨 语 心 晨 瑶 菲 璐 钰 童 依 若 紫 韵",
}
_GIVEN_POOLS = {key: _words(value) for key, value in _GIVEN.items()}

# Shop names (字号) and industries of market entities.
_BRANDS = _words(
    "鸿达 宏盛 金利 恒昌 华通 粤梅 嘉禾 客家 梅兴 裕丰 隆发 永泰 天成 汇丰 盛源 宝利 富华 新城 南粤 荣达 "
    "信和 兴旺 创新 聚力 万家 博文 锦程 瑞丰 丰顺 明辉 泰安 和美 启航 宏图 德润 金叶 青山 绿源 长青 福临"
)
_INDUSTRIES = [
    ("贸易", 20), ("电子科技", 8), ("建筑工程", 8), ("食品", 6), ("物流", 6), ("农业发展", 8), ("餐饮管理", 6),
    ("房地产开发", 3), ("汽车服务", 4), ("茶业", 4), ("金柚种植", 3), ("陶瓷", 3), ("电力工程", 2), ("文化传媒", 4),
    ("旅游开发", 3), ("医药", 3), ("家具", 3), ("信息技术", 5), ("环保科技", 3), ("服装", 3),
]
_SHOPS = _words("便利店 小吃店 五金店 理发店 副食店 汽车修理店 服装店 茶庄 水果店 粮油店 早餐店 快递代办点 手机店 药店")
_COOP_PRODUCTS = _words("金柚 茶叶 脐橙 沙田柚 蜜柚 生猪 三华李 稻谷 蔬菜 食用菌")
_CAPITAL_91 = [(3, 2), (5, 5), (10, 12), (20, 8), (30, 8), (50, 14), (100, 18), (200, 10), (300, 7), (500, 7),
               (800, 2), (1000, 5), (2000, 2), (5000, 1)]
_CAPITAL_92 = [(0.5, 5), (1, 20), (2, 15), (3, 20), (5, 25), (10, 15)]
_CAPITAL_93 = [(5, 20), (10, 30), (20, 20), (50, 20), (100, 10)]

# Mobile number prefixes of the three carriers.
_MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 175 176 177 178 "
    "180 181 182 183 184 185 186 187 188 189 191 193 195 198 199"
)

# Ethnic composition of 梅州 (GB/T 3304 codes): almost all 汉族, some 畲族 and others.
_ETHNIC_WEIGHTS = [("01", 99_300), ("22", 250), ("08", 150), ("13", 100), ("15", 50), ("06", 40), ("03", 40),
                   ("10", 20), ("12", 20), ("04", 10), ("97", 10), ("98", 10)]
# Births per 5-year cohort starting in the given year (a rough population pyramid).
_COHORTS = [(1930, 0.6), (1935, 1.0), (1940, 1.6), (1945, 2.2), (1950, 3.2), (1955, 3.8), (1960, 4.8),
            (1965, 6.5), (1970, 7.2), (1975, 6.8), (1980, 6.5), (1985, 7.0), (1990, 7.5), (1995, 6.8),
            (2000, 6.0), (2005, 6.2), (2010, 6.5), (2015, 6.8), (2020, 4.0)]

# E-licence types: (code, name, holder: "person"/"enterprise", years valid or 0 for 长期有效, weight).
# The codes are demo codes (pinyin initials), not a national code table.
LICENCE_TYPES = [
    ("JMHKB", "居民户口簿", "person", 0, 12),
    ("JHZ", "结婚证", "person", 0, 8),
    ("JDCJSZ", "机动车驾驶证", "person", 6, 12),
    ("CJRZ", "残疾人证", "person", 10, 2),
    ("CSYXZM", "出生医学证明", "person", 0, 5),
    ("BDCQZS", "不动产权证书", "person", 0, 8),
    ("ZYJNDJZS", "职业技能等级证书", "person", 0, 3),
    ("YYZZ", "营业执照", "enterprise", 0, 20),
    ("SPJYXKZ", "食品经营许可证", "enterprise", 5, 8),
    ("YPJYXKZ", "药品经营许可证", "enterprise", 5, 2),
    ("PWXKZ", "排污许可证", "enterprise", 5, 2),
    ("DLYSJYXKZ", "道路运输经营许可证", "enterprise", 4, 2),
    ("JZYQYZZZS", "建筑业企业资质证书", "enterprise", 5, 2),
]
FAR_FUTURE = "9999-12-31"  # how government systems write 长期有效 in a date column


# --- weighted choice, fast -------------------------------------------------------------------------------


class _Weighted:
    """Weighted choice by bisecting cumulative weights (faster than random.choices for one pick)."""

    __slots__ = ("cumulative", "total", "values")

    def __init__(self, pairs: Iterable[tuple[Any, float]]):
        values, weights = zip(*pairs, strict=True)
        self.values = list(values)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


_SURNAME_PICK = _Weighted(_SURNAMES)
_INDUSTRY_PICK = _Weighted(_INDUSTRIES)
_ETHNIC_PICK = _Weighted(_ETHNIC_WEIGHTS)
_REG_STATUS_PICK = _Weighted(_REG_STATUS_WEIGHTS.items())
_ROAD_SUFFIX_PICK = _Weighted(_ROAD_SUFFIXES)
_CAPITAL_PICKS = {"1": _Weighted(_CAPITAL_91), "2": _Weighted(_CAPITAL_92), "3": _Weighted(_CAPITAL_93)}
_LICENCE_PICKS = {
    holder: _Weighted([(t, t[4]) for t in LICENCE_TYPES if t[2] == holder]) for holder in ("person", "enterprise")
}


def _fmt_number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


# --- the value source: one seeded Random and the city -------------------------------------------------------


class CityFaker:
    """Realistic values of the demo city from one seeded `random.Random`. Deterministic: the same
    seed and the same sequence of calls give the same values."""

    def __init__(self, seed: int = DEFAULT_SEED, *, today: date | None = None):
        self.rng = random.Random(seed)
        self.today = today or date.today()
        self.counties = demo_counties()
        self.city = demo_city()
        self.city_display_name = demo_city_display_name()
        self.county_pick = _Weighted((c, c.weight) for c in self.counties)
        self._id_slots: dict[tuple[str, int, int], int] = {}
        self._org_serial = 0
        self._org_offset = self.rng.randrange(10**8)
        births = []
        last = self.today.toordinal() - 1
        for start, weight in _COHORTS:
            low = date(start, 1, 1).toordinal()
            high = min(date(start + 5, 1, 1).toordinal(), last)
            if high > low:
                births.append(((low, high), weight * (high - low) / 1826))
        self._birth_pick = _Weighted(births)

    # people
    def county(self) -> County:
        county: County = self.county_pick.pick(self.rng)
        return county

    def birth_date(self) -> date:
        low, high = self._birth_pick.pick(self.rng)
        return date.fromordinal(low + int(self.rng.random() * (high - low)))

    def name(self, gender: str, born: date | None = None) -> str:
        rng = self.rng
        surname: str = _SURNAME_PICK.pick(rng)
        year = born.year if born else 1985
        era = 0 if year < 1970 else (1 if year < 2000 else 2)
        pool = _GIVEN_POOLS[(gender, era)]
        if rng.random() < 0.22 or len(surname) == 2:
            return surname + pool[int(rng.random() * len(pool))]
        return surname + pool[int(rng.random() * len(pool))] + pool[int(rng.random() * len(pool))]

    def resident_id(self, area: str, born: date, gender: str) -> str:
        """A valid, unique identity number: the sequence code is allocated per (area, birth date, sex)."""
        male = gender == "1"
        ordinal = born.toordinal()
        step = 1
        while True:
            slot = (area, ordinal, 1 if male else 0)
            n = self._id_slots.get(slot, 0)
            if n < 500:
                self._id_slots[slot] = n + 1
                break
            # that day's 500 sequence numbers are used up: move to the next day (earlier, near today)
            if ordinal + step >= self.today.toordinal():
                step = -1
            ordinal += step
        offset = (ordinal * 7919 + int(area) * 104729) % 500
        order = ((offset + n * 37) % 500) * 2 + (1 if male else 0)
        day = date.fromordinal(ordinal)
        body = f"{area}{day.year:04d}{day.month:02d}{day.day:02d}{order:03d}"
        return body + resident_id_check_char(body)

    def mobile(self) -> str:
        rng = self.rng
        return _MOBILE_PREFIXES[int(rng.random() * len(_MOBILE_PREFIXES))] + f"{int(rng.random() * 1e8):08d}"

    def road(self, county: County) -> tuple[int, str]:
        rng = self.rng
        index = int(rng.random() * len(_STEMS))
        return index, _STEMS[index] + _ROAD_SUFFIX_PICK.pick(rng)

    def address(self, county: County, *, rural_share: float = 0.25) -> str:
        rng = self.rng
        roll = rng.random()
        town = county.towns[int(rng.random() * len(county.towns))]
        if roll < rural_share and not town.endswith("街道"):
            village = _STEMS[int(rng.random() * len(_STEMS))] + "村"
            return f"{county.full_name}{town}{village}{int(rng.random() * 12) + 1}组{int(rng.random() * 80) + 1}号"
        _, road = self.road(county)
        number = int(rng.random() * 300) + 1
        if roll < 0.55:
            return f"{county.full_name}{road}{number}号"
        estate = _STEMS[int(rng.random() * len(_STEMS))] + _ESTATES[int(rng.random() * len(_ESTATES))]
        building, floor, room = int(rng.random() * 20) + 1, int(rng.random() * 18) + 1, int(rng.random() * 4) + 1
        return f"{county.full_name}{road}{number}号{estate}{building}栋{floor}{room:02d}房"

    def date_between(self, low: date, high: date) -> date:
        span = max(0, high.toordinal() - low.toordinal())
        return date.fromordinal(low.toordinal() + int(self.rng.random() * (span + 1)))

    def person(self) -> dict[str, Any]:
        rng = self.rng
        county = self.county()
        born = self.birth_date()
        gender = "1" if rng.random() < 0.512 else "2"
        birthplace = county if rng.random() < 0.88 else self.county()
        id_no = self.resident_id(birthplace.code, born, gender)
        born = date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))  # a full day moves it on
        return {
            "id_no": id_no,
            "person_name": self.name(gender, born),
            "gender": gender,
            "ethnicity": _ETHNIC_PICK.pick(rng),
            "birth_date": born.isoformat(),
            "household_address": self.address(county),
            "division_code": county.code,
            "phone": self.mobile(),
            "_county": county,
            "_birthplace": birthplace,
            "_born": born,
            "_gender": gender,
        }

    # legal persons
    def uscc(self, area: str, entity_type: str) -> str:
        from zhengwu.directory.demo import org_code_check

        self._org_serial += 1
        body = f"{(self._org_offset + self._org_serial * 7919) % 10**8:08d}"
        code17 = "9" + entity_type + area + body + org_code_check(body)
        return code17 + uscc_check_char(code17)

    def enterprise(self) -> dict[str, Any]:
        rng = self.rng
        county = self.county()
        roll = rng.random()
        entity_type = "1" if roll < 0.62 else ("2" if roll < 0.95 else "3")
        area = self.city.code if entity_type == "1" and rng.random() < 0.3 else county.code
        legal_gender = "1" if rng.random() < 0.7 else "2"
        legal_born = self.date_between(date(1950, 1, 1), date(self.today.year - 20, 12, 31))
        legal = self.name(legal_gender, legal_born)
        brand = _BRANDS[int(rng.random() * len(_BRANDS))] + (
            _BRANDS[int(rng.random() * len(_BRANDS))][0] if rng.random() < 0.3 else ""
        )
        if entity_type == "1":
            place = self.city.name if area == self.city.code else self.city.name + county.name
            suffix = "有限公司" if rng.random() < 0.9 else "有限责任公司"
            name = f"{place}{brand}{_INDUSTRY_PICK.pick(rng)}{suffix}"
        elif entity_type == "2":
            name = f"{county.name}{legal[0]}记{_SHOPS[int(rng.random() * len(_SHOPS))]}"
        else:
            name = f"{county.name}{brand}{_COOP_PRODUCTS[int(rng.random() * len(_COOP_PRODUCTS))]}专业合作社"
        founded = self.date_between(date(1992, 1, 1), self.today - timedelta(days=1))
        if founded.year < 2008 and rng.random() < 0.5:
            founded = self.date_between(date(2008, 1, 1), self.today - timedelta(days=1))
        status = _REG_STATUS_PICK.pick(rng)
        if founded > self.today - timedelta(days=365) and status in {"3", "4"}:
            status = "1"
        capital = _CAPITAL_PICKS[entity_type].pick(rng)
        authority = (f"{self.city_display_name}市场监督管理局" if area == self.city.code
                     else f"{county.name}市场监督管理局")
        return {
            "uscc": self.uscc(area, entity_type),
            "ent_name": name,
            "ent_type": entity_type,
            "reg_authority": authority,
            "legal_person": legal,
            "reg_capital": _fmt_number(capital),
            "est_date": founded.isoformat(),
            "reg_status": status,
            "address": self.address(county, rural_share=0.1 if entity_type != "3" else 0.9),
            "division_code": county.code,
            "phone": self.mobile(),
            "_county": county,
            "_born": founded,
            "_entity_type": entity_type,
        }

    # addresses
    def coordinates(self, county: County, road_index: int) -> tuple[str, str]:
        rng = self.rng
        # a road sits at a fixed offset from the county centre; houses scatter a little around it
        angle = (road_index * 2.399963) % (2 * math.pi)
        radius = county.spread * (0.3 + 0.6 * ((road_index * 0.618) % 1))
        lon = county.lon + radius * math.cos(angle) + (rng.random() - 0.5) * 0.01
        lat = county.lat + radius * math.sin(angle) * 0.9 + (rng.random() - 0.5) * 0.01
        lon = min(max(lon, LONGITUDE_RANGE[0] + 0.01), LONGITUDE_RANGE[1] - 0.01)
        lat = min(max(lat, LATITUDE_RANGE[0] + 0.01), LATITUDE_RANGE[1] - 0.01)
        return f"{lon:.6f}", f"{lat:.6f}"


# --- schema-driven value generation ------------------------------------------------------------------------

Getter = Callable[[CityFaker, dict[str, Any]], str]


def _entity_value(name: str) -> Getter:
    def get(_f: CityFaker, e: dict[str, Any]) -> str:
        return str(e[name])

    return get


def _county_of(f: CityFaker, e: dict[str, Any]) -> County:
    county = e.get("_county")
    return county if isinstance(county, County) else f.county()


def _person_name(f: CityFaker, e: dict[str, Any]) -> str:
    return f.name("1" if f.rng.random() < 0.6 else "2")


def _other_resident_id(f: CityFaker, e: dict[str, Any]) -> str:
    gender = "1" if f.rng.random() < 0.5 else "2"
    return f.resident_id(_county_of(f, e).code, f.birth_date(), gender)


def _uscc(f: CityFaker, e: dict[str, Any]) -> str:
    return f.uscc(_county_of(f, e).code, "1")


def _division(f: CityFaker, e: dict[str, Any]) -> str:
    return _county_of(f, e).code


def _address(f: CityFaker, e: dict[str, Any]) -> str:
    return f.address(_county_of(f, e))


def _mobile(f: CityFaker, e: dict[str, Any]) -> str:
    return f.mobile()


def _past_date(f: CityFaker, e: dict[str, Any]) -> str:
    born = e.get("_born")
    low = born if isinstance(born, date) and born > date(2000, 1, 1) else date(2000, 1, 1)
    return f.date_between(low, f.today - timedelta(days=1)).isoformat()


def _future_date(f: CityFaker, e: dict[str, Any]) -> str:
    return f.date_between(f.today + timedelta(days=30), f.today + timedelta(days=365 * 10)).isoformat()


def _datetime(f: CityFaker, e: dict[str, Any]) -> str:
    day = f.date_between(f.today - timedelta(days=365 * 3), f.today - timedelta(days=1))
    seconds = int(f.rng.random() * 86400)
    return f"{day.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _org_name(f: CityFaker, e: dict[str, Any]) -> str:
    county = _county_of(f, e)
    return f"{f.city.name}{county.name}{_BRANDS[int(f.rng.random() * len(_BRANDS))]}{_INDUSTRY_PICK.pick(f.rng)}有限公司"


def _authority(f: CityFaker, e: dict[str, Any]) -> str:
    county = _county_of(f, e)
    department = "市场监督管理局" if "uscc" in e else "公安局"
    return f"{f.city.name}{county.name}{department}" if f.rng.random() < 0.8 else f"{f.city.name}{department}"


def _place(f: CityFaker, e: dict[str, Any]) -> str:
    county = _county_of(f, e)
    return f"{f.city.full_name}{county.name}"


def _age(f: CityFaker, e: dict[str, Any]) -> str:
    born = e.get("_born")
    if not isinstance(born, date):
        return str(18 + int(f.rng.random() * 60))
    today = f.today
    return str(today.year - born.year - ((today.month, today.day) < (born.month, born.day)))


def _postal_code(f: CityFaker, e: dict[str, Any]) -> str:
    return f"514{int(f.rng.random() * 8):01d}{int(f.rng.random() * 9) + 1:01d}0"


def _email(f: CityFaker, e: dict[str, Any]) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    user = "".join(letters[int(f.rng.random() * 26)] for _ in range(6)) + str(int(f.rng.random() * 1000))
    return f"{user}@{('163.com', 'qq.com', '126.com', 'sina.com')[int(f.rng.random() * 4)]}"


def _height(f: CityFaker, e: dict[str, Any]) -> str:
    base = 168 if e.get("_gender") == "1" else 157
    return str(base + int((f.rng.random() - 0.5) * 24))


def _from_codes(codes: Mapping[str, str], weights: Sequence[float]) -> Getter:
    pick = _Weighted(zip(codes, weights, strict=True))

    def get(f: CityFaker, e: dict[str, Any]) -> str:
        return str(pick.pick(f.rng))

    return get


def _used_name(f: CityFaker, e: dict[str, Any]) -> str:
    return f.name(str(e.get("_gender") or "1"), e.get("_born")) if f.rng.random() < 0.05 else ""


def _text_code(length: int | None) -> Getter:
    width = max(4, min(length or 12, 16))
    letters = "ABCDEFGHJKLMNPQRTUWXY"

    def get(f: CityFaker, e: dict[str, Any]) -> str:
        rng = f.rng
        head = letters[int(rng.random() * len(letters))] if width > 6 else ""
        return head + "".join(str(int(rng.random() * 10)) for _ in range(width - len(head)))

    return get


def _number(length: int | None) -> Getter:
    digits = max(1, min((length or 8) - 3, 6))

    def get(f: CityFaker, e: dict[str, Any]) -> str:
        return _fmt_number(round(f.rng.random() * 10 ** min(digits, 4), 2))

    return get


def _age_years(f: CityFaker, e: dict[str, Any]) -> int:
    age = e.get("_age")
    if isinstance(age, int):
        return age
    born = e.get("_born")
    if not isinstance(born, date):
        return 40
    today = f.today
    age = e["_age"] = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age


def _cached(name: str, make: Callable[[CityFaker, dict[str, Any]], str]) -> Getter:
    """A value several items of a row depend on, computed once per row (kept in the entity)."""

    def get(f: CityFaker, e: dict[str, Any]) -> str:
        value = e.get(name)
        if value is None:
            value = e[name] = make(f, e)
        return str(value)

    return get


def _make_relation(f: CityFaker, e: dict[str, Any]) -> str:
    """与户主关系 (GB/T 4761 codes) that fits the person's age and sex."""
    age, roll, male = _age_years(f, e), f.rng.random(), e.get("_gender") == "1"
    if age < 18:
        return "40" if roll < 0.15 else ("20" if male else "30")
    if age < 22:
        return "02" if roll < 0.2 else ("20" if male else "30")
    if roll < 0.45:
        return "02"
    if roll < 0.78:
        return "10"
    if roll < 0.92 and age < 45:
        return "20" if male else "30"
    if age > 55:
        return "50"
    return "70" if roll < 0.97 else "80"


_relation = _cached("_relation", _make_relation)


def _householder_id(f: CityFaker, e: dict[str, Any]) -> str:
    relation = _relation(f, e)
    own = e.get("id_no")
    if relation in {"01", "02"} and isinstance(own, str):
        return own
    born = e.get("_born") if isinstance(e.get("_born"), date) else date(1980, 1, 1)
    assert isinstance(born, date)
    years = {"20": 28, "30": 28, "40": 55, "50": -28, "10": 0}.get(relation, int((f.rng.random() - 0.5) * 20))
    head_born = born - timedelta(days=int(365.25 * years + (f.rng.random() - 0.5) * 1500))
    head_born = min(head_born, f.today - timedelta(days=365 * 18))
    gender = ("2" if e.get("_gender") == "1" else "1") if relation == "10" else ("1" if f.rng.random() < 0.8 else "2")
    return f.resident_id(_county_of(f, e).code, head_born, gender)


def _household_no(f: CityFaker, e: dict[str, Any]) -> str:
    county = _county_of(f, e)
    return f"{county.code[4:]}{int(f.rng.random() * 10**7):07d}"


def _household_type(f: CityFaker, e: dict[str, Any]) -> str:
    return "2" if f.rng.random() < (0.15 if 18 <= _age_years(f, e) <= 30 else 0.03) else "1"


def _household_reg_date(f: CityFaker, e: dict[str, Any]) -> str:
    born = e.get("_born")
    if not isinstance(born, date):
        return _past_date(f, e)
    if f.rng.random() < 0.7:  # registered at birth
        return min(born + timedelta(days=int(f.rng.random() * 60)), f.today - timedelta(days=1)).isoformat()
    adult = born + timedelta(days=365 * 18)
    if adult >= f.today:
        adult = born
    return f.date_between(adult, f.today - timedelta(days=1)).isoformat()


def _marital_status(f: CityFaker, e: dict[str, Any]) -> str:
    age, roll = _age_years(f, e), f.rng.random()
    if age < 22:
        return "10"
    if age < 30:
        return "10" if roll < 0.55 else "20"
    if age > 70 and roll < 0.3:
        return "30"
    return "20" if roll < 0.86 else ("40" if roll < 0.95 else "10")


def _education(f: CityFaker, e: dict[str, Any]) -> str:
    age, roll = _age_years(f, e), f.rng.random()
    if age < 13:
        return "80"
    if age < 16:
        return "70"
    if age < 19:
        return "60" if roll < 0.6 else "40"
    table = [("10", 0.02), ("20", 0.16), ("30", 0.16), ("40", 0.10), ("60", 0.18), ("70", 0.28), ("80", 0.10)]
    if age > 60:
        table = [("20", 0.03), ("30", 0.04), ("40", 0.05), ("60", 0.12), ("70", 0.36), ("80", 0.40)]
    for code, share in table:
        roll -= share
        if roll < 0:
            return code
    return table[-1][0]


_OCCUPATIONS = _Weighted([
    ("农林牧渔业生产人员", 22), ("商业、服务业人员", 24), ("生产、运输设备操作人员", 16), ("专业技术人员", 10),
    ("办事人员和有关人员", 8), ("个体经营者", 9), ("国家机关、党群组织、企业、事业单位负责人", 2), ("无业", 9),
])


def _make_occupation(f: CityFaker, e: dict[str, Any]) -> str:
    age = _age_years(f, e)
    if age < 6:
        return "学龄前儿童"
    if age < 19 or (age < 23 and f.rng.random() < 0.5):
        return "学生"
    if age >= 60 and f.rng.random() < 0.7:
        return "离退休人员"
    occupation: str = _OCCUPATIONS.pick(f.rng)
    return occupation


_occupation = _cached("_occupation", _make_occupation)


def _workplace(f: CityFaker, e: dict[str, Any]) -> str:
    occupation = _occupation(f, e)
    county = _county_of(f, e)
    if occupation == "学生":
        age = _age_years(f, e)
        school = "小学" if age < 13 else ("中学" if age < 19 else "职业技术学院")
        return f"{county.name}{_STEMS[int(f.rng.random() * len(_STEMS))]}{school}"
    if occupation in {"学龄前儿童", "离退休人员", "无业"}:
        return ""
    if occupation == "农林牧渔业生产人员":
        return f"{county.name}{county.towns[int(f.rng.random() * len(county.towns))]}"
    return _org_name(f, e)


def _birthplace_code(f: CityFaker, e: dict[str, Any]) -> str:
    place = e.get("_birthplace")
    return place.code if isinstance(place, County) else _county_of(f, e).code


def _native_place(f: CityFaker, e: dict[str, Any]) -> str:
    place = e.get("_birthplace")
    return place.native_place if isinstance(place, County) else _county_of(f, e).native_place


def _scope(f: CityFaker, e: dict[str, Any]) -> str:
    industry: str = _INDUSTRY_PICK.pick(f.rng)
    return f"{industry}；销售：日用百货、五金交电；货物进出口（依法须经批准的项目，经相关部门批准后方可开展经营活动）"


# Generators for field names the demo catalog uses or is likely to use, beyond the entity's own values.
FIELD_GENERATORS: dict[str, Getter] = {
    "used_name": _used_name,
    "former_name": _used_name,
    "native_place": _native_place,
    "birthplace": _place,
    "birthplace_code": _birthplace_code,
    "occupation": _occupation,
    "workplace": _workplace,
    "employer": _workplace,
    "household_no": _household_no,
    "household_type": _household_type,
    "householder_id_no": _householder_id,
    "relation_to_head": _relation,
    "household_reg_date": _household_reg_date,
    "residence_address": _address,
    "current_address": _address,
    "address": _address,
    "std_address": _address,
    "location": _address,
    "phone": _mobile,
    "mobile": _mobile,
    "contact_phone": _mobile,
    "caller_phone": _mobile,
    "email": _email,
    "postal_code": _postal_code,
    "zip_code": _postal_code,
    "age": _age,
    "height": _height,
    "marital_status": _marital_status,
    "education": _education,
    "political_status": _from_codes(POLITICAL_CODES, [7, 18, 75]),
    "nationality": lambda f, e: "CHN",
    "business_scope": _scope,
    "scope": _scope,
    "reg_authority": _authority,
    "issuer": _authority,
    "police_station": lambda f, e: f"{f.city.name}公安局{_county_of(f, e).name}分局{_county_of(f, e).towns[0][:2]}派出所",
    "org_name": _org_name,
    "ent_name": _org_name,
    "legal_person": _person_name,
    "person_name": _person_name,
    "holder_name": _person_name,
    "owner_name": _person_name,
    "division_code": _division,
    "reg_date": _past_date,
    "valid_until": _future_date,
}

# By Chinese item name, for fields nobody told us about: (pattern, generator).
_LABEL_RULES: list[tuple[re.Pattern[str], Getter]] = [
    (re.compile(r"曾用名"), _used_name),
    (re.compile(r"姓名|法定代表人|负责人|联系人|经办人|持证人|权利人|所有人"), _person_name),
    (re.compile(r"电话|手机|联系方式"), _mobile),
    (re.compile(r"邮政编码|邮编"), _postal_code),
    (re.compile(r"邮箱|电子邮件"), _email),
    (re.compile(r"经营范围|业务范围"), _scope),
    (re.compile(r"登记机关|发证机关|签发机关|发证机构|登记机构"), _authority),
    (re.compile(r"籍贯"), _native_place),
    (re.compile(r"出生地"), _place),
    (re.compile(r"地址|住址|坐落|地点|所在地|住所"), _address),
    (re.compile(r"年龄"), _age),
    (re.compile(r"身高"), _height),
    (re.compile(r"婚姻"), _marital_status),
    (re.compile(r"学历|文化程度"), _education),
    (re.compile(r"职业"), _occupation),
    (re.compile(r"服务处所|工作单位"), _workplace),
    (re.compile(r"与户主关系"), _relation),
    (re.compile(r"政治面貌"), _from_codes(POLITICAL_CODES, [7, 18, 75])),
    (re.compile(r"国籍"), lambda f, e: "CHN"),
    (re.compile(r"名称|单位|机构|企业|公司"), _org_name),
    (re.compile(r"有效期|到期|截止|届满"), _future_date),
]

# The entity's own fields, by kind (read straight from the generated person/enterprise/…).
ENTITY_FIELDS: dict[str, frozenset[str]] = {
    PEOPLE: frozenset({"id_no", "person_name", "gender", "ethnicity", "birth_date", "household_address",
                       "division_code", "phone"}),
    LEGAL_PERSONS: frozenset({"uscc", "ent_name", "ent_type", "legal_person", "reg_capital", "est_date",
                              "reg_status", "reg_authority", "address", "division_code", "phone"}),
    LICENCES: frozenset({"licence_id", "licence_type", "holder_code", "holder_name", "valid_until", "issue_date",
                         "issuer", "division_code"}),
    ADDRESSES: frozenset({"addr_code", "std_address", "longitude", "latitude", "division_code"}),
}
# Known code domains of entity fields, so a code table that spells them differently can be mapped.
_DOMAINS: dict[str, dict[str, str]] = {
    "gender": {"1": "男性", "2": "女性"},
    "ethnicity": dict(ETHNIC_CODES),
    "reg_status": REG_STATUS,
    "ent_type": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "licence_type": {t[0]: t[1] for t in LICENCE_TYPES},
}


def _translation(table: CodeTable, domain: Mapping[str, str]) -> dict[str, str] | None:
    """Domain code → the table's code meaning the same thing; None when some code has no match."""
    result: dict[str, str] = {}
    for code, meaning in domain.items():
        if code in table.values:
            result[code] = code
            continue
        short = meaning.removesuffix("性")
        match = next(
            (c for c, m in table.values.items() if m in (meaning, short) or c in (meaning, short)
             or (m and (m in meaning or short in m))),
            None,
        )
        if match is None:
            return None
        result[code] = match
    return result


def _enum_getter(table: CodeTable) -> Getter:
    """Any code of the table: the first codes (usually the common ones) more often; 其他/未知 rarely."""
    weights = []
    for i, (code, meaning) in enumerate(table.values.items()):
        rare = any(word in meaning for word in ("其他", "未知", "未说明", "不详")) or code in {"0", "9", "99"}
        weights.append((0.1 if rare else 1.0) / (i + 1))
    return _from_codes(table.values, weights)


def _range_getter(table: CodeTable, column: Column) -> Getter:
    low, high = table.low, table.high
    if (low and "-" in low[1:]) or (high and "-" in high[1:]):  # dates
        lo = date.fromisoformat(low) if low else date(2000, 1, 1)
        hi = date.fromisoformat(high) if high else lo + timedelta(days=3650)

        def get_date(f: CityFaker, e: dict[str, Any]) -> str:
            return f.date_between(lo, hi).isoformat()

        return get_date
    lo_n = float(low) if low else 0.0
    hi_n = float(high) if high else lo_n + 100
    integral = all(bound is None or "." not in bound for bound in (low, high))

    def get_number(f: CityFaker, e: dict[str, Any]) -> str:
        value = lo_n + f.rng.random() * (hi_n - lo_n)
        return str(int(min(max(round(value), lo_n), hi_n))) if integral else _fmt_number(value)

    return get_number


def _in_range(table: CodeTable, value: str) -> bool:
    if not value:
        return True
    try:
        if (table.low and "-" in table.low[1:]) or (table.high and "-" in table.high[1:]):
            return (not table.low or value >= table.low) and (not table.high or value <= table.high)
        number = float(value)
    except ValueError:
        return False
    return (table.low is None or number >= float(table.low)) and (table.high is None or number <= float(table.high))


def _fallback(column: Column) -> Getter:
    if column.field_name in FIELD_GENERATORS:
        return FIELD_GENERATORS[column.field_name]
    if column.semantic == RESIDENT_ID:
        return _other_resident_id
    if column.semantic == USCC:
        return _uscc
    if column.semantic == DIVISION:
        return _division
    if column.data_type == "数字" and re.search(r"经度", column.label):
        return lambda f, e: f.coordinates(_county_of(f, e), int(f.rng.random() * 40))[0]
    if column.data_type == "数字" and re.search(r"纬度", column.label):
        return lambda f, e: f.coordinates(_county_of(f, e), int(f.rng.random() * 40))[1]
    if column.data_type in {"日期", "字符"} and re.search(r"有效期|到期|截止|届满", column.label):
        return _future_date
    for pattern, getter in _LABEL_RULES:
        if pattern.search(column.label) and column.data_type == "字符":
            return getter
    if column.data_type == "数字":
        return _number(column.length)
    if column.data_type == "日期":
        return _past_date
    if column.data_type in {"日期时间", "时间戳"}:
        return _datetime
    if column.data_type == "布尔":
        return lambda f, e: "1" if f.rng.random() < 0.8 else "0"
    if column.data_type == "二进制":
        return lambda f, e: ""
    if re.search(r"状态|标志|类型|类别|等级", column.label):
        return lambda f, e: "1"
    return _text_code(column.length)


def _column_plan(column: Column, kind: str) -> tuple[Getter | None, int]:
    """How one item of a `kind` row gets its value, obeying the item's code table: (getter, length
    limit for free text or 0). A getter of None means "the entity's own value, as it is"."""
    own = column.field_name in ENTITY_FIELDS[kind]
    getter: Getter | None = None if own else _fallback(column)
    base: Getter = getter or _entity_value(column.field_name)
    table = column.code_table
    if table is not None and table.kind == "enum":
        domain = _DOMAINS.get(column.field_name)
        translation = _translation(table, domain) if domain and own else None
        if translation is not None:
            if any(k != v for k, v in translation.items()):
                mapping = translation

                def mapped(f: CityFaker, e: dict[str, Any]) -> str:
                    value = base(f, e)
                    return mapping.get(value, value)

                getter = mapped
        else:
            choose, codes = _enum_getter(table), set(table.values)

            def conform(f: CityFaker, e: dict[str, Any]) -> str:
                value = base(f, e)
                return value if value in codes else choose(f, e)

            getter = conform
    elif table is not None and table.kind == "range":
        choose_in = _range_getter(table, column)

        def within(f: CityFaker, e: dict[str, Any]) -> str:
            value = base(f, e)
            return value if _in_range(table, value) else choose_in(f, e)

        getter = within
    elif table is not None and table.kind == "division" and not own:

        def current_division(f: CityFaker, e: dict[str, Any]) -> str:
            value = base(f, e)
            return value if divisions.get(value) is not None else _division(f, e)

        getter = current_division
    if not column.required and not column.is_key and column.field_name in {"phone", "email", "postal_code"}:
        inner_optional: Getter = getter or base

        def sometimes_empty(f: CityFaker, e: dict[str, Any]) -> str:
            return "" if f.rng.random() < 0.04 else inner_optional(f, e)

        getter = sometimes_empty
    fits = column.data_type == "字符" and column.semantic == "" and not column.is_key
    return getter, (column.length or 0) if fits else 0


# --- deliberate errors ------------------------------------------------------------------------------------


def _is_name(column: Column) -> bool:
    return bool(re.search(r"姓名|名称", column.label)) or column.field_name in {"person_name", "ent_name", "holder_name"}


def error_targets(schema: ResourceSchema, rules: Sequence[RuleSpec] = ()) -> list[tuple[str, Column]]:
    """The error kinds this resource's rules can catch, each with the item it is made in.

    A kind is left out when nothing would catch it: no check character without an identity number
    or credit code, no unknown code without a code table, no empty value without a required item,
    no birth-date disagreement without an id_birthdate rule, and so on.
    """
    columns = schema.columns
    targets: list[tuple[str, Column]] = []

    def first(candidates: Iterable[Column]) -> Column | None:
        return next(iter(candidates), None)

    ids = [c for c in columns if c.semantic == RESIDENT_ID]
    codes = [c for c in columns if c.semantic in {RESIDENT_ID, USCC}]
    checked = first(sorted(codes, key=lambda c: not c.is_key))
    if checked is not None:
        targets.append(("check_digit", checked))
    id_column = first(sorted(ids, key=lambda c: not c.is_key))
    if id_column is not None:
        targets.append(("impossible_birth_date", id_column))
    for rule in rules:
        if rule.kind == RuleKind.ID_BIRTHDATE:
            try:
                born = schema.column(rule.field)
                schema.column(str(rule.params.get("id_field", "")))
            except KeyError:
                continue
            targets.append(("birth_date_mismatch", born))
            break
    required = [c for c in columns if c.required and not c.is_key]
    target = first([c for c in required if _is_name(c)]) or first(c for c in required if c.data_type == "字符")
    if target is not None:
        targets.append(("empty_required", target))
    enums = [c for c in columns if c.code_table is not None and c.code_table.kind == "enum" and not c.is_key]
    target = first(c for c in enums if c.field_name == "gender" or "性别" in c.label) or first(enums)
    if target is not None:
        targets.append(("unknown_code", target))
    divisions_ = [c for c in columns if not c.is_key and (
        c.semantic == DIVISION or (c.code_table is not None and c.code_table.kind == "division"))]
    target = first(c for c in divisions_ if c.semantic == DIVISION) or first(divisions_)
    if target is not None:
        targets.append(("unknown_division", target))
    if schema.keys:
        targets.append(("duplicate_key", schema.keys[0]))
    texts = [c for c in columns if c.data_type == "字符" and c.length and not c.is_key and not c.semantic
             and c.code_table is None and c.length <= 500]
    target = (first(c for c in texts if re.search(r"地址|住址|坐落", c.label))
              or first(c for c in texts if re.search(r"电话", c.label))
              or first(sorted(texts, key=lambda c: -(c.length or 0))))
    if target is not None:
        targets.append(("too_long", target))
    dates = [c for c in columns if c.data_type == "日期" and not c.is_key]
    target = first(c for c in dates if c.field_name != "birth_date") or first(dates)
    if target is not None:
        targets.append(("bad_date", target))
    numbers = [c for c in columns if c.data_type == "数字" and not c.is_key]
    if numbers:
        targets.append(("not_a_number", numbers[0]))
    return targets


def _unknown_code(table: CodeTable | None) -> str:
    codes = set(table.values) if table is not None and table.kind == "enum" else set()
    width = max((len(c) for c in codes), default=1)
    for n in itertools.count(3):
        candidate = str(n % 10**width).zfill(width)
        if candidate not in codes:
            return candidate
        if n > 10**width + 3:
            return "X" * width
    raise AssertionError("unreachable")


def _impossible_day(year: int, rng: random.Random) -> str:
    """A YYYYMMDD that is no date: 02-30, 04-31, 06-31 or 02-29 of a common year."""
    choices = ["0230", "0431", "0631", "0931", "1131"]
    if year % 4:
        choices.append("0229")
    return f"{year:04d}{choices[int(rng.random() * len(choices))]}"


# --- tables of rows -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """Someone an e-licence is issued to: a person (resident id) or an enterprise (credit code)."""

    code: str
    name: str
    kind: str  # "person" | "enterprise"
    county: str  # division code


class DemoTable:
    """The rows of one resource: iterate it (a generator, fresh and identical on every pass) to get
    dicts of strings keyed by field name. After a full pass, `corruptions` lists the rows made wrong."""

    def __init__(
        self, schema: ResourceSchema, count: int, *, kind: str, seed: int = DEFAULT_SEED,
        error_rate: float = DEFAULT_ERROR_RATE, rules: Sequence[RuleSpec] = (), today: date | None = None,
        holders: Sequence[Holder] = (), record: bool = True,
    ):
        if kind not in KINDS:
            raise DomainError(f"不认识的演示数据种类“{kind}”：可用 {'、'.join(KINDS)}", "kind")
        if count < 0:
            raise DomainError("行数不能为负数", "count")
        if not 0 <= error_rate <= 0.5:
            raise DomainError("错误率须在 0 到 0.5 之间", "error_rate")
        if kind == LICENCES and not holders:
            raise DomainError("生成电子证照目录需要持证主体（人口或市场主体）", "holders")
        self.schema = schema
        self.count = count
        self.kind = kind
        self.seed = seed
        self.error_rate = error_rate
        self.rules = tuple(rules)
        self.today = today or date.today()
        self.holders = tuple(holders)
        self.record = record
        self.corruptions: list[Corruption] = []
        self.targets = error_targets(schema, self.rules)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.schema.columns

    @property
    def header(self) -> list[str]:
        return [c.label for c in self.schema.columns]

    @property
    def error_kinds(self) -> list[str]:
        return [kind for kind, _ in self.targets]

    @property
    def corrupted_rows(self) -> set[int]:
        return {c.row for c in self.corruptions}

    @property
    def duplicated_rows(self) -> set[int]:
        """Clean rows whose key a later corrupted row repeats: key uniqueness refuses them too."""
        return {c.original_row for c in self.corruptions if c.original_row is not None}

    @property
    def expected_refused_rows(self) -> set[int]:
        """The rows the checks should refuse (after a full pass): the corrupted rows and the rows
        whose key they repeat."""
        return self.corrupted_rows | self.duplicated_rows

    def __iter__(self) -> Iterator[dict[str, str]]:
        return self._rows(with_entities=False)

    def entities(self) -> Iterator[tuple[dict[str, str], dict[str, Any], Corruption | None]]:
        """(row, entity, corruption or None) for every row; a pass like iterating the table."""
        return self._rows(with_entities=True)

    def _entity_source(self, faker: CityFaker) -> Callable[[int], dict[str, Any]]:
        if self.kind == PEOPLE:
            return lambda _i: faker.person()
        if self.kind == LEGAL_PERSONS:
            return lambda _i: faker.enterprise()
        if self.kind == ADDRESSES:
            return self._address_source(faker)
        return self._licence_source(faker)

    def _address_source(self, faker: CityFaker) -> Callable[[int], dict[str, Any]]:
        numbers: dict[tuple[str, int, int], int] = {}

        def make(_i: int) -> dict[str, Any]:
            rng = faker.rng
            county = faker.county()
            town_index = int(rng.random() * len(county.towns))
            road_index, road = faker.road(county)
            slot = (county.code, town_index, road_index)
            number = numbers.get(slot, 0) + 1 + int(rng.random() * 3)
            numbers[slot] = number
            lon, lat = faker.coordinates(county, road_index + town_index * 97)
            return {
                "addr_code": f"{county.code}{town_index + 1:03d}{road_index + 1:04d}{number:05d}",
                "std_address": f"{county.full_name}{county.towns[town_index]}{road}{number}号",
                "longitude": lon,
                "latitude": lat,
                "division_code": county.code,
                "_county": county,
            }

        return make

    def _licence_source(self, faker: CityFaker) -> Callable[[int], dict[str, Any]]:
        holders = self.holders
        counties = {c.code: c for c in faker.counties}
        serials: dict[tuple[str, int], int] = {}

        def make(_i: int) -> dict[str, Any]:
            rng = faker.rng
            holder = holders[int(rng.random() * len(holders))]
            code, name, _kind, years, _w = _LICENCE_PICKS[holder.kind].pick(rng)
            county = counties.get(holder.county) or faker.county()
            issued = faker.date_between(faker.today - timedelta(days=365 * 12), faker.today - timedelta(days=1))
            key = (code, issued.year)
            serials[key] = serial = serials.get(key, 0) + 1
            if years:
                until = issued.replace(month=issued.month, day=min(issued.day, 28), year=issued.year + years)
            else:
                until = None
            issuer_department = "市场监督管理局" if holder.kind == "enterprise" else "公安局"
            return {
                "licence_id": f"{code}{county.code}{issued.year}{serial:07d}",
                "licence_type": code,
                "holder_code": holder.code,
                "holder_name": holder.name,
                "valid_until": until.isoformat() if until else FAR_FUTURE,
                "issue_date": issued.isoformat(),
                "issuer": f"{faker.city.name}{county.name}{issuer_department}",
                "division_code": county.code,
                "_county": county,
                "_born": issued,
                "_licence_name": name,
            }

        return make

    def _rows(self, *, with_entities: bool) -> Iterator[Any]:
        faker = CityFaker(self.seed, today=self.today)
        error_rng = random.Random(self.seed * 7919 + 17)
        source = self._entity_source(faker)
        plan = [(c.field_name, *_column_plan(c, self.kind)) for c in self.schema.columns]
        key_fields = [c.field_name for c in self.schema.keys]
        targets = self.targets
        rate = self.error_rate
        recent: deque[tuple[int, dict[str, str]]] = deque(maxlen=64)
        corruptions = self.corruptions
        corruptions.clear()
        made = 0
        for number in range(1, self.count + 1):
            entity = source(number)
            row = {}
            for name, getter, limit in plan:
                value = entity[name] if getter is None else getter(faker, entity)
                row[name] = value[:limit] if limit and len(value) > limit else value
            corruption: Corruption | None = None
            if targets and error_rng.random() < rate:
                for attempt in range(len(targets)):
                    kind, column = targets[(made + attempt) % len(targets)]
                    corruption = self._corrupt(row, number, kind, column, entity, recent, key_fields, error_rng, faker)
                    if corruption is not None:
                        made += attempt + 1
                        break
            if corruption is None:
                recent.append((number, row))
            elif self.record:
                corruptions.append(corruption)
            yield (row, entity, corruption) if with_entities else row

    def _corrupt(
        self, row: dict[str, str], number: int, kind: str, column: Column, entity: dict[str, Any],
        recent: deque[tuple[int, dict[str, str]]], key_fields: list[str], rng: random.Random, faker: CityFaker,
    ) -> Corruption | None:
        field = column.field_name
        original_row = None
        if kind == "check_digit":
            value = row[field]
            if len(value) != 18:
                return None
            alphabet = "0123456789X" if column.semantic == RESIDENT_ID else "0123456789ABCDEFGHJKLMNPQRTUWXY"
            wrong = [ch for ch in alphabet if ch != value[17]]
            row[field] = value[:17] + wrong[int(rng.random() * len(wrong))]
            note = f"{column.label}最后一位校验码写错"
        elif kind == "impossible_birth_date":
            value = row[field]
            if len(value) != 18 or not value[:17].isdigit():
                return None
            body = value[:6] + _impossible_day(int(value[6:10]), rng) + value[14:17]
            row[field] = body + resident_id_check_char(body)
            note = f"{column.label}中的出生日期 {body[6:14]} 不存在（校验码按该号码计算，本身正确）"
            for other in self.schema.columns:
                if other.field_name == "birth_date" or (other.data_type == "日期" and "出生" in other.label):
                    row[other.field_name] = f"{body[6:10]}-{body[10:12]}-{body[12:14]}"
        elif kind == "birth_date_mismatch":
            born = entity.get("_born")
            if not isinstance(born, date):
                return None
            shift = int(rng.random() * 400) + 1
            moved = born + timedelta(days=shift if rng.random() < 0.5 else -shift)
            row[field] = moved.isoformat()
            note = f"{column.label} {moved.isoformat()} 与身份号码中的 {born.isoformat()} 不一致"
        elif kind == "empty_required":
            row[field] = ""
            note = f"必填项{column.label}为空"
        elif kind == "unknown_code":
            row[field] = _unknown_code(column.code_table)
            note = f"{column.label}“{row[field]}”不在代码表中"
        elif kind == "unknown_division":
            county = _county_of(faker, entity)
            bad = county.bad_codes or ("441499",)
            row[field] = bad[int(rng.random() * len(bad))]
            note = f"{column.label}把 {county.code} 误写为 {row[field]}，不是行政区划代码"
        elif kind == "duplicate_key":
            if not recent or not key_fields:
                return None
            original_row, earlier = recent[int(rng.random() * len(recent))]
            changed = {k: v for k, v in row.items() if k not in key_fields}
            row.update(earlier)
            # the same key delivered again with some other details changed (an updated phone, address …)
            for name in ("phone", "household_address", "address", "std_address", "holder_name", "valid_until"):
                if name in changed and name not in key_fields:
                    row[name] = changed[name]
                    break
            note = f"主键与第 {original_row} 行重复"
        elif kind == "too_long":
            limit = column.length or 0
            value = row[field] or "未填写"
            if "电话" in column.label:
                while len(value) <= limit:
                    value = value + "，" + faker.mobile()
            else:
                while len(value) <= limit:
                    value = value + "；" + (row[field] or "未填写")
            row[field] = value
            note = f"{column.label}长 {len(value)} 个字符，超过规定的 {limit} 个"
        elif kind == "bad_date":
            born = entity.get("_born")
            year = born.year if isinstance(born, date) else faker.today.year
            row[field] = f"{year}/13/01"
            note = f"{column.label}“{row[field]}”不是 YYYY-MM-DD 格式的有效日期"
        elif kind == "not_a_number":
            value = row[field] or "100"
            if "万元" in column.label:
                row[field] = f"{value}万元"
            elif "经度" in column.label:
                row[field] = f"东经{value}"
            elif "纬度" in column.label:
                row[field] = f"北纬{value}"
            else:
                row[field] = f"约{value}"
            note = f"{column.label}“{row[field]}”含有非数字字符"
        else:
            raise AssertionError(kind)
        key = "|".join(row.get(k, "") for k in key_fields)
        return Corruption(row=number, kind=kind, field=field, value=row[field], key=key, note=note,
                          original_row=original_row)


def demo_rows(
    schema: ResourceSchema, count: int, *, kind: str, seed: int = DEFAULT_SEED,
    error_rate: float = DEFAULT_ERROR_RATE, rules: Sequence[RuleSpec] = (), today: date | None = None,
    holders: Sequence[Holder] = (),
) -> DemoTable:
    """Rows of a base resource, generated from its schema (see DemoTable)."""
    return DemoTable(schema, count, kind=kind, seed=seed, error_rate=error_rate, rules=rules, today=today,
                     holders=holders)


def people_rows(schema: ResourceSchema, count: int, **options: Any) -> DemoTable:
    return demo_rows(schema, count, kind=PEOPLE, **options)


def legal_person_rows(schema: ResourceSchema, count: int, **options: Any) -> DemoTable:
    return demo_rows(schema, count, kind=LEGAL_PERSONS, **options)


def address_rows(schema: ResourceSchema, count: int, **options: Any) -> DemoTable:
    return demo_rows(schema, count, kind=ADDRESSES, **options)


def licence_rows(schema: ResourceSchema, count: int, *, holders: Sequence[Holder], **options: Any) -> DemoTable:
    return demo_rows(schema, count, kind=LICENCES, holders=holders, **options)


def sample_holders(table: DemoTable, count: int) -> list[Holder]:
    """Up to `count` people or enterprises of a people / legal-person table whose rows are clean
    (not corrupted, and not the earlier row of a duplicated key), spread evenly over the table."""
    if table.kind not in {PEOPLE, LEGAL_PERSONS}:
        raise DomainError("持证主体只能取自人口或市场主体的演示数据", "holders")
    wanted = int(count * (1.2 + 2 * table.error_rate)) + 8  # some candidates turn out to be duplicated
    step = max(1, table.count // max(1, wanted))
    picked: list[tuple[int, Holder]] = []
    duplicated: set[int] = set()
    for number, (_row, entity, corruption) in enumerate(table.entities(), start=1):
        if corruption is not None:
            if corruption.original_row is not None:
                duplicated.add(corruption.original_row)
            continue
        if number % step == 0 and len(picked) < wanted:
            if table.kind == PEOPLE:
                holder = Holder(entity["id_no"], entity["person_name"], "person", entity["division_code"])
            else:
                holder = Holder(entity["uscc"], entity["ent_name"], "enterprise", entity["division_code"])
            picked.append((number, holder))
    return [holder for number, holder in picked if number not in duplicated][:count]


# --- writers ------------------------------------------------------------------------------------------------


def _columns_of(rows: Iterable[Mapping[str, str]], columns: Sequence[Column] | None) -> Sequence[Column] | None:
    if columns is not None:
        return columns
    found = getattr(rows, "columns", None)
    return tuple(found) if found is not None else None


def _peek(rows: Iterable[Mapping[str, str]]) -> tuple[list[str], Iterator[Mapping[str, str]]]:
    iterator = iter(rows)
    try:
        first_row = next(iterator)
    except StopIteration:
        return [], iterator
    return list(first_row), itertools.chain([first_row], iterator)


def _tuple_getter(fields: list[str]) -> Callable[[Mapping[str, str]], tuple[str, ...]]:
    if len(fields) > 1:
        return itemgetter(*fields)
    return lambda row: tuple(row[f] for f in fields)


def write_csv(
    rows: Iterable[Mapping[str, str]], path: Path | str, encoding: str = "gbk", *,
    columns: Sequence[Column] | None = None, chunk_rows: int = 20_000,
) -> int:
    """Write rows as CSV with a header of the items' Chinese names (GBK by default, as government
    exports are), streaming chunk by chunk. Returns the number of data rows written.

    `rows` are dicts keyed by field name; the columns come from `columns`, else from the rows'
    table (a DemoTable), else the first row's keys are the header. A character the encoding cannot
    represent is refused with its row and item."""
    path = Path(path)
    cols = _columns_of(rows, columns)
    if cols is not None:
        fields, header = [c.field_name for c in cols], [c.label for c in cols]
        iterator: Iterator[Mapping[str, str]] = iter(rows)
    else:
        fields, iterator = _peek(rows)
        header = fields
    get = _tuple_getter(fields)
    written = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with path.open("wb") as out:
        writer.writerow(header)
        chunk: list[Any] = []
        for row in iterator:
            chunk.append(get(row))
            if len(chunk) >= chunk_rows:
                written = _flush_csv(out, buffer, writer, chunk, encoding, written, header)
                chunk = []
        written = _flush_csv(out, buffer, writer, chunk, encoding, written, header)
    return written


def _flush_csv(
    out: Any, buffer: io.StringIO, writer: Any, chunk: list[Any], encoding: str, written: int, header: list[str]
) -> int:
    writer.writerows(chunk)
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    try:
        out.write(text.encode(encoding))
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start: exc.end]
        for offset, values in enumerate(chunk):
            for label, value in zip(header, values, strict=False):
                if bad in str(value):
                    raise DomainError(
                        f"第 {written + offset + 1} 行“{label}”含有 {encoding.upper()} 编码无法表示的字符“{bad}”", label
                    ) from exc
        raise DomainError(f"表头含有 {encoding.upper()} 编码无法表示的字符“{bad}”", "header") from exc
    return written + len(chunk)


def write_jsonl(
    rows: Iterable[Mapping[str, str]], path: Path | str, *, columns: Sequence[Column] | None = None
) -> int:
    """Write rows as JSON Lines (UTF-8), one object per row keyed by field name."""
    path = Path(path)
    cols = _columns_of(rows, columns)
    fields = [c.field_name for c in cols] if cols is not None else None
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            record = {f: row.get(f, "") for f in fields} if fields is not None else dict(row)
            out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n")
            written += 1
    return written


def write_xlsx(
    rows: Iterable[Mapping[str, str]], path: Path | str, *, columns: Sequence[Column] | None = None,
    sheet_title: str = "数据",
) -> int:
    """Write rows to one sheet of an XLSX workbook (openpyxl write-only mode, values as text) with a
    header of the items' Chinese names. For small demo files."""
    from openpyxl import Workbook

    path = Path(path)
    cols = _columns_of(rows, columns)
    if cols is not None:
        fields, header = [c.field_name for c in cols], [c.label for c in cols]
        iterator: Iterator[Mapping[str, str]] = iter(rows)
    else:
        fields, iterator = _peek(rows)
        header = fields
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title)
    sheet.append(header)
    written = 0
    for row in iterator:
        sheet.append([row.get(f, "") for f in fields])
        written += 1
    workbook.save(str(path))
    return written


def write_corruptions(corruptions: Iterable[Corruption], path: Path | str) -> int:
    """A UTF-8 CSV listing the deliberate errors (行号、错误类型、信息项、错误值、主键、说明)."""
    path = Path(path)
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["行号", "错误类型", "信息项", "错误值", "主键", "说明", "重复的行"])
        for c in corruptions:
            writer.writerow([c.row, c.kind_label, c.field, c.value, c.key, c.note, c.original_row or ""])
            count += 1
    return count


# --- demo rules ---------------------------------------------------------------------------------------------


def birth_date_rule(schema: ResourceSchema) -> tuple[str, dict[str, str]] | None:
    """(field, params) of the cross-field rule "birth date agrees with the identity number" when the
    resource has both items; None otherwise."""
    ids = [c for c in schema.columns if c.semantic == RESIDENT_ID]
    born = [c for c in schema.columns if c.data_type == "日期" and (c.field_name == "birth_date" or "出生日期" in c.label)]
    if not ids or not born:
        return None
    id_column = sorted(ids, key=lambda c: not c.is_key)[0]
    return born[0].field_name, {"id_field": id_column.field_name}


def ensure_demo_rules(actor: Any, resource_code: str, schema: ResourceSchema) -> list[RuleSpec]:
    """Give a demo resource its custom rules (idempotent) and return the resource's enabled custom
    rules. Today: 出生日期与身份号码一致 where a resource has both items."""
    from .models import ResourceRule
    from .services import custom_rules, do_create_rule

    wanted = birth_date_rule(schema)
    if wanted is not None:
        field, params = wanted
        exists = ResourceRule.objects.filter(
            resource_code=resource_code, kind=RuleKind.ID_BIRTHDATE, field=field, enabled=True
        ).exists()
        if not exists:
            do_create_rule(actor, resource_code, kind=RuleKind.ID_BIRTHDATE, field=field, params=params,
                           message="出生日期与公民身份号码中的出生日期不一致")
    return custom_rules(resource_code)
