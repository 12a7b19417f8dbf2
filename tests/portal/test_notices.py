"""通知公告: the services (role, validation, audit), the console pages, the public pages and search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from zhengwu.audit.models import AuditRecord
from zhengwu.core.errors import DomainError, PermissionDenied
from zhengwu.portal import services
from zhengwu.portal.models import Notice

pytestmark = pytest.mark.django_db


def _audit(action: str) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action=action).order_by("seq"))


def test_the_migration_registers_the_portal_editor_role() -> None:
    from zhengwu.directory.models import BusinessRole

    role = BusinessRole.objects.get(code="portal_editor")
    assert role.name == "门户编辑" and role.app_label == "portal"


def test_editor_creates_publishes_withdraws_and_deletes_each_audited(editor: Any) -> None:
    draft = services.do_create_notice(editor, title="  门户 上线  ", body="第一段\r\n\r\n第二段")
    assert draft.title == "门户 上线" and draft.body == "第一段\n\n第二段" and draft.status == "草稿"
    services.do_publish_notice(editor, draft.pk)
    draft.refresh_from_db()
    assert draft.status == "已发布"
    services.do_withdraw_notice(editor, draft.pk)
    draft.refresh_from_db()
    assert draft.published_at is None
    services.do_delete_notice(editor, draft.pk)
    assert not Notice.objects.exists()
    for action in ("create", "publish", "withdraw", "delete"):
        [record] = _audit(f"portal.notice.{action}")
        assert record.actor == editor.username and record.result == "success"
        assert record.object_type == "portal_notice" and record.object_id == str(draft.pk)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": "", "body": "x"}, "title", "标题：必须填写"),
        ({"title": "字" * 101, "body": "x"}, "title", "标题：最多 100 字（现为 101 字）"),
        ({"title": "t", "body": "   "}, "body", "正文：必须填写"),
        ({"title": "t", "body": "字" * 20001}, "body", "正文：最多 20000 字"),
        ({"title": "t\x00", "body": "x"}, "title", "标题：含有不允许的控制字符"),
    ],
)
def test_bad_input_is_refused_naming_the_field_nothing_written(
    editor: Any, fields: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(DomainError) as exc:
        services.do_create_notice(editor, **fields)
    assert exc.value.field == field and exc.value.message.startswith(message)
    assert not Notice.objects.exists()
    [record] = _audit("portal.notice.create")
    assert record.result == "failure" and record.details["field"] == field


def test_publish_time_is_parsed_or_refused_in_chinese() -> None:
    assert services.parse_publish_time("") is None
    when = services.parse_publish_time("2026-12-01T09:30")
    assert when is not None and timezone.localtime(when).hour == 9
    with pytest.raises(DomainError) as exc:
        services.parse_publish_time("明天上午")
    assert exc.value.field == "published_at" and "格式应为" in exc.value.message
    with pytest.raises(DomainError):
        services.parse_publish_time("1900-01-01T00:00")


def test_only_portal_editors_may_edit(make_user: Any, public_user: Any, editor: Any) -> None:
    staff = make_user()
    admin = make_user(admin_role="system_admin", unit=None)
    for actor in (staff, admin, public_user):
        with pytest.raises(PermissionDenied):
            services.do_create_notice(actor, title="t", body="b")
    assert not Notice.objects.exists()
    assert [r.result for r in _audit("portal.notice.create")] == ["failure"] * 3
    notice = services.do_create_notice(editor, title="t", body="b")
    with pytest.raises(PermissionDenied):
        services.do_delete_notice(staff, notice.pk)
    assert Notice.objects.filter(pk=notice.pk).exists()


def test_a_published_notice_must_be_withdrawn_before_deletion(editor: Any, make_notice: Any) -> None:
    notice = make_notice()
    with pytest.raises(DomainError) as exc:
        services.do_delete_notice(editor, notice.pk)
    assert "先撤回" in exc.value.message
    assert Notice.objects.filter(pk=notice.pk).exists()


def test_public_sees_published_notices_only(client: Client, make_notice: Any) -> None:
    shown = make_notice("已发布的通知", "正文<script>alert(1)</script>\n\n第二段")
    draft = make_notice("草稿通知", published=False)
    later = make_notice("明天的通知", published_at=timezone.now() + timedelta(days=1))
    home = client.get("/portal/").content.decode()
    assert "已发布的通知" in home and "草稿通知" not in home and "明天的通知" not in home
    page = client.get(f"/portal/notices/{shown.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "<p>第二段</p>" in html
    assert client.get(f"/portal/notices/{draft.pk}/").status_code == 404
    assert client.get(f"/portal/notices/{later.pk}/").status_code == 404


def test_search_finds_published_notices_and_escapes_the_query(client: Client, make_notice: Any) -> None:
    make_notice("关于注册账号的说明", "如何注册和实名认证")
    make_notice("草稿：注册规则", "注册", published=False)
    make_notice("另一条通知", "手机应用的安装")
    r = client.get("/portal/search/", {"q": "注册"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "关于注册账号的说明" in html and "草稿：注册规则" not in html and "另一条通知" not in html
    assert 'data-kind="notices"' in html
    assert "一网通办上线后可在这里搜索" in html  # a kind not searchable yet
    assert "开放数据平台上线后" not in html  # open data answers searches now (opendata registers its provider)
    body = client.get("/portal/search/", {"q": "安装"}).content.decode()
    assert "另一条通知" in body
    attack = '"><script>alert(1)</script>'
    html = client.get("/portal/search/", {"q": attack}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # LIKE wildcards are literal: "%" finds nothing rather than everything.
    assert "关于注册账号的说明" not in client.get("/portal/search/", {"q": "%"}).content.decode()


def test_search_refuses_an_overlong_query_in_chinese(client: Client) -> None:
    r = client.get("/portal/search/", {"q": "字" * 101})
    assert r.status_code == 400
    assert "搜索词：最多 100 字（现为 101 字）" in r.content.decode()


def test_search_drops_results_that_leave_the_site(client: Client, db: Any) -> None:
    from zhengwu.portal import sections

    def provider(query: str, user: Any, limit: int) -> list[sections.SearchResult]:
        return [
            sections.SearchResult("好链接", "/portal/help/", "测试"),
            sections.SearchResult("外链", "https://evil.example/", "测试"),
            sections.SearchResult("协议相对", "//evil.example/", "测试"),
            sections.SearchResult("脚本", "javascript:alert(1)", "测试"),
            sections.SearchResult("反斜杠", "/\\evil.example", "测试"),
            sections.SearchResult("制表符", "/\t/evil.example", "测试"),
            sections.SearchResult("换行", "/\n/evil.example", "测试"),
        ]

    sections.register_search_provider("test-evil", "测试", provider, order=99)
    try:
        html = client.get("/portal/search/", {"q": "x"}).content.decode()
    finally:
        sections._search.pop("test-evil")
    assert "好链接" in html
    for bad in ("外链", "协议相对", "脚本", "反斜杠", "制表符", "换行", "evil.example", "javascript:"):
        assert bad not in html


def test_console_pages_for_editor_and_refusal_for_others(client: Client, editor: Any, make_user: Any) -> None:
    other = make_user()
    client.force_login(other)
    assert client.get("/portal/console/notices/").status_code == 403
    r = client.post("/portal/console/notices/new/", {"title": "越权", "body": "x"})
    assert r.status_code == 403 and not Notice.objects.exists()

    client.force_login(editor)
    assert client.get("/").status_code == 200
    assert 'data-console="portal.notices"' in client.get("/").content.decode()  # in the 服务 menu
    r = client.post("/portal/console/notices/new/", {"title": "", "body": "正文", "published_at": "明天"})
    assert r.status_code == 400 and "发布时间：格式应为" in r.content.decode()
    r = client.post("/portal/console/notices/new/", {"title": "", "body": "正文"})
    assert r.status_code == 400 and "标题：必须填写" in r.content.decode() and not Notice.objects.exists()
    r = client.post("/portal/console/notices/new/", {"title": "新通知", "body": "正文", "pinned": "on"})
    assert r.status_code == 302
    notice = Notice.objects.get()
    assert notice.pinned and notice.published_at is None
    assert client.post(f"/portal/console/notices/{notice.pk}/publish/").status_code == 302
    notice.refresh_from_db()
    assert notice.published_at is not None
    r = client.post(f"/portal/console/notices/{notice.pk}/", {"title": "改过的通知", "body": "新正文",
                                                              "published_at": "2026-11-30T08:00"})
    assert r.status_code == 302
    notice.refresh_from_db()
    assert notice.title == "改过的通知" and not notice.pinned
    [update] = _audit("portal.notice.update")
    assert update.details["before"]["title"] == "新通知" and update.details["after"]["title"] == "改过的通知"
    assert client.post(f"/portal/console/notices/{notice.pk}/explode/").status_code == 404
    assert client.get(f"/portal/console/notices/{notice.pk}/publish/").status_code == 405


def test_public_account_is_refused_by_the_console(client: Client, public_user: Any) -> None:
    client.force_login(public_user)
    assert client.get("/portal/console/notices/").status_code == 403


def test_load_demo_portal_is_idempotent_and_audited(db: Any) -> None:
    from django.core.management import call_command

    from zhengwu.directory.models import RoleGrant

    call_command("load_demo_city", verbosity=0)
    call_command("load_demo_portal")
    first = Notice.objects.count()
    assert first == 5 and Notice.objects.filter(pinned=True).count() == 1
    assert all(n.status == "已发布" for n in Notice.objects.all())
    assert RoleGrant.objects.filter(user__username="zwb_clerk", role__code="portal_editor").exists()
    call_command("load_demo_portal")
    assert Notice.objects.count() == first
    assert len(_audit("portal.notice.create")) == first
    assert len(_audit("portal.demo.load")) == 2
