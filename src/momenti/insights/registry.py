"""Every insight's warehouse feed, registered by importing its facts module: the Workspace imports this once, so
that any sync it runs keeps the journey facts, contact facts and text results current."""

from __future__ import annotations

from momenti.insights.contact import facts as contact_facts
from momenti.insights.paths import facts as journey_facts
from momenti.insights.text import facts as text_facts

FEED_MODULES = (journey_facts, contact_facts, text_facts)
