from typing import Any

from django.conf import settings
from django.http import HttpRequest

from . import consoles


def platform(request: HttpRequest) -> dict[str, Any]:
    return {"platform_name": settings.PLATFORM_NAME}


class ConsoleNav:
    """The global navigation of one request, computed on first use (a page that never shows the
    menu — an error page for an anonymous caller — asks nothing)."""

    def __init__(self, request: HttpRequest):
        self._request = request
        self._entries: list[consoles.ConsoleEntry] | None = None
        self._unread: int | None = None

    @property
    def entries(self) -> list[consoles.ConsoleEntry]:
        if self._entries is None:
            user = getattr(self._request, "user", None)
            # Until a required password change is done every page leads to 修改密码: no menu.
            self._entries = [] if getattr(user, "must_change_password", False) else consoles.entries_for(user)
        return self._entries

    @property
    def keys(self) -> set[str]:
        """Keys of the entries the user may open: templates show a link only when its entry's
        key is here (`{% if "catalog.review" in console_nav.keys %}`)."""
        return {e.key for e in self.entries}

    @property
    def families(self) -> list[tuple[str, list[consoles.ConsoleEntry]]]:
        return consoles.families(self.entries)

    @property
    def current(self) -> consoles.ConsoleEntry | None:
        return consoles.current_entry(self.entries, self._request.path)

    @property
    def at_home(self) -> bool:
        return self._request.path == "/"

    @property
    def at_entry_page(self) -> bool:
        current = self.current
        return current is not None and current.url == self._request.path

    @property
    def unread(self) -> int:
        if self._unread is None:
            from .notifications import unread_count

            user = getattr(self._request, "user", None)
            self._unread = unread_count(user) if getattr(user, "is_authenticated", False) else 0
        return self._unread


def console(request: HttpRequest) -> dict[str, Any]:
    return {"console_nav": ConsoleNav(request)}
