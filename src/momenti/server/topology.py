"""Which deployments `momenti serve` can run, checked before it starts (docs/deployment.md has the table).

With several processes (`--workers N`), everything they share must live outside any one of them: the store
(SQLite in WAL mode on a local disk, or PostgreSQL), the warehouse (the DuckDB file, which the processes open in
turn and only the leading one writes, or a server warehouse such as PostgreSQL), the job queue (the SQLite
file in the data directory, or Redis). An in-memory database would be one per process: each would answer from
its own data, so such a deployment is refused with the reason rather than left to give different answers on
different requests.
"""

from __future__ import annotations

from momenti.core.config import Settings


def _in_memory(url: str) -> bool:
    tail = url.split("://", 1)[1] if "://" in url else url
    return tail in ("", "/", "/:memory:", ":memory:") or "mode=memory" in url


def check_topology(settings: Settings, workers: int, reload: bool = False) -> str | None:
    """None when the deployment is valid; otherwise what is wrong and what to do instead."""
    if workers <= 1:
        return None
    if reload:
        return "--reload restarts one development process; it cannot be combined with --workers"
    if _in_memory(settings.store_url):
        return (f"the store {settings.store_url} is in memory, so each of the {workers} processes would hold its "
                "own: use a SQLite file (the default) or PostgreSQL (MOMENTI_STORE_URL)")
    if _in_memory(settings.warehouse):
        return (f"the warehouse {settings.warehouse} is in memory, one per process: use the DuckDB file (the "
                "default) or a server warehouse (MOMENTI_WAREHOUSE_URL=postgresql://...)")
    if settings.warehouse.startswith("pyspark://"):
        return ("a local Spark session (pyspark://local) belongs to one process: serve it with one process, "
                "or point MOMENTI_WAREHOUSE_URL at a shared warehouse")
    jobs = settings.jobs_url or ""
    if jobs.startswith("sqlite:///") and _in_memory(jobs):
        return "the job queue is in memory: use the default file, or Redis (MOMENTI_JOBS_URL=redis://...)"
    return None
