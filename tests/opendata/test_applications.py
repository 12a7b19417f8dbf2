"""有条件开放: a registered person applies, the provider's reviewer decides, the key opens that
dataset's applied items for the approved period only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from zhengwu.audit.models import AuditRecord
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied
from zhengwu.opendata import ckan, queries, services
from zhengwu.opendata.models import ApplicationStatus, DataApplication

# Applications are filed with the real today; its answer deadline may fall in the next year.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("calendar_ahead")]


@pytest.fixture
def credit(open_dataset: Any, themes: None) -> Any:
    return open_dataset(name="公共信用信息", open_type="有条件开放", category="1", class_item="04")


def apply(person: Any, entry: Any, **overrides: Any) -> DataApplication:
    today = timezone.localdate()
    args: dict[str, Any] = {
        "purpose": "研究本市医疗资源的区县分布，撰写公开报告", "scenario": "高校科研项目，数据仅用于统计分析",
        "items": ["org_code", "org_name", "beds"], "period_start": today, "period_end": today + timedelta(days=90),
    }
    args.update(overrides)
    return services.do_file_application(person, entry.resource_code, **args)


def test_apply_approve_issue_key_and_use_it(public_person: Any, reviewer: Any, credit: Any) -> None:
    application = apply(public_person, credit)
    assert application.status == ApplicationStatus.PENDING
    assert application.due_date > timezone.localdate()
    assert application in queries.review_queue(reviewer)
    services.do_approve_application(reviewer, application.pk, reason="同意，限科研使用")
    key, raw = services.do_issue_api_key(public_person, application.pk)
    assert raw.startswith("zwod_") and key.digest != raw and raw not in key.prefix + key.digest
    caller = ckan.Caller(None, "http://testserver", raw)
    result = ckan.datastore_search({"resource_id": queries.dataset_name(credit.resource_code)}, caller)
    assert [f["id"] for f in result["fields"]] == ["_id", "org_code", "org_name", "beds"]
    with pytest.raises(ckan.CkanError) as refused:
        ckan.datastore_search({"resource_id": queries.dataset_name(credit.resource_code), "fields": ["category"]}, caller)
    assert refused.value.kind == ckan.VALIDATION  # not applied for: unknown to this key
    assert AuditRecord.objects.filter(action="opendata.key.use", object_id=str(key.pk)).count() == 1
    # a new key replaces the old one
    _key, newer = services.do_issue_api_key(public_person, application.pk)
    assert services.authenticate_api_key(raw, credit.resource_code) is None
    assert services.authenticate_api_key(newer, credit.resource_code) is not None


def test_key_is_limited_to_dataset_and_period(public_person: Any, reviewer: Any, credit: Any, open_dataset: Any) -> None:
    other = open_dataset(name="信用承诺信息", open_type="有条件开放", category="1", class_item="04")
    application = apply(public_person, credit)
    services.do_approve_application(reviewer, application.pk)
    key, raw = services.do_issue_api_key(public_person, application.pk)
    assert services.authenticate_api_key(raw, other.resource_code) is None
    key.valid_until = timezone.localdate() - timedelta(days=1)
    key.save()
    assert services.authenticate_api_key(raw, credit.resource_code) is None


def test_refusals_change_nothing(public_person: Any, reviewer: Any, data_admin: Any, credit: Any, open_dataset: Any,
                                 make_user: Any) -> None:
    free = open_dataset()
    staff = make_user("someone")
    cases = [
        (staff, credit, {}, PermissionDenied),
        (public_person, free, {}, DomainError),
        (public_person, credit, {"purpose": "太短"}, DomainError),
        (public_person, credit, {"items": ["phone"]}, DomainError),
        (public_person, credit, {"period_start": timezone.localdate() - timedelta(days=1)}, DomainError),
        (public_person, credit, {"period_end": timezone.localdate() + timedelta(days=800)}, DomainError),
        (public_person, credit, {"period_end": "明天"}, DomainError),
    ]
    for actor, entry, overrides, error in cases:
        with pytest.raises(error):
            apply(actor, entry, **overrides)
    assert DataApplication.objects.count() == 0
    assert AuditRecord.objects.filter(action="opendata.application.file", result="failure").count() == len(cases)
    application = apply(public_person, credit)
    with pytest.raises(DomainError):
        apply(public_person, credit)  # one pending application per dataset
    other_unit_admin = make_user("other_admin")
    with pytest.raises(PermissionDenied):
        services.do_approve_application(other_unit_admin, application.pk)
    with pytest.raises(PermissionDenied):
        services.do_approve_application(public_person, application.pk)  # applicants never review
    with pytest.raises(DomainError):
        services.do_refuse_application(reviewer, application.pk, reason="")
    with pytest.raises(DomainError):
        services.do_issue_api_key(public_person, application.pk)  # not approved yet
    services.do_refuse_application(data_admin, application.pk, reason="用途与开放条件不符")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REFUSED and application.decided_by == data_admin
    with pytest.raises(DomainError):
        services.do_approve_application(reviewer, application.pk)
    with pytest.raises(NotFound):
        services.do_issue_api_key(make_user("x"), application.pk)


def test_answer_deadline_counts_working_days(public_person: Any, credit: Any, settings: Any) -> None:
    from zhengwu.core import workdays

    settings.OPENDATA_ANSWER_WORKING_DAYS = 3
    application = apply(public_person, credit)
    assert application.due_date == workdays.add_working_days(timezone.localdate(), 3)


def test_centre_pages_show_applications(client: Any, public_person: Any, reviewer: Any, credit: Any) -> None:
    application = apply(public_person, credit)
    services.do_approve_application(reviewer, application.pk)
    client.force_login(public_person)
    me = client.get("/portal/me/").content.decode()
    assert "我的开放数据申请" in me and "公共信用信息" in me and "领取接口密钥" in me
    page = client.post(f"/portal/opendata/applications/{application.pk}/key/")
    assert page.status_code == 200 and "zwod_" in page.content.decode()
    assert page["Cache-Control"] == "no-store, private"


def test_apply_page_and_review_console(client: Any, public_person: Any, reviewer: Any, credit: Any) -> None:
    url = f"/portal/opendata/dataset/{queries.dataset_name(credit.resource_code)}/apply/"
    assert client.get(url).status_code == 302  # login first
    client.force_login(public_person)
    today = timezone.localdate()
    bad = client.post(url, {"purpose": "短", "scenario": "科研项目中的统计分析", "items": ["org_code"],
                            "period_start": today.isoformat(), "period_end": (today + timedelta(days=30)).isoformat()})
    assert bad.status_code == 400 and "用途" in bad.content.decode()
    good = client.post(url, {"purpose": "研究本市信用体系建设情况", "scenario": "科研项目中的统计分析", "items": ["org_code"],
                             "period_start": today.isoformat(), "period_end": (today + timedelta(days=30)).isoformat()})
    assert good.status_code == 302
    application = DataApplication.objects.get()
    client.force_login(reviewer)
    console = client.get("/opendata/review/")
    assert console.status_code == 200 and f"#{application.pk}" in console.content.decode()
    client.post("/opendata/review/", {"application": application.pk, "decision": "approve", "reason": "同意"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
