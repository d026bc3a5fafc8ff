"""The dispatcher: delivers the outbox's events (store/outbox.py) at least once to each registered subscriber.

A subscriber is a name, the event kinds it wants and a handler `handle(ctx, events)`; `ctx` is the workspace
(duck-typed: this layer does not import it). The dispatcher reads each subscriber's undelivered events, calls
its handler, and only then records the deliveries: a crash in between hands the same events over again, so
every handler must be idempotent (the warehouse sync moves by watermark; the text analysis takes what is not
analysed yet). Subscribers run in registration order and a failure stops the run (the warehouse sync must
succeed before the text analysis reads the warehouse); the failed subscriber and those after it get the same
events at the next run.

Register a subscriber with `@subscriber("name", kinds=...)` in a module imported by `load_subscribers()`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text

from momenti.store.outbox import SURVEY_COMPLETED, TABLE_KINDS
from momenti.store.turns import write_turn

log = logging.getLogger("momenti.events")
BATCH = 5_000  # events handed to a subscriber per call: a long backlog is handled in bounded steps


class Context(Protocol):
    """What the handlers use of the workspace."""

    engine: Any
    settings: Any

    def sync(self) -> Any: ...

    def text_analyze(self) -> dict: ...


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Subscriber:
    name: str
    kinds: frozenset[str]
    handle: Callable[[Context, list[Event]], object]
    always: bool = False  # called even with no event (work that other writes also signal, e.g. new questions)


REGISTRY: dict[str, Subscriber] = {}


def subscriber(name: str, kinds: Iterable[str], always: bool = False
               ) -> Callable[[Callable[[Context, list[Event]], object]], Callable[[Context, list[Event]], object]]:
    """Register `handle` as subscriber `name` of the event `kinds` (replacing one of the same name)."""
    def register(handle: Callable[[Context, list[Event]], object]) -> Callable[[Context, list[Event]], object]:
        REGISTRY[name] = Subscriber(name, frozenset(kinds), handle, always)
        return handle
    return register


def unsubscribe(name: str) -> None:
    REGISTRY.pop(name, None)


def pending(engine: Any, sub: Subscriber, limit: int | None = None, after: int = 0) -> list[Event]:
    """The subscriber's events not delivered yet, oldest first; only those after event id `after` when given
    (the next batch of one dispatch run: without it each batch of a long backlog would probe the whole outbox
    again)."""
    if not sub.kinds:
        return []
    kinds = {f"k{i}": k for i, k in enumerate(sorted(sub.kinds))}
    sql = text(f"""SELECT o.id, o.kind, o.payload FROM outbox o
                   WHERE o.kind IN ({', '.join(':' + k for k in kinds)}) AND o.id > :after
                   AND NOT EXISTS (SELECT 1 FROM outbox_delivered d WHERE d.subscriber = :s AND d.event_id = o.id)
                   ORDER BY o.id LIMIT {int(limit or BATCH)}""")
    with engine.connect() as conn:
        rows = conn.execute(sql, {"s": sub.name, "after": int(after), **kinds}).all()
    return [Event(int(r[0]), r[1], r[2] if isinstance(r[2], dict) else json.loads(r[2] or "{}")) for r in rows]


def mark_delivered(engine: Any, name: str, events: list[Event]) -> None:
    if not events:
        return
    with write_turn(engine), engine.begin() as conn:  # the ingest writers' turn too (store/turns.py)
        conn.execute(text("INSERT INTO outbox_delivered (subscriber, event_id) VALUES (:s, :e) "
                          "ON CONFLICT DO NOTHING"), [{"s": name, "e": e.id} for e in events])


def dispatch(ctx: Context, names: Iterable[str] | None = None) -> dict[str, object]:
    """Deliver every undelivered event to each subscriber (or only `names`); {subscriber: its last result}.
    Raises the first handler error (after logging it); what was delivered before it stays delivered."""
    load_subscribers()
    chosen = [REGISTRY[n] for n in names] if names is not None else list(REGISTRY.values())
    results: dict[str, object] = {}
    for sub in chosen:
        first, after = True, 0
        while True:
            # Batches after the first start past the last one: an event committed meanwhile with a lower id
            # (PostgreSQL hands ids out before commit) is found by the next run's first batch, which starts at 0.
            events = pending(ctx.engine, sub, after=after)
            if not events and not (first and sub.always):
                break
            try:
                results[sub.name] = sub.handle(ctx, events)
            except Exception:
                log.exception("subscriber %s failed on %d event(s); they are delivered again next run",
                              sub.name, len(events))
                raise
            mark_delivered(ctx.engine, sub.name, events)
            first, after = False, events[-1].id if events else after
            if len(events) < BATCH:
                break
    return results


def backlog(engine: Any) -> dict[str, int]:
    """Undelivered events per subscriber (`momenti jobs`, /health)."""
    load_subscribers()
    return {name: len(pending(engine, sub, limit=1_000_000)) for name, sub in REGISTRY.items()}


# -- the built-in subscribers ------------------------------------------------------------------------------

_loaded = False


def load_subscribers() -> None:
    """Register the built-in subscribers (once). Later ones (alert rules, cases, webhooks) go here too."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    subscriber("warehouse", set(TABLE_KINDS.values()) | {SURVEY_COMPLETED}, always=True)(_sync_warehouse)
    subscriber("text", {TABLE_KINDS["responses"], TABLE_KINDS["feedback"]})(_analyse_text)
    # After the text analysis: a rule may ask for a comment's sentiment. Webhooks last: they deliver the
    # case events the alert rules have just written, in the same run.
    from momenti.pipelines import loop

    subscriber("alerts", loop.ALERT_KINDS)(loop.evaluate_rules)
    subscriber("webhooks", loop.WEBHOOK_KINDS)(loop.queue_deliveries)
    subscriber("recovery", loop.RECOVERY_KINDS)(loop.send_recovery)
    subscriber("notify", loop.NOTIFY_KINDS)(loop.notify_staff)


def _sync_warehouse(ctx: Context, events: list[Event]) -> object:
    # Idempotent by construction: the sync appends what is beyond the warehouse's watermark, whatever the events.
    return ctx.sync()


def _analyse_text(ctx: Context, events: list[Event]) -> object:
    # Incremental: only items without a text result are analysed, so a repeated delivery analyses nothing twice.
    if not events or not ctx.settings.text_auto:
        return None
    return ctx.text_analyze()
