"""`zhengwu run_worker`: the background worker (django-tasks database backend) plus periodic jobs."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from zhengwu.core import periodic


class Command(BaseCommand):
    help = "运行后台任务进程（执行排队任务，并按周期排入定期任务）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="轮询任务队列的间隔秒数")
        parser.add_argument("--no-periodic", action="store_true", help="不排入定期任务")

    def handle(self, *args: Any, interval: float, no_periodic: bool, **options: Any) -> None:
        if not no_periodic:
            threading.Thread(target=self._schedule_loop, daemon=True, name="periodic").start()
        call_command("db_worker", interval=interval, reload=False)

    def _schedule_loop(self) -> None:
        from django.db import close_old_connections

        while True:
            try:
                for name in periodic.enqueue_due():
                    self.stdout.write(f"已排入定期任务：{name}")
            except Exception as exc:  # keep the scheduler alive; the error is logged
                self.stderr.write(f"定期任务排程失败：{exc}")
            finally:
                close_old_connections()
            time.sleep(60)
