from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from zhengwu.audit.models import AuditRecord
from zhengwu.catalog import queries, services
from zhengwu.catalog.models import CatalogEntry, CatalogEntryVersion, CatalogTerm
from zhengwu.core.errors import Conflict, DomainError, PermissionDenied

from .conftest import grant

pytestmark = pytest.mark.django_db


def actions(code: str) -> list[str]:
    return list(AuditRecord.objects.filter(object_id=code).order_by("seq").values_list("action", flat=True))


def test_create_assigns_code_from_classification(data_admin: Any, entry_data: Callable[..., dict[str, Any]]) -> None:
    first = services.do_create_entry(data_admin, entry_data())
    second = services.do_create_entry(data_admin, entry_data(name="流动人口登记信息"))
    assert first.resource_code == "101001/00001"
    assert second.resource_code == "101001/00002"
    assert first.provider.name == "市公安局"
    assert first.provider_code == "11441400007000000J"
    assert first.items.count() == 4
    assert actions(first.resource_code) == ["catalog.entry.create"]


def test_codes_are_never_reused(data_admin: Any, entry_data: Callable[..., dict[str, Any]]) -> None:
    first = services.do_create_entry(data_admin, entry_data())
    code = first.resource_code
    first.items.all().delete()
    CatalogEntry.objects.filter(pk=first.pk).delete()  # even if a row disappeared
    again = services.do_create_entry(data_admin, entry_data())
    assert again.resource_code != code


def test_invalid_entry_refused_with_all_problems_and_audited(data_admin: Any, entry_data: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(services.EntryInvalid) as info:
        services.do_create_entry(data_admin, entry_data(share_type="不予共享", open_type="有条件开放", open_basis=""))
    fields = {f for f, _ in info.value.problems}
    assert {"share_type", "share_basis", "open_basis", "open_condition"} <= fields
    assert not CatalogEntry.objects.exists()
    failure = AuditRecord.objects.filter(action="catalog.entry.create").get()
    assert failure.result == "failure"


def test_only_the_units_data_admin_edits(
    data_admin: Any, other_unit_user: Any, make_user: Any, provider: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    entry = services.do_create_entry(data_admin, entry_data())
    with pytest.raises(PermissionDenied):
        services.do_update_entry(other_unit_user, entry, entry_data(name="改名"))
    clerk = make_user(unit=provider)
    with pytest.raises(PermissionDenied):
        services.do_create_entry(clerk, entry_data())
    with pytest.raises(PermissionDenied):
        services.do_submit_entry(clerk, entry)


def test_full_lifecycle_with_versions_and_diff(
    data_admin: Any, reviewer: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    entry = services.do_create_entry(data_admin, entry_data())
    services.do_submit_entry(data_admin, entry)
    with pytest.raises(Conflict):
        services.do_update_entry(data_admin, entry, entry_data())
    with pytest.raises(PermissionDenied):
        services.do_approve_entry(data_admin, entry)
    services.do_return_entry(reviewer, entry, reason="摘要请说明数据来源")
    entry.refresh_from_db()
    assert entry.status == "draft" and entry.review_comment == "摘要请说明数据来源"
    services.do_update_entry(data_admin, entry, entry_data(abstract="来源于户籍管理系统的常住人口基本信息，用于身份核验"))
    services.do_submit_entry(data_admin, entry)
    v1 = services.do_approve_entry(reviewer, entry, comment="同意发布")
    entry.refresh_from_db()
    assert (entry.status, entry.published_version, entry.is_live) == ("published", 1, True)
    assert entry.publish_date == timezone.localdate()
    assert CatalogTerm.objects.filter(entry=entry, term="人口").exists()

    # A change makes a new version; the published one stays visible meanwhile.
    changed = entry_data(name="常住人口基本信息（含居住证）", abstract="来源于户籍管理系统的常住人口基本信息，用于身份核验")
    changed["items"] = [i for i in changed["items"] if i["field_name"] != "birth_date"]
    changed["items"][2]["length"] = 300
    changed["items"].append({"name": "居住证号码", "field_name": "residence_permit_no", "data_type": "字符", "length": 30})
    services.do_update_entry(data_admin, entry, changed)
    entry.refresh_from_db()
    assert entry.status == "draft" and entry.is_live
    diff = queries.pending_diff(entry)
    assert diff is not None
    assert [c["field"] for c in diff["fields"]] == ["name"]
    assert [i["field_name"] for i in diff["items_added"]] == ["residence_permit_no"]
    assert [i["field_name"] for i in diff["items_removed"]] == ["birth_date"]
    assert diff["items_changed"][0]["changes"][0] == {"field": "length", "label": "长度", "old": 200, "new": 300}
    services.do_submit_entry(data_admin, entry)
    v2 = services.do_approve_entry(reviewer, entry)
    assert (v1.version, v2.version) == (1, 2)
    assert CatalogEntryVersion.objects.get(entry=entry, version=1).snapshot["name"] == "常住人口基本信息"
    assert services.diff_snapshots(v1.snapshot, v2.snapshot)["fields"][0]["new"] == "常住人口基本信息（含居住证）"

    services.do_retire_entry(data_admin, entry, reason="并入新资源")
    entry.refresh_from_db()
    assert entry.status == "retired" and not entry.is_live
    assert not CatalogTerm.objects.filter(entry=entry).exists()
    assert actions(entry.resource_code) == [
        "catalog.entry.create", "catalog.entry.submit", "catalog.entry.update", "catalog.entry.approve",
        "catalog.entry.return", "catalog.entry.update", "catalog.entry.submit", "catalog.entry.approve",
        "catalog.entry.update", "catalog.entry.submit", "catalog.entry.approve", "catalog.entry.retire",
    ]


def test_unchanged_resubmission_and_self_approval_refused(
    data_admin: Any, published: Any, entry_data: Callable[..., dict[str, Any]], authority: Any
) -> None:
    services.do_update_entry(data_admin, published, entry_data())
    with pytest.raises(Conflict, match="没有任何变更"):
        services.do_submit_entry(data_admin, published)
    # someone who both submits and reviews cannot approve their own submission
    grant(data_admin, "catalog_reviewer", authority)
    services.do_update_entry(data_admin, published, entry_data(name="人口信息"))
    services.do_submit_entry(data_admin, published)
    with pytest.raises(PermissionDenied, match="自己提交"):
        services.do_approve_entry(data_admin, published)


def test_classification_cannot_change(data_admin: Any, entry_data: Callable[..., dict[str, Any]]) -> None:
    entry = services.do_create_entry(data_admin, entry_data())
    with pytest.raises(DomainError, match="分类决定资源代码"):
        services.do_update_entry(data_admin, entry, entry_data(class_item="02"))


def test_authority_data_admin_can_review_without_reviewer_role(
    make_user: Any, authority: Any, data_admin: Any, entry_data: Callable[..., dict[str, Any]]
) -> None:
    boss = make_user(unit=authority)
    grant(boss, "data_admin", authority)
    entry = services.do_create_entry(data_admin, entry_data())
    services.do_submit_entry(data_admin, entry)
    services.do_approve_entry(boss, entry)


def test_corrections(published: Any, other_unit_user: Any, data_admin: Any, make_user: Any) -> None:
    correction = services.do_request_correction(other_unit_user, published, content="户籍地址长度应为 300", field="items")
    assert correction.reporter_unit.name == "市民政局"
    with pytest.raises(PermissionDenied):
        services.do_answer_correction(other_unit_user, correction, accepted=True, answer="好")
    answered = services.do_answer_correction(data_admin, correction, accepted=True, answer="已采纳，将在下一版本修改")
    assert answered.status == "accepted"
    with pytest.raises(Conflict):
        services.do_answer_correction(data_admin, correction, accepted=False, answer="再次")
    admin = make_user(admin_role="system_admin")
    with pytest.raises(PermissionDenied):
        services.do_request_correction(admin, published, content="管理员不能纠错内容")
    assert "catalog.correction.answer" in actions(published.resource_code)


def test_visibility(published: Any, data_admin: Any, other_unit_user: Any, entry_data: Callable[..., dict[str, Any]]) -> None:
    draft = services.do_create_entry(data_admin, entry_data(name="暂住人口"))
    assert set(queries.visible_entries(data_admin)) == {published, draft}
    assert set(queries.visible_entries(other_unit_user)) == {published}
    # others see the published version, not a pending change
    services.do_update_entry(data_admin, published, entry_data(name="新名称的人口信息"))
    published.refresh_from_db()
    assert queries.entry_view(other_unit_user, published)["name"] == "常住人口基本信息"
    assert queries.entry_view(data_admin, published)["name"] == "新名称的人口信息"


def test_overdue_only_after_data_arrives(published: Any) -> None:
    assert queries.overdue_entries() == []
    services.do_record_data_arrival(published.resource_code, timezone.now() - timedelta(days=3))
    overdue = queries.overdue_entries()
    assert [o.entry.pk for o in overdue] == [published.pk]
    assert overdue[0].days_late == 2
    services.do_record_data_arrival(published.resource_code, timezone.now())
    assert queries.overdue_entries() == []
