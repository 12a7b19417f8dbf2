"""What the benchmarks share: a temporary data directory, Django configured and migrated (with the
demo city and catalog loaded quietly when asked), the database's name and checks, a progress line,
percentiles, and the one JSON result line each benchmark ends with.

A benchmark runs as a script (`python benchmarks/x.py`), so its own directory is on sys.path and it
imports this module as `_common`.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def log(message: str, *, to_stderr: bool = False) -> None:
    """A progress line (flushed at once: the runs are long and their output is watched)."""
    print(message, file=sys.stderr if to_stderr else sys.stdout, flush=True)


def emit(result: dict[str, Any]) -> None:
    """The benchmark's result: exactly one JSON line on standard output, Chinese kept readable."""
    print(json.dumps(result, ensure_ascii=False), flush=True)


def temp_data_dir(prefix: str) -> Path:
    """A fresh temporary directory made the platform's data directory (ZHENGWU_DATA_DIR)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["ZHENGWU_DATA_DIR"] = str(path)
    return path


def setup_django(
    *,
    data_dir: str | Path | None = None,
    prefix: str | None = None,
    tasks_backend: str | None = None,
    demo: bool = False,
    require_app: str | None = None,
) -> Path | None:
    """Configure Django (test settings) and migrate its database.

    The data directory is `data_dir` if given, else with `prefix` a fresh temporary one (pass
    `temp_prefix_unless_database(...)` for "temporary on SQLite, the default with DATABASE_URL").
    `tasks_backend` replaces the task queue (e.g. the dummy backend when the benchmark drives the work
    itself); `demo` loads the demo city and the demo catalog quietly; `require_app` stops with a
    message when that app is not installed. Returns the data directory it set, if any."""
    chosen: Path | None = None
    if data_dir:
        chosen = Path(data_dir)
        os.environ["ZHENGWU_DATA_DIR"] = str(chosen)
    elif prefix:
        chosen = temp_data_dir(prefix)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
    os.environ.setdefault("ZHENGWU_ENV", "test")
    if tasks_backend:
        os.environ["ZHENGWU_TASKS_BACKEND"] = tasks_backend
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if require_app and require_app not in settings.INSTALLED_APPS:
        sys.exit(f"{require_app} 不在 INSTALLED_APPS 中，无法运行基准测试")
    call_command("migrate", verbosity=0, interactive=False)
    if demo:
        load_demo_city_and_catalog()
    return chosen


def temp_prefix_unless_database(prefix: str) -> str | None:
    """The temporary data directory's prefix when the benchmark runs on SQLite, None when
    DATABASE_URL names the database (the data directory is then the platform's default)."""
    return None if os.environ.get("DATABASE_URL") else prefix


def load_demo_city_and_catalog() -> None:
    from django.core.management import call_command

    call_command("load_demo_city", stdout=io.StringIO())
    call_command("load_demo_catalog", stdout=io.StringIO())


def live_entry_code(name: str) -> str:
    """The resource code of the published catalog entry of that name (the demo catalog's)."""
    from zhengwu.catalog.models import CatalogEntry

    entry = CatalogEntry.objects.filter(name=name, is_live=True).order_by("id").first()
    if entry is None:
        sys.exit(f"演示目录中没有已发布的“{name}”")
    return str(entry.resource_code)


def database_vendor() -> str:
    """ "postgresql", "sqlite", … of the configured database."""
    from django.db import connection

    return str(connection.vendor)


def require_postgresql(why: str) -> None:
    """Stop with a message unless DATABASE_URL names a PostgreSQL database."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit(f"DATABASE_URL 须指向一个 PostgreSQL 数据库：{why}")


def require_empty_database() -> None:
    """Stop with a message when the configured database already holds units (an earlier run or
    someone's data): the benchmarks fill it and their figures assume a fresh one."""
    from zhengwu.directory.models import Unit

    if Unit.objects.exists():
        sys.exit("DATABASE_URL 指向的数据库不是空的（已有单位数据）：请给基准测试一个新建的空数据库")


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile by nearest rank on the sorted values (p50 of [1, 2, 3, 4] is 3)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))
