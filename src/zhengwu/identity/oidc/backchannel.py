"""One HTTP POST to an address the egress policy chose (back-channel logout delivery).

The connection goes to the checked IP address (never to the name again, so DNS cannot change between
the check and the connection); the Host header and, for https, the TLS server name and certificate
check use the registered host name.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings

from zhengwu.core.egress import Destination, http_post


def post_form(uri: str, destination: Destination, fields: dict[str, str]) -> int:
    """POST application/x-www-form-urlencoded `fields` to `uri` at `destination`; the HTTP status."""
    return http_post(
        uri, destination, urlencode(fields).encode("ascii"),
        {"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"},
        timeout=settings.OIDC_BACKCHANNEL_TIMEOUT_SECONDS,
    )
