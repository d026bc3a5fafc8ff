"""Analyses beyond the score metrics: key drivers, journeys (process mining), contact centre, loyalty,
retention, lifecycle.

`from momenti.analysis import RelativeWeights, ShapleyR2, PenaltyReward` works as usual; the names are
loaded on first use, so that commands which never run a driver analysis do not pay for importing SciPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {name: "momenti.analysis.drivers" for name in ("DriverInputError", "RelativeWeights", "ShapleyR2")}
_LAZY["PenaltyReward"] = "momenti.analysis.penalty_reward"

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'momenti.analysis' has no attribute {name!r}")
