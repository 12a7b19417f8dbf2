"""Fixtures of the gateway tests: the population resource of tests/sharing/conftest.py with real
rows ingested through datahub (its own lake per test) and served by datahub.serving; a SERVICE
client of the consumer unit registered and approved through identity.oidc's services, whose token
comes from the real /oidc/token endpoint; and an API key."""

from __future__ import annotations

import base64
import csv
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factories import grant

ROWS = [
    # (seq, county): 441402 梅江区, 441403 梅县区
    (1, "441402"), (2, "441402"), (3, "441402"), (4, "441403"), (5, "441403"),
]


@pytest.fixture(autouse=True)
def lake_dir(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    return tmp_path / "lake"


@pytest.fixture(autouse=True)
def _fresh_gateway_caches() -> Any:
    from zhengwu.sharing.gateway import auth, enforcement

    auth.clear_caches()
    enforcement.clear_caches()
    yield
    auth.clear_caches()
    enforcement.clear_caches()


def id_no(seq: int, county: str = "441402") -> str:
    from zhengwu.core.validators import resident_id_check_char

    body = f"{county}19900101{seq:03d}"
    return body + resident_id_check_char(body)


def person(seq: int, county: str = "441402") -> dict[str, str]:
    return {
        "id_no": id_no(seq, county), "person_name": f"张{'三四五六七八九'[seq % 7]}{seq}",
        "household_address": f"=HYPERLINK(\"http://x\")江南路{seq}号" if seq == 3 else f"江南路{seq}号",
        "birth_date": "1990-01-01", "gender": "1", "division_code": county,
    }


@pytest.fixture
def load(tmp_path: Path, provider_admin: Any) -> Callable[..., Any]:
    """load(entry, people) — ingest rows through datahub and refresh the serving store."""
    from zhengwu.catalog.queries import published_snapshot
    from zhengwu.datahub import services as datahub
    from zhengwu.datahub.serving import services as serving

    counter = {"n": 0}

    def run(entry: Any, people: list[dict[str, str]]) -> None:
        items = (published_snapshot(entry) or {})["items"]
        counter["n"] += 1
        path = tmp_path / f"rows{counter['n']}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([i["name"] for i in items])
            writer.writerows([[p.get(i["field_name"], "") for i in items] for p in people])
        batch = datahub.ingest_file(provider_admin, entry.resource_code, path, mode="incremental")
        assert batch.status == "succeeded", batch.error_message
        serving.do_refresh_served(entry.resource_code)

    return run


@pytest.fixture
def population(publish: Callable[..., Any], load: Callable[..., Any]) -> Any:
    entry = publish()
    load(entry, [person(seq, county) for seq, county in ROWS])
    return entry


@pytest.fixture
def granted(population: Any, ask: Callable[..., Any], provider_reviewer: Any) -> Callable[..., Any]:
    """granted(**request) — the consumer's request approved by the provider's reviewer."""
    from zhengwu.sharing import services

    def make(**kwargs: Any) -> Any:
        return services.do_approve_share_request(provider_reviewer, ask(population, **kwargs))

    return make


@pytest.fixture
def system_admin(make_user: Callable[..., Any]) -> Any:
    return make_user("sysadmin", admin_role="system_admin")


@pytest.fixture
def service_client(make_user: Callable[..., Any], system_admin: Any) -> Callable[..., tuple[Any, str]]:
    """service_client(unit) -> (registration, client secret): a SERVICE client with scope sharing."""
    from zhengwu.identity.oidc import services

    def make(unit: Any, *, scopes: list[str] | None = None, name: str = "社保业务系统") -> tuple[Any, str]:
        admin = make_user(f"app_{unit.pk}_{secrets.token_hex(2)}", unit=unit)
        grant(admin, "app_admin", unit)
        registration, secret = services.do_register_client(
            admin, unit=unit, name=name, kind="service", audience="staff", scopes=scopes or ["sharing"], redirect_uris=[],
        )
        services.do_approve_client(system_admin, registration.pk)
        registration.refresh_from_db()
        return registration, secret

    return make


def fetch_token(client: Any, registration: Any, secret: str, scope: str = "sharing") -> str:
    basic = base64.b64encode(f"{registration.application.client_id}:{secret}".encode()).decode()
    response = client.post("/oidc/token/", {"grant_type": "client_credentials", "scope": scope},
                           HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


@pytest.fixture
def consumer_token(client: Any, consumer: Any, service_client: Callable[..., Any]) -> str:
    registration, secret = service_client(consumer)
    return fetch_token(client, registration, secret)


@pytest.fixture
def call(client: Any) -> Callable[..., Any]:
    """call(path, token, **headers) — a GET with a bearer token."""

    def get(path: str, token: str | None = None, **extra: Any) -> Any:
        if token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client.get(path, **extra)

    return get


def signed_headers(key_id: str, secret: str, path: str, query: str = "", *, nonce: str | None = None,
                   timestamp: int | None = None, method: str = "GET") -> dict[str, str]:
    from zhengwu.sharing.gateway.auth import sign

    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or secrets.token_hex(12)
    return {
        "HTTP_X_ZHENGWU_KEY": key_id, "HTTP_X_ZHENGWU_TIMESTAMP": ts, "HTTP_X_ZHENGWU_NONCE": nonce,
        "HTTP_X_ZHENGWU_SIGNATURE": sign(secret, method, path, query, ts, nonce, b""),
    }
