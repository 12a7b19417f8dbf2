"""Reuses (应用成果, moderated by the data authority) and discussions (纠错 / 需求, answered by the provider)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import role_holder
from zhengwu.core.errors import DomainError, PermissionDenied
from zhengwu.opendata import queries, services
from zhengwu.opendata.models import ModerationStatus, Reuse

pytestmark = pytest.mark.django_db


def test_reuse_is_shown_once_moderated(public_person: Any, open_dataset: Any, make_user: Any, authority: Any,
                                       client: Any, themes: None) -> None:
    entry = open_dataset()
    moderator = role_holder(make_user, "dsj_open", authority, "大数据局开放审核员", "opendata_reviewer")
    reuse = services.do_submit_reuse(public_person, title="医疗资源地图", description="按区县展示医疗机构和床位数的地图应用",
                                     url="https://example.org/map", resource_codes=[entry.resource_code])
    assert queries.published_reuses(entry.resource_code) == []
    assert list(queries.moderation_queue(moderator)) == [reuse]
    with pytest.raises(PermissionDenied):
        services.do_moderate_reuse(public_person, reuse.pk, publish=True)
    with pytest.raises(DomainError):
        services.do_moderate_reuse(moderator, reuse.pk, publish=False, note="")  # a refusal needs reasons
    services.do_moderate_reuse(moderator, reuse.pk, publish=True)
    assert queries.published_reuses(entry.resource_code) == [Reuse.objects.get(status=ModerationStatus.PUBLISHED)]
    page = client.get(f"/portal/opendata/dataset/{queries.dataset_name(entry.resource_code)}/").content.decode()
    assert "医疗资源地图" in page
    assert "医疗资源地图" in client.get("/portal/opendata/reuses/").content.decode()


@pytest.mark.parametrize("overrides, field", [
    ({"title": "x"}, "title"), ({"url": "javascript:alert(1)"}, "url"), ({"resource_codes": []}, "resource_codes"),
    ({"description": "短"}, "description"),
])
def test_reuse_bad_input(public_person: Any, open_dataset: Any, overrides: dict[str, Any], field: str) -> None:
    entry = open_dataset()
    args: dict[str, Any] = {"title": "医疗资源地图", "description": "按区县展示医疗机构和床位数的地图应用",
                            "url": "https://example.org/map", "resource_codes": [entry.resource_code]}
    args.update(overrides)
    with pytest.raises(DomainError) as refused:
        services.do_submit_reuse(public_person, **args)
    assert refused.value.field == field
    assert Reuse.objects.count() == 0


def test_discussion_answered_by_the_provider(public_person: Any, open_dataset: Any, reviewer: Any, make_user: Any,
                                             client: Any, themes: None) -> None:
    entry = open_dataset()
    item = services.do_post_discussion(public_person, entry.resource_code, kind="纠错", title="床位数有误",
                                       body="第 3 号机构的床位数与其官网公布的不一致")
    with pytest.raises(DomainError):
        services.do_post_discussion(public_person, entry.resource_code, kind="表扬", title="很好", body="数据很有用处")
    with pytest.raises(PermissionDenied):
        services.do_answer_discussion(make_user("outsider"), item.pk, answer="已核实并更正")
    services.do_answer_discussion(reviewer, item.pk, answer="已核实，下次更新时更正")
    with pytest.raises(DomainError):
        services.do_answer_discussion(reviewer, item.pk, answer="再答一次试试")
    body = client.get(f"/portal/opendata/dataset/{queries.dataset_name(entry.resource_code)}/").content.decode()
    assert "床位数有误" in body and "已核实，下次更新时更正" in body


def test_moderation_console(public_person: Any, open_dataset: Any, make_user: Any, authority: Any, client: Any) -> None:
    entry = open_dataset()
    moderator = role_holder(make_user, "dsj_open", authority, "大数据局开放审核员", "opendata_reviewer")
    reuse = services.do_submit_reuse(public_person, title="医疗资源地图", description="按区县展示医疗机构和床位数的地图应用",
                                     url="", resource_codes=[entry.resource_code])
    client.force_login(make_user("plain_staff"))
    assert client.get("/opendata/reuses/").status_code == 403
    client.force_login(moderator)
    page = client.get("/opendata/reuses/")
    assert page.status_code == 200 and "医疗资源地图" in page.content.decode()
    client.post("/opendata/reuses/", {"reuse": reuse.pk, "decision": "reject", "note": "没有说明数据如何使用"})
    reuse.refresh_from_db()
    assert reuse.status == ModerationStatus.REJECTED and reuse.moderation_note == "没有说明数据如何使用"
