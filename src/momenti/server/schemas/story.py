"""Bodies and answers of /api/v1/customers (timeline, notes, offers) and /api/v1/reviews."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from momenti.server.schemas.base import UtcTime


class TimelineRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str = Field(..., description="response, event, feedback, invitation, case, note, offer or outcome")
    ts: str = Field(..., description="ISO 8601 UTC (…Z)")


class TimelinePublic(BaseModel):
    customer_id: str
    summary: dict[str, Any] = Field(..., description="Before you talk: open cases and their SLA, last scores, "
                                    "last contacts, repeat contacts in 7 days, offers and the offer rule's verdict, "
                                    "language, preferred channel, opt-outs, lifecycle, loyalty segment")
    rows: list[TimelineRow] = Field(..., description="Newest first; one page")
    total: int = Field(..., description="Rows matching the filters (rows holds one page)")
    counts: dict[str, int] = Field(..., description="Rows per kind, unfiltered")


class CustomerFound(BaseModel):
    customer_id: str
    first_seen: UtcTime | None
    matched: str


class CustomersPublic(BaseModel):
    rows: list[CustomerFound]


class OfferCheckPublic(BaseModel):
    offer: str
    allowed: bool
    reason: str
    proposed: int = Field(..., description="Proposals of this offer in the look-back window")
    declined: int
    last_proposed_at: UtcTime | None
    lookback_days: int


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=1, max_length=5000)


class NotePublic(BaseModel):
    id: int
    at: UtcTime
    author: str


class OfferLog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offer: str = Field(..., min_length=1, max_length=200)
    outcome: str = Field("pending", description="accepted, declined, no_answer or pending")
    channel: str | None = Field(None, max_length=50)


class OfferLogged(BaseModel):
    offer_id: str
    offer: str
    outcome: str
    warning: str | None = Field(None, description="The offer rule's objection, when it should not have been "
                                "proposed (it is recorded all the same: it happened)")


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str
    week: str = Field(..., description="ISO week (2026-W40) or any day of it")
    what: str = Field(..., min_length=1, max_length=2000)
    touchpoints: list[str] = Field(default_factory=list, description="Customer touchpoints it touched; none: work "
                                   "that reached no customer")
    value: int = Field(..., ge=1, le=5, description="Value for the customer's need or desire")
    ease: int = Field(..., ge=1, le=5, description="Ease of the interaction")
    pleasantness: int = Field(..., ge=1, le=5, description="Pleasantness of the experience")
    case_ids: list[int] = Field(default_factory=list)
    improvement: bool = False
    evidence: str | None = Field(None, max_length=5000)
    external_id: str | None = Field(None, max_length=200, description="Makes a retry safe")


class ReviewActivityPublic(BaseModel):
    id: int
    team: str
    week: str
    week_start: str
    what: str
    touchpoints: list[str]
    case_ids: list[int]
    improvement: bool
    value: int
    ease: int
    pleasantness: int
    evidence: str | None
    author: str
    created_at: UtcTime
    created: bool = True


class ReviewWeek(BaseModel):
    week: str = Field(..., description="ISO week, e.g. 2026-W40")
    week_start: str = Field(..., description="Its Monday")
    team: str = Field(..., description="A team, or all")
    activities: int
    customer_activities: int = Field(..., description="Activities that touch a customer touchpoint")
    customer_share: float = Field(..., description="customer_activities / activities (a fraction)")
    customer_share_ci_low: float
    customer_share_ci_high: float
    improvements: int
    value: float | None = Field(None, description="Mean of the customer activities (basis)")
    ease: float | None
    pleasantness: float | None
    value_all: float | None = Field(None, description="Mean of every activity")
    ease_all: float | None
    pleasantness_all: float | None
    basis: str


class ReviewsPublic(BaseModel):
    basis: str = Field(..., description="What value/ease/pleasantness average: customer activities")
    rows: list[ReviewWeek]


class ImprovementsPublic(BaseModel):
    rows: list[dict[str, Any]]
