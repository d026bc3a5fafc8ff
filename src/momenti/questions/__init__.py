"""The Workspace's analytical questions, one mixin per family (journeys, contact centre, drivers).

Each mixin is the thin Python-API layer over an `momenti.analysis` module: it opens the warehouse, calls the
analysis and returns a DataFrame. The CLI and the REST API call these same methods.
"""
