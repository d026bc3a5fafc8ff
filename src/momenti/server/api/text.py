"""Text analytics: GET /api/v1/text/{topics,comments,trends} (the same questions as `momenti text ...`, as JSON
`{"query", "rows"}`) and POST /api/v1/text/analyze (token): analyse what is new. Comments are PII-masked."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from momenti.core.args import parse_filters
from momenti.core.errors import InputError
from momenti.core.frames import records
from momenti.server.api.metrics import From, Period, To
from momenti.server.deps import TokenDep, WorkspaceDep
from momenti.server.schemas import CommentsPublic, TextAnalyzePublic, TopicsPublic, TrendsPublic

router = APIRouter(prefix="/api/v1/text", tags=["text"])

Sentiment = Literal["negative", "neutral", "positive"]
By = Annotated[str, Query(description="Comma list of touchpoint, stage, journey, channel, source, kind, language, "
                                      "question, segment:<attribute>", examples=["touchpoint"])]
Filters = Annotated[list[str], Query(alias="filter", description="dimension:value[,value] (repeatable), e.g. "
                                     "kind:feedback or touchpoint:app-login")]


def _reply(body: dict) -> dict:
    return body


@router.get("/topics", response_model=TopicsPublic, response_model_exclude_unset=True,
            summary="Topic share of comments (Wilson interval) and net sentiment per group")
def topics(ws: WorkspaceDep, by: By = "", period: Period | None = None, start: From = None, end: To = None,
           filters: Filters = []) -> dict:  # noqa: B006
    """Per group x topic: `n_comments`, `n` (mentions), `share` % with `ci_low`/`ci_high`, positive / neutral /
    negative mentions, `net_sentiment` (-100..100) with `net_ci_low`/`net_ci_high`, `small_sample`."""
    f = parse_filters(filters)
    df = ws.topics(by=by, period=period, start=start, end=end, filters=f)
    return _reply({"query": {"by": by, "period": period, "from": start, "to": end, "filters": f},
                   "rows": records(df)})


@router.get("/comments", response_model=CommentsPublic, response_model_exclude_unset=True,
            summary="The newest comments with a topic and/or sentiment (masked text only)")
def comments(ws: WorkspaceDep, topic: str | None = None, sentiment: Sentiment | None = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 20, start: From = None, end: To = None,
             filters: Filters = []) -> dict:  # noqa: B006
    """Masked text only. Nothing is returned when fewer than MOMENTI_TEXT_MIN_GROUP comments match
    (`withheld: true`)."""
    f = parse_filters(filters)
    df = ws.comments(topic=topic, sentiment=sentiment, limit=limit, start=start, end=end, filters=f)
    return _reply({"query": {"topic": topic, "sentiment": sentiment, "limit": limit, "from": start, "to": end,
                             "filters": f},
                   "matched": df.attrs.get("matched", len(df)), "withheld": df.attrs.get("withheld", False),
                   "rows": records(df)})


@router.get("/trends", response_model=TrendsPublic, response_model_exclude_unset=True,
            summary="Emerging issues: topic share against the period before, with significance")
def trends(ws: WorkspaceDep, period: Period = "month", by: By = "", start: From = None, end: To = None,
           emerging: bool = False, filters: Filters = [],  # noqa: B006
           periods: Annotated[list[str], Query(description="Two periods A and B instead of period over period, "
                                               "e.g. periods=2026-01..2026-02&periods=2026-03..2026-04")] = [],  # noqa: B006
           ) -> dict:
    """Per group x topic x period (each against the period before, or B against A): `delta` in points with
    Newcombe `ci_low`/`ci_high`, `p_value`, `significant`, `q_value` (Benjamini-Hochberg), `emerging` (grew, q
    below 1 - confidence), `small_sample`."""
    if periods and len(periods) != 2:
        raise InputError("periods: give exactly two, A and B")
    f = parse_filters(filters)
    pair = (periods[0], periods[1]) if periods else None
    df = ws.text_trends(period=period, by=by, start=start, end=end, filters=f, emerging_only=emerging, periods=pair)
    return _reply({"query": {"period": None if pair else period, "periods": periods or None, "by": by,
                             "from": start, "to": end, "filters": f, "emerging": emerging}, "rows": records(df)})


@router.post("/analyze", response_model=TextAnalyzePublic, summary="Analyse new comments and feedback (incremental)")
def analyze(request: Request, ws: WorkspaceDep, token: TokenDep, rebuild: bool = False,
            limit: Annotated[int | None, Query(ge=1)] = None) -> dict:
    """Analyse every item not analysed yet (or by an older model/taxonomy); `rebuild`: all again. The results
    reach the warehouse with the next (debounced) sync. Items written to the server (API, survey pages, widget)
    are analysed on arrival by that sync already (MOMENTI_TEXT_AUTO): this is for `rebuild` and catching up."""
    with request.app.state.syncer.lock:  # not at the same time as the background sync's own analysis
        report = ws.text_analyze(limit=limit, rebuild=rebuild, sync=False)
    if report["total"]:
        request.app.state.syncer.touch()
    return _reply(report)
