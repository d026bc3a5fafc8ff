"""The journey document a user writes in YAML: journeys -> stages -> touchpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
CHANNELS = (
    "branch", "app", "web", "phone", "email", "chat", "social", "mail", "store", "airport", "onboard", "other",
)


class I18n(BaseModel):
    """Text in Italian and English; a plain string in YAML means the same text for both."""

    model_config = ConfigDict(extra="forbid")
    it: str
    en: str

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: object) -> object:
        if isinstance(value, str):
            return {"it": value, "en": value}
        return value


class TouchpointSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=SLUG, max_length=100)
    name: I18n
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    owner_team: str | None = None
    brand_promise: I18n | None = None
    customer_expectation: I18n | None = None
    moment_of_truth: bool = False
    target_metric: Literal["nps", "csat", "ces"] | None = None
    target_score: float | None = None

    @model_validator(mode="after")
    def _target_in_range(self) -> TouchpointSpec:
        if self.target_score is None:
            return self
        ranges = {"nps": (-100, 100), "csat": (0, 100), "ces": (1, 7), None: (-100, 100)}
        lo, hi = ranges[self.target_metric]
        if not lo <= self.target_score <= hi:
            raise ValueError(f"target_score {self.target_score} outside {lo}..{hi} for {self.target_metric}")
        return self


class StageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=SLUG, max_length=100)
    name: I18n
    touchpoints: list[TouchpointSpec] = Field(default_factory=list)


class JourneySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=SLUG, max_length=100)
    name: I18n
    description: I18n | None = None
    stages: list[StageSpec]

    @field_validator("stages")
    @classmethod
    def _unique_stage_keys(cls, stages: list[StageSpec]) -> list[StageSpec]:
        keys = [s.key for s in stages]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"stage keys repeated: {', '.join(sorted(dup))}")
        return stages


class JourneyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company: str | None = None
    sector: str | None = None
    journeys: list[JourneySpec]

    @model_validator(mode="after")
    def _unique_keys(self) -> JourneyDocument:
        jkeys = [j.key for j in self.journeys]
        tkeys = [t.key for j in self.journeys for s in j.stages for t in s.touchpoints]
        for what, keys in (("journey", jkeys), ("touchpoint", tkeys)):
            dup = {k for k in keys if keys.count(k) > 1}
            if dup:
                raise ValueError(f"{what} keys repeated: {', '.join(sorted(dup))}")
        return self
