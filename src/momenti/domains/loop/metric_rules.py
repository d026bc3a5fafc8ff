"""Metric rules: a touchpoint's score falling significantly from one period to the next, found by the same
compare test as `momenti metrics compare` (difference, its interval, p-value). Run daily by the job runner on
the last complete period against the one before; a trigger's key is touchpoint@period, so a rule opens at
most one case per touchpoint and period however often it runs.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from momenti.domains.loop.triggers import Trigger


def complete_periods(period: str, today: dt.date) -> tuple[str, str]:
    """(the period before the last complete one, the last complete one) as compare labels."""
    if period == "week":
        last = today - dt.timedelta(days=today.isoweekday() + 6)  # Monday of last week
        before = last - dt.timedelta(days=7)
        return (f"{before.isocalendar()[0]}-W{before.isocalendar()[1]:02d}",
                f"{last.isocalendar()[0]}-W{last.isocalendar()[1]:02d}")
    first = today.replace(day=1)
    last = (first - dt.timedelta(days=1)).replace(day=1)
    before = (last - dt.timedelta(days=1)).replace(day=1)
    return f"{before:%Y-%m}", f"{last:%Y-%m}"


def _touchpoints(ws: Any, rule: Any) -> dict[str, tuple[str | None, bool]]:
    from sqlalchemy import select

    from momenti.store.models import Touchpoint

    with ws.session() as s:
        return {k: (team, bool(mot)) for k, team, mot in s.execute(
            select(Touchpoint.key, Touchpoint.owner_team, Touchpoint.moment_of_truth))}


def drops(ws: Any, rule: Any, periods: tuple[str, str]) -> list[Trigger]:
    """The touchpoints whose `rule.metric_drop.metric` fell significantly from periods[0] to periods[1]."""
    cond = rule.metric_drop
    frame = ws.compare(cond.metric, by="touchpoint", periods=periods)
    if frame.empty:
        return []
    tps = _touchpoints(ws, rule)
    out = []
    for row in frame.to_dict("records"):
        tp = row["touchpoint"]
        team, mot = tps.get(tp, (None, False))
        if (cond.moments_of_truth and not mot) or (cond.touchpoints and tp not in cond.touchpoints):
            continue
        delta = row.get("delta")
        if not row.get("significant") or delta is None or not delta < -cond.min_drop:
            continue
        key = f"{tp}@{periods[1]}"
        start = dt.datetime.combine(_period_start(periods[1]), dt.time())
        out.append(Trigger(rule.key, "metric", zlib.crc32(key.encode()), key, None, tp, team, start,
                           {"metric": cond.metric, "period_a": periods[0], "period_b": periods[1],
                            "delta": float(delta), "ci_low": _f(row.get("ci_low")), "ci_high": _f(row.get("ci_high")),
                            "p_value": _f(row.get("p_value")), "n_a": row.get("n_a"), "n_b": row.get("n_b")},
                           key=key))
    return out


def _f(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _period_start(label: str) -> dt.date:
    from momenti.insights.scores.compare import parse_period

    return parse_period(label)[0]


def history(ws: Any, rule: Any, since: dt.datetime, until: dt.datetime | None) -> list[Trigger]:
    """Every period since `since` (the dry run): each complete period against the one before."""
    out: list[Trigger] = []
    day = (until or dt.datetime.now()).date()
    while True:
        pair = complete_periods(rule.metric_drop.period, day)
        if dt.datetime.combine(_period_start(pair[1]), dt.time()) < since:
            break
        out += drops(ws, rule, pair)
        day = _period_start(pair[1])
    return out
