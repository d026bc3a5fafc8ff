"""Server-rendered inline SVG charts (no JavaScript, no external assets).

The trend shows the interval as a band around the line, so a month with few answers looks as uncertain as
it is; small-sample months are drawn as hollow points, and every point's <title> gives its value, interval
and n (a native tooltip).
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 24, 16, 40
MIN_LABEL_GAP = 62  # px in the viewBox; a label like 2025-01 is ~45 px wide at 11 px


def _month_index(period: str) -> int:
    year, month = period[:7].split("-")
    return int(year) * 12 + int(month) - 1


def _signed(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return "–"
    text = f"{value:+.{decimals}f}"
    return "0" if text in ("+0", "-0") else text


def _y_range(points: list[dict[str, Any]]) -> tuple[float, float]:
    values = [v for p in points for v in (p["ci_low"], p["ci_high"], p["nps"]) if v is not None]
    lo, hi = min([*values, 0.0]), max([*values, 0.0])  # keep zero in view: the promoter/detractor balance
    lo, hi = math.floor(lo / 20) * 20, math.ceil(hi / 20) * 20
    if hi - lo < 40:
        hi = lo + 40
    return max(-100.0, lo), min(100.0, hi)


def _runs(points: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive months together: a missing month breaks the line instead of being bridged by it."""
    runs: list[list[dict[str, Any]]] = []
    for p in points:
        if runs and _month_index(p["period"]) == _month_index(runs[-1][-1]["period"]) + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def trend_svg(points: list[dict[str, Any]], title: str, labels: dict[str, str]) -> str:
    """Monthly NPS with its interval band; `points` as built by `views.overview` (period, n, nps, ci_*)."""
    points = [p for p in points if p.get("nps") is not None]
    if not points:
        return ""
    first, last = _month_index(points[0]["period"]), _month_index(points[-1]["period"])
    span = max(1, last - first)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_lo, y_hi = _y_range(points)

    def x(p: dict[str, Any]) -> float:
        if last == first:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (_month_index(p["period"]) - first) / span

    def y(v: float) -> float:
        v = min(max(v, y_lo), y_hi)
        return TOP + plot_h * (y_hi - v) / (y_hi - y_lo)

    out = [f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
           f'aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>",
           f"<desc>{escape(labels['band'])}; {escape(labels['hollow'])}</desc>"]
    step = 20 if y_hi - y_lo <= 120 else 40
    tick = y_lo
    while tick <= y_hi:
        cls = "axis zero" if tick == 0 else "grid"
        out.append(f'<line class="{cls}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        out.append(f'<text class="ylabel" x="{LEFT - 6}" y="{y(tick) + 4:.1f}">{_signed(tick)}</text>')
        tick += step
    last_x = -1e9
    for p in points:
        # Month labels at least MIN_LABEL_GAP apart, so they never overlap however many months there are.
        if x(p) - last_x >= MIN_LABEL_GAP:
            out.append(f'<text class="xlabel" x="{x(p):.1f}" y="{HEIGHT - BOTTOM + 18}">{escape(p["period"])}'
                       "</text>")
            last_x = x(p)
    for run in _runs(points):
        banded = [p for p in run if p["ci_low"] is not None and p["ci_high"] is not None]
        if len(banded) > 1:
            upper = " ".join(f"{x(p):.1f},{y(p['ci_high']):.1f}" for p in banded)
            lower = " ".join(f"{x(p):.1f},{y(p['ci_low']):.1f}" for p in reversed(banded))
            out.append(f'<polygon class="band" points="{upper} {lower}"/>')
        elif banded:  # a lone month: its interval as a vertical bar
            p = banded[0]
            out.append(f'<line class="whisker" x1="{x(p):.1f}" x2="{x(p):.1f}" y1="{y(p["ci_low"]):.1f}" '
                       f'y2="{y(p["ci_high"]):.1f}"/>')
        if len(run) > 1:
            line = " ".join(f"{x(p):.1f},{y(p['nps']):.1f}" for p in run)
            out.append(f'<polyline class="line" points="{line}"/>')
    for p in points:
        cls = "point small" if p["small_sample"] else "point"
        tip = (f"{p['period']}: NPS {_signed(p['nps'], 1)} ({labels['interval']} {_signed(p['ci_low'], 1)} … "
               f"{_signed(p['ci_high'], 1)}), n = {p['n']}" + (f" – {labels['small']}" if p["small_sample"] else ""))
        out.append(f'<circle class="{cls}" cx="{x(p):.1f}" cy="{y(p["nps"]):.1f}" r="4.5">'
                   f"<title>{escape(tip)}</title></circle>")
    out.append("</svg>")
    return "\n".join(out)
