"""The HTTP protocol the platform's uvicorn servers use: uvicorn's h11 protocol with TCP_NODELAY
set on every accepted connection.

uvicorn 0.54 loses TCP_NODELAY whenever it binds the listening socket itself — `--workers N`,
which every production deployment uses (upstream issue Kludex/uvicorn#3149): the listener is made
with protocol 0, accepted sockets inherit it, and asyncio only turns Nagle's algorithm off for
sockets that report IPPROTO_TCP. A response is then written in two segments (head, body) and the
second waits for the client's delayed ACK: measured here, 44 ms added to every keep-alive request
(0.6 ms with one worker), which alone breaks the gateway's latency target. Setting the option on
the accepted socket ourselves is harmless where uvicorn already did.

    uvicorn zhengwu.asgi:application --workers 4 --http zhengwu.core.webserver:NoDelayHTTPProtocol
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

PROTOCOL = "zhengwu.core.webserver:NoDelayHTTPProtocol"


def set_no_delay(transport: asyncio.BaseTransport) -> bool:
    """Turn Nagle's algorithm off on a TCP transport's socket; whether it applied."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # the peer went away already: nothing to speed up
        return False
    return True


class NoDelayHTTPProtocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_no_delay(transport)
        super().connection_made(transport)
