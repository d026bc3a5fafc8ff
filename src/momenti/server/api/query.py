"""POST /api/v1/query: any registered insight by its kind ({"kind": "nps", "by": "touchpoint", ...}), as JSON or
CSV; GET /api/v1/query/kinds: the kinds and their parameters. A read route like the GET analysis routes (a read
token or a session); a kind answering with comments or customer rows needs that permission too
(server/route_permissions.py KIND_PERMISSIONS). The body is capped at MOMENTI_API_MAX_BODY_BYTES."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from momenti.core.frames import csv_text, json_document
from momenti.insights.query import QueryError, kinds_schema, parse
from momenti.server.auth import require
from momenti.server.deps import JsonBody, WorkspaceDep
from momenti.server.records import BodyError
from momenti.server.route_permissions import KIND_PERMISSIONS
from momenti.server.schemas.query import QueryAnswerPublic, QueryKindPublic

router = APIRouter(prefix="/api/v1/query", tags=["query"])

BODY_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "required": ["kind"], "additionalProperties": True,
               "properties": {"kind": {"type": "string", "description": "See GET /api/v1/query/kinds"}}},
    "example": {"kind": "nps", "by": ["touchpoint"], "period": "month"}}}}}


@router.post("", summary="Answer any insight by its kind", openapi_extra=BODY_DOC, response_model=QueryAnswerPublic,
             responses={422: {"description": "Unknown kind or parameter (`loc` names it)"}})
def run_query(request: Request, ws: WorkspaceDep, payload: JsonBody,
              format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",  # noqa: A002
              ) -> Any:
    """The body names the insight (`kind`) and its parameters; the answer is `{"kind", "parameters", "n",
    "intervals", "flags", "rows"}` (plus the insight's own metadata, e.g. the loyalty bank's `trend`), or the rows
    as CSV. Answered from the result cache while the warehouse has not changed."""
    try:
        q = parse(payload)
    except QueryError as exc:
        raise BodyError([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]) from None
    if q.kind in KIND_PERMISSIONS:
        require(request, KIND_PERMISSIONS[q.kind])
    df = ws.run(q)
    if format == "csv":
        return Response(csv_text(df), media_type="text/csv; charset=utf-8")
    meta = {**df.attrs.get("query", {}), **{k: v for k, v in df.attrs.items() if k != "query"}}
    return jsonable_encoder(json_document(df, meta))  # plain JSON values, then validated by QueryAnswerPublic


@router.get("/kinds", summary="The query kinds and their parameters", response_model=dict[str, QueryKindPublic])
def kinds() -> dict[str, Any]:
    return kinds_schema()
