"""Platform-level checks: production settings, the operator command, health and home pages."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
ZHENGWU = Path(sys.executable).parent / "zhengwu"


def run_zhengwu(*args: str, env: dict[str, str] | None = None, tmp: Path) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "ZHENGWU_DATA_DIR": str(tmp / "data"),
    }
    base.update(env or {})
    return subprocess.run(
        [str(ZHENGWU), *args], capture_output=True, text=True, env=base, timeout=120, check=False
    )


def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    result = run_zhengwu(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp=tmp_path,
        env={
            "ZHENGWU_ENV": "production",
            "ZHENGWU_SECRET_KEY": secrets.token_urlsafe(64),
            "ZHENGWU_ALLOWED_HOSTS": "gov.example.cn",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = run_zhengwu("check", tmp=tmp_path, env={"ZHENGWU_ENV": "production"})
    assert result.returncode != 0
    assert "ZHENGWU_SECRET_KEY" in result.stderr


def test_operator_command_exits_non_zero_on_failure(tmp_path: Path) -> None:
    result = run_zhengwu("no_such_command", tmp=tmp_path)
    assert result.returncode != 0


def test_health_endpoint_answers(client: Client, db: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_home_requires_login(client: Client, db: Any) -> None:
    """The 工作台 needs a staff login: an anonymous visitor of / is sent to the public portal."""
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert "工作台" not in client.get("/", follow=True).content.decode()


@pytest.mark.parametrize(
    ("admin_role", "expected", "absent"),
    [
        ("system_admin", "单位管理", "审计查询"),
        ("audit_admin", "审计查询", "单位管理"),
    ],
)
def test_home_lists_only_the_consoles_the_user_may_use(
    client: Client, make_user: Any, admin_role: str, expected: str, absent: str
) -> None:
    client.force_login(make_user(admin_role=admin_role))
    html = client.get("/").content.decode()
    assert expected in html
    assert absent not in html


def test_openapi_document_and_docs_page_are_served(client: Client, db: Any) -> None:
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"].startswith("zhengwu")
    assert client.get("/api/v1/docs").status_code == 200


def test_docs_page_uses_no_cdn(client: Client, db: Any) -> None:
    html = client.get("/api/v1/docs").content.decode()
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
