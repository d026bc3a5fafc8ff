"""SQL text helpers shared by every layer that writes SQL by hand (validation, bulk writes, the warehouse)."""

from __future__ import annotations


def sql_literal(value: object) -> str:
    """A string literal for SQL text (DuckDB, SQLite and PostgreSQL): single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"
