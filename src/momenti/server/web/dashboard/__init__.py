"""The dashboard: one page per family of questions, each built only from the query protocol."""
