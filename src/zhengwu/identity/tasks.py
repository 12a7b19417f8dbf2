"""Background work for identity (run by `zhengwu run_worker`, registered in apps.py)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def purge_login_history() -> dict[str, Any]:
    from .services import do_purge_login_history

    return do_purge_login_history()
