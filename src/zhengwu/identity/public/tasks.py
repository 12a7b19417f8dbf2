"""Background work of the public accounts (run by `zhengwu run_worker`, registered in apps.py)."""

from __future__ import annotations

from django_tasks import task


@task()
def purge_rate_events() -> int:
    from .services import do_purge_rate_events

    return do_purge_rate_events()
