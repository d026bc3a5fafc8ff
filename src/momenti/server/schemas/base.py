"""What every answer model of the REST API shares: row models of analysis tables and the common types.

A route returns a plain dict and FastAPI validates it against the route's `response_model` (the routes set
`response_model_exclude_unset=True`, so a column a table does not have is left out rather than sent as null).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)

# NaN is sent as null: every measure may be missing (no answers in a group, a failed fit, ...).
Num = float | None
Count = int | None
# Timestamps are sent as the tables hold them (ISO 8601 text); parsing them again would only reformat them.
Stamp = str | None


def _utc_text(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


# A time of the store (naive UTC) as RFC 3339 text with its zone ("2026-10-27T22:56:47Z"): what the schema's
# "date-time" format promises, and what a client can parse without guessing the zone.
UtcTime = Annotated[dt.datetime, PlainSerializer(_utc_text, return_type=str, when_used="json"),
                    WithJsonSchema({"type": "string", "format": "date-time", "description": "UTC"},
                                   mode="serialization")]


_WITHHELD = Field(None, description="Only for a reader of aggregates only (the viewer role): true when the group "
                  "is under MOMENTI_MIN_N, its measures then null (rows counted in `count` are left out instead)")


class Row(BaseModel):
    """A table row whose columns are all known: an unknown one is an error (a test then says to document it)."""

    model_config = ConfigDict(extra="forbid")
    withheld: bool | None = _WITHHELD


class OpenRow(BaseModel):
    """A row of a table grouped by the caller's `by` (touchpoint, period, segment:<attribute>, ...): the group
    columns depend on the request, so columns beyond the declared ones are allowed, and sent first (they are
    the group's keys, as in the table)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"description": "Group columns first (one per "
                                                                "`by` dimension and `period`), then these."})
    withheld: bool | None = _WITHHELD

    @model_serializer(mode="wrap")
    # No return annotation: pydantic would take it as the serialized schema and /docs would lose the fields.
    def _group_columns_first(self, handler: SerializerFunctionWrapHandler):  # noqa: ANN202
        data = handler(self)
        extra = self.__pydantic_extra__
        if not extra or not isinstance(data, dict):
            return data
        return {**{k: data[k] for k in extra if k in data}, **data}


Filters = dict[str, list[str]]
FiltersField = Field(default_factory=dict, description="The filters applied, per dimension")
