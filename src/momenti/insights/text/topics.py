"""Topic questions on the warehouse's text tables: volume, share and sentiment per topic, the comments behind
them (masked), and emerging issues (topics whose share grows significantly period over period).

Counting runs in the warehouse as Ibis expressions (DuckDB and PostgreSQL alike); the statistics take the
aggregated counts:
- share of comments mentioning a topic = items with the topic / analysed items in the group, Wilson interval;
- net sentiment of a topic = % positive - % negative of its mentions (the topic's aspect sentiment when the
  comment has one for it, else the comment's), -100..100, with the adjusted-Wald interval of NPS (the same
  three-way ±1 coding: positive, neutral, negative);
- a trend row compares a topic's share in one period with the calendar period before: difference in
  percentage points, Newcombe interval, two-proportion z-test; `q_value` is the Benjamini-Hochberg adjustment
  over all rows of the answer (many topics x periods are tested at once), and `emerging` = the share grew
  and q_value < 1 - confidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import ibis
import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.engines import stats
from momenti.insights.scores.query import PERIODS, add_dimensions
from momenti.insights.scores.segments import column_name
from momenti.warehouse.connection import WarehouseConnection

DIMENSIONS = ("touchpoint", "stage", "journey", "channel", "source", "kind", "language", "question")
FILTER_ONLY = ("topic", "sentiment")
KINDS = ("answer", "feedback")
SENTIMENTS = ("negative", "neutral", "positive")


@dataclass
class TextQuery:
    by: list[str] = field(default_factory=list)
    period: str | None = None
    start: dt.date | None = None  # inclusive
    end: dt.date | None = None  # inclusive
    filters: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.period is not None and self.period not in PERIODS:
            raise InputError(f"unknown period {self.period!r}; choose one of: {', '.join(PERIODS)}")
        for dim in self.by:
            if dim not in DIMENSIONS and not _is_segment(dim):
                raise InputError(f"unknown dimension {dim!r}; use {', '.join(DIMENSIONS)} or segment:<attribute>")
        for dim in self.filters:
            if dim not in (*DIMENSIONS, *FILTER_ONLY) and not _is_segment(dim):
                raise InputError(f"unknown filter {dim!r}; use {', '.join((*DIMENSIONS, *FILTER_ONLY))} or "
                                 "segment:<attribute>")
        if len(set(self.by)) != len(self.by):
            raise InputError("a dimension is repeated in 'by'")
        for value in self.filters.get("kind", []):
            if value not in KINDS:
                raise InputError(f"unknown kind {value!r}; use answer or feedback")
        for value in self.filters.get("sentiment", []):
            if value not in SENTIMENTS:
                raise InputError(f"unknown sentiment {value!r}; use negative, neutral or positive")
        if self.start and self.end and self.start > self.end:
            raise InputError(f"--from {self.start} is after --to {self.end}")

    @property
    def keys(self) -> list[str]:
        return [column_name(d) for d in self.by] + (["period"] if self.period else [])


def _is_segment(dim: str) -> bool:
    return dim.startswith("segment:") and len(dim) > len("segment:")


def _source(wh: WarehouseConnection, table: str, q: TextQuery, skip: tuple[str, ...] = ()) -> ibis.Table:
    """`text_results` or `text_topics` filtered by the query, with its group columns (and `period`) added."""
    t = wh.table(table)
    if table == "text_topics" and "question" in (*q.by, *q.filters):  # the question key lives on the item
        t = t.left_join(wh.table("text_results").select("item_key", "question"), "item_key").drop("item_key_right")
    if q.start is not None:
        t = t.filter(t.ts >= ibis.literal(dt.datetime.combine(q.start, dt.time())))
    if q.end is not None:
        t = t.filter(t.ts < ibis.literal(dt.datetime.combine(q.end + dt.timedelta(days=1), dt.time())))
    t = add_dimensions(wh, t, [d for d in q.by if d not in skip],
                       {d: v for d, v in q.filters.items() if d not in skip})
    if q.period:
        t = t.mutate(period=t.ts.cast("timestamp").truncate(PERIODS[q.period]).cast("date"))
    return t


def _fetch(expr: ibis.Table, keys: list[str]) -> pd.DataFrame:
    df = expr.to_pandas()
    if "period" in df:
        df["period"] = pd.to_datetime(df["period"]).dt.strftime("%Y-%m-%d")
    for col in df.columns:
        if col not in keys and col != "topic":
            df[col] = pd.to_numeric(df[col])
    return df


def _group(t: ibis.Table, keys: list[str], **aggs: ibis.Expr) -> ibis.Table:
    return t.group_by(keys).aggregate(**aggs) if keys else t.aggregate(**aggs)


def counts(wh: WarehouseConnection, q: TextQuery) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(comments per group: keys + n_comments; mentions per group x topic: keys + topic + n, positive, neutral,
    negative). A `sentiment` filter applies to the mentions (the topic's own sentiment), not the base."""
    keys = q.keys
    items = _source(wh, "text_results", q, skip=("topic", "sentiment"))
    base = _fetch(_group(items, keys, n_comments=items.count()), keys)
    m = _source(wh, "text_topics", q)
    mentions = _fetch(m.group_by([*keys, "topic"]).aggregate(
        n=m.count(), positive=m.count(where=m.sentiment == "positive"),
        neutral=m.count(where=m.sentiment == "neutral"), negative=m.count(where=m.sentiment == "negative")), keys)
    return base, mentions


def topics(wh: WarehouseConnection, q: TextQuery, confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Per group x topic: n_comments (analysed items in the group), n (items mentioning the topic), share %
    with Wilson ci_low/ci_high, positive/neutral/negative mentions, net_sentiment with net_ci_low/net_ci_high,
    small_sample (the group or the topic's mentions below min_n)."""
    keys = q.keys
    base, mentions = counts(wh, q)
    columns = [*keys, "topic", "n_comments", "n", "share", "ci_low", "ci_high", "positive", "neutral", "negative",
               "net_sentiment", "net_ci_low", "net_ci_high", "small_sample"]
    if "topic" in q.filters and not base.empty:
        # Topics asked for by name get a row in every group, with 0 mentions where they are not mentioned
        # (a share of 0 % has an interval too).
        wanted = pd.DataFrame({"topic": q.filters["topic"]})
        grid = base.merge(wanted, how="cross")
        df = grid.merge(mentions, on=[*keys, "topic"], how="left")
        for col in ("n", "positive", "neutral", "negative"):
            df[col] = df[col].fillna(0)
    elif mentions.empty:
        return pd.DataFrame(columns=columns)
    else:
        df = mentions.merge(base, on=keys, how="left") if keys else mentions.assign(
            n_comments=int(base["n_comments"].iloc[0]))
    df["share"], df["ci_low"], df["ci_high"] = stats.wilson(df["n"], df["n_comments"], confidence)
    net = stats.nps(df["positive"], df["neutral"], df["negative"], confidence)
    df["net_sentiment"], df["net_ci_low"], df["net_ci_high"] = net
    df["small_sample"] = (df["n_comments"] < min_n) | (df["n"] < min_n)
    for col in ("n_comments", "n", "positive", "neutral", "negative"):
        df[col] = df[col].astype("int64")
    df = df.sort_values([*keys, "n", "topic"], ascending=[*([True] * len(keys)), False, True], kind="stable")
    return df[columns].reset_index(drop=True)


def _previous(period: pd.Series, unit: str) -> pd.Series:
    p = pd.to_datetime(period)
    offsets = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1),
               "quarter": pd.DateOffset(months=3), "year": pd.DateOffset(years=1)}
    return (p - offsets[unit]).dt.strftime("%Y-%m-%d")


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values); NaN stays NaN and does not count as a test."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if not m:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = adjusted
    q[ok] = out
    return q


TREND_COLUMNS = ["topic", "period_a", "period_b", "n_a", "n_b", "k_a", "k_b", "share_a", "share_b", "delta", "ci_low",
                 "ci_high", "p_value", "significant", "q_value", "emerging", "small_sample"]


def trends(wh: WarehouseConnection, q: TextQuery, confidence: float = 0.95, min_n: int = 30,
           periods: tuple[str, str] | None = None) -> pd.DataFrame:
    """Per group x topic x period (each against the calendar period before), or per group x topic between
    two periods A and B (`periods`, e.g. ("2026-01..2026-02", "2026-03..2026-04")): period_a, period_b,
    n_a, n_b (comments), k_a, k_b (mentions), share_a, share_b (%), delta (pp), ci_low, ci_high (Newcombe),
    p_value, significant (p < 1 - confidence), q_value (BH over the rows), emerging (grew, q < 1 - confidence),
    small_sample (either period below min_n comments)."""
    group = [column_name(d) for d in q.by]
    columns = [*group, *TREND_COLUMNS]
    if periods:
        df = _two_periods(wh, q, group, periods)
    elif q.period:
        df = _period_over_period(wh, q, group)
    else:
        raise InputError("trends need a period (week or month: each against the one before) or two periods A B")
    if df.empty:
        return pd.DataFrame(columns=columns)
    df["share_a"] = 100.0 * df["k_a"] / df["n_a"]
    df["share_b"] = 100.0 * df["k_b"] / df["n_b"]
    delta, lo, hi, _z, p = stats.proportion_diff(df["k_a"], df["n_a"], df["k_b"], df["n_b"], confidence)
    df["delta"], df["ci_low"], df["ci_high"], df["p_value"] = delta, lo, hi, p
    alpha = 1 - confidence
    df["significant"] = df["p_value"] < alpha
    df["q_value"] = benjamini_hochberg(df["p_value"].to_numpy())
    df["emerging"] = (df["delta"] > 0) & (df["q_value"] < alpha)
    df["small_sample"] = (df["n_a"] < min_n) | (df["n_b"] < min_n)
    for col in ("n_a", "n_b", "k_a", "k_b"):
        df[col] = df[col].astype("int64")
    df = df.sort_values([*group, "topic", "period_b"], kind="stable")
    return df[columns].reset_index(drop=True)


def _period_over_period(wh: WarehouseConnection, q: TextQuery, group: list[str]) -> pd.DataFrame:
    base, mentions = counts(wh, q)
    if mentions.empty:
        return pd.DataFrame()
    # Every (group, topic) seen, in every period its group has comments: a period without mentions counts 0.
    topics_seen = mentions[[*group, "topic"]].drop_duplicates()
    grid = base.merge(topics_seen, on=group, how="inner") if group else base.merge(topics_seen, how="cross")
    grid = grid.merge(mentions[[*group, "topic", "period", "n"]], on=[*group, "topic", "period"], how="left")
    grid["n"] = grid["n"].fillna(0)
    grid = grid.rename(columns={"n_comments": "n_b", "n": "k_b", "period": "period_b"})
    grid["period_a"] = _previous(grid["period_b"], q.period or "month")
    before = grid[[*group, "topic", "period_b", "n_b", "k_b"]].rename(
        columns={"period_b": "period_a", "n_b": "n_a", "k_b": "k_a"})
    return grid.merge(before, on=[*group, "topic", "period_a"], how="inner")


def _two_periods(wh: WarehouseConnection, q: TextQuery, group: list[str], periods: tuple[str, str]) -> pd.DataFrame:
    from momenti.insights.scores.compare import parse_period

    side = {}
    for name, spec in zip(("a", "b"), periods, strict=True):
        start, end, label = parse_period(spec)
        base, mentions = counts(wh, replace(q, period=None, start=start, end=end))
        side[name] = (base.rename(columns={"n_comments": f"n_{name}"}),
                      mentions[[*group, "topic", "n"]].rename(columns={"n": f"k_{name}"}), label)
    topics_seen = pd.concat([side["a"][1], side["b"][1]])[[*group, "topic"]].drop_duplicates()
    if topics_seen.empty:
        return pd.DataFrame()
    df = topics_seen
    for name in ("a", "b"):
        base, mentions, label = side[name]
        df = df.merge(base, on=group, how="inner") if group else df.merge(base, how="cross")
        df = df.merge(mentions, on=[*group, "topic"], how="left")
        df[f"k_{name}"] = df[f"k_{name}"].fillna(0)
        df[f"period_{name}"] = label
    return df


COMMENT_COLUMNS = ["kind", "external_id", "question", "ts", "touchpoint", "channel", "language", "sentiment",
                   "sentiment_score", "topics", "masked_text"]


def comments(wh: WarehouseConnection, q: TextQuery, limit: int | None = 20, min_group: int = 5,
             original: Callable[[list[str]], list[str | None]] | None = None) -> pd.DataFrame:
    """The newest comments matching the query (a `topic` filter: comments with that topic, and a `sentiment`
    filter then reads the topic's own sentiment), masked text only; `original` (item keys -> their original
    text, read from the store: the warehouse holds masked text only) adds a `text` column. Nothing is shown when
    fewer than `min_group` comments match (a tiny group's text would point at the person who wrote it);
    `df.attrs["matched"]` holds the number matched, `df.attrs["withheld"]` whether text was withheld."""
    topic_filter = "topic" in q.filters
    # With a topic filter the sentiment filter applies to the topic's own sentiment (in text_topics); without
    # one, to the item's, filtered right here.
    items = _source(wh, "text_results", q, skip=("topic", "sentiment") if topic_filter else ("topic",))
    if topic_filter:
        m = _source(wh, "text_topics", q)
        items = items.semi_join(m.select("item_key").distinct(), "item_key")
    matched = int(items.count().execute())
    columns = [*COMMENT_COLUMNS, *(["text"] if original else [])]
    if matched < max(min_group, 1):
        out = pd.DataFrame(columns=columns)
        out.attrs.update(matched=matched, withheld=matched > 0)
        return out
    top = items.order_by([ibis.desc("ts"), ibis.desc("item_key")])
    top = top.limit(limit) if limit is not None else top
    df = top.select("item_key", *COMMENT_COLUMNS).to_pandas()
    if original:
        df["text"] = original(df["item_key"].tolist())
    df["topics"] = df["topics"].map(_join_list)
    df["ts"] = pd.to_datetime(df["ts"]).dt.strftime("%Y-%m-%d %H:%M")
    df = df[columns].reset_index(drop=True)
    df.attrs.update(matched=matched, withheld=False)
    return df


def _join_list(value: object) -> str:
    import json

    try:
        return ", ".join(json.loads(value)) if isinstance(value, str) else ""
    except ValueError:
        return ""


def texts_for_discovery(wh: WarehouseConnection, q: TextQuery, unmatched_only: bool = True,
                        max_texts: int = 20_000) -> pd.DataFrame:
    """(masked_text, language) of the comments to look for new topics in: by default those no taxonomy topic
    matched, newest first, at most `max_texts`."""
    t = _source(wh, "text_results", q, skip=("topic", "sentiment"))
    if unmatched_only:
        t = t.filter(t.n_topics == 0)
    return t.order_by([ibis.desc("ts"), ibis.desc("item_key")]).limit(max_texts).select(
        "masked_text", "language").to_pandas()
