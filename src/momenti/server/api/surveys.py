"""GET/POST /api/v1/surveys and GET /api/v1/surveys/{key}: survey definitions, as `momenti survey` does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from momenti.core.errors import InputError
from momenti.core.frames import records
from momenti.domains.surveys.definition import load_survey
from momenti.domains.surveys.service import apply_survey, list_surveys, show_survey
from momenti.server.deps import JsonBody, WorkspaceDep
from momenti.server.schemas import SurveyApplyPublic, SurveyPublic, SurveySummaryPublic

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"])


@router.get("", response_model=list[SurveySummaryPublic], summary="List surveys")
def surveys(ws: WorkspaceDep) -> list[dict[str, Any]]:
    """One row per survey: key, title_it, title_en, status, version, touchpoints, questions,
    allow_anonymous, closes_at, updated_at."""
    return records(list_surveys(ws))


@router.post("", response_model=SurveyApplyPublic, summary="Create a survey or add a new version", status_code=201,
             responses={200: {"description": "Same definition as the current version: nothing changed"},
                        400: {"description": "Invalid definition: `detail` names each problem"},
                        401: {"description": "Missing, unknown or revoked token"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "description": "A survey definition (the YAML format of docs/surveys.md, as "
                 "JSON), or {\"yaml\": \"...\"}"}}}}})
def create_survey(request: Request, response: Response, ws: WorkspaceDep,
                  payload: JsonBody) -> dict[str, Any]:
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
    response.status_code = 201 if result.changed else 200
    return result.as_dict()


@router.get("/{key}", response_model=SurveyPublic, summary="One survey: status, versions and a version's definition")
def survey(ws: WorkspaceDep, key: str,
           version: Annotated[int | None, Query(description="Version to show (default: the current one)")] = None
           ) -> dict[str, Any]:
    return show_survey(ws, key, version)
