"""In-app notifications: raised by services when work arrives, shown with an unread count in the
top bar, read one by one or all at once (audited), e-mailed after the commit when SMTP is set."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core import mail

from tests.shell.conftest import client_for, entry_data


def _bell(user: Any) -> str:
    html = client_for(user).get("/").content.decode()
    start = html.index('class="bell"')
    return html[start : html.index("</a>", start)]


def test_review_flow_notifies_reviewers_then_the_submitter(city: dict[str, Any], gaj_entry: Any) -> None:
    from zhengwu.audit.models import AuditRecord
    from zhengwu.catalog import services
    from zhengwu.core.models import Notification

    gaj, dsj, scj = city["gaj_data"], city["dsj_data"], city["scj_data"]
    Notification.objects.all().delete()  # the fixture's own submit/approve
    draft = services.do_create_entry(gaj, entry_data("机动车驾驶证信息"))
    services.do_submit_entry(gaj, draft)
    to_review = Notification.objects.get(recipient=dsj)
    assert to_review.title == "待审核目录：机动车驾驶证信息" and to_review.url == "/catalog/review/"
    assert not Notification.objects.filter(recipient__in=[gaj, scj]).exists()
    assert 'data-unread="1"' in _bell(dsj) and "未读 1 条" in _bell(dsj)
    assert 'data-unread="0"' in _bell(scj)

    listing = client_for(dsj).get("/notifications/").content.decode()
    assert "待审核目录：机动车驾驶证信息" in listing and "未读" in listing

    # Someone else cannot mark it read: it is not found for them, and stays unread.
    assert client_for(scj).post(f"/notifications/{to_review.pk}/read").status_code == 404
    to_review.refresh_from_db()
    assert to_review.read_at is None

    opened = client_for(dsj).post(f"/notifications/{to_review.pk}/read", {"open": "1"})
    assert opened.status_code == 302 and opened["Location"] == "/catalog/review/"
    to_review.refresh_from_db()
    assert to_review.read_at is not None
    assert AuditRecord.objects.filter(action="core.notification.read", actor="dsj_data", object_id=str(to_review.pk)).count() == 1
    assert 'data-unread="0"' in _bell(dsj)

    services.do_return_entry(dsj, draft, reason="数据项说明不完整，请补充")
    returned = Notification.objects.get(recipient=gaj, kind="catalog.returned")
    assert "数据项说明不完整" in returned.body
    services.do_submit_entry(gaj, draft)
    services.do_approve_entry(dsj, draft, comment="同意")
    assert Notification.objects.filter(recipient=gaj, kind="catalog.approved").count() == 1

    services.do_request_correction(city["zwb_clerk"], gaj_entry, content="户籍地址字段长度应为 200 个字符")
    correction = Notification.objects.get(kind="catalog.correction")
    assert correction.recipient == gaj and correction.url == "/catalog/mine/#corrections"

    assert Notification.objects.filter(recipient=gaj, read_at__isnull=True).count() == 3
    done = client_for(gaj).post("/notifications/read-all")
    assert done.status_code == 302
    assert Notification.objects.filter(recipient=gaj, read_at__isnull=True).count() == 0
    record = AuditRecord.objects.get(action="core.notification.read_all", actor="gaj_data")
    assert record.details["count"] == 3


@pytest.mark.parametrize(
    "url", ["https://evil.example.com/", "//evil.example.com/", "/\\evil.example.com/", "javascript:alert(1)"]
)
def test_open_link_never_leaves_the_site(city: dict[str, Any], url: str) -> None:
    from zhengwu.core.notifications import notify

    (row,) = notify([city["gaj_data"]], title="测试", url=url)
    response = client_for(city["gaj_data"]).post(f"/notifications/{row.pk}/read", {"open": "1"})
    assert response["Location"] == "/notifications/"


def test_email_goes_after_commit_when_smtp_is_configured(
    city: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from zhengwu.core.notifications import notify

    gaj = city["gaj_data"]
    gaj.email = "gaj@example.gov.cn"
    gaj.save(update_fields=["email"])
    settings.EMAIL_HOST = ""
    with django_capture_on_commit_callbacks(execute=True):
        notify([gaj], title="无邮件", body="SMTP 未配置")
    assert mail.outbox == []
    settings.EMAIL_HOST = "smtp.example.gov.cn"
    settings.SITE_URL = "https://zw.example.gov.cn"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify([gaj], title="待审核目录：人口", body="请审核", url="/catalog/review/")
    assert mail.outbox == []  # nothing is sent before the commit
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["gaj@example.gov.cn"] and "待审核目录：人口" in sent.subject
    assert "https://zw.example.gov.cn/catalog/review/" in sent.body


def test_a_mail_server_that_is_down_is_logged_not_raised(
    city: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    import socket

    from zhengwu.core.models import Notification
    from zhengwu.core.notifications import notify

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    gaj = city["gaj_data"]
    gaj.email = "gaj@example.gov.cn"
    gaj.save(update_fields=["email"])
    with (
        caplog.at_level(logging.ERROR, logger="zhengwu.core.notifications"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notify([gaj], title="邮件服务器不可用", body="站内通知照常")
    assert Notification.objects.filter(recipient=gaj, title="邮件服务器不可用").exists()
    assert "notification e-mail to gaj@example.gov.cn failed" in caplog.text
