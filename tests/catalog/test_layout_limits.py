"""Free-text limits (stated in the form, enforced by the services whatever the way in), long values
clipped in lists, and bar charts that show every unit in the page's text size."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.catalog.conftest import grant
from zhengwu.catalog import charts, services
from zhengwu.catalog.models import CorrectionRequest
from zhengwu.catalog.rules import normalise_entry, validate_entry
from zhengwu.core import limits
from zhengwu.core.errors import DomainError
from zhengwu.core.templatetags.layout import clamp, clip

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_100000_character_correction_posted_to_the_page_is_refused(published: Any, other_unit_user: Any) -> None:
    """The issue's attack: the page's form posted straight to the view, past any widget limit."""
    client = login(other_unit_user)
    response = client.post(
        f"/catalog/entries/{published.pk}/correct/", {"content": "目录内容有误。" * 15_000}, follow=True
    )
    assert CorrectionRequest.objects.count() == 0
    assert "纠错内容：最多 2000 字（现为 105000 字）" in response.content.decode()


def test_the_correction_form_states_its_limit(published: Any, other_unit_user: Any) -> None:
    text = login(other_unit_user).get(f"/catalog/entries/{published.pk}/").content.decode()
    assert re.search(r'<textarea name="content"[^>]*maxlength="2000"', text)
    assert "最多 2000 字" in text


def test_service_limits_on_answers_and_reasons(published: Any, data_admin: Any, other_unit_user: Any, reviewer: Any) -> None:
    correction = services.do_request_correction(other_unit_user, published, content="户籍地址的说明不完整。")
    with pytest.raises(DomainError) as refused:
        services.do_answer_correction(data_admin, correction, accepted=True, answer="好" * 2001)
    assert refused.value.field == "answer" and "答复：最多 2000 字" in refused.value.message
    with pytest.raises(DomainError) as refused:
        services.do_retire_entry(data_admin, published, reason="过期" * 1001)
    assert refused.value.field == "reason" and "下线原因：最多 2000 字" in refused.value.message
    services.do_request_correction(other_unit_user, published, content="长" * limits.TEXT)  # exactly the limit is fine


def test_entry_texts_over_their_limits_are_refused(entry_data: Callable[..., dict[str, Any]]) -> None:
    data = normalise_entry(entry_data(abstract="摘" * 4001, share_type="有条件共享", share_condition="条" * 2001,
                                      share_basis="依据", open_basis="据" * 2001))
    problems = dict(validate_entry(data))
    assert problems["abstract"] == "信息资源摘要：最多 4000 字（现为 4001 字）"
    assert problems["share_condition"] == "共享条件：最多 2000 字（现为 2001 字）"
    assert problems["open_basis"] == "开放依据：最多 2000 字（现为 2001 字）"
    assert "abstract" not in dict(validate_entry(normalise_entry(entry_data(abstract="摘" * 4000))))


def test_entry_form_widgets_carry_maxlength_and_say_it(data_admin: Any) -> None:
    text = login(data_admin).get("/catalog/entries/new/").content.decode()
    assert re.search(r'<textarea name="abstract"[^>]*maxlength="4000"', text)
    assert re.search(r'<textarea name="share_condition"[^>]*maxlength="2000"', text)
    assert "最多 4000 字" in text and "最多 2000 字" in text


def test_clip_marks_up_long_values_only_and_escapes_them() -> None:
    assert clip("梅江区江南路1号") == "梅江区江南路1号"
    long = "<b>" + "广东省示范市梅江区江南街道" * 20
    out = clip(long)
    assert 'data-expand' in out and 'aria-expanded="false"' in out and 'class="clip"' in out
    assert "<b>" not in out and "&lt;b&gt;" + "广东省示范市梅江区江南街道" * 20 in out  # all of it, escaped
    assert clip(None) == "" and clip("短", 0).count("data-expand") == 1
    assert 'class="clamp"' in clamp("纠" * 200) and clamp("纠" * 100) == "纠" * 100


def test_a_long_correction_is_clamped_on_the_entry_page(published: Any, other_unit_user: Any) -> None:
    services.do_request_correction(other_unit_user, published, content="户籍地址一项的说明不完整，" * 100)
    text = login(other_unit_user).get(f"/catalog/entries/{published.pk}/").content.decode()
    assert re.search(r'<p class="correction-content"><span class="clamp" data-expand', text)


def test_bar_chart_shows_every_unit_in_pixels_with_full_names() -> None:
    long_name = "示范市人力资源和社会保障局劳动保障监察支队第三大队（示范市劳动人事争议仲裁院）"
    rows = [(long_name, 3)] + [(f"示范市第{i}测试局", i) for i in range(1, 30)]
    svg = str(charts.bars(rows))
    assert "viewBox" not in svg and 'width="100%"' in svg  # 1 SVG unit = 1 CSS px
    assert svg.count("<g><title>") == 30  # every unit, none dropped
    assert f"<title>{long_name}：3</title>" in svg
    assert long_name[:18] in svg and long_name[18:36] in svg  # wrapped, not cut
    sizes = {int(n) for n in re.findall(r'font-size="(\d+)"', svg)}
    assert max(sizes) <= 13  # smaller than the page's 15 px text
    assert 'class="chart-scroll"' in svg and "共 30 项" in svg  # a long chart scrolls


def test_stats_page_charts_every_provider(make_unit: Any, make_user: Any, reviewer: Any,
                                          entry_data: Callable[..., dict[str, Any]]) -> None:
    """The unit chart used to stop at 20 providers without saying so."""
    for i in range(23):
        unit = make_unit(f"示范市第{i}局")
        admin = make_user(unit=unit)
        grant(admin, "data_admin", unit)
        entry = services.do_create_entry(admin, entry_data(name=f"资源{i}"))
        services.do_submit_entry(admin, entry)
        services.do_approve_entry(reviewer, entry)
    text = login(reviewer).get("/catalog/stats/").content.decode()
    unit_chart = text[text.index("各单位目录数"):text.index("各分类目录数")]
    assert unit_chart.count("<g><title>") == 23
    assert "<title>示范市第22局：1</title>" in unit_chart
