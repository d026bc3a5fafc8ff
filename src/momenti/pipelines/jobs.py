"""Background jobs on Huey: the event dispatcher, survey session sweeps and invitation reminders.

The queue is a SQLite file (`jobs.sqlite`) in the data directory, or Redis when MOMENTI_JOBS_URL=redis://...; a job
waiting in it survives a restart. `momenti serve` runs the consumer in its own process (threads, no extra
server) unless MOMENTI_JOBS_EMBEDDED=false, when `momenti worker` runs it. A failed job is retried after
MOMENTI_JOBS_RETRY_DELAY_S, doubling at each retry, MOMENTI_JOBS_RETRIES times; a job that still fails lands in
the dead-letter list (`momenti jobs`, `momenti jobs retry ID|--all`).

The dispatcher itself is durable through the outbox (store/outbox.py), not through the queue: a dispatch job
lost with its process (kill -9 while it ran) loses nothing, the next run delivers the same events.
Why Huey: docs/architecture-jobs.md (and bench/jobs.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import PeriodicTask, Task, TaskWrapper
from huey.registry import Message

from momenti.pipelines.debounce import DebouncedSync

log = logging.getLogger("momenti.jobs")
DEAD_KEY = "momenti:dead-letters"


@dataclass
class DeadJob:
    id: str
    name: str
    registered: str  # the queue's name of the job's function: a process that does not define it can requeue it
    args: tuple
    kwargs: dict
    error: str
    failed_at: dt.datetime


def make_huey(settings: Any, name: str = "momenti") -> Huey:
    """The queue of a workspace: Redis at MOMENTI_JOBS_URL, else a SQLite file in the data directory."""
    url = settings.jobs_url
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url)
    if url and url.startswith("sqlite:///"):
        path = Path(url.split("///", 1)[1])
    elif url:
        raise ValueError(f"MOMENTI_JOBS_URL {url!r}: expected redis://... or sqlite:///path")
    else:
        path = Path(settings.jobs_file)
        old = path.with_name("jobs.db")  # the queue's name before 0.13: its pending jobs move with it
        if old.exists() and not path.exists():
            for suffix in ("", "-wal", "-shm"):
                if Path(str(old) + suffix).exists():
                    Path(str(old) + suffix).rename(str(path) + suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path))


class JobRunner:
    """The jobs of one workspace on one queue. `ws` is the workspace (duck-typed: this layer does not import it);
    `lock` is held by every dispatch run here, and by the server around its imports. `sync` is the debounced
    dispatcher (pipelines/debounce.py): `signal()` asks it for a dispatch soon; a `dispatch` job, wherever it
    was queued, signals the debouncer of the process that consumes it."""

    def __init__(self, ws: Any, lock: threading.Lock | None = None, huey: Huey | None = None) -> None:
        self.ws = ws
        self.settings = ws.settings
        self.lock = lock or threading.Lock()
        self.huey = huey or make_huey(self.settings)
        self.sync = DebouncedSync(self._dispatch_now, self.settings.sync_debounce_s, self.lock)
        self.signal = self.sync.touch
        self.tasks: dict[str, TaskWrapper] = {}
        self._dead_lock = threading.Lock()
        self._consumer: Any = None
        self._register()
        # The dispatcher's webhook subscriber queues a delivery's first attempt through this runner.
        ws.job_runner = self

    # -- the jobs --------------------------------------------------------------------------------------

    def task(self, fn: Callable[..., Any], name: str | None = None, periodic: crontab | None = None,
             retries: int | None = None) -> TaskWrapper:
        """Register `fn` as a job (with retries, backing off), periodic when `periodic` is a crontab."""
        opts = {"retries": self.settings.jobs_retries if retries is None else retries,
                "retry_delay": self.settings.jobs_retry_delay_s, "retry_backoff": 2, "name": name or fn.__name__}
        wrapper = (self.huey.periodic_task(periodic, **opts)(fn) if periodic is not None
                   else self.huey.task(**opts)(fn))
        self.tasks[opts["name"]] = wrapper
        return wrapper

    def _register(self) -> None:
        every = max(1, int(self.settings.jobs_dispatch_every_min))
        self.task(self.sync.touch, "dispatch")
        # The debouncer's timer; it retries by itself (its state is this process's), so no retries here.
        self.task(self.sync.run_due, "sync_due", retries=0)
        self.task(self._catch_up, "dispatch_catch_up", periodic=crontab(minute=f"*/{every}"))
        self.task(self._sweep_surveys, "survey_sweep", periodic=crontab(minute="*"))
        if self.settings.jobs_remind_after:
            self.task(self._remind, "invitation_reminders", periodic=crontab(minute="0"))
        from momenti.pipelines import loop

        loop.register_jobs(self)  # webhook attempts and sweep, the SLA escalation ladder
        from momenti.pipelines import story

        story.register_jobs(self)  # the weekly review's reminder and summary e-mails
        from momenti.pipelines import reports

        reports.register_jobs(self)  # the management-meeting report by e-mail (MOMENTI_REPORT_RECIPIENTS)
        from momenti.domains.privacy import retention

        self.task(lambda: retention.apply(self.ws), "privacy_retention", periodic=crontab(minute="15", hour="3"))
        from momenti.domains.surveys import abuse

        # the rate limits' buckets (in the store) idle long enough to be full again: a missing row is the same
        self.task(lambda: abuse.cleanup(self.ws), "rate_bucket_cleanup", periodic=crontab(minute="7"))
        self.huey.post_execute()(self._after)

    def _dispatch_now(self) -> None:
        self.ws.sync_written()  # the debouncer holds self.lock around it

    def _catch_up(self) -> None:
        # Through the debouncer, not a dispatch here: it stays the only dispatcher of the process (one run at a
        # time, after the writes of the last moment).
        self.signal()

    def _sweep_surveys(self) -> dict[str, int]:
        from momenti.domains.surveys import sessions

        counts = sessions.sweep(self.ws)
        if counts["partial"]:
            self.signal()  # partial responses were written: their events wait for the dispatcher
        return counts

    def _remind(self) -> int:
        from momenti.domains.surveys.invite_trigger import remind
        from momenti.domains.surveys.links import parse_duration

        frame = remind(self.ws, parse_duration(self.settings.jobs_remind_after))
        return int((frame["result"] == "reminded").sum()) if len(frame) else 0

    def enqueue_dispatch(self) -> None:
        self.tasks["dispatch"]()

    def _schedule(self, name: str, seconds: float) -> None:
        task = self.tasks[name]
        if seconds <= 0:
            task()
        else:
            task.schedule(delay=seconds)

    def attach_remote(self) -> None:
        """This process runs no consumer (a follower of `--workers`, a server whose jobs run in `momenti
        worker`): its debouncer queues `dispatch` jobs for the process that does."""
        self.sync.attach(lambda seconds: self._schedule("dispatch", seconds), local=False)

    def _attach_local(self) -> None:
        self.sync.attach(lambda seconds: self._schedule("sync_due", seconds), local=True)

    # -- dead letters ----------------------------------------------------------------------------------

    def _after(self, task: Task, value: object, exc: BaseException | None) -> None:
        if exc is None or task.retries:  # succeeded, or a retry is scheduled
            return
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.error("job %s (%s) failed for good: %s", task.name, task.id, error)
        if isinstance(task, PeriodicTask) or task.name not in self.tasks:
            return  # a periodic job runs again at its next time anyway
        registered = self.huey._registry.task_to_string(type(task))
        dead = DeadJob(task.id, task.name, registered, tuple(task.args or ()), dict(task.kwargs or {}), error,
                       dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0))
        with self._dead_lock:
            jobs = self.dead()
            jobs[dead.id] = dead
            self.huey.put(DEAD_KEY, jobs)

    def dead(self) -> dict[str, DeadJob]:
        """The dead-letter list: jobs whose every retry failed, by job id."""
        return dict(self.huey.get(DEAD_KEY, peek=True) or {})

    def retry(self, ids: list[str] | None = None) -> list[str]:
        """Queue dead jobs again (all of them without `ids`), with their retries restored. The new job ids."""
        with self._dead_lock:
            jobs = self.dead()
            chosen = list(jobs) if ids is None else ids
            missing = [i for i in chosen if i not in jobs]
            if missing:
                raise KeyError(", ".join(missing))
            out = []
            for job_id in chosen:
                job = jobs.pop(job_id)
                # A message as the queue holds it, so the consumer runs it even when this process (the CLI)
                # does not define the job (a job registered by a plugin or a test).
                message = Message(str(uuid.uuid4()), job.registered, None, self.settings.jobs_retries,
                                  self.settings.jobs_retry_delay_s, None, job.args, job.kwargs, None, None, None,
                                  None, None, None, 2)
                self.huey.storage.enqueue(self.huey.serializer.serialize(message), None)
                out.append(message.id)
            self.huey.put(DEAD_KEY, jobs)
        return out

    def pending(self) -> list[dict[str, Any]]:
        """Jobs waiting: queued now, or scheduled (a retry backing off)."""
        rows = [{"id": t.id, "job": t.name, "state": "queued", "retries_left": t.retries, "eta": None}
                for t in self.huey.pending()]
        rows += [{"id": t.id, "job": t.name, "state": "scheduled", "retries_left": t.retries, "eta": t.eta}
                 for t in self.huey.scheduled()]
        return rows

    # -- the consumer ----------------------------------------------------------------------------------

    def start(self, workers: int | None = None) -> None:
        """Run the consumer in this process's threads. Not Consumer.start(): that installs signal handlers,
        which belong to the host (uvicorn in `momenti serve`)."""
        if self._consumer is not None:
            return
        # max_delay 1 s: an idle worker polls the queue once a second, and stops within a second.
        consumer = self.huey.create_consumer(workers=workers or self.settings.jobs_workers, worker_type="thread",
                                             periodic=True, check_worker_health=False, max_delay=1.0)
        consumer.scheduler.start()
        for _, worker in consumer.worker_threads:
            worker.start()
        self._consumer = consumer
        self._attach_local()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the consumer, then run a dispatch still pending here (the queue would hold it till next start)."""
        if self._consumer is None:
            return
        self._consumer.shutdown_timeout = timeout
        self._consumer.stop(graceful=True)
        self._consumer = None
        self.sync.close(timeout)

    def run_forever(self, workers: int | None = None) -> None:
        """`momenti worker`: the consumer in the foreground until Ctrl-C or SIGTERM."""
        consumer = self.huey.create_consumer(workers=workers or self.settings.jobs_workers, worker_type="thread",
                                             periodic=True)
        self._attach_local()
        try:
            consumer.run()
        finally:
            self.sync.close()
