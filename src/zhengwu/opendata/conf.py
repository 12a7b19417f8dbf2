"""Settings of open data, read from Django settings when the deployment sets them there, else
from the environment (the names are documented in docs/opendata.md)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

# Licences a dataset may carry (id → title, url); CKAN's license ids, DCAT's dct:license IRIs.
LICENCES: dict[str, tuple[str, str]] = {
    "cc-by-4.0": ("知识共享署名 4.0 国际许可协议（CC BY 4.0）", "https://creativecommons.org/licenses/by/4.0/"),
    "cc-zero": ("知识共享零授权声明（CC0 1.0）", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "odc-by": ("开放数据共享署名许可协议（ODC-By 1.0）", "https://opendatacommons.org/licenses/by/1-0/"),
}


def _value(name: str, default: Any) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(f"ZHENGWU_{name}")
    if raw is None or raw == "":
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    return raw


def answer_working_days() -> int:
    """有条件开放 applications are answered within this many working days (default 5)."""
    return int(_value("OPENDATA_ANSWER_WORKING_DAYS", 5))


def default_licence() -> str:
    licence = str(_value("OPENDATA_DEFAULT_LICENCE", "cc-by-4.0"))
    return licence if licence in LICENCES else "cc-by-4.0"


def sql_enabled() -> bool:
    """datastore_search_sql is off unless the deployment turns it on (as in CKAN)."""
    return bool(_value("OPENDATA_SQL_ENABLED", False))


def sql_timeout_seconds() -> float:
    return float(_value("OPENDATA_SQL_TIMEOUT_SECONDS", 5))


def sql_max_rows() -> int:
    return int(_value("OPENDATA_SQL_MAX_ROWS", 32000))


def site_url() -> str:
    """The public base URL used in DCAT and CKAN answers (the request's own host when empty)."""
    return str(_value("OPENDATA_SITE_URL", "")).rstrip("/")
