"""Reads of the portal: published notices for everyone, the editing list for 门户编辑."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from .models import Notice
from .permissions import is_portal_editor

NOTICE_SEARCH_TERMS_MAX = 8


def published_notices() -> Any:
    return Notice.objects.published()


def published_notice(pk: int) -> Notice | None:
    return published_notices().filter(pk=pk).first()


def search_notices(query: str, limit: int = 20) -> list[Notice]:
    """Published notices whose title or body holds every word of `query` (whitespace-separated;
    a Chinese phrase is matched as a substring). Titles matching first, then newest first."""
    terms = [t for t in query.split() if t][:NOTICE_SEARCH_TERMS_MAX]
    if not terms:
        return []
    qs = published_notices()
    for term in terms:
        qs = qs.filter(Q(title__icontains=term) | Q(body__icontains=term))
    rows = list(qs.order_by("-published_at", "-id")[: limit * 3])
    rows.sort(key=lambda n: (not all(t.lower() in n.title.lower() for t in terms)))  # stable: keeps date order
    return rows[:limit]


def notices_for_editing(actor: Any) -> Any:
    """Every notice (drafts too) for a 门户编辑; nothing for anyone else."""
    if not is_portal_editor(actor):
        return Notice.objects.none()
    return Notice.objects.select_related("created_by").order_by("-updated_at", "-id")


def notice_for_editing(actor: Any, pk: int) -> Notice | None:
    return notices_for_editing(actor).filter(pk=pk).first()
