"""The outbox: events that other parts react to, written in the same store transaction as the data.

A write that others react to (a response committed, a survey completed, feedback received, customers changed)
inserts one `outbox` row inside its own transaction, so the event exists exactly when the data does: a
rolled-back write leaves no event, and a crash after the commit leaves an event nobody has handled yet. The
payload holds ids only (table, id range, import id, survey key), never personal text.

`outbox_delivered(subscriber, event_id)` records what each subscriber has handled: a dispatcher that runs twice
(or two processes at once) hands a subscriber an event again only until its delivery is recorded, and a
subscriber's handler is written to be idempotent for that window (see pipelines/events.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from momenti.store.models import Base, BigId
from momenti.store.raw import RawConnection

# The kinds emitted by the write paths, by the fact table written.
TABLE_KINDS = {"responses": "response.committed", "feedback": "feedback.received", "events": "event.recorded",
               "customers": "customer.changed", "outcomes": "customer.changed",
               "offers": "offer.recorded"}
SURVEY_COMPLETED = "survey.completed"


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: a delivery record names one event
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class OutboxDelivered(Base):
    __tablename__ = "outbox_delivered"
    subscriber: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def emit(conn: RawConnection, kind: str, payload: dict[str, Any]) -> None:
    """Insert one event in the connection's open transaction (raw SQL: the bulk and quick write paths hold a
    raw connection, not a session). The payload must hold ids only."""
    conn.execute(f"INSERT INTO outbox (kind, payload) VALUES ({_literal(kind)}, "
                 f"{_literal(json.dumps(payload, separators=(',', ':'), sort_keys=True))})")


def emit_table(conn: RawConnection, table: str, **payload: Any) -> None:
    """The event of a write to a fact table (`TABLE_KINDS`), with the table's name in the payload."""
    emit(conn, TABLE_KINDS[table], {"table": table, **payload})


EMIT_SQL = "INSERT INTO outbox (kind, payload) VALUES (:kind, :payload)"


def emit_sql(kind: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The statement and parameters that insert an event through a SQLAlchemy connection or session (the
    payload serialised compactly with sorted keys: a few readers match a key with LIKE)."""
    return EMIT_SQL, {"kind": kind, "payload": json.dumps(payload, separators=(",", ":"), sort_keys=True)}

