"""momenti paths: process analytics on the interaction log (dfg, activities, variants, funnel, loyalty).

(The journey *map*, the touchpoints a customer lives, is `momenti journey`.)"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

import momenti
from momenti.cli.output import FMT, Format, console, print_frame

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(help="Paths through the interaction log: directly-follows graph, variants, funnels, journey x "
                       "loyalty.",
                  no_args_is_help=True)

CASE = typer.Option("case_id", "--case", help="What a journey is: case_id (the log's cases) or customer")
GAP = typer.Option(None, "--gap", help="With --case customer: a new journey after this much silence, e.g. 30d")
START_ACT = typer.Option(None, "--start-activity", help="Bounded journeys: from this activity...")
END_ACT = typer.Option(None, "--end-activity", help="...to the first following occurrence of this one")
FROM = typer.Option(None, "--from", help="Journeys starting on or after this day (YYYY-MM-DD)")
TO = typer.Option(None, "--to", help="Journeys starting on or before this day (YYYY-MM-DD)")
FILTER = typer.Option([], "--filter", help="channel=, touchpoint=, activity= or segment:<attr>= value[,value] "
                                           "(repeatable): journeys with such an event / of such customers")
COVERAGE = typer.Option(None, "--coverage", help="Only the top variants covering this fraction of journeys, "
                                                 "e.g. 0.8")
ARROW = " → "


def _selection(case: str, gap: str | None, start_activity: str | None, end_activity: str | None,
               start: str | None, end: str | None, filters: list[str], coverage: float | None) -> dict[str, Any]:
    from momenti.core.args import parse_filters

    return {"case": case, "gap": gap, "start_activity": start_activity, "end_activity": end_activity,
            "start": start, "end": end, "filters": parse_filters(filters), "coverage": coverage}


def _meta(sel: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"journeys": {k: v for k, v in sel.items() if v not in (None, {}, [])}, **extra}


def _flat_variants(df: pd.DataFrame, fmt: Format) -> pd.DataFrame:
    """Variants as lists in JSON, as "a → b → c" in a table or CSV."""
    if fmt is Format.json or "variant" not in df:
        return df
    return df.assign(variant=[ARROW.join(v) for v in df["variant"]])


@app.command()
def dfg(case: str = CASE, gap: str | None = GAP, start_activity: str | None = START_ACT,
        end_activity: str | None = END_ACT, start: str | None = FROM, end: str | None = TO,
        filters: list[str] = FILTER, coverage: float | None = COVERAGE, fmt: Format = FMT,
        svg: Path | None = typer.Option(None, "--svg", help="Also write the graph as SVG (needs Graphviz)"),
        dot: Path | None = typer.Option(None, "--dot", help="Also write the graph as Graphviz DOT"),
        metric: str = typer.Option("count", "--metric", help="Graph edge labels: count, mean, median or p90"),
        min_count: int = typer.Option(1, "--min-count", help="Graph: leave out pairs seen fewer times"),
        limit: int = typer.Option(0, "--limit", help="Print only the most frequent pairs (0: all)")) -> None:
    """Directly-follows graph: pair counts and the time between the two activities (mean, median, p90, s)."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    with momenti.open() as ws:
        parts = ws.journey_map(variants=False, **sel)
        if dot:
            dot.write_text(ws.journey_graph("dot", metric=metric, min_count=min_count, parts=parts), encoding="utf-8")
        if svg:
            svg.write_bytes(ws.journey_graph("svg", metric=metric, min_count=min_count, parts=parts))
    df = parts["dfg"]
    print_frame(df.head(limit) if limit else df, fmt, title="Directly-follows pairs", meta=_meta(sel))
    if fmt is Format.table:  # JSON and CSV stay machine-readable
        for path in (p for p in (dot, svg) if p):
            console.print(f"graph written to {path}", highlight=False)


@app.command()
def activities(case: str = CASE, gap: str | None = GAP, start_activity: str | None = START_ACT,
               end_activity: str | None = END_ACT, start: str | None = FROM, end: str | None = TO,
               filters: list[str] = FILTER, coverage: float | None = COVERAGE, fmt: Format = FMT,
               which: str = typer.Option("all", "--which", help="all (events per activity), start or end "
                                                                "(journeys starting / ending with it)")) -> None:
    """Activities with their counts: every event, or the first / last activity of each journey."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    methods = {"all": "activities", "start": "start_activities", "end": "end_activities"}
    if which not in methods:
        from momenti.core.errors import InputError

        raise InputError(f"--which {which!r}: choose all, start or end")
    with momenti.open() as ws:
        df = getattr(ws, methods[which])(**sel)
    print_frame(df, fmt, title={"all": "Activities", "start": "Start activities", "end": "End activities"}[which],
                meta=_meta(sel, which=which))


@app.command()
def variants(case: str = CASE, gap: str | None = GAP, start_activity: str | None = START_ACT,
             end_activity: str | None = END_ACT, start: str | None = FROM, end: str | None = TO,
             filters: list[str] = FILTER, coverage: float | None = COVERAGE, fmt: Format = FMT,
             top: int = typer.Option(20, "--top", help="How many variants to print (0: all)")) -> None:
    """Variants (distinct activity sequences): count, share and cumulative share (%), median duration (s).
    Rank 1 is the happy path; the others are deviations from it."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    with momenti.open() as ws:
        df = ws.variants(top=top or None, **sel)
    print_frame(_flat_variants(df, fmt), fmt, title="Variants", meta=_meta(sel))


@app.command()
def funnel(steps: str = typer.Argument(..., help="Comma list of activities or touchpoint keys, in order"),
           mode: str = typer.Option("eventually", "--mode", help="eventually (any events in between) or directly "
                                                                   "(each step right after the previous)"),
           by: str = typer.Option("", "--by", help="Comma list of segment:<attr>"),
           period: str | None = typer.Option(None, "--period", help="day, week, month, quarter or year (when "
                                                                      "the journey entered the funnel)"),
           case: str = CASE, gap: str | None = GAP, start_activity: str | None = START_ACT,
           end_activity: str | None = END_ACT, start: str | None = FROM, end: str | None = TO,
           filters: list[str] = FILTER, coverage: float | None = COVERAGE, fmt: Format = FMT) -> None:
    """Conversion and drop-off through ordered steps, with Wilson 95 % intervals and the median time between
    steps."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    with momenti.open() as ws:
        df = ws.funnel(steps, mode=mode, by=by or None, period=period, **sel)
    print_frame(df, fmt, title=f"Funnel ({mode})", meta=_meta(sel, steps=steps.split(","), mode=mode))


@app.command()
def instances(case: str = CASE, gap: str | None = GAP, start_activity: str | None = START_ACT,
              end_activity: str | None = END_ACT, start: str | None = FROM, end: str | None = TO,
              filters: list[str] = FILTER, coverage: float | None = COVERAGE, fmt: Format = FMT,
              limit: int = typer.Option(50, "--limit", help="How many journeys to print (0: all)")) -> None:
    """Journey instances: one row per journey (case), with its customer, start, end, length and path."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    with momenti.open() as ws:
        df = ws.journey_instances(limit=limit or None, **sel)
    print_frame(_flat_variants(df, fmt), fmt, title="Journeys", meta=_meta(sel))


@app.command()
def loyalty(by: str = typer.Option("variant", "--by", help="variant (NPS per path), activity (steps that "
                                                           "precede detractors: lift), repeats or switches "
                                                           "(repeated contacts / channel switches lived before)"),
            question: str = typer.Option("nps", "--question", help="The 0-10 answer key"),
            within: str = typer.Option("30d", "--within", help="Answer at most this long after the journey"),
            top: int = typer.Option(20, "--top", help="Rows to print (0: all)"),
            case: str = CASE, gap: str | None = GAP, start_activity: str | None = START_ACT,
            end_activity: str | None = END_ACT, start: str | None = FROM, end: str | None = TO,
            filters: list[str] = FILTER, coverage: float | None = COVERAGE, fmt: Format = FMT) -> None:
    """Journey x loyalty: NPS by the journey lived before answering, or which steps precede detractors."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    with momenti.open() as ws:
        df = ws.journey_loyalty(by=by, question=question, within=within, top=top or None, **sel)
    print_frame(_flat_variants(df, fmt), fmt, title=f"{question.upper()} by {by}",
                meta=_meta(sel, by=by, question=question, within=within))

