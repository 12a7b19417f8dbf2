"""The search synonym dictionary kept in the console: who may change it, the audit trail,
Chinese errors beside the field, and that a change reaches the search at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from zhengwu.audit.models import AuditRecord
from zhengwu.catalog import search, services
from zhengwu.catalog.models import SearchSynonym
from zhengwu.core.errors import Conflict, DomainError, PermissionDenied

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_default_dictionary_is_loaded_by_the_migration() -> None:
    pairs = set(SearchSynonym.objects.values_list("term", "synonym"))
    for pair in [("社保", "社会保险"), ("医保", "医疗保险"), ("驾照", "驾驶证"), ("房产证", "不动产权证书"),
                 ("身份证", "居民身份证"), ("身份证", "公民身份号码"), ("户口", "户籍"), ("营业执照", "市场主体"),
                 ("营业执照", "企业登记"), ("低保", "最低生活保障"), ("公积金", "住房公积金"), ("车牌", "机动车号牌")]:
        assert pair in pairs
    assert search.synonym_map()["社保"] == ["社会保险"]
    assert "社保" in search.synonym_map()["社会保险"]  # both ways


def test_only_the_catalog_authority_may_change_it(data_admin: Any, reviewer: Any, make_user: Any, authority: Any) -> None:
    # A provider unit's 数据管理员 is refused, in Chinese, and the refusal is audited.
    with pytest.raises(PermissionDenied) as refused:
        services.do_add_search_synonym(data_admin, "社区矫正", "社区矫正对象")
    assert "目录审核员或数据管理员" in refused.value.message
    failure = AuditRecord.objects.get(action="catalog.synonym.add")
    assert failure.result == "failure" and failure.actor == data_admin.username
    assert not SearchSynonym.objects.filter(term="社区矫正").exists()
    # An administrator account is refused too.
    admin = make_user("xt_admin", unit=authority, admin_role="system")
    with pytest.raises(PermissionDenied):
        services.do_add_search_synonym(admin, "社区矫正", "社区矫正对象")
    # The reviewer adds and removes; both audited with the pair.
    pair = services.do_add_search_synonym(reviewer, " 社区矫正 ", "社区矫正对象", note="司法局常用说法")
    assert (pair.term, pair.synonym, pair.created_by_id) == ("社区矫正", "社区矫正对象", reviewer.pk)
    added = AuditRecord.objects.filter(action="catalog.synonym.add", result="success").get()
    assert added.object_type == "search_synonym" and added.details["synonym"] == "社区矫正对象"
    with pytest.raises(PermissionDenied):
        services.do_remove_search_synonym(data_admin, pair.pk)
    assert SearchSynonym.objects.filter(pk=pair.pk).exists()
    services.do_remove_search_synonym(reviewer, pair.pk)
    assert not SearchSynonym.objects.filter(pk=pair.pk).exists()
    removed = AuditRecord.objects.filter(action="catalog.synonym.remove", result="success").get()
    assert removed.details == {"term": "社区矫正", "synonym": "社区矫正对象", "note": "司法局常用说法"}


@pytest.mark.parametrize(
    ("term", "synonym", "field", "message"),
    [
        ("", "社会保险", "term", "检索词：必须填写"),
        ("社保", "  ", "synonym", "同义词或全称：必须填写"),
        ("社" * 21, "社会保险", "term", "检索词：不能超过 20 个字"),
        ("社保", "社会保险", "synonym", "已在同义词表中"),
        ("社会保险", "社保", "synonym", "已在同义词表中"),  # the same pair the other way round
        ("社保", "社保", "synonym", "与检索词相同"),
        ("社保；", "社会保险", "term", "不能含标点符号"),
    ],
)
def test_bad_pairs_refused_in_chinese_naming_the_field(
    reviewer: Any, term: str, synonym: str, field: str, message: str
) -> None:
    before = SearchSynonym.objects.count()
    with pytest.raises((DomainError, Conflict)) as refused:
        services.do_add_search_synonym(reviewer, term, synonym)
    assert refused.value.field == field
    assert message in refused.value.message
    assert SearchSynonym.objects.count() == before
    assert AuditRecord.objects.filter(action="catalog.synonym.add", result="failure").count() == 1


def test_a_new_pair_changes_the_search_at_once(published: Any, reviewer: Any) -> None:
    # The published entry is 常住人口基本信息 of 市公安局; nobody writes 人籍 for it …
    assert search.search("人籍", {}).total == 0
    pair = services.do_add_search_synonym(reviewer, "人籍", "常住人口")
    result = search.search("人籍", {})
    assert [e.pk for e in result.entries] == [published.pk]
    assert result.expansions == ["人籍 → 常住人口"]
    services.do_remove_search_synonym(reviewer, pair.pk)
    assert search.search("人籍", {}).total == 0


def test_console_page(reviewer: Any, data_admin: Any) -> None:
    url = reverse("catalog:synonyms")
    assert login(data_admin).get(url).status_code == 403
    assert login(data_admin).post(url, {"term": "甲", "synonym": "乙"}).status_code == 403
    c = login(reviewer)
    page = c.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "社保" in html and "社会保险" in html and 'maxlength="20"' in html
    # An error is shown beside its field, in Chinese, and the values typed are kept.
    bad = c.post(url, {"term": "社保", "synonym": "社会保险", "note": ""})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'id="err_synonym"' in html and "已在同义词表中" in html and 'value="社保"' in html
    ok = c.post(url, {"term": "网约车", "synonym": "网络预约出租汽车", "note": "交通运输局"})
    assert ok.status_code == 302
    pair = SearchSynonym.objects.get(term="网约车")
    assert c.post(reverse("catalog:synonym_remove", args=[pair.pk])).status_code == 302
    assert not SearchSynonym.objects.filter(pk=pair.pk).exists()
    assert login(data_admin).post(reverse("catalog:synonym_remove", args=[pair.pk])).status_code == 302
    found = c.get(url, {"q": "驾"}).content.decode()
    table = found[found.index('id="synonym-table"'):]
    assert "驾驶证" in table and "社会保险" not in table


def test_api_search_reports_the_synonyms_used(published: Any, reviewer: Any, data_admin: Any) -> None:
    services.do_add_search_synonym(reviewer, "人籍", "常住人口")
    answer = login(data_admin).get("/api/v1/catalog/entries", {"q": "人籍"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["expansions"] == ["人籍 → 常住人口"] and body["terms"] == ["人籍"]
    assert [i["id"] for i in body["items"]] == [published.pk]
