"""Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models."""

from __future__ import annotations


class RetentionQuestions:
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings)."""
