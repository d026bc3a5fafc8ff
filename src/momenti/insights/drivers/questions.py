"""Moments-of-truth analytics on the workspace's data: key drivers, penalty-reward, quadrant, dissonance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from momenti.core.args import as_date, as_list, parse_filters
from momenti.insights.base import WorkspaceQuestions
from momenti.insights.drivers import data as mm

Drivers = Sequence[str] | str | None
Dims = Sequence[str] | str | None


class DriverQuestions(WorkspaceQuestions):
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings).

    ``drivers``: question keys or touchpoint keys (meaning their ``rating_<touchpoint>`` question), or
    None / "touchpoint-ratings" for every ``rating_*`` question. Scope: ``by`` and ``filters`` take the
    metrics' dimensions (touchpoint, stage, journey, channel, language, segment:<attr>), ``period`` groups
    by day/week/month/quarter/year, ``start``/``end`` bound the answer date (inclusive).
    """

    def _scope(self, by: Dims = None, period: str | None = None, start: dt.date | str | None = None,
               end: dt.date | str | None = None, filters: dict[str, list[str]] | None = None) -> mm.Scope:
        return mm.Scope(as_list(by), period, as_date(start), as_date(end), parse_filters(filters))

    def drivers(self, outcome: str = "nps", drivers: Drivers = None, method: str = "relative_weights",
                by: Dims = None, period: str | None = None, start: dt.date | str | None = None,
                end: dt.date | str | None = None, filters: dict[str, list[str]] | None = None,
                missing: str = "pairwise", bootstrap: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Key drivers of ``outcome``: per driver weight (sums to r2), rescaled_pct (% of R²), bootstrap
        ci_low/ci_high, rank, rank_stability, n (respondents with driver and outcome), n_respondents, r2,
        method, missing (listwise/pairwise), shrinkage (pairwise repair, 0 = none), small_sample."""
        from momenti.insights.drivers import mot  # SciPy: loaded on first use

        scope = self._scope(by, period, start, end, filters)
        with self.warehouse() as wh:
            spec = mm.resolve(wh, outcome, drivers)
            return mot.drivers(wh, spec, scope, method, missing, bootstrap, seed, self.settings.confidence,
                               self.settings.min_n)

    def penalty_reward(self, outcome: str = "nps", drivers: Drivers = None, low: float | None = None,
                       high: float | None = None, by: Dims = None, period: str | None = None,
                       start: dt.date | str | None = None, end: dt.date | str | None = None,
                       filters: dict[str, list[str]] | None = None, missing: str = "indicator") -> pd.DataFrame:
        """Penalty (low box) and reward (high box) per driver from one OLS, impact asymmetry with a
        delta-method interval, category basic / performance / excitement. Boxes default from the scale
        (1-10: <= 4 and >= 8; see moments.default_boxes)."""
        from momenti.insights.drivers import mot  # SciPy: loaded on first use

        scope = self._scope(by, period, start, end, filters)
        with self.warehouse() as wh:
            spec = mm.resolve(wh, outcome, drivers)
            return mot.penalty_reward(wh, spec, scope, low, high, missing, self.settings.confidence,
                                      self.settings.min_n)

    def quadrant(self, outcome: str = "nps", drivers: Drivers = None, method: str = "relative_weights",
                 performance: str = "rating", start: dt.date | str | None = None, end: dt.date | str | None = None,
                 filters: dict[str, list[str]] | None = None, missing: str = "pairwise", bootstrap: int = 200,
                 seed: int = 0) -> pd.DataFrame:
        """Moments-of-truth map: importance (driver weight, % of R²) vs performance, the quadrant, and the
        journey's declared moment of truth beside the one the data reveals (importance above the mean).

        ``performance``: "rating" (mean driver score, t-interval) or "nps" / "csat" / "ces" (the
        touchpoint's own transactional score with its interval)."""
        from momenti.insights.drivers import mot  # SciPy: loaded on first use

        scope = self._scope(None, None, start, end, filters)
        conf, min_n = self.settings.confidence, self.settings.min_n
        with self.warehouse() as wh:
            spec = mm.resolve(wh, outcome, drivers)
            imp = mot.drivers(wh, spec, scope, method, missing, bootstrap, seed, conf, min_n)
            if performance == "rating":
                perf = mot.performance_from_ratings(wh, spec, scope, conf)
            elif performance in ("nps", "csat", "ces"):
                tp_filters = {k: v for k, v in scope.filters.items() if k != "touchpoint"}
                scores = self.run(self.query(performance, by="touchpoint", start=start, end=end,
                                             filters=tp_filters))
                by_tp = scores.set_index("touchpoint")
                labels = dict(zip(spec.labels, spec.touchpoints, strict=True))
                perf = pd.DataFrame({"driver": spec.labels})
                for out, src in (("performance", performance), ("performance_ci_low", "ci_low"),
                                 ("performance_ci_high", "ci_high"), ("performance_n", "n")):
                    perf[out] = [by_tp[src].get(labels[d]) for d in spec.labels]
                perf["performance_measure"] = f"touchpoint {performance}"
                perf = perf.astype({"performance": float, "performance_ci_low": float,
                                    "performance_ci_high": float})
            else:
                from momenti.core.errors import InputError

                raise InputError(f"unknown performance {performance!r}; choose rating, nps, csat or ces")
            return mot.quadrant(wh, spec, scope, imp, perf)

    def dissonance(self, outcome: str = "nps", drivers: Drivers = None, negative: float | None = None,
                   start: dt.date | str | None = None, end: dt.date | str | None = None,
                   filters: dict[str, list[str]] | None = None) -> pd.DataFrame:
        """Per touchpoint: the outcome gap of a single negative experience there (score <= ``negative``,
        default the low box) vs customers whose experiences were all positive, controlling for touchpoints
        lived (see momenti.insights.drivers.dissonance for the specification)."""
        from momenti.insights.drivers import dissonance as dis  # SciPy: loaded on first use

        scope = self._scope(None, None, start, end, filters)
        with self.warehouse() as wh:
            spec = mm.resolve(wh, outcome, drivers)
            return dis.dissonance(wh, spec, scope, negative, self.settings.confidence, self.settings.min_n)

    def weakest_link(self, outcome: str = "nps", drivers: Drivers = None, start: dt.date | str | None = None,
                     end: dt.date | str | None = None, filters: dict[str, list[str]] | None = None) -> pd.DataFrame:
        """Weakest link vs average: y ~ mean, y ~ min, y ~ mean + min (each + touchpoints lived), with R²,
        AIC, BIC and the F-test of the min term added to the mean."""
        from momenti.insights.drivers import dissonance as dis  # SciPy: loaded on first use

        scope = self._scope(None, None, start, end, filters)
        with self.warehouse() as wh:
            spec = mm.resolve(wh, outcome, drivers)
            return dis.weakest_link(wh, spec, scope, self.settings.confidence)
