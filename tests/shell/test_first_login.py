"""The demo's published initial password is changed at first login: until then every page —
menu entries, the 工作台, notifications — leads to 修改密码, and the API refuses in Chinese."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.test import Client

from zhengwu.directory import demo


def test_demo_accounts_must_change_the_initial_password(db: Any, capsys: Any) -> None:
    call_command("load_demo_city")
    out = capsys.readouterr().out
    assert "初始密码须在首次登录时修改" in out
    assert "zwb_review：检索目录" in out and "不能审核目录" in out

    client = Client()
    answer = client.post("/login/", {"username": "gaj_data", "password": demo.DEFAULT_PASSWORD})
    assert answer.status_code == 302
    for url in ["/", "/catalog/", "/catalog/mine/", "/datahub/", "/notifications/", "/directory/browse/", "/account/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/account/password/", url
    api = client.get("/api/v1/catalog/entries")
    assert api.status_code == 403 and "密码" in api.json()["detail"]
    form = client.get("/account/password/")
    assert form.status_code == 200
    assert 'id="mainnav"' in form.content.decode() and 'data-console="' not in form.content.decode()  # no menu yet

    new = "Gaj#New-Pass-2026"
    changed = client.post(
        "/account/password/", {"old_password": demo.DEFAULT_PASSWORD, "new_password": new, "new_password2": new}
    )
    assert changed.status_code == 302
    assert client.get("/catalog/").status_code == 200
    assert client.get("/").status_code == 200
