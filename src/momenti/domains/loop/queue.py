"""Reading cases: the queue (filtered, paged, with each case's SLA computed from its status entries) and one
case with its whole history. One function per read feeds the CLI, the REST API, the pages and `ws.cases()`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.domains.loop.cases import OPEN_STATUSES, STATUSES, Actor
from momenti.domains.loop.sla import SlaClock, SlaPolicy, sla_clock
from momenti.store.access import User
from momenti.store.loop import Case, CaseEntry

SLA_STATES = ("on_track", "at_risk", "breached", "met")
COLUMNS = ["id", "customer_id", "touchpoint", "team", "owner", "status", "priority", "rule", "title", "opened_at",
           "updated_at", "first_contact_due", "resolution_due", "first_contact_at", "resolved_at", "sla_state",
           "first_contact_state", "resolution_state", "root_cause", "recovered", "escalation_level"]


@dataclass(frozen=True)
class CaseFilter:
    customer_id: str | None = None
    team: str | None = None
    status: str | None = None  # a status, or "open" / "all"
    owner: str | None = None  # an e-mail, or "me" / "none"
    touchpoint: str | None = None
    priority: str | None = None
    sla_state: str | None = None
    rule: str | None = None
    since: dt.datetime | None = None
    limit: int = 50
    offset: int = 0


_policies: dict[str, SlaPolicy] = {}


def policy_of(spec: dict[str, Any]) -> SlaPolicy:
    key = repr(sorted(spec.items()))
    hit = _policies.get(key)
    if hit is None:
        hit = _policies[key] = SlaPolicy.from_dict(spec)
    return hit


def status_history(session: Session, case_ids: list[int]) -> dict[int, list[tuple[dt.datetime, str]]]:
    out: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for start in range(0, len(case_ids), 900):
        chunk = case_ids[start:start + 900]
        rows = session.execute(select(CaseEntry.case_id, CaseEntry.at, CaseEntry.new_value)
                               .where(CaseEntry.case_id.in_(chunk), CaseEntry.kind == "status")
                               .order_by(CaseEntry.case_id, CaseEntry.at, CaseEntry.id)).all()
        for cid, at, status in rows:
            out[int(cid)].append((at, status))
    return out


def clock_of(case: Case, history: list[tuple[dt.datetime, str]], now: dt.datetime) -> SlaClock:
    return clock_at(case.opened_at, case.sla_policy, history, now)


def clock_at(opened_at: dt.datetime, policy: dict[str, Any], history: list[tuple[dt.datetime, str]],
             now: dt.datetime) -> SlaClock:
    """A case's clock from the two columns it needs (a queue filtered by SLA state loads no more)."""
    return sla_clock(opened_at, history or [(opened_at, "new")], policy_of(policy), now)


def _scope(stmt: Any, actor: Actor) -> Any:
    # Agents and team leads see their own team's cases; analysts read all (no actions); the rest manage all.
    if actor.manages_all or actor.role == "analyst":
        return stmt
    return stmt.where(Case.team == (actor.team or "\x00no team"))


def _filtered(session: Session, actor: Actor, f: CaseFilter) -> Any:
    stmt = _scope(select(Case), actor)
    if f.customer_id:
        stmt = stmt.where(Case.customer_key == f.customer_id)
    if f.team:
        stmt = stmt.where(Case.team == f.team)
    status = (f.status or "all").lower()
    if status == "open":
        stmt = stmt.where(Case.status.in_(sorted(OPEN_STATUSES)))
    elif status != "all":
        if status not in STATUSES:
            raise InputError(f"status {status!r}: choose one of open, all, {', '.join(STATUSES)}")
        stmt = stmt.where(Case.status == status)
    if f.owner == "none":
        stmt = stmt.where(Case.owner_id.is_(None))
    elif f.owner == "me":
        stmt = stmt.where(Case.owner_id == (actor.user_id or -1))
    elif f.owner:
        stmt = stmt.where(Case.owner_id == select(User.id).where(User.email == f.owner.lower()).scalar_subquery())
    if f.touchpoint:
        stmt = stmt.where(Case.touchpoint == f.touchpoint)
    if f.priority:
        stmt = stmt.where(Case.priority == f.priority)
    if f.rule:
        stmt = stmt.where(Case.rule_key == f.rule)
    if f.since:
        stmt = stmt.where(Case.opened_at >= f.since)
    return stmt


def list_cases(session: Session, actor: Actor, f: CaseFilter, now: dt.datetime | None = None
               ) -> tuple[list[dict[str, Any]], int]:
    """(rows, total) of the queue, newest first. With `sla_state` the SLA is computed for every matching case
    (it is not stored), so that filter reads the whole match; without it only the page is computed."""
    if f.sla_state and f.sla_state not in SLA_STATES:
        raise InputError(f"sla_state {f.sla_state!r}: choose one of {', '.join(SLA_STATES)}")
    now = now or utcnow()
    matching = _filtered(session, actor, f)
    stmt = matching.order_by(Case.opened_at.desc(), Case.id.desc())
    if f.sla_state:
        # The clock of every match, from the three columns it needs; whole cases only for the page.
        light = session.execute(stmt.with_only_columns(Case.id, Case.opened_at, Case.sla_policy)).all()
        history = status_history(session, [int(c[0]) for c in light])
        ids = [int(cid) for cid, opened, spec in light
               if clock_at(opened, spec, history.get(int(cid), []), now).state == f.sla_state]
        page = ids[f.offset:f.offset + f.limit]
        by_id = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(page)))} if page else {}
        return _rows(session, [by_id[i] for i in page], now), len(ids)
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    cases = list(session.scalars(stmt.limit(f.limit).offset(f.offset)))
    return _rows(session, cases, now), int(total)


def _rows(session: Session, cases: list[Case], now: dt.datetime) -> list[dict[str, Any]]:
    history = status_history(session, [c.id for c in cases])
    owners = dict(session.execute(select(User.id, User.email).where(
        User.id.in_({c.owner_id for c in cases if c.owner_id}))).all()) if cases else {}
    return [row(c, clock_of(c, history.get(c.id, []), now), owners.get(c.owner_id)) for c in cases]


def row(case: Case, clock: SlaClock, owner: str | None) -> dict[str, Any]:
    return {"id": case.id, "customer_id": case.customer_key, "touchpoint": case.touchpoint, "team": case.team,
            "owner": owner, "status": case.status, "priority": case.priority, "rule": case.rule_key,
            "title": case.title, "opened_at": case.opened_at, "updated_at": case.updated_at,
            "first_contact_due": clock.first_contact_due, "resolution_due": clock.resolution_due,
            "first_contact_at": clock.first_contact_at, "resolved_at": clock.resolved_at,
            "sla_state": clock.state, "first_contact_state": clock.first_contact_state,
            "resolution_state": clock.resolution_state, "root_cause": case.root_cause,
            "recovered": case.recovered, "escalation_level": case.escalation_level}


def case_detail(session: Session, case: Case, now: dt.datetime | None = None) -> dict[str, Any]:
    """The case's row plus its entries, oldest first (the case's timeline)."""
    now = now or utcnow()
    entries = list(session.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id)
                                   .order_by(CaseEntry.at, CaseEntry.id)))
    history = [(e.at, e.new_value or "") for e in entries if e.kind == "status"]
    out = row(case, clock_of(case, history, now), _owner(session, case))
    out["tags"] = list(case.tags or [])
    out["resolution"] = case.resolution
    out["trigger_kind"], out["trigger_ref"] = case.trigger_kind, case.trigger_ref
    out["entries"] = [{"at": e.at, "actor": e.actor, "kind": e.kind, "old": e.old_value, "new": e.new_value,
                       "body": e.body, "detail": e.detail} for e in entries]
    return out


def _owner(session: Session, case: Case) -> str | None:
    return session.scalar(select(User.email).where(User.id == case.owner_id)) if case.owner_id else None
