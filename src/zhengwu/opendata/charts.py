"""Server-rendered SVG chart of a dataset's daily use (no JavaScript, no CDN, no inline style:
SVG presentation attributes only, so the portal's CSP holds)."""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLOURS = {"downloads": "#b3261e", "api_calls": "#2e86c1"}
LABELS = {"downloads": "下载", "api_calls": "接口调用"}


def daily_use_chart(days: list[dict[str, Any]], width: int = 640, height: int = 180) -> SafeString:
    """Stacked columns of downloads and API calls per day, with a day axis every 7 days."""
    left, bottom, top = 36, 24, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([d["downloads"] + d["api_calls"] for d in days] + [1])
    step = plot_w / max(len(days), 1)
    parts = [
        f'<svg class="od-chart" viewBox="0 0 {width} {height}" role="img" aria-label="近 {len(days)} 天每日下载和接口调用次数" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888" stroke-width="1"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="10" fill="#555">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10" fill="#555">0</text>',
    ]
    for i, day in enumerate(days):
        x = left + i * step + step * 0.15
        w = max(step * 0.7, 1)
        base = top + plot_h
        for kind in ("downloads", "api_calls"):
            value = day[kind]
            if not value:
                continue
            h = plot_h * value / peak
            base -= h
            title = f"{day['day'].isoformat()} {LABELS[kind]} {value} 次"
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{COLOURS[kind]}">'
                f"<title>{escape(title)}</title></rect>"
            )
        if i % 7 == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="10" fill="#555">'
                f"{day['day'].strftime('%m-%d')}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (numbers and escaped titles only)
