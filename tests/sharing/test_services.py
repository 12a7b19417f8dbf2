"""The flows of 申请与授权 and 共享需求, through the services (real database, real calendar)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from zhengwu.audit.models import AuditRecord
from zhengwu.core.errors import Conflict, DomainError, PermissionDenied
from zhengwu.core.models import Notification
from zhengwu.sharing import queries, services
from zhengwu.sharing.models import GrantStatus, NeedStatus, RequestStatus, ShareGrant, ShareNeed, ShareRequest

pytestmark = pytest.mark.django_db


def test_unconditional_is_granted_at_once_and_masked(publish: Callable[..., Any], ask: Callable[..., Any]) -> None:
    entry = publish("无条件共享")
    req = ask(entry)
    assert req.status == RequestStatus.APPROVED and req.deadline is None
    grant = ShareGrant.objects.get(request=req)
    assert grant.status == GrantStatus.ACTIVE and grant.clear_items == [] and grant.granted_by is None
    assert grant.items == ["id_no", "person_name", "birth_date", "division_code"]
    assert [e.kind for e in req.events.all()] == ["提交申请", "自动授权"]
    actions = list(AuditRecord.objects.filter(action__startswith="sharing.").order_by("seq").values_list("action", flat=True))
    assert actions == ["sharing.request.file", "sharing.grant.create"]


def test_unconditional_with_clear_values_goes_to_review(publish: Callable[..., Any], ask: Callable[..., Any]) -> None:
    req = ask(publish("无条件共享"), clear_items=["id_no"])
    assert req.status == RequestStatus.PENDING and req.deadline == date(2026, 12, 15)
    assert not ShareGrant.objects.exists()


def test_conditional_waits_for_reviewer_who_is_notified(
    publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any
) -> None:
    req = ask(publish())
    assert req.status == RequestStatus.PENDING and req.answer_days == 10
    assert list(queries.review_queue(provider_reviewer)) == [req]
    assert Notification.objects.filter(recipient=provider_reviewer, kind="sharing.review").count() == 1


def test_deadline_counts_working_days_over_national_day(publish: Callable[..., Any], ask: Callable[..., Any]) -> None:
    # Filed Wednesday 2026-09-30, the eve of 国庆 + 中秋 (10-01…10-07 off; Saturday 10-10 worked):
    # the 10th working day after it is 2026-10-20 (a calendar-day count would say 10-10).
    req = ask(publish(), today=date(2026, 9, 30), valid_from=date(2026, 9, 30), valid_until=date(2027, 9, 29))
    assert req.deadline == date(2026, 10, 20)


def test_deadline_setting(settings: Any, publish: Callable[..., Any], ask: Callable[..., Any]) -> None:
    settings.SHARING_ANSWER_WORKING_DAYS = 5
    req = ask(publish(), today=date(2026, 9, 30), valid_from=date(2026, 9, 30))
    assert req.deadline == date(2026, 10, 13) and req.answer_days == 5


def test_deadline_into_an_uncovered_year_is_refused_and_nothing_written(
    publish: Callable[..., Any], ask: Callable[..., Any]
) -> None:
    entry = publish()
    with pytest.raises(DomainError, match="2027 年的法定节假日安排尚未收录"):
        ask(entry, today=date(2026, 12, 24), valid_from=date(2026, 12, 24))
    assert not ShareRequest.objects.exists()
    assert AuditRecord.objects.filter(action="sharing.request.file", result="failure").count() == 1


def test_not_shared_cannot_be_requested(publish: Callable[..., Any], ask: Callable[..., Any]) -> None:
    # Base resources may not be 不予共享 (catalog rule, 国发〔2016〕51号): a department resource.
    entry = publish("不予共享", name="治安案件明细", category="3", class_item="05", open_basis="《中华人民共和国数据安全法》")
    with pytest.raises(DomainError, match="不予共享，不能申请") as err:
        ask(entry)
    assert err.value.field == "entry"
    assert not ShareRequest.objects.exists()


def test_approve_with_narrowed_items_scope_and_period(
    publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any, consumer_admin: Any
) -> None:
    req = ask(publish(), clear_items=["id_no"], scope={"division_code": ["441402", "441403"]})
    grant = services.do_approve_share_request(
        provider_reviewer, req, items=["id_no", "person_name", "division_code"], clear_items=[],
        scope={"division_code": ["441402"]}, valid_until=date(2027, 5, 31), comment="出生日期非办理所需",
    )
    assert grant.items == ["id_no", "person_name", "division_code"]
    assert grant.clear_items == [] and grant.scope == {"division_code": ["441402"]}
    assert grant.valid_until == date(2027, 5, 31) and grant.granted_by == provider_reviewer
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and req.reviewer == provider_reviewer
    rec = AuditRecord.objects.get(action="sharing.request.approve")
    assert rec.details["narrowed"]["items_removed"] == ["birth_date"]
    assert rec.details["narrowed"]["clear_removed"] == ["id_no"]
    # Visible to both units: the same timeline from each side.
    assert [e.kind for e in queries.timeline(queries.get_request(consumer_admin, req.pk))] == ["提交申请", "审核通过"]
    assert queries.get_request(provider_reviewer, req.pk) == req
    assert Notification.objects.filter(recipient=consumer_admin, kind="sharing.approved").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": ["id_no", "person_name", "birth_date", "division_code", "household_address"]}, "items"),
        ({"clear_items": ["person_name"]}, "clear_items"),
        ({"scope": {"division_code": ["441402", "441403", "441421"]}}, "scope"),
        ({"scope": {}}, "scope"),  # dropping the requested limit would widen to every row
        ({"valid_until": date(2028, 1, 1)}, "valid_until"),
        ({"valid_from": date(2026, 11, 30)}, "valid_from"),
        ({"items": ["person_name"]}, "items"),  # the key cannot be dropped
    ],
)
def test_widening_is_refused(
    publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any, change: dict[str, Any], field: str
) -> None:
    req = ask(publish(), clear_items=["id_no"], scope={"division_code": ["441402", "441403"]})
    with pytest.raises(DomainError) as err:
        services.do_approve_share_request(provider_reviewer, req, **change)
    assert err.value.field == field
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and not ShareGrant.objects.exists()
    assert AuditRecord.objects.filter(action="sharing.request.approve", result="failure").count() == 1


def test_another_units_reviewer_cannot_decide(
    publish: Callable[..., Any], ask: Callable[..., Any], other_reviewer: Any, consumer_admin: Any
) -> None:
    req = ask(publish())
    with pytest.raises(PermissionDenied, match="市公安局）的共享审核员"):
        services.do_approve_share_request(other_reviewer, req)
    with pytest.raises(PermissionDenied):
        services.do_refuse_share_request(other_reviewer, req, reason="不是我单位的数据也想拒绝")
    with pytest.raises(PermissionDenied):  # nor the requester's own unit
        services.do_approve_share_request(consumer_admin, req)
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert AuditRecord.objects.filter(action__in=["sharing.request.approve", "sharing.request.refuse"], result="failure").count() == 3
    assert list(queries.review_queue(other_reviewer)) == []


def test_refuse_needs_reasons(publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any) -> None:
    req = ask(publish())
    with pytest.raises(DomainError, match="不予共享理由") as err:
        services.do_refuse_share_request(provider_reviewer, req, reason="  ")
    assert err.value.field == "reason"
    services.do_refuse_share_request(provider_reviewer, req, reason="申请用途与所需户籍地址无关，不符合最小必要原则")
    req.refresh_from_db()
    assert req.status == RequestStatus.REFUSED and "最小必要" in req.decision_note
    with pytest.raises(Conflict):
        services.do_approve_share_request(provider_reviewer, req)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"purpose": "用"}, "purpose", "用途"),
        ({"legal_basis": ""}, "legal_basis", "依据"),
        ({"items": []}, "items", "至少选择一个"),
        ({"items": ["id_no", "no_such"]}, "items", "no_such"),
        ({"items": ["person_name"]}, "items", "主键"),
        ({"clear_items": ["birth_date"]}, "clear_items", "不是个人/敏感信息项"),
        ({"scope": {"birth_date": ["2000-01-01"]}}, "scope", "没有代码表"),
        ({"scope": {"gender": ["3"]}}, "scope", "不在信息项“性别”的代码表"),
        ({"scope": {"division_code": ["110105"]}}, "scope", "不在申请单位"),
        ({"scope": {"division_code": ["999999"]}}, "scope", "不是有效的行政区划代码"),
        ({"valid_from": date(2026, 11, 1)}, "valid_from", "不能早于今天"),
        ({"valid_until": date(2026, 11, 30)}, "valid_until", "不能早于有效期起"),
        ({"valid_until": date(2030, 1, 1)}, "valid_until", "有效期最长"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    publish: Callable[..., Any], ask: Callable[..., Any], kwargs: dict[str, Any], field: str, message: str
) -> None:
    entry = publish()
    with pytest.raises(DomainError) as err:
        ask(entry, **kwargs)
    assert err.value.field == field and message in err.value.message
    assert not ShareRequest.objects.exists()


def test_county_consumer_scope_is_its_own_jurisdiction(
    publish: Callable[..., Any], ask: Callable[..., Any], county_admin: Any
) -> None:
    entry = publish()
    with pytest.raises(DomainError, match="管辖范围"):
        ask(entry, actor=county_admin, scope={"division_code": ["441403"]})
    req = ask(entry, actor=county_admin, scope={"division_code": ["441402"]})
    assert req.scope == {"division_code": ["441402"]}


def test_only_a_data_admin_may_request(publish: Callable[..., Any], ask: Callable[..., Any], make_user: Any, consumer: Any) -> None:
    entry = publish()
    with pytest.raises(PermissionDenied, match="数据管理员"):
        ask(entry, actor=make_user(unit=consumer))
    with pytest.raises(PermissionDenied, match="管理员账号不能申请"):
        ask(entry, actor=make_user(unit=consumer, admin_role="system_admin"))


def test_own_unit_resource_needs_no_request(publish: Callable[..., Any], ask: Callable[..., Any], provider_admin: Any) -> None:
    with pytest.raises(DomainError, match="本单位提供的资源"):
        ask(publish(), actor=provider_admin)


def test_withdraw(publish: Callable[..., Any], ask: Callable[..., Any], consumer_admin: Any, provider_admin: Any) -> None:
    req = ask(publish())
    with pytest.raises(PermissionDenied):
        services.do_withdraw_share_request(provider_admin, req)
    services.do_withdraw_share_request(consumer_admin, req)
    req.refresh_from_db()
    assert req.status == RequestStatus.WITHDRAWN


def test_revoke_and_expiry_and_renewal_reminder(
    publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any, other_reviewer: Any, consumer_admin: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(services, "_today", lambda: date(2026, 12, 1))  # the dates below are fixed
    entry = publish()
    first = services.do_approve_share_request(provider_reviewer, ask(entry))
    with pytest.raises(PermissionDenied):
        services.do_revoke_share_grant(other_reviewer, first, reason="别的单位撤销不了")
    with pytest.raises(DomainError) as err:
        services.do_revoke_share_grant(provider_reviewer, first, reason="")
    assert err.value.field == "reason"
    services.do_revoke_share_grant(provider_reviewer, first, reason="申请单位已不再承担该项职责")
    first.refresh_from_db()
    assert first.status == GrantStatus.REVOKED
    assert queries.active_grant(first.consumer_id, entry.pk) is None

    second = services.do_approve_share_request(provider_reviewer, ask(entry, valid_until=date(2026, 12, 20)))
    assert queries.active_grant(second.consumer_id, entry.pk, today=date(2026, 12, 10)) == second
    # Reminder: once, within SHARING_RENEWAL_REMINDER_DAYS (30) of the end.
    assert services.do_send_renewal_reminders(today=date(2026, 12, 1)) == 1
    assert services.do_send_renewal_reminders(today=date(2026, 12, 2)) == 0
    assert Notification.objects.filter(recipient=consumer_admin, kind="sharing.renewal").count() == 1
    # Expiry: not before the last day, then once.
    assert services.do_expire_share_grants(today=date(2026, 12, 20)) == 0
    assert services.do_expire_share_grants(today=date(2026, 12, 21)) == 1
    second.refresh_from_db()
    assert second.status == GrantStatus.EXPIRED
    assert services.do_expire_share_grants(today=date(2026, 12, 22)) == 0
    assert [e.kind for e in second.request.events.all()] == ["提交申请", "审核通过", "续期提醒", "授权到期"]
    assert AuditRecord.objects.filter(action="sharing.grant.expire", object_id=str(second.pk)).count() == 1
    # Renewal: a new request that names the grant it renews.
    renewal = ask(entry, renews=second)
    assert renewal.renews == second


def test_overdue_list_and_todo_counts_from_the_same_query(
    publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any, authority_admin: Any,
    consumer_admin: Any,
) -> None:
    from zhengwu.core.consoles import todos_for

    entry = publish()
    late = ask(entry, today=date(2026, 9, 30), valid_from=date(2026, 9, 30))  # deadline 2026-10-20
    on_time = ask(entry)  # deadline 2026-12-15
    today = date(2026, 12, 1)
    assert list(queries.overdue_for_provider(provider_reviewer, today)) == [late]
    assert list(queries.supervision_list(authority_admin, today)) == [late]
    with pytest.raises(PermissionDenied):
        queries.supervision_list(consumer_admin, today)
    todos = {t.key: t.count for t in todos_for(provider_reviewer)}
    assert todos["sharing.review"] == 2 == queries.review_queue(provider_reviewer).count()
    assert todos["sharing.overdue"] == queries.overdue_for_provider(provider_reviewer).count()
    assert {t.key: t.count for t in todos_for(authority_admin)}["sharing.supervision"] == queries.supervision_list(authority_admin).count()
    assert services.do_notify_overdue_requests(today) == 1
    assert services.do_notify_overdue_requests(today) == 0
    assert Notification.objects.filter(recipient=authority_admin, kind="sharing.overdue").count() == 1
    assert [e.kind for e in late.events.all()][-1] == "逾期未答复"
    assert on_time.status == RequestStatus.PENDING


def test_overdue_into_a_year_the_calendar_does_not_know(
    publish: Callable[..., Any], ask: Callable[..., Any], authority_admin: Any, monkeypatch: Any,
) -> None:
    """Being late is date order; only the count of working days needs the calendar. A request late
    into a year not entered yet is swept and listed (the count said to be pending), never a crash."""
    from zhengwu.core import workdays

    entry = publish()
    late = ask(entry, today=date(2026, 9, 30), valid_from=date(2026, 9, 30))  # deadline 2026-10-20
    unknown = workdays.package_years()[1] + 1
    today = date(unknown, 1, 11)
    with pytest.raises(workdays.CalendarNotCovered):
        workdays.working_days_between(late.deadline, today)
    assert workdays.working_days_late(late.deadline, today) is None
    assert services.do_notify_overdue_requests(today) == 1
    event = late.events.order_by("-id").first()
    assert event.kind == "逾期未答复" and "工作日数待录入后计算" in event.text
    record = AuditRecord.objects.filter(action="sharing.request.overdue", object_id=str(late.pk)).get()
    assert record.details["working_days_late"] is None
    # the data authority's supervision list shows it, with the count pending
    from django.test import Client

    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: today)
    client = Client()
    client.force_login(authority_admin)
    page = client.get("/sharing/supervision/")
    assert page.status_code == 200 and "已逾期（工作日数待计算）" in page.content.decode()


def test_periodic_job_is_registered_and_runs() -> None:
    from zhengwu.core import periodic
    from zhengwu.sharing.tasks import sharing_housekeeping

    assert "sharing.housekeeping" in {j.name for j in periodic.jobs()}
    result = sharing_housekeeping.call()
    assert result == {"expired": 0, "reminded": 0, "overdue": 0}


def test_a_unit_sees_only_its_own_requests(
    publish: Callable[..., Any], ask: Callable[..., Any], other_reviewer: Any, county_admin: Any
) -> None:
    req = ask(publish())
    from zhengwu.core.errors import NotFound

    for outsider in (other_reviewer, county_admin):
        with pytest.raises(NotFound):
            queries.get_request(outsider, req.pk)
    assert list(queries.my_unit_requests(county_admin)) == []


def test_share_need_flow(
    publish: Callable[..., Any], consumer_admin: Any, authority_admin: Any, provider_admin: Any, provider: Any,
    other_reviewer: Any,
) -> None:
    with pytest.raises(DomainError) as err:
        services.do_post_share_need(consumer_admin, title="流动人口", description="短", purpose="就业服务")
    assert err.value.field == "description"
    need = services.do_post_share_need(
        consumer_admin, title="流动人口就业登记关联数据", description="需要流动人口的居住地、就业意向，按街道统计，每月更新",
        purpose="开展就业帮扶和技能培训", legal_basis="《就业促进法》",
    )
    assert list(queries.needs_to_assign(authority_admin)) == [need]
    with pytest.raises(PermissionDenied):
        services.do_assign_share_need(consumer_admin, need, unit=provider)
    services.do_assign_share_need(authority_admin, need, unit=provider, note="居住证数据由公安局掌握")
    need.refresh_from_db()
    assert need.status == NeedStatus.ASSIGNED and list(queries.needs_to_answer(provider_admin)) == [need]
    with pytest.raises(PermissionDenied):
        services.do_answer_share_need(other_reviewer, need, answer="不是我的")
    with pytest.raises(DomainError, match="写明理由"):
        services.do_answer_share_need(provider_admin, need, answer="")
    entry = publish("有条件共享", name="居住证信息")
    services.do_answer_share_need(provider_admin, need, entry=entry, answer="已编目，可按有条件共享申请")
    need.refresh_from_db()
    assert need.status == NeedStatus.CATALOGUED and need.answer_entry == entry
    assert [e.kind for e in need.events.all()] == ["提出需求", "分派", "答复"]
    assert list(
        AuditRecord.objects.filter(action__startswith="sharing.need", result="success").order_by("seq").values_list("action", flat=True)
    ) == ["sharing.need.post", "sharing.need.assign", "sharing.need.answer"]
    assert ShareNeed.objects.count() == 1


def test_masking_follows_the_grant(
    publish: Callable[..., Any], ask: Callable[..., Any], provider_reviewer: Any, consumer_admin: Any, other_reviewer: Any
) -> None:
    from zhengwu.catalog.queries import masked_items
    from zhengwu.core.masking import display_method, mask_value

    entry = publish()
    masked = services.do_approve_share_request(provider_reviewer, ask(entry), items=["id_no", "person_name"])
    clear = services.do_approve_share_request(provider_reviewer, ask(entry, clear_items=["id_no"]))
    items = masked_items(entry)
    # Without clear values the identity number is shown masked (部分遮盖), as the catalog says.
    seen = queries.clear_items_for_grant(consumer_admin, masked)
    assert seen == frozenset()
    method = display_method(items["id_no"], actor_may_see_clear="id_no" in seen)
    assert mask_value("44140219900101002X", method) == "441***********002X"
    # With clear values granted: clear for the consumer only, and never after revocation.
    assert queries.clear_items_for_grant(consumer_admin, clear) == frozenset({"id_no"})
    assert queries.clear_items_for_grant(other_reviewer, clear) == frozenset()
    services.do_revoke_share_grant(provider_reviewer, clear, reason="测试撤销后不再显示明文")
    clear.refresh_from_db()
    assert queries.clear_items_for_grant(consumer_admin, clear) == frozenset()
