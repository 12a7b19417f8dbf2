"""The gateway's minute job: seal the calls since the last seal into the audit chain, roll them into
the hourly statistics, forget signature nonces past the clock window and old usage counters."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def gateway_housekeeping() -> dict[str, Any]:
    from .services import do_gateway_housekeeping

    return do_gateway_housekeeping()
