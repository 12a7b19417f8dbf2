"""Public pages of the portal. Thin: the registries (sections.py) and queries.py do the work."""

from __future__ import annotations

import importlib
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import queries, sections, site, terms
from .templatetags.portal_layout import is_public_account

HOME_NOTICES = 6
NOTICES_PER_PAGE = 20


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    notices = list(queries.published_notices()[:HOME_NOTICES])
    return render(request, "portal/home.html", {
        "notices": notices,
        "quick_entries": [{"title": q.title, "description": q.description, "url": q.href} for q in sections.quick_entries()],
        **_search_kinds(),
    })


def _search_kinds() -> dict[str, list[str]]:
    """What the search answers now, and what it will once its app is there."""
    providers = sections.search_providers()
    return {
        "searchable": [p.kind for p in providers if p.search is not None],
        "pending": [p.kind for p in providers if p.search is None],
    }


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = " ".join(request.GET.get("q", "").split())
    error = ""
    groups: list[sections.SearchGroup] = []
    if "\x00" in query:
        error = "搜索词：含有不允许的控制字符"
    elif len(query) > site.QUERY_MAX_LENGTH:
        error = f"搜索词：最多 {site.QUERY_MAX_LENGTH} 字（现为 {len(query)} 字），请缩短后再搜索"
    elif query:
        groups = sections.search(query, request.user)
    total = sum(len(g.results) for g in groups)
    return render(
        request, "portal/search.html",
        {"query": query, "error": error, "groups": groups, "total": total, **_search_kinds()},
        status=400 if error else 200,
    )


@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(queries.published_notices(), NOTICES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/notice_list.html", {"page": page})


@require_GET
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = queries.published_notice(pk)
    if notice is None:
        raise Http404("通知不存在或已撤回")
    return render(request, "portal/notice_detail.html", {"notice": notice})


# --- 个人中心 / 企业中心 --------------------------------------------------------------------------
def _public_only(request: HttpRequest) -> HttpResponse | None:
    """Anonymous → the public login; staff → a page saying the centres are for public accounts."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), sections.resolve_url("portal:login"))
    if not is_public_account(request.user):
        return render(request, "portal/staff_refused.html", status=403)
    return None


def acting_enterprise(request: HttpRequest) -> Any:
    """The enterprise the signed-in person acts for (kept by the public-accounts app), or None.
    Asks the resolver the public-accounts app registered, else its queries.acting_enterprise."""
    resolver = sections.enterprise_resolver()
    if resolver is None:
        try:
            module = importlib.import_module("zhengwu.identity.public.queries")
        except ImportError:
            return None
        resolver = getattr(module, "acting_enterprise", None)
        if resolver is None:
            return None
    return resolver(request)


def _rendered_sections(request: HttpRequest, holder: sections.Holder) -> list[dict[str, Any]]:
    from django.template.loader import render_to_string

    out = []
    for section in sections.sections_for(holder.audience):
        html = ""
        if section.template is not None and section.context is not None:
            context = section.context(request, holder)
            if context is not None:
                html = render_to_string(section.template, {**context, "holder": holder}, request=request)
        out.append({"key": section.key, "title": section.title, "html": html, "empty_text": section.empty_text})
    return out


@require_GET
def me(request: HttpRequest) -> HttpResponse:
    refused = _public_only(request)
    if refused is not None:
        return refused
    holder = sections.Holder(request.user, sections.PERSON)
    response = render(request, "portal/me.html", {"sections": _rendered_sections(request, holder)})
    return _private(response)


@require_GET
def enterprise(request: HttpRequest) -> HttpResponse:
    refused = _public_only(request)
    if refused is not None:
        return refused
    acting = acting_enterprise(request)
    holder = sections.Holder(request.user, sections.ENTERPRISE, acting)
    rendered = _rendered_sections(request, holder) if acting is not None else []
    response = render(request, "portal/enterprise.html", {
        "enterprise": acting, "sections": rendered, "slots": sections.sections_for(sections.ENTERPRISE),
        "bind_url": sections.optional_url("portal:enterprise_bind"),
        "switch_url": sections.optional_url("portal:enterprise_switch"),
    })
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    """Personal pages are never stored: not by the browser's cache, a proxy or the service worker."""
    response["Cache-Control"] = "no-store, private"
    return response


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Sign out (the platform's one logout: every SSO client session ends too), back to the portal."""
    from django.contrib import messages

    from zhengwu.identity import services as identity_services

    if request.user.is_authenticated:
        identity_services.do_logout(request)
        messages.info(request, "您已安全退出。")
    return redirect("portal:home")


# --- help, privacy, terms, contact, offline -------------------------------------------------------
@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    from zhengwu.identity.queries import get_policy

    return render(request, "portal/help.html", {
        "register_url": sections.optional_url("portal:register"), "policy": get_policy(request),
    })


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/privacy.html", {"version": terms.PRIVACY_VERSION})


@require_GET
def terms_page(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/terms.html", {"version": terms.TERMS_VERSION})


@require_GET
def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/contact.html", {})


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """What the service worker shows when a page cannot be reached (precached, so: no user data)."""
    return render(request, "portal/offline.html", {"shell_only": True})
