"""The 个人中心 / 企业中心 sections about the public account itself (账号与实名, 我的企业, 经办人),
and the resolver of the acting enterprise. The portal's apps.ready() calls register().

Every context function reads through zhengwu.identity.public.queries, scoped to the holder, and
shows personal values masked."""

from __future__ import annotations

from typing import Any

from . import sections


def _account(request: Any, holder: sections.Holder) -> dict[str, Any] | None:
    from zhengwu.identity.public import queries
    from zhengwu.identity.public.models import AssuranceLevel

    profile = queries.profile_of(holder.user)
    if profile is None:
        return None
    return {
        "name": queries.masked_name(holder.user.full_name),
        "mobile": queries.masked_mobile(profile.mobile or ""),
        "level": profile.get_level_display(),
        "verified": profile.level >= AssuranceLevel.VERIFIED,
    }


def _enterprises(request: Any, holder: sections.Holder) -> dict[str, Any] | None:
    from zhengwu.identity.public import queries

    if queries.profile_of(holder.user) is None:
        return None
    acting = queries.acting_authorisation(request)
    return {
        "authorisations": list(queries.active_authorisations(holder.user)),
        "acting_id": acting.enterprise_id if acting else None,
    }


def _agents(request: Any, holder: sections.Holder) -> dict[str, Any] | None:
    from zhengwu.identity.public import queries

    if holder.enterprise is None:
        return None
    auth = queries.authorisation(holder.user, holder.enterprise.pk)
    if auth is None:
        return None
    agents = []
    if auth.role == "legal_rep":
        agents = [queries.masked_name(a.person.full_name) for a in queries.agents_of(holder.enterprise).filter(revoked_at__isnull=True)]
    return {"auth": auth, "enterprise": holder.enterprise, "agents": agents}


def register() -> None:
    from zhengwu.identity.public import queries

    sections.register_section(
        "person.account", "账号与实名", sections.PERSON, order=5,
        empty_text="登录后显示您的账号和实名等级。",
        template="portal/account/section_account.html", context=_account, provider="公众用户",
    )
    sections.register_section(
        "person.enterprises", "我的企业", sections.PERSON, order=10,
        empty_text="您代表办理的企业将显示在这里。",
        template="portal/account/section_enterprises.html", context=_enterprises, provider="公众用户",
    )
    sections.register_section(
        "enterprise.agents", "企业与经办人", sections.ENTERPRISE, order=5,
        empty_text="选择办理企业后显示。",
        template="portal/account/section_agents.html", context=_agents, provider="公众用户",
    )
    sections.register_enterprise_resolver(queries.acting_enterprise)
