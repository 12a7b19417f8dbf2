"""The gateway's caller is a unit's system, not a person: it sees clear only what its unit's grant
in force allows clear — never what the provider's 数据管理员 sees (the attack: treat the system
like a member of the provider unit, or of a unit without the grant)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from zhengwu.sharing import queries, services

pytestmark = pytest.mark.django_db


def test_application_sees_clear_only_what_its_grant_allows(
    publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any, provider: Any,
    consumer: Any, provider_admin: Any,
) -> None:
    entry = publish()
    masked = services.do_approve_share_request(provider_reviewer, ask(entry))
    # the provider's own system holds no business role: no grant, nothing clear
    assert queries.clear_items_for_application(provider.pk, masked) == frozenset()
    # the consumer's system, grant without clear values: nothing clear
    assert queries.clear_items_for_application(consumer.pk, masked) == frozenset()
    # the provider's 数据管理员 (a person) sees everything clear: the system never inherits that
    from zhengwu.catalog.queries import clear_items_for

    assert "id_no" in clear_items_for(provider_admin, entry)


def test_clear_by_grant_and_nothing_after_revocation(
    publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any, consumer: Any, provider: Any,
) -> None:
    grant = services.do_approve_share_request(provider_reviewer, ask(publish(), clear_items=["id_no"]))
    assert queries.clear_items_for_application(consumer.pk, grant) == frozenset({"id_no"})
    assert queries.clear_items_for_application(provider.pk, grant) == frozenset()  # another unit
    services.do_revoke_share_grant(provider_reviewer, grant, reason="核验任务结束，收回授权")
    grant.refresh_from_db()
    assert queries.clear_items_for_application(consumer.pk, grant) == frozenset()
