"""The demo city's sharing accounts and one real request, through the platform's own services
(idempotent). Needs load_demo_city and load_demo_catalog.

- rsj_data (人社局, 数据管理员) files its unit's requests;
- gaj_share (公安局, 共享审核员) decides requests for 公安局's data;
- rsj_data asks for 人口基本信息 (无条件共享 in the demo catalog) including clear 公民身份号码,
  which therefore waits for gaj_share's review (nothing is pre-approved).

The request's answer deadline is counted in working days. When it reaches a year the holiday
package does not cover and nobody has entered (late in the package's last year), xtadmin enters
that year's 元旦 — 1 January is a statutory day off every year — and registers the year with a
basis that says it is demo data, not the State Council's notice (shown so on the 工作日历 page and
in the loader's output), so the demo loads on any day.

The accounts are created by the demo 系统管理员 (xtadmin) with directory's services, audited,
with the demo password (ZHENGWU_DEMO_PASSWORD), to be changed at first login.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings

from zhengwu.catalog.models import CatalogEntry
from zhengwu.core import workdays
from zhengwu.core.errors import DomainError
from zhengwu.directory import services as directory
from zhengwu.directory.demo import CITY_DISPLAY_NAME, DEFAULT_PASSWORD, PASSWORD_ENV
from zhengwu.directory.models import BusinessRole, RoleGrant, Unit, User

from . import services
from .models import RequestStatus, ShareRequest

C = CITY_DISPLAY_NAME
ACCOUNTS = [
    ("rsj_data", "孙立群", f"{C}人力资源和社会保障局", "data_admin"),
    ("gaj_share", "罗文静", f"{C}公安局", services.SHARE_REVIEWER_ROLE),
]


@dataclass
class DemoReport:
    created_users: list[str] = field(default_factory=list)
    request_id: int | None = None
    note: str = ""


def load_demo_sharing(password: str | None = None) -> DemoReport:
    password = password or os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD
    admin = User.objects.filter(username="xtadmin", admin_role="system_admin", is_active=True).first()
    if admin is None:
        raise DomainError("演示城市尚未创建（找不到系统管理员 xtadmin）：请先运行 zhengwu load_demo_city")
    report = DemoReport()
    for username, full_name, unit_name, role_code in ACCOUNTS:
        unit = Unit.objects.filter(name=unit_name, is_active=True).first()
        if unit is None:
            raise DomainError(f"演示城市中没有单位“{unit_name}”：请先运行 zhengwu load_demo_city")
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            user = directory.do_create_user(admin, username=username, full_name=full_name, unit=unit, password=password)
            report.created_users.append(username)
        if not RoleGrant.objects.filter(user=user, role__code=role_code, unit=unit).exists():
            directory.do_grant_role(admin, user, BusinessRole.objects.get(code=role_code), unit)
    requester = User.objects.get(username="rsj_data")
    entry = CatalogEntry.objects.filter(name="人口基本信息", is_live=True, provider__name=f"{C}公安局").first()
    if entry is None:
        report.note = "演示目录中没有“人口基本信息”（请先运行 zhengwu load_demo_catalog），未创建示例申请"
        return report
    existing = ShareRequest.objects.filter(consumer=requester.unit, entry=entry).exclude(status=RequestStatus.WITHDRAWN).first()
    if existing is not None:
        report.request_id = existing.pk
        return _with_gateway(report)
    today = services._today()
    calendar_note = _demo_calendar(admin, today)
    try:
        req = services.do_file_share_request(
            requester, entry,
            purpose="办理社会保险参保登记、待遇资格认证时核验参保人身份和户籍，免交身份证和户口簿复印件",
            legal_basis="《中华人民共和国社会保险法》第五十七条；《政务数据共享条例》",
            items=["id_no", "person_name", "gender", "birth_date", "household_address", "division_code"],
            clear_items=["id_no"], valid_from=today, valid_until=today + timedelta(days=364),
        )
    except DomainError as exc:
        report.note = f"未创建示例申请：{exc.message}"
        return report
    report.request_id = req.pk
    report.note = calendar_note
    return _with_gateway(report)


def _demo_calendar(admin: User, today: date) -> str:
    """Make the demo request's answer deadline countable (see the module docstring); a note for
    the report when a year was entered, else ''."""
    days = int(getattr(settings, "SHARING_ANSWER_WORKING_DAYS", 10))
    entered: list[int] = []
    for _attempt in range(2):  # the deadline spans at most one year boundary
        try:
            workdays.add_working_days(today, days)
            break
        except workdays.CalendarNotCovered as missing:
            year = missing.year
        workdays.do_set_holiday_override(
            admin, date(year, 1, 1), is_working_day=False, note="元旦（全国年节及纪念日放假办法：1 月 1 日放假）",
        )
        workdays.do_register_holiday_year(
            admin, year, basis=f"演示数据：只录入了元旦，不是国务院办公厅的 {year} 年放假通知；正式使用前请按通知录入",
        )
        entered.append(year)
    if not entered:
        return ""
    years = "、".join(f"{y} 年" for y in entered)
    return (f"工作日历未收录{years}：演示系统管理员只录入了元旦并登记该年（演示数据），"
            "正式使用前请系统管理员按国务院办公厅的放假通知在“工作日历”中录入")


def _with_gateway(report: DemoReport) -> DemoReport:
    """The gateway's part of the demo (grant approved, 人社局's SERVICE client): sharing.gateway.demo."""
    from .gateway.demo import load_demo_gateway

    notes = load_demo_gateway(report.request_id)
    report.note = "；".join(n for n in [report.note, *notes] if n)
    return report
