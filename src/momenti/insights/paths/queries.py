"""Journey queries: dfg, variants, activities, funnel, path_loyalty (one journey selection each)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from momenti.insights.query import Day, Dims, Filters, Period, Query, register, split_dims


class _Journeys(Query):
    case: Literal["case_id", "customer"] = "case_id"
    gap: str | float | None = None
    start_activity: str | None = None
    end_activity: str | None = None
    start: Day = None
    end: Day = None
    filters: Filters = None
    coverage: float | None = None
    channel: Dims = None
    touchpoint: Dims = None
    activity: Dims = None
    segment: dict[str, list[str]] | None = None

    def arguments(self) -> dict[str, Any]:
        # The selection is passed only where given: journey_loyalty reads start/end/touchpoint from it.
        return {k: v for k, v in super().arguments().items() if v is not None}


@register
class DfgQuery(_Journeys):
    """Directly-follows graph with the time between activities."""

    kind: Literal["dfg"] = "dfg"
    shortcut = "dfg"
    performance: bool = True


@register
class VariantsQuery(_Journeys):
    """Journey variants, most frequent first, with share and duration."""

    kind: Literal["variants"] = "variants"
    shortcut = "variants"
    top: int | None = None


@register
class ActivitiesQuery(_Journeys):
    """Events per activity in the selected journeys."""

    kind: Literal["activities"] = "activities"
    shortcut = "activities"


@register
class FunnelQuery(_Journeys):
    """Conversion through ordered steps, per group."""

    kind: Literal["funnel"] = "funnel"
    shortcut = "funnel"
    steps: Annotated[list[str], BeforeValidator(split_dims)]
    mode: Literal["eventually", "directly"] = "eventually"
    by: Dims = None
    period: Period = None


@register
class PathLoyaltyQuery(_Journeys):
    """NPS by the journey lived before answering (variant, activity, repeats, switches)."""

    kind: Literal["path_loyalty"] = "path_loyalty"
    shortcut = "journey_loyalty"
    by: Literal["variant", "activity", "repeats", "switches"] = "variant"
    question: str = "nps"
    within: str | float = "30d"
    top: int | None = 20

    def arguments(self) -> dict[str, Any]:
        args = super().arguments()
        args.setdefault("top", None)  # None is a value here: every variant
        return args
