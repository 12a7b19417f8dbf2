"""The catalog's Excel export writes every cell through the export writer: a text that starts like
a formula is a string cell with one leading apostrophe, and importing the workbook back restores
the text exactly."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from zhengwu.catalog import excel, services
from zhengwu.catalog.models import CatalogEntry

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", "\t=1+1"]


def test_catalog_export_neutralises_formulas_and_import_restores_them(
    data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    for i, formula in enumerate(FORMULAS):
        services.do_create_entry(data_admin, entry_data(name=f"公式测试资源{i}", share_condition=formula))
    client = Client()
    client.force_login(data_admin)
    response = client.get("/catalog/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))[excel.RESOURCE_SHEET]
    header = [c.value for c in sheet[1]]
    column = header.index("共享条件")
    cells = {row[header.index("信息资源名称")].value: row[column] for row in sheet.iter_rows(min_row=2)}
    stored = dict(CatalogEntry.objects.values_list("name", "share_condition"))
    for i, formula in enumerate(FORMULAS):
        name = f"公式测试资源{i}"
        assert stored[name] == formula.strip()  # the catalog strips surrounding whitespace on save
        assert cells[name].data_type == "s" and cells[name].value == "'" + stored[name]
    records, orphans = excel.parse_workbook(response.content)
    assert orphans == []
    assert {r.data["name"]: r.data["share_condition"] for r in records} == stored
