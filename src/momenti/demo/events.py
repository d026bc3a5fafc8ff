"""The interaction log: cases drawn per customer, churn, repeat contacts, then expansion into events.

Order matters and mirrors cause and effect: ordinary cases are drawn first; a bad complaint can then push the
customer out (churn), which truncates everything after it; contacts spawn same-reason repeat contacts (the
"carta bloccata" truth); finally every case is expanded step by step into timestamped events. All of it is
vectorised: Python loops run over case types and repeat generations, never over cases or events.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from momenti.demo._util import choice_codes, decode, id_array, nullable_float, row_choice, segment_positions, timestamps
from momenti.demo.config import (
    APP_REASONS,
    DAY,
    HOUR,
    MINUTE,
    REASON_KEYS,
    REASONS,
    TRUTHS,
    WINDOW_END,
    WINDOW_START,
    YEAR,
    SizeSpec,
    release_bounds,
)
from momenti.demo.customers import BRANCHES, Population
from momenti.demo.processes import CASE_INDEX, CASE_TYPES, DURATIONS, CompiledSteps, compile_steps

# Hour-of-day profiles (weights for 0..23) and the day shift applied on closed weekdays (Mon=0..Sun=6).
_DIGITAL = np.array([1, .5, .3, .2, .2, .4, 1.2, 3, 5, 6, 6, 6, 7, 7, 5, 5, 5, 6, 7, 8, 8, 7, 5, 2.5])
_PHONE = np.array([0] * 8 + [5, 9, 10, 9, 6, 5, 8, 9, 8, 7, 5, 3] + [0] * 4, dtype=float)
_BRANCH = np.array([0] * 8 + [3, 8, 9, 9, 7, 1, 5, 6] + [0] * 8, dtype=float)
_TIMING = {
    "digital": (_DIGITAL, np.zeros(7, dtype=np.int64)),
    "phone": (_PHONE, np.array([0, 0, 0, 0, 0, 0, 1])),  # Sunday calls land on Monday
    "branch": (_BRANCH, np.array([0, 0, 0, 0, 0, 2, 1])),  # branches are closed at weekends
}
_CASE_TIMING = {
    "app": "digital", "web": "digital", "phone": "phone", "chat": "digital", "branch": "branch", "card": "phone",
    "card-followup": "phone", "email": "digital", "complaint": "digital", "refund": "digital",
    "mortgage": "branch", "social": "digital", "onboarding": "digital", "closure": "branch",
    "retention-save": "branch",
}
# Contacts that can be repeated, and what kind of contact the repeat is (chat users may phone next time...).
_REPEATABLE = ("phone", "chat", "branch", "card", "card-followup", "email")
_REPEAT_AS = {"phone": ("phone",), "chat": ("chat", "phone"), "branch": ("branch", "phone", "phone"),
              "email": ("email", "phone"), "card": ("card-followup",), "card-followup": ("card-followup",)}
_PHONE_POOL, _CHAT_POOL, _OFFICE_POOL, _SOCIAL_POOL, _BRANCH_STAFF = 60, 20, 15, 5, 4
CARD_REASON = REASON_KEYS.index("carta bloccata")


@dataclass
class Cases:
    customer: np.ndarray
    ctype: np.ndarray
    start: np.ndarray
    q: np.ndarray  # case quality: < -1 means the case goes badly
    reason: np.ndarray  # code into REASON_KEYS, -1 none
    k1: np.ndarray  # random draws that pick the agents
    k2: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def take(self, idx: np.ndarray) -> Cases:
        return Cases(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Cases]) -> Cases:
        return Cases(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Cases)})


@dataclass
class EventLog:
    cases: Cases  # sorted by start; case number = position
    variant: np.ndarray
    end: np.ndarray  # time of the last kept event of each case
    steps: CompiledSteps
    ev_case: np.ndarray  # events sorted by time
    ev_time: np.ndarray
    ev_step: np.ndarray
    ev_activity: np.ndarray
    ev_touchpoint: np.ndarray
    ev_duration: np.ndarray
    ev_agent: np.ndarray
    agent_labels: list[str]
    touch_key: np.ndarray  # sorted case * n_touchpoints + touchpoint
    touch_first: np.ndarray
    touch_last: np.ndarray

    @property
    def n_touchpoints(self) -> int:
        return len(self.steps.touchpoints)

    def table(self, customer_ids: pa.Array) -> pa.Table:
        c, s = self.cases, self.steps
        return pa.table(
            {
                "event_id": id_array("E", np.arange(1, len(self.ev_time) + 1), 8),
                "customer_id": customer_ids.take(pa.array(c.customer[self.ev_case])),
                "case_id": id_array("CS", self.ev_case + 1, 7),
                "timestamp": timestamps(self.ev_time),
                "activity": decode(self.ev_activity, s.activities),
                "touchpoint": decode(self.ev_touchpoint, s.touchpoints),
                "channel": decode(s.step_channel[self.ev_step], s.channels),
                "reason": decode(c.reason[self.ev_case], REASON_KEYS),
                "duration_s": nullable_float(self.ev_duration),
                "agent": decode(self.ev_agent, self.agent_labels),
                "outcome": decode(s.step_outcome[self.ev_step], s.outcomes),
            }
        )


def _time_of_day(rng: np.random.Generator, start: np.ndarray, timing: str) -> np.ndarray:
    profile, shift = _TIMING[timing]
    day = start // DAY
    day = day + shift[(day + 3) % 7]  # 1970-01-01 was a Thursday
    hour = choice_codes(rng, profile, len(start))
    return day * DAY + hour * HOUR + rng.integers(0, HOUR, len(start))


def _office_hours(t: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Move a night-time ``t`` forward into office hours (08:00 + ``spread`` hours, same day or next)."""
    hour = (t % DAY) // HOUR
    day = t - t % DAY
    target = 8 * HOUR + spread * HOUR + t % HOUR
    return np.select([hour < 8, hour >= 19], [day + target, day + DAY + target], t)


def _quality(rng: np.random.Generator, pop: Population, customer: np.ndarray) -> np.ndarray:
    """Case quality: mostly noise plus the customer's disposition; 5 % are incidents (something broke)."""
    n = len(customer)
    q = rng.normal(0.0, 0.9, n) + 0.2 * pop.disposition[customer]
    incident = rng.random(n) < 0.05
    return np.where(incident, rng.normal(-3.3, 0.4, n), q)


def _draw(rng: np.random.Generator, pop: Population, key: str, rate: np.ndarray, lo: np.ndarray,
          hi: np.ndarray) -> Cases:
    """Poisson number of cases per customer over its active span, uniform in time, realistic hour of day."""
    span = np.maximum(hi - lo, 0)
    counts = rng.poisson(rate * span / YEAR)
    customer = np.repeat(np.arange(pop.n), counts)
    start = lo[customer] + (rng.random(len(customer)) * span[customer]).astype(np.int64)
    start = _time_of_day(rng, start, _CASE_TIMING[key])
    keep = (start >= lo[customer]) & (start < hi[customer])
    customer, start = customer[keep], start[keep]
    return _new_cases(rng, pop, key, customer, start)


def _new_cases(rng: np.random.Generator, pop: Population, key: str, customer: np.ndarray, start: np.ndarray,
               reason: np.ndarray | None = None) -> Cases:
    n = len(customer)
    ctype = np.full(n, CASE_INDEX[key], dtype=np.int32)
    if reason is None:
        reason = np.full(n, -1, dtype=np.int32)
    k1 = rng.integers(0, 1 << 30, n)
    return Cases(customer=customer.astype(np.int64), ctype=ctype, start=start.astype(np.int64),
                 q=_quality(rng, pop, customer), reason=reason.astype(np.int32), k1=k1,
                 k2=k1 + 1 + rng.integers(0, 1 << 20, n))


def _assign_reasons(rng: np.random.Generator, cases: Cases, weights: np.ndarray) -> None:
    """Reasons by case type; app and password reasons swell during the broken-release window."""
    todo = (cases.reason < 0) & (weights[cases.ctype].sum(axis=1) > 0)
    if not todo.any():
        return
    w = weights[cases.ctype[todo]].copy()
    r_start, r_end = release_bounds()
    in_release = (cases.start[todo] >= r_start) & (cases.start[todo] < r_end)
    app_cols = [REASON_KEYS.index(r) for r in APP_REASONS]
    w[np.ix_(in_release, app_cols)] *= TRUTHS.release_app_reason_boost
    cases.reason[todo] = row_choice(rng, w)


def _churn(rng: np.random.Generator, pop: Population, cases: Cases) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decide who asks to close the account and when: (customers who leave, customers saved, request times)."""
    lo = np.maximum(pop.first_seen, WINDOW_START) + 30 * DAY
    hazard = 0.045 * np.exp(-0.45 * pop.disposition - 0.35 * pop.loyalty + 0.35 * pop.price_z)
    intent = lo + (rng.exponential(1.0, pop.n) / hazard * YEAR).astype(np.int64)
    bad = np.flatnonzero((cases.ctype == CASE_INDEX["complaint"]) & (cases.q < -1.0))
    pushed = bad[rng.random(len(bad)) < TRUTHS.bad_complaint_churn_p]
    trigger = cases.start[pushed] + rng.integers(20 * DAY, 120 * DAY, len(pushed))
    np.minimum.at(intent, cases.customer[pushed], trigger)
    intent = _time_of_day(rng, intent, "branch")
    has_intent = intent < WINDOW_END
    saved = has_intent & (rng.random(pop.n) < TRUTHS.retention_save_p)
    churned = has_intent & ~saved
    pop.churn_at = np.where(churned, intent, WINDOW_END)
    return np.flatnonzero(churned), np.flatnonzero(saved), intent


def _repeats(rng: np.random.Generator, pop: Population, base: Cases) -> list[Cases]:
    """Same-reason repeat contacts within the window: p = 35 % for a blocked card, 7 % otherwise."""
    out: list[Cases] = []
    frontier = base.take(np.flatnonzero(np.isin(base.ctype, [CASE_INDEX[k] for k in _REPEATABLE])
                                        & (base.reason >= 0)))
    for _ in range(10):
        if len(frontier) == 0:
            break
        p = np.where(frontier.reason == CARD_REASON, TRUTHS.card_repeat_p, TRUTHS.other_repeat_p)
        src = frontier.take(np.flatnonzero(rng.random(len(frontier)) < p))
        # Next contact 0..6 days later (mostly soon), at a plausible hour, strictly later, within 7 days.
        days = choice_codes(rng, (30, 25, 15, 10, 8, 7, 5), len(src))
        start = (src.start // DAY + days) * DAY + choice_codes(rng, _PHONE, len(src)) * HOUR
        start = start + rng.integers(0, HOUR, len(src))
        too_soon = start <= src.start + 15 * MINUTE
        start = np.where(too_soon, src.start + 15 * MINUTE + rng.integers(0, 4 * HOUR, len(src)), start)
        start = np.minimum(start, src.start + (TRUTHS.repeat_window_days * DAY - HOUR))
        parts = []
        for key, kinds in _REPEAT_AS.items():
            idx = np.flatnonzero(src.ctype == CASE_INDEX[key])
            pick = rng.integers(0, len(kinds), len(idx))
            for j, kind in enumerate(kinds):
                sel = idx[pick == j]
                c = _new_cases(rng, pop, kind, src.customer[sel], start[sel], src.reason[sel])
                c.q = c.q - 0.3  # a repeat contact starts from a customer who is already annoyed
                parts.append(c)
        nxt = Cases.concat(parts)
        nxt = nxt.take(np.flatnonzero((nxt.start < pop.churn_at[nxt.customer]) & (nxt.start < WINDOW_END)))
        out.append(nxt)
        frontier = nxt
    return out


def _base_cases(rng: np.random.Generator, pop: Population, size: SizeSpec) -> Cases:
    n = pop.n
    lo = np.maximum(pop.first_seen + 2 * DAY, WINDOW_START)
    hi = np.full(n, WINDOW_END, dtype=np.int64)
    u = pop.disposition
    contact = rng.gamma(2.0, 0.5, n)  # some customers simply need more help than others
    digital = rng.gamma(1.5, 1 / 1.5, n)
    app = pop.app_user.astype(float)
    seg = pop.segment
    rates = {
        "app": 11.0 * size.activity * digital * app,
        "web": np.where(pop.app_user, 1.5, 6.0) * size.activity * digital,
        "phone": 0.75 * size.contacts * contact * np.exp(-0.2 * u) * np.where(pop.app_user, 1.0, 1.3),
        "chat": 0.45 * size.contacts * contact * app,
        "branch": np.array([1.2, 2.0, 2.4, 0.5, 2.5])[seg] * size.contacts * (0.7 + 0.3 * contact),
        "card": np.where(seg == 3, 0.18, 0.13) * (0.8 + 0.2 * contact),
        "email": 0.3 * size.contacts * contact,
        "complaint": 0.085 * contact * np.exp(-0.45 * u),
        "refund": 0.06 * (0.7 + 0.3 * contact),
        "mortgage": np.array([0.03, 0.05, 0.02, 0.04, 0.05])[seg],
        "social": np.where(seg == 3, 0.09, 0.025),
    }
    return Cases.concat([_draw(rng, pop, key, rate, lo, hi) for key, rate in rates.items()])


def build_event_log(rng: np.random.Generator, pop: Population, size: SizeSpec) -> EventLog:
    steps = compile_steps(REASONS)
    cases = _base_cases(rng, pop, size)
    _assign_reasons(rng, cases, steps.reason_weights)

    churned, saved, intent = _churn(rng, pop, cases)
    cases = cases.take(np.flatnonzero(cases.start < pop.churn_at[cases.customer]))
    follow = _repeats(rng, pop, cases)
    new = np.flatnonzero(pop.is_new)
    life = [
        _new_cases(rng, pop, "onboarding", new, pop.first_seen[new]),
        _new_cases(rng, pop, "closure", churned, intent[churned]),
        _new_cases(rng, pop, "retention-save", saved, intent[saved]),
    ]
    cases = Cases.concat([cases, *follow, *life])
    cases = cases.take(np.argsort(cases.start, kind="stable"))
    _agent_skill_effect(rng, cases)

    variant = _pick_variants(rng, cases, steps)
    return _expand(rng, pop, cases, variant, steps)


def _agent_skill_effect(rng: np.random.Generator, cases: Cases) -> None:
    """Agents differ: the phone / chat agent's skill shifts the case quality (so agent KPIs differ too)."""
    skill = np.random.default_rng(20_261_031).normal(0.0, 1.0, _PHONE_POOL + _CHAT_POOL)
    phone = np.isin(cases.ctype, [CASE_INDEX[k] for k in ("phone", "card", "card-followup")])
    chat = cases.ctype == CASE_INDEX["chat"]
    cases.q = cases.q + 0.3 * np.where(phone, skill[cases.k1 % _PHONE_POOL], 0.0)
    cases.q = cases.q + 0.3 * np.where(chat, skill[_PHONE_POOL + cases.k1 % _CHAT_POOL], 0.0)


def _pick_variants(rng: np.random.Generator, cases: Cases, steps: CompiledSteps) -> np.ndarray:
    n_types = len(CASE_TYPES)
    first = np.searchsorted(steps.variant_case_type, np.arange(n_types))
    count = np.bincount(steps.variant_case_type, minlength=n_types)
    width = int(count.max())
    good = np.zeros((n_types, width))
    bad = np.zeros((n_types, width))
    boost = np.ones((n_types, width))
    for t in range(n_types):
        sl = slice(first[t], first[t] + count[t])
        good[t, : count[t]] = steps.variant_good[sl]
        bad[t, : count[t]] = steps.variant_bad[sl]
        boost[t, : count[t]] = np.where(steps.variant_boost[sl], TRUTHS.release_failure_boost, 1.0)
    r_start, r_end = release_bounds()
    in_release = (cases.start >= r_start) & (cases.start < r_end)
    w = np.where((cases.q < -1.0)[:, None], bad[cases.ctype], good[cases.ctype])
    w = np.where(in_release[:, None], w * boost[cases.ctype], w)
    return first[cases.ctype] + row_choice(rng, w)


def _expand(rng: np.random.Generator, pop: Population, cases: Cases, variant: np.ndarray,
            steps: CompiledSteps) -> EventLog:
    lengths = steps.variant_len[variant]
    ev_case, pos = segment_positions(lengths)
    step = steps.variant_start[variant][ev_case] + pos
    n_ev = len(step)
    q = cases.q[ev_case]
    z = rng.normal(0.0, 1.0, (2, n_ev))

    # How long each step lasts (assisted contacts and queues only) ...
    kind = steps.step_duration[step]
    phone_wait = 140 * np.exp(0.55 * z[0] - 0.35 * q)
    chat_wait = 50 * np.exp(0.6 * z[0] - 0.3 * q)
    is_chat_case = np.isin(cases.ctype[ev_case], [CASE_INDEX["chat"], CASE_INDEX["card-followup"]])
    k = DURATIONS.index
    duration = np.select(
        [kind == k("ivr"), kind == k("wait"), kind == k("talk"), kind == k("chat"), kind == k("desk"),
         kind == k("queue")],
        [45 * np.exp(0.3 * z[0]), np.where(is_chat_case & (steps.step_channel[step] == steps.channels.index("chat")),
                                            chat_wait, phone_wait),
         300 * np.exp(0.45 * z[0]) * np.where(q < -1.0, 1.35, 1.0), 420 * np.exp(0.5 * z[0]),
         900 * np.exp(0.45 * z[0]), 400 * np.exp(0.7 * z[0] - 0.3 * q)],
        default=np.nan,
    )
    duration = np.where(np.isnan(duration), np.nan, np.round(np.clip(duration, 3, 7200), 1))

    # ... and the gap before it; back-office steps drag on when the case goes badly.
    gap = np.exp(steps.step_log_gap[step] + steps.step_spread[step] * z[1])
    slow = np.where(steps.step_slow[step], np.clip(np.exp(-0.45 * q), 0.5, 6.0), 1.0)
    gap = np.where(pos == 0, 0.0, np.maximum(gap * slow, 1.0))
    prev_dur = np.concatenate([[0.0], np.nan_to_num(duration[:-1])])
    inc = np.floor(gap + np.where(pos == 0, 0.0, prev_dur)).astype(np.int64)
    # Walk the steps position by position (at most ~12): back-office work and deliveries that come hours or
    # days later happen in office hours, which pushes everything after them too.
    channel = steps.step_channel[step]
    office_ch = np.isin(channel, [steps.channels.index(c) for c in ("branch", "mail", "other")])
    office = (steps.step_log_gap[step] >= np.log(6 * HOUR)) & (office_ch | (steps.step_agent[step] > 0))
    ev_time = cases.start[ev_case].copy()
    for k in range(1, int(lengths.max())):
        idx = np.flatnonzero(pos == k)
        t = ev_time[idx - 1] + inc[idx]
        snap = office[idx]
        ev_time[idx] = np.where(snap, _office_hours(t, rng.integers(0, 10, len(idx))), t)

    # The reason's operative step ("blocco carta", "reset password", ...) fills the @action placeholder.
    activity = steps.step_activity[step].copy()
    touchpoint = steps.step_touchpoint[step].copy()
    action = activity < 0
    act_code = np.array([steps.activities.index(REASONS[r][0]) for r in REASON_KEYS])
    act_tp = np.array([steps.touchpoints.index(REASONS[r][1]) if REASONS[r][1] else -1 for r in REASON_KEYS])
    reason_ev = cases.reason[ev_case]
    activity[action] = act_code[reason_ev[action]]
    touchpoint[action] = act_tp[reason_ev[action]]

    agent = _agents(pop, cases, ev_case, step, steps)

    keep = ev_time < WINDOW_END
    ev_case, ev_time, step, activity, touchpoint, duration, agent = (
        a[keep] for a in (ev_case, ev_time, step, activity, touchpoint, duration, agent)
    )
    end = np.zeros(len(cases), dtype=np.int64)
    np.maximum.at(end, ev_case, ev_time)

    n_tp = len(steps.touchpoints)
    has_tp = touchpoint >= 0
    keys = ev_case[has_tp] * n_tp + touchpoint[has_tp]
    times = ev_time[has_tp]
    order = np.argsort(keys, kind="stable")  # stable: times stay in order inside a key
    keys, times = keys[order], times[order]
    touch_key, first_idx = np.unique(keys, return_index=True)
    last_idx = np.r_[first_idx[1:], len(keys)] - 1

    order = np.argsort(ev_time, kind="stable")
    labels = [f"AG{i:03d}" for i in range(101 + len(BRANCHES) * _BRANCH_STAFF)]
    return EventLog(
        cases=cases, variant=variant, end=end, steps=steps,
        ev_case=ev_case[order], ev_time=ev_time[order], ev_step=step[order], ev_activity=activity[order],
        ev_touchpoint=touchpoint[order], ev_duration=duration[order], ev_agent=agent[order], agent_labels=labels,
        touch_key=touch_key, touch_first=times[first_idx], touch_last=times[last_idx],
    )


def _agents(pop: Population, cases: Cases, ev_case: np.ndarray, step: np.ndarray,
            steps: CompiledSteps) -> np.ndarray:
    """Agent code per event from the step's channel: contact-centre pools, the office, the customer's branch."""
    flag = steps.step_agent[step]
    draw = np.where(flag == 2, cases.k2[ev_case], cases.k1[ev_case])
    channel = steps.step_channel[step]
    code = {name: i for i, name in enumerate(steps.channels)}
    branch = pop.branch[cases.customer[ev_case]]
    agent = np.select(
        [channel == code.get(name, -9) for name in ("phone", "chat", "social", "branch")],
        [1 + draw % _PHONE_POOL, 1 + _PHONE_POOL + draw % _CHAT_POOL,
         1 + _PHONE_POOL + _CHAT_POOL + _OFFICE_POOL + draw % _SOCIAL_POOL,
         101 + branch * _BRANCH_STAFF + draw % _BRANCH_STAFF],
        default=1 + _PHONE_POOL + _CHAT_POOL + draw % _OFFICE_POOL,
    )
    return np.where(flag > 0, agent, -1).astype(np.int32)
