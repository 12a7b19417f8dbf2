"""The 系统管理员's 工作日历 page and to-do: what the calendar knows of this year and the next, a
warning from 1 November when the next year is not entered, and the forms to enter days and
register a year (bad input: a Chinese reason on the field, nothing written; others: 403)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from zhengwu.audit.models import AuditRecord
from zhengwu.core import consoles, views, workdays
from zhengwu.core.models import HolidayOverride, HolidayYear
from zhengwu.core.roles import AdminRole

pytestmark = pytest.mark.django_db

PAGE = "/calendar/"
LAST_YEAR = workdays.package_years()[1]  # the package's last year (2026 with 1.11.0)
NEXT = LAST_YEAR + 1


def on(monkeypatch: Any, day: date) -> None:
    """Make `day` the platform's today for the page and the to-do."""
    monkeypatch.setattr(views, "_today", lambda: day)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: day)


def system_admin(make_user: Any) -> tuple[Client, Any]:
    user = make_user(admin_role=AdminRole.SYSTEM)
    client = Client()
    client.force_login(user)
    return client, user


def calendar_todo(user: Any) -> int | None:
    return next((t.count for t in consoles.todos_for(user) if t.key == "core.calendar"), None)


def test_the_next_year_is_asked_for_from_november(make_user: Any, monkeypatch: Any) -> None:
    assert workdays.years_to_enter(date(LAST_YEAR, 10, 31)) == []
    assert workdays.years_to_enter(date(LAST_YEAR, 11, 1)) == [NEXT]
    # a year the calendar does not know is asked for all year, and the one after only from November
    assert workdays.years_to_enter(date(NEXT, 3, 1)) == [NEXT]
    assert workdays.years_to_enter(date(NEXT, 11, 1)) == [NEXT, NEXT + 1]

    _client, admin = system_admin(make_user)
    on(monkeypatch, date(LAST_YEAR, 10, 31))
    assert calendar_todo(admin) == 0
    on(monkeypatch, date(LAST_YEAR, 12, 3))
    assert calendar_todo(admin) == 1
    assert calendar_todo(make_user(admin_role=AdminRole.SECURITY)) is None
    assert calendar_todo(make_user()) is None

    workdays.do_set_holiday_override(admin, date(NEXT, 1, 1), is_working_day=False, note="测试：元旦")
    assert calendar_todo(admin) == 1  # entered days alone do not make the year known
    workdays.do_register_holiday_year(admin, NEXT, basis="测试依据（非真实通知）")
    assert calendar_todo(admin) == 0
    assert workdays.years_to_enter(date(LAST_YEAR, 12, 3)) == []


def test_the_page_shows_coverage_and_the_warning(make_user: Any, monkeypatch: Any) -> None:
    client, _admin = system_admin(make_user)
    on(monkeypatch, date(LAST_YEAR, 12, 3))
    body = client.get(PAGE).content.decode()
    assert f'data-year="{LAST_YEAR}"' in body and f'data-year="{NEXT}"' in body
    assert 'id="calendar-warning"' in body and f"{NEXT} 年的法定节假日安排尚未录入" in body
    assert "未录入" in body and "可计算" in body
    on(monkeypatch, date(LAST_YEAR, 6, 1))
    assert 'id="calendar-warning"' not in client.get(PAGE).content.decode()


@pytest.mark.parametrize("role", [AdminRole.SECURITY, AdminRole.AUDIT, ""])
def test_only_the_system_admin_opens_or_changes_it(role: str, make_user: Any) -> None:
    client = Client()
    client.force_login(make_user(admin_role=role))
    assert client.get(PAGE).status_code == 403
    form = {"action": "day", "day-date": f"{NEXT}-01-01", "day-is_working_day": "0", "day-note": "不应生效"}
    assert client.post(PAGE, form).status_code == 403
    HolidayOverride.objects.create(date=date(NEXT, 1, 1), is_working_day=False, note="原有", who="xt")
    assert client.post(f"/calendar/{NEXT}-01-01/remove").status_code == 403
    assert list(HolidayOverride.objects.values_list("note", flat=True)) == ["原有"]
    assert not AuditRecord.objects.filter(action__startswith="core.holiday").exists()


def test_the_page_needs_a_login(db: Any) -> None:
    response = Client().get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_entering_days_and_registering_the_year(make_user: Any, monkeypatch: Any) -> None:
    client, admin = system_admin(make_user)
    on(monkeypatch, date(LAST_YEAR, 12, 3))
    response = client.post(PAGE, {"action": "day", "day-date": f"{NEXT}-01-01", "day-is_working_day": "0",
                                  "day-note": "测试：元旦"})
    assert response.status_code == 302
    response = client.post(PAGE, {"action": "day", "day-date": f"{NEXT}-02-06", "day-is_working_day": "1",
                                  "day-note": "测试：春节调休上班"})
    assert response.status_code == 302
    assert dict(HolidayOverride.objects.values_list("date", "is_working_day")) == {
        date(NEXT, 1, 1): False, date(NEXT, 2, 6): True,
    }
    assert AuditRecord.objects.filter(action="core.holiday.set").count() == 2
    body = client.get(PAGE).content.decode()
    assert f'data-day="{NEXT}-01-01"' in body and "测试：春节调休上班" in body and "放假 1 天，调休上班 1 天" in body

    response = client.post(PAGE, {"action": "year", "year-year": str(NEXT), "year-basis": "测试依据（非真实通知）"})
    assert response.status_code == 302
    assert HolidayYear.objects.get().year == NEXT
    assert workdays.add_working_days(date(LAST_YEAR, 12, 24), 10).year == NEXT
    body = client.get(PAGE).content.decode()
    assert 'id="calendar-warning"' not in body and "测试依据（非真实通知）" in body

    response = client.post(f"/calendar/{NEXT}-02-06/remove")
    assert response.status_code == 302
    assert not HolidayOverride.objects.filter(date=date(NEXT, 2, 6)).exists()
    assert AuditRecord.objects.filter(action="core.holiday.remove", object_id=f"{NEXT}-02-06").count() == 1
    assert admin.username in AuditRecord.objects.filter(action="core.holiday.remove").values_list("actor", flat=True)


@pytest.mark.parametrize(("form", "reason"), [
    ({"action": "day", "day-date": f"{NEXT}-13-01", "day-is_working_day": "0", "day-note": "测试：元旦"},
     "日期：请按 2027-01-01 的格式填写"),
    ({"action": "day", "day-date": "", "day-is_working_day": "0", "day-note": "测试：元旦"}, "请填写此项"),
    ({"action": "day", "day-date": f"{NEXT}-01-01", "day-is_working_day": "2", "day-note": "测试：元旦"},
     "这一天：只能是放假或上班"),
    ({"action": "day", "day-date": f"{NEXT}-01-01", "day-is_working_day": "0", "day-note": "元"},
     "说明：必须填写"),
    ({"action": "day", "day-date": f"{NEXT}-01-01", "day-is_working_day": "0", "day-note": "节" * 201},
     "说明：最多 200 字"),
    ({"action": "year", "year-year": "二〇二七", "year-basis": "测试依据"}, "年度：请填写四位数的年份"),
    ({"action": "year", "year-year": "3000", "year-basis": "测试依据"}, "年度：必须是 1990—2100 之间的年份"),
    ({"action": "year", "year-year": str(NEXT), "year-basis": "测试依据"}, "还没有录入任何放假日期"),
    ({"action": "year", "year-year": str(LAST_YEAR), "year-basis": "测试依据"}, "已由节假日数据包"),
], ids=["date-format", "date-missing", "kind", "note-short", "note-long", "year-text", "year-range",
        "year-no-days", "year-in-package"])
def test_bad_input_is_refused_in_chinese_and_changes_nothing(form: dict[str, str], reason: str, make_user: Any) -> None:
    client, _admin = system_admin(make_user)
    response = client.post(PAGE, form)
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not HolidayOverride.objects.exists() and not HolidayYear.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="core.holiday").exists()


def test_only_get_and_post_reach_the_page(make_user: Any) -> None:
    client, _admin = system_admin(make_user)
    assert client.put(PAGE, "day-date=2027-01-01").status_code == 405
    assert client.delete(PAGE).status_code == 405
    assert client.get(f"/calendar/{NEXT}-01-01/remove").status_code == 405  # removing is POST only
    assert not HolidayOverride.objects.exists()


def test_removing_a_day_not_entered_says_so(make_user: Any) -> None:
    client, _admin = system_admin(make_user)
    response = client.post(f"/calendar/{NEXT}-03-03/remove", follow=True)
    assert f"{NEXT}-03-03 在节假日维护表中没有记录" in response.content.decode()
    response = client.post("/calendar/not-a-day/remove", follow=True)
    assert "日期：格式有误" in response.content.decode()
