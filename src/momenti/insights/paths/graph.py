"""The directly-follows graph as a picture: Graphviz DOT text, rendered to SVG by the `dot` program.

The DOT is written here (no Python graphviz package); rendering runs `dot -Tsvg` as a subprocess, so Graphviz
must be installed (Debian: `apt-get install graphviz`; `.ci/run` installs it). Without it, DOT still works and
SVG raises GraphvizMissing with that advice.
"""

from __future__ import annotations

import math
import shutil
import subprocess

import pandas as pd

from momenti.core.errors import InputError, MomentiError

METRICS = {"count": None, "mean": "mean_s", "median": "median_s", "p90": "p90_s"}


class GraphvizMissing(MomentiError):
    """The `dot` program is not installed: DOT output works, SVG needs Graphviz."""

    status_code = 503


def _q(text: object) -> str:
    """A DOT double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def human_seconds(s: float) -> str:
    if s != s:  # NaN
        return "–"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s / size:.1f}{unit}"
    return f"{s:.0f}s"


def dfg_dot(dfg: pd.DataFrame, activities: pd.DataFrame, start: pd.DataFrame, end: pd.DataFrame,
            metric: str = "count", min_count: int = 1, title: str | None = None) -> str:
    """DOT text of a DFG: activity boxes (with their event counts), edges labelled with the pair count or a
    time (metric mean/median/p90), a start circle feeding the start activities and an end circle fed by the
    end activities. Edge width grows with the log of the count. Pairs, activities and start/end arrows below
    `min_count` are left out."""
    if metric not in METRICS:
        raise InputError(f"graph metric {metric!r}: choose one of {', '.join(METRICS)}")
    edges = dfg[dfg["count"] >= min_count]
    activities, start, end = (t[t["count"] >= min_count] for t in (activities, start, end))
    top = max([1, *edges["count"].tolist(), *start["count"].tolist(), *end["count"].tolist()])
    ids = {a: f"a{i}" for i, a in enumerate(activities["activity"])}

    def width(n: float) -> str:
        return f"{1 + 4 * math.log1p(n) / math.log1p(top):.2f}"

    lines = ["digraph dfg {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
             'fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9, color="#4a5a78"];']
    if title:
        lines.append(f"  labelloc=t; label={_q(title)};")
    lines.append('  "__start" [shape=circle, label="", width=0.3, style=filled, fillcolor="#3c9a5f"];')
    lines.append('  "__end" [shape=doublecircle, label="", width=0.25, style=filled, fillcolor="#c0504d"];')
    for a, n in zip(activities["activity"], activities["count"], strict=True):
        label = _q(f"{a}\n{n:,}")
        lines.append(f"  {ids[a]} [label={label}];")
    for a, n in zip(start["activity"], start["count"], strict=True):
        if a in ids:
            lines.append(f'  "__start" -> {ids[a]} [label={_q(f"{n:,}")}, penwidth={width(n)}, style=dashed];')
    col = METRICS[metric]
    for row in edges.itertuples(index=False):
        if row.source not in ids or row.target not in ids:
            continue
        label = f"{row.count:,}" if col is None else human_seconds(float(getattr(row, col)))
        lines.append(f"  {ids[row.source]} -> {ids[row.target]} [label={_q(label)}, penwidth={width(row.count)}];")
    for a, n in zip(end["activity"], end["count"], strict=True):
        if a in ids:
            lines.append(f'  {ids[a]} -> "__end" [label={_q(f"{n:,}")}, penwidth={width(n)}, style=dashed];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str, timeout_s: float = 60.0) -> bytes:
    """SVG bytes of DOT text, via Graphviz `dot -Tsvg`."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing("SVG needs Graphviz's `dot` program, which is not installed "
                              "(Debian/Ubuntu: apt-get install graphviz); --dot / format=dot works without it")
    try:
        done = subprocess.run([exe, "-Tsvg"], input=dot.encode(), capture_output=True, timeout=timeout_s,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise MomentiError(f"Graphviz took longer than {timeout_s:.0f}s; show fewer edges (min_count, "
                           "coverage)") from exc
    if done.returncode != 0:
        raise MomentiError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()[:500]}")
    return done.stdout
