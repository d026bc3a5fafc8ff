"""Unsolicited feedback: complaints and e-mails (from the event log) plus public reviews and social posts.

Complaints and e-mails belong to known customers and follow the reason of their case; public posts are mostly
anonymous and carry the planted app-release spike: during the release window the app topic takes a far larger
share of posts, almost all of them negative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from momenti.demo._util import choice_codes, id_array, timestamps
from momenti.demo.config import (
    APP_REASONS,
    DAY,
    REASON_KEYS,
    REASON_TOPIC,
    TOPIC_TOUCHPOINT,
    TOPICS,
    TRUTHS,
    WINDOW_END,
    WINDOW_START,
    SizeSpec,
    release_bounds,
)
from momenti.demo.customers import Population
from momenti.demo.events import EventLog
from momenti.demo.processes import CASE_INDEX
from momenti.demo.text import Composer

_PUBLIC_TOPIC_W = np.array([0.16, 0.10, 0.16, 0.16, 0.08, 0.06, 0.11, 0.10, 0.07])  # follows TOPICS
_POLARITY = ("neg", "mixed", "pos")
_REVIEW_POL = (0.45, 0.15, 0.40)
_SOCIAL_POL = (0.55, 0.10, 0.35)


class _Rows:
    """Column lists for the feedback table (a few thousand rows: plain lists are fine here)."""

    def __init__(self) -> None:
        self.source: list[str] = []
        self.text: list[str] = []
        self.rating: list[int | None] = []
        self.customer: list[int] = []  # -1 = anonymous
        self.touchpoint: list[str | None] = []
        self.created: list[int] = []
        self.url: list[str | None] = []
        self.language: list[str] = []

    def add(self, source: str, text: str, rating: int | None, customer: int, touchpoint: str | None,
            created: int, url: str | None, language: str) -> None:
        self.source.append(source)
        self.text.append(text)
        self.rating.append(rating)
        self.customer.append(customer)
        self.touchpoint.append(touchpoint)
        self.created.append(created)
        self.url.append(url)
        self.language.append(language)


def _touchpoint(composer: Composer, topic: str) -> str | None:
    if topic == "cortesia" and composer.r.random() < 0.4:
        return "branch-visit"  # courtesy is about people: the contact centre or the branch
    return TOPIC_TOUCHPOINT[topic]


def _from_cases(rows: _Rows, pop: Population, log: EventLog, rng: np.random.Generator, composer: Composer) -> None:
    cases = log.cases
    r_start, r_end = release_bounds()
    app_reasons = {REASON_KEYS.index(r) for r in APP_REASONS}
    # Every complaint leaves its text; a third of service e-mails are kept as feedback.
    complaint = np.flatnonzero(cases.ctype == CASE_INDEX["complaint"])
    email = np.flatnonzero((cases.ctype == CASE_INDEX["email"]) & (rng.random(len(cases)) < 0.35))
    for source, idx in (("complaint", complaint), ("email", email)):
        for i in idx[cases.start[idx] < WINDOW_END]:
            cust = int(cases.customer[i])
            reason = int(cases.reason[i])
            topic = REASON_TOPIC[REASON_KEYS[reason]] if reason >= 0 else composer.r.choice(TOPICS)
            if source == "complaint":
                polarity = "neg"
            else:
                q = cases.q[i]
                polarity = "neg" if q < -0.5 else "pos" if q > 0.9 else "mixed"
            other = composer.r.choice(TOPICS)
            release = reason in app_reasons and r_start <= cases.start[i] < r_end
            lang = "en" if pop.english[cust] else "it"
            text = composer.compose(lang, source, polarity, topic, other if other != topic else None, release)
            created = int(cases.start[i]) + int(rng.integers(0, 600))
            rows.add(source, text, None, cust, _touchpoint(composer, topic), created, None, lang)


def _public(rows: _Rows, pop: Population, n: int, rng: np.random.Generator, composer: Composer) -> None:
    r_start, r_end = release_bounds()
    review = rng.random(n) < 0.55
    linked = rng.random(n) < np.where(review, 0.15, 0.10)
    customer = rng.integers(0, pop.n, n)
    lo = np.maximum(pop.first_seen[customer], WINDOW_START)
    hi = np.minimum(pop.churn_at[customer] + 20 * DAY, WINDOW_END)
    linked &= hi > lo
    t_any = rng.integers(WINDOW_START, WINDOW_END, n)
    t_cust = lo + (rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
    created = np.where(linked, t_cust, t_any)
    in_release = (created >= r_start) & (created < r_end)
    app = TOPICS.index("app")
    weights = np.tile(_PUBLIC_TOPIC_W, (n, 1))
    weights[in_release, app] *= TRUTHS.release_app_topic_boost
    cum = np.cumsum(weights, axis=1)
    topic = (cum < rng.random(n)[:, None] * cum[:, -1:]).sum(axis=1)
    pol = np.where(review, choice_codes(rng, _REVIEW_POL, n), choice_codes(rng, _SOCIAL_POL, n))
    pol = np.where(in_release & (topic == app) & (rng.random(n) < 0.9), 0, pol)
    english = np.where(linked, pop.english[customer], rng.random(n) < 0.12)
    post_id = rng.integers(10**8, 10**9, n)
    for i in range(n):
        lang = "en" if english[i] else "it"
        source = "review" if review[i] else "social"
        polarity = _POLARITY[pol[i]]
        t = TOPICS[topic[i]]
        other = composer.r.choice(TOPICS)
        text = composer.compose(lang, source, polarity, t, other if other != t else None, bool(in_release[i]))
        if review[i]:
            url = f"https://recensioni.example.com/banca-esempio/r/{post_id[i]}"
            rating: int | None = composer.review_rating(polarity)
        else:
            url = f"https://social.example.com/post/{post_id[i]}"
            rating = None
        rows.add(source, text, rating, int(customer[i]) if linked[i] else -1, _touchpoint(composer, t),
                 int(created[i]), url, lang)


def build_feedback(rng: np.random.Generator, pop: Population, log: EventLog, size: SizeSpec,
                   composer: Composer, customer_ids: pa.Array) -> pa.Table:
    rows = _Rows()
    _from_cases(rows, pop, log, rng, composer)
    _public(rows, pop, size.public_posts, rng, composer)
    created = np.array(rows.created, dtype=np.int64)
    order = np.argsort(created, kind="stable")

    def take(values: list[Any]) -> list[Any]:
        return [values[i] for i in order]

    customer = np.array(rows.customer, dtype=np.int64)[order]
    anonymous = customer < 0
    ids = customer_ids.take(pa.array(np.where(anonymous, 0, customer), mask=anonymous))
    return pa.table(
        {
            "feedback_id": id_array("F", np.arange(1, len(order) + 1), 6),
            "source": pa.array(take(rows.source), type=pa.string()),
            "text": pa.array(take(rows.text), type=pa.string()),
            "rating": pa.array(take(rows.rating), type=pa.int64()),
            "customer_id": ids,
            "touchpoint": pa.array(take(rows.touchpoint), type=pa.string()),
            "created_at": timestamps(created[order]),
            "url": pa.array(take(rows.url), type=pa.string()),
            "language": pa.array(take(rows.language), type=pa.string()),
        }
    )
