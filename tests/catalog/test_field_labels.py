"""Error reports name fields by their labels (共享类型, 信息项的长度), not code names (share_type)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from zhengwu.catalog.templatetags.catalog_items import catalog_field_label

pytestmark = pytest.mark.django_db


def test_labels_of_catalog_fields() -> None:
    assert catalog_field_label("share_type") == "共享类型"
    assert catalog_field_label("items[2].length") == "信息项的长度"
    assert catalog_field_label("items[0]") == "信息项"
    assert catalog_field_label("resource_code") == "资源代码"


def test_the_import_report_names_fields_by_label(data_admin: Any, entry_data: Callable[..., dict[str, Any]]) -> None:
    client = Client()
    client.force_login(data_admin)
    bad = dict(entry_data(), resource_code="", share_type="不予共享")
    bad["items"] = [dict(bad["items"][0], length=-3), *bad["items"][1:]]
    upload = io.BytesIO(json.dumps({"entries": [bad]}, ensure_ascii=False).encode())
    upload.name = "catalog.json"
    html = client.post("/catalog/import/", {"file": upload}).content.decode()
    assert "未导入任何内容" in html
    cells = re.findall(r'<td title="([^"]*)">([^<]*)</td>', html)
    assert cells, html
    assert all(label and label != code for code, label in cells)  # every problem's field by its label
    assert {("share_type", "共享类型"), ("items[0].length", "信息项的长度")} <= set(cells)
