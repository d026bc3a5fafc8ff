"""Pipelines: background work that turns what arrived into what the insights read (text analysis, jobs, events)."""
