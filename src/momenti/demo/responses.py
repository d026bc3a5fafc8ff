"""Survey answers: transactional surveys after lived moments, and the quarterly relationship survey.

Transactional answers come from cases in the event log (a customer is surveyed about a moment they actually
lived, and the case quality that shaped the log shapes the score). The relationship survey rates, 1-10, every
touchpoint the customer lived in the previous 12 months, again read from the log, and derives the relationship
NPS from those ratings through the planted effects (asymmetric complaint penalty, weakest link, first-time
customers). Everything is vectorised; only the comment texts are composed one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from momenti.demo._util import (
    decode,
    id_array,
    month_index,
    month_start,
    nullable_int,
    timestamps,
)
from momenti.demo.config import (
    DAY,
    HOUR,
    N_MONTHS,
    RATED,
    REASON_KEYS,
    REASON_TOPIC,
    RELATIONSHIP,
    TOPICS,
    TOUCHPOINTS,
    TRUTHS,
    WINDOW_END,
    WINDOW_START,
    SizeSpec,
    release_bounds,
)
from momenti.demo.customers import Population
from momenti.demo.events import EventLog
from momenti.demo.processes import CASE_TYPES
from momenti.demo.text import Composer

_APP_CHANNEL_DELAY = ("app",)  # in-app surveys pop up seconds after the moment; the rest arrive by e-mail/SMS
_SESSIONS = ("app", "web")
_CONTACTS = ("phone", "chat", "branch", "email")
_SHIFT = 27  # bits for "seconds since window start" in a (customer, time) search key


@dataclass
class Answers:
    """Parallel arrays of answers (one row per response) before they become an Arrow table."""

    customer: np.ndarray
    touchpoint: list[str] | np.ndarray  # touchpoint keys
    submitted: np.ndarray
    nps: np.ndarray  # -1 = not asked / not answered
    csat: np.ndarray
    ces: np.ndarray
    comment: list[str | None]
    ratings: dict[str, np.ndarray]  # rating_<tp>: 0 = null
    loyalty: dict[str, np.ndarray]  # loy_*: 0 = null
    price_switch: np.ndarray  # code into TRUTHS.price_labels, -1 = null


def _polarity(nps: np.ndarray, csat: np.ndarray, ces: np.ndarray) -> np.ndarray:
    """0 = negative, 1 = mixed, 2 = positive, from the headline answer the customer gave."""
    out = np.full(len(nps), 1, dtype=np.int8)
    by_csat = csat > 0
    out[by_csat] = np.select([csat[by_csat] <= 2, csat[by_csat] >= 4], [0, 2], 1)
    by_ces = (ces > 0) & ~by_csat
    out[by_ces] = np.select([ces[by_ces] <= 3, ces[by_ces] >= 6], [0, 2], 1)
    by_nps = nps >= 0
    out[by_nps] = np.select([nps[by_nps] <= 6, nps[by_nps] >= 9], [0, 2], 1)
    return out


def _clip_round(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.rint(x), lo, hi).astype(np.int64)


def _lookup(keys: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact-match search in a sorted key array: (position, found)."""
    if len(keys) == 0:
        return np.zeros(len(query), dtype=np.int64), np.zeros(len(query), dtype=bool)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return pos, keys[pos] == query


def transactional(rng: np.random.Generator, pop: Population, log: EventLog, size: SizeSpec,
                  channels: dict[str, str], composer: Composer) -> Answers:
    steps, cases = log.steps, log.cases
    tps = steps.touchpoints
    n_tp = len(tps)
    code = {t: i for i, t in enumerate(tps)}
    width = max(len(s) for s in steps.variant_surveys)
    matrix = np.full((len(steps.variant_surveys), width), -1)
    for v, surveys in enumerate(steps.variant_surveys):
        matrix[v, : len(surveys)] = [code[t] for t in surveys]
    multi = np.array([CASE_TYPES[t].multi_survey for t in steps.variant_case_type])[log.variant]

    # One survey per case (picked among the variant's surveyed moments), several for onboarding and closure.
    n_valid = (matrix >= 0).sum(axis=1)[log.variant]
    single = np.flatnonzero(~multi & (n_valid > 0))
    pick = (rng.random(len(single)) * n_valid[single]).astype(np.int64)
    m_case, m_col = np.nonzero(matrix[log.variant[multi]] >= 0)
    m_case = np.flatnonzero(multi)[m_case]
    case = np.concatenate([single, m_case])
    tp = np.concatenate([matrix[log.variant[single], pick], matrix[log.variant[m_case], m_col]])

    pos, found = _lookup(log.touch_key, case * n_tp + tp)
    when = log.touch_last[pos]
    cust = cases.customer[case]
    p_resp = np.array([TOUCHPOINTS[t].response_p if t in TOUCHPOINTS else 0.0 for t in tps])[tp]
    # A thinned log (small size) must not thin the surveys as much: undo the session / contact scaling.
    kind = np.array([c.key for c in CASE_TYPES])[cases.ctype[case]]
    thinning = np.select([np.isin(kind, _SESSIONS), np.isin(kind, _CONTACTS)], [size.activity, size.contacts], 1.0)
    p_resp = p_resp * size.surveys / thinning * np.exp(0.12 * pop.disposition[cust])
    p_resp = np.minimum(p_resp, 0.95)
    keep = found & (rng.random(len(case)) < p_resp)
    case, tp, when, cust = case[keep], tp[keep], when[keep], cust[keep]

    in_app = np.isin(np.array([channels[t] for t in tps])[tp], _APP_CHANNEL_DELAY)
    delay = np.where(in_app, rng.integers(5, 120, len(tp)),
                     np.minimum(rng.lognormal(np.log(5 * HOUR), 1.0, len(tp)), 6 * DAY).astype(np.int64))
    submitted = when + delay
    keep = submitted < WINDOW_END
    case, tp, submitted, cust = case[keep], tp[keep], submitted[keep], cust[keep]
    n = len(case)

    # Scores: customer disposition + how the case went + month noise, then the planted shifts.
    month = np.clip(month_index(submitted, WINDOW_START), 0, N_MONTHS - 1)
    noise = rng.normal(0.0, TRUTHS.month_noise_sd, (n_tp, N_MONTHS))[tp, month]
    e = 0.5 * pop.disposition[cust] + 0.75 * cases.q[case] + rng.normal(0.0, 0.65, n) + noise
    new = (submitted - pop.first_seen[cust]) < TRUTHS.first_time_days * DAY
    r_start, r_end = release_bounds()
    release = (tp == code["app-login"]) & (submitted >= r_start) & (submitted < r_end)
    model = [TOUCHPOINTS.get(t) for t in tps]
    centre = {k: np.array([getattr(m, k) if m else 0.0 for m in model])[tp] for k in ("nps", "csat", "ces")}
    nps = _clip_round(centre["nps"] + 2.0 * e + TRUTHS.first_time_tnps_shift * new, 0, 10)
    csat = _clip_round(centre["csat"] + 0.85 * e + TRUTHS.release_csat_shift * release, 1, 5)
    ces = _clip_round(centre["ces"] + 1.2 * e + TRUTHS.release_ces_shift * release, 1, 7)
    for name, arr in (("nps", nps), ("csat", csat), ("ces", ces)):
        asked = np.array([bool(m and name in m.questions) for m in model])[tp]
        arr[~asked | (rng.random(n) < 0.02)] = -1  # not asked, or skipped (2 % item non-response)

    # Comments: detractors write more often; the topic is the case's reason or the touchpoint's theme.
    pol = _polarity(nps, csat, ces)
    wants = rng.random(n) < np.array([0.5, 0.22, 0.3])[pol]
    reason = cases.reason[case]
    comments: list[str | None] = [None] * n
    lang = np.where(pop.english[cust], "en", "it")
    for i in np.flatnonzero(wants):
        t = tps[tp[i]]
        themes = TOUCHPOINTS[t].topics
        topic = composer.r.choice(themes)
        if reason[i] >= 0 and composer.r.random() < 0.6:
            topic = REASON_TOPIC[REASON_KEYS[reason[i]]]
        other = composer.r.choice(themes + ("attesa", "commissioni"))
        comments[i] = composer.compose(str(lang[i]), "comment", ("neg", "mixed", "pos")[pol[i]], topic,
                                       other if other != topic else None, release=bool(release[i]))
    return Answers(customer=cust, touchpoint=np.array(tps, dtype=object)[tp], submitted=submitted, nps=nps,
                   csat=csat, ces=ces, comment=comments, ratings={}, loyalty={},
                   price_switch=np.full(n, -1))


def relationship(rng: np.random.Generator, pop: Population, log: EventLog, composer: Composer) -> Answers:
    # Quarterly waves, each customer in a fixed month of the quarter; ~42 % answer.
    waves = N_MONTHS // 3
    cust = np.repeat(np.arange(pop.n), waves)
    wave = np.tile(np.arange(waves), pop.n)
    offset = rng.integers(0, 3, pop.n)[cust]
    invite = month_start(WINDOW_START, 3 * wave + offset) + rng.integers(0, 27, len(cust)) * DAY
    invite = invite + rng.integers(8 * HOUR, 20 * HOUR, len(cust))
    eligible = (invite >= pop.first_seen[cust] + 45 * DAY) & (invite < pop.churn_at[cust])
    answers = eligible & (rng.random(len(cust)) < 0.42 * np.exp(0.15 * pop.disposition[cust]))
    cust, invite = cust[answers], invite[answers]
    submitted = invite + np.minimum(rng.lognormal(np.log(20 * HOUR), 1.1, len(cust)), 10 * DAY).astype(np.int64)
    keep = submitted < WINDOW_END
    cust, submitted = cust[keep], submitted[keep]
    n = len(cust)
    u = pop.disposition[cust]
    r_start, r_end = release_bounds()

    # Ratings of the touchpoints lived in the last 12 months, from the most recent such moment in the log.
    steps, cases = log.steps, log.cases
    n_tp = len(steps.touchpoints)
    touch_case = log.touch_key // n_tp
    touch_tp = log.touch_key % n_tp
    query = (cust << _SHIFT) | (submitted - WINDOW_START)
    ratings: dict[str, np.ndarray] = {}
    lived_case: dict[str, np.ndarray] = {}
    latent = 7.8 + 0.45 * u
    worst = np.full(n, 99)
    for tp, (centre, weight) in RATED.items():
        sel = np.flatnonzero(touch_tp == steps.touchpoints.index(tp))
        keys = (cases.customer[touch_case[sel]] << _SHIFT) | (log.touch_last[sel] - WINDOW_START)
        order = np.argsort(keys)
        keys, sel = keys[order], sel[order]
        idx = np.searchsorted(keys, query, side="right") - 1
        ok = idx >= 0
        idx = np.maximum(idx, 0)
        lived = ok & (len(keys) > 0)
        if len(keys):
            lived &= ((keys[idx] >> _SHIFT) == cust) & (query - keys[idx] <= 365 * DAY)
        case = touch_case[sel][idx] if len(keys) else np.zeros(n, dtype=np.int64)
        shift = 0.0
        if tp == "app-login" and len(keys):
            t_touch = log.touch_last[sel][idx]
            shift = TRUTHS.release_rating_shift * ((t_touch >= r_start) & (t_touch < r_end))
        # A complaint rating is about how the case was handled more than about the customer's mood.
        mood = 0.5 if tp == "complaint-handling" else 0.9
        r = _clip_round(centre + mood * u + 1.3 * cases.q[case] + rng.normal(0.0, 0.8, n) + shift, 1, 10)
        r[~lived] = 0
        ratings[tp] = r
        lived_case[tp] = np.where(lived, case, -1)
        if tp == "complaint-handling":
            effect = np.select([r <= TRUTHS.complaint_low_max, r >= TRUTHS.complaint_high_min],
                               [TRUTHS.complaint_penalty, TRUTHS.complaint_reward], TRUTHS.complaint_mid)
            latent = latent + np.where(lived, effect, 0.0)
        else:
            latent = latent + np.where(lived, weight * (r - centre), 0.0)
            worst = np.where(lived, np.minimum(worst, r), worst)

    latent = latent + np.where(worst <= TRUTHS.weakest_link_max, TRUTHS.weakest_link_penalty, 0.0)
    new = (submitted - pop.first_seen[cust]) < TRUTHS.first_time_days * DAY
    month = np.clip(month_index(submitted, WINDOW_START), 0, N_MONTHS - 1)
    latent = latent + TRUTHS.first_time_nps_shift * new + rng.normal(0.0, TRUTHS.month_noise_sd, N_MONTHS)[month]
    nps = _clip_round(latent + rng.normal(0.0, 1.0, n), 0, 10)

    # Loyalty battery and the price gap that would make them switch.
    lam = pop.loyalty[cust] + rng.normal(0.0, 0.25, n)
    pz = pop.price_z[cust]
    loyalty = {
        "loy_preferred_brand": _clip_round(3.1 + 1.0 * lam + rng.normal(0.0, 0.5, n), 1, 5),
        "loy_buy_on_offer": _clip_round(2.9 - 0.8 * lam + 0.55 * pz + rng.normal(0.0, 0.5, n), 1, 5),
        "loy_cheaper_to_save": _clip_round(2.7 - 0.7 * lam + 0.7 * pz + rng.normal(0.0, 0.5, n), 1, 5),
    }
    propensity = 1.0 * lam - 0.9 * pz + rng.normal(0.0, 0.35, n)
    price_switch = np.searchsorted(np.array(TRUTHS.price_cuts), propensity)
    for arr in (*loyalty.values(), price_switch):
        arr[rng.random(n) < 0.03] = 0 if arr is not price_switch else -1

    comments = _relationship_comments(rng, pop, cust, nps, ratings, lived_case, cases.reason, submitted, composer)
    return Answers(customer=cust, touchpoint=np.full(n, RELATIONSHIP, dtype=object), submitted=submitted,
                   nps=nps, csat=np.full(n, -1), ces=np.full(n, -1), comment=comments, ratings=ratings,
                   loyalty=loyalty, price_switch=price_switch)


def _relationship_comments(rng: np.random.Generator, pop: Population, cust: np.ndarray, nps: np.ndarray,
                           ratings: dict[str, np.ndarray], lived_case: dict[str, np.ndarray],
                           reason: np.ndarray, submitted: np.ndarray, composer: Composer) -> list[str | None]:
    """Detractors explain their worst moment, promoters their best one."""
    names = list(ratings)
    mat = np.stack([ratings[t] for t in names], axis=1).astype(float)
    lived = mat > 0
    worst = np.argmin(np.where(lived, mat, 99), axis=1)
    best = np.argmax(np.where(lived, mat, -1), axis=1)
    any_lived = lived.any(axis=1)
    pol = np.select([nps <= 6, nps >= 9], [0, 2], 1)
    wants = rng.random(len(nps)) < np.array([0.55, 0.3, 0.35])[pol]
    r_start, r_end = release_bounds()
    out: list[str | None] = [None] * len(nps)
    r = composer.r

    def topic_of(i: int, j: int) -> str:
        tp = names[j]
        case = lived_case[tp][i]
        if case >= 0 and reason[case] >= 0 and r.random() < 0.6:
            return REASON_TOPIC[REASON_KEYS[reason[case]]]
        return r.choice(TOUCHPOINTS[tp].topics)

    for i in np.flatnonzero(wants):
        if any_lived[i]:
            bad, good = topic_of(i, worst[i]), topic_of(i, best[i])
        else:
            bad, good = r.choice(TOPICS), r.choice(TOPICS)
        if pol[i] == 0 and (not any_lived[i] or mat[i, worst[i]] > 6) and r.random() < 0.5:
            bad = "commissioni"  # nothing went wrong at a moment: the complaint is about the price
        release = bool(r_start <= submitted[i] < r_end and names[worst[i]] == "app-login")
        lang = "en" if pop.english[cust[i]] else "it"
        polarity = ("neg", "mixed", "pos")[pol[i]]
        topic = good if polarity == "pos" else bad if polarity == "neg" else good
        out[i] = composer.compose(lang, "comment", polarity, topic, bad if polarity == "mixed" else None,
                                  release=release)
    return out


def to_table(parts: list[Answers], customer_ids: pa.Array, channels: dict[str, str],
             english: np.ndarray) -> pa.Table:
    """Concatenate, sort by time, number the responses and build the import-format table."""
    submitted = np.concatenate([p.submitted for p in parts])
    order = np.argsort(submitted, kind="stable")
    n = len(order)
    cust = np.concatenate([p.customer for p in parts])[order]
    touchpoint = np.concatenate([np.asarray(p.touchpoint, dtype=object) for p in parts])[order]
    comment = [c for p in parts for c in p.comment]
    comment = [comment[i] for i in order]

    def column(get: str, key: str) -> np.ndarray:
        return np.concatenate([getattr(p, get).get(key, np.zeros(len(p.submitted), dtype=np.int64))
                               for p in parts])[order]

    def scores(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])[order]

    tp_labels = sorted(set(touchpoint.tolist()))
    tp_codes = np.searchsorted(np.array(tp_labels, dtype=object), touchpoint)
    channel_labels = sorted(set(channels.values()))
    channel_codes = np.array([channel_labels.index(channels[t]) for t in tp_labels])[tp_codes]
    data: dict[str, pa.Array] = {
        "response_id": id_array("R", np.arange(1, n + 1), 7),
        "customer_id": customer_ids.take(pa.array(cust)),
        "touchpoint": decode(tp_codes, tp_labels),
        "submitted_at": timestamps(submitted[order]),
        "channel": decode(channel_codes, channel_labels),
        "language": decode(english[cust].astype(np.int32), ("it", "en")),
    }
    for name in ("nps", "csat", "ces"):
        values = scores(name)
        data[name] = nullable_int(values, values < 0)
    data["comment"] = pa.array(comment, type=pa.string())
    for tp in RATED:
        values = column("ratings", tp)
        data["rating_" + tp.replace("-", "_")] = nullable_int(values, values <= 0)
    for key in ("loy_preferred_brand", "loy_buy_on_offer", "loy_cheaper_to_save"):
        values = column("loyalty", key)
        data[key] = nullable_int(values, values <= 0)
    data["price_switch"] = decode(scores("price_switch"), TRUTHS.price_labels)
    return pa.table(data)
