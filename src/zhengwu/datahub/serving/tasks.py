"""Background work of the serving store (django-tasks): refresh one resource when the lake tells
us its current version moved (the version listener enqueues `refresh_served`), and every five
minutes catch up on any resource whose served version is not its target and drop retired
tables past their grace period. ServingConfig.ready() registers both."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def refresh_served(resource_code: str) -> dict[str, Any]:
    from .services import do_refresh_served

    result = do_refresh_served(resource_code)
    return {"resource": resource_code, "mode": result.mode, "version": result.lake_version, "rows": result.rows,
            "seconds": round(result.seconds, 3)}


@task()
def serving_catch_up() -> dict[str, Any]:
    from .services import do_catch_up

    return do_catch_up()
