"""One HTTP POST to an address the egress policy chose (back-channel logout delivery).

The connection goes to the checked IP address (never to the name again, so DNS cannot change between
the check and the connection); the Host header and, for https, the TLS server name and certificate
check use the registered host name.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from zhengwu.core.egress import Destination


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post_form(uri: str, destination: Destination, fields: dict[str, str]) -> int:
    """POST application/x-www-form-urlencoded `fields` to `uri` at `destination`; the HTTP status."""
    parts = urlsplit(uri)
    timeout = settings.OIDC_BACKCHANNEL_TIMEOUT_SECONDS
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(destination.host, destination.ip, destination.port, timeout)
    else:
        connection = http.client.HTTPConnection(destination.ip, destination.port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = parts.netloc.rsplit("@", 1)[-1]
    try:
        connection.request(
            "POST", path, body=urlencode(fields),
            headers={"Host": host_header, "Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"},
        )
        response = connection.getresponse()
        response.read(4096)
        return response.status
    finally:
        connection.close()
