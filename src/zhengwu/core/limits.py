"""Length limits of the free-text inputs, in one place for forms, API schemas and services.

A page states each limit next to its field ("最多 2000 字", and `maxlength` in the widget), the API
schemas refuse longer values with 400, and the services refuse them too (a raw POST reaches the
service without the form), so a 100,000-character 纠错 can no longer make a 34,000 px page.
Counts are characters (a Chinese character counts as one).
"""

from __future__ import annotations

from .errors import DomainError

NOTE = 500  # a reason or note of a sentence or two: 回滚原因
TEXT = 2000  # a paragraph: 纠错、答复、审核意见、退回/下线理由、共享/开放条件与依据
ABSTRACT = 4000  # 信息资源摘要
EXTRA = 4000  # 扩展元数据 (all lines together)
QUERY = 20_000  # a source's SQL query


def help_text(limit: int, text: str = "") -> str:
    """"最多 N 字" after an optional help text."""
    note = f"最多 {limit} 字"
    return f"{text}；{note}" if text else note


def check_length(value: str | None, limit: int, label: str, field: str) -> None:
    """Refuse a text longer than `limit` characters, naming the field and both lengths."""
    n = len(value or "")
    if n > limit:
        raise DomainError(f"{label}：最多 {limit} 字（现为 {n} 字）", field)
