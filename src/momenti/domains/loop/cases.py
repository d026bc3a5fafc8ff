"""Cases: opened by a rule's trigger (or by hand), worked through their statuses, every change an entry.

Each change is a `case_entries` row (who, when, what) and, for other parts to react (webhooks, e-mail), an
outbox event in the same transaction (`case.opened`, `case.updated`). What a role may do is decided here, once,
for the CLI, the REST API and the pages alike: agents work their own team's cases, team leads also assign
within their team, cx_manager and admin do everything. The CLI acts as an operator of the machine (no role).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from momenti.domains.loop.rules import PRIORITIES, ActiveRules, Rule
from momenti.domains.loop.triggers import Trigger
from momenti.store.access import Team, User
from momenti.store.db import insert_rows, reserve_ids
from momenti.store.loop import Case, CaseEntry
from momenti.store.outbox import EMIT_SQL, emit_sql

STATUSES = ("new", "acknowledged", "contacted", "pending_customer", "resolved", "closed", "reopened")
OPEN_STATUSES = frozenset({"new", "acknowledged", "contacted", "pending_customer", "reopened"})
_WORKING = ("acknowledged", "contacted", "pending_customer", "resolved", "closed")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": _WORKING,
    "acknowledged": ("contacted", "pending_customer", "resolved", "closed"),
    "contacted": ("pending_customer", "resolved", "closed"),
    "pending_customer": ("acknowledged", "contacted", "resolved", "closed"),
    "reopened": _WORKING,
    "resolved": ("closed", "reopened"),
    "closed": ("reopened",),
}
CONTACT_CHANNELS = ("phone", "email", "sms", "chat", "branch", "letter", "other")
CONTACT_OUTCOMES = ("reached", "no_answer", "voicemail", "wrong_number", "refused")
CASE_OPENED, CASE_UPDATED, CASE_BREACHED = "case.opened", "case.updated", "case.breached"


@dataclass(frozen=True)
class Actor:
    """Who acts: `name` as the audit log writes it ("user:a@b", "cli:ops", "system"); `role` None for the
    CLI and the system (full rights); `team` the user's team name."""

    name: str
    role: str | None = None
    team: str | None = None
    user_id: int | None = None

    @property
    def manages_all(self) -> bool:
        return self.role in (None, "admin", "cx_manager")


SYSTEM = Actor("system")


def _open_key(rule: str, customer: str | None) -> str | None:
    return f"{rule}\x1f{customer}" if customer else None


def _payload(case_id: int, rule: str, team: str | None, touchpoint: str | None, priority: str,
             **extra: Any) -> dict[str, Any]:
    # a case event's payload: ids and labels only (webhooks and e-mails link to the case)
    return {"case_id": case_id, "rule": rule, "team": team, "touchpoint": touchpoint, "priority": priority, **extra}


def _emit(session: Session, kind: str, case: Case, **extra: Any) -> None:
    sql, params = emit_sql(kind, _payload(case.id, case.rule_key, case.team, case.touchpoint, case.priority, **extra))
    session.execute(text(sql), params)


def _rule_columns(rule: Rule, active: ActiveRules) -> dict[str, Any]:
    """The columns every case of `rule` shares (computed once per rule in a batch)."""
    spec = rule.open_case
    assert spec is not None
    return {"rule_key": rule.key, "rule_version": active.version, "priority": spec.priority, "status": "new",
            "title": rule.label("en")[:300], "sla_policy": active.document.policy_spec(spec.sla),
            "escalation_level": 0}


def _case_values(trig: Trigger, rule: Rule, active: ActiveRules, now: dt.datetime, key: str | None,
                 shared: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of the case `trig` opens (the one-by-one and the batch path alike)."""
    spec = rule.open_case
    assert spec is not None
    return {**(shared or _rule_columns(rule, active)), "customer_key": trig.customer_key,
            "touchpoint": trig.touchpoint, "team": trig.team if spec.team == "owner" else spec.team,
            "opened_at": now, "updated_at": now, "trigger_kind": trig.kind, "trigger_ref": trig.source_ref,
            "tags": [], "open_key": key}


def add_entry(session: Session, case: Case, actor: Actor, kind: str, old: str | None = None, new: str | None = None,
           body: str | None = None, detail: dict[str, Any] | None = None, at: dt.datetime | None = None,
           dedup_key: str | None = None) -> CaseEntry:
    entry = CaseEntry(case_id=case.id, at=at or utcnow(), actor=actor.name, kind=kind, old_value=old,
                      new_value=new, body=body, detail=detail, dedup_key=dedup_key)
    session.add(entry)
    return entry


# -- opening ----------------------------------------------------------------------------------------------


def open_from_trigger(session: Session, trig: Trigger, rule: Rule, active: ActiveRules,
                      now: dt.datetime | None = None) -> tuple[str, Case | None]:
    """Open the case `trig` asks for, or add it to the customer's open case of the same rule.
    ('opened' | 'added' | 'seen', case): 'seen' when this very trigger was handled before (an event delivered
    twice). Runs in savepoints, so a concurrent process opening the same case costs a retry, not an error."""
    assert rule.open_case is not None
    now = now or utcnow()
    key = _open_key(rule.key, trig.customer_key)
    if session.scalar(select(CaseEntry.id).where(CaseEntry.dedup_key == trig.dedup_key)) is not None:
        return "seen", None
    for _ in range(3):
        case = session.scalar(select(Case).where(Case.open_key == key)) if key else None
        try:
            with session.begin_nested():
                if case is None:
                    case = _new_case(session, trig, rule, active, now, key)
                    add_entry(session, case, SYSTEM, "trigger", body=None, detail=_trigger_detail(trig), at=now,
                           dedup_key=trig.dedup_key)
                    _emit(session, CASE_OPENED, case)
                    return "opened", case
                add_entry(session, case, SYSTEM, "trigger", detail=_trigger_detail(trig), at=now,
                       dedup_key=trig.dedup_key)
                case.updated_at = now
                _emit(session, CASE_UPDATED, case, change="trigger")
                return "added", case
        except IntegrityError:
            # another process opened this customer's case (open_key) or saw this trigger (dedup_key) meanwhile
            if session.scalar(select(CaseEntry.id).where(CaseEntry.dedup_key == trig.dedup_key)) is not None:
                return "seen", None
    raise ConflictError(f"case for {trig.dedup_key}: kept colliding with another writer")


def open_many(session: Session, items: list[tuple[Trigger, Rule]], active: ActiveRules,
              now: dt.datetime | None = None) -> dict[str, int]:
    """`open_from_trigger` for a whole batch (the triggers of one outbox event), set-based: a few IN queries
    and one multi-row insert per table instead of seven statements per trigger (bench/loop.py). Same result:
    triggers seen before are skipped, the first trigger of a customer and rule opens the case and the others
    join it. A concurrent writer (a unique key taken meanwhile) sends the batch down the one-by-one path."""
    now = now or utcnow()
    counts = {"opened": 0, "added": 0, "seen": 0}
    if not items:
        return counts
    from sqlalchemy import bindparam

    keys = list(dict.fromkeys(t.dedup_key for t, _ in items))
    seen: set[str] = set()
    for i in range(0, len(keys), 900):
        seen |= set(session.scalars(select(CaseEntry.dedup_key).where(CaseEntry.dedup_key.in_(keys[i:i + 900]))))
    todo: list[tuple[Trigger, Rule]] = []
    for trig, rule in items:
        if trig.dedup_key in seen:
            counts["seen"] += 1
            continue
        seen.add(trig.dedup_key)  # the same trigger twice in one batch counts once
        todo.append((trig, rule))
    if not todo:
        return counts
    open_keys = sorted({k for t, r in todo if (k := _open_key(r.key, t.customer_key))})
    existing: dict[str, int] = {}
    for i in range(0, len(open_keys), 900):
        existing.update((k, int(v)) for k, v in session.execute(select(Case.open_key, Case.id).where(
            Case.open_key.in_(open_keys[i:i + 900]))))
    new_rows: list[dict[str, Any]] = []
    new_triggers: list[str] = []  # the dedup key of the trigger that opens each new row's case
    plan: list[tuple[Trigger, Rule, str | None, int | None]] = []  # trigger, rule, open key, existing case
    planned: set[str] = set()
    shared: dict[str, dict[str, Any]] = {}
    for trig, rule in todo:
        spec = rule.open_case
        assert spec is not None
        key = _open_key(rule.key, trig.customer_key)
        if key is not None and (key in existing or key in planned):
            plan.append((trig, rule, key, existing.get(key)))
            continue
        if key is not None:
            planned.add(key)
        plan.append((trig, rule, key, None))
        if rule.key not in shared:
            shared[rule.key] = _rule_columns(rule, active)
        new_rows.append(_case_values(trig, rule, active, now, key, shared[rule.key]))
        new_triggers.append(trig.dedup_key)
    try:
        with session.begin_nested():
            table = Case.__table__
            ids: list[int] = []
            if new_rows:  # ids reserved first: one executemany instead of an INSERT ... RETURNING per row
                ids = reserve_ids(session, "cases", len(new_rows))
                insert_rows(session, table, [{**r, "id": i} for r, i in zip(new_rows, ids, strict=True)])
            by_trigger = dict(zip(new_triggers, ids, strict=True))
            by_key = {r["open_key"]: i for r, i in zip(new_rows, ids, strict=True) if r["open_key"]}
            entries: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            touched: set[int] = set()
            for trig, rule, key, case_id in plan:
                spec = rule.open_case
                assert spec is not None
                opened = trig.dedup_key in by_trigger
                cid = by_trigger[trig.dedup_key] if opened else (case_id or by_key[key])  # type: ignore[index]
                base = {"case_id": cid, "at": now, "actor": SYSTEM.name, "old_value": None, "body": None}
                if opened:
                    entries.append({**base, "kind": "status", "new_value": "new", "detail": None, "dedup_key": None})
                    counts["opened"] += 1
                else:
                    touched.add(cid)
                    counts["added"] += 1
                entries.append({**base, "kind": "trigger", "new_value": None, "detail": _trigger_detail(trig),
                                "dedup_key": trig.dedup_key})
                team = trig.team if spec.team == "owner" else spec.team
                payload = _payload(cid, rule.key, team, trig.touchpoint, spec.priority,
                                   **({} if opened else {"change": "trigger"}))
                events.append(emit_sql(CASE_OPENED if opened else CASE_UPDATED, payload)[1])
            insert_rows(session, CaseEntry.__table__, entries)
            session.execute(text(EMIT_SQL), events)
            if touched:
                session.execute(update(table).where(table.c.id == bindparam("cid")).values(updated_at=bindparam("u")),
                                [{"cid": c, "u": now} for c in sorted(touched)])
    except IntegrityError:
        counts = {"opened": 0, "added": 0, "seen": counts["seen"]}
        for trig, rule in todo:
            outcome, _ = open_from_trigger(session, trig, rule, active, now)
            counts[outcome] += 1
    return counts


def _trigger_detail(trig: Trigger) -> dict[str, Any]:
    return {"source": trig.kind, "id": trig.source_id, "ref": trig.source_ref, "at": trig.at.isoformat(),
            **trig.detail}


def _new_case(session: Session, trig: Trigger, rule: Rule, active: ActiveRules, now: dt.datetime,
              key: str | None) -> Case:
    case = Case(**_case_values(trig, rule, active, now, key))
    session.add(case)
    session.flush()
    add_entry(session, case, SYSTEM, "status", None, "new", at=now)
    return case


def open_manual(session: Session, actor: Actor, customer: str, title: str, team: str | None = None,
                touchpoint: str | None = None, priority: str = "normal", policy: dict[str, Any] | None = None,
                now: dt.datetime | None = None) -> Case:
    """A case opened by hand (an agent turning a call into a case): rule 'manual', no open-case limit."""
    if actor.role == "agent" and team not in (None, actor.team):
        raise ForbiddenError("an agent opens cases for their own team only")
    now = now or utcnow()
    case = Case(customer_key=customer, rule_key="manual", rule_version=0, touchpoint=touchpoint,
                team=team or actor.team, priority=_priority(priority), status="new", title=title[:300],
                sla_policy=policy or {"name": "standard"}, opened_at=now, updated_at=now, trigger_kind="manual",
                tags=[], open_key=None)
    session.add(case)
    session.flush()
    add_entry(session, case, actor, "status", None, "new", at=now)
    _emit(session, CASE_OPENED, case)
    return case


# -- working a case ---------------------------------------------------------------------------------------


def get_case(session: Session, case_id: int | str, actor: Actor | None = None) -> Case:
    try:
        cid = int(case_id)
    except (TypeError, ValueError):
        raise InputError(f"case id {case_id!r}: a number") from None
    case = session.get(Case, cid)
    if case is None or (actor is not None and not can_see(actor, case)):
        raise NotFoundError(f"case {case_id}: no such case")  # a case of another team is not even named
    return case


def can_see(actor: Actor, case: Case) -> bool:
    return actor.manages_all or actor.role == "analyst" or case.team == actor.team


def _may_work(actor: Actor, case: Case) -> None:
    if actor.manages_all:
        return
    if actor.role in ("agent", "team_lead") and case.team == actor.team:
        return
    raise ForbiddenError(f"case {case.id}: only its team ({case.team}) or a cx_manager may change it")


def _priority(value: str) -> str:
    value = value.strip().lower()
    if value not in PRIORITIES:
        raise InputError(f"priority {value!r}: choose one of {', '.join(PRIORITIES)}")
    return value


def move(session: Session, case: Case, actor: Actor, status: str, now: dt.datetime | None = None,
         note: str | None = None, root_causes: list[str] | None = None, root_cause: str | None = None,
         recovered: bool | None = None, resolution: str | None = None) -> Case:
    """Change the status (allowed moves in TRANSITIONS). Resolving (or closing an unresolved case) needs a root
    cause from the taxonomy and whether it was resolved for the customer."""
    _may_work(actor, case)
    status = status.strip().lower()
    if status not in STATUSES:
        raise InputError(f"status {status!r}: choose one of {', '.join(STATUSES)}")
    if status not in TRANSITIONS[case.status]:
        raise ConflictError(f"case {case.id} is {case.status}: it can go to {', '.join(TRANSITIONS[case.status])}")
    now = now or utcnow()
    if status in ("resolved", "closed") and case.status != "resolved":
        if not root_cause:
            raise InputError(f"case {case.id}: a root cause is required to resolve it"
                             + (f" ({', '.join(root_causes)})" if root_causes else ""))
        if root_causes and root_cause not in root_causes:
            raise InputError(f"root cause {root_cause!r}: choose one of {', '.join(root_causes)}")
        if recovered is None:
            raise InputError(f"case {case.id}: say whether it was resolved for the customer (recovered yes/no)")
        case.root_cause, case.recovered, case.resolution = root_cause, recovered, resolution
    if status == "reopened":
        key = _open_key(case.rule_key, case.customer_key) if case.rule_key != "manual" else None
        if key and session.scalar(select(Case.id).where(Case.open_key == key)) is not None:
            raise ConflictError(f"case {case.id}: the customer already has an open case of rule {case.rule_key}")
        case.open_key, case.closed_at, case.escalation_level = key, None, 0
    elif status in ("resolved", "closed"):
        case.open_key = None
        if status == "closed":
            case.closed_at = now
    old = case.status
    case.status, case.updated_at = status, now
    add_entry(session, case, actor, "status", old, status, body=note or resolution,
           detail={"root_cause": root_cause, "recovered": recovered} if root_cause else None, at=now)
    _emit(session, CASE_UPDATED, case, change=f"status:{status}")
    return case


def assign(session: Session, case: Case, actor: Actor, user_email: str | None, now: dt.datetime | None = None) -> Case:
    """Give the case an owner (None: nobody). Team leads assign within their team; agents take a case of
    their team for themselves."""
    _may_work(actor, case)
    owner = None
    if user_email:
        owner = session.scalar(select(User).where(User.email == user_email.strip().lower()))
        if owner is None:
            raise NotFoundError(f"user {user_email}: no such user")
    if actor.role == "agent" and (owner is None or owner.id != actor.user_id):
        raise ForbiddenError("an agent can take a case for themselves only; a team lead assigns")
    if owner is not None and not actor.manages_all:
        team = session.get(Team, owner.team_id) if owner.team_id else None
        if team is None or team.name != case.team:
            raise ForbiddenError(f"{owner.email} is not in team {case.team}")
    now = now or utcnow()
    old = _email(session, case.owner_id)
    case.owner_id, case.updated_at = (owner.id if owner else None), now
    add_entry(session, case, actor, "assign", old, owner.email if owner else None, at=now)
    if case.status in ("new", "reopened") and owner is not None:
        case.status = "acknowledged"
        add_entry(session, case, actor, "status", "new", "acknowledged", at=now)
    _emit(session, CASE_UPDATED, case, change="assign")
    return case


def _email(session: Session, user_id: int | None) -> str | None:
    return session.scalar(select(User.email).where(User.id == user_id)) if user_id else None


def add_note(session: Session, case: Case, actor: Actor, body: str, now: dt.datetime | None = None) -> CaseEntry:
    _may_work(actor, case)
    body = (body or "").strip()
    if not body:
        raise InputError("a note needs text")
    now = now or utcnow()
    case.updated_at = now
    entry = add_entry(session, case, actor, "note", body=body[:10_000], at=now)
    _emit(session, CASE_UPDATED, case, change="note")
    return entry


def log_contact(session: Session, case: Case, actor: Actor, channel: str, outcome: str, summary: str | None = None,
                now: dt.datetime | None = None) -> CaseEntry:
    """A contact attempt. Reaching the customer makes the case `contacted` (first contact for the SLA)."""
    _may_work(actor, case)
    channel, outcome = channel.strip().lower(), outcome.strip().lower()
    if channel not in CONTACT_CHANNELS:
        raise InputError(f"channel {channel!r}: choose one of {', '.join(CONTACT_CHANNELS)}")
    if outcome not in CONTACT_OUTCOMES:
        raise InputError(f"outcome {outcome!r}: choose one of {', '.join(CONTACT_OUTCOMES)}")
    if case.status in ("resolved", "closed"):
        raise ConflictError(f"case {case.id} is {case.status}: reopen it to log a contact")
    now = now or utcnow()
    entry = add_entry(session, case, actor, "contact", new=outcome, body=summary,
                   detail={"channel": channel, "outcome": outcome}, at=now)
    if outcome == "reached" and case.status in ("new", "acknowledged", "reopened", "pending_customer"):
        old = case.status
        case.status = "contacted"
        add_entry(session, case, actor, "status", old, "contacted", at=now)
    case.updated_at = now
    _emit(session, CASE_UPDATED, case, change="contact")
    return entry


def set_priority(session: Session, case: Case, actor: Actor, priority: str, now: dt.datetime | None = None) -> Case:
    _may_work(actor, case)
    if actor.role == "agent":
        raise ForbiddenError("a team lead or a cx_manager changes a case's priority")
    now = now or utcnow()
    old, case.priority, case.updated_at = case.priority, _priority(priority), now
    add_entry(session, case, actor, "priority", old, case.priority, at=now)
    _emit(session, CASE_UPDATED, case, change="priority")
    return case


def escalate(session: Session, case: Case, level: int, reason: str, notified: list[str],
             now: dt.datetime | None = None) -> None:
    """An escalation step of the ladder (the job runner's), in the case's history."""
    now = now or utcnow()
    case.escalation_level = level
    add_entry(session, case, SYSTEM, "escalation", str(level - 1), str(level), body=reason,
           detail={"notified": notified}, at=now)
    _emit(session, CASE_BREACHED if level >= 2 else CASE_UPDATED, case, change=f"escalation:{level}")


def release_stale_keys(session: Session) -> int:
    """open_key must be NULL for every resolved/closed case (a repair for stores edited by hand)."""
    return session.execute(update(Case).where(Case.status.in_(("resolved", "closed")), Case.open_key.is_not(None))
                           .values(open_key=None)).rowcount or 0
