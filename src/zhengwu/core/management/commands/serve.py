"""`zhengwu serve`: the web server (uvicorn, ASGI) and the background worker together.

This is what `make run` uses on the embedded default. In production run them separately:
`uvicorn zhengwu.asgi:application --workers N --http zhengwu.core.webserver:NoDelayHTTPProtocol`
and `zhengwu db_worker` (docs/operations.md; the protocol works around uvicorn losing TCP_NODELAY).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from zhengwu.core import webserver
from zhengwu.core.periodic import describe_schedule

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the worker child (Linux): receive SIGTERM when the server process dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the server's own shutdown still stops the worker
        pass


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    # uvicorn re-raises the signal that stopped it once it has shut down; with the default
    # SIGTERM disposition that killed this process before the worker was stopped.
    raise SystemExit(128 + signum)


class Command(BaseCommand):
    help = "启动网站与后台任务进程（开发/演示环境）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="不启动后台任务进程")

    def handle(self, *args: Any, host: str, port: int, no_worker: bool, **options: Any) -> None:
        import uvicorn

        # The port served here is one of the platform's own: the egress policy never lets a data
        # source (or later a webhook) reach it, in this process and in the worker.
        own_ports = sorted({*settings.EGRESS_OWN_PORTS, port})
        settings.EGRESS_OWN_PORTS = own_ports
        os.environ["ZHENGWU_OWN_PORTS"] = ",".join(str(p) for p in own_ports)
        worker: subprocess.Popen[bytes] | None = None
        if not no_worker:
            worker = subprocess.Popen(
                [sys.executable, "-m", "zhengwu.cli", "run_worker"],
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        url = f"http://{host}:{port}/"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"{settings.PLATFORM_NAME} 已启动：{url}",
                    f"  登录页：{url}login/    接口文档：{url}api/v1/docs",
                    "  演示账号见上方 load_demo_city 的输出：初始密码须在首次登录时修改，管理员还需绑定动态口令 TOTP。",
                    f"  后台任务：{'已启动' if worker else '未启动'}；定期任务：{describe_schedule()}",
                    "  按 Ctrl+C 停止。",
                    "",
                ]
            )
        )
        signal.signal(signal.SIGTERM, _exit_on_signal)
        signal.signal(signal.SIGHUP, _exit_on_signal)
        try:
            uvicorn.run(
                "zhengwu.asgi:application", host=host, port=port, log_level="info", lifespan="off",
                http=webserver.PROTOCOL,
            )
        finally:
            if worker is not None:
                self._stop_worker(worker)

    def _stop_worker(self, worker: subprocess.Popen[bytes]) -> None:
        if worker.poll() is not None:
            return
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
        self.stdout.write("后台任务进程已停止。")
