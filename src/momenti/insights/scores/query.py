"""A metric question as a small object, compiled to one Ibis expression and run on the warehouse.

The CLI, the REST API, the web page and the Python API all build a `MetricQuery` and call `run_metric`;
they differ only in how they render the DataFrame it returns.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import pandas as pd
import pyarrow as pa

from momenti.core.errors import InputError
from momenti.insights.scores.scores import METRICS, score_groups
from momenti.insights.scores.segment_rollup import rollup_attribute, segment_counts
from momenti.insights.scores.segments import DERIVED_ORDER, add_segment, column_name
from momenti.warehouse.connection import WarehouseConnection

PERIODS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
DIMENSIONS = ("touchpoint", "stage", "journey", "channel", "language")
# Dimensions the daily rollup can answer; anything else (segments) reads raw answers.
ROLLUP_DIMENSIONS = {"touchpoint", "stage", "journey", "channel", "language"}
JOURNEY_DIMENSIONS = {"stage", "journey"}


def check_text(name: str, *values: str | None) -> None:
    """Values compiled into SQL as string literals: neither DuckDB nor PostgreSQL accepts a NUL in one (DuckDB
    reports an "unterminated quoted string"), so it is refused here with the field's name."""
    for value in values:
        if value is not None and "\x00" in value:
            raise InputError(f"{name}: {value!r} contains a NUL character; remove it")


def check_scope(by: list[str], filters: dict[str, list[str]], period: str | None, start: dt.date | None,
                end: dt.date | None, extra: tuple[str, ...] = ()) -> None:
    """The checks every grouped question makes of its scope: a known period, known dimensions (the metrics'
    own, segment:<attribute>, and the question's `extra` ones), none repeated in `by`, from before to."""
    if period is not None and period not in PERIODS:
        raise InputError(f"unknown period {period!r}; choose one of: {', '.join(PERIODS)}")
    for dim in [*by, *filters]:
        segment = dim.startswith("segment:") and len(dim) > len("segment:")
        if dim not in DIMENSIONS and dim not in extra and not segment:
            raise InputError(f"unknown dimension {dim!r}; use {', '.join([*DIMENSIONS, *extra])} or "
                             "segment:<attribute>")
    if len(set(by)) != len(by):
        raise InputError("a dimension is repeated in 'by'")
    if start and end and start > end:
        raise InputError(f"--from {start} is after --to {end}")


@dataclass
class MetricQuery:
    metric: str
    by: list[str] = field(default_factory=list)
    period: str | None = None
    start: dt.date | None = None  # inclusive
    end: dt.date | None = None  # inclusive
    filters: dict[str, list[str]] = field(default_factory=dict)
    question: str | None = None  # default: the question named like the metric

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise InputError(f"unknown metric {self.metric!r}; choose one of: {', '.join(METRICS)}")
        check_scope(self.by, self.filters, self.period, self.start, self.end)
        check_text("question", self.question)

    @property
    def keys(self) -> list[str]:
        return [*self.by, *(["period"] if self.period else [])]

    @property
    def uses_rollup(self) -> bool:
        return all(d in ROLLUP_DIMENSIONS for d in [*self.by, *self.filters])

    @property
    def segment_attribute(self) -> str | None:
        """The customer attribute whose rollup answers the question (segment_rollup.py), if one does."""
        return None if self.uses_rollup else rollup_attribute(self.by, self.filters, ROLLUP_DIMENSIONS)


def score_source(wh: WarehouseConnection, q: MetricQuery) -> ibis.Table:
    """A relation of (ts, dimensions..., score, n): from the rollup when it can answer, else raw answers."""
    question = q.question or q.metric
    attr = q.segment_attribute
    segmented = segment_counts(wh, attr, question) if attr is not None else None
    if segmented is not None:  # a cut by one customer attribute: its rollup (segment_rollup.py)
        t = segmented
    elif q.uses_rollup:
        t = wh.table("score_daily")
        t = t.filter(t.question == question).select(ts=t.day, touchpoint=t.touchpoint, channel=t.channel,
                                                     language=t.language, score=t.score, n=t.n)
    else:
        a = wh.table("answers")
        a = a.filter((a.question == question) & a.value_num.notnull())
        t = a.select(ts=a.submitted_at, touchpoint=a.touchpoint, channel=a.channel, language=a.language,
                     customer_id=a.customer_id, score=a.value_num, n=ibis.literal(1, "int64"))
    if q.start is not None:
        t = t.filter(t.ts >= ibis.literal(q.start))
    if q.end is not None:
        t = t.filter(t.ts < ibis.literal(q.end + dt.timedelta(days=1)))
    return add_dimensions(wh, t, q.by, q.filters)


def add_dimensions(wh: WarehouseConnection, t: ibis.Table, by: Sequence[str], filters: dict[str, list[str]],
                   ts: str = "ts") -> ibis.Table:
    """`t` (with touchpoint, customer_id and the time column `ts`) with the columns `by` and `filters` need --
    stage and journey from the journey map, `segment:<attr>` (imported or derived, read at `ts`) -- and the
    filters applied. Dimensions `t` carries itself (touchpoint, channel, ...) are left as they are."""
    needed = [*by, *filters]
    if any(d in JOURNEY_DIMENSIONS for d in needed):
        tp = wh.table("touchpoints").select("touchpoint", "stage", "journey")
        t = t.left_join(tp, "touchpoint").drop("touchpoint_right")
    for dim in dict.fromkeys(needed):
        if dim.startswith("segment:") and column_name(dim) not in t.columns:  # not already in (a segment rollup)
            t = add_segment(wh, t, dim, ts=ts)
    for dim, values in filters.items():
        check_text(f"filter {dim}", *values)
        t = t.filter(t[column_name(dim)].isin(values))
    return t


def build_counts(wh: WarehouseConnection, q: MetricQuery) -> ibis.Table:
    """The aggregated counts per group as an Ibis expression (what `explain` shows as SQL)."""
    t = score_source(wh, q)
    metric = METRICS[q.metric]
    groups = {column_name(d): t[column_name(d)] for d in q.by}
    if q.period:
        # A rollup's day is a date already: truncated as one (casting each of a million rows to a timestamp and
        # back doubled a segment cut's time); raw answers carry their timestamp.
        ts = t.ts if t.ts.type().is_date() else t.ts.cast("timestamp")
        groups["period"] = ts.truncate(PERIODS[q.period]).cast("date")
    aggs = {"n": t.n.sum(), **metric.counts(t)}
    if groups:
        return t.group_by(**groups).aggregate(**aggs).order_by(list(groups))
    return t.aggregate(**aggs)


# The SQL of a question, per warehouse and question: building the Ibis expression (which reads each table's
# schema) and compiling it cost every question 30-40 ms, more than the warehouse took to answer one from a
# rollup. The SQL depends only on the question, the warehouse's engine and its layout (fixed per version).
_COMPILED: OrderedDict[tuple[str, str], tuple[str, ibis.Schema]] = OrderedDict()
_COMPILED_MAX = 512
_COMPILED_LOCK = threading.Lock()  # the server asks from many threads


def _compiled(wh: WarehouseConnection, q: MetricQuery) -> tuple[str, ibis.Schema] | None:
    """The question's SQL from the cache (after what building it would have done: the segment rollup brought
    up to date), or None; DuckDB only (its rows come back as Arrow, the same types Ibis gives)."""
    if not wh.is_duckdb:
        return None
    with _COMPILED_LOCK:
        hit = _COMPILED.get((wh.url, repr(q)))
        if hit is not None:
            _COMPILED.move_to_end((wh.url, repr(q)))
    if hit is not None:
        attr = q.segment_attribute
        if attr is not None:
            segment_counts(wh, attr, q.question or q.metric)
    return hit


def _duckdb_frame(wh: WarehouseConnection, sql: str, schema: ibis.Schema) -> pd.DataFrame:
    """The rows of `sql` as the DuckDB backend's `execute` would give them (the same conversions)."""
    from ibis.backends.duckdb.converter import DuckDBPandasData

    table = wh.duck.execute(sql).to_arrow_table()
    df = pd.DataFrame({name: col.to_pylist() if col.null_count or pa.types.is_dictionary(col.type) else col.to_pandas()
                       for name, col in zip(table.column_names, table.columns, strict=True)})
    return DuckDBPandasData.convert_table(df, schema)


def fetch_counts(wh: WarehouseConnection, q: MetricQuery) -> pd.DataFrame:
    hit = _compiled(wh, q)
    if hit is not None:
        df = _duckdb_frame(wh, *hit)
    else:
        expr = build_counts(wh, q)
        if wh.is_duckdb:
            compiled = (str(wh.ibis.compile(expr)), expr.as_table().schema())
            with _COMPILED_LOCK:
                _COMPILED[(wh.url, repr(q))] = compiled
                while len(_COMPILED) > _COMPILED_MAX:
                    _COMPILED.popitem(last=False)
        df = expr.to_pandas()
    keys = [column_name(k) for k in q.keys]
    df = df[df["n"].fillna(0) > 0].reset_index(drop=True)
    for col in df.columns:
        if col not in keys:
            df[col] = pd.to_numeric(df[col])
    if "period" in df:
        df["period"] = pd.to_datetime(df["period"]).dt.strftime("%Y-%m-%d")
    return _journey_order(wh, df, keys)


def _journey_order(wh: WarehouseConnection, df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Stages and touchpoints in the order of the journey map (as a reader walks it), not alphabetically."""
    derived = {column_name(f"segment:{d}"): {k: i for i, k in enumerate(v)} for d, v in DERIVED_ORDER.items()}
    if df.empty or not {"stage", "touchpoint", "journey", *derived} & set(keys):
        return df
    # Raw SQL, not an Ibis expression: compiling one cost every question ~20 ms, more than this query.
    cols = ["journey", "stage", "stage_position", "touchpoint", "touchpoint_position"]
    dim = pd.DataFrame(wh.rows(f'SELECT {", ".join(cols)} FROM "touchpoints"'), columns=cols)
    rank = {**derived,
        "journey": {k: i for i, k in enumerate(dict.fromkeys(dim.sort_values(["journey"]).journey))},
        "stage": {k: i for i, k in enumerate(dict.fromkeys(dim.sort_values(["journey", "stage_position"]).stage))},
        "touchpoint": {k: i for i, k in enumerate(dim.sort_values(
            ["journey", "stage_position", "touchpoint_position"]).touchpoint)},
    }

    def sort_key(col: pd.Series) -> pd.Series:
        return col.map(rank[col.name]).fillna(len(rank[col.name])) if col.name in rank else col

    return df.sort_values(keys, key=sort_key, kind="stable").reset_index(drop=True)


def finish(q: MetricQuery, counts: pd.DataFrame, confidence: float, min_n: int) -> pd.DataFrame:
    return score_groups(counts, [column_name(k) for k in q.keys], q.metric, confidence, min_n)


def run_metric(wh: WarehouseConnection, q: MetricQuery, confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    return finish(q, fetch_counts(wh, q), confidence, min_n)


def to_sql(wh: WarehouseConnection, q: MetricQuery) -> str:
    return str(ibis.to_sql(build_counts(wh, q), dialect=wh.ibis.name))
