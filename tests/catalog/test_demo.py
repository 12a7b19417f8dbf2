from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from zhengwu.catalog import demo
from zhengwu.catalog.models import CatalogEntry
from zhengwu.catalog.rules import normalise_entry, validate_entry

pytestmark = pytest.mark.django_db


def test_every_demo_entry_is_valid() -> None:
    assert len(demo.SPECS) >= 55
    for spec in demo.SPECS:
        assert validate_entry(normalise_entry(demo.entry_data(spec))) == [], spec[3]
    base = {s[2] for s in demo.SPECS if s[1] == "1"}
    assert base == {"01", "02", "03", "04", "05"}


def test_command_needs_the_demo_city() -> None:
    with pytest.raises(CommandError, match="load_demo_city"):
        call_command("load_demo_catalog")


def test_command_is_idempotent(make_unit: Any) -> None:
    make_unit("大数据管理局")
    for name in ("市公安局", "市民政局", "市市场监督管理局", "市自然资源局", "市卫生健康委员会"):
        make_unit(name)
    call_command("load_demo_catalog")
    first = CatalogEntry.objects.count()
    assert first >= 25 and CatalogEntry.objects.filter(is_live=True).count() == first
    call_command("load_demo_catalog")
    assert CatalogEntry.objects.count() == first
    from zhengwu.catalog import search

    assert search.search("人口").total >= 1
