"""Scopes for django-oauth-toolkit: a client may ask only for the scopes its unit registered."""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes

from .claims import SCOPES


class PlatformScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return dict(SCOPES)

    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        if application is None:
            return list(SCOPES)
        registration = getattr(application, "registration", None)
        if registration is None:
            return []
        return [s for s in registration.scope_list if s in SCOPES]

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        available = self.get_available_scopes(application, request)
        return ["openid"] if "openid" in available else available
