"""Free-text limits of the data-collection pages, enforced by the services (a raw POST or an API
call reaches them without the form's maxlength)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from zhengwu.core.errors import DomainError
from zhengwu.datahub import services
from zhengwu.datahub.models import DataSource, ResourceRule

pytestmark = pytest.mark.django_db


def test_rollback_reason_over_500_characters_is_refused(data_admin: Any, publish: Any) -> None:
    entry = publish(data_admin)
    with pytest.raises(DomainError) as refused:
        services.do_rollback(data_admin, entry.resource_code, 0, reason="回滚" * 251)
    assert refused.value.field == "reason" and refused.value.message == "回滚原因：最多 500 字（现为 502 字）"


def test_source_query_over_20000_characters_is_refused_before_connecting(data_admin: Any, publish: Any) -> None:
    entry = publish(data_admin)
    query = "select id_no from people where " + " or ".join(["id_no = '1'"] * 2000)
    with pytest.raises(DomainError) as refused:
        services.do_create_source(
            data_admin, entry.resource_code, name="人口库", url="postgresql+psycopg://u:p@127.0.0.1/db", query=query,
        )
    assert refused.value.field == "query" and refused.value.message.startswith("查询语句：最多 20000 字")
    assert DataSource.objects.count() == 0


def test_rule_message_over_200_characters_is_refused(data_admin: Any, publish: Any) -> None:
    entry = publish(data_admin)
    with pytest.raises(DomainError) as refused:
        services.do_create_rule(
            data_admin, entry.resource_code, kind="pattern", field="person_name", params={"pattern": "^.+$"},
            message="提示" * 101,
        )
    assert refused.value.field == "message" and "不通过时的提示：最多 200 字" in refused.value.message
    assert ResourceRule.objects.count() == 0


def test_resource_page_states_the_limits(data_admin: Any, publish: Any) -> None:
    entry = publish(data_admin)
    client = Client()
    client.force_login(data_admin)
    text = client.get(f"/datahub/resources/{entry.resource_code}/").content.decode()
    assert 'maxlength="20000"' in text and "最多 20000 字" in text  # the source's query
    assert "最多 200 字" in text  # a rule's message
