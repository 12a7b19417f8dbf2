"""Coded values are shown with their names from the code tables (民族 01 → 汉族), after masking:
a value shown masked is never decoded, since its name would give it away."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from zhengwu.datahub.models import IngestBatch

from .conftest import valid_id, write_csv

pytestmark = pytest.mark.django_db
API = "/api/v1/datahub"
EDUCATION = "10=研究生教育;20=大学本科教育;60=普通高级中学教育;70=初级中学教育;90=其他"
ITEMS: list[dict[str, Any]] = [
    {"name": "公民身份号码", "field_name": "id_no", "data_type": "字符", "length": 18, "is_key": True,
     "is_sensitive": True, "masking": "部分遮盖"},
    {"name": "民族", "field_name": "ethnicity", "data_type": "字符", "length": 2, "code_table": "GB/T 3304"},
    {"name": "文化程度", "field_name": "education", "data_type": "字符", "length": 2, "code_table": EDUCATION},
    {"name": "性别", "field_name": "gender", "data_type": "字符", "length": 1, "code_table": "GB/T 2261.1",
     "is_sensitive": True, "masking": "全部遮盖"},
    {"name": "户籍地", "field_name": "division_code", "data_type": "字符", "length": 6, "code_table": "GB/T 2260"},
]


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def batch(
    tmp_path: Path, publish: Callable[..., Any], data_admin: Any, django_capture_on_commit_callbacks: Any
) -> IngestBatch:
    entry = publish(data_admin, name="人口民族文化程度", items=ITEMS)
    rows = [
        [valid_id(seq=1), "01", "70", "2", "441402"],
        [valid_id(seq=2), "03", "20", "1", "441402"],
        [valid_id(seq=3)[:-1] + "X" if valid_id(seq=3)[-1] != "X" else valid_id(seq=3)[:-1] + "0", "05", "70", "1", "441402"],
    ]
    path = write_csv(tmp_path / "人口.csv", [i["name"] for i in ITEMS], rows)
    with django_capture_on_commit_callbacks(execute=True), path.open("rb") as fh:
        response = client_for(data_admin).post(
            f"{API}/resources/{entry.resource_code}/batches", {"file": fh, "mode": "incremental"}
        )
    assert response.status_code == 202, response.content
    done = IngestBatch.objects.get(pk=response.json()["id"])
    assert (done.status, done.rows_accepted, done.rows_refused) == ("succeeded", 2, 1), done.error_message
    return done


def test_version_rows_page_shows_the_names_of_coded_values(batch: IngestBatch, data_admin: Any) -> None:
    page = client_for(data_admin).get(f"/datahub/resources/{batch.resource_code}/", {"version": "0"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "01（汉族）" in html and "03（回族）" in html
    assert "70（初级中学教育）" in html and "20（大学本科教育）" in html
    assert "2（女性）" in html  # the provider's data manager sees 性别 clear, so its name too
    assert "441402（梅江区）" in html


def test_quarantine_page_and_api_name_the_codes(batch: IngestBatch, data_admin: Any) -> None:
    html = client_for(data_admin).get(f"/datahub/batches/{batch.pk}/").content.decode()
    assert "05（维吾尔族）" in html
    body = client_for(data_admin).get(f"{API}/batches/{batch.pk}/quarantine").json()
    assert body["items"][0]["values"]["ethnicity"] == "05"  # the value itself stays the code
    assert body["items"][0]["code_names"] == {
        "ethnicity": "维吾尔族", "education": "初级中学教育", "gender": "男性", "division_code": "梅江区",
    }
    rows = client_for(data_admin).get(f"{API}/resources/{batch.resource_code}/versions/0/rows").json()
    assert {n["ethnicity"] for n in rows["code_names"]} == {"汉族", "回族"}
    changes = client_for(data_admin).get(
        f"{API}/resources/{batch.resource_code}/changes", {"from_version": 0}
    ).json()
    assert {c["code_names"]["education"] for c in changes["items"]} == {"初级中学教育", "大学本科教育"}


def test_a_masked_coded_value_stays_masked(batch: IngestBatch, authority_admin: Any) -> None:
    # The data authority's data manager sees 性别 masked (全部遮盖): no name may reveal it.
    client = client_for(authority_admin)
    html = client.get(f"/datahub/resources/{batch.resource_code}/", {"version": "0"}).content.decode()
    assert "01（汉族）" in html  # not sensitive: named for everyone who may read the rows
    assert "女性" not in html and "男性" not in html
    rows = client.get(f"{API}/resources/{batch.resource_code}/versions/0/rows").json()
    assert rows["masked_fields"] == ["id_no", "gender"]
    assert all("gender" not in names for names in rows["code_names"])
    assert all(row["gender"] not in ("1", "2") for row in rows["items"])
    quarantine = client.get(f"{API}/batches/{batch.pk}/quarantine").json()
    assert "gender" not in quarantine["items"][0]["code_names"]
    changes = client.get(f"{API}/resources/{batch.resource_code}/changes", {"from_version": 0}).json()
    assert changes["items"] and all("gender" not in c["code_names"] for c in changes["items"])
    text = json.dumps(quarantine, ensure_ascii=False) + client.get(f"/datahub/batches/{batch.pk}/").content.decode()
    assert "男性" not in text
