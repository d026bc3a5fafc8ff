"""Bodies and answers of /api/v1/cases."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from momenti.server.schemas.base import UtcTime


class CasePublic(BaseModel):
    id: int
    customer_id: str | None
    touchpoint: str | None
    team: str | None
    owner: str | None = Field(None, description="The owner's e-mail")
    status: str = Field(..., description="new, acknowledged, contacted, pending_customer, resolved, closed, reopened")
    priority: str
    rule: str = Field(..., description="The alert rule that opened it (manual: opened by hand)")
    title: str
    opened_at: UtcTime = Field(..., description="UTC")
    updated_at: UtcTime
    first_contact_due: UtcTime | None = Field(None, description="UTC, in the SLA policy's business hours")
    resolution_due: UtcTime | None
    first_contact_at: UtcTime | None
    resolved_at: UtcTime | None
    sla_state: str = Field(..., description="on_track, at_risk (75 % used), breached or met")
    first_contact_state: str
    resolution_state: str
    root_cause: str | None
    recovered: bool | None = Field(None, description="Was it resolved for the customer?")
    escalation_level: int


class CaseListPublic(BaseModel):
    rows: list[CasePublic]
    total: int = Field(..., description="Cases matching the filters (rows holds one page of them)")


class CaseEntryPublic(BaseModel):
    at: UtcTime
    actor: str
    kind: str = Field(..., description="trigger, status, assign, priority, note, contact, escalation")
    old: str | None
    new: str | None
    body: str | None
    detail: dict[str, Any] | None


class CaseDetailPublic(CasePublic):
    tags: list[str]
    resolution: str | None
    trigger_kind: str
    trigger_ref: str | None
    entries: list[CaseEntryPublic]


class CaseAction(BaseModel):
    """One action on a case. Fields beyond `action` as the action needs them."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["assign", "note", "contact", "status", "resolve", "close", "reopen", "priority"]
    user: str | None = Field(None, description="assign: the owner's e-mail (null: nobody)")
    text: str | None = Field(None, description="note: its text; contact: a summary; reopen: the reason")
    channel: str | None = Field(None, description="contact: phone, email, sms, chat, branch, letter, other")
    outcome: str | None = Field(None, description="contact: reached, no_answer, voicemail, wrong_number, refused")
    status: str | None = Field(None, description="status: acknowledged, contacted or pending_customer")
    root_cause: str | None = Field(None, description="resolve/close: a key of the rules' root causes")
    recovered: bool | None = Field(None, description="resolve/close: resolved for the customer?")
    resolution: str | None = None
    priority: str | None = Field(None, description="priority: low, normal, high, urgent")


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(..., min_length=1, max_length=200)
    title: str = Field(..., min_length=1, max_length=300)
    team: str | None = None
    touchpoint: str | None = None
    priority: str = "normal"
