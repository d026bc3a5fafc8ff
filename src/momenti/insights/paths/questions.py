"""Journey analytics from interaction logs: cases, directly-follows graph, variants, funnels, journey x loyalty.

Every method takes the same journey selection (momenti.insights.paths.mining.JourneyQuery): `case` ("case_id" or
"customer"), `gap` ("30d": a new journey after that much silence), `start_activity`/`end_activity` (bounded
journeys), `start`/`end` (journeys starting in that period, inclusive days), `channel`, `touchpoint`,
`activity`, `segment={"attr": values}` or `filters={"segment:attr": [...], "channel": [...]}`, `coverage`
(top variants covering that fraction of journeys).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from momenti.insights.base import WorkspaceQuestions

if TYPE_CHECKING:
    from momenti.insights.paths.mining import JourneyQuery, Journeys


class ProcessQuestions(WorkspaceQuestions):
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings)."""

    def journey_query(self, case: str = "case_id", gap: Any = None, **selection: Any) -> JourneyQuery:
        from momenti.insights.paths.mining import JourneyQuery

        return JourneyQuery.build(case=case, gap=gap, **selection)

    def _journeys_run(self, fn: Any, case: str, gap: Any, selection: dict[str, Any], *args: Any,
                      **kwargs: Any) -> Any:
        from momenti.insights.paths.mining import journeys

        q = self.journey_query(case, gap, **selection)
        with self.warehouse() as wh:
            return fn(journeys(wh, q), *args, **kwargs)

    def dfg(self, case: str = "case_id", gap: Any = None, performance: bool = True,
            **selection: Any) -> pd.DataFrame:
        """Directly-follows graph: source, target, count, mean_s, median_s, p90_s (seconds between them)."""
        from momenti.insights.paths import mining as process

        return self._journeys_run(process.dfg, case, gap, selection, performance=performance)

    def activities(self, case: str = "case_id", gap: Any = None, **selection: Any) -> pd.DataFrame:
        """activity, count (events of the selected journeys)."""
        from momenti.insights.paths import mining as process

        return self._journeys_run(process.activities, case, gap, selection)

    def start_activities(self, case: str = "case_id", gap: Any = None, **selection: Any) -> pd.DataFrame:
        """activity, count (journeys starting with it)."""
        from momenti.insights.paths import mining as process

        return self._journeys_run(process.start_activities, case, gap, selection)

    def end_activities(self, case: str = "case_id", gap: Any = None, **selection: Any) -> pd.DataFrame:
        """activity, count (journeys ending with it)."""
        from momenti.insights.paths import mining as process

        return self._journeys_run(process.end_activities, case, gap, selection)

    def variants(self, case: str = "case_id", gap: Any = None, top: int | None = None,
                 **selection: Any) -> pd.DataFrame:
        """rank, variant (list of activities), length, count, share, cum_share (%), median_duration_s,
        happy_path (the most frequent variant; every other row is a deviation from it)."""
        from momenti.insights.paths import mining as process

        return self._journeys_run(process.variants, case, gap, selection, top=top)

    def journey_instances(self, case: str = "case_id", gap: Any = None, limit: int | None = None,
                          **selection: Any) -> pd.DataFrame:
        """One row per journey: case_id, customer_id, start_ts, end_ts, n_events, duration_s, variant."""
        from momenti.insights.paths import mining as process

        return self._journeys_run(process.instances, case, gap, selection, limit=limit)

    def journey_map(self, case: str = "case_id", gap: Any = None, variants: bool = True, performance: bool = True,
                    **selection: Any) -> dict[str, pd.DataFrame]:
        """Everything a process map needs, from one warehouse visit: "dfg", "activities", "start", "end" and
        (unless variants=False) "variants": the frames of the single-purpose methods."""
        from momenti.insights.paths import mining as process

        def run(j: Journeys) -> dict[str, pd.DataFrame]:
            out = {"dfg": process.dfg(j, performance=performance), "activities": process.activities(j),
                   "start": process.start_activities(j), "end": process.end_activities(j)}
            if variants:
                out["variants"] = process.variants(j)
            return out

        return self._journeys_run(run, case, gap, selection)

    def journey_graph(self, fmt: str = "dot", metric: str = "count", case: str = "case_id", gap: Any = None,
                      min_count: int = 1, parts: dict[str, Any] | None = None, **selection: Any) -> str | bytes:
        """The directly-follows graph as Graphviz DOT text (fmt="dot") or rendered SVG bytes (fmt="svg").
        `metric`: edge labels, "count" or "mean"/"median"/"p90" (time between the activities). `parts`: a
        `journey_map(..., variants=False)` already computed, drawn instead of computing it again."""
        from momenti.insights.paths import graph

        if parts is None:
            parts = self.journey_map(case, gap, variants=False, **selection)
        dot = graph.dfg_dot(parts["dfg"], parts["activities"], parts["start"], parts["end"], metric=metric,
                            min_count=min_count)
        return graph.render_svg(dot) if fmt == "svg" else dot

    def funnel(self, steps: Sequence[str] | str, mode: str = "eventually", by: Sequence[str] | str | None = None,
               period: str | None = None, case: str = "case_id", gap: Any = None,
               **selection: Any) -> pd.DataFrame:
        """Conversion through ordered steps (activities or touchpoint keys), per group.

        mode="eventually": a journey reaches step k when step k occurs *after* the occurrence that reached
        step k-1, any events in between (the first such occurrence counts). mode="directly": step k must be
        the very next event after step k-1 (the steps form a contiguous run). Columns: step, step_name, n
        (journeys that reached it), conversion_pct (of those at the previous step, Wilson interval),
        overall_pct (of those at step 1, Wilson interval), dropoff (lost since the previous step),
        median_s (median seconds from the previous step), small_sample."""
        from momenti.insights.paths import funnel as process_funnel

        return self._journeys_run(process_funnel.funnel, case, gap, selection, steps=steps, mode=mode, by=by,
                                  period=period, confidence=self.settings.confidence,
                                  min_n=self.settings.min_n)

    def journey_loyalty(self, by: str = "variant", question: str = "nps", within: Any = "30d",
                        top: int | None = 20, case: str = "case_id", gap: Any = None,
                        **selection: Any) -> pd.DataFrame:
        """Survey answers joined to the journey the customer lived last before answering (ended at most
        `within` before the answer). by="variant": variant, n, promoters, passives, detractors, nps, ci_low,
        ci_high (adjusted Wald), share_pct, small_sample. by="repeats" / "switches": NPS by the number of
        repeated contacts / channel switches lived in `within` before answering (see contact_loyalty).
        by="activity": activity, n, detractors,
        detractor_pct (Wilson interval ci_low/ci_high), lift (detractor rate with the step / without it, Katz
        interval lift_low/lift_high), small_sample; highest lift first. See momenti.insights.paths.loyalty."""
        from momenti.insights.paths import loyalty as process_loyalty

        if by in ("repeats", "switches"):  # loyalty by contact experience (contact centre, not paths)
            return self.contact_loyalty(by=by, question=question, window=within,
                                        start=selection.get("start"), end=selection.get("end"),
                                        touchpoint=selection.get("touchpoint"))
        return self._journeys_run(process_loyalty.journey_loyalty, case, gap, selection, by=by, question=question,
                                  within=within, top=top,
                                  confidence=self.settings.confidence,
                                  min_n=self.settings.min_n)
