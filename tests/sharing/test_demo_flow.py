"""Issue 11's "Done when", on the demo city itself (its loaders, not test fixtures):

人社局 requests the population resource, 公安局 grants it with masked identity numbers and a row
scope, 人社局's demo system (社保业务系统) reads it through the gateway with client credentials and
receives the next version's changes both by webhook and into a MariaDB table, and the citizen sees
the read — and the pushed copies — in 个人中心.

Real parts throughout: the demo loaders write through the platform's services, the token comes from
/oidc/token, the webhook receiver is an HTTP server verifying HMAC-SM3, the destination is the
machine's MariaDB, the next version is ingested through datahub's push service.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.sharing.exchange.conftest import Receiver, as_text, drop_table, table_copy
from tests.sharing.gateway.conftest import fetch_token

DEST_DB = "h3_dest"  # the exchange tests' destination database on the machine's MariaDB


def _expected(grant: Any) -> dict[str, dict[str, Any]]:
    """What 人社局 must hold: the current version's rows in the grant's scope, the granted items,
    personal items masked by the catalog's 脱敏方式 (read from the published catalog entry here,
    not from the exchange's code) — keyed by the exchange's opaque row key."""
    from zhengwu.catalog.queries import published_snapshot
    from zhengwu.core.crypto import hmac_sm3
    from zhengwu.core.masking import mask_value
    from zhengwu.datahub import lake
    from zhengwu.sharing.exchange.changes import key_secret

    code = grant.entry.resource_code
    snapshot = published_snapshot(grant.entry)
    assert snapshot is not None
    methods = {i["field_name"]: i.get("masking") or "不脱敏" for i in snapshot["items"] if i.get("is_sensitive")}
    keys = [i["field_name"] for i in snapshot["items"] if i.get("is_key")]
    assert keys == ["id_no"]
    _, rows, _ = lake.read_rows(code, None, limit=1_000_000)
    scope = grant.scope["division_code"]
    secret = key_secret(grant.consumer_id, code)
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        # The demo city's people all live in 梅州市 (4414xx), 人社局's jurisdiction (441400).
        assert str(row["division_code"]).startswith("4414"), row["division_code"]
        assert scope == ["441400"]
        shown: dict[str, Any] = {}
        for name in grant.items:
            value = row.get(name)
            if name in methods and name not in grant.clear_items:
                value = mask_value(value, methods[name])
            shown[name] = value.isoformat() if hasattr(value, "isoformat") else value
        out[hmac_sm3(secret, str(row["id_no"]).encode()).hex()] = shown
    return out


@pytest.mark.django_db
def test_demo_city_shares_population_with_the_social_security_bureau(
    settings: Any, tmp_path: Path, client: Any, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any, local_databases: Any,
) -> None:
    from zhengwu.core.crypto import decrypt_field
    from zhengwu.core.models import EgressDestination
    from zhengwu.datahub import lake
    from zhengwu.datahub import services as datahub
    from zhengwu.directory.models import User
    from zhengwu.identity.oidc.models import ClientRegistration
    from zhengwu.identity.public import queries as public_queries
    from zhengwu.identity.public.models import PublicProfile
    from zhengwu.sharing import services as sharing
    from zhengwu.sharing.exchange import services as exchange
    from zhengwu.sharing.gateway.models import GatewayCall
    from zhengwu.sharing.models import GrantStatus, ShareGrant

    settings.DATA_DIR = tmp_path
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    settings.EXCHANGE_PAGE_ROWS = 500
    # The request is filed on a day whose 10-working-day deadline the holiday calendar covers.
    monkeypatch.setattr(sharing, "_today", lambda: date(2026, 12, 1))

    def run(*args: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            call_command(*args)

    run("load_demo_city")
    run("load_demo_catalog")
    run("load_demo_data", "--people", "3000", "--companies", "400", "--licences", "300", "--addresses", "300")
    run("load_demo_public_accounts")
    run("load_demo_sharing")

    # 公安局 granted 人社局's request: identity numbers masked, rows limited to 人社局's jurisdiction.
    grant = ShareGrant.objects.select_related("entry", "consumer", "provider").get()
    assert grant.status == GrantStatus.ACTIVE and grant.entry.name == "人口基本信息"
    assert grant.consumer.name.endswith("人力资源和社会保障局") and grant.provider.name.endswith("公安局")
    assert grant.clear_items == [] and "id_no" in grant.items
    assert grant.scope == {"division_code": [grant.consumer.division_code]}
    code = grant.entry.resource_code

    # 人社局's 社保业务系统 reads a citizen's record through the gateway with client credentials.
    citizen = PublicProfile.objects.select_related("user").get(mobile="13800138001")
    number = decrypt_field(citizen.id_no_encrypted, public_queries.id_no_context(citizen.user_id))
    registration = ClientRegistration.objects.get(name="社保业务系统")
    secret = json.loads((tmp_path / "gateway_demo_clients.json").read_text())["secret"]
    token = fetch_token(client, registration, secret)
    response = client.get(f"/gateway/v1/resources/{code}/records/{number}",
                          HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_ZHENGWU_PURPOSE="SB-DEMO-0001")
    assert response.status_code == 200, response.content
    body = response.content.decode()
    assert number not in body  # the identity number is masked …
    assert number[:6] in body and "*" in body  # … by the catalog's 部分遮盖
    assert client.get(f"/gateway/v1/resources/{code}/records/{number}").status_code == 401  # no credentials
    call = GatewayCall.objects.filter(unit=grant.consumer).latest("id")
    assert call.status == 200 and call.case_ref == "SB-DEMO-0001" and call.purpose.startswith("办理社会保险")

    # 人社局 subscribes by webhook and by 库表交换 into its MariaDB.
    rsj = User.objects.get(username="rsj_data")
    receiver = Receiver()
    receiver.start()
    table = f"rk_demo_{uuid.uuid4().hex[:8]}"
    settings.EGRESS_ALLOW_LOCAL = [*settings.EGRESS_ALLOW_LOCAL, f"127.0.0.1:{receiver.port}", "127.0.0.1:3306"]
    EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=receiver.port, port_max=receiver.port)
    EgressDestination.objects.get_or_create(host="127.0.0.1/32", port_min=3306, port_max=3306)
    import pymysql

    pymysql.connect(host="127.0.0.1", user="root").cursor().execute(f"CREATE DATABASE IF NOT EXISTS {DEST_DB}")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _, hook_secret = exchange.do_create_subscription(rsj, grant, kind="webhook", name="社保系统接收",
                                                             webhook_url=receiver.url)
            receiver.secret = hook_secret
            exchange.do_create_subscription(rsj, grant, kind="database", name="社保前置库", db_engine="mysql",
                                            db_host="127.0.0.1", db_port=3306, db_name=DEST_DB, db_user="root",
                                            db_table=table)
        first = _expected(grant)
        assert len(first) > 1000
        assert receiver.copy == first and receiver.bad_signatures == 0
        assert table_copy("mysql", table, grant.items) == as_text(first)

        # 公安局 delivers the next version: three people move house, two are newly registered.
        _, rows, _ = lake.read_rows(code, None, limit=5)
        changed = [{**{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items() if not k.startswith("_")},
                    "household_address": f"梅江区新址{i}号"} for i, r in enumerate(rows[:3])]
        from zhengwu.core.validators import resident_id_check_char

        for seq in (1, 2):
            body17 = f"44140220010101{seq:03d}"[:17]
            newcomer = {**changed[0], "id_no": body17 + resident_id_check_char(body17), "household_address": f"新户{seq}号",
                        "birth_date": "2001-01-01", "gender": "1" if seq % 2 else "2", "division_code": "441402"}
            changed.append(newcomer)
        gaj = User.objects.get(username="gaj_data")
        before = lake.current_version(code)
        with django_capture_on_commit_callbacks(execute=True):
            batch, _ = datahub.do_push_records(gaj, code, changed, idempotency_key=uuid.uuid4().hex, mode="incremental")
        batch.refresh_from_db()
        assert batch.status == "succeeded" and batch.rows_refused == 0, (batch.status, batch.error_message, batch.notes)
        assert lake.current_version(code) == (before or 0) + 1
        second = _expected(grant)
        assert len(second) == len(first) + 2 and second != first
        assert receiver.copy == second and receiver.bad_signatures == 0
        assert table_copy("mysql", table, grant.items) == as_text(second)
    finally:
        receiver.stop()
        drop_table("mysql", table)

    # The citizen sees in 个人中心 that 人社局's system read their record, and why.
    client.force_login(citizen.user)
    html = client.get("/portal/me/").content.decode()
    assert 'data-section="person.data_use"' in html
    assert "社保业务系统" in html and "SB-DEMO-0001" in html and grant.consumer.name in html
    # … and that the pushed copies (webhook and 库表交换) carried their record too.
    assert "社保系统接收" in html and "变更订阅（推送）" in html
    assert "社保前置库" in html and "库表交换" in html
    from zhengwu.sharing.gateway.models import DataUse
    from zhengwu.sharing.gateway.services import subject_hash

    mine = DataUse.objects.filter(subject_hash=subject_hash("person", number))
    assert set(mine.values_list("operation", flat=True)) == {"lookup", "push", "table"}
    assert not DataUse.objects.filter(subject_hash=number).exists()  # never the clear number
