"""The outside-in weekly review: each team records the week's activities and rates each on the value it brings
to the customer's need or desire, the ease of the interaction and the pleasantness of the experience (1-5).

The week's answer to "how much did we work for the customer?" is `weekly`: per team and ISO week, the
activities, the share of them that touch a customer touchpoint (with its Wilson interval: a share of 3
activities is not a share of 30) and the mean ratings. The means are those of the *customer* activities (the
ones the ratings are about; `basis` says so); the means of all activities are there too (`*_all`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.engines.stats import wilson
from momenti.store.access import Team
from momenti.store.models import Touchpoint
from momenti.store.story import ReviewActivity

RATINGS = ("value", "ease", "pleasantness")
BASIS = "customer activities"


def week_start(week: str | dt.date | dt.datetime) -> dt.date:
    """'2026-W40' (or any day of it) -> the ISO week's Monday."""
    if isinstance(week, dt.datetime):
        week = week.date()
    if isinstance(week, dt.date):
        return week - dt.timedelta(days=week.weekday())
    s = str(week).strip()
    m = re.fullmatch(r"(\d{4})-?[Ww](\d{1,2})", s)
    try:
        if m:
            return dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        return week_start(dt.date.fromisoformat(s))
    except ValueError as exc:
        raise InputError(f"week {week!r}: {exc}") from exc


def week_label(monday: dt.date) -> str:
    y, w, _ = monday.isocalendar()
    return f"{y:04d}-W{w:02d}"  # four digits: week_start reads YYYY-Www back ("999-W18" it did not)


def known_teams(s: Session) -> list[str]:
    names = set(s.scalars(select(Team.name)))
    names |= {t for t in s.scalars(select(Touchpoint.owner_team)) if t}
    return sorted(names)


def _rating(name: str, value: Any) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: a whole number from 1 to 5, not {value!r}") from None
    if not 1 <= v <= 5 or str(value).strip() not in (str(v), f"{v}.0"):
        raise InputError(f"{name}: a whole number from 1 to 5, not {value!r}")
    return v


@dataclass(frozen=True)
class ActivityCreate:
    team: str
    week: str | dt.date
    what: str
    value: int
    ease: int
    pleasantness: int
    touchpoints: tuple[str, ...] = ()
    case_ids: tuple[int, ...] = ()
    improvement: bool = False
    evidence: str | None = None
    external_id: str | None = None


def add_activity(s: Session, a: ActivityCreate, author: str) -> tuple[ReviewActivity, bool]:
    """(the activity, created?). The same `external_id` twice is one activity (a retried import)."""
    teams = known_teams(s)
    if a.team not in teams:
        listed = ", ".join(teams) or "(none: apply a journey with owner_team or create a team)"
        raise InputError(f"team {a.team!r}: unknown; teams are {listed}")
    what = (a.what or "").strip()
    if not what or len(what) > 2000:
        raise InputError("what: 1 to 2000 characters saying what was done")
    tps = tuple(dict.fromkeys(t.strip() for t in a.touchpoints if t and t.strip()))
    if tps:
        have = set(s.scalars(select(Touchpoint.key).where(Touchpoint.key.in_(tps))))
        missing = [t for t in tps if t not in have]
        if missing:
            raise InputError(f"touchpoint {', '.join(missing)}: not in the journey map")
    if a.improvement and not tps:
        raise InputError("improvement: name the touchpoint it improves (--touchpoint), so its metric can be compared")
    if a.external_id:
        hit = s.scalar(select(ReviewActivity).where(ReviewActivity.external_id == a.external_id))
        if hit is not None:
            return hit, False
    row = ReviewActivity(team=a.team, week_start=week_start(a.week), what=what, touchpoints=list(tps),
                         case_ids=[int(c) for c in a.case_ids], improvement=bool(a.improvement),
                         value=_rating("value", a.value), ease=_rating("ease", a.ease),
                         pleasantness=_rating("pleasantness", a.pleasantness),
                         evidence=(a.evidence or "").strip() or None, author=author[:400], created_at=utcnow(),
                         external_id=a.external_id)
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:  # the same external id written at the same moment by someone else
        return s.scalar(select(ReviewActivity).where(ReviewActivity.external_id == a.external_id)), False
    return row, True


def activities(s: Session, team: str | None = None, start: dt.date | None = None, end: dt.date | None = None,
               ) -> list[ReviewActivity]:
    stmt = select(ReviewActivity)
    if team:
        stmt = stmt.where(ReviewActivity.team == team)
    if start:
        stmt = stmt.where(ReviewActivity.week_start >= week_start(start))
    if end:
        stmt = stmt.where(ReviewActivity.week_start <= end)
    return list(s.scalars(stmt.order_by(ReviewActivity.week_start, ReviewActivity.team, ReviewActivity.id)))


def _row(team: str, monday: dt.date, acts: list[ReviewActivity], confidence: float) -> dict[str, Any]:
    cust = [a for a in acts if a.touchpoints]
    share, lo, hi = (float(x) for x in wilson(len(cust), len(acts), confidence))
    out: dict[str, Any] = {"week": week_label(monday), "week_start": monday.isoformat(), "team": team,
                           "activities": len(acts), "customer_activities": len(cust),
                           "customer_share": round(share / 100, 4), "customer_share_ci_low": round(lo / 100, 4),
                           "customer_share_ci_high": round(hi / 100, 4),
                           "improvements": sum(1 for a in acts if a.improvement), "basis": BASIS}
    for k in RATINGS:
        vals = [getattr(a, k) for a in cust]
        out[k] = round(float(np.mean(vals)), 3) if vals else None
        out[f"{k}_all"] = round(float(np.mean([getattr(a, k) for a in acts])), 3) if acts else None
    return out


def weekly(s: Session, team: str | None = None, start: dt.date | None = None, end: dt.date | None = None,
           confidence: float = 0.95, overall: bool = True) -> list[dict[str, Any]]:
    """Rows per (week, team), oldest week first; with no team asked, also one row per week for every team
    together (`team` "all")."""
    groups: dict[tuple[dt.date, str], list[ReviewActivity]] = {}
    for a in activities(s, team, start, end):
        groups.setdefault((a.week_start, a.team), []).append(a)
        if overall and not team:
            groups.setdefault((a.week_start, "all"), []).append(a)
    return [_row(t, monday, acts, confidence) for (monday, t), acts in sorted(groups.items())]


MAX_COMPARE_WEEKS = 104  # two years each side: more reaches past any data and past date arithmetic's range


def improvement_windows(monday: dt.date, weeks: int = 8) -> tuple[str, str]:
    """The compare periods of an improvement made in the week of `monday`: the `weeks` weeks before it and the
    `weeks` weeks after it (the week itself left out: the change lands during it)."""
    before = (monday - dt.timedelta(weeks=weeks), monday - dt.timedelta(days=1))
    after = (monday + dt.timedelta(weeks=1), monday + dt.timedelta(weeks=weeks + 1) - dt.timedelta(days=1))
    return f"{before[0]}..{before[1]}", f"{after[0]}..{after[1]}"


def as_dict(a: ReviewActivity) -> dict[str, Any]:
    return {"id": a.id, "team": a.team, "week": week_label(a.week_start), "week_start": a.week_start.isoformat(),
            "what": a.what, "touchpoints": list(a.touchpoints or []), "case_ids": list(a.case_ids or []),
            "improvement": a.improvement, "value": a.value, "ease": a.ease, "pleasantness": a.pleasantness,
            "evidence": a.evidence, "author": a.author, "created_at": a.created_at}
