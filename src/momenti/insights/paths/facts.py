"""Journey facts: the event log pre-shaped for process mining, maintained at warehouse sync.

Computing a directly-follows graph from raw events means ordering every case (a window LEAD over the whole
log) and variants mean an ordered list aggregation per case: measured on 1 M events that is barely faster
than pm4py. So, for the default case notion (the log's `case_id`), the sync materialises once:

- `journey_activities`: activity -> small integer code (appended as new activities appear);
- `journey_steps`: one row per event with its position in the case, the next activity and the seconds to it;
- `journey_cases`: one row per case with first/last activity, length, duration and its variant key (the
  activity names in order, joined by the unit separator).

Then the DFG is a group-by over (act, next_act) and variants a group-by over cases. Events that reach the
warehouse after their case was materialised (late events) re-materialise that whole case: the case's rows are
deleted and rebuilt from `events`, so the facts always equal a computation from scratch.

Order inside a case: by timestamp, ties broken by the warehouse event id (import order), a stable order, the
same rule as pm4py's stable sort by timestamp. Events without a case_id are not in these tables (the per-
customer case notions, computed on the fly in momenti.insights.paths.mining, include them).

The builders here (`build_steps`, `build_cases`) are Ibis expressions shared with the on-the-fly case notions,
so the same code runs on DuckDB and on PostgreSQL.
"""

from __future__ import annotations

import ibis

from momenti.warehouse import meta
from momenti.warehouse.connection import WarehouseConnection
from momenti.warehouse.feeds import Feed, register
from momenti.warehouse.lock import WAREHOUSE_LOCK

WATERMARK_KEY = "journey_facts_upto"  # in _meta: the largest events.id already materialised
# In _meta: the watermark the whole-log rollups were built at. The key names the rollups' layout: a warehouse
# whose rollups predate it (no variant codes, no activity counts) has them rebuilt at the next refresh.
ROLLUPS_KEY = "journey_rollups_v2_upto"
VARIANT_SEP = "\x1f"  # variant keys: activity names joined by the ASCII unit separator


def build_steps(ev: ibis.Table) -> ibis.Table:
    """(event_id, case_id, customer_id, ts, act, channel, touchpoint) -> the same plus pos (0-based),
    next_act and delta_s (seconds to the next event of the case; null on the last event)."""
    w = ibis.window(group_by=ev.case_id, order_by=[ev.ts, ev.event_id])
    t = ev.mutate(pos=ibis.row_number().over(w), next_act=ev.act.lead().over(w), _next_ts=ev.ts.lead().over(w))
    return t.select("event_id", "case_id", "customer_id", "ts", "act", "pos", "next_act",
                    delta_s=t._next_ts.delta(t.ts, unit="microsecond").cast("float64") / 1e6,
                    channel=t.channel, touchpoint=t.touchpoint)


def in_order(values: ibis.Column, order: ibis.Column, ordered: bool = True) -> ibis.ArrayValue:
    """The values of a group as an array, in `order` (unique within the group). `ordered`: with an ordered
    aggregation (DuckDB, PostgreSQL); else (Spark has none) as (order, value) pairs collected, sorted and
    mapped back to their values."""
    if ordered:
        return values.collect(order_by=order)
    return ibis.struct({"o": order, "v": values}).collect().sort().map(lambda pair: pair["v"])


def build_cases(steps: ibis.Table, names: ibis.Table | None = None, ordered: bool = True) -> ibis.Table:
    """One row per case: customer (of its first event), start/end, n_events, first/last activity, variant key
    and duration in seconds. The variant key is the activity *names* in order, joined by VARIANT_SEP: grouping
    on it costs the same as on codes, and reading a variant back is then a plain split (no per-step lookups,
    which dominate the time of listing tens of thousands of variants). `names`: the code -> name dictionary
    when `act` holds codes. `ordered`: the engine has ordered aggregations (not Spark: see `in_order`)."""
    s = steps
    label = s.act
    if names is not None:
        s = s.join(names, s.act == names.code)
        label = s.activity
    c = s.group_by("case_id").aggregate(
        customer_id=s.customer_id.min(where=s.pos == 0), start_ts=s.ts.min(), end_ts=s.ts.max(),
        n_events=s.count().cast("int64"), first_act=s.act.min(where=s.pos == 0),
        last_act=s.act.min(where=s.next_act.isnull()),
        variant=label.cast("string").group_concat(VARIANT_SEP, order_by=s.pos) if ordered
        else in_order(label.cast("string"), s.pos, ordered=False).join(VARIANT_SEP))
    return c.mutate(duration_s=c.end_ts.delta(c.start_ts, unit="microsecond").cast("float64") / 1e6)


def _marks(wh: WarehouseConnection) -> tuple[int, str | None, str | None]:
    """The largest event id, and the watermarks the facts and the rollups were built at (as stored)."""
    top, (upto, rollups) = meta.marks(wh, WATERMARK_KEY, ROLLUPS_KEY)
    return top, upto, rollups


def freshness(wh: WarehouseConnection) -> tuple[bool, bool]:
    """(facts fresh, rollups fresh), from one query: facts are fresh when every warehouse event is materialised
    (else readers compute from raw events); rollups when they were built from the current facts with the
    current layout (else `ensure_rollups` rebuilds them before they are read)."""
    top, upto, rollups = _marks(wh)
    return int(upto or 0) >= top, upto is not None and upto == rollups


def facts_fresh(wh: WarehouseConnection) -> bool:
    return freshness(wh)[0]


def activity_codes(wh: WarehouseConnection) -> dict[int, str]:
    return {int(code): name for code, name in wh.rows('SELECT code, activity FROM "journey_activities"')}


def _insert(wh: WarehouseConnection, name: str, expr: ibis.Table) -> None:
    from momenti.warehouse.schema import TABLES

    wh.ibis.insert(name, expr.select(*TABLES[name].names))


def refresh(wh: WarehouseConnection) -> None:
    """Materialise the events that arrived since the last call.

    Called by the warehouse sync after the events are appended (momenti.warehouse.sync). A first build also
    builds the whole-log rollups; later ones only rebuild the touched cases and leave the rollups stale, for
    the next unfiltered map to rebuild (`ensure_rollups`): a stream of small syncs does not pay for them each
    time (~0.6 s at 1 M events)."""
    top, upto_mark, _ = _marks(wh)
    upto = int(upto_mark or 0)
    if top <= upto:
        return
    ev = wh.table("events")
    new = ev.filter(ev.id > upto)
    with wh.transaction():
        # 1. New activities get the next codes, in name order (deterministic for a given log).
        acts = wh.table("journey_activities")
        base = acts.code.max().execute()
        base = int(base) if base is not None and base == base else -1
        fresh = new.select("activity").distinct().anti_join(acts, "activity")
        fresh = fresh.mutate(code=ibis.row_number().over(order_by=fresh.activity) + base + 1)
        _insert(wh, "journey_activities", fresh)
        acts = wh.table("journey_activities")
        # 2. The cases touched by new events are rebuilt whole (a late event can change every position).
        src = ev.filter(ev.case_id.notnull())
        if upto == 0:
            wh.delete_rows("journey_steps")
            wh.delete_rows("journey_cases")
            touched = None
        else:
            changed = f'SELECT case_id FROM "events" WHERE id > {upto} AND case_id IS NOT NULL'
            wh.delete_in("journey_steps", ["case_id"], changed)
            wh.delete_in("journey_cases", ["case_id"], changed)
            touched = new.filter(new.case_id.notnull()).select("case_id").distinct()
            src = src.semi_join(touched, "case_id")
        coded = src.join(acts, "activity").select(
            event_id=src.id, case_id=src.case_id, customer_id=src.customer_id, ts=src.timestamp, act=acts.code,
            channel=src.channel, touchpoint=src.touchpoint)
        _insert(wh, "journey_steps", build_steps(coded))
        steps = wh.table("journey_steps")
        if touched is not None:
            steps = steps.semi_join(touched, "case_id")
        cases = build_cases(steps, acts, ordered=not wh.is_spark)
        _insert(wh, "journey_cases", cases)
        meta.set_meta(wh, WATERMARK_KEY, top)
        if touched is None:
            rebuild_rollups(wh)
            meta.set_meta(wh, ROLLUPS_KEY, top)


def ensure_rollups(wh: WarehouseConnection) -> bool:
    """Make the whole-log rollups current (rebuilt from the facts if a sync added events since); False when the
    facts themselves are behind (then nothing can be rolled up: readers compute from raw events)."""
    with WAREHOUSE_LOCK:
        top, upto, rollups = _marks(wh)
        if upto is None or int(upto) < top:
            return False
        if upto != rollups:
            with wh.transaction():
                rebuild_rollups(wh)
                meta.set_meta(wh, ROLLUPS_KEY, upto)
    return True


def rebuild_rollups(wh: WarehouseConnection) -> None:
    """The whole log's DFG (with times), activity counts and variants, recomputed from the facts: a map of the
    whole log then reads a few hundred pairs and one row per variant instead of grouping every step and case."""
    steps = wh.table("journey_steps")
    s = steps.filter(steps.next_act.notnull())
    wh.delete_rows("journey_dfg")
    _insert(wh, "journey_dfg", s.group_by(source=s.act, target=s.next_act).aggregate(
        count=s.count().cast("int64"), mean_s=s.delta_s.mean(), median_s=s.delta_s.quantile(0.5),
        p90_s=s.delta_s.quantile(0.9)))
    c = wh.table("journey_cases")
    wh.delete_rows("journey_activity_counts")
    events = steps.group_by(code=steps.act).aggregate(events=steps.count().cast("int64"))
    starts = c.group_by(code=c.first_act).aggregate(starts=c.count().cast("int64"))
    ends = c.group_by(code=c.last_act).aggregate(ends=c.count().cast("int64"))
    counts = events.left_join(starts, "code").left_join(ends, "code")
    _insert(wh, "journey_activity_counts", counts.select(
        code=counts.code, events=counts.events, starts=counts.starts.fill_null(0),
        ends=counts.ends.fill_null(0)))
    wh.delete_rows("journey_variants")
    v = c.group_by("variant").aggregate(count=c.count().cast("int64"), median_duration_s=c.duration_s.median(),
                                        _case=c.case_id.min())
    # Each variant's codes, from one of its cases (all its cases have the same sequence).
    rep = steps.semi_join(v.select(case_id=v._case), "case_id")
    paths = rep.group_by("case_id").aggregate(codes=in_order(rep.act, rep.pos, ordered=not wh.is_spark))
    v = v.join(paths, v._case == paths.case_id)
    # Ranked once here (most frequent first, ties by name), so reading them in order needs no string sort.
    v = v.mutate(rank=ibis.row_number().over(order_by=[ibis.desc(v["count"]), v.variant]).cast("int64"))
    _insert(wh, "journey_variants", v.order_by("rank"))  # rank order: DuckDB reads it back so, unsorted


# Kept up to date by every warehouse sync.
register(Feed('journey_facts', lambda c: refresh(c.wh), order=10))
