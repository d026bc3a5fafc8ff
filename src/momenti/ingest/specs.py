"""What each kind of input looks like, declared once.

The bulk validator (SQL over a whole file) and the per-record validator (REST API) both read these specs, so
a rule written here holds in every way data comes in.
"""

from __future__ import annotations

from dataclasses import dataclass

from momenti.store.question_kinds import SCORE_SCALES  # noqa: F401 - the validators and surveys read them here

# Longest values the store's columns hold (PostgreSQL enforces them; checked here so that SQLite agrees and
# a long value is a rejected row, not a failed import).
ID_MAX_LEN = 200  # external ids and customer keys
QUESTION_KEY_MAX_LEN = 100  # answer column names become question keys


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # text | timestamp | number | touchpoint
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    aliases: tuple[str, ...] = ()
    max_len: int | None = None  # text fields: longest value the store keeps
    choices: tuple[str, ...] | None = None  # text fields: the allowed values (case-insensitive, stored lower)


@dataclass(frozen=True)
class RowRule:
    """A rule across two fields of one row, reported against `field`.

    - `required_if`: `field` must be given when `other` (a choices field) equals `value`;
    - `not_before`: `field` (a timestamp) must not be earlier than `other` (a timestamp)."""

    field: str
    check: str  # required_if | not_before
    other: str
    value: str | None = None


@dataclass(frozen=True)
class KindSpec:
    kind: str
    table: str
    id_field: str
    fields: tuple[FieldSpec, ...]
    answers: bool = False  # other columns are answers (responses)
    attributes: bool = False  # other columns are kept as a JSON object (events, customers)
    # One row per id, updated in place when imported again (customers, outcomes): the id is required.
    upsert: bool = False
    rules: tuple[RowRule, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


RESPONSES = KindSpec(
    "responses", "responses", "response_id",
    (
        FieldSpec("customer_id", "text", required=True, max_len=ID_MAX_LEN),
        FieldSpec("touchpoint", "touchpoint", required=True),
        FieldSpec("submitted_at", "timestamp", required=True),
        FieldSpec("channel", "text", max_len=50),
        FieldSpec("language", "text", max_len=10),
    ),
    answers=True,
)

EVENTS = KindSpec(
    "events", "events", "event_id",
    (
        FieldSpec("customer_id", "text", required=True, max_len=ID_MAX_LEN),
        FieldSpec("timestamp", "timestamp", required=True),
        # activity may be omitted when a touchpoint is given: the touchpoint key then names the activity.
        FieldSpec("activity", "text", max_len=200),
        FieldSpec("touchpoint", "touchpoint"),
        FieldSpec("case_id", "text", max_len=200),
        FieldSpec("channel", "text", max_len=50),
        FieldSpec("reason", "text", max_len=200),
        FieldSpec("duration_s", "number", lo=0),
        FieldSpec("agent", "text", max_len=100),
        FieldSpec("outcome", "text", max_len=100),
    ),
    attributes=True,
)

FEEDBACK = KindSpec(
    "feedback", "feedback", "feedback_id",
    (
        FieldSpec("source", "text", required=True, max_len=50),
        FieldSpec("text", "text", required=True),
        FieldSpec("rating", "number", lo=0, hi=10),
        FieldSpec("customer_id", "text", max_len=ID_MAX_LEN),
        FieldSpec("touchpoint", "touchpoint"),
        FieldSpec("created_at", "timestamp"),
        FieldSpec("url", "text"),
        FieldSpec("language", "text", max_len=10),
    ),
)

CUSTOMERS = KindSpec(
    "customers", "customers", "customer_id",
    (FieldSpec("first_seen", "timestamp"),),
    attributes=True,
    upsert=True,
)

# The outcome of each customer relationship, for retention analysis: one row per customer.
OUTCOME_STATUSES = ("active", "churned")
OUTCOMES = KindSpec(
    "outcomes", "outcomes", "customer_id",
    (
        FieldSpec("status", "text", required=True, choices=OUTCOME_STATUSES),
        FieldSpec("start_date", "timestamp"),  # the relationship's start (else the customer's first_seen)
        FieldSpec("end_date", "timestamp"),  # churn date; for an active customer, the end of observation
    ),
    attributes=True,
    upsert=True,
    rules=(RowRule("end_date", "required_if", "status", "churned"), RowRule("end_date", "not_before", "start_date")),
)

# Offers proposed to a customer and their outcome (the timeline's "do not propose again"): one row per offer id,
# updated in place when the outcome comes in later.
OFFER_OUTCOMES = ("accepted", "declined", "no_answer", "pending")
OFFERS = KindSpec(
    "offers", "offers", "offer_id",
    (
        FieldSpec("customer_id", "text", required=True, max_len=ID_MAX_LEN),
        FieldSpec("offer", "text", required=True, max_len=200),
        FieldSpec("proposed_at", "timestamp", required=True),
        FieldSpec("outcome", "text", required=True, choices=OFFER_OUTCOMES),
        FieldSpec("channel", "text", max_len=50),
        FieldSpec("agent", "text", max_len=100),
    ),
    upsert=True,
)

KINDS: dict[str, KindSpec] = {s.kind: s for s in (RESPONSES, EVENTS, FEEDBACK, CUSTOMERS, OUTCOMES, OFFERS)}


def question_kind_for(key: str, numeric: bool) -> tuple[str, float | None, float | None]:
    """Kind and scale of an answer column seen for the first time."""
    if key in SCORE_SCALES:
        lo, hi = SCORE_SCALES[key]
        return key, float(lo), float(hi)
    return ("rating" if numeric else "text"), None, None
