"""Contact-centre KPIs: repeat contacts, first-contact resolution, handling time, channel switching."""

from __future__ import annotations


class ContactQuestions:
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings)."""
