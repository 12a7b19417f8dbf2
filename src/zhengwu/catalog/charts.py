"""Server-rendered SVG charts (no JavaScript, no CDN): horizontal bars and donuts."""

from __future__ import annotations

import math
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#c0392b", "#2e86c1", "#27ae60", "#f39c12", "#8e44ad", "#16a085", "#7f8c8d", "#d35400"]


# Bar charts are drawn in CSS pixels: no viewBox, 100% of the container wide, so their text is
# the page's size at every width (a viewBox would scale a 13 px label to 25 px on a desktop and
# to 7 px on a phone). Each unit is a row: its full name (wrapped) and its value on one line, the
# bar below it, the name and value again in <title> for a mouse. Every row is drawn; a long
# chart sits in a .chart-scroll box that scrolls (rows_scroll).
FONT = 13
LINE = 17
WRAP_AT = 18  # characters per label line: a phone's chart is ~310 px, with the value beside it
ROWS_SCROLL = 15


def wrap_label(label: str, at: int = WRAP_AT) -> list[str]:
    """A label in lines of at most `at` characters (Chinese names have no spaces to break at)."""
    text = " ".join(label.split()) or "—"
    return [text[i : i + at] for i in range(0, len(text), at)]


def bar_rows(
    rows: list[tuple[str, float]], *, scale_max: float | None = None, value_text: Any = str, colour: Any = None,
    aria: str = "条形图", bar_height: int = 12, ticks: tuple[int, ...] = (),
) -> SafeString:
    """Horizontal bars in CSS pixels (see above). `value_text(n)` formats a value, `colour(n)` picks
    a bar's colour, `ticks` draws dashed guide lines at those values (with labels at the foot)."""
    if not rows:
        return mark_safe('<p class="empty">暂无数据</p>')
    top = scale_max if scale_max else (max(float(n) for _, n in rows) or 1.0)
    parts: list[str] = []
    y = 2
    for label, n in rows:
        lines = wrap_label(str(label))
        value = escape(value_text(n))
        share = max(0.4, min(100.0, 100 * float(n) / top))
        fill = colour(n) if colour else PALETTE[1]
        texts = "".join(
            f'<text x="0" y="{y + FONT + i * LINE}" font-size="{FONT}" fill="#1f2329">{escape(line)}</text>'
            for i, line in enumerate(lines)
        )
        bar_y = y + len(lines) * LINE + 4
        guides = "".join(  # dashed marks across the bar only, not through the label
            f'<line x1="{100 * t / top:.2f}%" y1="{bar_y - 3}" x2="{100 * t / top:.2f}%" y2="{bar_y + bar_height + 3}" '
            'stroke="#8f959e" stroke-dasharray="2 2"/>'
            for t in ticks if 0 < t < top
        )
        parts.append(
            f"<g><title>{escape(label)}：{value}</title>{texts}"
            f'<text x="100%" y="{y + FONT}" text-anchor="end" font-size="{FONT}" fill="#1f2329">{value}</text>'
            f'<rect x="0" y="{bar_y}" width="100%" height="{bar_height}" fill="#f0f1f2" rx="3"/>'
            f'<rect x="0" y="{bar_y}" width="{share:.2f}%" height="{bar_height}" fill="{fill}" rx="3"/>{guides}</g>'
        )
        y = bar_y + bar_height + 10
    scale = []
    for t in ticks:  # the scale's values at the foot
        at = 100 * t / top
        anchor = "start" if at <= 0 else "end" if at >= 100 else "middle"
        scale.append(f'<text x="{at:.2f}%" y="{y + FONT - 4}" text-anchor="{anchor}" font-size="12" fill="#646a73">{t}</text>')
    if ticks:
        y += FONT
    svg = (
        f'<svg class="chart bars" width="100%" height="{y}" role="img" aria-label="{escape(aria)}">'
        + "".join(parts) + "".join(scale) + "</svg>"
    )
    if len(rows) > ROWS_SCROLL:
        svg = (
            f'<p class="chart-note">共 {len(rows)} 项，全部列出；图表区域可上下滚动。</p>'
            f'<div class="chart-scroll" tabindex="0" aria-label="{escape(aria)}（可滚动）">{svg}</div>'
        )
    return mark_safe(svg)  # noqa: S308 — every text in it passed through escape()


def bars(rows: list[tuple[str, int]]) -> SafeString:
    """Counts per unit or class, one bar each, all of them."""
    return bar_rows([(label, n) for label, n in rows], value_text=lambda n: f"{int(n)}")


def donut(rows: list[tuple[str, int]], total: int, size: int = 180) -> dict[str, Any]:
    """An SVG donut and its legend rows (label, count, percent, colour)."""
    r, stroke = 60, 28
    c = 2 * math.pi * r
    offset = 0.0
    circles = [f'<circle r="{r}" cx="{size / 2}" cy="{size / 2}" fill="none" stroke="#eee" stroke-width="{stroke}"/>']
    legend = []
    for i, (label, n) in enumerate(rows):
        share = n / total if total else 0
        colour = PALETTE[i % len(PALETTE)]
        if n:
            circles.append(
                f'<circle r="{r}" cx="{size / 2}" cy="{size / 2}" fill="none" stroke="{colour}" stroke-width="{stroke}" '
                f'stroke-dasharray="{share * c:.2f} {c:.2f}" stroke-dashoffset="{-offset:.2f}" '
                f'transform="rotate(-90 {size / 2} {size / 2})"><title>{escape(label)}：{n}</title></circle>'
            )
        offset += share * c
        legend.append({"label": label, "n": n, "pct": round(100 * share, 1), "colour": colour})
    svg = (
        f'<svg class="chart scaled" width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" aria-label="环形图">'
        + "".join(circles)
        + f'<text x="{size / 2}" y="{size / 2 + 6}" text-anchor="middle" font-size="15" font-weight="700">{total}</text></svg>'
    )
    return {"svg": mark_safe(svg), "legend": legend}  # noqa: S308 — labels escaped above
