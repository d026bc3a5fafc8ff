"""Moments-of-truth analytics on the workspace's data: key drivers, penalty-reward, quadrant, dissonance."""

from __future__ import annotations


class DriverQuestions:
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings)."""
