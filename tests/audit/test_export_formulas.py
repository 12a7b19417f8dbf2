"""The audit CSV export goes through the one export writer: each formula is neutralised exactly
(one leading apostrophe, the rest — a leading tab included — kept)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from zhengwu.audit.services import record_event

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", "\t=1+1"]


def test_audit_export_neutralises_every_formula_exactly(audit_admin: Any) -> None:
    for formula in FORMULAS:
        record_event(None, "test.formula", object_id=formula)
    client = Client()
    client.force_login(audit_admin)
    response = client.get(reverse("audit:export"), {"action": "test.formula"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r[10] for r in rows[1:]] == ["'" + f for f in FORMULAS]
    assert all(r[0].isdigit() for r in rows[1:])  # 序号 stays a number
