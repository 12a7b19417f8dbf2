"""Attacks on the 审计管理员's 数据使用记录 page (/gateway/data-use/: given a 公民身份号码 or 统一社会
信用代码, who used the data). Malformed numbers get a Chinese error naming the field and show no
record; what the input echoes is escaped; the number never travels in a URL; a search is audited with
the masked number only; anyone but the 审计管理员 gets 403 and sees nothing.

The reads come from the real gateway (tests/sharing/gateway's fixtures: a SERVICE client's token
from /oidc/token, rows in the serving store)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import id_no

pytestmark = pytest.mark.django_db


URL = "/gateway/data-use/"
V1 = "/gateway/v1"


@pytest.fixture
def reads(granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any]) -> str:
    """Two reads of person 1's record by the consumer's system; returns the number."""
    granted()
    for ref in ("SB-1", "SB-2"):
        r = call(
            f"{V1}/resources/{population.resource_code}/records/{id_no(1)}",
            consumer_token,
            HTTP_X_ZHENGWU_PURPOSE=ref,
        )
        assert r.status_code == 200, r.content
    return id_no(1)


@pytest.fixture
def auditor(client: Any, make_user: Callable[..., Any]) -> Any:
    user = make_user("sjadmin", admin_role="audit_admin", full_name="沈洁")
    client.force_login(user)
    return user


def _queries() -> Any:
    from zhengwu.audit.models import AuditRecord

    return AuditRecord.objects.filter(action="gateway.data_use.query")


def _wrong_check_digit(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


def test_a_well_formed_number_lists_the_reads_and_the_search_is_audited_masked(
    reads: str, client: Any, auditor: Any
) -> None:
    r = client.post(URL, {"identifier": reads})
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    assert [u.case_ref for u in r.context["page"]] == ["SB-2", "SB-1"]  # newest first
    html = r.content.decode()
    assert "该公民身份号码共有 <strong>2</strong> 条读取记录" in html
    record = _queries().get()
    masked = reads[:3] + "*" * 11 + reads[-4:]
    assert record.object_id == masked and record.details == {"kind": "person", "subject": masked, "found": 2}
    assert record.actor == "sjadmin" and record.result == "success"
    assert reads not in str(record.details) and reads not in record.object_id


@pytest.mark.parametrize(
    ("label", "value", "message"),
    [
        ("wrong check digit", "WRONG", "证件号码：校验码错误"),
        ("17 digits", "44140219900101001", "证件号码：请输入 18 位公民身份号码或统一社会信用代码"),
        ("19 digits", "4414021990010100151", "证件号码：请输入 18 位公民身份号码或统一社会信用代码"),
        ("SQL", "' OR '1'='1' --", "证件号码：请输入 18 位公民身份号码或统一社会信用代码"),
        ("SQL of 18", "1'OR'1'='1';#ABCDE", "证件号码：公民身份号码前 17 位必须是数字，第 2 位是“'”"),
        ("HTML", "<script>alert(1)</script>", "证件号码：请输入 18 位公民身份号码或统一社会信用代码"),
        ("HTML of 18", "<svg/onload=x>1234", "证件号码：公民身份号码前 17 位必须是数字，第 1 位是“<”"),
        ("no such date", "BADDATE", "证件号码：出生日期 19901345 不是有效日期"),
        ("very long", "4" * 10000, "证件号码：请输入 18 位公民身份号码或统一社会信用代码"),
    ],
)
def test_malformed_numbers_get_a_chinese_error_naming_the_field_and_nothing_else(
    reads: str,
    client: Any,
    auditor: Any,
    label: str,
    value: str,
    message: str,
) -> None:
    if value == "WRONG":
        value = _wrong_check_digit(reads)
    elif value == "BADDATE":
        from zhengwu.core.validators import resident_id_check_char

        value = "44140219901345001" + resident_id_check_char("44140219901345001")
    r = client.post(URL, {"identifier": value})
    assert r.status_code == 400, label
    html = r.content.decode()
    assert r.context["error"].field == "identifier"
    assert r.context["error"].message.startswith(message), (label, r.context["error"].message)
    assert f'<p class="error" role="alert">{r.context["error"].message[:3]}' in html
    assert r.context["page"] is None and 'id="data-use-table"' not in html
    assert "SB-1" not in html and "社保业务系统" not in html
    assert "<script>alert" not in html and "<svg/onload" not in html  # what it echoes is escaped
    assert 'name="identifier" value=""' in html  # the bad input is not put back into the form
    assert not _queries().filter(result="success").exists()


def test_a_refused_search_is_audited_too(reads: str, client: Any, auditor: Any) -> None:
    client.post(URL, {"identifier": _wrong_check_digit(reads)})
    assert _queries().filter(result="failure").count() == 1


def test_a_malformed_credit_code_is_told_about_the_credit_code(reads: str, client: Any, auditor: Any) -> None:
    r = client.post(URL, {"identifier": "91441400MA5XXXXXX0"})
    assert r.status_code == 400
    assert r.context["error"].message == "证件号码：校验码错误：应为 B，实为 0"


@pytest.mark.parametrize(
    ("label", "typed"),
    [
        ("full-width digits", "FULLWIDTH"),
        ("lowercase x", "LOWER"),
        ("spaces around", "SPACES"),
    ],
)
def test_forms_core_validators_normalise_find_the_same_person(
    reads: str,
    client: Any,
    auditor: Any,
    label: str,
    typed: str,
    make_unit: Callable[..., Any],
) -> None:
    """Full-width digits (NFKC), a lowercase x and surrounding spaces are the same number to
    core.validators: the same person, audited as the normalised masked number — not another
    person and not an error."""
    if typed == "FULLWIDTH":
        value = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in reads)
        assert value != reads and len(value) == 18
    elif typed == "SPACES":
        value = f"  {reads}\t"
    else:
        # A number whose check character is X, for someone nobody read: found 0, not an error.
        from zhengwu.core.validators import resident_id_check_char

        body = next(
            f"44140219900101{n:03d}"
            for n in range(1000)
            if resident_id_check_char(f"44140219900101{n:03d}") == "X"
        )
        value = body + "x"
    r = client.post(URL, {"identifier": value})
    assert r.status_code == 200, (label, r.context["error"].message if r.context["error"] else "")
    found = [u.case_ref for u in r.context["page"]]
    record = _queries().get()
    if typed == "LOWER":
        assert found == [] and record.object_id.endswith("X") and record.details["found"] == 0
        assert "没有读取记录。" in r.content.decode()
    else:
        assert found == ["SB-2", "SB-1"]
        assert record.object_id == reads[:3] + "*" * 11 + reads[-4:]


def test_the_number_in_a_url_is_ignored(reads: str, client: Any, auditor: Any) -> None:
    r = client.get(URL, {"identifier": reads})
    assert r.status_code == 200 and r.context["page"] is None
    assert reads not in r.content.decode() and not _queries().exists()


def test_nobody_but_the_audit_admin(
    reads: str,
    client: Any,
    make_user: Callable[..., Any],
    consumer_admin: Any,
    provider_reviewer: Any,
    system_admin: Any,
) -> None:
    from tests.factories import grant as grant_role

    security = make_user("aqadmin", admin_role="security_admin")
    authority = make_user("dsj_other")
    grant_role(authority, "data_admin", authority.unit)
    for user in (system_admin, security, consumer_admin, provider_reviewer, authority):
        client.force_login(user)
        for response in (client.get(URL), client.post(URL, {"identifier": reads})):
            assert response.status_code == 403, user.username
            html = response.content.decode()
            assert "审计管理员" in html
            assert "SB-1" not in html and 'id="data-use-table"' not in html
    client.logout()
    anonymous = client.post(URL, {"identifier": reads})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert not _queries().exists()


def test_a_credit_code_nobody_read_is_an_empty_enterprise_answer(
    reads: str, client: Any, auditor: Any
) -> None:
    from zhengwu.core.validators import uscc_check_char

    body = "91441400MA5TEPR0X"
    code = (body + uscc_check_char(body)).lower()  # typed in lowercase: the same code
    r = client.post(URL, {"identifier": code})
    assert r.status_code == 200, r.context["error"].message if r.context["error"] else ""
    html = r.content.decode()
    assert "该统一社会信用代码共有 <strong>0</strong> 条读取记录" in html and "没有读取记录。" in html
    record = _queries().get()
    assert (
        record.details["kind"] == "enterprise"
        and record.object_id == code.upper()[:3] + "*" * 11 + code.upper()[-4:]
    )
