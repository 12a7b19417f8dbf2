"""Pages: the 系统管理员 manages units and accounts; everyone else gets 403; forms answer in Chinese."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import STRONG_PASSWORD
from zhengwu.core.consoles import entries_for
from zhengwu.directory.models import BusinessRole, RoleGrant, Unit, User

from .conftest import audit_count

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


ADMIN_PAGES = [
    ("directory:unit_tree", False),
    ("directory:unit_create", False),
    ("directory:unit_edit", True),
    ("directory:unit_move", True),
    ("directory:unit_deactivate", True),
    ("directory:user_list", False),
    ("directory:user_create", False),
]


def page_url(name: str, needs_pk: bool, unit: Unit) -> str:
    return reverse(name, args=[unit.pk]) if needs_pk else reverse(name)


def test_system_admin_opens_every_page(sysadmin, clerk, tree):
    client = client_for(sysadmin)
    for name, needs_pk in ADMIN_PAGES:
        assert client.get(page_url(name, needs_pk, tree.county_dept)).status_code == 200, name
    for name in ("directory:user_detail", "directory:user_edit", "directory:user_reset_password"):
        assert client.get(reverse(name, args=[clerk.pk])).status_code == 200, name
    page = client.get(reverse("directory:unit_tree")).content.decode()
    assert "梅江区民政局" in page and tree.county_code in page and "在用人员 1" in page


@pytest.mark.parametrize("who", ["secadmin", "auditadmin", "clerk"])
def test_others_get_403(request, tree, who):
    user = request.getfixturevalue(who)
    client = client_for(user)
    for name, needs_pk in ADMIN_PAGES:
        response = client.get(page_url(name, needs_pk, tree.county_dept))
        assert response.status_code == 403, name
        assert "三权分立" in response.content.decode()
    before = Unit.objects.count()
    response = client.post(reverse("directory:unit_create"), {"name": "x"})
    assert response.status_code == 403 and Unit.objects.count() == before


def test_anonymous_redirected_to_login(tree):
    response = Client().get(reverse("directory:unit_tree"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_browse_for_everyone(clerk, tree):
    client = client_for(clerk)
    page = client.get(reverse("directory:browse"))
    assert page.status_code == 200 and "梅江区人民政府" in page.content.decode()
    assert "在用人员" not in page.content.decode()


def test_console_entries(sysadmin, secadmin, clerk):
    assert {"directory.units", "directory.users", "directory.browse"} <= {
        e.key for e in entries_for(sysadmin)
    }
    assert "directory.units" not in {e.key for e in entries_for(secadmin)}
    keys = {e.key for e in entries_for(clerk)}
    assert "directory.browse" in keys and "directory.users" not in keys


def test_create_unit_through_form(sysadmin, tree):
    client = client_for(sysadmin)
    data = {
        "parent": str(tree.county_gov.pk),
        "name": "江南街道办事处",
        "level": "township",
        "unit_type": "township",
        "division_code": tree.county_code,
        "sort_order": "3",
    }
    response = client.post(reverse("directory:unit_create"), data)
    assert response.status_code == 302
    assert Unit.objects.filter(name="江南街道办事处", parent=tree.county_gov).exists()
    assert audit_count("directory.unit.create", "success") == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"division_code": "999999"}, "不在 GB/T 2260"),
        ({"division_code": "abc"}, "6 位数字"),
        ({"division_code": ""}, "此项必须填写"),
        ({"level": "planet"}, "选择一个有效的选项"),
        ({"uscc": "91110000600037341A"}, "统一社会信用代码"),
        ({"parent": "999999999999999999999"}, "有效的单位"),
        ({"sort_order": "-1"}, "0"),
        ({"sort_order": "1e99"}, "请输入整数"),
        ({"name": "x" * 101}, "100"),
        ({"level": "city"}, "不能隶属于"),
        ({"division_code": "441400"}, "县级"),
    ],
)
def test_unit_form_rejects_bad_input_in_chinese(sysadmin, tree, changes, message):
    data = {
        "parent": str(tree.county_gov.pk),
        "name": "测试单位",
        "level": "county",
        "unit_type": "department",
        "division_code": tree.county_code,
    }
    data.update(changes)
    before = Unit.objects.count()
    response = client_for(sysadmin).post(reverse("directory:unit_create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Unit.objects.count() == before


def test_edit_move_deactivate(sysadmin, tree, make_unit):
    client = client_for(sysadmin)
    unit = make_unit("示范市民政局", parent=tree.government, division_code=tree.city_code)
    data = {
        "name": "示范市民政局",
        "short_name": "民政",
        "level": "city",
        "unit_type": "department",
        "division_code": tree.city_code,
    }
    assert client.post(reverse("directory:unit_edit", args=[unit.pk]), data).status_code == 302
    unit.refresh_from_db()
    assert unit.short_name == "民政"
    response = client.post(
        reverse("directory:unit_move", args=[unit.pk]), {"parent": str(tree.county_gov.pk)}
    )
    assert response.status_code == 200 and "不能隶属于" in response.content.decode()
    # the unit's own subtree is not offered as a new parent
    response = client.post(
        reverse("directory:unit_move", args=[tree.government.pk]), {"parent": str(unit.pk)}
    )
    assert response.status_code == 200 and "有效的单位" in response.content.decode()
    assert (
        client.post(
            reverse("directory:unit_move", args=[unit.pk]), {"parent": str(tree.department.pk)}
        ).status_code
        == 302
    )
    response = client.post(reverse("directory:unit_deactivate", args=[tree.county_gov.pk]))
    assert response.status_code == 200 and "下级单位" in response.content.decode()
    assert client.post(reverse("directory:unit_deactivate", args=[unit.pk])).status_code == 302
    unit.refresh_from_db()
    assert not unit.is_active


def test_missing_objects_are_404(sysadmin):
    client = client_for(sysadmin)
    assert client.get(reverse("directory:unit_edit", args=[987654])).status_code == 404
    assert client.get(reverse("directory:user_detail", args=[987654])).status_code == 404
    assert client.post(reverse("directory:user_revoke_role", args=[987654, 1])).status_code == 404


def test_user_list_filters_and_paging(sysadmin, tree, clerk, make_user):
    for i in range(55):
        make_user(f"bulk{i:02d}", unit=tree.department)
    client = client_for(sysadmin)
    page = client.get(reverse("directory:user_list")).content.decode()
    assert "第 1 / 2 页" in page
    page = client.get(reverse("directory:user_list"), {"unit": tree.county_dept.pk}).content.decode()
    assert "clerk1" in page and "bulk00" not in page
    page = client.get(reverse("directory:user_list"), {"role": "system_admin"}).content.decode()
    assert "xtadmin" in page and "clerk1" not in page
    page = client.get(reverse("directory:user_list"), {"active": "0"}).content.decode()
    assert "没有符合条件的账号" in page
    for bad in ({"unit": "abc"}, {"page": "x"}, {"page": "99999"}, {"active": "maybe"}, {"role": "x" * 500}):
        assert client.get(reverse("directory:user_list"), bad).status_code == 200
    assert audit_count("directory.user.read") >= 4


def test_create_user_through_form(sysadmin, tree):
    client = client_for(sysadmin)
    data = {
        "username": "zhaoliu",
        "full_name": "赵六",
        "unit": str(tree.county_dept.pk),
        "mobile": "13700001111",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
    }
    response = client.post(reverse("directory:user_create"), data)
    assert response.status_code == 302
    user = User.objects.get(username="zhaoliu")
    assert user.must_change_password


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password2": "different-Pass1!"}, "两次输入的密码不一致"),
        ({"password1": "short", "password2": "short"}, "初始密码"),
        ({"mobile": "1234"}, "手机号码"),
        ({"username": "clerk1"}, "已被使用"),
        ({"unit": ""}, "此项必须填写"),
        ({"unit": "abc"}, "有效的单位"),
        ({"username": "a" * 65}, "64"),
        ({"username": "中文名"}, "用户名"),
    ],
)
def test_user_form_rejects_bad_input_in_chinese(sysadmin, tree, clerk, changes, message):
    data = {
        "username": "zhaoliu",
        "full_name": "赵六",
        "unit": str(tree.county_dept.pk),
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
    }
    data.update(changes)
    before = User.objects.count()
    response = client_for(sysadmin).post(reverse("directory:user_create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == before


def test_user_actions(sysadmin, tree, clerk):
    client = client_for(sysadmin)
    response = client.post(
        reverse("directory:user_edit", args=[clerk.pk]),
        {"full_name": "经办人丙", "unit": str(tree.county_dept.pk), "mobile": ""},
    )
    assert response.status_code == 302
    role = BusinessRole.objects.get(code="clerk")
    client.post(reverse("directory:user_grant_role", args=[clerk.pk]), {"role": str(role.pk)})
    grant = RoleGrant.objects.get(user=clerk)
    assert "业务经办人" in client.get(reverse("directory:user_detail", args=[clerk.pk])).content.decode()
    response = client.post(
        reverse("directory:user_grant_role", args=[clerk.pk]), {"role": "nonsense"}, follow=True
    )
    assert "授予角色失败" in response.content.decode()
    client.post(reverse("directory:user_revoke_role", args=[clerk.pk, grant.pk]))
    assert not RoleGrant.objects.filter(user=clerk).exists()
    client.post(reverse("directory:user_toggle_active", args=[clerk.pk]))
    clerk.refresh_from_db()
    assert not clerk.is_active
    response = client.post(
        reverse("directory:user_reset_password", args=[clerk.pk]),
        {"password1": "Brand-New#2026x", "password2": "Brand-New#2026x"},
    )
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password("Brand-New#2026x") and clerk.must_change_password


def test_self_disable_shows_chinese_error(sysadmin):
    client = client_for(sysadmin)
    response = client.post(reverse("directory:user_toggle_active", args=[sysadmin.pk]), follow=True)
    assert "不能停用本人账号" in response.content.decode()
    sysadmin.refresh_from_db()
    assert sysadmin.is_active


def test_division_search(clerk):
    client = client_for(clerk)
    data = client.get(reverse("directory:division_search"), {"q": "梅江"}).json()
    assert any(r["name"] == "梅江区" for r in data["results"])
    assert client.get(reverse("directory:division_search"), {"q": "x" * 5000}).status_code == 200
    assert Client().get(reverse("directory:division_search"), {"q": "梅"}).status_code == 302
