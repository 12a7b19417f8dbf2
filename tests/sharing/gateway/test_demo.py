"""The demo: 公安局's reviewer grants 人社局's request masked and scoped, and 人社局's 社保业务系统 is a
SERVICE client whose token lists the population resource at /gateway/v1/services."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from zhengwu.sharing.models import GrantStatus, ShareGrant

from .conftest import fetch_token


@pytest.mark.django_db
def test_demo_gateway(settings: Any, tmp_path: Path, client: Any, capsys: Any) -> None:
    settings.DATA_DIR = tmp_path
    call_command("load_demo_city")
    call_command("load_demo_catalog")
    call_command("load_demo_sharing")
    out = capsys.readouterr().out
    assert "社保业务系统" in out and "gaj_share 已同意" in out
    grant = ShareGrant.objects.get()
    assert grant.status == GrantStatus.ACTIVE and grant.clear_items == [] and grant.scope == {"division_code": [grant.consumer.division_code]}
    path = tmp_path / "gateway_demo_clients.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    from zhengwu.identity.oidc.models import ClientRegistration

    registration = ClientRegistration.objects.get(name="社保业务系统")
    assert registration.usable and registration.scope_list == ["sharing"] and registration.unit_id == grant.consumer_id
    token = fetch_token(client, registration, stored["secret"])
    listing = client.get("/gateway/v1/services", HTTP_AUTHORIZATION=f"Bearer {token}").json()["services"]
    assert [s["name"] for s in listing] == ["人口基本信息"]
    assert {i["field"]: i["masked"] for i in listing[0]["items"]}["id_no"] is True
    call_command("load_demo_sharing")  # idempotent: same client, same secret, one grant
    assert ShareGrant.objects.count() == 1 and ClientRegistration.objects.filter(name="社保业务系统").count() == 1
    assert json.loads(path.read_text())["secret"] == stored["secret"]
