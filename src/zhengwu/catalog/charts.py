"""Server-rendered SVG charts (no JavaScript, no CDN): horizontal bars and donuts."""

from __future__ import annotations

import math
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#c0392b", "#2e86c1", "#27ae60", "#f39c12", "#8e44ad", "#16a085", "#7f8c8d", "#d35400"]


def bars(rows: list[tuple[str, int]], width: int = 640, bar_height: int = 22) -> SafeString:
    if not rows:
        return mark_safe('<p class="empty">暂无数据</p>')
    label_w = 190
    top = max(n for _, n in rows) or 1
    height = len(rows) * (bar_height + 6) + 6
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="条形图" '
        f'preserveAspectRatio="xMinYMin meet">'
    ]
    for i, (label, n) in enumerate(rows):
        y = 6 + i * (bar_height + 6)
        w = max(2, int((width - label_w - 50) * n / top))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="13">{escape(label[:14])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_height}" fill="{PALETTE[1]}" rx="3">'
            f"<title>{escape(label)}：{n}</title></rect>"
            f'<text x="{label_w + w + 5}" y="{y + bar_height * 0.7:.1f}" font-size="13">{n}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text in it passed through escape()


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
        f'<svg class="chart" width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" aria-label="环形图">'
        + "".join(circles)
        + f'<text x="{size / 2}" y="{size / 2 + 6}" text-anchor="middle" font-size="18">{total}</text></svg>'
    )
    return {"svg": mark_safe(svg), "legend": legend}  # noqa: S308 — labels escaped above
