"""Kaplan-Meier curves as a picture (PNG or SVG) for reports: step curves with their confidence bands, the
log-rank p-value in the title and the number at risk under the axis, per group."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from momenti.insights.retention.survival import at_risk_at, p_text

FORMATS = ("png", "svg")
# A palette readable in print and by colour-blind readers (Okabe-Ito).
COLOURS = ("#D55E00", "#E69F00", "#009E73", "#0072B2", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def km_figure(curves: pd.DataFrame, summary: pd.DataFrame | None = None, fmt: str = "svg",
              title: str | None = None, frame: pd.DataFrame | None = None) -> bytes:
    """The curves of `retention.km_curves` drawn as `fmt` (png or svg) bytes. ``frame``: the customers the
    curves come from (retention_data.customer_frame), for the number at risk under the axis; without it the
    table is left out, as the curves alone cannot give the number at risk between churn times."""
    if fmt not in FORMATS:
        raise ValueError(f"plot format must be png or svg, not {fmt!r}")
    # The object API with the Agg canvas: no pyplot global state (the server draws from several threads).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = list(dict.fromkeys(curves["group"]))
    fig = Figure(figsize=(8, 4.8 + 0.25 * len(groups)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    last = float(curves["time"].max()) if len(curves) else 1.0
    for i, g in enumerate(groups):
        c = curves[curves["group"] == g]
        colour = COLOURS[i % len(COLOURS)]
        t = np.append(c["time"].to_numpy(float), last)
        s = np.append(c["survival"].to_numpy(float), c["survival"].iloc[-1])
        lo = np.append(c["ci_low"].to_numpy(float), c["ci_low"].iloc[-1])
        hi = np.append(c["ci_high"].to_numpy(float), c["ci_high"].iloc[-1])
        label = g
        if summary is not None and g in set(summary["group"]):
            row = summary[summary["group"] == g].iloc[0]
            label = f"{g} (n={int(row['n']):,}, churned {int(row['events']):,})"
        ax.step(t, s, where="post", color=colour, label=label, linewidth=1.8)
        ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0)
    ax.set_xlim(0, last)
    ax.set_ylim(max(0.0, float(curves["ci_low"].min()) - 0.02) if len(curves) else 0, 1.005)
    ax.set_xlabel("days")
    ax.set_ylabel("share of customers still active")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    head = title or "Kaplan-Meier retention"
    if summary is not None and len(summary) and summary["p_value"].notna().any():
        r = summary.iloc[0]
        head += f" — log-rank {p_text(float(r['p_value']), float(r['chi2']), int(r['df']))}"
    ax.set_title(head, fontsize=10)
    if frame is not None:
        _at_risk(ax, frame, groups, last)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=120 if fmt == "png" else None, metadata=_metadata(fmt), bbox_inches="tight")
    return buf.getvalue()


def _metadata(fmt: str) -> dict:
    # No creation date in the file: the same data gives the same bytes (reports can be diffed and cached).
    return {"Date": None} if fmt == "svg" else {}


def _at_risk(ax, frame: pd.DataFrame, groups: list[str], last: float) -> None:  # noqa: ANN001 - an Axes
    """The number at risk at each x tick, one line per group, under the axis (as survival papers print it)."""
    ticks = [t for t in ax.get_xticks() if 0 <= t <= last]
    counts = at_risk_at(frame, ticks)
    lines = [f"{g[:14]:>14}  " + "  ".join(f"{int(n):>6,}" for n in counts[g]) for g in groups if g in counts]
    header = f"{'at risk':>14}  " + "  ".join(f"{t:>6.0f}" for t in ticks)
    ax.text(0.0, -0.16, "\n".join([header, *lines]), transform=ax.transAxes, fontsize=7, family="monospace",
            va="top")
