"""A failed batch names the field by its label (数据文件), not its code (file)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from zhengwu.datahub.failures import failure_field_label
from zhengwu.datahub.models import IngestBatch

from .conftest import write_csv

pytestmark = pytest.mark.django_db


def test_labels() -> None:
    assert failure_field_label("file") == "数据文件"
    assert failure_field_label("ethnicity", {"ethnicity": "民族"}) == "民族"
    assert failure_field_label("something_internal") == ""


def test_the_batch_page_names_the_field_by_label(
    tmp_path: Path, publish: Callable[..., Any], data_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    entry = publish(data_admin)
    path = write_csv(tmp_path / "错表.csv", ["车牌号码", "车主"], [["粤M12345", "张三"]])
    client = Client()
    client.force_login(data_admin)
    with django_capture_on_commit_callbacks(execute=True), path.open("rb") as fh:
        response = client.post(f"/api/v1/datahub/resources/{entry.resource_code}/batches", {"file": fh})
    assert response.status_code == 202, response.content
    batch = IngestBatch.objects.get(pk=response.json()["id"])
    assert (batch.status, batch.error_field) == ("failed", "file")
    html = client.get(f"/datahub/batches/{batch.pk}/").content.decode()
    assert "处理失败（数据文件）：" in html
    assert "（file）" not in html
