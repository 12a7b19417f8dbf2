"""`zhengwu serve` as a real process: it stops its worker, and the ASGI body limit holds.

The review: `zhengwu serve` stopped by SIGTERM left `run_worker` running (uvicorn re-raises the
signal after shutting down, which killed the server before it stopped the worker).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    user = cfg.get("USER") or "postgres"
    auth = f"{user}:{cfg['PASSWORD']}@" if cfg.get("PASSWORD") else f"{user}@"
    return f"postgres://{auth}{cfg.get('HOST') or '127.0.0.1'}:{cfg.get('PORT') or 5432}/{cfg['NAME']}"


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return bool(predicate())


def _wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    def healthy() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    if not _wait_until(lambda: healthy() or proc.poll() is not None, 60) or proc.poll() is not None:
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        raise AssertionError(f"服务未能启动：{out[-2000:]}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    env = {
        **os.environ,
        "ZHENGWU_ENV": "development",
        "DATABASE_URL": _database_url(),
        "ZHENGWU_DATA_DIR": str(tmp_path),
        "ZHENGWU_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    env.pop("ZHENGWU_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhengwu.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(port, proc)
        yield proc, port
    finally:
        for pid in [*_children(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_sigterm_stops_the_server_and_its_worker(served: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, port = served
    assert _wait_until(lambda: len(_children(proc.pid)) == 1, 20)
    worker = _children(proc.pid)[0]
    # The served port is one of the platform's own for the egress policy, in the worker too.
    environ = dict(
        item.split("=", 1) for item in Path(f"/proc/{worker}/environ").read_text().split("\0") if "=" in item
    )
    assert str(port) in environ["ZHENGWU_OWN_PORTS"].split(",")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert _wait_until(lambda: not _alive(worker), 20), "SIGTERM 后后台任务进程仍在运行"
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    assert "后台任务进程已停止" in out
    assert "初始密码须在首次登录时修改" in out  # the banner of `make run`


def test_a_killed_server_takes_its_worker_with_it(served: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, _ = served
    assert _wait_until(lambda: len(_children(proc.pid)) == 1, 20)
    worker = _children(proc.pid)[0]
    proc.kill()
    proc.wait(timeout=10)
    assert _wait_until(lambda: not _alive(worker), 20), "服务进程被杀后后台任务进程仍在运行"


def test_the_real_server_refuses_oversized_bodies_before_reading_them(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    _, port = served
    # Declared too large: answered at once, without sending the body.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/api/v1/datahub/resources/1/002/00000001/push")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(17 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["detail"].startswith("请求体超过 16 MB 上限")

    # Chunked, no Content-Length: counted as it arrives, refused once past the limit.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    chunk = b"[" + b"1," * (512 * 1024)
    conn.putrequest("POST", "/api/v1/datahub/resources/1/002/00000001/push")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for _ in range(40):  # 40 MiB offered
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may close the connection as soon as it has answered
    response = conn.getresponse()
    assert response.status == 413
    assert "请求体超过 16 MB 上限" in json.loads(response.read())["detail"]

    # Unknown pages are the Chinese 404, not Django's debug page.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/no-such-page/")
    response = conn.getresponse()
    body = response.read().decode()
    assert response.status == 404 and "页面不存在" in body and "URLconf" not in body
