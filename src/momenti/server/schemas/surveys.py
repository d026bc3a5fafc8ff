"""Answers of the survey routes: GET/POST /api/v1/surveys, GET /api/v1/surveys/{key}, GET /api/v1/invitations and
POST /api/v1/invitations/bounces."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from momenti.server.schemas.base import Stamp


class SurveySummaryPublic(BaseModel):
    key: str
    title_it: str | None
    title_en: str | None
    status: str
    version: int = Field(..., description="The current version")
    touchpoints: str = Field(..., description="Comma list")
    questions: int
    allow_anonymous: bool
    closes_at: Stamp
    updated_at: Stamp


class SurveyApplyPublic(BaseModel):
    key: str
    version: int
    created: bool = Field(..., description="A new survey")
    changed: bool = Field(..., description="A new version was added (always true for a new survey)")
    status: str


class SurveyVersionPublic(BaseModel):
    version: int
    created_at: str


class SurveyPublic(BaseModel):
    key: str
    status: str
    allow_anonymous: bool
    closes_at: Stamp
    current_version: int
    version: int = Field(..., description="The version shown")
    versions: list[SurveyVersionPublic]
    definition: dict[str, Any] = Field(..., description="The definition (docs/surveys.md), as JSON")


class InvitationRow(BaseModel):
    survey: str
    what: str = Field(..., description="`email sent`, `email failed`, `email bounced`, `email deferred`, "
                                       "`widget answered`, or `skipped: <reason>`")
    n: int
    answered: int | None = Field(..., description="Their link was used (null for skips)")
    reminded: int | None


class BounceRow(BaseModel):
    message_id: str | None
    email: str | None
    invitation_id: int | None
    result: str = Field(..., description="bounced or unknown")
    reason: str | None
