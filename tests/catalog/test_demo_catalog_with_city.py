"""The demo catalog loads on top of the demo city: every entry finds its provider."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command

from zhengwu.catalog.models import CatalogEntry
from zhengwu.catalog.services import is_catalog_reviewer
from zhengwu.directory.models import User


def test_demo_catalog_on_the_demo_city(db: Any, capsys: Any) -> None:
    call_command("load_demo_city")
    call_command("load_demo_catalog")
    out = capsys.readouterr().out
    assert "跳过" not in out
    assert CatalogEntry.objects.count() >= 60
    # The demo city's 大数据管理局 data administrator is the catalog authority's reviewer.
    assert is_catalog_reviewer(User.objects.get(username="dsj_data"))
    assert not is_catalog_reviewer(User.objects.get(username="gaj_data"))

    call_command("load_demo_catalog")
    assert "新发布 0 条" in capsys.readouterr().out
