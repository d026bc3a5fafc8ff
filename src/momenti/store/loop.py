"""The closed loop's tables: alert rule versions, cases and their entries, webhook endpoints and deliveries.

A case's SLA is never stored as a counter: it is computed on read from the case's status entries
(domains/loop/sla.py), so it cannot drift. `cases.open_key` is "<rule>\\x1f<customer>" while the case is open and
NULL once it is resolved or closed: the unique index makes "one open case per customer per rule" hold even when
two processes evaluate the same event at once. `case_entries.dedup_key` does the same for triggers: the same
response delivered twice adds nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from momenti.store.models import Base, id_column


class RuleVersion(Base):
    """One applied version of the alert rules document (the validated YAML as JSON). The newest is in force.
    `from_event_id` is the outbox's last id when it was applied: rules act on events after it, never on the
    history that was already there (that is what `momenti rules test --from` is for)."""

    __tablename__ = "rule_versions"
    id: Mapped[int] = id_column()
    version: Mapped[int] = mapped_column(Integer, unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    from_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(400))


class Case(Base):
    __tablename__ = "cases"
    # the queue: open cases newest first (without it SQLite sorts every open case for one page)
    __table_args__ = (Index("ix_cases_status_opened_at", "status", "opened_at"),)
    id: Mapped[int] = id_column()
    customer_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    rule_key: Mapped[str] = mapped_column(String(100))
    rule_version: Mapped[int] = mapped_column(Integer, default=0)
    touchpoint: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    title: Mapped[str] = mapped_column(String(300))
    sla_policy: Mapped[dict[str, Any]] = mapped_column(JSON)  # the policy as it was when the case opened
    opened_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    trigger_kind: Mapped[str] = mapped_column(String(20))  # response | feedback | events | metric | manual
    trigger_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the trigger's external id
    root_cause: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    recovered: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # "resolved for the customer?"
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # the recovery survey sent when the case was resolved, and the customer's answer to it (its NPS)
    recovery_sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    recovery_response_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recovery_nps: Mapped[float | None] = mapped_column(Float, nullable=True)
    open_key: Mapped[str | None] = mapped_column(String(320), nullable=True, unique=True)


class CaseEntry(Base):
    """Everything that happened to a case, in order: its triggers, status changes, assignments, notes, contact
    attempts and escalations (who, when, what). The case's timeline and the SLA clock are read from here."""

    __tablename__ = "case_entries"
    id: Mapped[int] = id_column()
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(20))  # trigger | status | assign | priority | note | contact | ...
    old_value: Mapped[str | None] = mapped_column(String(300), nullable=True)
    new_value: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)  # a note's text, a contact's summary
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    dedup_key: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = id_column()
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(String(500))  # comma-separated event types
    secret_enc: Mapped[str] = mapped_column(Text)  # the whsec_ secret, Fernet-encrypted with a derived key
    old_secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)  # still signed with until ...
    old_secret_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    description: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WebhookDelivery(Base):
    """One event for one endpoint. `msg_id` is the `webhook-id` header, the same on every attempt: the
    receiver's idempotency key."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id"),)
    id: Mapped[int] = id_column()
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(BigInteger)  # the outbox event (or a replay's own number)
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    id: Mapped[int] = id_column()
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    response_excerpt: Mapped[str | None] = mapped_column(String(500), nullable=True)
    next_delay_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class StaffNotification(Base):
    """An e-mail to a member of staff about a case or an alert: sent at once, at the end of the rule's quiet
    hours (`planned_at`), or in the user's daily digest (`mode` digest)."""

    __tablename__ = "staff_notifications"
    __table_args__ = (UniqueConstraint("user_email", "event_id"),)
    id: Mapped[int] = id_column()
    user_email: Mapped[str] = mapped_column(String(320), index=True)
    event_id: Mapped[int] = mapped_column(BigInteger)  # the outbox event: delivered twice, written once
    case_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rule_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # ids and labels only (no customer text)
    mode: Mapped[str] = mapped_column(String(10))  # immediate | digest
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending | sent | failed
    planned_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
