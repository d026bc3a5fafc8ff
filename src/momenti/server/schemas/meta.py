"""Answers of GET /api/v1/health and /api/v1/journeys (the journey map document)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Texts = dict[str, str | None]


class HealthPublic(BaseModel):
    status: str = Field(..., description="ok, or unavailable (HTTP 503) when the store does not answer")
    version: str
    store: str = Field(..., description="The store's SQL dialect: sqlite or postgresql")
    sync_pending: bool = Field(..., description="Writes not yet carried to the warehouse")
    last_sync_error: str | None = None
    process: int | None = Field(None, description="The id of the server process that answered (one of "
                                "`momenti serve --workers N`)")
    leads: bool | None = Field(None, description="Whether this process runs the background work (the job consumer "
                               "and the sync); with --workers, a separate background process does")


class TouchpointPublic(BaseModel):
    # Further touchpoint attributes of the journey definition (docs/journey-map.md) pass through as given.
    model_config = ConfigDict(extra="allow")
    key: str
    name: Texts
    channel: str | None = None
    owner_team: str | None = None
    moment_of_truth: bool | None = None
    target_metric: str | None = None
    target_score: float | None = None


class StagePublic(BaseModel):
    model_config = ConfigDict(extra="allow")
    key: str
    name: Texts
    touchpoints: list[TouchpointPublic]


class JourneyPublic(BaseModel):
    model_config = ConfigDict(extra="allow")
    key: str
    name: Texts
    description: Texts | None = None
    stages: list[StagePublic]


class JourneysPublic(BaseModel):
    model_config = ConfigDict(extra="allow")
    journeys: list[JourneyPublic]


class MePublic(BaseModel):
    kind: str = Field(..., description="user (a signed-in session) or token")
    name: str = Field(..., description="The user's e-mail or the token's name")
    role: str | None = Field(None, description="The user's role (users only)")
    team: str | None = None
    scopes: list[str] = Field(default_factory=list, description="The token's scopes (tokens only)")
    permissions: list[str] = Field(..., description="What the caller may do (domains/access/permissions.py)")
    csrf_token: str | None = Field(None, description="A session's CSRF token: send it as X-CSRF-Token on POSTs "
                                   "(sessions only; tokens need none)")
