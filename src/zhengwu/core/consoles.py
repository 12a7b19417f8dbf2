"""Registry of console entries shown on the staff home page (工作台).

Each app registers its entries in `AppConfig.ready()`; the home page shows the ones whose
`allowed(user)` is true, so a user sees exactly the consoles they may use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class ConsoleEntry:
    key: str
    title: str
    description: str
    url_name: str
    allowed: Callable[[Any], bool]
    group: str = "业务"
    order: int = 100

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_registry: dict[str, ConsoleEntry] = {}


def register(entry: ConsoleEntry) -> None:
    _registry[entry.key] = entry


def entries_for(user: Any) -> list[ConsoleEntry]:
    if not getattr(user, "is_authenticated", False):
        return []
    return sorted((e for e in _registry.values() if e.allowed(user)), key=lambda e: (e.order, e.key))
