"""Staff notes on a customer: what the next person to speak to them must know. Shown on the timeline in full to
the staff who work with customers (agents and up) and masked (PII replaced, as comments are) to everyone else."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.store.story import CustomerNote

MAX_NOTE = 5000


def add_note(session: Session, customer: str, author: str, text: str, team: str | None = None) -> CustomerNote:
    body = (text or "").strip()
    if not body:
        raise InputError("text: the note is empty")
    if len(body) > MAX_NOTE:
        raise InputError(f"text: at most {MAX_NOTE} characters")
    note = CustomerNote(customer_key=customer, at=utcnow(), author=author[:400], team=team, text=body)
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, customer: str) -> list[CustomerNote]:
    return list(session.scalars(select(CustomerNote).where(CustomerNote.customer_key == customer)
                                .order_by(CustomerNote.at.desc(), CustomerNote.id.desc())))
