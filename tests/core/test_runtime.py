"""Runtime behaviour the review found wrong: debug pages, English errors, the body limit, CSP.

Each test performs what the reviewer did and checks the platform's answer.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

import zhengwu

pytestmark = pytest.mark.django_db

SRC = Path(zhengwu.__file__).resolve().parent
PUSH = "/api/v1/datahub/resources/1/002/00000001/push"


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_debug_is_off_unless_asked_for() -> None:
    """`make run` (ZHENGWU_ENV=development, no ZHENGWU_DEBUG) must not serve Django's debug pages."""
    code = "import django, os; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    env = {"PATH": "/usr/bin:/bin", "ZHENGWU_ENV": "development", "DJANGO_SETTINGS_MODULE": "zhengwu.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    env["ZHENGWU_DEBUG"] = "1"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_unknown_page_is_a_chinese_404_without_url_patterns(client: Client) -> None:
    response = client.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in body and "URLconf" not in body and "Page not found" not in body


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v2/", "/api/"])
def test_unknown_api_path_is_the_json_error_body(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "请求的地址不存在", "errors": []}


def test_wrong_method_under_api_is_a_json_405_with_allow(client: Client, make_user: Any) -> None:
    client.force_login(make_user())
    response = client.delete("/api/v1/catalog/entries")
    assert response.status_code == 405
    assert response.json()["detail"] == "不支持的请求方法"
    assert "GET" in response["Allow"]


def test_csrf_failure_under_api_is_json_in_chinese(make_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    response = client.post("/api/v1/catalog/entries", "{}", content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"] and _is_chinese(response.json()["detail"])


def test_unhandled_error_under_api_is_json_and_on_pages_chinese() -> None:
    from django.test import RequestFactory

    from zhengwu import urls
    from zhengwu.core import errorpages

    assert urls.handler500 == "zhengwu.core.errorpages.server_error"
    api_response = errorpages.server_error(RequestFactory().get("/api/v1/x"))
    assert api_response.status_code == 500
    assert json.loads(api_response.content)["detail"] == "服务器内部错误，请稍后重试；问题已记录"
    page = errorpages.server_error(RequestFactory().get("/catalog/"))
    assert page.status_code == 500 and "服务器内部错误" in page.content.decode()


def test_a_17_mb_json_push_gets_a_chinese_413_before_anything_reads_it(client: Client) -> None:
    """The review: a 17 MB JSON push got Django's debug page (the NUL check read the body first)."""
    body = json.dumps({"records": [{"x": "a" * 1000}] * 17 * 1024})
    assert len(body) > 16 * 1024 * 1024
    response = client.post(PUSH, body, content_type="application/json", headers={"Idempotency-Key": "k1"})
    assert response.status_code == 413
    assert response.json()["detail"] == "请求体超过 16 MB 上限（ZHENGWU_MAX_REQUEST_MB），请分批提交"


def test_a_declared_oversized_upload_is_refused_before_it_is_read(client: Client, settings: Any) -> None:
    settings.INGEST_MAX_FILE_MB = 1
    response = client.generic(
        "POST", "/datahub/", b"--x--", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(3 << 20)
    )
    assert response.status_code == 413
    assert "上传的文件超过 1 MB 上限" in response.content.decode()


def test_a_non_numeric_content_length_is_a_chinese_400(client: Client) -> None:
    response = client.generic("POST", PUSH, b"{}", content_type="application/json", CONTENT_LENGTH="abc")
    assert response.status_code == 400 and response.json()["detail"] == "请求头 Content-Length 不是数字"


def test_pages_carry_a_content_security_policy_without_inline_script(client: Client) -> None:
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)


def _templates_and_markup() -> list[Path]:
    files = list(SRC.rglob("templates/**/*.html"))
    files += [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]
    return files


def test_no_template_or_generated_markup_needs_unsafe_inline() -> None:
    """The policy forbids inline script, handlers and styles; nothing in the code may rely on them."""
    offenders = []
    for path in _templates_and_markup():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
            for match in pattern.finditer(text):
                if path.suffix == ".py" and "<" not in match.group(0)[:2]:
                    continue
                offenders.append(f"{path.relative_to(SRC)}: {match.group(0)[:60]}")
    assert offenders == []


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "ZHENGWU_ENV": "production",
        "ZHENGWU_DATA_DIR": str(tmp_path),
        "ZHENGWU_SECRET_KEY": secrets.token_urlsafe(64),
        "ZHENGWU_ALLOWED_HOSTS": "zw.example.gov.cn",
        "DJANGO_SETTINGS_MODULE": "zhengwu.settings",
    }
    out = subprocess.run(
        [sys.executable, "-m", "zhengwu.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"ZHENGWU_SYNC_THREADS": "abc"}, "环境变量 ZHENGWU_SYNC_THREADS 必须是整数，当前为 'abc'"),
        ({"ZHENGWU_SYNC_THREADS": "0"}, "ZHENGWU_SYNC_THREADS 必须是不小于 1 的整数，当前为 0"),
        (
            {"ZHENGWU_SYNC_THREADS": "12", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x", "ZHENGWU_DB_POOL": "1"},
            "ZHENGWU_SYNC_THREADS（12）不能大于 ZHENGWU_DB_POOL_MAX（10）",
        ),
    ],
)
def test_a_wrong_gateway_thread_count_stops_start_up(extra: dict[str, str], message: str) -> None:
    """The gateway's thread count is checked when settings load, with a Chinese reason naming it."""
    code = "import django; django.setup()"
    env = {"PATH": "/usr/bin:/bin", "ZHENGWU_ENV": "development", "DJANGO_SETTINGS_MODULE": "zhengwu.settings", **extra}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "ImproperlyConfigured" in out.stderr and message in out.stderr


def test_a_gateway_thread_count_within_the_pool_is_accepted() -> None:
    code = "import django; django.setup(); from django.conf import settings; print(settings.SYNC_THREADS)"
    env = {"PATH": "/usr/bin:/bin", "ZHENGWU_ENV": "development", "DJANGO_SETTINGS_MODULE": "zhengwu.settings",
           "ZHENGWU_SYNC_THREADS": "10", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x", "ZHENGWU_DB_POOL": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "10"
