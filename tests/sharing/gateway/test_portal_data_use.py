"""个人中心's 我的数据使用记录: the verified holder sees the reads of their own records (and nobody
else's); an unverified holder is told to verify first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import STRONG_PASSWORD

from .conftest import id_no

pytestmark = pytest.mark.django_db


def _public(username: str, number: str | None) -> Any:
    from zhengwu.core.crypto import encrypt_field
    from zhengwu.directory.models import User
    from zhengwu.identity.public import queries
    from zhengwu.identity.public.models import AssuranceLevel, PublicProfile

    user = User(username=username, full_name="张四", unit=None, account_kind="public", password_changed_at=timezone.now())
    user.set_password(STRONG_PASSWORD)
    user.save()
    PublicProfile.objects.create(
        user=user, mobile=None, terms_version="1", terms_accepted_at=timezone.now(),
        id_no_encrypted=encrypt_field(number, queries.id_no_context(user.pk)) if number else "",
        id_no_hash=queries.keyed_hash("id_no", number) if number else None,
        level=AssuranceLevel.VERIFIED if number else AssuranceLevel.NONE,
        verified_at=timezone.now() if number else None,
    )
    return user


def test_the_holder_sees_who_read_their_records(
    granted: Callable[..., Any], population: Any, consumer_token: str, call: Callable[..., Any], client: Any,
) -> None:
    granted()
    call(f"/gateway/v1/resources/{population.resource_code}/records/{id_no(2)}", consumer_token,
         HTTP_X_ZHENGWU_PURPOSE="SB-2026-0002")
    call(f"/gateway/v1/resources/{population.resource_code}/records/{id_no(3)}", consumer_token)
    client.force_login(_public("pub_zhang", id_no(2)))
    html = client.get("/portal/me/").content.decode()
    assert 'data-section="person.data_use"' in html
    assert "市人力资源和社会保障局" in html and "SB-2026-0002" in html and "社保业务系统" in html
    assert html.count("读取了") == 1  # only their own record's read, not id_no(3)'s
    client.force_login(_public("pub_other", None))
    html = client.get("/portal/me/").content.decode()
    assert "完成实名认证后" in html and "SB-2026-0002" not in html
