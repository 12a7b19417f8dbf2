"""The 安全管理员's 出站白名单 (allowlist of outbound destinations, core/egress.py): list, add,
remove, each change audited; nobody else may see or change it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.identity.conftest import audit_actions
from zhengwu.core.errors import PermissionDenied
from zhengwu.core.models import EgressDestination
from zhengwu.identity import services

pytestmark = pytest.mark.django_db

PAGE = "/security/egress/"


@pytest.mark.parametrize("role", ["system_admin", "audit_admin", ""])
def test_the_allowlist_is_the_security_admins_alone(role: str, make_user: Any) -> None:
    user = make_user(admin_role=role)
    client = Client()
    client.force_login(user)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"host": "127.0.0.1", "ports": "5432"}).status_code == 403
    row = EgressDestination.objects.create(host="10.1.0.0/16", port_min=5432, port_max=5432)
    assert client.post(f"{PAGE}{row.pk}/remove/").status_code == 403
    assert list(EgressDestination.objects.values_list("host", flat=True)) == ["10.1.0.0/16"]
    with pytest.raises(PermissionDenied):
        services.do_add_egress_destination(user, host="127.0.0.1", ports="5432")
    with pytest.raises(PermissionDenied):
        services.do_remove_egress_destination(user, row.pk)
    assert not audit_actions("identity.egress_add") and not audit_actions("identity.egress_remove")


def test_the_page_needs_a_login(db: Any) -> None:
    response = Client().get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_add_list_and_remove_are_audited(admin_client: Any) -> None:
    client, admin = admin_client("security_admin")
    assert "白名单为空：所有出站连接都会被拒绝" in client.get(PAGE).content.decode()
    response = client.post(PAGE, {"host": "0x0A0C0000/16", "ports": "5432-5439", "note": "公安局人口库前置机"})
    assert response.status_code == 302 and response["Location"] == PAGE
    row = EgressDestination.objects.get()
    assert (row.host, row.port_min, row.port_max, row.created_by_username) == ("10.12.0.0/16", 5432, 5439, admin.username)
    page = client.get(PAGE).content.decode()
    assert "10.12.0.0/16" in page and "5432-5439" in page and "公安局人口库前置机" in page
    [added] = audit_actions("identity.egress_add")
    assert added.actor == admin.username and added.details == {
        "host": "10.12.0.0/16", "ports": "5432-5439", "note": "公安局人口库前置机"
    }
    assert client.post(f"{PAGE}{row.pk}/remove/").status_code == 302
    assert not EgressDestination.objects.exists()
    [removed] = audit_actions("identity.egress_remove")
    assert removed.object_id == str(row.pk) and removed.details["host"] == "10.12.0.0/16"
    again = client.post(f"{PAGE}{row.pk}/remove/", follow=True)
    assert "白名单条目不存在" in again.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"host": "", "ports": "5432"}, "请填写此项"),
        ({"host": "db example", "ports": "5432"}, "主机或网段“db example”不正确"),
        ({"host": "0.0.0.0/0", "ports": "5432"}, "网段“0.0.0.0/0”过大"),
        ({"host": "10.0.0.1", "ports": "99999"}, "端口“99999”不正确"),
        ({"host": "10.0.0.1", "ports": "mysql"}, "端口“mysql”不正确"),
    ],
)
def test_bad_entries_are_refused_in_chinese_beside_the_field(admin_client: Any, data: dict[str, str], message: str) -> None:
    client, _ = admin_client("security_admin")
    response = client.post(PAGE, data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not EgressDestination.objects.exists() and not audit_actions("identity.egress_add")


def test_a_duplicate_is_refused(admin_client: Any) -> None:
    client, _ = admin_client("security_admin")
    client.post(PAGE, {"host": "db.gaj.example.gov.cn", "ports": "5432"})
    response = client.post(PAGE, {"host": "DB.gaj.example.gov.cn.", "ports": "5432"})
    assert "白名单中已有 db.gaj.example.gov.cn 端口 5432" in response.content.decode()
    assert EgressDestination.objects.count() == 1 and len(audit_actions("identity.egress_add")) == 1


def test_the_security_console_links_to_the_allowlist(admin_client: Any) -> None:
    client, _ = admin_client("security_admin")
    assert f'href="{PAGE}"' in client.get("/security/").content.decode()
