"""Masking (脱敏) of personal and sensitive values for display, by the catalog's 脱敏方式.

部分遮盖 keeps enough to recognise a value (GB/T 35273-style: the first and last characters of
an identity number, the surname of a name); 全部遮盖 hides it; 哈希替换 shows an SM3 digest
prefix (equal values stay equal); 泛化 keeps only the coarse part (the year of a date, the first
digits of a code); 加密存储 is never shown.
"""

from __future__ import annotations

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
