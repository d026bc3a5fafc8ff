"""POST /api/v1/query: any registered insight by its kind ({"kind": "nps", "by": "touchpoint", ...}), as JSON or
CSV; GET /api/v1/query/kinds: the kinds and their parameters. A read route like the GET analysis routes: open to
every caller the server answers (no token), the body capped at MOMENTI_API_MAX_BODY_BYTES."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from momenti.core.frames import csv_text, json_document
from momenti.insights.query import QueryError, kinds_schema, parse
from momenti.server.deps import JsonBody, WorkspaceDep
from momenti.server.records import BodyError

router = APIRouter(prefix="/api/v1/query", tags=["query"])

BODY_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "required": ["kind"], "additionalProperties": True,
               "properties": {"kind": {"type": "string", "description": "See GET /api/v1/query/kinds"}}},
    "example": {"kind": "nps", "by": ["touchpoint"], "period": "month"}}}}}


@router.post("", summary="Answer any insight by its kind", openapi_extra=BODY_DOC,
             responses={422: {"description": "Unknown kind or parameter (`loc` names it)"}})
def run_query(ws: WorkspaceDep, payload: JsonBody,
              format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",  # noqa: A002
              ) -> Response:
    """The body names the insight (`kind`) and its parameters; the answer is `{"kind", "parameters", "n",
    "intervals", "flags", "rows"}` (plus the insight's own metadata, e.g. the loyalty bank's `trend`), or the rows
    as CSV. Answered from the result cache while the warehouse has not changed."""
    try:
        q = parse(payload)
    except QueryError as exc:
        raise BodyError([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]) from None
    df = ws.run(q)
    if format == "csv":
        return Response(csv_text(df), media_type="text/csv; charset=utf-8")
    meta = {**df.attrs.get("query", {}), **{k: v for k, v in df.attrs.items() if k != "query"}}
    return JSONResponse(jsonable_encoder(json_document(df, meta)))


@router.get("/kinds", summary="The query kinds and their parameters")
def kinds() -> JSONResponse:
    return JSONResponse(kinds_schema())
