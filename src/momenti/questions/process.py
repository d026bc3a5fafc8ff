"""Journey analytics from interaction logs: cases, directly-follows graph, variants, funnels."""

from __future__ import annotations


class ProcessQuestions:
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings)."""
