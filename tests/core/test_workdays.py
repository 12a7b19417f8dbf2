"""The working-day calendar: real 2025/2026 holidays and 调休 weekends, the override table,
and a year neither the package nor the table covers (refused, never guessed)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from zhengwu.audit.models import AuditRecord
from zhengwu.core import workdays
from zhengwu.core.errors import PermissionDenied
from zhengwu.core.models import HolidayOverride, HolidayYear
from zhengwu.core.roles import AdminRole

pytestmark = pytest.mark.django_db


def test_real_holidays_and_adjusted_weekends() -> None:
    # 2026 国庆节 + 中秋节: 10-01…10-07 off; Sunday 09-20 and Saturday 10-10 are 调休 working days.
    assert not workdays.is_working_day(date(2026, 10, 1))
    assert not workdays.is_working_day(date(2026, 10, 7))
    assert workdays.is_working_day(date(2026, 9, 20))  # a Sunday
    assert workdays.is_working_day(date(2026, 10, 10))  # a Saturday
    assert not workdays.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    # 2025 春节: 01-28…02-04 off; Sunday 01-26 and Saturday 02-08 worked.
    assert not workdays.is_working_day(date(2025, 1, 29))
    assert workdays.is_working_day(date(2025, 1, 26))
    assert workdays.is_working_day(date(2025, 2, 8))
    assert workdays.describe(date(2026, 10, 1)) == "法定节假日（国庆节）"
    assert workdays.describe(date(2026, 10, 10)).startswith("调休上班")


def test_add_working_days_does_not_count_the_day_of_receipt_and_skips_national_day() -> None:
    # Received Wednesday 2026-09-30: day 1 is not 10-01 (holiday) …; working days after it are
    # 10-08 (Thu), 10-09 (Fri), 10-10 (Sat, 调休), 10-12 … 10-16, 10-19, 10-20: the 10th is 10-20.
    assert workdays.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert workdays.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert workdays.add_working_days(date(2026, 9, 30), 10) == date(2026, 10, 20)
    # An ordinary week: received Monday 2026-11-02 → the 10th working day is Monday 11-16.
    assert workdays.add_working_days(date(2026, 11, 2), 10) == date(2026, 11, 16)
    # Received on a Saturday: the Monday is day 1.
    assert workdays.add_working_days(date(2026, 11, 7), 1) == date(2026, 11, 9)
    assert workdays.working_days_between(date(2026, 9, 30), date(2026, 10, 20)) == 10
    assert workdays.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert workdays.working_days_between(date(2026, 10, 20), date(2026, 9, 30)) == 0


def test_bad_counts_are_refused() -> None:
    with pytest.raises(workdays.DomainError, match="工作日数"):
        workdays.add_working_days(date(2026, 11, 2), 0)


def test_uncovered_year_is_refused_in_chinese() -> None:
    with pytest.raises(workdays.CalendarNotCovered) as err:
        workdays.is_working_day(date(2027, 3, 1))
    assert "2027 年的法定节假日安排尚未收录" in err.value.message
    # A deadline running into the uncovered year is refused too, not guessed.
    with pytest.raises(workdays.CalendarNotCovered):
        workdays.add_working_days(date(2026, 12, 24), 10)


def test_override_beats_the_package_and_is_audited(make_user: Any) -> None:
    admin = make_user("xt", admin_role=AdminRole.SYSTEM)
    assert workdays.is_working_day(date(2026, 11, 16))
    workdays.do_set_holiday_override(admin, date(2026, 11, 16), is_working_day=False, note="测试：临时放假一天")
    assert not workdays.is_working_day(date(2026, 11, 16))
    assert workdays.add_working_days(date(2026, 11, 2), 10) == date(2026, 11, 17)
    rec = AuditRecord.objects.filter(action="core.holiday.set").get()
    assert rec.object_id == "2026-11-16" and rec.actor == "xt"
    workdays.do_remove_holiday_override(admin, date(2026, 11, 16))
    assert workdays.is_working_day(date(2026, 11, 16))
    assert AuditRecord.objects.filter(action="core.holiday.remove").count() == 1


def test_only_the_system_admin_keeps_the_table(make_user: Any) -> None:
    staff = make_user("clerk")
    with pytest.raises(PermissionDenied):
        workdays.do_set_holiday_override(staff, date(2026, 11, 16), is_working_day=False, note="不应生效")
    assert not HolidayOverride.objects.exists()


def test_an_entered_year_is_counted_after_registration(make_user: Any) -> None:
    admin = make_user("xt2", admin_role=AdminRole.SYSTEM)
    with pytest.raises(workdays.DomainError, match="还没有录入任何放假日期"):
        workdays.do_register_holiday_year(admin, 2027, basis="测试依据")
    workdays.do_set_holiday_override(admin, date(2027, 1, 1), is_working_day=False, note="测试：元旦")
    with pytest.raises(workdays.CalendarNotCovered):  # entered days alone do not cover the year
        workdays.is_working_day(date(2027, 1, 4))
    assert not workdays.is_working_day(date(2027, 1, 1))  # but an entered day is known
    workdays.do_register_holiday_year(admin, 2027, basis="测试依据（非真实通知）")
    assert HolidayYear.objects.filter(year=2027).exists()
    assert workdays.is_working_day(date(2027, 1, 4))
    assert not workdays.is_working_day(date(2027, 1, 9))  # a Saturday
    assert workdays.add_working_days(date(2026, 12, 24), 10) == date(2027, 1, 8)
    with pytest.raises(workdays.DomainError, match="已由节假日数据包"):
        workdays.do_register_holiday_year(admin, 2026, basis="不需要")


def test_management_command(make_user: Any, capsys: Any) -> None:
    make_user("xtcmd", admin_role=AdminRole.SYSTEM)
    call_command("holidays", "check", "2026-10-10")
    assert "调休上班" in capsys.readouterr().out
    call_command("holidays", "set", "2026-12-31", "--off", "--note", "测试：跨年放假", "--by", "xtcmd")
    assert not workdays.is_working_day(date(2026, 12, 31))
    with pytest.raises(CommandError, match="仅系统管理员"):
        make_user("nobody")
        call_command("holidays", "remove", "2026-12-31", "--by", "nobody")
    with pytest.raises(CommandError, match="不是 YYYY-MM-DD"):
        call_command("holidays", "check", "2026/10/10")
