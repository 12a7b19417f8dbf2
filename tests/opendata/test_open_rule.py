"""Which data is open: published 无条件/有条件开放 entries with data; only their open items."""

from __future__ import annotations

from typing import Any

import pytest

from zhengwu.core.errors import NotFound
from zhengwu.opendata import queries

pytestmark = pytest.mark.django_db


def test_open_entry_with_data_is_a_dataset_without_its_sensitive_item(open_dataset: Any) -> None:
    entry = open_dataset()
    datasets = queries.open_datasets()
    assert [d.resource_code for d in datasets] == [entry.resource_code]
    dataset = datasets[0]
    assert dataset.field_names == ["org_code", "org_name", "category", "beds", "division_code", "reg_date"]
    assert "phone" not in dataset.field_names
    assert dataset.version.rows_total == 20
    assert dataset.theme is not None and dataset.theme.code == "health"
    assert dataset.licence == "cc-by-4.0"


def test_closed_and_dataless_entries_are_unknown(open_dataset: Any, data_admin: Any, catalog_reviewer: Any) -> None:
    from zhengwu.catalog import services as catalog

    closed = open_dataset(name="预防接种记录", open_type="不予开放")
    entry = catalog.do_create_entry(data_admin, {
        "category": "2", "class_item": "02", "class_sub": "001", "name": "尚无数据的开放目录",
        "abstract": "已发布但还没有任何数据归集进来的开放目录条目，不能出现在开放数据中。", "resource_format": "数据库",
        "share_type": "无条件共享", "share_method": "共享平台", "open_type": "无条件开放", "update_cycle": "每月",
        "security_level": "公开", "items": [{"name": "代码", "field_name": "code", "data_type": "字符", "length": 10, "is_key": True}],
    })
    catalog.do_submit_entry(data_admin, entry)
    catalog.do_approve_entry(catalog_reviewer, entry)
    assert queries.open_datasets() == []
    for key in (closed.resource_code, queries.dataset_name(closed.resource_code), entry.resource_code, "nothing"):
        with pytest.raises(NotFound):
            queries.get_dataset(key)


def test_retired_entry_leaves(open_dataset: Any, data_admin: Any) -> None:
    from zhengwu.catalog import services as catalog

    entry = open_dataset()
    catalog.do_retire_entry(data_admin, entry, reason="数据源停止维护，目录下线")
    assert queries.open_datasets() == []


def test_working_copy_marking_an_item_sensitive_closes_it_at_once(open_dataset: Any, data_admin: Any) -> None:
    """A provider marking an item sensitive closes it before the change is even published."""
    entry = open_dataset()
    item = entry.items.get(field_name="beds")
    item.is_sensitive = True
    item.masking = "全部遮盖"
    item.save()
    assert "beds" not in queries.get_dataset(entry.resource_code).field_names
