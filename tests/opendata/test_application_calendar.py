"""有条件开放 applications when the answer deadline falls in a year the working-day calendar
does not know (the holiday package ends, the operator has not entered the next year yet)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from zhengwu.audit.models import AuditRecord
from zhengwu.core import workdays
from zhengwu.core.errors import DomainError
from zhengwu.opendata.models import DataApplication

from .test_applications import apply, credit  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.django_db


def test_a_deadline_in_a_year_not_entered_is_told_to_the_public_plainly(
    public_person: Any, credit: Any, monkeypatch: Any,  # noqa: F811 - the fixture imported above
) -> None:
    """The answer deadline falls in a year the calendar does not know: the applicant is told so in
    plain words (not the operator's commands), nothing is filed, and the refusal is audited."""
    unknown = workdays.package_years()[1] + 1
    late_december = date(unknown - 1, 12, 30)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: late_december)
    with pytest.raises(DomainError) as refused:
        apply(public_person, credit)
    assert refused.value.field == "calendar"
    assert f"{unknown} 年的法定节假日安排" in refused.value.message and "请过几天再试" in refused.value.message
    assert "zhengwu holidays" not in refused.value.message and "系统管理员" not in refused.value.message
    assert not DataApplication.objects.exists()
    assert AuditRecord.objects.filter(action="opendata.application.file", result="failure").count() == 1
