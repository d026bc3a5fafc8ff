"""Paths through the interaction log (process mining): GET /api/v1/paths/dfg, /dfg.svg, /activities, /variants,
/funnel, /instances, /loyalty, the same questions as `momenti paths ...`.

The same routes answer under /api/v1/journeys/..., where they were first served, for existing clients (not in
/docs): that prefix names the journey *map* (GET /api/v1/journeys, meta.py), a different thing."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from momenti.core.args import Day, parse_filters
from momenti.core.frames import records
from momenti.server.api.aliases import served_under
from momenti.server.api.metrics import Period
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas import (
    ActivitiesPublic,
    DfgPublic,
    FunnelPublic,
    InstancesPublic,
    PathLoyaltyPublic,
    VariantsPublic,
)

_routes = APIRouter(tags=["paths"])

Case = Annotated[Literal["case_id", "customer"], Query(description="A journey is the log's case_id or the "
                                                                  "customer's events")]
Gap = Annotated[str | None, Query(description="With case=customer: a new journey after this much silence "
                                              "(30d, 12h, 90m)", examples=["30d"])]
StartAct = Annotated[str | None, Query(description="Bounded journeys: from this activity...")]
EndAct = Annotated[str | None, Query(description="...to the first following occurrence of this one")]
From = Annotated[Day | None, Query(alias="from", description="Journeys starting on or after this day")]
To = Annotated[Day | None, Query(alias="to", description="Journeys starting on or before this day")]
Filters = Annotated[list[str], Query(alias="filter", description="channel:, touchpoint:, activity: or "
                                     "segment:<attr>: value[,value] (repeatable), e.g. channel:app or "
                                     "segment:segment:young")]
Coverage = Annotated[float | None, Query(gt=0, le=1, description="Top variants covering this fraction of "
                                                                 "journeys")]
GraphFormat = Literal["json", "dot", "svg"]
GraphMetric = Literal["count", "mean", "median", "p90"]


def _selection(case: str, gap: str | None, start_activity: str | None, end_activity: str | None,
               start: dt.date | None, end: dt.date | None, filters: list[str],
               coverage: float | None) -> dict[str, Any]:
    return {"case": case, "gap": gap, "start_activity": start_activity, "end_activity": end_activity,
            "start": start, "end": end, "filters": parse_filters(filters), "coverage": coverage}


def _json(sel: dict[str, Any], rows: list[dict], **extra: Any) -> dict[str, Any]:
    query = {("from" if k == "start" else "to" if k == "end" else k): v for k, v in sel.items()}
    return {"query": {**query, **extra}, "rows": rows}


def _graph(ws: WorkspaceDep, sel: dict[str, Any], fmt: str, metric: str, min_count: int) -> Response:
    media = "text/vnd.graphviz; charset=utf-8" if fmt == "dot" else "image/svg+xml"
    return Response(ws.journey_graph(fmt, metric=metric, min_count=min_count, **sel), media_type=media)


@_routes.get("/dfg", response_model=DfgPublic, response_model_exclude_unset=True,
             summary="Directly-follows graph: pair counts and times (JSON, DOT or SVG)",
             responses={200: {"content": {"text/vnd.graphviz": {}, "image/svg+xml": {}}}})
def dfg(ws: WorkspaceDep, case: Case = "case_id", gap: Gap = None, start_activity: StartAct = None,
        end_activity: EndAct = None, start: From = None, end: To = None,
        filters: Filters = [], coverage: Coverage = None,  # noqa: B006
        format: GraphFormat = "json", metric: GraphMetric = "count",  # noqa: A002
        min_count: Annotated[int, Query(ge=1, description="Graph: leave out rarer pairs")] = 1) -> Any:
    """Rows: source, target, count, mean_s, median_s, p90_s (seconds between the two activities). With
    format=dot or format=svg: the graph itself (edges labelled by `metric`), SVG rendered by Graphviz."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    if format != "json":
        return _graph(ws, sel, format, metric, min_count)
    return _json(sel, records(ws.dfg(**sel)))


@_routes.get("/dfg.svg", summary="The directly-follows graph as SVG", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def dfg_svg(ws: WorkspaceDep, case: Case = "case_id", gap: Gap = None, start_activity: StartAct = None,
            end_activity: EndAct = None, start: From = None, end: To = None,
            filters: Filters = [], coverage: Coverage = None,  # noqa: B006
            metric: GraphMetric = "count", min_count: Annotated[int, Query(ge=1)] = 1) -> Response:
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    return _graph(ws, sel, "svg", metric, min_count)


@_routes.get("/activities", response_model=ActivitiesPublic, response_model_exclude_unset=True,
             summary="Activities with counts (all events, or journeys' start / end)")
def activities(ws: WorkspaceDep, which: Literal["all", "start", "end"] = "all", case: Case = "case_id",
               gap: Gap = None, start_activity: StartAct = None, end_activity: EndAct = None,
               start: From = None, end: To = None, filters: Filters = [],  # noqa: B006
               coverage: Coverage = None) -> dict:
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    method = {"all": ws.activities, "start": ws.start_activities, "end": ws.end_activities}[which]
    return _json(sel, records(method(**sel)), which=which)


@_routes.get("/variants", response_model=VariantsPublic, response_model_exclude_unset=True,
             summary="Variants: count, share, cumulative share, median duration")
def variants(ws: WorkspaceDep, top: Annotated[int | None, Query(ge=1)] = None, case: Case = "case_id",
             gap: Gap = None, start_activity: StartAct = None, end_activity: EndAct = None,
             start: From = None, end: To = None, filters: Filters = [],  # noqa: B006
             coverage: Coverage = None) -> dict:
    """Rows: rank, variant (list of activities), length, count, share and cum_share (%), median_duration_s,
    happy_path (rank 1)."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    return _json(sel, records(ws.variants(top=top, **sel)))


@_routes.get("/funnel", response_model=FunnelPublic, response_model_exclude_unset=True,
             summary="Conversion and drop-off through ordered steps, with intervals")
def funnel(ws: WorkspaceDep,
           steps: Annotated[str, Query(description="Comma list of activities or touchpoint keys, in order",
                                       examples=["login app,bonifico,logout"])],
           mode: Literal["eventually", "directly"] = "eventually",
           by: Annotated[str, Query(description="Comma list of segment:<attr>")] = "",
           period: Period | None = None,
           case: Case = "case_id", gap: Gap = None, start_activity: StartAct = None, end_activity: EndAct = None,
           start: From = None, end: To = None, filters: Filters = [],  # noqa: B006
           coverage: Coverage = None) -> dict:
    """Per step: n, conversion_pct from the previous step and overall_pct from step 1 (Wilson intervals),
    dropoff, median_s from the previous step, small_sample. mode=eventually: later in the journey;
    mode=directly: the very next event."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    df = ws.funnel(steps, mode=mode, by=by or None, period=period, **sel)
    return _json(sel, records(df), steps=[s.strip() for s in steps.split(",") if s.strip()], mode=mode)


@_routes.get("/instances", response_model=InstancesPublic, response_model_exclude_unset=True,
             summary="Journey instances: one row per journey")
def instances(ws: WorkspaceDep, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000, case: Case = "case_id",
              gap: Gap = None, start_activity: StartAct = None, end_activity: EndAct = None,
              start: From = None, end: To = None, filters: Filters = [],  # noqa: B006
              coverage: Coverage = None) -> dict:
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    return _json(sel, records(ws.journey_instances(limit=limit, **sel)))


@_routes.get("/loyalty", response_model=PathLoyaltyPublic, response_model_exclude_unset=True,
             summary="Journey x loyalty: NPS by variant, or steps that precede detractors")
def loyalty(ws: WorkspaceDep, by: Literal["variant", "activity", "repeats", "switches"] = "variant",
            question: str = "nps",
            within: str = "30d", top: Annotated[int | None, Query(ge=1)] = 20, case: Case = "case_id",
            gap: Gap = None, start_activity: StartAct = None, end_activity: EndAct = None,
            start: From = None, end: To = None, filters: Filters = [],  # noqa: B006
            coverage: Coverage = None) -> dict:
    """Each answer joined to the journey its customer lived last, ended at most `within` before it."""
    sel = _selection(case, gap, start_activity, end_activity, start, end, filters, coverage)
    df = ws.journey_loyalty(by=by, question=question, within=within, top=top, **sel)
    return _json(sel, records(df), by=by, question=question, within=within)


# The first home of these routes is kept so that existing clients keep working; /docs shows only the new names.
router = served_under(_routes, "/api/v1/paths", alias="/api/v1/journeys")
