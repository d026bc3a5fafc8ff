"""The case metrics as queries of the protocol: `case_metrics`, `case_root_causes`, `case_recovery_retention`
(ws.run, POST /api/v1/query, `momenti query`, the dashboard's closed-loop page).

They read the store's cases, not the warehouse, so their answers are not cached by warehouse watermarks
(`cacheable = False`): a case resolved a second ago counts at once."""

from __future__ import annotations

from typing import ClassVar, Literal

from momenti.insights.query import Day, Dims, Query, register


@register
class CaseMetricsQuery(Query):
    """Close-the-loop rate (contacted within `hours`), time to first contact and resolution (business
    hours), SLA hit rate, reopen rate and recovery rate/NPS, per team, priority, touchpoint, rule or month."""

    kind: Literal["case_metrics"] = "case_metrics"
    shortcut = "case_metrics"
    cacheable: ClassVar[bool] = False
    by: Dims = None
    start: Day = None
    end: Day = None
    hours: float = 48


@register
class CaseRootCausesQuery(Query):
    """The root-cause Pareto of resolved cases, within each touchpoint (or team, rule)."""

    kind: Literal["case_root_causes"] = "case_root_causes"
    shortcut = "case_root_causes"
    cacheable: ClassVar[bool] = False
    by: Literal["touchpoint", "team", "rule"] | None = "touchpoint"
    start: Day = None
    end: Day = None


@register
class CaseRecoveryRetentionQuery(Query):
    """Retention of customers whose case was resolved for them against those whose case was not
    (Kaplan-Meier medians and the log-rank test, as `logrank`)."""

    kind: Literal["case_recovery_retention"] = "case_recovery_retention"
    shortcut = "case_recovery_retention"
    cacheable: ClassVar[bool] = False
