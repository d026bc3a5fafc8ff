"""Engines: pure computation on arrays and frames (statistics, driver estimators, text engines).

No store, no warehouse."""
