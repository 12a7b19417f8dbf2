"""`zhengwu load_demo_portal`: the demo city's portal notices and 门户编辑 (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from zhengwu.core.errors import DomainError


class Command(BaseCommand):
    help = "载入示范市门户的通知公告（关于平台本身的几条真实说明），并授予演示账号 zwb_clerk“门户编辑”角色；可重复运行。须先运行 load_demo_city。"

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.portal.demo import load_demo_portal

        try:
            report = load_demo_portal()
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"门户通知公告：新发布 {report.created} 条，已存在 {report.existing} 条。")
        for line in report.notes:
            self.stdout.write(f"  {line}")
