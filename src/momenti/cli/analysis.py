"""Moments-of-truth analysis commands: momenti drivers, quadrant, penalty-reward, dissonance."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING

import typer

import momenti
from momenti.cli.metrics import BY, FILTER, FROM, PERIOD, TO
from momenti.cli.output import FMT, Format, console, print_frame
from momenti.core.args import parse_filters

if TYPE_CHECKING:
    import pandas as pd

OUTCOME = typer.Option("nps", "--outcome", help="Outcome question key (nps, or any numeric question)")
DRIVERS = typer.Option("touchpoint-ratings", "--drivers",
                       help="Comma list of question or touchpoint keys, or touchpoint-ratings (every rating_*)")
MISSING = typer.Option("pairwise", "--missing", help="listwise or pairwise deletion of missing ratings")
BOOT = typer.Option(1000, "--bootstrap", help="Bootstrap resamples for the intervals (0: none)")
SEED = typer.Option(0, "--seed", help="Seed of the bootstrap: the same seed gives the same intervals")


class Method(StrEnum):
    relative_weights = "relative_weights"
    shapley = "shapley"


class Part(StrEnum):
    both = "both"
    touchpoints = "touchpoints"
    models = "models"


METHOD = typer.Option(Method.relative_weights, "--method", help="relative_weights or shapley")


def _span(lo: object, hi: object, digits: int = 2) -> str:
    if lo is None or hi is None or lo != lo or hi != hi:  # noqa: PLR0124 - NaN check
        return "–"
    return f"{lo:.{digits}f}..{hi:.{digits}f}"  # type: ignore[str-format]


def _compact(df: pd.DataFrame, spans: dict[str, tuple[str, str]], drop: list[str]) -> pd.DataFrame:
    """A narrower table for the terminal: each interval as one "low..high" column, bookkeeping columns out."""
    out = df.copy()
    for name, (lo, hi) in spans.items():
        out.insert(list(out.columns).index(lo), name, [_span(a, b) for a, b in zip(out[lo], out[hi], strict=True)])
        out = out.drop(columns=[lo, hi])
    if "note" in out and (out["note"].fillna("") == "").all():
        drop = [*drop, "note"]
    return out.drop(columns=[c for c in drop if c in out])


def _meta(**kw: object) -> dict:
    return {k: v for k, v in kw.items() if v not in (None, "", [], {})}


def drivers(outcome: str = OUTCOME, drivers: str = DRIVERS, method: Method = METHOD, by: str = BY,
            period: str | None = PERIOD, filters: list[str] = FILTER, start: str | None = FROM,
            end: str | None = TO, missing: str = MISSING, bootstrap: int = BOOT, seed: int = SEED,
            fmt: Format = FMT) -> None:
    """Key drivers: each driver's share of R² (relative weights or Shapley), bootstrap 95 % interval, rank
    and rank stability, n; the missing-data policy is stated in every row."""
    with momenti.open() as ws:
        df = ws.drivers(outcome=outcome, drivers=drivers, method=method.value, by=by, period=period,
                        start=start, end=end, filters=parse_filters(filters), missing=missing,
                        bootstrap=bootstrap, seed=seed)
    meta = _meta(analysis="drivers", outcome=outcome, method=method.value, missing=missing, bootstrap=bootstrap,
                 seed=seed, by=by, period=period, filters=parse_filters(filters), start=start, end=end)
    if fmt is not Format.table:
        print_frame(df, fmt, title=None, meta=meta)
        return
    ok = df[df["note"].fillna("") == ""]
    shown = df.drop(columns=["question", "n_respondents", "r2", "method", "missing", "shrinkage", "n_boot"])
    if (shown["note"].fillna("") == "").all():
        shown = shown.drop(columns="note")
    print_frame(shown, fmt, title=f"Key drivers of {outcome}", meta=meta)
    if len(ok):
        console.print(_drivers_footer(ok, [c for c in df.columns if c not in set(_DRIVER_COLUMNS)], seed),
                      highlight=False)


_DRIVER_COLUMNS = ("driver", "question", "weight", "rescaled_pct", "ci_low", "ci_high", "rank", "rank_stability", "n",
                   "n_respondents", "r2", "method", "missing", "shrinkage", "n_boot", "small_sample", "note")


def _groups(df: pd.DataFrame, keys: list[str]) -> list[tuple[str, pd.Series]]:
    """("<group>: ", first row) per --by/--period group, or ("", first row) without groups."""
    if not keys:
        return [("", df.iloc[0])]
    return [(" ".join(str(k) for k in (key if isinstance(key, tuple) else (key,))) + ": ", g.iloc[0])
            for key, g in df.groupby(keys, sort=False, dropna=False)]


def _drivers_footer(ok: pd.DataFrame, keys: list[str], seed: int) -> str:
    """Method, deletion and resamples; R², n and the pairwise repair per group (the table leaves them out)."""
    parts = []
    for name, r in _groups(ok, keys):
        fix = f", shrunk {r.shrinkage:.3f} toward the identity to be positive definite" if r.shrinkage > 0 else ""
        parts.append(f"{name}R² {r.r2:.3f}, n {r.n_respondents}{fix}")
    r = ok.iloc[0]
    return (f"{r.method}, {r.missing} deletion, {r.n_boot} bootstrap resamples, seed {seed}; "
            + "; ".join(parts) + "; weight sums to R², rescaled_pct to 100.")


def _decimals(values: pd.Series, cut: float, least: int, most: int = 4) -> int:
    """Fewest decimals (least..most) that keep each value on its side of the cut, off the cut, and distinct
    values distinct: the quadrant is decided by these comparisons, so the printed numbers must show them."""
    v = values.dropna().to_numpy(float)
    for d in range(least, most + 1):
        r, rc = v.round(d), round(cut, d)
        if ((r >= rc) == (v >= cut)).all() and not ((r == rc) & (v != cut)).any() \
                and len(set(r)) == len(set(v.round(most + 2))):
            return d
    return most


def _quadrant_table(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The quadrant for the terminal, each number with the decimals its cut needs, and the footer."""
    import pandas as pd

    imp_cut, perf_cut = float(df["importance_cut"].iloc[0]), float(df["performance_cut"].iloc[0])
    di, dp = _decimals(df["importance"], imp_cut, 1), _decimals(df["performance"], perf_cut, 2)

    def num(values: pd.Series, d: int) -> list[str]:
        text = ["–" if x != x else f"{x:.{d}f}" for x in values]  # noqa: PLR0124 - NaN check
        width = max(map(len, text), default=0)
        return [t.rjust(width) for t in text]  # strings, so padded to read as a right-aligned column

    compact = pd.DataFrame({
        "touchpoint": df["driver"], "importance %": num(df["importance"], di),
        "imp. 95% CI": [_span(a, b, di) for a, b in zip(df["importance_ci_low"], df["importance_ci_high"],
                                                        strict=True)],
        "performance": num(df["performance"], dp),
        "perf. 95% CI": [_span(a, b, dp) for a, b in zip(df["performance_ci_low"], df["performance_ci_high"],
                                                         strict=True)],
        "n": df["performance_n"], "quadrant": df["quadrant"], "declared MoT": df["declared_mot"].fillna(False),
        "revealed MoT": df["revealed_mot"]})
    footer = (f"cuts: importance {imp_cut:.{di}f} % (mean), performance {perf_cut:.{dp}f} (mean of the "
              f"{df['performance_measure'].iloc[0]}s); revealed = importance above the cut.")
    return compact, footer


def quadrant(outcome: str = OUTCOME, drivers: str = DRIVERS, method: Method = METHOD,
             performance: str = typer.Option("rating", "--performance", help="rating (mean score) or the "
                                             "touchpoint's own nps, csat or ces"),
             filters: list[str] = FILTER, start: str | None = FROM, end: str | None = TO, missing: str = MISSING,
             bootstrap: int = typer.Option(200, "--bootstrap", help="Resamples for the importance interval"),
             seed: int = SEED, fmt: Format = FMT) -> None:
    """Moments-of-truth map: importance vs performance per touchpoint, the quadrant (cut at the means), and
    declared vs revealed moments of truth."""
    with momenti.open() as ws:
        df = ws.quadrant(outcome=outcome, drivers=drivers, method=method.value, performance=performance,
                         start=start, end=end, filters=parse_filters(filters), missing=missing,
                         bootstrap=bootstrap, seed=seed)
    meta = _meta(analysis="quadrant", outcome=outcome, method=method.value, performance=performance,
                 missing=missing, filters=parse_filters(filters), start=start, end=end)
    if fmt is not Format.table:
        print_frame(df, fmt, title=None, meta=meta)
        return

    compact, footer = _quadrant_table(df)
    print_frame(compact, fmt, title=f"Moments-of-truth quadrant ({outcome})", meta=meta)
    console.print(footer, highlight=False)


def penalty_reward(outcome: str = OUTCOME, drivers: str = DRIVERS,
                   low: float | None = typer.Option(None, "--low", help="Highest score of the low box "
                                                    "(default from the scale: 4 on 1-10, 2 on 1-5)"),
                   high: float | None = typer.Option(None, "--high", help="Lowest score of the high box "
                                                     "(default: 8 on 1-10, 4 on 1-5)"),
                   by: str = BY, period: str | None = PERIOD, filters: list[str] = FILTER,
                   start: str | None = FROM, end: str | None = TO,
                   missing: str = typer.Option("indicator", "--missing", help="indicator (a 'not rated' dummy "
                                               "per driver) or listwise"),
                   fmt: Format = FMT) -> None:
    """Penalty (low score) and reward (high score) per driver, impact asymmetry with interval, and the class:
    basic (dissatisfier), performance or excitement (delighter)."""
    with momenti.open() as ws:
        df = ws.penalty_reward(outcome=outcome, drivers=drivers, low=low, high=high, by=by, period=period,
                               start=start, end=end, filters=parse_filters(filters), missing=missing)
    meta = _meta(analysis="penalty-reward", outcome=outcome, missing=missing, filters=parse_filters(filters))
    if fmt is not Format.table:
        print_frame(df, fmt, title=None, meta=meta)
        return
    shown = _compact(df, {"penalty CI": ("penalty_ci_low", "penalty_ci_high"),
                          "reward CI": ("reward_ci_low", "reward_ci_high"), "IA CI": ("ia_ci_low", "ia_ci_high")},
                     ["question", "n_respondents", "r2", "low", "high", "missing", "note"])
    print_frame(shown, fmt, title=f"Penalty-reward on {outcome}", meta=meta)
    keys = [c for c in df.columns if c not in set(_PR_COLUMNS)]
    # Notes (a dropped not-rated dummy, an unexpected sign, a group too small) are sentences: under the table,
    # where they read whole, rather than wrapped into a narrow column.
    lines = []
    for _, r in df[df["note"].fillna("") != ""].iterrows():
        # A group too small to fit has one reason for all its drivers: said once.
        who = [str(r[k]) for k in keys] + ([] if r["n_respondents"] != r["n_respondents"] else [str(r.driver)])
        lines.append(f"note, {' '.join(who)}: {r.note}")
    for line in dict.fromkeys(lines):
        console.print(line, highlight=False, markup=False)
    ok = df[df["n_respondents"].notna()]  # a --by group too small to fit has only its note
    if not len(ok):
        return
    r = ok.iloc[0]
    n = ", ".join(f"{name}{int(g.n_respondents)}" for name, g in _groups(ok, keys))
    console.print(f"low box <= {r.low:g}, high box >= {r.high:g}; missing: {r.missing}; n {n}; "
                  "IA = (R - P) / (R + P) with R = max(reward, 0), P = max(-penalty, 0): basic <= -0.2 < "
                  "performance < 0.2 <= excitement", highlight=False)


_PR_COLUMNS = ("driver", "question", "penalty", "penalty_ci_low", "penalty_ci_high", "reward", "reward_ci_low",
               "reward_ci_high", "impact_asymmetry", "ia_ci_low", "ia_ci_high", "category", "n", "n_respondents",
               "r2", "low", "high", "missing", "small_sample", "note")


def dissonance(outcome: str = OUTCOME, drivers: str = DRIVERS,
               negative: float | None = typer.Option(None, "--negative", help="Highest score that counts as a "
                                                     "negative experience (default: the low box, 4 on 1-10)"),
               filters: list[str] = FILTER, start: str | None = FROM, end: str | None = TO,
               part: Part = typer.Option(Part.both, "--part", help="both, touchpoints or models"),
               fmt: Format = FMT) -> None:
    """One bad moment: per touchpoint, the outcome gap of a single negative experience there vs all-positive
    customers (controlling for touchpoints lived); and weakest link (min rating) vs average models."""
    from momenti.core.errors import InputError

    if fmt is Format.csv and part is Part.both:
        raise InputError("csv holds one table: choose --part touchpoints or --part models")
    f = parse_filters(filters)
    with momenti.open() as ws:
        tps = ws.dissonance(outcome=outcome, drivers=drivers, negative=negative, start=start, end=end,
                            filters=f) if part is not Part.models else None
        models = ws.weakest_link(outcome=outcome, drivers=drivers, start=start, end=end,
                                 filters=f) if part is not Part.touchpoints else None
    meta = _meta(analysis="dissonance", outcome=outcome, filters=f, start=start, end=end)
    if fmt is Format.json and tps is not None and models is not None:
        from momenti.core.frames import records

        doc = {**meta, "touchpoints": records(tps), "models": records(models)}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str, indent=1) + "\n")
        return
    if tps is not None:
        shown = _compact(tps, {"effect CI": ("ci_low", "ci_high")}, ["question", "specification", "negative_max",
                                                                      "mean_single_negative", "mean_all_positive"])
        print_frame(shown if fmt is Format.table else tps, fmt,
                    title=f"Dissonance: one negative moment vs all positive ({outcome} ~ single_negative + "
                          "C(lived), HC1)", meta=meta)
    if models is not None:
        shown = _compact(models, {"min CI": ("min_ci_low", "min_ci_high")}, ["formula", "adj_r2", "bic"])
        print_frame(shown if fmt is Format.table else models, fmt,
                    title="Weakest link vs average (each + touchpoints lived; F-test: does the min add to the mean?)",
                    meta=meta)


def register(app: typer.Typer) -> None:
    """Add this module's top-level commands to the `momenti` app."""
    app.command("drivers")(drivers)
    app.command("quadrant")(quadrant)
    app.command("penalty-reward")(penalty_reward)
    app.command("dissonance")(dissonance)
