"""The gateway's refusals: an HTTP status, a Chinese message naming the field when there is one,
and for 429 the seconds to wait (Retry-After)."""

from __future__ import annotations


class GatewayError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None, *, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.retry_after = retry_after
