"""`zhengwu serving_refresh CODE` / `zhengwu serving_refresh --all`: bring the serving store's
table of one resource (or of every resource with data) to its current lake version now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhengwu.core.errors import DomainError


class Command(BaseCommand):
    help = "刷新数据服务库：把资源的服务表更新到数据湖的当前版本（增量或全量重建），或停止服务已无数据的资源"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("resource_code", nargs="?", help="信息资源代码")
        parser.add_argument("--all", action="store_true", help="刷新所有有数据版本或正在服务的资源")
        parser.add_argument("--full", action="store_true", help="全量重建（即使已是最新或可以增量更新）")

    def handle(self, *args: Any, resource_code: str | None = None, all: bool = False, full: bool = False, **options: Any) -> None:
        from zhengwu.datahub.serving.services import (
            MODE_NAMES,
            candidates,
            do_refresh_served,
            drop_expired_tables,
        )

        if bool(resource_code) == bool(all):
            raise CommandError("请指定一个信息资源代码，或使用 --all（二者选一）")
        codes = candidates() if all else [str(resource_code)]
        failed = 0
        for code in codes:
            try:
                result = do_refresh_served(code, full=full)
            except DomainError as exc:
                failed += 1
                self.stderr.write(f"{code}：{exc.message}")
                continue
            version = "—" if result.lake_version is None else f"v{result.lake_version}"
            self.stdout.write(
                f"{code}：{MODE_NAMES[result.mode]}，版本 {version}，{result.rows} 行，{result.seconds:.2f} 秒"
            )
        dropped = drop_expired_tables()
        if dropped:
            self.stdout.write(f"删除过了保留期的旧服务表：{'、'.join(dropped)}")
        if failed:
            raise CommandError(f"{failed} 个资源刷新失败")
