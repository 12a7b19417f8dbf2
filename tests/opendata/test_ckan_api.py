"""The CKAN Action API against a running server with the standard client (ckanapi.RemoteCKAN)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import ckanapi
import pytest
import requests

from zhengwu.opendata import queries

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ckan(live_server: Any, themes: None) -> ckanapi.RemoteCKAN:
    return ckanapi.RemoteCKAN(live_server.url, user_agent="zhengwu-tests")


@pytest.fixture
def clinics(open_dataset: Any) -> Any:
    return open_dataset()


def rid(entry: Any) -> str:
    return queries.resource_id(entry.resource_code, "CSV")


def test_package_list_show_and_not_found(ckan: Any, clinics: Any, open_dataset: Any) -> None:
    closed = open_dataset(name="预防接种记录", open_type="不予开放")
    name = queries.dataset_name(clinics.resource_code)
    assert ckan.action.package_list() == [name]
    package = ckan.action.package_show(id=name)
    assert package["title"] == "医疗机构执业登记信息"
    assert package["organization"]["title"] == "市卫生健康局"
    assert package["license_id"] == "cc-by-4.0"
    assert [g["name"] for g in package["groups"]] == ["health"]
    assert [r["format"] for r in package["resources"]] == ["CSV", "XLSX", "JSON"]
    assert "phone" not in [f["id"] for f in package["fields"]]
    assert ckan.action.package_show(id=package["id"])["name"] == name
    for key in (queries.dataset_name(closed.resource_code), "no-such-dataset"):
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id=key)
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_show()


def test_package_search_text_filters_facets_paging(ckan: Any, clinics: Any, open_dataset: Any) -> None:
    other = open_dataset(name="养老服务机构信息", category="2", class_item="03")
    result = ckan.action.package_search(q="医疗机构", **{"facet.field": ["organization", "groups", "res_format"]})
    # Best match first (an entry matching only 机构 ranks after it, as the catalog's search ranks).
    assert result["results"][0]["name"] == queries.dataset_name(clinics.resource_code)
    assert ckan.action.package_search(q="养老")["count"] == 1
    everything = ckan.action.package_search(**{"facet.field": ["groups"]})
    assert everything["count"] == 2
    groups = {i["name"]: i["count"] for i in everything["search_facets"]["groups"]["items"]}
    assert groups == {"health": 1, "social": 1}
    assert ckan.action.package_search(fq="groups:social")["results"][0]["name"] == queries.dataset_name(other.resource_code)
    assert ckan.action.package_search(fq="-groups:social")["count"] == 1
    page = ckan.action.package_search(rows=1, start=1, sort="name asc")
    assert page["count"] == 2 and len(page["results"]) == 1
    assert page["results"][0]["name"] == sorted([queries.dataset_name(clinics.resource_code), queries.dataset_name(other.resource_code)])[1]
    assert len(ckan.action.package_search(rows=5000)["results"]) == 2  # clamped to 1000, as CKAN does
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(fq="colour:red")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(sort="phone desc")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(rows=-1)


def test_metadata_modified_ranges_for_harvesters(ckan: Any, clinics: Any) -> None:
    modified = queries.get_dataset(clinics.resource_code).metadata_modified
    before = (modified - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    after = (modified + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ckan.action.package_search(fq=f"metadata_modified:[{before} TO *]")["count"] == 1
    assert ckan.action.package_search(fq=f"metadata_modified:[{after} TO *]")["count"] == 0
    assert ckan.action.package_search(fq=f"metadata_modified:[* TO {after}]")["count"] == 1
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(fq="metadata_modified:[yesterday TO *]")


def test_new_data_version_moves_metadata_modified(ckan: Any, clinics: Any, data_admin: Any, tmp_path: Any) -> None:
    from tests.opendata.conftest import CLINIC_ITEMS, clinic_rows, write_rows
    from zhengwu.datahub.services import ingest_file

    first = ckan.action.package_show(id=clinics.resource_code.replace("/", "-"))["metadata_modified"]
    path = write_rows(tmp_path / "more.csv", CLINIC_ITEMS, clinic_rows(5, start=100))
    ingest_file(data_admin, clinics.resource_code, path, file_name="more.csv", mode="incremental")
    package = ckan.action.package_search(fq=f"metadata_modified:[{first}Z TO *]")["results"][0]
    assert package["metadata_modified"] > first
    assert {e["key"]: e["value"] for e in package["extras"]}["rows_total"] == "25"


def test_organizations_groups_tags_resources(ckan: Any, clinics: Any) -> None:
    orgs = ckan.action.organization_list()
    assert orgs == [f"org-{clinics.provider_id}"]
    assert ckan.action.organization_list(all_fields=True)[0]["package_count"] == 1
    org = ckan.action.organization_show(id=orgs[0], include_datasets=True)
    assert org["title"] == "市卫生健康局" and len(org["packages"]) == 1
    assert "health" in ckan.action.group_list()
    group = ckan.action.group_show(id="health", include_datasets=True)
    assert group["title"] == "医疗卫生" and group["package_count"] == 1
    assert "每月" in ckan.action.tag_list()
    resource = ckan.action.resource_show(id=rid(clinics))
    assert resource["format"] == "CSV" and resource["datastore_active"] is True
    assert resource["url"].endswith("/download.csv")
    for action, key in (("organization_show", "org-99999"), ("group_show", "nothing"), ("resource_show", "nothing")):
        with pytest.raises(ckanapi.NotFound):
            ckan.call_action(action, {"id": key})


def test_datastore_search_filters_fields_sort_formats(ckan: Any, clinics: Any) -> None:
    result = ckan.action.datastore_search(resource_id=rid(clinics), filters={"division_code": "441402"}, sort="org_code desc")
    assert result["total"] == 4
    assert [r["org_code"] for r in result["records"]] == ["PDY000020", "PDY000015", "PDY000010", "PDY000005"]
    assert "phone" not in result["records"][0]
    assert [f["id"] for f in result["fields"]] == ["_id", "org_code", "org_name", "category", "beds", "division_code", "reg_date"]
    assert result["fields"][0] == {"id": "_id", "type": "int"}
    assert [r["_id"] for r in result["records"]] == [20, 15, 10, 5]
    assert {f["id"]: f["type"] for f in result["fields"]}["beds"] == "numeric"
    listed = ckan.action.datastore_search(resource_id=rid(clinics), fields=["org_code", "beds"], limit=2, offset=1,
                                          records_format="lists", sort="org_code")
    assert listed["records"] == [["PDY000002", 14], ["PDY000003", 21]]
    text = ckan.action.datastore_search(resource_id=rid(clinics), fields="org_code", limit=2, records_format="csv", sort="org_code")
    assert text["records"] == "PDY000001\nPDY000002\n"
    several = ckan.action.datastore_search(resource_id=rid(clinics), filters={"beds": [7, 14]}, fields=["org_code"])
    assert several["total"] == 2
    found = ckan.action.datastore_search(resource_id=rid(clinics), q="第13医疗")
    assert [r["org_code"] for r in found["records"]] == ["PDY000013"]
    by_field = ckan.action.datastore_search(resource_id=rid(clinics), q={"org_name": "第2"})
    assert by_field["total"] == 2  # 第2 and 第20
    big = ckan.action.datastore_search(resource_id=rid(clinics), limit=100000)
    assert big["limit"] == 32000 and big["total"] == 20
    by_name = ckan.action.datastore_search(resource_id=queries.dataset_name(clinics.resource_code), limit=1)
    assert by_name["total"] == 20


def test_datastore_search_row_ids_follow_the_lake_version(ckan: Any, clinics: Any, live_server: Any, data_admin: Any,
                                                        tmp_path: Any) -> None:
    from tests.opendata.conftest import CLINIC_ITEMS, clinic_rows, write_rows
    from zhengwu.datahub.services import ingest_file

    everything = ckan.action.datastore_search(resource_id=rid(clinics))
    assert [(r["_id"], r["org_code"]) for r in everything["records"]] == [(i, f"PDY{i:06d}") for i in range(1, 21)]
    assert list(everything["records"][0]) == ["_id", "org_code", "org_name", "category", "beds", "division_code", "reg_date"]
    listed = ckan.action.datastore_search(resource_id=rid(clinics), fields=["_id", "org_code"], sort="_id desc", limit=2,
                                          offset=1, records_format="lists")
    assert listed["records"] == [[19, "PDY000019"], [18, "PDY000018"]]
    assert [f["id"] for f in listed["fields"]] == ["_id", "org_code"]
    for fmt, sep in (("csv", ","), ("tsv", "\t")):
        text = ckan.action.datastore_search(resource_id=rid(clinics), fields="_id,org_code", limit=2, records_format=fmt)
        assert text["records"] == f"1{sep}PDY000001\n2{sep}PDY000002\n"
    one = ckan.action.datastore_search(resource_id=rid(clinics), filters={"_id": 7})
    assert [(r["_id"], r["org_code"]) for r in one["records"]] == [(7, "PDY000007")] and one["total"] == 1
    without = ckan.action.datastore_search(resource_id=rid(clinics), fields=["org_code"], limit=1)
    assert without["records"] == [{"org_code": "PDY000001"}] and [f["id"] for f in without["fields"]] == ["org_code"]
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid(clinics), filters={"_id": "seven"})

    # A new version (a second file): every row keeps a distinct number, the same on every request.
    path = write_rows(tmp_path / "more.csv", CLINIC_ITEMS, clinic_rows(5, start=100))
    ingest_file(data_admin, clinics.resource_code, path, file_name="more.csv", mode="incremental")
    first = ckan.action.datastore_search(resource_id=rid(clinics), fields=["_id", "org_code"], limit=100)
    assert first["total"] == 25 and sorted(r["_id"] for r in first["records"]) == list(range(1, 26))
    by_code = {r["org_code"]: r["_id"] for r in first["records"]}
    again = ckan.action.datastore_search(resource_id=rid(clinics), filters={"org_code": "PDY000102"}, fields=["_id"])
    assert again["records"] == [{"_id": by_code["PDY000102"]}]
    assert ckan.action.datastore_search(resource_id=rid(clinics), fields=["_id", "org_code"], limit=100)["records"] == first["records"]

    # _links as CKAN builds them: the request's arguments without offset (start), next and prev offsets.
    url = f"{live_server.url}/api/3/action/datastore_search"
    body = requests.get(url, params={"resource_id": rid(clinics), "limit": 5, "offset": 10, "sort": "_id"}, timeout=30).json()
    links = body["result"]["_links"]
    path_ = "/api/3/action/datastore_search"
    assert links == {
        "start": f"{path_}?resource_id={rid(clinics)}&limit=5&sort=_id",
        "next": f"{path_}?resource_id={rid(clinics)}&limit=5&offset=15&sort=_id",
        "prev": f"{path_}?resource_id={rid(clinics)}&limit=5&offset=5&sort=_id",
    }
    assert [r["_id"] for r in body["result"]["records"]] == [11, 12, 13, 14, 15] and body["result"]["total"] == 25
    posted = ckan.action.datastore_search(resource_id=rid(clinics), limit=5)
    assert posted["_links"] == {"start": f"{path_}?resource_id={rid(clinics)}&limit=5",
                                "next": f"{path_}?resource_id={rid(clinics)}&limit=5&offset=5"}


def test_datastore_search_closed_item_and_bad_input_are_refused(ckan: Any, clinics: Any) -> None:
    for kwargs in ({"fields": ["phone"]}, {"filters": {"phone": "13907530001"}}, {"sort": "phone"},
                   {"q": {"phone": "139"}}, {"filters": {"beds": "many"}}, {"filters": {"reg_date": "20XX"}},
                   {"records_format": "xml"}, {"limit": "ten"}, {"filters": {"beds": {"gt": 3}}}):
        with pytest.raises(ckanapi.ValidationError) as refused:
            ckan.action.datastore_search(resource_id=rid(clinics), **kwargs)
        assert "phone" not in str(refused.value) or "不存在" in str(refused.value)
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="00000000-0000-0000-0000-000000000000")


def test_conditional_dataset_needs_a_key(ckan: Any, open_dataset: Any) -> None:
    entry = open_dataset(name="公共信用信息", open_type="有条件开放", category="1", class_item="04")
    assert ckan.action.package_show(id=queries.dataset_name(entry.resource_code))["open_type"] == "有条件开放"
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id=rid(entry))
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(ckan.address, apikey="zwod_wrong").action.datastore_search(resource_id=rid(entry))


def test_envelope_get_post_and_errors(live_server: Any, clinics: Any, themes: None) -> None:
    url = f"{live_server.url}/api/3/action/package_list"
    answer = requests.get(url, timeout=10).json()
    assert answer["success"] is True and answer["help"].endswith("/api/3/action/help_show?name=package_list")
    posted = requests.post(f"{live_server.url}/api/3/action/package_show", json={"id": "nothing"}, timeout=10)
    assert posted.status_code == 404
    assert posted.json()["error"]["__type"] == "Not Found Error" and posted.json()["success"] is False
    form = requests.post(f"{live_server.url}/api/3/action/datastore_search", data={"resource_id": rid(clinics), "limit": "1"}, timeout=10)
    assert form.json()["result"]["total"] == 20
    bad = requests.post(url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["success"] is False
    unknown = requests.get(f"{live_server.url}/api/3/action/package_create", timeout=10)
    assert unknown.status_code == 400
    invalid = requests.get(f"{live_server.url}/api/3/action/datastore_search", params={"resource_id": rid(clinics), "filters": '{"phone": "1"}'}, timeout=10)
    assert invalid.status_code == 409 and invalid.json()["error"]["__type"] == "Validation Error"
    assert requests.get(f"{live_server.url}/api/action/package_list", timeout=10).json()["result"] == answer["result"]
