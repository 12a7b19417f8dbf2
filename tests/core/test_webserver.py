"""The platform's uvicorn HTTP protocol turns Nagle's algorithm off on every accepted connection,
including on a listener bound the way uvicorn's `--workers N` supervisor binds it (protocol 0),
where uvicorn itself leaves it on (Kludex/uvicorn#3149)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from zhengwu.core.webserver import NoDelayHTTPProtocol


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _accepted_no_delay(protocol_class: type[H11Protocol]) -> int:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # protocol 0, as uvicorn's bind_socket
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    config = Config(app=_app, lifespan="off")
    state = ServerState()
    made: list[H11Protocol] = []

    def factory() -> H11Protocol:
        protocol = protocol_class(config=config, server_state=state, app_state={})
        made.append(protocol)
        return protocol

    server = await asyncio.get_running_loop().create_server(factory, sock=listener)
    try:
        _reader, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        for _ in range(100):
            if made and getattr(made[0], "transport", None) is not None:
                break
            await asyncio.sleep(0.01)
        sock = made[0].transport.get_extra_info("socket")
        value = int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        return value
    finally:
        server.close()


def _run(protocol_class: type[H11Protocol]) -> int:
    # On a thread of its own: an earlier test (the browser tests' Playwright) may leave an event
    # loop running in the main thread, where asyncio.run refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _accepted_no_delay(protocol_class)).result(timeout=30)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the inherited protocol number is Linux behaviour")
def test_nagle_is_off_on_a_listener_bound_like_uvicorns_workers() -> None:
    assert _run(H11Protocol) == 0  # the upstream behaviour this works around
    assert _run(NoDelayHTTPProtocol) == 1


def test_keep_alive_requests_under_several_workers_are_not_held_back(tmp_path: Path) -> None:
    """A real `uvicorn --workers 2` with the protocol: keep-alive requests answer in milliseconds,
    not after the client's ~40 ms delayed ACK."""
    (tmp_path / "tiny_app.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n        return\n"
        "    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})\n"
        "    await send({'type': 'http.response.body', 'body': b'ok'})\n"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    proc = subprocess.Popen(
        [uvicorn, "tiny_app:app", "--port", str(port), "--workers", "2", "--lifespan", "off", "--log-level", "warning",
         "--http", "zhengwu.core.webserver:NoDelayHTTPProtocol"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=5) as client:
            while True:
                try:
                    client.get(url)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            took = []
            for _ in range(20):
                started = time.perf_counter()
                assert client.get(url).text == "ok"
                took.append((time.perf_counter() - started) * 1000)
        took.sort()
        assert took[len(took) // 2] < 25, took  # ~44 ms each when Nagle is left on
    finally:
        proc.terminate()
        proc.wait(timeout=15)
