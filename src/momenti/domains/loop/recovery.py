"""Recovery: the survey a customer gets when their case is resolved, and its answer linked back to the case.

Sending runs in the background (the `recovery` subscriber of the outbox's case.updated events, pipelines/loop.py),
through the invitation system: its opt-outs apply, and the case is the documented exception to its frequency
limits (a customer who complained is asked once more). The link carries the case's id as the survey's hidden
`case_id` field, so the answer names its case; `link_answers` then records it on the case (entry `recovery`,
`recovery_nps`), whatever the channel the answer came by (a survey page or the API with a case_id answer).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momenti.core.clock import as_datetime, utcnow
from momenti.domains.loop.cases import SYSTEM, add_entry
from momenti.domains.loop.rules import active_rules
from momenti.store.loop import Case, CaseEntry

log = logging.getLogger("momenti.loop")


def due_cases(session: Session, case_ids: list[int]) -> tuple[str | None, list[Case]]:
    """The recovery survey and the cases among `case_ids` that should get it now (resolved or closed as the
    rules say, a customer, not sent yet)."""
    active = active_rules(session)
    if active is None or not active.document.recovery.survey or not case_ids:
        return None, []
    rec = active.document.recovery
    wanted = ("resolved", "closed") if rec.on == "resolved" else ("closed",)
    stmt = select(Case).where(Case.id.in_(case_ids), Case.status.in_(wanted), Case.recovery_sent_at.is_(None),
                              Case.customer_key.is_not(None))
    found = [c for c in session.scalars(stmt) if not rec.rules or c.rule_key in rec.rules]
    return rec.survey, found


def send(ws: Any, case_ids: list[int], now: dt.datetime | None = None) -> dict[str, int]:
    """Invite the customers of the cases that are due; each result is an entry of its case."""
    from momenti.domains.surveys.invite import Contact, invite
    from momenti.domains.surveys.invite_trigger import customer_contacts

    now = now or utcnow()
    counts: dict[str, int] = {}
    with ws.session() as s:
        survey, cases = due_cases(s, case_ids)
        todo = [(c.id, c.customer_key, c.touchpoint) for c in cases]
    if not survey or not todo:
        return counts
    contacts = customer_contacts(ws, sorted({t[1] for t in todo}))
    for case_id, customer, _touchpoint in todo:
        base = contacts.get(customer) or Contact(customer)
        contact = Contact(customer, base.email, base.language, base.name, hidden={"case_id": str(case_id)},
                          trigger_event=f"case:{case_id}")
        try:
            frame = invite(ws, survey, [contact], now=now, exception=f"case {case_id}")
        except Exception as exc:  # noqa: BLE001 - a survey that is not live, no SMTP: said on the case, not lost
            result, detail = "failed", str(exc)[:300]
        else:
            row = frame.iloc[0]
            result, detail = str(row["result"]), (row["detail"] or row["reason"] or None)
        counts[result] = counts.get(result, 0) + 1
        with ws.session() as s, s.begin():
            case = s.get(Case, case_id)
            if case is None:
                continue
            if result in ("sent", "queued", "deferred"):
                case.recovery_sent_at = now
            add_entry(s, case, SYSTEM, "recovery_survey", new=result, body=detail,
                   detail={"survey": survey, "email": bool(contact.email)}, at=now)
    return counts


def link_answers(session: Session, first_id: int, last_id: int) -> int:
    """Record on their cases the responses in [first_id, last_id] that answer a recovery survey (a `case_id`
    answer). Idempotent (one entry per response)."""
    rows = session.execute(text(
        "SELECT r.id, r.external_id, r.submitted_at, a.value_text, "
        "(SELECT min(n.value_num) FROM answers n JOIN questions qn ON qn.id = n.question_id "
        " WHERE n.response_id = r.id AND qn.kind = 'nps') "
        "FROM responses r JOIN answers a ON a.response_id = r.id JOIN questions q ON q.id = a.question_id "
        "WHERE r.id >= :first AND r.id <= :last AND q.key = 'case_id' AND a.value_text IS NOT NULL"),
        {"first": first_id, "last": last_id}).all()
    linked = 0
    for rid, ref, at, case_ref, nps in rows:
        try:
            case = session.get(Case, int(str(case_ref).strip()))
        except ValueError:
            continue
        if case is None:
            continue
        key = f"recovery:response:{rid}"
        if session.scalar(select(CaseEntry.id).where(CaseEntry.dedup_key == key)) is not None:
            continue
        try:
            with session.begin_nested():
                add_entry(session, case, SYSTEM, "recovery", new=None if nps is None else f"{nps:g}",
                       detail={"response": ref, "nps": nps}, at=as_datetime(at), dedup_key=key)
                case.recovery_response_id, case.recovery_nps = int(rid), nps
            linked += 1
        except IntegrityError:
            continue
    return linked

