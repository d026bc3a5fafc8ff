"""Key-driver analysis: which touchpoint attributes move the outcome, and how sure we are."""

from momenti.analysis.drivers import DriverInputError, PenaltyReward, RelativeWeights, ShapleyR2

__all__ = ["DriverInputError", "PenaltyReward", "RelativeWeights", "ShapleyR2"]
