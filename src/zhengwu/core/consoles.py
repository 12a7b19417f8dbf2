"""Registry of the staff console: console entries (the menu and the 工作台's cards) and to-do
providers (the 工作台's counters).

Each app registers its entries and to-dos in `AppConfig.ready()`; core never imports an app.
The global navigation, the breadcrumbs and the 工作台 are built from this registry and the
user's rights: an entry or to-do is shown only when its `allowed(user)` is true, and the page it
links to checks the same predicate, so no link leads to 无权访问.

A to-do's `count(user)` must use the same scoped query (the app's `queries.py`) as the list its
`url(user)` opens, so the number on the 工作台 is the number of rows on that list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

# The families of the global navigation, in menu order (issue 9: 数据、服务、运维、管理、个人).
FAMILIES = ("数据", "服务", "运维", "管理", "个人")


@dataclass(frozen=True)
class ConsoleEntry:
    key: str
    title: str
    description: str
    url_name: str
    allowed: Callable[[Any], bool]
    group: str = "业务"  # a sub-heading inside the family on the 工作台 (安全管理, 审计管理 …)
    order: int = 100
    family: str = "数据"

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"console entry {self.key}: unknown family {self.family!r}")

    @property
    def url(self) -> str:
        return reverse(self.url_name)


@dataclass(frozen=True)
class TodoProvider:
    key: str
    title: str
    family: str
    count: Callable[[Any], int]
    url: Callable[[Any], str]
    allowed: Callable[[Any], bool]
    order: int = 100

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"to-do {self.key}: unknown family {self.family!r}")


@dataclass(frozen=True)
class Todo:
    key: str
    title: str
    family: str
    count: int
    url: str


_registry: dict[str, ConsoleEntry] = {}
_todos: dict[str, TodoProvider] = {}


def register(entry: ConsoleEntry) -> None:
    _registry[entry.key] = entry


def register_todo(
    key: str,
    title: str,
    family: str,
    count: Callable[[Any], int],
    url: Callable[[Any], str],
    allowed: Callable[[Any], bool],
    order: int = 100,
) -> None:
    _todos[key] = TodoProvider(key, title, family, count, url, allowed, order)


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def entries_for(user: Any) -> list[ConsoleEntry]:
    if not _signed_in(user):
        return []
    return sorted(
        (e for e in _registry.values() if e.allowed(user)),
        key=lambda e: (FAMILIES.index(e.family), e.order, e.key),
    )


def todos_for(user: Any) -> list[Todo]:
    """The to-dos the user has, with their counts (zero counts included: "nothing waiting")."""
    if not _signed_in(user):
        return []
    out = []
    for p in sorted(_todos.values(), key=lambda p: (FAMILIES.index(p.family), p.order, p.key)):
        if p.allowed(user):
            out.append(Todo(p.key, p.title, p.family, int(p.count(user)), p.url(user)))
    return out


def families(entries: list[ConsoleEntry]) -> list[tuple[str, list[ConsoleEntry]]]:
    grouped: dict[str, list[ConsoleEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.family, []).append(entry)
    return [(f, grouped[f]) for f in FAMILIES if f in grouped]


def current_entry(entries: list[ConsoleEntry], path: str) -> ConsoleEntry | None:
    """The entry whose page the path is on: the longest entry URL that prefixes it (the home
    page "/" matches nothing, it is the 工作台 itself)."""
    best: ConsoleEntry | None = None
    best_len = 0
    for entry in entries:
        url = entry.url
        if url == "/":
            continue
        if (path == url or path.startswith(url if url.endswith("/") else url + "/")) and len(url) > best_len:
            best, best_len = entry, len(url)
    return best
