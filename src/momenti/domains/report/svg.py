"""Two tiny chart helpers drawing inline SVG: horizontal bars with interval whiskers, and a line with its interval
band. Our own few lines instead of a chart library: the report must be one self-contained file with no script
and no external resource, printable and readable by WeasyPrint, and these two charts are all it needs.

Every text put in the SVG is escaped here (the result is `Markup`, inserted unescaped by the template), and a
small-sample figure is drawn faint and hollow so that it is never read as firm as the others. No `xmlns`
attribute: inline in HTML the parser puts <svg> in the SVG namespace itself (browsers and WeasyPrint alike), and
the report then holds no URL of any kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

INK, MUTED, GRID = "#1f2933", "#6b7785", "#d9dee3"
BAR, BAR_NEG, FAINT, BAND = "#2f6f9f", "#b4503c", "#a9bccb", "#cfe0ee"
FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"'
Fmt = Callable[[float], str]


@dataclass
class Bar:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    faint: bool = False  # a small sample: drawn lighter, its label marked


@dataclass
class Point:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    faint: bool = False


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _default_fmt(x: float) -> str:
    return f"{x:.1f}"


def _ok(x: float | None) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _step(a: float, b: float, count: int = 5) -> float:
    raw = (b - a) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)


def _domain(values: Sequence[float | None], lo: float | None, hi: float | None) -> tuple[float, float]:
    """The axis: `lo`/`hi` where given, else the data's range (zero included) widened to whole ticks, so the
    band of an interval never runs past the last labelled line."""
    seen = [float(v) for v in values if _ok(v)]
    a = lo if lo is not None else min([0.0, *seen])
    b = hi if hi is not None else max([0.0, *seen])
    if b - a < 1e-9:
        b = a + 1.0
    step = _step(a, b)
    if lo is None:
        a = math.floor(a / step + 1e-9) * step
    if hi is None:
        b = math.ceil(b / step - 1e-9) * step
    return a, b


def _ticks(a: float, b: float) -> list[float]:
    step = _step(a, b)
    out, x = [], math.ceil(a / step - 1e-9) * step
    while x <= b + 1e-9:
        out.append(round(x, 10))
        x += step
    return out


def bars(items: Sequence[Bar], *, title: str, lo: float | None = None, hi: float | None = None,
         fmt: Fmt = _default_fmt, width: int = 680, label_width: int = 230) -> Markup:
    """Horizontal bars from zero (negative values to the left, in another colour) with the interval as a
    whisker; the value is written at the right. `lo`/`hi` fix the axis (NPS: -100..100), else it fits."""
    row, top, value_w = 22, 8, 70
    height = top + row * max(1, len(items)) + 22
    plot_x, plot_w = label_width, width - label_width - value_w
    a, b = _domain([v for it in items for v in (it.value, it.low, it.high)], lo, hi)

    def x(v: float) -> float:
        return plot_x + (min(max(v, a), b) - a) / (b - a) * plot_w

    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" {FONT} font-size="11"><title>{escape(title)}</title>']
    for t in _ticks(a, b):
        out.append(f'<line x1="{_num(x(t))}" y1="{top - 4}" x2="{_num(x(t))}" y2="{height - 18}" stroke="{GRID}"/>'
                   f'<text x="{_num(x(t))}" y="{height - 5}" text-anchor="middle" fill="{MUTED}">'
                   f'{escape(fmt(t))}</text>')
    zero = x(0.0) if a <= 0 <= b else x(a)
    out.append(f'<line x1="{_num(zero)}" y1="{top - 4}" x2="{_num(zero)}" y2="{height - 18}" stroke="{MUTED}"/>')
    for i, it in enumerate(items):
        y = top + i * row
        label = it.label if len(it.label) <= 34 else it.label[:33] + "…"
        out.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" fill="{INK}">'
                   f'{escape(label + (" *" if it.faint else ""))}</text>')
        if not _ok(it.value):
            out.append(f'<text x="{_num(plot_x + 4)}" y="{y + 15}" fill="{MUTED}">–</text>')
            continue
        v = float(it.value)  # type: ignore[arg-type]
        colour = FAINT if it.faint else (BAR if v >= 0 else BAR_NEG)
        x0, x1 = sorted((zero, x(v)))
        out.append(f'<rect x="{_num(x0)}" y="{y + 5}" width="{_num(max(x1 - x0, 1))}" height="12" fill="{colour}"/>')
        if _ok(it.low) and _ok(it.high):
            lx, hx, cy = x(float(it.low)), x(float(it.high)), y + 11  # type: ignore[arg-type]
            out.append(f'<path d="M{_num(lx)} {cy}H{_num(hx)}M{_num(lx)} {cy - 5}V{cy + 5}M{_num(hx)} {cy - 5}'
                       f'V{cy + 5}" stroke="{INK}" stroke-width="1.2" fill="none"/>')
        out.append(f'<text x="{width - 4}" y="{y + 15}" text-anchor="end" fill="{INK}">{escape(fmt(v))}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def line(points: Sequence[Point], *, title: str, lo: float | None = None, hi: float | None = None,
         fmt: Fmt = _default_fmt, width: int = 680, height: int = 230) -> Markup:
    """A line through the points over the band of their intervals; a small-sample point is hollow. The last
    point (the report's period) is drawn larger. A missing value breaks the line."""
    left, right, top, bottom = 46, 30, 10, 34
    pw, ph = width - left - right, height - top - bottom
    a, b = _domain([v for p in points for v in (p.value, p.low, p.high)], lo, hi)
    step = pw / max(1, len(points) - 1)

    def px(i: int) -> float:
        return left + (i * step if len(points) > 1 else pw / 2)

    def py(v: float) -> float:
        return top + (b - min(max(v, a), b)) / (b - a) * ph

    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" {FONT} font-size="11"><title>{escape(title)}</title>']
    for t in _ticks(a, b):
        out.append(f'<line x1="{left}" y1="{_num(py(t))}" x2="{width - right}" y2="{_num(py(t))}" stroke="{GRID}"/>'
                   f'<text x="{left - 5}" y="{_num(py(t) + 4)}" text-anchor="end" fill="{MUTED}">'
                   f'{escape(fmt(t))}</text>')
    banded = [(i, p) for i, p in enumerate(points) if _ok(p.low) and _ok(p.high)]
    if len(banded) > 1:
        upper = " ".join(f"{_num(px(i))},{_num(py(float(p.high)))}" for i, p in banded)  # type: ignore[arg-type]
        lower = " ".join(f"{_num(px(i))},{_num(py(float(p.low)))}" for i, p in reversed(banded))  # type: ignore[arg-type]
        out.append(f'<polygon points="{upper} {lower}" fill="{BAND}" stroke="none"/>')
    segment: list[str] = []
    for i, p in enumerate([*points, Point("", None)]):
        if _ok(p.value):
            segment.append(f"{_num(px(i))},{_num(py(float(p.value)))}")  # type: ignore[arg-type]
            continue
        if len(segment) > 1:
            out.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{BAR}" stroke-width="2"/>')
        segment = []
    every = max(1, math.ceil(len(points) / 12))
    for i, p in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            out.append(f'<text x="{_num(px(i))}" y="{height - 14}" text-anchor="middle" fill="{MUTED}">'
                       f'{escape(p.label)}</text>')
        if _ok(p.value):
            r = 5 if i == len(points) - 1 else 3.5
            fill = "#ffffff" if p.faint else BAR
            out.append(f'<circle cx="{_num(px(i))}" cy="{_num(py(float(p.value)))}" r="{r}" fill="{fill}" '  # type: ignore[arg-type]
                       f'stroke="{BAR}" stroke-width="1.5"/>')
    out.append("</svg>")
    return Markup("".join(out))
