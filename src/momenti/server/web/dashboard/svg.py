"""Inline SVG charts of the dashboard, drawn on the server (no script, no external asset).

Every mark carries a <title> (value, interval, n: a native tooltip); small samples are drawn hollow or pale,
withheld groups are not drawn at all. Each chart sits beside its table, which holds the same numbers.
"""

from __future__ import annotations

from html import escape
from typing import Any

from momenti.server.web.dashboard.pages import Panel
from momenti.server.web.routes import format_number

W = 640
BAR_H, GAP, LABEL_W = 18, 6, 220
MAX_BARS = 15


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _fmt(v: float | None, lang: str) -> str:
    return format_number(v, lang, 1 if v is not None and abs(v) < 100 else 0)


def label_of(panel: Panel, row: dict[str, Any]) -> str:
    cols = (panel.label or "").split(",")
    return " → ".join(str(row.get(c, "")) for c in cols if c)


def bars(panel: Panel, rows: list[dict[str, Any]], lang: str) -> str:
    rows = [r for r in rows if _num(r.get(panel.value or "")) is not None][:MAX_BARS]
    if not rows:
        return ""
    vals = [_num(r[panel.value or ""]) or 0.0 for r in rows]
    lows = [_num(r.get(panel.low)) if panel.low else None for r in rows]
    highs = [_num(r.get(panel.high)) if panel.high else None for r in rows]
    lo = min([0.0, *vals, *(v for v in lows if v is not None)])
    hi = max([0.0, *vals, *(v for v in highs if v is not None)]) or 1.0
    span = (hi - lo) or 1.0
    plot = W - LABEL_W - 60

    def x(v: float) -> float:
        return LABEL_W + (v - lo) / span * plot

    height = len(rows) * (BAR_H + GAP) + GAP
    out = [f'<svg class="bars" viewBox="0 0 {W} {height}" role="img" aria-label="{escape(panel.title[lang])}">',
           f'<line class="axis" x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{height}"/>']
    for i, r in enumerate(rows):
        y = GAP + i * (BAR_H + GAP)
        v, lo_v, hi_v = vals[i], lows[i], highs[i]
        small = " small" if r.get("small_sample") else ""
        name = label_of(panel, r)
        tip = f"{name}: {_fmt(v, lang)}"
        if lo_v is not None and hi_v is not None:
            tip += f" [{_fmt(lo_v, lang)}; {_fmt(hi_v, lang)}]"
        if r.get("n") is not None:
            tip += f", n = {r['n']}"
        x0, x1 = sorted((x(0), x(v)))
        out.append(f'<g><title>{escape(tip)}</title>'
                   f'<text class="lbl" x="{LABEL_W - 6}" y="{y + BAR_H - 5}">{escape(name[:34])}</text>'
                   f'<rect class="bar{small}" x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="{BAR_H}"/>')
        if lo_v is not None and hi_v is not None:
            out.append(f'<line class="whisker" x1="{x(lo_v):.1f}" y1="{y + BAR_H / 2}" x2="{x(hi_v):.1f}" '
                       f'y2="{y + BAR_H / 2}"/>')
        out.append(f'<text class="val" x="{max(x1, x(hi_v) if hi_v is not None else x1) + 4:.1f}" '
                   f'y="{y + BAR_H - 5}">{_fmt(v, lang)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def trend(panel: Panel, rows: list[dict[str, Any]], lang: str) -> str:
    pts = [r for r in rows if _num(r.get(panel.value or "")) is not None]
    if len(pts) < 2:
        return ""
    h, top, bottom, left = 200, 10, 24, 40
    vals = [_num(r[panel.value or ""]) or 0.0 for r in pts]
    lows = [_num(r.get(panel.low)) for r in pts]
    highs = [_num(r.get(panel.high)) for r in pts]
    lo = min([*vals, *(v for v in lows if v is not None)])
    hi = max([*vals, *(v for v in highs if v is not None)])
    span = (hi - lo) or 1.0
    step = (W - left - 10) / (len(pts) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + (hi - v) / span * (h - top - bottom)

    line = " ".join(f"{xy(i, v)[0]:.1f},{xy(i, v)[1]:.1f}" for i, v in enumerate(vals))
    band_up = [xy(i, v)[0:2] for i, v in enumerate(highs) if v is not None]
    band_dn = [xy(i, v)[0:2] for i, v in reversed(list(enumerate(lows))) if v is not None]
    out = [f'<svg class="trend" viewBox="0 0 {W} {h}" role="img" aria-label="{escape(panel.title[lang])}">']
    if band_up and band_dn:
        poly = " ".join(f"{a:.1f},{b:.1f}" for a, b in [*band_up, *band_dn])
        out.append(f'<polygon class="band" points="{poly}"/>')
    out.append(f'<polyline class="line" points="{line}"/>')
    for i, r in enumerate(pts):
        px, py = xy(i, vals[i])
        small = " small" if r.get("small_sample") else ""
        tip = f"{str(r.get(panel.label or 'period', ''))[:10]}: {_fmt(vals[i], lang)} " \
              f"[{_fmt(lows[i], lang)}; {_fmt(highs[i], lang)}], n = {r.get('n')}"
        out.append(f'<circle class="point{small}" cx="{px:.1f}" cy="{py:.1f}" r="3"><title>{escape(tip)}</title>'
                   "</circle>")
    for i in (0, len(pts) - 1):
        px, _ = xy(i, vals[i])
        out.append(f'<text class="xlabel" x="{px:.1f}" y="{h - 6}">'
                   f'{escape(str(pts[i].get(panel.label or "period", ""))[:7])}</text>')
    out.append(f'<text class="ylabel" x="2" y="{top + 10}">{_fmt(hi, lang)}</text>'
               f'<text class="ylabel" x="2" y="{h - bottom}">{_fmt(lo, lang)}</text></svg>')
    return "".join(out)


def scatter(panel: Panel, rows: list[dict[str, Any]], lang: str) -> str:
    pts = [r for r in rows if _num(r.get(panel.x or "")) is not None and _num(r.get(panel.value or "")) is not None]
    if not pts:
        return ""
    h, pad = 360, 40
    xs = [_num(r[panel.x or ""]) or 0.0 for r in pts]
    ys = [_num(r[panel.value or ""]) or 0.0 for r in pts]
    y_lo = min([*ys, *(_num(r.get(panel.low)) or y for r, y in zip(pts, ys, strict=True))])
    y_hi = max([*ys, *(_num(r.get(panel.high)) or y for r, y in zip(pts, ys, strict=True))])
    x_hi, y_span = max(xs) or 1.0, (y_hi - y_lo) or 1.0

    def px(v: float) -> float:
        return pad + v / x_hi * (W - 2 * pad)

    def py(v: float) -> float:
        return pad / 2 + (y_hi - v) / y_span * (h - 1.5 * pad)

    out = [f'<svg class="scatter" viewBox="0 0 {W} {h}" role="img" aria-label="{escape(panel.title[lang])}">']
    cut_x, cut_y = _num(pts[0].get("importance_cut")), _num(pts[0].get("performance_cut"))
    if cut_x is not None:
        out.append(f'<line class="cut" x1="{px(cut_x):.1f}" y1="0" x2="{px(cut_x):.1f}" y2="{h - pad}"/>')
    if cut_y is not None:
        out.append(f'<line class="cut" x1="{pad}" y1="{py(cut_y):.1f}" x2="{W - pad}" y2="{py(cut_y):.1f}"/>')
    for r, xv, yv in zip(pts, xs, ys, strict=True):
        lo_v, hi_v = _num(r.get(panel.low)), _num(r.get(panel.high))
        name = label_of(panel, r)
        tip = f"{name}: {panel.x} {_fmt(xv, lang)}, {panel.value} {_fmt(yv, lang)} [{_fmt(lo_v, lang)}; " \
              f"{_fmt(hi_v, lang)}]"
        out.append(f'<g><title>{escape(tip)}</title>')
        if lo_v is not None and hi_v is not None:
            out.append(f'<line class="whisker" x1="{px(xv):.1f}" y1="{py(lo_v):.1f}" x2="{px(xv):.1f}" '
                       f'y2="{py(hi_v):.1f}"/>')
        out.append(f'<circle class="point" cx="{px(xv):.1f}" cy="{py(yv):.1f}" r="4"/>'
                   f'<text class="lbl-pt" x="{px(xv) + 6:.1f}" y="{py(yv) + 4:.1f}">{escape(name[:24])}</text></g>')
    out.append(f'<text class="xlabel" x="{W / 2}" y="{h - 8}">{escape(panel.x or "")} →</text>'
               f'<text class="ylabel" x="4" y="14">↑ {escape(panel.value or "")}</text></svg>')
    return "".join(out)


def chart(panel: Panel, rows: list[dict[str, Any]], lang: str) -> str:
    draw = {"bars": bars, "trend": trend, "scatter": scatter}.get(panel.chart)
    return draw(panel, [r for r in rows if not r.get("withheld")], lang) if draw else ""
