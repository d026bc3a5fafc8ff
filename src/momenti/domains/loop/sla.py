"""A case's SLA, computed from its status history on read.

Nothing about the SLA is stored: the due times and states follow from when the case was opened, the list of
its status changes and the policy, at the `now` the caller passes in. Storing a "due at" would go stale the
moment a policy, a calendar or a past status change is corrected; recomputing cannot.

Two clocks run in the policy calendar's business time:

* first contact: from opening until the case first enters `contacted` (or `resolved`/`closed` directly, which
  imply contact);
* resolution: from opening until the case enters `resolved` or `closed`. A later `reopened` restarts it from
  where it stopped: the time spent resolved does not count, and the case needs a new resolution.

Neither clock runs while the case waits on the customer (`PAUSE_STATUSES`). A due time is the moment the clock
reaches its budget: the opening plus the budget, pushed later by the business time spent paused (or resolved,
for the resolution clock); while paused, as if the clock resumed at `now`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from momenti.domains.loop.calendar import BusinessCalendar

__all__ = [
    "CONTACT_STATUSES",
    "PAUSE_STATUSES",
    "RESOLVED_STATUSES",
    "SLA_STATES",
    "STATUSES",
    "SlaClock",
    "SlaPolicy",
    "sla_clock",
]

STATUSES = ("new", "acknowledged", "contacted", "pending_customer", "resolved", "closed", "reopened")
# the SLA clocks do not run while the case is in these (the ball is in the customer's court)
PAUSE_STATUSES = frozenset({"pending_customer"})
# entering one of these is the first contact (resolving or closing a case implies the customer was reached)
CONTACT_STATUSES = frozenset({"contacted", "resolved", "closed"})
RESOLVED_STATUSES = frozenset({"resolved", "closed"})
SLA_STATES = ("on_track", "at_risk", "breached", "met")

_POLICY_KEYS = frozenset({"name", "first_contact_hours", "resolution_hours", "at_risk_share", "calendar"})


@dataclass(frozen=True)
class SlaPolicy:
    """Budgets in business hours of `calendar`; "at risk" once `at_risk_share` of a budget is used."""

    name: str = "standard"
    first_contact_hours: float = 48
    resolution_hours: float = 120
    at_risk_share: float = 0.75
    calendar: BusinessCalendar = BusinessCalendar()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name: expected a non-empty string, got {self.name!r}")
        for key in ("first_contact_hours", "resolution_hours"):
            value = getattr(self, key)
            if not _is_number(value) or value <= 0:
                raise ValueError(f"{key}: expected a positive number of business hours, got {value!r}")
        if not _is_number(self.at_risk_share) or not 0 < self.at_risk_share <= 1:
            raise ValueError(f"at_risk_share: expected a share in (0, 1], got {self.at_risk_share!r}")
        if not isinstance(self.calendar, BusinessCalendar):
            raise ValueError(f"calendar: expected a BusinessCalendar, got {type(self.calendar).__name__}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SlaPolicy:
        """A policy from its configuration: keys `name`, `first_contact_hours`, `resolution_hours`,
        `at_risk_share`, `calendar` (a mapping for `BusinessCalendar.from_dict`). Missing keys take the
        defaults; an unknown key or a bad value is a ValueError naming it."""
        if not isinstance(d, dict):
            raise ValueError(f"sla policy: expected a mapping, got {type(d).__name__}")
        unknown = sorted(set(map(str, d)) - _POLICY_KEYS)
        if unknown:
            raise ValueError(f"sla policy: unknown key {unknown[0]!r} (known: {', '.join(sorted(_POLICY_KEYS))})")
        kw: dict[str, Any] = {k: d[k] for k in ("name", "first_contact_hours", "resolution_hours", "at_risk_share")
                              if k in d}
        if "calendar" in d:
            cal = d["calendar"]
            if isinstance(cal, BusinessCalendar):
                kw["calendar"] = cal
            elif cal is None:
                pass  # an empty `calendar:` in YAML: the default calendar
            else:
                try:
                    kw["calendar"] = BusinessCalendar.from_dict(cal)
                except ValueError as e:
                    # prefix the path so a message from a nested mapping still says where the bad value is
                    msg = str(e)
                    raise ValueError(msg if msg.startswith("calendar") else f"calendar.{msg}") from e
        return cls(**kw)


@dataclass(frozen=True)
class SlaClock:
    """A case's SLA at one moment. Due times are always datetimes (naive UTC): while the case is paused, they
    are computed as if the clock resumed at `now`; once a clock stopped, they are when its budget would have
    run out. `*_used` is the share of the budget used (0 .. beyond 1 when late)."""

    first_contact_due: dt.datetime
    resolution_due: dt.datetime
    first_contact_at: dt.datetime | None
    resolved_at: dt.datetime | None  # the current resolution; None while open (or reopened)
    first_contact_state: str  # on_track | at_risk | breached | met
    resolution_state: str
    state: str  # the case's one SLA state (see sla_clock)
    first_contact_used: float
    resolution_used: float
    paused: bool


def sla_clock(opened_at: dt.datetime, history: Sequence[tuple[dt.datetime, str]], policy: SlaPolicy,
              now: dt.datetime) -> SlaClock:
    """The SLA of a case opened at `opened_at` with status changes `history` ((time, new status) in time
    order, the first normally (opened_at, "new"), which may be absent), as of `now` (naive UTC, passed in).

    Changes after `now` are ignored (not yet happened) and changes before the opening count from the opening.
    The case's one `state`: `breached` if either clock is breached; else, while first contact is pending, the
    first-contact state; after it, the resolution state, `met` only once the case is resolved or closed with
    both clocks met.
    """
    for _, status in history:
        if status not in STATUSES:
            raise ValueError(f"unknown case status {status!r} (known: {', '.join(STATUSES)})")
    segments = _segments(opened_at, history, now)
    current = segments[-1][2] if segments else "new"

    first_contact_at = next((a for a, _, s in segments if s in CONTACT_STATUSES), None)
    # the current resolution starts where the last run of resolved/closed statuses began: closing an already
    # resolved case is not a new resolution
    resolved_at: dt.datetime | None = None
    for a, _, s in reversed(segments):
        if s not in RESOLVED_STATUSES:
            break
        resolved_at = a

    cal = policy.calendar
    fc_budget = policy.first_contact_hours * 3600.0
    res_budget = policy.resolution_hours * 3600.0
    fc_stop = first_contact_at if first_contact_at is not None else max(now, opened_at)
    res_stop = resolved_at if resolved_at is not None else max(now, opened_at)
    fc_used_s, fc_due = _run(cal, segments, fc_stop, fc_budget, PAUSE_STATUSES)
    # time spent resolved does not count: a reopened case's clock continues from where it stopped
    res_used_s, res_due = _run(cal, segments, res_stop, res_budget, PAUSE_STATUSES | RESOLVED_STATUSES)

    fc_used, res_used = fc_used_s / fc_budget, res_used_s / res_budget
    fc_state = _state(fc_used, first_contact_at is not None, policy.at_risk_share)
    res_state = _state(res_used, resolved_at is not None, policy.at_risk_share)
    if "breached" in (fc_state, res_state):
        state = "breached"
    elif first_contact_at is None:
        state = fc_state
    else:
        # first contact met: the resolution clock speaks (its 'met' implies the case is resolved or closed)
        state = res_state
    return SlaClock(first_contact_due=fc_due, resolution_due=res_due, first_contact_at=first_contact_at,
                    resolved_at=resolved_at, first_contact_state=fc_state, resolution_state=res_state,
                    state=state, first_contact_used=fc_used, resolution_used=res_used,
                    paused=current in PAUSE_STATUSES)


def _segments(opened_at: dt.datetime, history: Sequence[tuple[dt.datetime, str]],
              now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """The case's life as [start, end) spans of one status each, from the opening to `now` (the last span
    ends at now; spans may be empty when two changes share a time)."""
    # a stable sort keeps the given order of changes that share a time; clamping to the opening makes a
    # change logged a moment before it (clock skew between writers) count from the opening
    changes = sorted(((max(t, opened_at), s) for t, s in history if t <= now), key=lambda c: c[0])
    if not changes or changes[0] != (opened_at, "new"):
        changes.insert(0, (opened_at, "new"))
    end = max(now, opened_at)
    out = []
    for i, (t, s) in enumerate(changes):
        nxt = changes[i + 1][0] if i + 1 < len(changes) else end
        out.append((t, nxt, s))
    return out


def _run(cal: BusinessCalendar, segments: list[tuple[dt.datetime, dt.datetime, str]], stop: dt.datetime,
         budget: float, idle: frozenset[str]) -> tuple[float, dt.datetime]:
    """Business seconds the clock ran until `stop` (it does not run in `idle` statuses), and its due time:
    the moment the running time reached `budget`, or, not reached yet, `stop` plus what is left of it."""
    ran = 0.0
    due: dt.datetime | None = None
    for a, b, status in segments:
        if a >= stop:
            break
        if status in idle:
            continue
        b = min(b, stop)
        seconds = cal.business_seconds(a, b)
        if due is None and ran + seconds >= budget:
            due = cal.add_business_seconds(a, budget - ran)
        ran += seconds
    if due is None:
        due = cal.add_business_seconds(stop, budget - ran)
    return ran, due


def _state(used: float, done: bool, at_risk_share: float) -> str:
    # exactly on the budget is still in time: a contact at the due moment meets the SLA
    if used > 1:
        return "breached"
    if done:
        return "met"
    return "at_risk" if used >= at_risk_share else "on_track"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
