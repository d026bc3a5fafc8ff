"""Customer lifecycle questions: the loyalty bank (loyalty vs positive moments lived before)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from momenti.core.args import as_date
from momenti.insights.base import WorkspaceQuestions


class LifecycleQuestions(WorkspaceQuestions):
    """Mixed into momenti.Workspace (self is a Workspace). First-time vs repeat customers are a segment,
    `segment:lifecycle`, usable in every metric (see momenti.insights.scores.segments)."""

    def loyalty_bank(self, outcome: str = "nps", outcome_touchpoint: str | None = "relationship-survey",
                     buckets: Sequence[int] | str = (0, 1, 2, 3, 5, 8), start: object = None,
                     end: object = None) -> pd.DataFrame:
        """Loyalty (the outcome's score with its interval) by the number of positive moments the customer
        lived before answering; `df.attrs["trend"]` holds the slope per extra positive moment, its
        interval and p-value."""
        from momenti.insights.loyalty.bank import LoyaltyBankQuery, loyalty_bank

        q = LoyaltyBankQuery(outcome, outcome_touchpoint, buckets if isinstance(buckets, str) else tuple(buckets),
                             as_date(start), as_date(end))  # type: ignore[arg-type]
        with self.warehouse() as wh:
            return loyalty_bank(wh, q, self.settings.confidence, self.settings.min_n)
