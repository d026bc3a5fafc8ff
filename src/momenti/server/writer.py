"""Group commit for API writes: one thread writes every request's records, many requests per transaction.

A write request costs the store a transaction (take the write lock, read the next id, insert, commit); on
SQLite that is one writer at a time anyway. So requests hand their checked records to this thread and wait:
the thread takes everything queued since its last transaction and writes it in one (per kind), then answers
each request with its own counts. Under load, N concurrent requests cost one transaction, not N.

Records go the quick way (ingest/quick.py: checked in Python, inserted directly) when they are plain; a
batch with anything to report or decide (an error, a new answer key, an unusual value) goes through the bulk
import path, which words every error the same way a file import does.

Why a thread and not a job: this is not background work but the request path itself — every request
waits on its records' commit before it answers, so the hand-over must cost microseconds (a job queue costs
a storage write and a poll per hand-over, and would put the queue between the client and its 201). The
thread holds nothing a crash could lose: a request is answered only after its transaction committed, and
what a killed process had queued was never acknowledged (tests/test_crash_http.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.ingest.quick import NotQuick, QuickChecker, QuickRows, write_quick
from momenti.ingest.run import ImportSummary, question_infos, touchpoint_ids
from momenti.ingest.specs import KINDS
from momenti.ingest.write import StoreWriter
from momenti.store.raw import DbapiConnection
from momenti.store.turns import write_turn
from momenti.workspace import Workspace

log = logging.getLogger("momenti.server.writer")

MAX_GROUP_RECORDS = 5_000  # one transaction stays short even when many batches queue up


@dataclass
class _Job:
    kind: str
    records: list[dict[str, Any]]
    future: Future = field(default_factory=Future)
    rows: QuickRows | None = None


class GroupWriter:
    def __init__(self, ws: Workspace, on_written: Callable[[], None] | None = None) -> None:
        """`on_written`: called in this thread after a group that added rows (the debounced sync's signal), so
        the request path never waits on it (scheduling the sync writes to the job queue)."""
        self.ws = ws
        self.on_written = on_written
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.touchpoint_ids: dict[str, int] = {}
        self.question_infos: dict = {}
        self.groups = 0  # transactions written (tests and the health page read these)
        self.quick_batches = 0
        self.bulk_batches = 0
        # Writers of a SQLite store take turns on a file lock before its write lock (store/turns.py). One lock
        # object, kept: only this thread uses it.
        self._turn: AbstractContextManager = write_turn(ws.engine)

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._reload()
            self._thread = threading.Thread(target=self._loop, name="momenti-writer", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Write what is queued, then stop."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._thread = None

    def write(self, kind: str, records: list[dict[str, Any]]) -> ImportSummary:
        """Write one request's records (all or nothing) and wait for the result."""
        if self._thread is None:
            self.start()
        job = _Job(kind, records)
        self._queue.put(job)
        return job.future.result()

    async def write_async(self, kind: str, records: list[dict[str, Any]]) -> ImportSummary:
        """`write` for a coroutine: the event loop goes on serving while the writer thread works."""
        if self._thread is None:
            self.start()
        job = _Job(kind, records)
        self._queue.put(job)
        return await asyncio.wrap_future(job.future)

    # -- the writer thread ------------------------------------------------------------------------

    def _reload(self) -> None:
        with Session(self.ws.engine) as s:
            self.touchpoint_ids = touchpoint_ids(s)
            self.question_infos = question_infos(s)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, size, stop = [first], len(first.records), False
            while size < MAX_GROUP_RECORDS:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
                size += len(job.records)
            for kind in dict.fromkeys(j.kind for j in jobs):
                self._write_group(kind, [j for j in jobs if j.kind == kind])
            self._signal(jobs)
            if stop:
                return

    def _signal(self, jobs: list[_Job]) -> None:
        if self.on_written is None:
            return
        if any(j.future.exception() is None and j.future.result().added for j in jobs):
            try:
                self.on_written()
            except Exception:  # the outbox keeps the events: the periodic catch-up dispatches them
                log.warning("could not signal the warehouse sync", exc_info=True)

    def _check(self, jobs: list[_Job], now: dt.datetime) -> tuple[list[_Job], list[_Job]]:
        """Split into (quick, bulk) jobs, reloading the store's keys once if something looked unknown."""
        if KINDS[jobs[0].kind].upsert:  # rows updated in place (offers): the bulk path's upsert writes them
            return [], jobs
        for attempt in range(2):
            checker = QuickChecker(KINDS[jobs[0].kind], self.touchpoint_ids, self.question_infos)
            quick, bulk = [], []
            for job in jobs:
                try:
                    job.rows = checker.rows(job.records, now)
                    quick.append(job)
                except NotQuick:
                    bulk.append(job)
                except Exception:  # a checker bug must cost speed, never a write: the bulk path judges
                    log.warning("quick check failed; using the bulk path", exc_info=True)
                    bulk.append(job)
            if not bulk or attempt:
                return quick, bulk
            self._reload()  # a touchpoint or question added since (journey apply, a file import)
        raise AssertionError("unreachable")

    def _write_group(self, kind: str, jobs: list[_Job]) -> None:
        try:
            pending = jobs
            while pending:
                quick, bulk = self._check(pending, utcnow())
                if quick:
                    try:
                        self._write_quick(kind, quick)
                    except Exception:  # e.g. a touchpoint deleted since the cache was read: the bulk path judges
                        log.warning("quick write of %d batch(es) failed; retrying one by one", len(quick),
                                    exc_info=True)
                        self._reload()
                        for job in quick + bulk:
                            self._write_bulk(job)
                        return
                if not bulk:
                    return
                # One through the bulk path, then the rest checked again: when the first writes of a new store
                # all carry the same new answer key, the first creates its question and the others are quick.
                self._write_bulk(bulk[0])
                pending = bulk[1:]
        except BaseException as exc:  # never leave a request waiting
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)

    def _write_quick(self, kind: str, jobs: list[_Job]) -> None:
        with self._turn, StoreWriter(DbapiConnection(self.ws.engine)) as writer:
            with writer.locked(kind):
                counts = write_quick(writer, kind, [j.rows for j in jobs])  # type: ignore[misc]
        self.groups += 1
        self.quick_batches += len(jobs)
        for job, (added, duplicates) in zip(jobs, counts, strict=True):
            job.future.set_result(ImportSummary(kind=kind, source="api", read=len(job.records), added=added,
                                                duplicates=duplicates))

    def _write_bulk(self, job: _Job) -> None:
        try:
            with self._turn:
                summary = self.ws.import_records(job.kind, job.records, source="api", strict=True, sync=False)
        except BaseException as exc:
            job.future.set_exception(exc)
            return
        self.bulk_batches += 1
        if summary.added:
            self._reload()  # it may have created answer keys
        job.future.set_result(summary)
