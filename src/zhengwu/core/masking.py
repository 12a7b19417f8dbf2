"""Masking (脱敏) of personal and sensitive values for display, by the catalog's 脱敏方式.

部分遮盖 keeps enough to recognise a value (GB/T 35273-style: the first and last characters of
an identity number, the surname of a name); 全部遮盖 hides it; 哈希替换 shows an SM3 digest
prefix (equal values stay equal); 泛化 keeps only the coarse part (the year of a date, the first
digits of a code); 加密存储 is never shown.

`display_method` is the one decision of clear versus masked; the facts about the actor (may
they see the item clear?) come from the catalog (`catalog.queries.clear_items_for`), and the
data layer applies it to every row it shows (`datahub.presenters`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .crypto import sm3_hex

NONE, PARTIAL, FULL, HASH, GENERALISE, ENCRYPT = "不脱敏", "部分遮盖", "全部遮盖", "哈希替换", "泛化", "加密存储"


def mask_text(text: str) -> str:
    n = len(text)
    if n <= 1:
        return "*"
    if n == 2:
        return text[0] + "*"
    if n <= 4:
        return text[0] + "*" * (n - 1)
    if n <= 8:
        return text[:2] + "*" * (n - 3) + text[-1]
    return text[:3] + "*" * (n - 7) + text[-4:]


def mask_value(value: Any, method: str) -> Any:
    if value is None or method in ("", NONE):
        return value
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if method == PARTIAL:
        return mask_text(text)
    if method == FULL:
        return "******"
    if method == HASH:
        return "sm3:" + sm3_hex(text)[:16]
    if method == GENERALISE:
        if len(text) >= 4 and text[:4].isdigit() and not text.isdigit():
            return text[:4] + "年"  # a date: keep the year
        return text[: max(1, len(text) // 3)] + "…"
    return "（加密存储，不显示）"


# --- the one decision: clear or masked --------------------------------------------------------------


@dataclass(frozen=True)
class MaskedItem:
    """What the decision needs to know of one information item (信息项): core cannot read the
    catalog, so the catalog's facts are passed in."""

    field_name: str
    is_sensitive: bool  # 个人/敏感信息
    masking: str  # 脱敏方式


def display_method(item: MaskedItem | None, *, actor_may_see_clear: bool) -> str:
    """How a value of `item` is shown to an actor: "" (clear) or the masking method to apply.

    The rule, in one place for every page, API answer, export, feed and error that shows rows:
    an actor who may see the item clear (decided by the catalog: the provider unit's data
    managers, or a sharing grant that allows clear values) sees it clear; everyone else sees a
    personal/sensitive item masked by its 脱敏方式, and an item the catalog does not describe
    (`item is None`: a column of older data that the catalog no longer lists) fully masked —
    nothing unknown is ever shown clear. A sensitive item recorded as 不脱敏 (the catalog refuses
    that, but old snapshots may hold it) is fully masked too."""
    if actor_may_see_clear:
        return ""
    if item is None:
        return FULL
    if not item.is_sensitive:
        return ""
    return item.masking if item.masking and item.masking != NONE else FULL


def reveals_clear(item: MaskedItem | None, *, actor_may_see_clear: bool) -> bool:
    """True when a value of `item` is shown as it is (see `display_method`)."""
    return display_method(item, actor_may_see_clear=actor_may_see_clear) == ""
