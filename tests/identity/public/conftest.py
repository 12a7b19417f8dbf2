"""Fixtures of the public-account tests: a real lake holding a small 人口基本信息 and
市场主体登记信息 (ingested through datahub's services, like tests/datahub), and helpers to
register and verify people through the real services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory

from tests.conftest import STRONG_PASSWORD
from tests.datahub.conftest import (  # noqa: F401 - fixtures used by the tests here
    PEOPLE_ITEMS,
    Upload,
    authority,
    data_admin,
    grant,
    lake_dir,
    people_csv,
    person,
    provider,
    publish,
    queued,
    valid_id,
    write_csv,
)

# Pure-Chinese names (the registration refuses digits in a name).
NAMES = {1: "张三丰", 2: "李四海", 3: "王五岳", 4: "赵六合", 5: "钱七星"}
TERMS = "2026-12-01/2026-12-01"

ENTERPRISE_ITEMS: list[dict[str, Any]] = [
    {"name": "统一社会信用代码", "field_name": "uscc", "data_type": "字符", "length": 18, "is_key": True},
    {"name": "市场主体名称", "field_name": "ent_name", "data_type": "字符", "length": 200, "required": True},
    {"name": "法定代表人", "field_name": "legal_person", "data_type": "字符", "length": 50, "required": True},
    {"name": "登记状态", "field_name": "reg_status", "data_type": "字符", "length": 2, "required": True,
     "code_table": "1=存续;2=在业;3=吊销;4=注销;5=迁出"},
]


def make_uscc(serial: int) -> str:
    from zhengwu.core.validators import uscc_check_char
    from zhengwu.directory.demo import org_code_check

    body = f"{serial * 7919 % 10**8:08d}"
    code17 = "91441402" + body + org_code_check(body)
    return code17 + uscc_check_char(code17)


COMPANIES = [
    # (uscc, name, legal person, status code)
    (make_uscc(1), "梅州市梅江区鸿达贸易有限公司", NAMES[1], "1"),
    (make_uscc(2), "梅州市梅江区旧日商行有限公司", NAMES[1], "4"),
    (make_uscc(3), "梅州市梅县区兴业科技有限公司", NAMES[2], "2"),
]


def pid(seq: int) -> str:
    return str(valid_id(seq=seq))


@pytest.fixture
def base_data(tmp_path: Path, publish: Any, data_admin: Any, queued: Any,  # noqa: F811 - the imported fixtures
              make_unit: Callable[..., Any], make_user: Callable[..., Any]) -> dict[str, Any]:
    """人口基本信息 (people 1–5) and 市场主体登记信息 (COMPANIES) in the lake, current versions served."""
    from zhengwu.datahub import services as datahub

    people = [person(i, person_name=NAMES[i]) for i in range(1, 6)]
    entry = publish(data_admin)
    batch = queued(datahub.do_submit_upload, data_admin, entry.resource_code, Upload(people_csv(tmp_path / "p.csv", people)))
    batch.refresh_from_db()
    assert batch.status == "succeeded" and batch.rows_accepted == 5, batch.error_message

    market = make_unit("市市场监督管理局", uscc="11441400007000001A")
    market_admin = make_user("sj_data", unit=market, full_name="市场监管数据员")
    grant(market_admin, "data_admin", market)
    ent = publish(market_admin, name="市场主体登记信息", items=ENTERPRISE_ITEMS, class_item="02")
    path = write_csv(tmp_path / "e.csv", [i["name"] for i in ENTERPRISE_ITEMS], [list(c) for c in COMPANIES])
    batch = queued(datahub.do_submit_upload, market_admin, ent.resource_code, Upload(path))
    batch.refresh_from_db()
    assert batch.status == "succeeded" and batch.rows_accepted == 3, batch.error_message
    return {"people": entry, "enterprises": ent}


@pytest.fixture
def rf_request(db: Any) -> Callable[..., Any]:
    """A request from a given address with a real session (what the services read)."""
    from django.contrib.sessions.backends.db import SessionStore

    def make(ip: str = "203.0.113.10", user: Any = None) -> Any:
        from django.contrib.auth.models import AnonymousUser

        request = RequestFactory().post("/portal/account/", REMOTE_ADDR=ip)
        request.session = SessionStore()
        request.user = user or AnonymousUser()
        return request

    return make


def outbox_code(mobile: str) -> str:
    from zhengwu.identity.public.models import SmsOutboxMessage

    text = SmsOutboxMessage.objects.filter(mobile=mobile).order_by("-id").first().text  # type: ignore[union-attr]
    import re

    found = re.search(r"验证码为 (\d{6})", text)
    assert found, text
    return found.group(1)


@pytest.fixture
def register(rf_request: Callable[..., Any]) -> Callable[..., Any]:
    """register(seq, mobile=...) → a registered 自然人 (未实名) through the real services."""
    from zhengwu.identity.public import services

    counter = iter(range(10, 99))

    def make(seq: int, mobile: str | None = None, ip: str | None = None, **over: Any) -> Any:
        mobile = mobile or f"1380000{next(counter):04d}"
        request = rf_request(ip or f"198.51.100.{seq}")
        services.do_send_sms_code(request, mobile)
        fields = {
            "name": NAMES.get(seq, "孙八斗"), "id_no": pid(seq), "mobile": mobile, "sms_code": outbox_code(mobile),
            "password": STRONG_PASSWORD, "password2": STRONG_PASSWORD, "consent": True, "terms_version": TERMS,
        }
        fields.update(over)
        return services.do_register_person(request, **fields)

    return make


@pytest.fixture
def verified(register: Callable[..., Any], rf_request: Callable[..., Any], base_data: Any) -> Callable[..., Any]:
    """verified(seq) → a registered and 已实名 自然人."""
    from zhengwu.identity.public import services

    def make(seq: int, **kwargs: Any) -> Any:
        user = register(seq, **kwargs)
        services.do_verify_real_name(user, name=NAMES[seq], id_no=pid(seq), request=rf_request(user=user))
        user.refresh_from_db()
        return user

    return make
