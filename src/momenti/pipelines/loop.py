"""The closed loop in the background: alert rules evaluated on the outbox's events, webhook deliveries, and
the jobs that attempt deliveries and climb the SLA escalation ladder.

Subscribers (registered by pipelines/events.py after the warehouse and the text analysis, so a comment's
sentiment is known when a rule asks for it):
- `alerts`: for each new response / feedback / event batch, each enabled rule's triggers in the batch's id
  range (domains/loop/triggers.py) open or extend cases (domains/loop/cases.py); idempotent through the
  triggers' dedup keys, so an event handed over twice opens nothing twice.
- `webhooks`: every case.* / *.alert event becomes one delivery per subscribed endpoint, attempted at once by
  a `webhook_attempt` job; each failed attempt schedules the next one after the retry schedule.
- `recovery`: the recovery survey of a case just resolved (domains/loop/recovery.py).
- `notify`: staff e-mails of the rules that ask for them (domains/loop/notify.py).
Jobs (registered on the workspace's JobRunner by `register_jobs`): `webhook_attempt`, `webhook_sweep` (every
minute: due deliveries whose job was lost), `sla_escalation` (every five minutes), `staff_notify` (every
minute: e-mails held by quiet hours) and `staff_digest` (daily).
"""

from __future__ import annotations

import logging
from typing import Any

from momenti.core.clock import utcnow

log = logging.getLogger("momenti.loop")

ALERT_KINDS = frozenset({"response.committed", "feedback.received", "event.recorded"})
RECOVERY_KINDS = frozenset({"case.updated"})
NOTIFY_KINDS = frozenset({"case.opened", "response.alert", "feedback.alert", "events.alert", "metric.alert"})
WEBHOOK_KINDS = frozenset({"case.opened", "case.updated", "case.breached", "response.alert", "feedback.alert",
                           "events.alert", "metric.alert"})


def evaluate_rules(ctx: Any, events: list[Any]) -> dict[str, int]:
    """Open cases (or emit alerts) for the triggers in the events' rows. {'opened': n, 'added': n, 'alerts': n}."""
    from momenti.domains.loop import cases, recovery, rules, triggers

    counts = {"opened": 0, "added": 0, "alerts": 0, "recovery_answers": 0}
    if not events or not getattr(ctx.settings, "rules_auto", True):
        return counts
    with ctx.session() as s, s.begin():
        for e in events:  # answers to a recovery survey name their case (hidden case_id): link them first
            if e.kind == "response.committed" and "first_id" in e.payload:
                counts["recovery_answers"] += recovery.link_answers(s, int(e.payload["first_id"]),
                                                                    int(e.payload["last_id"]))
        active = rules.active_rules(s)
        if active is None:
            return counts
        now = utcnow()
        live = [r for r in active.document.rules if r.enabled]
        for e in events:
            if e.id <= active.from_event_id or "first_id" not in e.payload:
                continue  # before the rules were applied, or an upsert batch (customers) naming no rows
            window = triggers.Window(first_id=int(e.payload["first_id"]), last_id=int(e.payload["last_id"]))
            batch: list[Any] = []
            alerts: list[Any] = []
            for rule in live:
                if triggers.EVENT_KINDS[rule.on] != e.kind:
                    continue
                for trig in triggers.find(s, rule, window, now):
                    if rule.open_case is not None:
                        batch.append((trig, rule))
                    elif rule.notify is not None and rule.notify.webhooks:
                        alerts.append((rule, trig))
            counts["alerts"] += _emit_alerts(s, alerts)
            for outcome, n in cases.open_many(s, batch, active, now).items():
                counts[outcome] = counts.get(outcome, 0) + n
    if counts["opened"] or counts["added"]:
        log.info("alert rules: %d case(s) opened, %d trigger(s) added to open cases", counts["opened"],
                 counts["added"])
    return counts


def queue_deliveries(ctx: Any, events: list[Any]) -> int:
    """Deliveries for the events; attempted now through the job runner when this process has one (else the
    minute's sweep of a running server or worker takes them)."""
    from momenti.domains.loop import webhooks

    if not events:
        return 0
    with ctx.session() as s, s.begin():
        ids = webhooks.enqueue_events(s, ctx.settings, [(e.id, e.kind, e.payload) for e in events])
    runner = getattr(ctx, "job_runner", None)
    if runner is not None:
        for delivery_id in ids:
            runner.tasks["webhook_attempt"](delivery_id)
    return len(ids)


def send_recovery(ctx: Any, events: list[Any]) -> dict[str, int]:
    """The recovery survey of the cases just resolved or closed (domains/loop/recovery.py)."""
    from momenti.domains.loop import recovery

    ids = sorted({int(e.payload["case_id"]) for e in events
                  if str(e.payload.get("change", "")) in ("status:resolved", "status:closed")})
    return recovery.send(ctx, ids) if ids else {}


def notify_staff(ctx: Any, events: list[Any]) -> dict[str, int]:
    """E-mails to staff for the rules that ask (domains/loop/notify.py): queued once per user and event, the
    immediate ones sent now, the rest by the `staff_notify` and `staff_digest` jobs."""
    from momenti.domains.loop import notify

    if not events:
        return {}
    with ctx.session() as s, s.begin():
        written = notify.queue(s, ctx.settings, [(e.id, e.kind, e.payload) for e in events])
    return notify.send_due(ctx) if written else {}


# -- jobs -------------------------------------------------------------------------------------------------


def register_jobs(runner: Any) -> None:
    from huey import crontab

    runner.task(lambda delivery_id: webhook_attempt(runner, delivery_id), "webhook_attempt", retries=0)
    runner.task(lambda: webhook_sweep(runner), "webhook_sweep", periodic=crontab(minute="*"))
    runner.task(lambda: sla_escalation(runner.ws), "sla_escalation", periodic=crontab(minute="*/5"))
    runner.task(lambda: _staff(runner.ws, False), "staff_notify", periodic=crontab(minute="*"))
    runner.task(lambda: metric_rules(runner.ws), "metric_rules", periodic=crontab(minute="30", hour="5"))
    runner.task(lambda: _staff(runner.ws, True), "staff_digest", periodic=crontab(minute="0", hour="7"))


def metric_rules(ws: Any, today: Any = None) -> dict[str, int]:
    """The metric rules on the last complete period against the one before (daily; at most one case or alert
    per rule, touchpoint and period)."""
    import datetime as dt

    from sqlalchemy import text

    from momenti.domains.loop import cases, rules
    from momenti.domains.loop.metric_rules import complete_periods, drops

    counts = {"opened": 0, "alerts": 0}
    with ws.session() as s:
        active = rules.active_rules(s)
    if active is None:
        return counts
    today = today or dt.datetime.now(dt.UTC).date()
    for rule in active.document.rules:
        if rule.on != "metric" or not rule.enabled:
            continue
        found = drops(ws, rule, complete_periods(rule.metric_drop.period, today))
        with ws.session() as s, s.begin():
            if rule.open_case is not None:  # the trigger's key (touchpoint@period) makes each one case at most
                counts["opened"] += cases.open_many(s, [(t, rule) for t in found], active)["opened"]
                continue
            for trig in found:
                seen = s.execute(text("SELECT 1 FROM outbox WHERE kind = 'metric.alert' AND payload LIKE :k "
                                      "AND payload LIKE :r"), {"k": f'%"key":"{trig.key}"%',
                                                               "r": f'%"rule":"{rule.key}"%'}).first()
                if seen is None:
                    counts["alerts"] += _emit_alerts(s, [(rule, trig)])
    return counts


def _emit_alerts(session: Any, found: list[tuple[Any, Any]]) -> int:
    """The `<on>.alert` events of notify-only rules' triggers, one multi-row insert: ids and labels only."""
    from sqlalchemy import text

    from momenti.store.outbox import EMIT_SQL, emit_sql

    rows = [emit_sql(f"{rule.on}.alert", {"rule": rule.key, "source": trig.kind, "source_id": trig.source_id,
                                          "touchpoint": trig.touchpoint, "team": trig.team,
                                          **({"key": trig.key} if trig.key else {})})[1]
            for rule, trig in found]
    if rows:
        session.execute(text(EMIT_SQL), rows)
    return len(rows)


def _staff(ws: Any, digest: bool) -> dict[str, int]:
    # Every minute: what waited for the end of quiet hours; at 07:00 UTC (08:00 or 09:00 in Rome): the digests.
    from momenti.domains.loop import notify

    return notify.send_due(ws, digest=digest)


def webhook_attempt(runner: Any, delivery_id: int) -> Any:
    from momenti.domains.loop import webhooks

    result = webhooks.attempt(runner.ws.engine, runner.settings, int(delivery_id))
    if result is not None and result.next_delay_s is not None:
        task = runner.tasks["webhook_attempt"]
        if result.next_delay_s <= 0:
            task(delivery_id)
        else:
            task.schedule(args=(delivery_id,), delay=result.next_delay_s)
    return result


def webhook_sweep(runner: Any) -> int:
    from momenti.domains.loop import webhooks

    with runner.ws.session() as s:
        ids = webhooks.due(s)
    for delivery_id in ids:
        runner.tasks["webhook_attempt"](delivery_id)
    return len(ids)


def sla_escalation(ws: Any) -> dict[str, int]:
    """The ladder: at risk -> remind the owner (level 1); breached -> the team lead (2); breached for 24 h ->
    the cx_manager (3). Each step once per case, in its history; e-mail when SMTP is configured."""
    from momenti.domains.loop import escalation

    with ws.session() as s, s.begin():
        return escalation.run(s, ws.settings, utcnow())
