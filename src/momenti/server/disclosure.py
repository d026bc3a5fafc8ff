"""What an aggregate-only reader (the viewer role) gets of the workspace: every answer with its small groups
withheld (insights/disclosure.py). The one place: `get_workspace` (server/deps.py) hands this view instead of
the workspace to every route a viewer calls, so the dashboard, the REST API and POST /api/v1/query withhold
alike, and a new route cannot forget to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from momenti.core.errors import MomentiError
from momenti.insights.disclosure import withhold_small_groups
from momenti.workspace import Workspace


class AggregateView:
    """The workspace as an aggregate-only reader sees it: its methods' DataFrames (alone, in a list or in a dict)
    come back with the groups under `settings.min_n` withheld; pictures drawn from counts leave them out."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self.settings = ws.settings
        self.min_n = ws.settings.min_n

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._ws, name)
        if not callable(attr) or name.startswith("_"):
            return attr
        return self._withholding(name, attr)

    def _withholding(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if name == "journey_graph":  # a pair rarer than the minimum is not drawn
                kwargs["min_count"] = max(int(kwargs.get("min_count") or 1), self.min_n)
            elif name == "survival_plot":
                kwargs["min_group"] = self.min_n
            return self._withheld(method(*args, **kwargs))

        return call

    def _withheld(self, value: Any) -> Any:
        if isinstance(value, pd.DataFrame):
            return withhold_small_groups(value, self.min_n)
        if isinstance(value, list):
            return [v if isinstance(v, MomentiError) else self._withheld(v) for v in value]
        if isinstance(value, dict):
            return {k: self._withheld(v) for k, v in value.items()}
        return value
