"""Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from momenti.core.errors import InputError
from momenti.insights.base import WorkspaceQuestions
from momenti.insights.disclosure import small_rows, withhold_small_groups
from momenti.insights.retention import data as rd


def _rt():  # noqa: ANN202 - momenti.insights.retention.survival, imported on first use (lifelines and SciPy are slow
    # to import, and most commands never fit a survival model)
    from momenti.insights.retention import survival as retention

    return retention

DateLike = dt.date | dt.datetime | str | None


class RetentionQuestions(WorkspaceQuestions):
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings).

    Common options: ``as_of`` (end of observation; default the latest time in the data), ``observed_from``
    ("auto": the first response or event; None: no left truncation; or a date), ``clock`` ("observation":
    days since the customer came under observation, or "tenure": days since the relationship began, with
    delayed entry), ``nps_touchpoint`` (where the NPS of ``nps_category`` is read; "all" for every NPS
    answer). Definitions: docs/retention.md.
    """

    def _retention_frame(self, by: str | None = None, covariates: Sequence[str] | str | None = None,
                         as_of: DateLike = None, observed_from: DateLike = "auto", clock: str = "observation",
                         nps_touchpoint: str | None = rd.RELATIONSHIP) -> pd.DataFrame:
        covs = rd.parse_covariates(covariates) if covariates is not None else None
        end = rd._as_datetime(as_of) if as_of is not None else None
        begin = observed_from if observed_from in (None, "auto", "none") else rd._as_datetime(observed_from)
        with self.warehouse() as wh:
            return rd.customer_frame(wh, by=by, covariates=covs, as_of=end, observed_from=begin,
                                     nps_touchpoint=nps_touchpoint, clock=clock)

    def retention_frame(self, by: str | None = None, covariates: Sequence[str] | str | None = None,
                        **options: object) -> pd.DataFrame:
        """The data every retention question starts from, one row per customer: customer_id, event (1 =
        churned), duration and entry (days on the clock), group (with ``by``), covariates."""
        return self._retention_frame(by, covariates, **options)  # type: ignore[arg-type]

    def survival(self, by: str | None = "nps_category", **options: object) -> pd.DataFrame:
        """Kaplan-Meier curves per group (``nps_category``, ``loyalty_segment``, ``segment:<attr>`` or None for
        all customers): group, time (days), survival, ci_low, ci_high (exponential Greenwood, settings'
        confidence), at_risk, events, censored."""
        frame = self._retention_frame(by, **options)  # type: ignore[arg-type]
        return _rt().km_curves(frame, self.settings.confidence)

    def logrank(self, by: str = "nps_category", **options: object) -> pd.DataFrame:
        """Per group: n, events, censored, median_days (with interval; NaN while above 50 %), survival_1y,
        and the multivariate log-rank test across the groups (chi2, df, p_value), small_sample."""
        frame = self._retention_frame(by, **options)  # type: ignore[arg-type]
        return _rt().summary(frame, self.settings.confidence, self.settings.min_n)

    def cox(self, covariates: Sequence[str] | str, **options: object) -> pd.DataFrame:
        """Cox model of churn: per covariate (``bad:<touchpoint>``, time-varying from the first bad experience;
        ``score:<touchpoint>``, mean 0-10; or a numeric question key, mean answer) hazard_ratio, ci_low,
        ci_high, p_value, coef, se; n, events, concordance of the model."""
        covs = rd.parse_covariates(covariates)
        frame = self._retention_frame(None, covariates, **options)  # type: ignore[arg-type]
        return _rt().cox(frame, covs, self.settings.confidence)

    def survival_plot(self, path: str | Path | None = None, by: str | None = "nps_category", fmt: str | None = None,
                      min_group: int = 0, **options: object) -> bytes:
        """Kaplan-Meier curves as PNG or SVG (from ``fmt`` or the file's suffix); written to ``path`` when given.
        Returns the bytes. ``min_group``: groups smaller than this are left out and each curve stops where
        fewer are at risk (insights/disclosure.py; the table of numbers at risk is then left out too)."""
        from momenti.insights.retention.plot import FORMATS, km_figure

        fmt = fmt or (Path(path).suffix.lstrip(".").lower() if path is not None else "svg")
        if fmt not in FORMATS:
            raise InputError(f"plot format {fmt!r}: write a .png or .svg file")
        frame = self._retention_frame(by, **options)  # type: ignore[arg-type]
        curves = _rt().km_curves(frame, self.settings.confidence)
        summary = _rt().summary(frame, self.settings.confidence, self.settings.min_n)
        if min_group > 0:
            summary = summary[~small_rows(summary, min_group)]
            curves = withhold_small_groups(curves[curves["group"].isin(summary["group"])], min_group)
        data = km_figure(curves, summary, fmt, title=f"Retention by {by}" if by else "Retention",
                         frame=None if min_group > 0 else frame)
        if path is not None:
            Path(path).write_bytes(data)
        return data
