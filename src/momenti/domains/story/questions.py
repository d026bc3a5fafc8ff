"""The Workspace's methods of the customer's story and the team's week: `ws.timeline()`, `ws.offer_check()`,
`ws.log_offer()`, `ws.add_customer_note()`, `ws.find_customers()`, `ws.review_add()`, `ws.reviews()`,
`ws.review_improvements()`. The CLI, the REST API and the pages call these (or the functions they wrap)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select

from momenti.core.args import as_date
from momenti.core.errors import ForbiddenError, InputError, MomentiError
from momenti.core.sql import sql_literal
from momenti.domains import audit
from momenti.domains.loop.cases import Actor
from momenti.domains.story import notes, offers, review
from momenti.domains.story.timeline import TimelineFilter, jsonable, may_read, timeline
from momenti.store.access import Team
from momenti.store.models import Customer, Touchpoint

CLI = Actor("cli")


class StoryQuestions:
    """Mixed into the Workspace: needs `settings`, `session()`, `warehouse()` and `compare()`."""

    def story(self, customer_id: str, actor: Actor = CLI, kinds: Sequence[str] = (), start: Any = None,
              end: Any = None, limit: int = 100, offset: int = 0, full_notes: bool = True, audit_as: str | None = None,
              ip: str | None = None) -> dict[str, Any]:
        """The timeline as JSON-ready data: {"customer_id", "summary", "rows", "total", "counts"}. Refused
        (ForbiddenError) for a role that may not read this customer; every read is written to the audit log."""
        f = TimelineFilter(kinds=tuple(kinds), start=_when(start), end=_when(end, end=True), limit=limit,
                           offset=offset)
        settings = self.settings  # type: ignore[attr-defined]
        with self.warehouse() as wh:  # type: ignore[attr-defined]
            with self.session() as s, s.begin():  # type: ignore[attr-defined]
                allowed = may_read(s, wh, customer_id, actor, settings.timeline_agent_scope)
                if not allowed:  # the refusal is recorded (and committed) before the error leaves
                    audit.record(s, audit_as or actor.name, "timeline.refused", self._ref(customer_id), ip=ip)
            if not allowed:
                raise ForbiddenError("this customer's timeline is not open to you: agents and team leads read the "
                                     "customers with a case or a contact of their team")
            with self.session() as s, s.begin():  # type: ignore[attr-defined]
                story = timeline(s, wh, customer_id, actor, offers.OfferRule.of(settings), f, full_notes=full_notes)
                audit.record(s, audit_as or actor.name, "timeline.read", self._ref(customer_id),
                             {"rows": len(story.rows)}, ip=ip)
            if not story.summary.get("loyalty_segment"):
                story.summary["loyalty_segment"] = self._segment(wh, customer_id)
        return jsonable(story)

    def _ref(self, customer_id: str) -> str:
        """The audit log's name of the customer: their pseudonym, never the id (domains/privacy)."""
        return self.customer_ref(customer_id)  # type: ignore[attr-defined]

    def _segment(self, wh: Any, customer_id: str) -> str | None:
        """The customer's loyalty segment from their latest complete loyalty battery (truly_loyal, price_driven,
        other), None without one (or without the battery's questions in this workspace)."""
        from momenti.insights.loyalty.questions import SEGMENT_PLACEHOLDER

        try:
            sql = self.loyalty_segment_sql(wh)  # type: ignore[attr-defined]
            rows = wh.rows(sql.replace(sql_literal(SEGMENT_PLACEHOLDER), sql_literal(customer_id)))
        except MomentiError:
            return None
        return str(rows[-1][-1]) if rows else None

    def timeline(self, customer_id: str, kinds: Sequence[str] = (), start: Any = None, end: Any = None,
                 limit: int = 1000, offset: int = 0) -> pd.DataFrame:
        """The customer's timeline, newest first: one row per item with `kind` (response, event, feedback,
        invitation, case, note, offer, outcome), `ts` and the item's fields (comments masked)."""
        doc = self.story(customer_id, kinds=kinds, start=start, end=end, limit=limit, offset=offset)
        frame = pd.DataFrame(doc["rows"])
        if not frame.empty:
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None)
        frame.attrs["summary"] = doc["summary"]
        return frame

    def offer_check(self, customer_id: str, offer: str) -> dict[str, Any]:
        """{"allowed", "reason", ...}: may `offer` be proposed to the customer (the offer rule, settings
        offer_lookback_days and offer_max_declines)?"""
        with self.session() as s:  # type: ignore[attr-defined]
            return offers.check(s, customer_id, offer, offers.OfferRule.of(self.settings))  # type: ignore[attr-defined]

    def log_offer(self, customer_id: str, offer: str, outcome: str = "pending", channel: str | None = None,
                  actor: Actor = CLI) -> dict[str, Any]:
        """Record an offer proposed to the customer; the answer carries the rule's verdict before it
        (`warning` when it should not have been proposed)."""
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            row, before = offers.log_offer(s, customer_id, offer, outcome, actor.name, channel,
                                           rule=offers.OfferRule.of(self.settings))  # type: ignore[attr-defined]
            audit.record(s, actor.name, "offer.log", self._ref(customer_id), {"offer": row.offer})
        return {"offer_id": row.external_id, "offer": row.offer, "outcome": row.outcome,
                "warning": None if before["allowed"] else before["reason"]}

    def add_customer_note(self, customer_id: str, text: str, actor: Actor = CLI) -> dict[str, Any]:
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            note = notes.add_note(s, customer_id, actor.name, text, actor.team)
            audit.record(s, actor.name, "customer.note", self._ref(customer_id))
            return {"id": note.id, "at": note.at, "author": note.author}

    def find_customers(self, q: str, limit: int = 20) -> pd.DataFrame:
        """Customers whose id starts with `q`, or who have an attribute equal to `q` (an e-mail hash, a CRM
        id...): customer_id, first_seen, matched."""
        q = (q or "").strip()
        if not q:
            raise InputError("q: give a customer id, an e-mail hash or an attribute value")
        with self.session() as s:  # type: ignore[attr-defined]
            ids = list(s.execute(select(Customer.customer_key, Customer.first_seen)
                                 .where(Customer.customer_key.startswith(q, autoescape=True))
                                 .order_by(Customer.customer_key).limit(limit)))
        rows = [{"customer_id": k, "first_seen": f, "matched": "id"} for k, f in ids]
        if len(rows) < limit:
            with self.warehouse() as wh:  # type: ignore[attr-defined]
                hits = wh.rows(f"SELECT a.customer_id, min(a.attr) FROM customer_attributes a "
                               f"WHERE a.value = {sql_literal(q)} GROUP BY 1 ORDER BY 1 LIMIT {int(limit)}")
            seen = {r["customer_id"] for r in rows}
            rows += [{"customer_id": k, "first_seen": None, "matched": f"attribute {a}"} for k, a in hits
                     if k not in seen][:limit - len(rows)]
        return pd.DataFrame(rows, columns=["customer_id", "first_seen", "matched"])

    # --- the weekly review -----------------------------------------------------------------------------------

    def review_add(self, team: str, week: str | dt.date, what: str, value: int, ease: int, pleasantness: int,
                   touchpoints: Sequence[str] | str = (), case_ids: Sequence[int] = (), improvement: bool = False,
                   evidence: str | None = None, external_id: str | None = None, actor: Actor = CLI,
                   ) -> dict[str, Any]:
        """Record one activity of a team's week (ratings 1-5); no touchpoint: work that reached no customer."""
        if isinstance(touchpoints, str):
            touchpoints = [t for t in touchpoints.split(",") if t.strip()]
        _may_review(actor, team)
        with self.session() as s, s.begin():  # type: ignore[attr-defined]
            row, created = review.add_activity(s, review.ActivityCreate(
                team=team, week=week, what=what, value=value, ease=ease, pleasantness=pleasantness,
                touchpoints=tuple(touchpoints), case_ids=tuple(case_ids), improvement=improvement, evidence=evidence,
                external_id=external_id), actor.name)
            if created:
                audit.record(s, actor.name, "review.add", f"team {team}", {"week": review.week_label(row.week_start)})
            return {**review.as_dict(row), "created": created}

    def reviews(self, team: str | None = None, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Per ISO week and team: activities, customer_activities, customer_share (fraction, Wilson interval),
        value/ease/pleasantness (means of the customer activities; *_all of every activity), improvements.
        Without `team`, also team "all" per week."""
        with self.session() as s:  # type: ignore[attr-defined]
            rows = review.weekly(s, team, as_date(start) if start else None, as_date(end) if end else None,
                                 self.settings.confidence)  # type: ignore[attr-defined]
        return pd.DataFrame(rows)

    def review_activities(self, team: str | None = None, start: Any = None, end: Any = None) -> pd.DataFrame:
        with self.session() as s:  # type: ignore[attr-defined]
            rows = [review.as_dict(a) for a in review.activities(s, team, as_date(start) if start else None,
                                                                  as_date(end) if end else None)]
        return pd.DataFrame(rows)

    def review_improvements(self, team: str | None = None, start: Any = None, end: Any = None,
                            weeks: int = 8) -> pd.DataFrame:
        """Each improvement beside its touchpoint's metric (the touchpoint's target metric, else NPS) in the
        `weeks` weeks before and after it: the compare query's figures, interval and significance."""
        if not 1 <= weeks <= review.MAX_COMPARE_WEEKS:
            raise InputError(f"weeks must be between 1 and {review.MAX_COMPARE_WEEKS}, not {weeks}")
        with self.session() as s:  # type: ignore[attr-defined]
            acts = [a for a in review.activities(s, team, as_date(start) if start else None,
                                                 as_date(end) if end else None) if a.improvement]
            metrics = dict(s.execute(select(Touchpoint.key, Touchpoint.target_metric)).all())
        out = []
        for a in acts:
            for tp in a.touchpoints:
                metric = (metrics.get(tp) or "nps").lower()
                before, after = review.improvement_windows(a.week_start, weeks)
                base = {"id": a.id, "team": a.team, "week": review.week_label(a.week_start), "what": a.what,
                        "touchpoint": tp, "metric": metric, "before": before, "after": after}
                cmp = self.compare(metric, filters={"touchpoint": [tp]}, periods=(before, after))  # type: ignore[attr-defined]
                if cmp.empty:
                    out.append({**base, "n_a": 0, "n_b": 0})
                else:
                    got = cmp.iloc[0].to_dict()
                    got["value_a"], got["value_b"] = got.pop(f"{metric}_a", None), got.pop(f"{metric}_b", None)
                    out.append({**base, **got})
        return pd.DataFrame(out)

    def teams(self) -> list[dict[str, Any]]:
        with self.session() as s:  # type: ignore[attr-defined]
            zones = dict(s.execute(select(Team.name, Team.timezone)).all())
            return [{"team": t, "timezone": zones.get(t, "Europe/Rome")} for t in review.known_teams(s)]


def _may_review(actor: Actor, team: str) -> None:
    if actor.role in ("team_lead",) and actor.team != team:
        raise ForbiddenError(f"a team lead records the review of their own team ({actor.team}), not of {team}")
    if actor.role in ("agent", "analyst", "viewer"):
        raise ForbiddenError("the weekly review is recorded by team leads and CX managers")


def _when(value: Any, end: bool = False) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    day = as_date(value)
    start = dt.datetime.combine(day, dt.time())
    return start + dt.timedelta(days=1) if end else start
