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


def _demo_items(name: str) -> dict[str, dict[str, Any]]:
    spec = next(s for s in demo.SPECS if s[3] == name)
    return {i["field_name"]: i for i in demo.entry_data(spec)["items"]}


def test_demo_items_say_what_is_required_and_what_codes_mean() -> None:
    population = _demo_items("人口基本信息")
    assert 20 <= len(population) <= 22
    assert {"id_no", "person_name", "gender", "ethnicity", "birth_date", "division_code", "former_name",
            "native_place", "education", "marital_status", "phone", "current_address", "household_reg_date",
            "householder_id_no", "relation_to_head"} <= set(population)
    assert population["gender"]["code_table"] == "GB/T 2261.1"
    assert population["ethnicity"]["code_table"] == "GB/T 3304"
    assert population["division_code"]["code_table"] == "GB/T 2260"
    assert population["marital_status"]["code_table"].startswith("10=未婚;20=已婚")
    for field in ("id_no", "person_name", "gender", "householder_id_no"):
        assert population[field]["required"], field
    assert not population["former_name"]["required"]

    market = _demo_items("市场主体登记信息")
    assert market["reg_status"]["code_table"] == "1=存续;2=在业;3=吊销;4=注销;5=迁出"
    assert market["reg_capital"]["code_table"] == "[0,]" and not market["reg_capital"]["required"]
    assert market["uscc"]["required"] and market["ent_name"]["required"]

    for spec in demo.SPECS:
        for item in demo.entry_data(spec)["items"]:
            if item["is_key"] or item["name"] in ("姓名", "公民身份号码") or item["field_name"] == "division_code":
                assert item["required"], (spec[3], item["name"])
            if item["field_name"] == "division_code":
                assert item["code_table"] == "GB/T 2260", spec[3]


def test_demo_item_flags_are_checked() -> None:
    with pytest.raises(ValueError, match="标志 X 不认识"):
        demo._item("错|bad|字符|1|KX")


def test_loaded_demo_stores_required_and_code_tables(make_unit: Any) -> None:
    make_unit("大数据管理局")
    make_unit("市公安局")
    call_command("load_demo_catalog")
    entry = CatalogEntry.objects.get(name="人口基本信息")
    stored = {i.field_name: (i.required, i.code_table) for i in entry.items.all()}
    assert len(stored) == len(demo.POPULATION_ITEMS)
    assert stored["gender"] == (True, "GB/T 2261.1") and stored["id_no"] == (True, "")
    version = entry.versions.get(version=1)
    assert {i["field_name"]: i["required"] for i in version.snapshot["items"]}["ethnicity"] is True
