"""What each kind of input looks like, declared once.

The bulk validator (SQL over a whole file) and the per-record validator (REST API) both read these specs, so
a rule written here holds in every way data comes in.
"""

from __future__ import annotations

from dataclasses import dataclass

# Fixed scales of the standard score questions: value -> must be an integer in [lo, hi].
SCORE_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # text | timestamp | number | touchpoint
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindSpec:
    kind: str
    table: str
    id_field: str
    fields: tuple[FieldSpec, ...]
    answers: bool = False  # other columns are answers (responses)
    attributes: bool = False  # other columns are kept as a JSON object (events, customers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


RESPONSES = KindSpec(
    "responses", "responses", "response_id",
    (
        FieldSpec("customer_id", "text", required=True),
        FieldSpec("touchpoint", "touchpoint", required=True),
        FieldSpec("submitted_at", "timestamp", required=True),
        FieldSpec("channel", "text"),
        FieldSpec("language", "text"),
    ),
    answers=True,
)

EVENTS = KindSpec(
    "events", "events", "event_id",
    (
        FieldSpec("customer_id", "text", required=True),
        FieldSpec("timestamp", "timestamp", required=True),
        # activity may be omitted when a touchpoint is given: the touchpoint key then names the activity.
        FieldSpec("activity", "text"),
        FieldSpec("touchpoint", "touchpoint"),
        FieldSpec("case_id", "text"),
        FieldSpec("channel", "text"),
        FieldSpec("reason", "text"),
        FieldSpec("duration_s", "number", lo=0),
        FieldSpec("agent", "text"),
        FieldSpec("outcome", "text"),
    ),
    attributes=True,
)

FEEDBACK = KindSpec(
    "feedback", "feedback", "feedback_id",
    (
        FieldSpec("source", "text", required=True),
        FieldSpec("text", "text", required=True),
        FieldSpec("rating", "number", lo=0, hi=10),
        FieldSpec("customer_id", "text"),
        FieldSpec("touchpoint", "touchpoint"),
        FieldSpec("created_at", "timestamp"),
        FieldSpec("url", "text"),
        FieldSpec("language", "text"),
    ),
)

CUSTOMERS = KindSpec(
    "customers", "customers", "customer_id",
    (FieldSpec("first_seen", "timestamp"),),
    attributes=True,
)

KINDS: dict[str, KindSpec] = {s.kind: s for s in (RESPONSES, EVENTS, FEEDBACK, CUSTOMERS)}


def question_kind_for(key: str, numeric: bool) -> tuple[str, float | None, float | None]:
    """Kind and scale of an answer column seen for the first time."""
    if key in SCORE_SCALES:
        lo, hi = SCORE_SCALES[key]
        return key, float(lo), float(hi)
    return ("rating" if numeric else "text"), None, None
