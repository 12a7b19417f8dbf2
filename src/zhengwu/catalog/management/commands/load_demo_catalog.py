"""`zhengwu load_demo_catalog`: publish the demo city's catalog (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from zhengwu.core.errors import DomainError


class Command(BaseCommand):
    help = "载入演示城市的政务信息资源目录（约 60 条，已发布；可重复运行）。须先运行 load_demo_city。"

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.catalog.demo import load_demo_catalog

        try:
            report = load_demo_catalog()
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"演示目录：新发布 {report.created} 条，已存在 {report.existing} 条。")
        for line in report.skipped or []:
            self.stdout.write(f"  跳过：{line}")
        self.stdout.write("说明：演示目录未模拟数据到达，统计页的“逾期未更新”在数据归集（datahub）上线前为 0。")
