"""Value ranges read as people say them, in the catalog item display and in the data center's
rule descriptions: "不早于 1900-01-01", "在 0 至 150 之间", not "[1900-01-01,]" or ">="."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def ranged(data_admin: Any, reviewer: Any, entry_data: Callable[..., dict[str, Any]]) -> Any:
    from zhengwu.catalog import services

    data = entry_data()
    data["items"] = [
        *data["items"][:3],
        {"name": "出生日期", "field_name": "birth_date", "data_type": "日期", "code_table": "[1900-01-01,]"},
        {"name": "年龄", "field_name": "age", "data_type": "数字", "code_table": "[0,150]"},
    ]
    entry = services.do_create_entry(data_admin, data)
    services.do_submit_entry(data_admin, entry)
    services.do_approve_entry(reviewer, entry)
    entry.refresh_from_db()
    return entry


def test_the_catalog_item_display_reads_the_range(ranged: Any, data_admin: Any) -> None:
    client = Client()
    client.force_login(data_admin)
    html = client.get(reverse("catalog:entry_detail", args=[ranged.pk])).content.decode()
    assert "取值不早于 1900-01-01" in html
    assert "取值在 0 至 150 之间" in html
    assert "取值范围 [" not in html


def test_the_rules_read_the_range(ranged: Any) -> None:
    from zhengwu.datahub.rules import derive_rules
    from zhengwu.datahub.schema import schema_for

    rules = {r.code: r for r in derive_rules(schema_for(ranged.resource_code), [])}
    assert rules["code_table:birth_date"].label == "出生日期(birth_date) 取值不早于 1900-01-01"
    assert rules["code_table:birth_date"].message == "出生日期(birth_date)：取值应不早于 1900-01-01"
    assert rules["code_table:age"].label == "年龄(age) 取值在 0 至 150 之间"
    assert all(">=" not in r.label and "<=" not in r.label for r in rules.values())
