"""Background jobs: enqueue N trivial jobs and run them all, on the queue momenti uses and its alternatives.

    python bench/jobs.py                # 2 000 jobs each
    BENCH_JOBS=500 python bench/jobs.py

Each row: seconds to enqueue N jobs (a durable queue: each job is written before `enqueue` returns), seconds
until two worker threads have run them all, and the ratio of the total to Huey's on SQLite (what `momenti serve`
uses by default). Compared in the same run:
- Huey with SqliteStorage (a file in the data directory) and RedisStorage (127.0.0.1:6379, when it answers),
- procrastinate on the local PostgreSQL (127.0.0.1:5432; a database of its own, dropped after),
- APScheduler 3 with its SQLAlchemy job store on SQLite (a scheduler, not a queue: one "run now" job per call).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

N = int(os.environ.get("BENCH_JOBS", 2_000))
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


def _wait(done: Callable[[], bool], timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.005)


def huey_run(make: Callable[[], object]) -> tuple[float, float]:
    huey = make()
    ran: list[int] = []
    lock = threading.Lock()

    @huey.task()  # type: ignore[attr-defined]
    def job(i: int) -> None:
        with lock:
            ran.append(i)

    huey.flush()  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    for i in range(N):
        job(i)
    t1 = time.perf_counter()
    consumer = huey.create_consumer(workers=2, worker_type="thread", periodic=False,  # type: ignore[attr-defined]
                                    max_delay=0.1, check_worker_health=False)
    consumer.scheduler.start()
    for _, w in consumer.worker_threads:
        w.start()
    _wait(lambda: len(ran) == N)
    t2 = time.perf_counter()
    consumer.stop(graceful=True)
    huey.flush()  # type: ignore[attr-defined]
    return t1 - t0, t2 - t1


def huey_sqlite(tmp: Path) -> tuple[float, float]:
    from huey import SqliteHuey

    return huey_run(lambda: SqliteHuey("bench", filename=str(tmp / "jobs.db"), results=False))


def huey_redis(_tmp: Path) -> tuple[float, float]:
    from huey import RedisHuey

    return huey_run(lambda: RedisHuey("momenti-bench", url="redis://127.0.0.1:6379/15", results=False))


def procrastinate_pg(_tmp: Path) -> tuple[float, float]:
    import procrastinate
    from sqlalchemy import create_engine, text

    db = "momenti_bench_jobs"
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {db}"))
        c.execute(text(f"CREATE DATABASE {db}"))
    try:
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=f"{PG}/{db}"))
        ran: list[int] = []

        @app.task(name="job")
        def job(i: int) -> None:
            ran.append(i)

        with app.open():
            app.schema_manager.apply_schema()
            t0 = time.perf_counter()
            for i in range(N):
                job.defer(i=i)
            t1 = time.perf_counter()
            app.run_worker(wait=False, concurrency=2, install_signal_handlers=False)
            t2 = time.perf_counter()
        assert len(ran) == N, len(ran)
        return t1 - t0, t2 - t1
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        admin.dispose()


_ran: list[int] = []


def _aps_job(i: int) -> None:  # module level: APScheduler's persistent store refers to jobs by import path
    _ran.append(i)


def apscheduler_sqlite(tmp: Path) -> tuple[float, float]:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    _ran.clear()
    sched = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{tmp / 'aps.db'}")},
                                executors={"default": ThreadPoolExecutor(2)},
                                job_defaults={"misfire_grace_time": None})
    sched.start(paused=True)
    t0 = time.perf_counter()
    for i in range(N):
        sched.add_job(_aps_job, args=[i], id=f"j{i}")
    t1 = time.perf_counter()
    sched.resume()
    _wait(lambda: len(_ran) == N)
    t2 = time.perf_counter()
    sched.shutdown()
    return t1 - t0, t2 - t1


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    rows = []
    for name, fn in (("huey sqlite (momenti)", huey_sqlite), ("huey redis", huey_redis),
                     ("procrastinate postgres", procrastinate_pg), ("apscheduler sqlite", apscheduler_sqlite)):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                enq, run = fn(Path(tmp))
            except Exception as exc:  # noqa: BLE001 - a peer that cannot run here is reported, not fatal
                print(f"{name:26} skipped: {type(exc).__name__}: {exc}")
                continue
        rows.append((name, enq, run))
    base = rows[0][1] + rows[0][2] if rows and rows[0][0].startswith("huey sqlite") else None
    print(f"{N} trivial jobs, 2 worker threads")
    print(f"{'queue':26} {'enqueue s':>10} {'run s':>8} {'total s':>8} {'jobs/s':>8} {'vs huey sqlite':>15}")
    for name, enq, run in rows:
        total = enq + run
        ratio = f"{total / base:.2f}x" if base else "-"
        print(f"{name:26} {enq:10.2f} {run:8.2f} {total:8.2f} {N / total:8.0f} {ratio:>15}")


if __name__ == "__main__":
    main()
