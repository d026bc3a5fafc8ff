"""Loyalty battery, net shifts, loyalty index and price-switch thresholds."""

from __future__ import annotations


class LoyaltyQuestions:
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings)."""
