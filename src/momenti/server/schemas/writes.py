"""Bodies of the write routes (POST /api/v1/responses, /events, /feedback) and their answer.

The `XCreate` models carry the same fields as the import formats (`ingest/specs.py`): they check shape and
JSON types only. Value rules (known touchpoint, score in range, ...) are checked by the import validator,
the single place those rules live, so a CSV file and an API call are judged the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, field_validator, model_validator

from momenti.ingest.specs import KINDS


def _plain(allow_bool: bool):  # noqa: ANN202
    # One clear message instead of pydantic's one error per union member ("not a float", "not an int", ...).
    what = "a number, a string, true/false or null" if allow_bool else "a number, a string or null"

    def check(value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            if allow_bool:
                return value
        elif isinstance(value, int | float):
            return value
        raise ValueError(f"must be {what}")

    return check


Scalar = Annotated[float | int | str | None,
                   PlainValidator(_plain(False), json_schema_input_type=float | int | str | None)]
Attr = Annotated[str | int | float | bool | None,
                 PlainValidator(_plain(True), json_schema_input_type=str | int | float | bool | None)]


class _Create(BaseModel):
    # Unknown top-level fields are an error, not silently dropped: a misspelt field would lose data.
    model_config = ConfigDict(extra="forbid")


def _check_keys(keys: list[str], kind: str, where: str) -> None:
    reserved = set(KINDS[kind].names) | {KINDS[kind].id_field}
    for key in keys:
        if not key or key.startswith("_") or len(key) > 100:
            raise ValueError(f"{where} key {key!r}: use 1 to 100 characters, not starting with '_'")
        if key in reserved:
            raise ValueError(f"{where} key {key!r} is a field of the record; give it at top level")


class ResponseCreate(_Create):
    """One survey response: who, where, when, and the answers (`nps` 0-10, `csat` 1-5, `ces` 1-7, other keys
    as ratings or text)."""

    response_id: str | None = Field(None, max_length=200, description="Your id of the response; makes retries "
                                    "safe. Without it, a hash of the content is used.")
    customer_id: str = Field(..., min_length=1, max_length=200)
    touchpoint: str = Field(..., min_length=1, max_length=100, description="A touchpoint key of the journey")
    submitted_at: dt.datetime = Field(..., description="ISO 8601; without a zone it is read as UTC")
    channel: str | None = Field(None, max_length=50)
    language: str | None = Field(None, max_length=10)
    answers: dict[str, Scalar] = Field(default_factory=dict, examples=[{"nps": 9, "csat": 5, "comment": "ok"}])

    @field_validator("answers")
    @classmethod
    def _answer_keys(cls, v: dict[str, Scalar]) -> dict[str, Scalar]:
        _check_keys(list(v), "responses", "answer")
        return v


class EventCreate(_Create):
    """One interaction (contact-centre call, app event, ...). Give an `activity`, a `touchpoint`, or both."""

    event_id: str | None = Field(None, max_length=200)
    customer_id: str = Field(..., min_length=1, max_length=200)
    timestamp: dt.datetime
    activity: str | None = Field(None, max_length=200)
    touchpoint: str | None = Field(None, max_length=100)
    case_id: str | None = Field(None, max_length=200)
    channel: str | None = Field(None, max_length=50)
    reason: str | None = Field(None, max_length=200)
    duration_s: float | None = None
    agent: str | None = Field(None, max_length=100)
    outcome: str | None = Field(None, max_length=100)
    attributes: dict[str, Attr] = Field(default_factory=dict, description="Extra columns, kept as given")

    @field_validator("attributes")
    @classmethod
    def _attribute_keys(cls, v: dict[str, Attr]) -> dict[str, Attr]:
        _check_keys(list(v), "events", "attribute")
        return v

    @model_validator(mode="after")
    def _names_an_activity(self) -> EventCreate:
        # Checked per record here; the bulk validator would reject a whole batch lacking both columns.
        if not (self.activity or "").strip() and not (self.touchpoint or "").strip():
            raise ValueError("give an activity, a touchpoint, or both")
        return self


class FeedbackCreate(_Create):
    """Unsolicited feedback: a review, a social post, a complaint, an e-mail."""

    feedback_id: str | None = Field(None, max_length=200)
    source: str = Field(..., min_length=1, max_length=50, examples=["review"])
    text: str = Field(..., min_length=1)
    rating: float | None = Field(None, description="0-10")
    customer_id: str | None = Field(None, max_length=200)
    touchpoint: str | None = Field(None, max_length=100)
    created_at: dt.datetime | None = None
    url: str | None = None
    language: str | None = Field(None, max_length=10)


class OfferCreate(_Create):
    """An offer proposed to a customer and its outcome; the same offer_id sent again updates it (pending ->
    accepted)."""

    offer_id: str | None = Field(None, max_length=200, description="Your id of the offer; without it, a hash of "
                                 "the content")
    customer_id: str = Field(..., min_length=1, max_length=200)
    offer: str = Field(..., min_length=1, max_length=200, examples=["carta-gold"])
    proposed_at: dt.datetime
    outcome: str = Field(..., description="accepted, declined, no_answer or pending")
    channel: str | None = Field(None, max_length=50)
    agent: str | None = Field(None, max_length=100)


CREATE_MODELS: dict[str, type[_Create]] = {"responses": ResponseCreate, "events": EventCreate,
                                           "feedback": FeedbackCreate, "offers": OfferCreate}
# Where a record's nested extras go when flattened to import columns.
NESTED = {"responses": "answers", "events": "attributes"}


# --- results -------------------------------------------------------------------------------------


class WriteResult(BaseModel):
    added: int = Field(..., description="Records written now")
    duplicates: int = Field(..., description="Records already known (same id), or repeated in the batch")
    ids: list[str] = Field(..., description="The id of each submitted record, in order")
