"""A customer's timeline: every response, interaction, feedback, invitation, case, note, offer and outcome, newest
first, with "before you talk" on top. One function (`timeline`) feeds `ws.timeline()`, `momenti customer show`,
`GET /api/v1/customers/{id}/timeline` and the `/customers/<id>` page.

Facts (responses, answers, events, feedback) are read from the warehouse, where a per-customer filter is a
columnar scan; the store keeps no per-customer index on them on purpose (every bulk import would pay it). What
staff write (cases, notes, offers) and the contact log (invitations, skips) are read from the store by index.
Free text is masked (PII replaced) on the way out, whoever reads it; staff notes are shown in full to staff who
work with customers (`full_notes`) and masked to anyone else.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.core.sql import sql_literal
from momenti.domains.loop.cases import Actor
from momenti.domains.loop.queue import CaseFilter, list_cases
from momenti.domains.story.notes import notes_of
from momenti.domains.story.offers import OfferRule, offers_of
from momenti.domains.story.offers import summary as offer_summary
from momenti.engines.text.pii import mask
from momenti.store.loop import Case, CaseEntry
from momenti.store.models import ContactSkip, Customer, Delivery, Invitation, Outcome, Unsubscribe
from momenti.warehouse.connection import WarehouseConnection

KINDS = ("response", "event", "feedback", "invitation", "case", "note", "offer", "outcome")
SCORES = ("nps", "csat", "ces")
CONTACT_CHANNELS = frozenset({"phone", "chat", "email", "branch", "sms", "social", "video", "letter"})


@dataclass(frozen=True)
class TimelineFilter:
    kinds: tuple[str, ...] = ()  # empty: every kind
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise InputError(f"kind {', '.join(bad)}: choose from {', '.join(KINDS)}")
        if not 1 <= self.limit <= 1000:
            raise InputError("limit: 1 to 1000")
        if self.offset < 0:
            raise InputError("offset: 0 or more")


@dataclass
class Story:
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    total: int
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"customer_id": self.summary.get("customer_id"), "summary": self.summary, "rows": self.rows,
                "total": self.total, "counts": self.counts}


def _masked(text: str | None) -> str | None:
    return None if text is None else mask(text).text


def _iso(ts: Any) -> Any:
    return ts.replace(tzinfo=None).isoformat(timespec="seconds") + "Z" if isinstance(ts, dt.datetime) else ts


# --- facts, from the warehouse --------------------------------------------------------------------------------


def _responses(wh: WarehouseConnection, who: str) -> list[dict[str, Any]]:
    heads = wh.rows(f"SELECT id, external_id, touchpoint, submitted_at, channel, language, partial FROM responses "
                    f"WHERE customer_id = {who}")
    answers: dict[int, dict[str, Any]] = {}
    for rid, question, num, text in wh.rows(
            f"SELECT response_id, question, value_num, value_text FROM answers WHERE customer_id = {who}"):
        answers.setdefault(rid, {})[question] = num if num is not None else _masked(text)
    out = []
    for rid, ext, tp, at, channel, language, partial in heads:
        given = answers.get(rid, {})
        out.append({"kind": "response", "ts": at, "id": ext, "touchpoint": tp, "channel": channel,
                    "language": language, "partial": bool(partial),
                    "scores": {k: given[k] for k in SCORES if k in given},
                    "answers": {k: v for k, v in given.items() if k not in SCORES}})
    return out


def _events(wh: WarehouseConnection, who: str) -> list[dict[str, Any]]:
    rows = wh.rows(f"SELECT external_id, timestamp, activity, touchpoint, channel, reason, agent, outcome, "
                   f"duration_s, case_id, id FROM events WHERE customer_id = {who}")
    return [{"kind": "event", "ts": ts, "id": ext, "activity": act, "touchpoint": tp, "channel": ch, "reason": rs,
             "agent": ag, "outcome": oc, "duration_s": du, "case_id": cid, "_order": i}
            for ext, ts, act, tp, ch, rs, ag, oc, du, cid, i in rows]


def _feedback(wh: WarehouseConnection, who: str) -> list[dict[str, Any]]:
    rows = wh.rows(f"SELECT external_id, created_at, source, text, rating, touchpoint, language FROM feedback "
                   f"WHERE customer_id = {who}")
    return [{"kind": "feedback", "ts": ts, "id": ext, "source": src, "text": _masked(text), "rating": rating,
             "touchpoint": tp, "language": lang} for ext, ts, src, text, rating, tp, lang in rows]


# --- what staff and the contact log wrote, from the store ---------------------------------------------------------


def _invitations(s: Session, customer: str) -> list[dict[str, Any]]:
    invs = list(s.scalars(select(Invitation).where(Invitation.customer_key == customer)))
    sends: dict[int, list[Delivery]] = {}
    if invs:
        for d in s.scalars(select(Delivery).where(Delivery.invitation_id.in_([i.id for i in invs]))
                           .order_by(Delivery.at)):
            sends.setdefault(d.invitation_id, []).append(d)
    out = [{"kind": "invitation", "ts": i.sent_at or i.planned_at or i.created_at, "id": i.id,
            "survey": i.survey_key, "channel": i.channel, "touchpoint": i.touchpoint, "status": i.status,
            "sent_at": i.sent_at, "reminded_at": i.reminded_at, "detail": i.detail, "language": i.language,
            "deliveries": [{"kind": d.kind, "status": d.status, "at": d.at, "detail": d.detail}
                           for d in sends.get(i.id, [])]} for i in invs]
    out += [{"kind": "invitation", "ts": k.at, "id": f"skip-{k.id}", "survey": k.survey_key, "status": "skipped",
             "reason": k.reason, "detail": k.detail}
            for k in s.scalars(select(ContactSkip).where(ContactSkip.customer_key == customer))]
    return out


def _cases(s: Session, customer: str, actor: Actor) -> list[dict[str, Any]]:
    rows, _ = list_cases(s, actor, CaseFilter(customer_id=customer, status="all", limit=500))
    if not rows:
        return []
    entries: dict[int, list[dict[str, Any]]] = {}
    for e in s.scalars(select(CaseEntry).where(CaseEntry.case_id.in_([r["id"] for r in rows]),
                                               CaseEntry.kind.in_(("note", "contact")))
                       .order_by(CaseEntry.at, CaseEntry.id)):
        entries.setdefault(e.case_id, []).append({"at": e.at, "actor": e.actor, "kind": e.kind,
                                                  "outcome": e.new_value, "text": e.body,
                                                  "channel": (e.detail or {}).get("channel")})
    return [{"kind": "case", "ts": r["opened_at"], "id": r["id"], "title": r["title"], "status": r["status"],
             "team": r["team"], "owner": r["owner"], "touchpoint": r["touchpoint"], "priority": r["priority"],
             "sla_state": r["sla_state"], "root_cause": r["root_cause"], "recovered": r["recovered"],
             "first_contact_due": r["first_contact_due"], "resolution_due": r["resolution_due"],
             "notes": [e for e in entries.get(r["id"], []) if e["kind"] == "note"],
             "contacts": [e for e in entries.get(r["id"], []) if e["kind"] == "contact"]} for r in rows]


def _outcome(s: Session, customer: str) -> list[dict[str, Any]]:
    o = s.scalar(select(Outcome).where(Outcome.customer_key == customer))
    if o is None or (o.end_date or o.start_date) is None:
        return []
    return [{"kind": "outcome", "ts": o.end_date if o.status == "churned" else (o.start_date or o.end_date),
             "status": o.status, "start_date": o.start_date, "end_date": o.end_date}]


# --- before you talk ---------------------------------------------------------------------------------------------


def _summary(s: Session, customer: str, rows: list[dict[str, Any]], open_cases: list[dict[str, Any]],
             offers: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    responses = sorted((r for r in rows if r["kind"] == "response"), key=lambda r: r["ts"], reverse=True)
    events = sorted((r for r in rows if r["kind"] == "event"), key=lambda r: r["ts"], reverse=True)
    last_scores = {}
    for k in SCORES:
        hit = next((r for r in responses if k in r["scores"]), None)
        if hit:
            last_scores[k] = {"value": hit["scores"][k], "at": hit["ts"], "touchpoint": hit["touchpoint"]}
    contacts = [e for e in events if (e["channel"] or "") in CONTACT_CHANNELS or e["reason"]]
    week = [e for e in contacts if e["ts"] >= now - dt.timedelta(days=7)]
    repeated = Counter(e["reason"] for e in week if e["reason"])
    customer_row = s.scalar(select(Customer).where(Customer.customer_key == customer))
    attrs = json.loads(customer_row.attributes) if customer_row and customer_row.attributes else {}
    opt_out = s.get(Unsubscribe, customer)
    languages = [r["language"] for r in responses if r.get("language")]
    channels = Counter(e["channel"] for e in contacts if e["channel"])
    lifecycle = attrs.get("lifecycle") or ("repeat" if len({r["ts"].date() for r in rows if r["kind"] in
                                                             ("response", "event")}) > 1 else "first-time")
    return {
        "customer_id": customer, "known": customer_row is not None or bool(rows),
        "first_seen": customer_row.first_seen if customer_row else None,
        "open_cases": [{k: c[k] for k in ("id", "title", "status", "team", "owner", "priority", "sla_state",
                                          "first_contact_due", "resolution_due")} for c in open_cases],
        "last_scores": last_scores,
        "last_contacts": [{k: e[k] for k in ("ts", "activity", "channel", "reason", "outcome", "agent")}
                          for e in contacts[:5]],
        "contacts_7d": len(week),
        "repeat_contacts_7d": [{"reason": r, "contacts": n} for r, n in repeated.most_common() if n > 1],
        "offers": offers,
        "do_not_propose": [o["offer"] for o in offers if not o["allowed"]],
        "language": languages[0] if languages else None,
        "preferred_channel": channels.most_common(1)[0][0] if channels else None,
        "opted_out": {"surveys": True, "at": opt_out.at, "source": opt_out.source} if opt_out else
                     {"surveys": False},
        "lifecycle": lifecycle,
        "loyalty_segment": attrs.get("loyalty_segment"),
        "attributes": attrs,
    }


def timeline(s: Session, wh: WarehouseConnection, customer: str, actor: Actor, rule: OfferRule,
             f: TimelineFilter = TimelineFilter(), full_notes: bool = True,
             now: dt.datetime | None = None) -> Story:
    """The customer's story: `rows` newest first (filtered, paged), `summary` from every row."""
    now = now or utcnow()
    who = sql_literal(customer)
    rows = [*_responses(wh, who), *_events(wh, who), *_feedback(wh, who), *_invitations(s, customer)]
    cases = _cases(s, customer, actor)
    rows += cases
    rows += [{"kind": "note", "ts": n.at, "id": n.id, "author": n.author, "team": n.team,
              "text": n.text if full_notes else _masked(n.text)} for n in notes_of(s, customer)]
    offers = offers_of(s, customer)
    rows += [{"kind": "offer", "ts": o.proposed_at, "id": o.external_id, "offer": o.offer, "channel": o.channel,
              "agent": o.agent, "outcome": o.outcome} for o in offers]
    rows += _outcome(s, customer)
    rows = [r for r in rows if r["ts"] is not None]
    open_cases = [c for c in cases if c["status"] not in ("resolved", "closed")]
    summary = _summary(s, customer, rows, open_cases, offer_summary(offers, rule, now), now)
    # newest first; events of one instant keep the log's order (reversed, as everything else is)
    rows.sort(key=lambda r: (r["ts"], r.get("_order", 0)), reverse=True)
    counts = dict(Counter(r["kind"] for r in rows))
    chosen = [r for r in rows if (not f.kinds or r["kind"] in f.kinds) and (f.start is None or r["ts"] >= f.start)
              and (f.end is None or r["ts"] < f.end)]
    page = chosen[f.offset:f.offset + f.limit]
    for r in page:
        r.pop("_order", None)
    return Story(summary=summary, rows=page, total=len(chosen), counts=counts)


def may_read(s: Session, wh: WarehouseConnection, customer: str, actor: Actor, scope: str = "team") -> bool:
    """Whether `actor` may read this customer's timeline: staff who manage every case may; an agent or a team
    lead only a customer with a case of their team, or a contact at a touchpoint their team owns (scope
    "team"; "all" lifts it)."""
    if actor.manages_all or actor.role not in ("agent", "team_lead") or scope == "all":
        return actor.role not in ("analyst", "viewer")
    team = actor.team
    if not team:
        return False
    if s.scalar(select(Case.id).where(Case.customer_key == customer, Case.team == team).limit(1)) is not None:
        return True
    from momenti.store.models import Touchpoint

    owned = list(s.scalars(select(Touchpoint.key).where(Touchpoint.owner_team == team)))
    if not owned:
        return False
    keys = ", ".join(sql_literal(k) for k in owned)
    return bool(wh.rows(f"SELECT 1 FROM events WHERE customer_id = {sql_literal(customer)} AND touchpoint IN ({keys}) "
                        f"UNION ALL SELECT 1 FROM responses WHERE customer_id = {sql_literal(customer)} "
                        f"AND touchpoint IN ({keys}) LIMIT 1"))


def jsonable(story: Story) -> dict[str, Any]:
    """The story with times as ISO 8601 UTC text ("...Z"): what the API, the CLI's JSON and the page share."""
    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, dt.datetime):
            return _iso(v)
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float) and v != v:  # NaN
            return None
        return v

    return conv(story.as_dict())
