"""Dataset search with many datasets: filters, facet counts and paging are done in the database,
so the number of queries does not grow with the number of datasets, and the counts are exact."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import role_holder
from zhengwu.opendata import ckan, queries
from zhengwu.opendata.models import DatasetProfile

pytestmark = pytest.mark.django_db

TITLES = ["医疗服务统计", "公交线路信息", "环境监测数据", "学校名录"]
ITEMS = [
    {"name": "机构代码", "field_name": "org_code", "data_type": "字符", "length": 18, "is_key": True},
    {"name": "名称", "field_name": "org_name", "data_type": "字符", "length": 100},
]


def spec(i: int) -> dict[str, Any]:
    """The i-th dataset: its title, open type, class (theme), update cycle and provider (0 or 1)."""
    return {
        "title": f"{TITLES[i % 4]}{i:03d}",
        "open_type": "有条件开放" if i % 5 == 4 else "无条件开放",
        "class_item": "02" if i % 2 == 0 else "03",  # 2-02 → health, 2-03 → social
        "cycle": "每日" if i % 3 == 0 else "每月",
        "provider": 0 if i % 7 else 1,
    }


@pytest.fixture
def publish(
    catalog_reviewer: Any, data_admin: Any, make_unit: Callable[..., Any], make_user: Callable[..., Any]
) -> Any:
    from zhengwu.catalog import services as catalog
    from zhengwu.datahub.models import ResourceVersion

    other = make_unit("市交通运输局")
    admins = [data_admin, role_holder(make_user, "jt_data", other, "交通数据员", "data_admin")]

    def make(i: int, *, open_type: str | None = None, data: bool = True, undone: bool = False) -> Any:
        s = spec(i)
        entry = catalog.do_create_entry(
            admins[s["provider"]],
            {
                "category": "2",
                "class_item": s["class_item"],
                "class_sub": "001",
                "name": s["title"],
                "abstract": f"{s['title']}：演示用的开放数据集，包含机构代码和名称，用于检验检索与分面计数。",
                "resource_format": "数据库",
                "share_type": "无条件共享",
                "share_method": "共享平台",
                "open_type": open_type or s["open_type"],
                "update_cycle": s["cycle"],
                "security_level": "公开",
                "items": ITEMS,
                **(
                    {"open_condition": "经申请审核后开放", "open_basis": "《本市公共数据开放管理办法》"}
                    if (open_type or s["open_type"]) == "有条件开放"
                    else {}
                ),
                **({"open_basis": "《中华人民共和国个人信息保护法》"} if open_type == "不予开放" else {}),
            },
        )
        catalog.do_submit_entry(admins[s["provider"]], entry)
        catalog.do_approve_entry(catalog_reviewer, entry)
        entry.refresh_from_db()
        if data:
            # The datahub's lineage row of a commit (the lake itself is not read by search).
            ResourceVersion.objects.create(
                resource_code=entry.resource_code,
                lake_version=0,
                operation="create",
                rows_total=10 + i,
                rows_inserted=10 + i,
                undone=undone,
            )
        return entry

    return make


def expected(indexes: list[int], key: str, value: Any = None) -> int:
    return sum(1 for i in indexes if value is None or spec(i)[key] == value)


def test_search_facets_and_paging_are_exact_with_bounded_queries(
    client: Any,
    publish: Any,
    themes: None,
    django_assert_max_num_queries: Any,
) -> None:
    entries = [publish(i) for i in range(40)]
    publish(40, open_type="不予开放")  # closed: never counted
    publish(41, data=False)  # no data version: not open
    publish(42, undone=True)  # only an undone commit: not open
    DatasetProfile.objects.create(resource_code=entries[8].resource_code, licence="odc-by", keywords=["门诊"])
    opened = list(range(40))
    health = [i for i in opened if spec(i)["class_item"] == "02"]

    def portal(**params: Any) -> str:
        response = client.get("/portal/opendata/search/", params)
        assert response.status_code == 200
        return response.content.decode()

    with django_assert_max_num_queries(40) as first:
        body = portal(groups="health", sort="updated")
    assert f'data-total="{len(health)}"' in body and len(health) == 20
    assert body.count('class="od-item"') == 10  # one page of 10

    # Facet counts in the database: each facet with the other choices applied.
    result = ckan.search_datasets(
        "",
        [(False, "groups", "health")],
        [("metadata_modified", True)],
        rows=0,
        facet_fields=[
            "groups",
            "organization",
            "open_type",
            "update_cycle",
            "license_id",
            "res_format",
            "tags",
        ],
    )
    count, page, facets = result
    assert count == 20 and page == []
    items = {name: {i["name"]: i["count"] for i in f["items"]} for name, f in facets.items()}
    assert items["groups"] == {"health": 20}
    provider_ids = {spec(i)["provider"]: entries[i].provider_id for i in opened}
    assert items["organization"] == {
        f"org-{provider_ids[0]}": expected(health, "provider", 0),
        f"org-{provider_ids[1]}": expected(health, "provider", 1),
    }
    assert items["organization"][f"org-{provider_ids[1]}"] == 3  # 0, 14, 28
    assert items["open_type"] == {"无条件开放": 16, "有条件开放": 4}
    assert items["update_cycle"] == {
        "每日": expected(health, "cycle", "每日"),
        "每月": expected(health, "cycle", "每月"),
    }
    assert items["license_id"] == {"cc-by-4.0": 19, "odc-by": 1}
    assert items["res_format"] == {"CSV": 20, "XLSX": 20, "JSON": 20}
    tags = Counter(t for i in health for t in [spec(i)["cycle"], "健康保障"])
    tags["门诊"] += 1
    assert items["tags"] == dict(tags)
    labels = {i["name"]: i["display_name"] for i in facets["organization"]["items"]}
    assert labels[f"org-{provider_ids[1]}"] == "市交通运输局"

    # Text: the catalog's index, only open datasets, best first; the count is exact.
    with django_assert_max_num_queries(40):
        body = portal(q="医疗服务")
    assert f'data-total="{len([i for i in opened if i % 4 == 0])}"' in body
    count, page, _ = ckan.search_datasets("医疗服务", [], [("score", True)], rows=100)
    assert count == 10 and all(d.title.startswith("医疗服务统计") for d in page)
    count, page, _ = ckan.search_datasets(
        "医疗服务", [(True, "open_type", "有条件开放")], [("name", False)], rows=3, start=2
    )
    assert (
        count == 8
        and [d.name for d in page]
        == sorted(
            queries.dataset_name(entries[i].resource_code)
            for i in opened
            if i % 4 == 0 and spec(i)["open_type"] == "无条件开放"
        )[2:5]
    )

    # Paging in the database: page 2 holds the next ten, in the asked order.
    names = [queries.dataset_name(entries[i].resource_code) for i in health]
    count, page, _ = ckan.search_datasets(
        "", [(False, "groups", "health")], [("name", True)], start=10, rows=10
    )
    assert [d.name for d in page] == sorted(names, reverse=True)[10:20]

    # Twice the datasets: the same number of queries.
    for i in range(43, 83):
        publish(i)
    with django_assert_max_num_queries(len(first.captured_queries)):
        body = portal(groups="health", sort="updated")
    assert f'data-total="{20 + len([i for i in range(43, 83) if spec(i)["class_item"] == "02"])}"' in body
