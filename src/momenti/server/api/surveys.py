"""GET/POST /api/v1/surveys and GET /api/v1/surveys/{key}: survey definitions, as `momenti survey` does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from momenti.core.errors import InputError
from momenti.core.frames import records
from momenti.domains.surveys.definition import load_survey
from momenti.domains.surveys.service import apply_survey, list_surveys, show_survey
from momenti.server.deps import JsonBody, TokenDep, WorkspaceDep

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"])


@router.get("", summary="List surveys")
def surveys(ws: WorkspaceDep) -> JSONResponse:
    """One row per survey: key, title_it, title_en, status, version, touchpoints, questions,
    allow_anonymous, closes_at, updated_at."""
    return JSONResponse(jsonable_encoder(records(list_surveys(ws))))


@router.post("", summary="Create a survey or add a new version", status_code=201,
             responses={200: {"description": "Same definition as the current version: nothing changed"},
                        400: {"description": "Invalid definition: `detail` names each problem"},
                        401: {"description": "Missing, unknown or revoked token"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "description": "A survey definition (the YAML format of docs/surveys.md, as "
                 "JSON), or {\"yaml\": \"...\"}"}}}}})
def create_survey(request: Request, ws: WorkspaceDep, token: TokenDep, payload: JsonBody) -> JSONResponse:
    """Apply a definition: a new survey, or a new version when it differs from the current one (answers
    already given keep their version). 201 when something was created, 200 when the definition is unchanged."""
    if isinstance(payload, dict) and set(payload) == {"yaml"} and isinstance(payload["yaml"], str):
        definition = load_survey(payload["yaml"], name="yaml")
    elif isinstance(payload, dict):
        definition = load_survey(payload, name="body")
    else:
        raise InputError("body: send a survey definition as a JSON object, or {\"yaml\": \"...\"}")
    result = apply_survey(ws, definition, sync=False)
    request.app.state.syncer.touch()  # new answer keys reach the warehouse's questions dimension
    return JSONResponse(result.as_dict(), status_code=201 if result.changed else 200)


@router.get("/{key}", summary="One survey: status, versions and a version's definition")
def survey(ws: WorkspaceDep, key: str,
           version: Annotated[int | None, Query(description="Version to show (default: the current one)")] = None
           ) -> dict[str, Any]:
    return show_survey(ws, key, version)
