"""The one working-day calendar (工作日) of the platform: statutory time limits are counted on it.

Sources, in order of precedence for a day:

1. the override table (`HolidayOverride`), kept by the 系统管理员 on the 工作日历 page
   (`/calendar/`) or with `zhengwu holidays …` — the same do_* services below, every change
   audited: corrections, and the days of a year the package does not cover yet;
2. the `chinesecalendar` package (imports as `chinese_calendar`), which ships each year's
   arrangement published by the State Council's General Office (holidays and 调休 working
   weekends) for the years it covers (1.11.0: 2004—2026);
3. for a year the package does not cover: plain Monday—Friday, but ONLY when the operator has
   registered that year (`HolidayYear`: "its arrangement is entered in the override table").

A day of a year that neither source covers is refused with `CalendarNotCovered` (a Chinese
message naming the year and what to do) — the calendar never guesses. `years_to_enter(today)`
says which years the 系统管理员 must enter now (their 工作台 to-do); `working_days_late` gives
None instead of raising, for pages and sweeps that only report a count.

Counting (行政许可法 art. 82 — limits in working days, statutory holidays excluded — and the
rule of 民法典 art. 201 / 行政诉讼法 art. 83 that the day a period starts on is not counted):
`add_working_days(start, n)` is the n-th working day AFTER `start`; the day of receipt never
counts, whether or not it is itself a working day (a request received on a Saturday has the
Monday as its first day). The deadline is the end of that day. `working_days_between(a, b)`
counts the working days in (a, b] — the inverse: `working_days_between(a, add_working_days(a, n)) == n`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import chinese_calendar
from django.db.models import Count

from . import audit_hook
from .errors import DomainError, NotFound
from .roles import AdminRole, ensure_admin

PACKAGE = "chinesecalendar 1.11.0"
MAX_SPAN_DAYS = 3 * 366  # no statutory limit spans more; a bigger n is a mistake, not a deadline
# From this day of a year (month, day) a next year the calendar does not know is a to-do of the
# 系统管理员: the State Council's arrangement for the next year usually comes out in October or
# November, and from December limits of 10—20 working days end in the next year.
WARN_NEXT_YEAR_FROM = (11, 1)


class CalendarNotCovered(DomainError):
    """The calendar does not know the holidays of a year: refuse, never guess."""

    status = 409

    def __init__(self, year: int):
        low, high = package_years()
        super().__init__(
            f"{year} 年的法定节假日安排尚未收录：节假日数据包（{PACKAGE}）只收录 {low}—{high} 年，"
            f"节假日维护表也未登记 {year} 年。请系统管理员按国务院办公厅 {year} 年部分节假日安排的通知录入"
            f"（zhengwu holidays set … 逐日录入放假和调休上班日，再 zhengwu holidays year {year} --basis 文号），"
            "录入之前无法计算以工作日计的期限。",
            "calendar",
        )
        self.year = year


_package_years: tuple[int, int] | None = None


def package_years() -> tuple[int, int]:
    """(first, last) year the chinesecalendar package covers."""
    global _package_years
    if _package_years is None:
        years = [y for y in range(1990, 2101) if _package_covers(y)]
        _package_years = (years[0], years[-1]) if years else (0, -1)
    return _package_years


def _package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class YearCoverage:
    """What the calendar knows of one year, for the 系统管理员's page."""

    year: int
    source: str  # "package" (chinesecalendar), "registered" (entered by hand) or "missing"
    basis: str  # the notice a registered year was entered from
    who: str
    days_off: int  # override rows of the year: days off, working days
    days_on: int

    @property
    def covered(self) -> bool:
        return self.source != "missing"

    @property
    def source_label(self) -> str:
        return {"package": f"节假日数据包（{PACKAGE}）", "registered": "维护表（人工录入）"}.get(self.source, "未录入")


def year_coverage(year: int) -> YearCoverage:
    from .models import HolidayOverride, HolidayYear

    low, high = package_years()
    counts = dict(
        HolidayOverride.objects.filter(date__year=year).values_list("is_working_day").annotate(n=Count("id"))
    )
    registered = HolidayYear.objects.filter(year=year).first()
    if low <= year <= high:
        source, basis, who = "package", "", ""
    elif registered is not None:
        source, basis, who = "registered", registered.basis, registered.who
    else:
        source, basis, who = "missing", "", ""
    return YearCoverage(year, source, basis, who, counts.get(False, 0), counts.get(True, 0))


def registered_years() -> list[int]:
    from .models import HolidayYear

    return list(HolidayYear.objects.order_by("year").values_list("year", flat=True))


def overrides_from(first: date) -> list[Any]:
    """The days set by hand from `first` on, in date order."""
    from .models import HolidayOverride

    return list(HolidayOverride.objects.filter(date__gte=first).order_by("date"))


def years_to_enter(today: date) -> list[int]:
    """The years whose holidays the 系统管理员 must enter now: this year when the calendar does not
    know it, and the next year too from WARN_NEXT_YEAR_FROM on."""
    today = _as_date(today)
    years = [today.year]
    if (today.month, today.day) >= WARN_NEXT_YEAR_FROM:
        years.append(today.year + 1)
    return [y for y in years if not year_coverage(y).covered]


class _Calendar:
    """One pass of counting: the override rows and registered years are read once per year."""

    def __init__(self) -> None:
        self._overrides: dict[int, dict[date, bool]] = {}
        self._registered: dict[int, bool] = {}

    def _year(self, year: int) -> dict[date, bool]:
        if year not in self._overrides:
            from .models import HolidayOverride, HolidayYear

            self._overrides[year] = dict(
                HolidayOverride.objects.filter(date__year=year).values_list("date", "is_working_day")
            )
            low, high = package_years()
            self._registered[year] = low <= year <= high or HolidayYear.objects.filter(year=year).exists()
        return self._overrides[year]

    def is_working_day(self, day: date) -> bool:
        overrides = self._year(day.year)
        if day in overrides:
            return overrides[day]
        low, high = package_years()
        if low <= day.year <= high:
            return bool(chinese_calendar.is_workday(day))
        if self._registered[day.year]:
            return day.weekday() < 5
        raise CalendarNotCovered(day.year)


def _as_date(value: Any) -> date:
    if hasattr(value, "date") and callable(value.date):
        value = value.date()
    if not isinstance(value, date):
        raise DomainError("日期：必须是日期", "date")
    return value


def is_working_day(day: date) -> bool:
    """True for a working day (调休 working weekends included, statutory holidays excluded)."""
    return _Calendar().is_working_day(_as_date(day))


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (the day of receipt is not counted); n ≥ 1."""
    start = _as_date(start)
    if not isinstance(n, int) or n < 1:
        raise DomainError("工作日数：必须是不小于 1 的整数", "working_days")
    calendar = _Calendar()
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if (day - start).days > MAX_SPAN_DAYS:
            raise DomainError(f"工作日数：{n} 个工作日超出可计算的范围", "working_days")
        if calendar.is_working_day(day):
            counted += 1
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after `start` up to and including `end` (0 when end ≤ start)."""
    start, end = _as_date(start), _as_date(end)
    if end <= start:
        return 0
    if (end - start).days > MAX_SPAN_DAYS:
        raise DomainError("日期：两个日期相隔太远，超出可计算的范围", "date")
    calendar = _Calendar()
    return sum(1 for i in range(1, (end - start).days + 1) if calendar.is_working_day(start + timedelta(days=i)))


def working_days_late(deadline: date | None, today: date) -> int | None:
    """Working days after `deadline` up to `today` (0 without a deadline or before it), or None
    when the calendar does not know a year in between: being late is plain date order, only the
    count needs the calendar, and a page or a sweep must not fail because a year is not entered."""
    if deadline is None:
        return 0
    try:
        return working_days_between(deadline, today)
    except CalendarNotCovered:
        return None


def describe(day: date) -> str:
    """"工作日" / "休息日" / "法定节假日（国庆节）" / "调休上班" — for pages and the command."""
    from .models import HolidayOverride

    day = _as_date(day)
    row = HolidayOverride.objects.filter(date=day).first()
    if row is not None:
        return f"{'工作日' if row.is_working_day else '休息日'}（维护表：{row.note}）"
    working = is_working_day(day)
    low, high = package_years()
    if low <= day.year <= high:
        _on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if not working and name:
            return f"法定节假日（{_HOLIDAY_NAMES.get(name, name)}）"
        if working and day.weekday() >= 5:
            return f"调休上班（{_HOLIDAY_NAMES.get(name or '', name or '')}）"
    return "工作日" if working else "休息日"


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


# --- the operator's changes (系统管理员, audited) ---------------------------------------------------


def _note(note: str, label: str = "说明") -> str:
    text = " ".join(str(note or "").split())
    if len(text) < 2:
        raise DomainError(f"{label}：必须填写（如：2027 年国庆节，国办发明电〔2026〕X 号）", "note")
    if len(text) > 200:
        raise DomainError(f"{label}：最多 200 字（现为 {len(text)} 字）", "note")
    return text


def do_set_holiday_override(actor: Any, day: date, *, is_working_day: bool, note: str) -> Any:
    """Set one day as a working day or a day off, overriding the package (系统管理员 only)."""
    from django.db import transaction

    from .models import HolidayOverride

    ensure_admin(actor, AdminRole.SYSTEM)
    day = _as_date(day)
    text = _note(note)
    with transaction.atomic():
        before = HolidayOverride.objects.select_for_update().filter(date=day).first()
        row, _ = HolidayOverride.objects.update_or_create(
            date=day, defaults={"is_working_day": bool(is_working_day), "note": text, "who": actor.get_username()}
        )
        audit_hook.record(
            actor, "core.holiday.set", object_type="holiday_override", object_id=day.isoformat(),
            details={
                "is_working_day": bool(is_working_day), "note": text,
                "before": None if before is None else {"is_working_day": before.is_working_day, "note": before.note},
            },
        )
    return row


def do_remove_holiday_override(actor: Any, day: date) -> None:
    from django.db import transaction

    from .models import HolidayOverride

    ensure_admin(actor, AdminRole.SYSTEM)
    day = _as_date(day)
    with transaction.atomic():
        row = HolidayOverride.objects.select_for_update().filter(date=day).first()
        if row is None:
            raise NotFound(f"日期：{day.isoformat()} 在节假日维护表中没有记录", "date")
        details = {"is_working_day": row.is_working_day, "note": row.note}
        row.delete()
        audit_hook.record(
            actor, "core.holiday.remove", object_type="holiday_override", object_id=day.isoformat(), details=details
        )


def do_register_holiday_year(actor: Any, year: int, *, basis: str) -> Any:
    """Declare that the whole arrangement of `year` is entered in the override table."""
    from django.db import transaction

    from .models import HolidayOverride, HolidayYear

    ensure_admin(actor, AdminRole.SYSTEM)
    if not isinstance(year, int) or not 1990 <= year <= 2100:
        raise DomainError("年度：必须是 1990—2100 之间的年份", "year")
    low, high = package_years()
    if low <= year <= high:
        raise DomainError(f"年度：{year} 年已由节假日数据包（{PACKAGE}）收录，无需登记；个别日期可用 set 调整", "year")
    text = _note(basis, "依据")
    days_off = HolidayOverride.objects.filter(date__year=year, is_working_day=False).count()
    if days_off == 0:
        raise DomainError(f"年度：{year} 年还没有录入任何放假日期，请先逐日录入该年的节假日和调休安排", "year")
    with transaction.atomic():
        row, created = HolidayYear.objects.update_or_create(
            year=year, defaults={"basis": text, "who": actor.get_username()}
        )
        audit_hook.record(
            actor, "core.holiday.year", object_type="holiday_override", object_id=str(year),
            details={"basis": text, "days_off": days_off, "updated": not created},
        )
    return row
