"""`zhengwu load_demo_sharing`: the demo city's sharing accounts and one real request (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from zhengwu.core.errors import DomainError


class Command(BaseCommand):
    help = "载入共享交换的演示账号（人社局数据管理员 rsj_data、公安局共享审核员 gaj_share）和一条待审核的共享申请。须先运行 load_demo_city、load_demo_catalog。"

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.sharing.demo import load_demo_sharing

        try:
            report = load_demo_sharing()
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if report.created_users:
            self.stdout.write(f"新建账号：{'、'.join(report.created_users)}（演示密码，首次登录须修改）")
        if report.request_id:
            self.stdout.write(f"示例共享申请：#{report.request_id}（人社局申请公安局“人口基本信息”，待公安局共享审核员 gaj_share 审核）")
        if report.note:
            self.stdout.write(report.note)
