"""Engines: pure computation on arrays and frames (statistics, driver estimators, text engines).

No store, no warehouse. `from momenti.engines import RelativeWeights, ShapleyR2, PenaltyReward` gives the
scikit-learn-style driver estimators; they are loaded on first use, so that commands which never run a driver
analysis do not pay for importing SciPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {name: "momenti.engines.drivers" for name in ("DriverInputError", "RelativeWeights", "ShapleyR2")}
_LAZY["PenaltyReward"] = "momenti.engines.penalty_reward"

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'momenti.engines' has no attribute {name!r}")
