"""Score queries (nps, csat, ces, metric, compare): the metrics compile to one Ibis expression."""

from __future__ import annotations

from typing import Any, Literal

from momenti.insights.query import Context, Dims, Filters, Period, Query, ScopedQuery, register
from momenti.warehouse.connection import WarehouseConnection


class _Scored(ScopedQuery):
    question: str | None = None

    def metric_name(self) -> str:
        return self.kind

    def metric_query(self, ctx: Context) -> Any:
        args = self.arguments()
        args.pop("metric", None)
        return ctx.workspace.query(self.metric_name(), **args)

    def to_sql(self, ctx: Context) -> str | None:
        from momenti.insights.scores.query import to_sql

        with ctx.workspace.warehouse() as wh:
            return to_sql(wh, self.metric_query(ctx))

    def to_expr(self, wh: WarehouseConnection) -> Any:
        from momenti.insights.scores.query import MetricQuery, build_counts

        a = self.arguments()
        a.pop("metric", None)
        return build_counts(wh, MetricQuery(self.metric_name(), list(a["by"] or []), a["period"], a["start"],
                                            a["end"], dict(a["filters"] or {}), a["question"]))


@register
class NpsQuery(_Scored):
    """NPS per group with an adjusted-Wald interval."""

    kind: Literal["nps"] = "nps"
    shortcut = "nps"


@register
class CsatQuery(_Scored):
    """CSAT top-2-box % per group with a Wilson interval."""

    kind: Literal["csat"] = "csat"
    shortcut = "csat"


@register
class CesQuery(_Scored):
    """CES mean per group with a t-interval, and % easy."""

    kind: Literal["ces"] = "ces"
    shortcut = "ces"


@register
class MetricKindQuery(_Scored):
    """Any metric (nps, csat, ces) named by `metric`."""

    kind: Literal["metric"] = "metric"
    shortcut = "metric"
    metric: Literal["nps", "csat", "ces"] = "nps"

    def metric_name(self) -> str:
        return self.metric


@register
class CompareQuery(Query):
    """Change of a metric between periods, with interval and p-value."""

    kind: Literal["compare"] = "compare"
    shortcut = "compare"
    metric: Literal["nps", "csat", "ces"] = "nps"
    by: Dims = None
    period: Period = None
    periods: tuple[str, str] | None = None
    filters: Filters = None
    question: str | None = None
