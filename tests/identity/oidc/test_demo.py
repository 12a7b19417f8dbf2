"""The demo city's two unit systems: registered and approved through the services, credentials in a
0600 file, idempotent."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from django.core.management import call_command


def test_load_demo_oidc_clients_is_idempotent(db: Any, settings: Any, tmp_path: Path) -> None:
    from zhengwu.audit.models import AuditRecord
    from zhengwu.identity.oidc.models import ClientRegistration

    settings.DATA_DIR = tmp_path
    call_command("load_demo_city", verbosity=0)
    call_command("load_demo_oidc_clients")
    path = tmp_path / "oidc_demo_clients.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = json.loads(path.read_text())
    assert set(first) == {"scj", "gaj"} and all(e["secret"] and e["client_id"] for e in first.values())
    registrations = list(ClientRegistration.objects.select_related("unit"))
    assert {(r.unit.name, r.name) for r in registrations} == {("示范市市场监督管理局", "企业登记系统"), ("示范市公安局", "户政管理系统")}
    assert all(r.usable for r in registrations)
    records = AuditRecord.objects.count()
    call_command("load_demo_oidc_clients")
    assert json.loads(path.read_text()) == first
    assert ClientRegistration.objects.count() == 2 and AuditRecord.objects.count() == records
