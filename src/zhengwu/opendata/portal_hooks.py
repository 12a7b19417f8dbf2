"""What open data registers on the portal: the home search's 开放数据 results and the
个人中心 / 企业中心 section 我的开放数据申请 (applications, their answers and API keys)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from zhengwu.portal import sections


def search_results(query: str, user: Any, limit: int) -> list[sections.SearchResult]:
    """Open datasets matching `query` (the catalog's Chinese full-text search), public to anyone."""
    from .ckan import search_datasets

    _count, page, _facets = search_datasets(query, [], [("score", True)], rows=limit)
    return [
        sections.SearchResult(
            title=d.title, url=reverse("opendata:dataset", args=[d.name]), kind="开放数据",
            summary=f"{d.provider.name} · {d.open_type} · {d.update_cycle}更新", date=d.metadata_modified,
        )
        for d in page
    ]


def _rows(applications: Any) -> list[dict[str, Any]]:
    from . import queries

    applications = list(applications)
    datasets = {d.resource_code: d for d in queries.open_datasets({a.resource_code for a in applications})}
    out = []
    for a in applications:
        key = getattr(a, "api_key", None)  # None until the applicant takes a key
        out.append({"a": a, "d": datasets.get(a.resource_code), "key": key})
    return out


def person_context(request: Any, holder: sections.Holder) -> dict[str, Any] | None:
    from . import queries

    rows = _rows(queries.applications_of(holder.user)[:50])
    return {"rows": rows} if rows else None


def enterprise_context(request: Any, holder: sections.Holder) -> dict[str, Any] | None:
    from . import queries

    if holder.enterprise is None:
        return None
    rows = _rows(queries.applications_of_enterprise(holder.user, holder.enterprise)[:50])
    return {"rows": rows} if rows else None


def register_sections() -> None:
    sections.register_section(
        "person.opendata", "我的开放数据申请", sections.PERSON, order=60,
        empty_text="您还没有申请过有条件开放的数据。在开放数据栏目找到数据集后可在线申请，获批后在这里领取接口密钥。",
        template="opendata/portal_applications.html", context=person_context, provider="公共数据开放",
    )
    sections.register_section(
        "enterprise.opendata", "企业开放数据申请", sections.ENTERPRISE, order=60,
        empty_text="本企业还没有申请过有条件开放的数据。",
        template="opendata/portal_applications.html", context=enterprise_context, provider="公共数据开放",
    )
