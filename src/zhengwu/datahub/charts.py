"""Server-rendered SVG charts of the data-quality pages (no JavaScript, no CDN): score bars on a
0–100 scale and a trend of a resource's quality measures over its recent batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# One colour per quality measure, in the order of MEASURES.
MEASURES = [
    ("completeness", "完整性", "#2e86c1"),
    ("validity", "有效性", "#27ae60"),
    ("uniqueness", "唯一性", "#8e44ad"),
    ("consistency", "一致性", "#d35400"),
]


def score_colour(score: float) -> str:
    """Green from 90, blue from 75, orange from 60, red below."""
    if score >= 90:
        return "#1f7a3a"
    if score >= 75:
        return "#2e86c1"
    if score >= 60:
        return "#c27c0e"
    return "#b3261e"


def score_bars(rows: Sequence[tuple[str, float]]) -> SafeString:
    """Horizontal bars of scores (0–100), one per row and every row, with full names, drawn in
    CSS pixels like the catalog's bar charts (catalog/charts.py: bar_rows)."""
    from zhengwu.catalog.charts import bar_rows

    clamped = [(label, max(0.0, min(100.0, float(score)))) for label, score in rows]
    return bar_rows(
        clamped, scale_max=100.0, value_text=lambda v: f"{v:.1f} 分", colour=score_colour,
        aria="各单位数据质量评分条形图", ticks=(0, 60, 80, 100),
    )


def quality_trend(points: Sequence[tuple[str, dict[str, Any]]], width: int = 360, height: int = 220) -> dict[str, Any]:
    """Lines of the four measures (in %) over batches, oldest first. `points` holds
    (batch label, {measure: 0–1 or None}). Returns the SVG and its legend. Drawn `width` px wide
    with a viewBox: 1 unit = 1 px up to that width, shrinking on a phone (360 keeps its 12 px
    text above 10 px in a 375 px screen's panel)."""
    legend = [{"label": label, "colour": colour} for _, label, colour in MEASURES]
    if not points:
        return {"svg": mark_safe('<p class="empty">还没有已完成的批次</p>'), "legend": []}
    left, right, top, bottom = 40, 10, 10, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(points)

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y_at(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, value)))

    parts = [
        f'<svg class="chart scaled" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="最近批次的数据质量趋势" '
        f'preserveAspectRatio="xMinYMin meet">'
    ]
    for pct in (0, 25, 50, 75, 100):
        y = y_at(pct / 100)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#dee0e3"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#646a73">{pct}%</text>'
        )
    step = max(1, (n + 6) // 7)  # at most seven labels on the axis
    for i, (label, _) in enumerate(points):
        if i == n - 1 or (i % step == 0 and n - 1 - i >= step / 2):
            parts.append(
                f'<text x="{x_at(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="12" '
                f'fill="#646a73">{escape(label)}</text>'
            )
    for key, name, colour in MEASURES:
        coords = [
            (x_at(i), y_at(float(values[key])), float(values[key]), label)
            for i, (label, values) in enumerate(points)
            if values.get(key) is not None
        ]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y, value, label in coords:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(label)} {name}：{100 * value:.1f}%</title></circle>"
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" font-size="12" fill="#646a73">'
        "批次（从早到晚）</text></svg>"
    )
    return {"svg": mark_safe("".join(parts)), "legend": legend}  # noqa: S308 — labels escaped above
