"""What in the store meets a rule's condition: one set-based query per rule over the rows an event names.

The same functions serve the live path (an outbox event's id range, pipelines/loop.py) and the dry run (every
row since a date, `momenti rules test`), so what a manager tunes is what will run. Conditions on a comment or
on feedback read the text results, which the text subscriber writes before the alert subscriber runs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.orm import Session

from momenti.core.clock import as_datetime
from momenti.domains.loop.rules import Rule


@dataclass(frozen=True)
class Trigger:
    rule: str
    kind: str  # response | feedback | events
    source_id: int  # the store id of the row (for events: the last contact of the series)
    source_ref: str | None  # its external id
    customer_key: str | None
    touchpoint: str | None
    team: str | None  # the touchpoint's owner team
    at: dt.datetime
    detail: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # what makes it one trigger, when not the source row (a metric rule: tp@period)

    @property
    def dedup_key(self) -> str:
        return f"{self.rule}:{self.kind}:{self.key or self.source_id}"


@dataclass(frozen=True)
class Window:
    """Which rows to look at: an id range (an outbox event) or everything since a time (the dry run)."""

    first_id: int | None = None
    last_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _sql(sql: str, params: dict[str, Any]) -> Any:
    """The statement with its time parameters typed: SQLite keeps times as text in SQLAlchemy's format."""
    stmt = text(sql)
    times = [bindparam(k, type_=DateTime()) for k, v in params.items() if isinstance(v, dt.datetime)]
    return stmt.bindparams(*times) if times else stmt


def _range(alias: str, column: str, w: Window, params: dict[str, Any]) -> str:
    parts = []
    for name, value, clause in (("first_id", w.first_id, f"{alias}.id >= :first_id"),
                                ("last_id", w.last_id, f"{alias}.id <= :last_id"),
                                ("since", w.since, f"{alias}.{column} >= :since"),
                                ("until", w.until, f"{alias}.{column} < :until")):
        if value is not None:
            parts.append(clause)
            params[name] = value
    return " AND ".join(parts) or "1 = 1"


def _in(name: str, values: list[str], params: dict[str, Any]) -> str:
    keys = []
    for i, v in enumerate(values):
        params[f"{name}{i}"] = v
        keys.append(f":{name}{i}")
    return f"({', '.join(keys)})"


def _topics_clause(alias: str, topics: list[str], params: dict[str, Any]) -> str:
    # Topics are a JSON list in text; '"key"' is matched as a whole element.
    parts = []
    for i, t in enumerate(topics):
        params[f"topic{i}"] = f'%"{t}"%'
        parts.append(f"{alias}.topics LIKE :topic{i}")
    return "(" + " OR ".join(parts) + ")"


def response_triggers(session: Session, rule: Rule, window: Window, not_before: dt.datetime | None) -> list[Trigger]:
    cond = rule.response
    assert cond is not None
    params: dict[str, Any] = {"metric": cond.metric}
    where = [_range("r", "submitted_at", window, params), "q.kind = :metric", "a.value_num IS NOT NULL"]
    if cond.at_most is not None:
        where.append("a.value_num <= :at_most")
        params["at_most"] = cond.at_most
    if cond.at_least is not None:
        where.append("a.value_num >= :at_least")
        params["at_least"] = cond.at_least
    if cond.moments_of_truth:
        where.append("t.moment_of_truth = :mot")
        params["mot"] = True
    if cond.touchpoints:
        where.append("t.key IN " + _in("tp", cond.touchpoints, params))
    if not_before is not None:
        where.append("r.submitted_at >= :not_before")
        params["not_before"] = not_before
    if cond.comment is not None:
        sub = ["x.kind = 'answer'", "x.item_id = r.id"]
        if cond.comment.sentiment:
            sub.append("x.sentiment = :c_sentiment")
            params["c_sentiment"] = cond.comment.sentiment
        if cond.comment.topics:
            sub.append(_topics_clause("x", cond.comment.topics, params))
        where.append(f"EXISTS (SELECT 1 FROM text_results x WHERE {' AND '.join(sub)})")
    sql = f"""SELECT r.id, r.external_id, r.customer_key, r.submitted_at, t.key, t.owner_team, min(a.value_num)
              FROM responses r JOIN touchpoints t ON t.id = r.touchpoint_id
              JOIN answers a ON a.response_id = r.id JOIN questions q ON q.id = a.question_id
              WHERE {' AND '.join(where)}
              GROUP BY r.id, r.external_id, r.customer_key, r.submitted_at, t.key, t.owner_team
              ORDER BY r.id"""
    return [Trigger(rule.key, "response", int(row[0]), row[1], row[2], row[4], row[5], as_datetime(row[3]),
                    {"metric": cond.metric, "score": float(row[6])})
            for row in session.execute(_sql(sql, params), params)]


def feedback_triggers(session: Session, rule: Rule, window: Window, not_before: dt.datetime | None) -> list[Trigger]:
    cond = rule.feedback
    assert cond is not None
    params: dict[str, Any] = {"sentiment": cond.sentiment}
    where = [_range("f", "created_at", window, params), "x.sentiment = :sentiment"]
    if cond.topics:
        where.append(_topics_clause("x", cond.topics, params))
    if cond.sources:
        where.append("f.source IN " + _in("src", cond.sources, params))
    if not_before is not None:
        where.append("f.created_at >= :not_before")
        params["not_before"] = not_before
    sql = f"""SELECT f.id, f.external_id, f.customer_key, f.created_at, t.key, t.owner_team, x.topics
              FROM feedback f JOIN text_results x ON x.kind = 'feedback' AND x.item_id = f.id
              LEFT JOIN touchpoints t ON t.id = f.touchpoint_id
              WHERE {' AND '.join(where)} ORDER BY f.id"""
    return [Trigger(rule.key, "feedback", int(row[0]), row[1], row[2], row[4], row[5], as_datetime(row[3]),
                    {"topics": json.loads(row[6] or "[]"), "source_kind": "feedback"})
            for row in session.execute(_sql(sql, params), params)]


def repeat_triggers(session: Session, rule: Rule, window: Window, not_before: dt.datetime | None) -> list[Trigger]:
    """The contact that makes it the N-th for the same customer and reason within D days. The series around
    the new rows is read back (bounded by D days), and counted here: the date arithmetic is then the same on
    every database."""
    cond = rule.repeat_contacts
    assert cond is not None
    params: dict[str, Any] = {}
    where = [_range("e", "timestamp", window, params), "e.customer_key IS NOT NULL", "e.reason IS NOT NULL"]
    if cond.reasons:
        where.append("e.reason IN " + _in("rs", cond.reasons, params))
    if not_before is not None:
        where.append("e.timestamp >= :not_before")
        params["not_before"] = not_before
    new = [(r[0], r[1], r[2], as_datetime(r[3])) for r in session.execute(_sql(
        f"SELECT e.id, e.customer_key, e.reason, e.timestamp FROM events e WHERE {' AND '.join(where)}", params),
        params)]
    if not new:
        return []
    span = dt.timedelta(days=cond.within_days)
    pairs = {(r[1], r[2]) for r in new}
    lo = min(r[3] for r in new) - span
    hi = max(r[3] for r in new) + span
    series: dict[tuple[str, str], list[tuple[dt.datetime, int, str | None, str | None, str | None]]] = \
        defaultdict(list)
    customers = sorted({p[0] for p in pairs})
    for start in range(0, len(customers), 500):  # bounded IN lists
        chunk = customers[start:start + 500]
        p2: dict[str, Any] = {"lo": lo, "hi": hi}
        sql = ("SELECT e.customer_key, e.reason, e.timestamp, e.id, e.external_id, t.key, t.owner_team FROM events e "
               "LEFT JOIN touchpoints t ON t.id = e.touchpoint_id WHERE e.timestamp >= :lo AND e.timestamp <= :hi "
               f"AND e.reason IS NOT NULL AND e.customer_key IN {_in('c', chunk, p2)}")
        for c, reason, ts, eid, ref, tp, team in session.execute(_sql(sql, p2), p2):
            if (c, reason) in pairs:
                series[(c, reason)].append((as_datetime(ts), int(eid), ref, tp, team))
    new_ids = {int(r[0]) for r in new}
    out: list[Trigger] = []
    for (customer, reason), items in series.items():
        items.sort()
        j = 0
        for i, (ts, eid, ref, tp, team) in enumerate(items):
            while items[j][0] < ts - span:
                j += 1
            n = i - j + 1
            if eid in new_ids and n == cond.count:  # exactly the N-th: one trigger per series, not one per contact
                out.append(Trigger(rule.key, "events", eid, ref, customer, tp, team, ts,
                                   {"reason": reason, "contacts": n, "within_days": cond.within_days}))
    return sorted(out, key=lambda t: t.source_id)


def switch_triggers(session: Session, rule: Rule, window: Window, not_before: dt.datetime | None) -> list[Trigger]:
    """Contacts on an assisted channel within H hours after a failed self-service step of the same customer
    (a failed outcome, or an activity whose name says it failed): one trigger per such contact."""
    cond = rule.channel_switch
    assert cond is not None
    params: dict[str, Any] = {}
    where = [_range("e", "timestamp", window, params), "e.customer_key IS NOT NULL",
             "e.channel IN " + _in("to", cond.to_channels, params)]
    if not_before is not None:
        where.append("e.timestamp >= :not_before")
        params["not_before"] = not_before
    new = [(int(r[0]), r[1], r[2], as_datetime(r[3]), r[4], r[5], r[6]) for r in session.execute(_sql(
        "SELECT e.id, e.external_id, e.customer_key, e.timestamp, e.channel, t.key, t.owner_team FROM events e "
        f"LEFT JOIN touchpoints t ON t.id = e.touchpoint_id WHERE {' AND '.join(where)}", params), params)]
    if not new:
        return []
    span = dt.timedelta(hours=cond.within_hours)
    lo, hi = min(r[3] for r in new) - span, max(r[3] for r in new)
    failures: dict[str, list[tuple[dt.datetime, str, str]]] = defaultdict(list)
    customers = sorted({r[2] for r in new})
    words = [w.lower() for w in cond.failed_activities]
    for start in range(0, len(customers), 500):
        p2: dict[str, Any] = {"lo": lo, "hi": hi}
        sql = ("SELECT e.customer_key, e.timestamp, e.activity, e.outcome, e.channel FROM events e "
               f"WHERE e.timestamp >= :lo AND e.timestamp <= :hi AND e.channel IN {_in('fr', cond.from_channels, p2)} "
               f"AND e.customer_key IN {_in('c', customers[start:start + 500], p2)}")
        for c, ts, activity, outcome, channel in session.execute(_sql(sql, p2), p2):
            failed = (outcome or "").lower() in cond.failed_outcomes or any(w in (activity or "").lower()
                                                                            for w in words)
            if failed:
                failures[c].append((as_datetime(ts), activity, channel))
    out = []
    for eid, ref, customer, ts, channel, tp, team in new:
        before = [f for f in failures.get(customer, []) if ts - span <= f[0] < ts]
        if before:
            last = max(before)
            out.append(Trigger(rule.key, "events", eid, ref, customer, tp, team, ts,
                               {"switch": f"{last[2]} -> {channel}", "failed_step": last[1],
                                "failed_at": last[0].isoformat(), "within_hours": cond.within_hours}))
    return sorted(out, key=lambda t: t.source_id)


def event_triggers(session: Session, rule: Rule, window: Window, not_before: dt.datetime | None) -> list[Trigger]:
    finder = repeat_triggers if rule.repeat_contacts is not None else switch_triggers
    return finder(session, rule, window, not_before)


FINDERS = {"response": response_triggers, "feedback": feedback_triggers, "events": event_triggers}
# The outbox kind each rule type listens to (metric rules listen to none: the daily job runs them).
EVENT_KINDS = {"response": "response.committed", "feedback": "feedback.received", "events": "event.recorded",
               "metric": ""}


def find(session: Session, rule: Rule, window: Window, now: dt.datetime | None = None) -> list[Trigger]:
    """The triggers of `rule` in `window`; with `now`, only those younger than the rule's max_age_days."""
    not_before = now - dt.timedelta(days=rule.max_age_days) if now is not None else None
    return FINDERS[rule.on](session, rule, window, not_before)


def dry_run(session: Session, doc: Any, since: dt.datetime, until: dt.datetime | None = None,
            metric_finder: Any = None) -> list[dict[str, Any]]:
    """What each rule of `doc` (a RulesDocument) would have done on the rows since `since`: its triggers, the
    cases they would have opened (one open case per customer and rule, as if none was resolved meanwhile,
    so an upper bound of the queue) and the customers concerned. Metric rules need `metric_finder(rule, since,
    until)` (the workspace's compare test: domains/loop/metric_rules.py). Nothing is written."""
    window = Window(since=since, until=until)
    out = []
    for rule in doc.rules:
        if rule.on == "metric":
            found = metric_finder(rule, since, until) if metric_finder is not None else []
        else:
            found = FINDERS[rule.on](session, rule, window, None)
        customers = {t.customer_key for t in found if t.customer_key}
        anonymous = sum(1 for t in found if not t.customer_key)
        teams: dict[str, int] = defaultdict(int)
        for t in {(t.customer_key or f"\x00{t.source_id}"): t for t in found}.values():
            teams[t.team or "–"] += 1
        out.append({"rule": rule.key, "on": rule.on, "enabled": rule.enabled, "triggers": len(found),
                    "cases": (len(customers) + anonymous) if rule.open_case else 0,
                    "alerts": len(found) if rule.open_case is None else 0, "customers": len(customers),
                    "by_team": dict(sorted(teams.items(), key=lambda kv: -kv[1]))})
    return out
