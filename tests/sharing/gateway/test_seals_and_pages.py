"""Seals of the call log (audit chain), the verification command, /metrics from the rollup, the
console pages, and 数据使用记录 for the 审计管理员 and the portal holder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from zhengwu.audit.models import AuditRecord
from zhengwu.sharing.gateway import services
from zhengwu.sharing.gateway.models import CallStat, GatewayCall

from .conftest import id_no

pytestmark = pytest.mark.django_db

V1 = "/gateway/v1"


@pytest.fixture
def some_calls(granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any]) -> Any:
    granted()
    base = f"{V1}/resources/{population.resource_code}"
    call(f"{base}/records/{id_no(1)}", consumer_token, HTTP_X_ZHENGWU_PURPOSE="SB-1")
    call(f"{base}/records/{id_no(2)}", consumer_token)
    call(f"{base}/records?fields=nope", consumer_token)
    call(f"{base}/records", consumer_token)
    return population


def test_seal_verify_and_tamper(some_calls: Any, capsys: Any) -> None:
    later = timezone.now() + timedelta(seconds=10)
    seal = services.do_seal_calls(now=later)
    assert seal is not None and seal.count == 4 and services.do_seal_calls(now=later) is None
    record = AuditRecord.objects.get(action="gateway.calls.seal")
    assert record.details["sm3"] == seal.digest and record.details["count"] == 4 and record.seq == seal.audit_seq
    assert sum(CallStat.objects.values_list("calls", flat=True)) == 4
    assert CallStat.objects.filter(status_class="4xx").get().calls == 1
    call_command("gateway_verify_seals")
    assert "全部 1 段封存核验通过，共 4 条" in capsys.readouterr().out
    ids = list(GatewayCall.objects.order_by("id").values_list("id", flat=True))  # PostgreSQL's ids go on between tests
    assert GatewayCall.objects.filter(pk=ids[0]).update(row_count=999) == 1
    with pytest.raises(CommandError):
        call_command("gateway_verify_seals")
    assert "已被修改" in capsys.readouterr().out
    GatewayCall.objects.filter(pk=ids[1]).delete()
    checks = services.verify_seals()
    assert not checks[0].ok and "条数" in checks[0].reason


def test_metrics_protected_and_read_from_the_rollup(some_calls: Any, client: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    services.do_seal_calls(now=timezone.now() + timedelta(seconds=10))
    r = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert r.status_code == 200
    text = r.content.decode()
    code = some_calls.resource_code
    assert f'zhengwu_gateway_calls_total{{operation="lookup",resource="{code}",status_class="2xx"' in text
    assert "zhengwu_gateway_call_duration_seconds_bucket" in text and "zhengwu_gateway_calls_unsealed 0.0" in text


def test_console_pages(some_calls: Any, client: Any, consumer_admin: Any, provider_reviewer: Any) -> None:
    client.force_login(consumer_admin)
    for path in ("/gateway/", "/gateway/keys/", "/gateway/calls/", "/gateway/calls/?scope=provided", "/gateway/stats/",
                 "/gateway/stats/?days=7&by=consumer"):
        r = client.get(path)
        assert r.status_code == 200, path
    assert client.get("/gateway/grants/").status_code == 403
    assert client.get("/gateway/calls/?scope=all").status_code == 403
    # resources are shown by their catalog name, with the code beside it
    named = f"{some_calls.name}（{some_calls.resource_code}）"
    assert named in client.get("/gateway/stats/").content.decode()
    listed = client.get("/gateway/calls/").content.decode()
    assert some_calls.name in listed and f"<small>{some_calls.resource_code}</small>" in listed
    r = client.post("/gateway/keys/", {"name": "旧版社保系统", "allowed_sources": "10.1.0.0/16"})
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    secret = r.context["shown_secret"]["secret"]
    assert secret in r.content.decode() and secret not in client.get("/gateway/keys/").content.decode()
    bad = client.post("/gateway/keys/", {"name": "x", "allowed_sources": "10.1.0.0/99"})
    assert bad.status_code == 400 and "名称" in bad.content.decode()
    client.force_login(provider_reviewer)
    page = client.get("/gateway/grants/")
    assert page.status_code == 200 and "市人力资源和社会保障局" in page.content.decode()
    stats = client.get("/gateway/stats/?scope=provided")
    assert stats.status_code == 200 and "市人力资源和社会保障局" in stats.content.decode()


def test_data_use_for_the_audit_admin(some_calls: Any, client: Any, make_user: Callable[..., Any]) -> None:
    auditor = make_user("sjadmin", admin_role="audit_admin")
    client.force_login(auditor)
    assert client.get("/gateway/data-use/").status_code == 200
    r = client.post("/gateway/data-use/", {"identifier": id_no(1)})
    assert r.status_code == 200
    rows = list(r.context["page"])
    assert len(rows) == 2 and rows[0].at >= rows[1].at  # the look-up and the query page, newest first
    assert {u.operation for u in rows} == {"lookup", "query"} and "SB-1" in r.content.decode()
    audit = AuditRecord.objects.filter(action="gateway.data_use.query").get()
    assert id_no(1) not in str(audit.details) and audit.details["found"] == 2
    bad = client.post("/gateway/data-use/", {"identifier": "123"})
    assert bad.status_code == 400 and "18 位" in bad.content.decode()
    client.force_login(make_user("someone"))
    assert client.get("/gateway/data-use/").status_code == 403
