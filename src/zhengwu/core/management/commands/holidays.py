"""`zhengwu holidays`: the 系统管理员 keeps the working-day calendar's override table (audited).

    zhengwu holidays check 2026-10-10
    zhengwu holidays list 2027
    zhengwu holidays set 2027-10-01 --off --note "2027 年国庆节（国办发明电〔2026〕X 号）" --by xtadmin
    zhengwu holidays set <调休上班日> --work --note "国庆调休上班（按通知原文）" --by xtadmin
    zhengwu holidays remove 2027-10-01 --by xtadmin
    zhengwu holidays year 2027 --basis "国办发明电〔2026〕X 号" --by xtadmin
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhengwu.core import workdays
from zhengwu.core.errors import DomainError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"日期：“{text}”不是 YYYY-MM-DD 格式的日期") from exc


class Command(BaseCommand):
    help = "维护工作日日历的节假日调整表（系统管理员；每次变更记入审计）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="查看某日是否工作日")
        check.add_argument("date")
        lst = sub.add_parser("list", help="列出某年的调整")
        lst.add_argument("year", type=int)
        st = sub.add_parser("set", help="设置某日为工作日或放假")
        st.add_argument("date")
        kind = st.add_mutually_exclusive_group(required=True)
        kind.add_argument("--work", action="store_true", help="上班（调休）")
        kind.add_argument("--off", action="store_true", help="放假")
        st.add_argument("--note", required=True)
        st.add_argument("--by", required=True, help="系统管理员的用户名")
        rm = sub.add_parser("remove", help="删除某日的调整")
        rm.add_argument("date")
        rm.add_argument("--by", required=True)
        yr = sub.add_parser("year", help="登记某年的放假安排已全部录入")
        yr.add_argument("year", type=int)
        yr.add_argument("--basis", required=True)
        yr.add_argument("--by", required=True)

    def _actor(self, username: str) -> Any:
        user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise CommandError(f"--by：账号“{username}”不存在或已停用")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.core.models import HolidayOverride

        action = options["action"]
        try:
            if action == "check":
                day = _date(options["date"])
                self.stdout.write(f"{day.isoformat()}：{workdays.describe(day)}")
            elif action == "list":
                for row in HolidayOverride.objects.filter(date__year=options["year"]):
                    self.stdout.write(f"{row.date.isoformat()} {'上班' if row.is_working_day else '放假'} {row.note}（{row.who}）")
            elif action == "set":
                row = workdays.do_set_holiday_override(
                    self._actor(options["by"]), _date(options["date"]), is_working_day=options["work"], note=options["note"]
                )
                self.stdout.write(f"已设置：{row}")
            elif action == "remove":
                workdays.do_remove_holiday_override(self._actor(options["by"]), _date(options["date"]))
                self.stdout.write("已删除")
            elif action == "year":
                workdays.do_register_holiday_year(self._actor(options["by"]), options["year"], basis=options["basis"])
                self.stdout.write(f"已登记 {options['year']} 年的放假安排")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
