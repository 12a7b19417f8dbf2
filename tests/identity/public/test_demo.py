"""load_demo_public_accounts: people from the generated demo files, checks against the lake."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from zhengwu.identity.public.models import AssuranceLevel, EnterpriseAuthorisation, PublicProfile

from .conftest import COMPANIES, NAMES, pid

pytestmark = pytest.mark.django_db


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def test_demo_accounts_are_verified_against_the_lake_and_idempotent(base_data: Any, tmp_path: Path,
                                                                    settings: Any) -> None:
    settings.DATA_DIR = tmp_path
    (tmp_path / "demo").mkdir()
    _write(tmp_path / "demo" / "人口基本信息.csv", ["公民身份号码", "姓名"], [[pid(i), NAMES[i]] for i in (1, 2)])
    _write(tmp_path / "demo" / "市场主体登记信息.csv", ["统一社会信用代码", "市场主体名称", "法定代表人", "登记状态"],
           [list(c) for c in COMPANIES])
    for _ in range(2):
        out = StringIO()
        call_command("load_demo_public_accounts", stdout=out)
    assert PublicProfile.objects.count() == 2
    assert set(PublicProfile.objects.values_list("level", flat=True)) == {AssuranceLevel.VERIFIED}
    assert EnterpriseAuthorisation.objects.filter(role="agent", revoked_at__isnull=True).count() == 1
    assert pid(1) not in out.getvalue()


def test_a_file_person_the_lake_does_not_hold_stays_unverified(base_data: Any, tmp_path: Path, settings: Any) -> None:
    settings.DATA_DIR = tmp_path
    (tmp_path / "demo").mkdir()
    _write(tmp_path / "demo" / "人口基本信息.csv", ["公民身份号码", "姓名"], [[pid(60), NAMES[1]], [pid(2), NAMES[2]]])
    _write(tmp_path / "demo" / "市场主体登记信息.csv", ["统一社会信用代码", "市场主体名称", "法定代表人", "登记状态"],
           [list(c) for c in COMPANIES])
    out = StringIO()
    call_command("load_demo_public_accounts", stdout=out)
    assert PublicProfile.objects.get(mobile="13800138001").level == AssuranceLevel.NONE
    assert "未通过实名核验" in out.getvalue()
