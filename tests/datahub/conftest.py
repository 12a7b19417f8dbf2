"""Fixtures of the datahub tests.

Every test gets its own lake and work space (resource codes repeat between tests, since the
database is rolled back), a provider unit (市公安局) with its 数据管理员, the data authority
(大数据管理局) with its 数据管理员, and `publish(...)` to put a resource in the catalog.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import grant, role_holder


@pytest.fixture(autouse=True)
def lake_dir(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_URL = str(tmp_path / "lake")
    settings.INGEST_WORK_DIR = tmp_path / "work"
    settings.ENGINE = "duckdb"
    return tmp_path / "lake"


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real SeaweedFS S3 server for the whole session (see tests/seaweedfs.py)."""
    from tests import seaweedfs as server_module

    server = server_module.start(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def any_lake(request: pytest.FixtureRequest, settings: Any, lake_dir: Path) -> str:
    """Run the test on the local lake folder and again on S3-compatible storage (SeaweedFS),
    each time in a fresh table root."""
    if request.param == "s3":
        import json
        import uuid

        from tests.seaweedfs import BUCKET

        server = request.getfixturevalue("seaweedfs")
        settings.LAKE_URL = f"s3://{BUCKET}/{uuid.uuid4().hex}"
        settings.LAKE_STORAGE_OPTIONS = json.dumps(server.storage_options())
    return str(request.param)


@pytest.fixture
def authority(make_unit: Callable[..., Any]) -> Any:
    return make_unit("大数据管理局")


@pytest.fixture
def provider(make_unit: Callable[..., Any]) -> Any:
    return make_unit("市公安局", uscc="11441400007000000J")


@pytest.fixture
def data_admin(make_user: Callable[..., Any], provider: Any) -> Any:
    return role_holder(make_user, "ga_data", provider, "公安数据员", "data_admin")


@pytest.fixture
def authority_admin(make_user: Callable[..., Any], authority: Any) -> Any:
    return role_holder(make_user, "dsj_data", authority, "大数据局数据员", "data_admin")


@pytest.fixture
def other_unit_admin(make_user: Callable[..., Any], make_unit: Callable[..., Any]) -> Any:
    unit = make_unit("市民政局")
    return role_holder(make_user, "mz_data", unit, "民政数据员", "data_admin")


PEOPLE_ITEMS: list[dict[str, Any]] = [
    {"name": "公民身份号码", "field_name": "id_no", "data_type": "字符", "length": 18, "is_key": True,
     "is_sensitive": True, "masking": "部分遮盖"},
    {"name": "姓名", "field_name": "person_name", "data_type": "字符", "length": 20, "is_sensitive": True,
     "masking": "部分遮盖", "required": True},
    {"name": "性别", "field_name": "gender", "data_type": "字符", "length": 1, "code_table": "GB/T 2261.1"},
    {"name": "出生日期", "field_name": "birth_date", "data_type": "日期"},
    {"name": "行政区划代码", "field_name": "division_code", "data_type": "字符", "length": 6, "code_table": "GB/T 2260"},
    {"name": "户籍地址", "field_name": "household_address", "data_type": "字符", "length": 60},
]


@pytest.fixture
def publish(authority: Any, make_user: Callable[..., Any]) -> Callable[..., Any]:
    """publish(provider_admin, name=..., items=[...], cycle="每日") -> a published CatalogEntry."""
    from zhengwu.catalog import services as catalog

    reviewer = make_user("dsj_review", unit=authority, full_name="目录审核员")
    grant(reviewer, "catalog_reviewer", authority)

    def make(admin: Any, *, name: str = "人口基本信息", items: list[dict[str, Any]] | None = None,
             cycle: str = "每日", category: str = "1", class_item: str = "01") -> Any:
        data = {
            "category": category, "class_item": class_item, "class_sub": "001", "name": name,
            "abstract": f"{name}：测试用的信息资源，用于数据归集测试，包含身份、地址等信息项。",
            "resource_format": "数据库", "share_type": "无条件共享", "share_method": "共享平台",
            "open_type": "不予开放", "open_basis": "《中华人民共和国个人信息保护法》", "update_cycle": cycle,
            "security_level": "敏感", "items": items if items is not None else PEOPLE_ITEMS,
        }
        entry = catalog.do_create_entry(admin, data)
        catalog.do_submit_entry(admin, entry)
        catalog.do_approve_entry(reviewer, entry)
        entry.refresh_from_db()
        return entry

    return make


def valid_id(prefix: str = "441402", birth: str = "19900101", seq: int = 1) -> str:
    from zhengwu.core.validators import resident_id_check_char

    body = f"{prefix}{birth}{seq:03d}"
    return body + resident_id_check_char(body)


def write_csv(path: Path, header: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def person(seq: int, **overrides: Any) -> dict[str, Any]:
    """One valid row of PEOPLE_ITEMS (field name → text)."""
    row = {
        "id_no": valid_id(seq=seq),
        "person_name": f"张{'三四五六七八九'[seq % 7]}{seq}",
        "gender": "1",
        "birth_date": "1990-01-01",
        "division_code": "441402",
        "household_address": f"梅江区江南路{seq}号",
    }
    row.update(overrides)
    return row


def people_csv(path: Path, people: list[dict[str, Any]], encoding: str = "utf-8") -> Path:
    header = [item["name"] for item in PEOPLE_ITEMS]
    fields = [item["field_name"] for item in PEOPLE_ITEMS]
    return write_csv(path, header, [[p.get(f, "") for f in fields] for p in people], encoding)


@pytest.fixture
def queued(django_capture_on_commit_callbacks: Any) -> Any:
    """Call a service that queues a batch, and run the queued task as the worker would (in
    tests tasks run immediately, once the transaction commits)."""

    def call(service: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return call


class Upload:
    """What a Django UploadedFile offers services."""

    def __init__(self, path: Path, name: str | None = None):
        self.path = path
        self.name = name or path.name
        self.size = path.stat().st_size

    def chunks(self) -> Any:
        with self.path.open("rb") as fh:
            while chunk := fh.read(65536):
                yield chunk
