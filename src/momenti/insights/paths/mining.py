"""Process mining on the interaction log: journey instances, directly-follows graph, variants.

A *journey* (a case, in process-mining terms) is one of:

- the log's `case_id` (default; read from the journey facts materialised at sync, see
  momenti.insights.paths.facts);
- per customer (`case="customer"`): all the customer's events, or, with `gap` (e.g. "30d"), a new journey
  whenever the customer was silent for longer than the gap;
- bounded by two activities (`start_activity`, `end_activity`), inside either of the above: a journey opens at
  a start activity and closes at the first end activity after it (a start met while one is open is just a step
  of it); events outside such a window, and windows never closed, are left out (pm4py's `filter_between`).

Events inside a journey are ordered by timestamp, ties broken by event id (import order): a stable order, the
same rule as pm4py's stable sort by timestamp.

Filters select whole journeys (never cut a journey in pieces, which would invent directly-follows pairs):
period (`start`/`end`: journeys that *start* between these days, inclusive), `channel`, `touchpoint` and
`activity` (journeys with at least one such event), `segment:<attr>` (journeys of customers whose attribute
has one of the values) and `coverage` (only the most frequent variants that together cover that fraction of
the journeys left by the other filters; variants with equal counts are taken in a fixed, arbitrary order).

Everything is an Ibis expression run in the warehouse; Python only sees aggregated rows.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from momenti.core.args import duration_seconds, parse_day, parse_filters
from momenti.core.errors import InputError
from momenti.insights.paths import facts as jf
from momenti.warehouse.connection import WarehouseConnection
from momenti.warehouse.schema import TABLES

CASE_NOTIONS = ("case_id", "customer")
STEP_DIMENSIONS = ("channel", "touchpoint", "activity")


def table(name: str) -> ibis.Table:
    """A warehouse table as an *unbound* Ibis table (its schema from momenti.warehouse.schema): expressions on
    it compile to the same SQL every time, so `execute` compiles each question's shape once per process
    (compiling costs 5-40 ms, more than the query itself on the materialised facts)."""
    return ibis.table(TABLES[name], name=name)


_SQL: dict[tuple[object, str], str] = {}


def _compiled(wh: WarehouseConnection, expr: ibis.Expr) -> str:
    dialect = wh.ibis.name
    key = (expr.op(), dialect)
    sql = _SQL.get(key)
    if sql is None:
        sql = str(ibis.to_sql(expr, dialect=dialect))
        if len(_SQL) > 512:  # many distinct filters: start over rather than grow without bound
            _SQL.clear()
        _SQL[key] = sql
    return sql


def execute(wh: WarehouseConnection, expr: ibis.Expr) -> pd.DataFrame:
    """Run an expression built on `table(...)` in the warehouse; a DataFrame of its (aggregated) rows."""
    sql = _compiled(wh, expr)
    if wh.is_duckdb or wh.is_spark:
        return wh.arrow(sql).to_pandas()
    rows, cols = wh.records(sql)
    return pd.DataFrame.from_records(rows, columns=cols)


def _arrow(wh: WarehouseConnection, expr: ibis.Expr) -> pa.Table:
    """`execute` as Arrow (DuckDB and Spark): for results that stay columnar."""
    return wh.arrow(_compiled(wh, expr))


def parse_duration(value: str | float | int | dt.timedelta | None, what: str = "gap") -> float | None:
    """'30d', '12h', '90m', '45s', '2w' (or seconds, or a timedelta) -> seconds (the grammar of core.args)."""
    return duration_seconds(value, what)


def _date(value: dt.date | str | None, what: str) -> dt.date | None:
    if value is None or value == "" or isinstance(value, dt.date):
        return value or None
    try:
        return parse_day(str(value))
    except ValueError as exc:
        raise InputError(f"{what}: {exc}") from None


def _values(v: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if v is None:
        return []
    items = [v] if isinstance(v, str) else list(v)
    return [s.strip() for item in items for s in str(item).split(",") if s.strip()]


@dataclass
class JourneyQuery:
    """Which journeys to look at: the case notion and the filters (see the module docstring)."""

    case: str = "case_id"
    gap_s: float | None = None
    start_activity: str | None = None
    end_activity: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)
    coverage: float | None = None

    @classmethod
    def build(cls, case: str = "case_id", gap: str | float | dt.timedelta | None = None,
              start_activity: str | None = None, end_activity: str | None = None,
              start: dt.date | str | None = None, end: dt.date | str | None = None,
              filters: dict[str, list[str]] | None = None, coverage: float | None = None,
              channel: str | list[str] | None = None, touchpoint: str | list[str] | None = None,
              activity: str | list[str] | None = None,
              segment: dict[str, str | list[str]] | None = None) -> JourneyQuery:
        if case not in CASE_NOTIONS:
            raise InputError(f"case {case!r}: choose case_id (the log's cases) or customer")
        if bool(start_activity) != bool(end_activity):
            raise InputError("a bounded journey needs both start_activity and end_activity")
        if start_activity and start_activity == end_activity:
            raise InputError("start_activity and end_activity must differ")
        merged: dict[str, list[str]] = parse_filters(filters)
        for dim, v in (("channel", channel), ("touchpoint", touchpoint), ("activity", activity)):
            if v:
                merged.setdefault(dim, []).extend(_values(v))
        for attr, v in (segment or {}).items():
            merged.setdefault(f"segment:{attr}", []).extend(_values(v))
        for dim, vals in merged.items():
            if dim not in STEP_DIMENSIONS and not (dim.startswith("segment:") and len(dim) > len("segment:")):
                raise InputError(f"unknown filter {dim!r}; use {', '.join(STEP_DIMENSIONS)} or segment:<attribute>")
            if not vals:
                raise InputError(f"filter {dim!r} has no values")
        if coverage is not None:
            coverage = float(coverage)
            if not 0 < coverage <= 1:
                raise InputError(f"coverage {coverage}: a fraction of journeys in (0, 1], e.g. 0.8")
        q = cls(case, parse_duration(gap), start_activity or None, end_activity or None, _date(start, "from"),
                _date(end, "to"), merged, coverage)
        if q.start and q.end and q.start > q.end:
            raise InputError(f"from {q.start} is after to {q.end}")
        return q

    @property
    def materialised(self) -> bool:
        """The default notion, answered from the facts maintained at sync."""
        return self.case == "case_id" and self.gap_s is None and self.start_activity is None

    def describe(self) -> dict:
        return {"case": self.case, "gap_s": self.gap_s, "start_activity": self.start_activity,
                "end_activity": self.end_activity, "from": self.start, "to": self.end, "filters": self.filters,
                "coverage": self.coverage}


class _GCPaused:
    """Tens of thousands of new lists would trigger the cyclic garbage collector several times over; lists of
    strings cannot form cycles, so it is paused while they are made."""

    def __enter__(self) -> None:
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            gc.enable()


class Names:
    """Turns activity codes / variant keys of a journey source into names."""

    def __init__(self, codes: dict[int, str] | None) -> None:
        self.codes = codes  # None: the source carries names already
        self.by_name = {v: k for k, v in codes.items()} if codes is not None else None

    def name(self, value: object) -> str | None:
        """One activity code (or name) -> its name."""
        if self.codes is None or value is None:
            return value  # type: ignore[return-value]
        return self.codes.get(int(value))

    def acts(self, values: pd.Series) -> pd.Series:
        if self.codes is None:
            return values.astype(object)
        return values.map(lambda c: self.codes.get(int(c)) if c == c and c is not None else None)

    @staticmethod
    def variants(keys: list[str]) -> list[list[str]]:
        """Variant keys -> lists of activity names."""
        sep = jf.VARIANT_SEP
        with _GCPaused():
            return [k.split(sep) if k else [] for k in keys]

    def lookup(self) -> np.ndarray:
        """code -> name as an object array (index by an array of codes)."""
        codes = self.codes or {}
        out = np.empty(max(codes, default=-1) + 1, dtype=object)
        for code, name in codes.items():
            out[code] = name
        return out

    def encode(self, names: list[str]) -> list:
        """Names -> the values of the source's `act` column (unknown names match nothing)."""
        if self.by_name is None:
            return list(names)
        return [self.by_name[n] for n in names if n in self.by_name] or [-1]


@dataclass
class Journeys:
    """The journeys of a query: their events (`steps`) and one row each (`cases`), as Ibis tables."""

    steps: ibis.Table  # event_id, case_id, customer_id, ts, act, pos, next_act, delta_s, channel, touchpoint
    cases: ibis.Table  # case_id, customer_id, start_ts, end_ts, n_events, first_act, last_act, variant, duration_s
    names: Names
    query: JourneyQuery
    wh: WarehouseConnection
    whole: bool = False  # the whole log of the default notion, unfiltered: the sync's rollups can answer
    _memo: dict = field(default_factory=dict)  # rollups read once per question (a map reads them thrice)


def _dynamic(wh: WarehouseConnection, q: JourneyQuery) -> tuple[ibis.Table, ibis.Table]:
    """Journeys of the on-the-fly notions (per customer, gap, bounded) with window functions on raw events."""
    ev = table("events")
    key = ev.case_id if q.case == "case_id" else ev.customer_id
    e = ev.filter(key.notnull()).select(event_id=ev.id, case_id=key, customer_id=ev.customer_id, ts=ev.timestamp,
                                        act=ev.activity, channel=ev.channel, touchpoint=ev.touchpoint)
    if q.gap_s is not None:
        w = ibis.window(group_by=e.case_id, order_by=[e.ts, e.event_id])
        gap_us = int(q.gap_s * 1e6)
        e = e.mutate(_brk=ibis.ifelse(e.ts.delta(e.ts.lag().over(w), unit="microsecond") > gap_us, 1, 0))
        cw = ibis.cumulative_window(group_by=e.case_id, order_by=[e.ts, e.event_id])
        e = e.mutate(_seg=e._brk.sum().over(cw))
        e = e.mutate(case_id=e.case_id + "#" + (e._seg + 1).cast("string")).drop("_brk", "_seg")
    if q.start_activity is not None:
        # Segments end at each end activity (ends strictly before an event number its segment); in a segment
        # the journey runs from its first start activity to the end activity that closes the segment.
        w = ibis.window(group_by=e.case_id, order_by=[e.ts, e.event_id])
        cw = ibis.cumulative_window(group_by=e.case_id, order_by=[e.ts, e.event_id])
        is_end = ibis.ifelse(e.act == q.end_activity, 1, 0)
        e = e.mutate(_pos=ibis.row_number().over(w), _end=is_end)
        e = e.mutate(_g=e._end.sum().over(cw) - e._end)
        sw = ibis.window(group_by=[e.case_id, e._g])
        e = e.mutate(_first=e._pos.min(where=e.act == q.start_activity).over(sw), _closed=e._end.max().over(sw))
        e = e.filter((e._closed == 1) & e._first.notnull() & (e._pos >= e._first))
        e = e.mutate(case_id=e.case_id + "~" + (e._g + 1).cast("string")).drop("_pos", "_end", "_g", "_first",
                                                                                  "_closed")
    steps = jf.build_steps(e)
    return steps, jf.build_cases(steps, ordered=not wh.is_spark)


def journeys(wh: WarehouseConnection, q: JourneyQuery) -> Journeys:
    """The journeys a query selects, filters applied (whole journeys are kept or dropped)."""
    wh.require("events", *(["customer_attributes"] if any(d.startswith("segment:") for d in q.filters) else []))
    facts_fresh, rollups_fresh = jf.freshness(wh) if q.materialised else (False, False)
    materialised = q.materialised and facts_fresh
    if materialised:
        names = Names(jf.activity_codes(wh))
        steps, cases = table("journey_steps"), table("journey_cases")
    else:  # other notions, or facts not yet materialised (e.g. a warehouse made before they existed)
        steps, cases = _dynamic(wh, q)
        names = Names(None)
    all_cases, steps_all = cases, steps
    if q.start is not None:
        cases = cases.filter(cases.start_ts >= ibis.literal(q.start).cast("timestamp"))
    if q.end is not None:
        cases = cases.filter(cases.start_ts < ibis.literal(q.end + dt.timedelta(days=1)).cast("timestamp"))
    for dim, values in q.filters.items():
        if dim in STEP_DIMENSIONS:
            col = steps_all.act if dim == "activity" else steps_all[dim]
            vals = names.encode(values) if dim == "activity" else values
            hit = steps_all.filter(col.isin(vals)).select("case_id").distinct()
            cases = cases.semi_join(hit, "case_id")
        else:
            ca = table("customer_attributes")
            seg = ca.filter((ca.attr == dim.split(":", 1)[1]) & ca.value.isin(values)).select("customer_id")
            cases = cases.semi_join(seg.distinct(), "customer_id")
    if q.coverage is not None:
        v = cases.group_by("variant").aggregate(n=cases.count())
        v = v.mutate(cum=v.n.sum().over(ibis.cumulative_window(order_by=[ibis.desc(v.n), v.variant])),
                     total=v.n.sum().over(ibis.window()))
        keep = v.filter((v.cum - v.n) < v.total * q.coverage).select("variant")
        cases = cases.semi_join(keep, "variant")
    if cases is not all_cases:
        steps = steps.semi_join(cases.select("case_id"), "case_id")
    # The whole log, unfiltered: answered from the rollups (rebuilt first if a sync added events since).
    whole = materialised and cases is all_cases and (rollups_fresh or jf.ensure_rollups(wh))
    return Journeys(steps, cases, names, q, wh, whole)


# --- questions --------------------------------------------------------------------------------------------


def _rows(wh: WarehouseConnection, expr: ibis.Expr) -> list[tuple]:
    """The rows of a small result (a few hundred at most) as tuples: finishing them in Python costs less than
    pandas' per-operation overhead on frames this size."""
    return wh.rows(_compiled(wh, expr))


def _count_frame(j: Journeys, rows: list[tuple]) -> pd.DataFrame:
    """(activity code or name, count) rows -> activity, count: most frequent first, ties by name."""
    name = j.names.name
    out = sorted(((name(a), int(n)) for a, n in rows if n), key=lambda r: (-r[1], r[0] is None, r[0] or ""))
    return pd.DataFrame({"activity": pd.Series([r[0] for r in out], dtype=object),
                         "count": np.array([r[1] for r in out], dtype="int64")})


def _counts(j: Journeys, expr: ibis.Table) -> pd.DataFrame:
    return _count_frame(j, _rows(j.wh, expr))


def _rollup_counts(j: Journeys, column: str) -> pd.DataFrame:
    """activity, count from the whole-log activity counts rolled up at sync (events, starts or ends)."""
    if "activity_counts" not in j._memo:  # read once per question: a map asks for all three columns
        j._memo["activity_counts"] = _rows(j.wh, table("journey_activity_counts"))
    index = TABLES["journey_activity_counts"].names.index(column)
    return _count_frame(j, [(r[0], r[index]) for r in j._memo["activity_counts"]])


def activities(j: Journeys) -> pd.DataFrame:
    """activity, count (events)."""
    if j.whole:
        return _rollup_counts(j, "events")
    s = j.steps
    return _counts(j, s.group_by(activity=s.act).aggregate(count=s.count()))


def start_activities(j: Journeys) -> pd.DataFrame:
    """activity, count (journeys that start with it)."""
    if j.whole:
        return _rollup_counts(j, "starts")
    c = j.cases
    return _counts(j, c.group_by(activity=c.first_act).aggregate(count=c.count()))


def end_activities(j: Journeys) -> pd.DataFrame:
    """activity, count (journeys that end with it)."""
    if j.whole:
        return _rollup_counts(j, "ends")
    c = j.cases
    return _counts(j, c.group_by(activity=c.last_act).aggregate(count=c.count()))


DFG_COLUMNS = ["source", "target", "count", "mean_s", "median_s", "p90_s"]


def _seconds(value: object) -> float:
    return float(value) if value is not None else np.nan


def dfg(j: Journeys, performance: bool = True) -> pd.DataFrame:
    """Directly-follows pairs: source, target, count, and the seconds between them (mean, median, p90).

    `performance=False` leaves median_s/p90_s empty (NaN) and skips their per-pair sort: for a quick graph."""
    if j.whole:  # the whole log: the pairs rolled up at sync, quantiles included
        rows = [r if performance else (*r[:4], None, None) for r in _rows(j.wh, table("journey_dfg"))]
    else:
        s = j.steps
        s = s.filter(s.next_act.notnull())
        aggs = {"count": s.count(), "mean_s": s.delta_s.mean()}
        if performance:  # both quantiles from one sort per pair (a list quantile)
            aggs["_q"] = s.delta_s.quantile([0.5, 0.9])
        raw = _rows(j.wh, s.group_by(source=s.act, target=s.next_act).aggregate(**aggs))
        rows = [(*r[:4], *(r[4] if performance and r[4] is not None else (None, None))) for r in raw]
    name = j.names.name
    out = sorted(((name(a), name(b), int(n), _seconds(mean), _seconds(med), _seconds(p90))
                  for a, b, n, mean, med, p90 in rows), key=lambda r: (-r[2], r[0], r[1]))
    if not out:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("source", "target") else "float64")
                             for c in DFG_COLUMNS}).astype({"count": "int64"})
    columns = list(zip(*out, strict=True))
    return pd.DataFrame({
        "source": pd.Series(columns[0], dtype=object), "target": pd.Series(columns[1], dtype=object),
        "count": np.array(columns[2], dtype="int64"),
        **{c: np.array(columns[i], dtype="float64") for i, c in enumerate(DFG_COLUMNS[3:], start=3)}})


VARIANT_COLUMNS = ["rank", "variant", "length", "count", "share", "cum_share", "median_duration_s", "happy_path"]


def variants(j: Journeys, top: int | None = None) -> pd.DataFrame:
    """rank, variant (list of activities), length, count, share and cum_share (% of journeys),
    median_duration_s, happy_path (the most frequent variant). `top` keeps the first rows.

    Variants with equal counts are listed in the order of their activity names (stable across runs)."""
    c = j.cases
    if j.whole:  # the whole log: variants rolled up and ranked at sync, with their activity codes
        if j.wh.is_duckdb:  # written in rank order, read back in it (checked, sorted if ever not)
            t = _arrow(j.wh, table("journey_variants").select("rank", "codes", "count", "median_duration_s"))
            rank = t.column("rank").to_numpy()
            if len(rank) and not (np.diff(rank) > 0).all():
                t = t.take(np.argsort(rank, kind="stable"))
            return _variants_frame(t, top, j.names)
        v = table("journey_variants").order_by("rank").select("codes", "count", "median_duration_s")
    else:
        v = c.group_by("variant").aggregate(count=c.count(), median_duration_s=c.duration_s.median())
        v = v.order_by([ibis.desc("count"), "variant"])  # the warehouse sorts tens of thousands of rows fastest
    if j.wh.is_duckdb or j.wh.is_spark:
        return _variants_frame(_arrow(j.wh, v), top, j.names)
    df = execute(j.wh, v)
    return _variants_frame(pa.Table.from_pandas(df, preserve_index=False) if not df.empty else None, top, j.names)


def _lists_from_keys(keys: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Variant keys (names joined by VARIANT_SEP) -> an object array of name lists, and their lengths."""
    sep = jf.VARIANT_SEP
    out = np.empty(len(keys), dtype=object)  # filled directly: pandas would inspect a list of lists for a shape
    with _GCPaused():
        for i, key in enumerate(keys.to_pylist()):
            out[i] = key.split(sep) if key else []
    # Steps per variant from the key itself (separators + 1), vectorised: no pass over the Python lists.
    length = pc.add(pc.count_substring(keys, sep), 1).to_numpy(zero_copy_only=False).astype("int64")
    length[pc.equal(keys, "").to_numpy(zero_copy_only=False)] = 0
    return out, length


def _lists_from_codes(codes: pa.Array, names: Names) -> tuple[np.ndarray, np.ndarray]:
    """Variant code lists -> an object array of name lists, and their lengths. Every list holds references to
    the same few name strings: one array lookup for all steps, then one slice per variant."""
    codes = codes.combine_chunks() if isinstance(codes, pa.ChunkedArray) else codes
    offsets = codes.offsets.to_numpy().astype("int64")
    flat = codes.values.to_numpy(zero_copy_only=False).astype("int64")
    with _GCPaused():
        steps = names.lookup().take(flat).tolist()
        bounds = offsets.tolist()
        # C-level loops (map over slices): no bytecode per variant. fromiter keeps each list as one element.
        out = np.fromiter(map(steps.__getitem__, map(slice, bounds[:-1], bounds[1:])), dtype=object,
                          count=len(codes))
    return out, np.diff(offsets)


def _variants_frame(t: pa.Table | None, top: int | None, names: Names) -> pd.DataFrame:
    """Finish the sorted (variant key or codes, count, median) rows: the variant becomes a list of activity
    names, shares and ranks in numpy."""
    if t is None or not t.num_rows:
        return pd.DataFrame(columns=VARIANT_COLUMNS)
    counts = t.column("count").to_numpy().astype("int64")
    total = float(counts.sum())
    if top:
        t, counts = t.slice(0, top), counts[:top]
    if "codes" in t.column_names:
        lists, length = _lists_from_codes(t.column("codes").combine_chunks(), names)
    else:
        lists, length = _lists_from_keys(t.column("variant").combine_chunks().cast(pa.string()).fill_null(""))
    n = len(counts)
    return pd.DataFrame({
        "rank": np.arange(1, n + 1),
        "variant": lists,
        "length": length,
        "count": counts,
        "share": 100.0 * counts / total,
        "cum_share": 100.0 * np.cumsum(counts) / total,
        "median_duration_s": t.column("median_duration_s").to_numpy(zero_copy_only=False).astype("float64"),
        "happy_path": np.arange(n) == 0,
    }, copy=False)[VARIANT_COLUMNS]


def instances(j: Journeys, limit: int | None = None) -> pd.DataFrame:
    """One row per journey: case_id, customer_id, start, end, n_events, duration_s, variant (list)."""
    c = j.cases.order_by(["start_ts", "case_id"])
    if limit:
        c = c.limit(limit)
    df = execute(j.wh, c)
    df["variant"] = j.names.variants(df["variant"].tolist())
    df["n_events"] = df["n_events"].astype("int64")
    return df[["case_id", "customer_id", "start_ts", "end_ts", "n_events", "duration_s", "variant"]]
