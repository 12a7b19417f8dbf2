"""我的数据使用记录 / 企业数据使用记录 in 个人中心 / 企业中心: which units' systems read the holder's
records through the data gateway, when, for what purpose and under which grant (newest first,
paged). The portal sits above sharing, so it calls the gateway's query with the number the
public-accounts app verified for the signed-in holder — never a number from the request."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator

from . import sections

PAGE_SIZE = 20


def _page(request: Any, uses: Any) -> Any:
    return Paginator(uses, PAGE_SIZE).get_page(request.GET.get("data_use_page") if request is not None else None)


def _person(request: Any, holder: sections.Holder) -> dict[str, Any] | None:
    from zhengwu.identity.public import queries as public
    from zhengwu.identity.public.models import AssuranceLevel
    from zhengwu.sharing.gateway.queries import data_use_of_subject

    profile = public.profile_of(holder.user)
    if profile is None:
        return None
    if profile.level < AssuranceLevel.VERIFIED or not profile.id_no_encrypted:
        return {"verified": False}
    return {"verified": True, "page": _page(request, data_use_of_subject("person", public.id_no_of(profile)))}


def _enterprise(request: Any, holder: sections.Holder) -> dict[str, Any] | None:
    from zhengwu.sharing.gateway.queries import data_use_of_subject

    if holder.enterprise is None:
        return None
    return {"verified": True, "page": _page(request, data_use_of_subject("enterprise", holder.enterprise.uscc))}


def register() -> None:
    sections.register_section(
        "person.data_use", "我的数据使用记录", sections.PERSON, order=50,
        empty_text="实名认证后，哪个部门在什么时间、为了办理什么事项使用了您的个人信息，将逐条显示在这里。",
        template="portal/data_use/section.html", context=_person, provider="数据共享",
    )
    sections.register_section(
        "enterprise.data_use", "企业数据使用记录", sections.ENTERPRISE, order=50,
        empty_text="选择办理企业后，哪个部门在什么时间、为了办理什么事项使用了本企业的登记信息，将逐条显示在这里。",
        template="portal/data_use/section.html", context=_enterprise, provider="数据共享",
    )
