"""Answers of the query protocol's routes (POST /api/v1/query, GET /api/v1/query/kinds)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class QueryAnswerPublic(BaseModel):
    """Any insight's answer: what was asked, its size, which columns are intervals and flags, and the rows (their
    columns are the insight's: GET /api/v1/query/kinds describes each kind). An insight's own metadata (the
    loyalty bank's `trend`, ...) comes beside these fields."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="The insight asked for")
    parameters: dict[str, Any] = Field(description="Every parameter, defaults filled in")
    n: int | None = Field(None, description="Answers or cases behind the rows (sum of the `n` column), if any")
    intervals: list[str] = Field(default_factory=list, description="The interval columns (ci_low, ci_high, ...)")
    flags: list[str] = Field(default_factory=list, description="The flag columns (small_sample, ...)")
    rows: list[dict[str, Any]] = Field(description="The table, one object per row, in the table's column order")


class QueryKindPublic(BaseModel):
    summary: str = Field(description="What the insight answers")
    parameters: dict[str, Any] = Field(description="JSON schema of its parameters")
