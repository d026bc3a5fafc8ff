"""The customer's story and the team's week: offers proposed to customers, staff notes on a customer, and the
activities of the outside-in weekly review.

`offers.external_id` is the source's offer id: an offer imported again with a new outcome (pending ->
accepted) updates its row (`seq` raised, as customers'). Offers and notes are read per customer (the
timeline), so both are indexed by customer; review activities are read per team and week.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from momenti.store.models import Base, id_column

OFFER_OUTCOMES = ("accepted", "declined", "no_answer", "pending")


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_customer_key_proposed_at", "customer_key", "proposed_at"),)
    id: Mapped[int] = id_column()
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    customer_key: Mapped[str] = mapped_column(String(200))
    offer: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(50), nullable=True)
    agent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    proposed_at: Mapped[datetime] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(20))  # accepted | declined | no_answer | pending
    seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)


class CustomerNote(Base):
    """A note by staff on a customer (not on a case): what the next person to speak to them must know."""

    __tablename__ = "customer_notes"
    __table_args__ = (Index("ix_customer_notes_customer_key_at", "customer_key", "at"),)
    id: Mapped[int] = id_column()
    customer_key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)
    author: Mapped[str] = mapped_column(String(400))
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    text: Mapped[str] = mapped_column(Text)


class ReviewActivity(Base):
    """One activity of a team's week, rated 1-5 on value for the customer's need or desire, ease of the
    interaction and pleasantness of the experience. No touchpoint: work that reaches no customer (the question
    the review asks is how much of the week did)."""

    __tablename__ = "review_activities"
    __table_args__ = (Index("ix_review_activities_team_week", "team", "week_start"),)
    id: Mapped[int] = id_column()
    team: Mapped[str] = mapped_column(String(200))
    week_start: Mapped[date] = mapped_column(Date)  # the ISO week's Monday
    what: Mapped[str] = mapped_column(Text)
    touchpoints: Mapped[list[str]] = mapped_column(JSON, default=list)
    case_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    improvement: Mapped[bool] = mapped_column(Boolean, default=False)  # a change made to the touchpoint
    value: Mapped[int] = mapped_column(Integer)
    ease: Mapped[int] = mapped_column(Integer)
    pleasantness: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    author: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # an idempotency key for imports and the demo: the same activity recorded twice is one row
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ReviewMail(Base):
    """A review e-mail sent (or tried): the Friday reminder to a team lead, the Monday summary to a CX manager.
    Unique per kind, week and address, so the hourly job sends each once however often it runs."""

    __tablename__ = "review_mails"
    __table_args__ = (UniqueConstraint("kind", "week_start", "email"),)
    id: Mapped[int] = id_column()
    kind: Mapped[str] = mapped_column(String(20))  # reminder | summary
    week_start: Mapped[date] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(10))  # sent | failed
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime)
