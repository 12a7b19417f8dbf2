"""The portal's own search provider: published 通知公告."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from . import queries
from .sections import SearchResult

SUMMARY_CHARS = 80


def search_notice_results(query: str, user: Any, limit: int) -> list[SearchResult]:
    out = []
    for notice in queries.search_notices(query, limit):
        summary = " ".join(notice.body.split())
        if len(summary) > SUMMARY_CHARS:
            summary = summary[:SUMMARY_CHARS] + "…"
        out.append(SearchResult(
            title=notice.title, url=reverse("portal:notice", args=[notice.pk]), kind="通知公告",
            summary=summary, date=notice.published_at,
        ))
    return out
