"""Template filters that keep long values from widening a page (docs/architecture.md, 页面布局).

    {% load layout %}
    {{ value|clip }}        one line, clipped with an ellipsis; tap (or Enter) shows all of it
    {{ value|clip:60 }}     the same, marked up only when longer than 60 characters
    {{ text|clamp }}        a paragraph clipped to three lines; tap shows all of it

The whole value is in the page (so it can be searched, copied and read by a screen reader); CSS
clips it (`.clip`, `.clamp` in console.css) and console.js toggles `data-expand` elements open.
A `title` also carries it for a mouse, but a phone has no hover, hence the tap.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

register = template.Library()

CLIP_AT = 24  # characters a narrow cell shows comfortably
CLAMP_AT = 120  # characters of three lines of a paragraph on a phone


def _expandable(css: str, text: str) -> SafeString:
    return format_html(
        '<span class="{}" data-expand tabindex="0" role="button" aria-expanded="false" title="{}">{}</span>',
        css, text[:1000], text,
    )


@register.filter
def clip(value: Any, at: int = CLIP_AT) -> str:
    """A value for a table cell: as is when short, otherwise clipped to one line, expandable."""
    if value is None:
        return ""
    text = str(value)
    if len(text) <= int(at):
        return escape(text)
    return _expandable("clip", text)


@register.filter
def clamp(value: Any, at: int = CLAMP_AT) -> str:
    """A paragraph (纠错内容, 摘要…): as is when short, otherwise three lines, expandable."""
    if value is None:
        return ""
    text = str(value)
    if len(text) <= int(at):
        return escape(text)
    return _expandable("clamp", text)
