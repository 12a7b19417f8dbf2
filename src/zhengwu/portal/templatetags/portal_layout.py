"""`{% portal_layout as portal %}`: what the public layout (portal/base.html) shows — the site's
names, the navigation from the registry, and who is signed in."""

from __future__ import annotations

from typing import Any

from django import template

from zhengwu.core.masking import PARTIAL, mask_value

from .. import sections, site

register = template.Library()


def is_public_account(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "account_kind", "") == "public")


@register.simple_tag(takes_context=True)
def portal_layout(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    path = getattr(request, "path", "")
    home = sections.resolve_url("portal:home")
    nav = []
    for item in sections.nav_items():
        href = item.href
        current = path == href if href == home else path.startswith(href)
        nav.append({"key": item.key, "title": item.title, "url": href, "current": current})
    signed_in = bool(getattr(user, "is_authenticated", False))
    public = is_public_account(user)
    query = request.GET.get("q", "") if request is not None and path == sections.resolve_url("portal:search") else ""
    return {
        "city": site.city_name(),
        "site_name": site.site_name(),
        "app_name": site.app_name(),
        "operator": site.operator_name(),
        "theme_color": site.THEME_COLOR,
        "query": query[: site.QUERY_MAX_LENGTH * 2],
        "query_max": site.QUERY_MAX_LENGTH,
        "nav": nav,
        "is_public": public,
        "is_staff": signed_in and not public,
        # The header is seen over a shoulder: the name masked (张*), the full one is on 个人中心.
        "display_name": mask_value(getattr(user, "full_name", "") or getattr(user, "username", ""), PARTIAL)
        if signed_in
        else "",
        "login_url": sections.resolve_url("portal:login"),
        "register_url": sections.optional_url("portal:register"),
        "me_url": sections.resolve_url("portal:me"),
        "enterprise_url": sections.resolve_url("portal:enterprise"),
        "logout_url": sections.resolve_url("portal:logout"),
    }
