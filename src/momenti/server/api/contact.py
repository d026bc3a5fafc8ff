"""Contact-centre KPIs: repeat contacts, FCR, handling time, complaint rate, channel switching.

GET /api/v1/contact/{fcr,repeats,aht,complaints,switching}: the same questions as `momenti contact ...`, as
JSON `{"kpi", "query", "rows"}`; every row has `n`, `ci_low`, `ci_high` and `small_sample`. The same routes
answer under /api/v1/journeys/..., where they were first served, for existing clients (not in /docs).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from momenti.core.args import Day, parse_filters
from momenti.core.frames import records
from momenti.server.api.aliases import served_under
from momenti.server.api.metrics import Period
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas import AhtPublic, ComplaintsPublic, FcrPublic, RepeatsPublic, SwitchingPublic

_routes = APIRouter(tags=["contact"])

By = Annotated[str, Query(description="Comma list of reason, channel, agent, touchpoint, segment:<attribute>",
                          examples=["reason"])]
Days = Annotated[int, Query(ge=1, le=3650, description="Window N in days")]
Filters = Annotated[list[str], Query(alias="filter", description="dimension:value[,value] (repeatable), e.g. "
                                     "reason:carta bloccata or segment:segment:young")]
From = Annotated[Day | None, Query(alias="from", description="First day of the contacts judged, inclusive")]
To = Annotated[Day | None, Query(alias="to", description="Last day of the contacts judged, inclusive")]
Unit = Literal["customers", "contacts"]


def _reply(kpi: str, rows: object, by: str, period: str | None, start: dt.date | None, end: dt.date | None,
           filters: dict, **more: object) -> dict:
    query = {"by": [b.strip() for b in by.split(",") if b.strip()], "period": period, "from": start, "to": end,
             "filters": filters, **more}
    return {"kpi": kpi, "query": query, "rows": rows}


@_routes.get("/fcr", response_model=FcrPublic, response_model_exclude_unset=True,
             summary="First-contact resolution % per group, with interval, n and censored")
def fcr(ws: WorkspaceDep, by: By = "", period: Period | None = None, days: Days = 7, start: From = None,
        end: To = None, filters: Filters = []) -> dict:  # noqa: B006
    """FCR = 100 - repeat rate: contacts (cases with a reason) not followed by a same-reason contact of the
    customer within `days`; contacts younger than `days` before the log's end are `censored`, not in `n`."""
    f = parse_filters(filters)
    df = ws.fcr(days=days, by=by, period=period, start=start, end=end, filters=f)
    return _reply("fcr", records(df), by, period, start, end, f, days=days)


@_routes.get("/repeats", response_model=RepeatsPublic, response_model_exclude_unset=True,
             summary="Repeat-contact rate % per group, with interval, n and censored")
def repeats(ws: WorkspaceDep, by: By = "", period: Period | None = None, days: Days = 7, start: From = None,
            end: To = None, filters: Filters = []) -> dict:  # noqa: B006
    """Same customer, same reason, again within `days` (any channel); `repeat_rate` with a Wilson interval."""
    f = parse_filters(filters)
    df = ws.repeat_contacts(days=days, by=by, period=period, start=start, end=end, filters=f)
    return _reply("repeats", records(df), by, period, start, end, f, days=days)


@_routes.get("/aht", response_model=AhtPublic, response_model_exclude_unset=True,
             summary="Handling time (s): mean with interval, median, p90")
def aht(ws: WorkspaceDep,
        by: Annotated[str, Query(description="Comma list of reason, channel, agent, touchpoint, activity (per "
                                             "event), segment:<attribute>")] = "",
        period: Period | None = None, per: Literal["event", "contact"] = "event", start: From = None,
        end: To = None, filters: Filters = []) -> dict:  # noqa: B006
    """From `duration_s`: per timed event, or per contact (the sum of its timed events)."""
    f = parse_filters(filters)
    df = ws.handling_time(by=by, period=period, per=per, start=start, end=end, filters=f)
    return _reply("aht", records(df), by, period, start, end, f, per=per)


@_routes.get("/complaints", response_model=ComplaintsPublic, response_model_exclude_unset=True,
             summary="Complaint rate % per group, with interval")
def complaints(ws: WorkspaceDep, by: By = "", period: Period | None = None, unit: Unit = "contacts",
               touchpoint: Annotated[list[str], Query(description="Complaint touchpoints (default: keys "
                                                      "containing 'complaint' or 'reclam')")] = [],  # noqa: B006
               activity: Annotated[list[str], Query(description="Complaint activities")] = [],  # noqa: B006
               start: From = None, end: To = None, filters: Filters = []) -> dict:  # noqa: B006
    """`unit=contacts`: complaint cases / contacts; `unit=customers`: customers with a complaint case /
    customers with any case, in the group."""
    f = parse_filters(filters)
    df = ws.complaint_rate(by=by, period=period, unit=unit, touchpoints=touchpoint or None,
                           activities=activity or None, start=start, end=end, filters=f)
    return _reply("complaints", records(df), by, period, start, end, f, unit=unit)


@_routes.get("/switching", response_model=SwitchingPublic, response_model_exclude_unset=True,
             summary="Channel switching % within N days (a from x to table), with interval")
def switching(ws: WorkspaceDep, from_channel: str | None = None,
              to_channel: Annotated[str | None, Query(description="Later channel; '*' any other; none: every "
                                                      "channel")] = None,
              days: Days = 7, by: By = "", period: Period | None = None, unit: Unit = "customers",
              same_reason: bool = False, start: From = None, end: To = None,
              filters: Filters = []) -> dict:  # noqa: B006
    """Share of customers (or interactions) starting in `from_channel` who start another interaction in
    `to_channel` within `days`; one row per (from, to) pair."""
    f = parse_filters(filters)
    df = ws.channel_switching(from_channel, to_channel, days=days, by=by, period=period, unit=unit,
                              same_reason=same_reason, start=start, end=end, filters=f)
    return _reply("switching", records(df), by, period, start, end, f, days=days, unit=unit,
                  from_channel=from_channel, to_channel=to_channel, same_reason=same_reason)


# The first home of these routes is kept so that existing clients keep working; /docs shows only the new names.
router = served_under(_routes, "/api/v1/contact", alias="/api/v1/journeys")
