"""The debounced warehouse sync: many writes, one dispatch — timed by the job queue, not by a thread of its own.

A sync per API request would put a warehouse transaction on every write; instead each write calls `touch()`
(a few comparisons under a lock) and one dispatch runs `delay` seconds after the last write; a steady stream
of writes is still dispatched at least every `max_wait` seconds, so data never lags unboundedly.

The timer is the job runner (pipelines/jobs.py). Where the queue's consumer runs in this process (`momenti
serve` when it leads, the background process of `--workers N`, `momenti worker`) the debouncer is *local*:
`touch()` schedules one `sync_due` job at the due time, and that job, when it comes, either finds the due
time pushed back by later writes and schedules itself again, or runs the dispatch. Elsewhere (a follower
process, a server whose jobs run in `momenti worker`) it is *remote*: `touch()` queues one `dispatch` job per
`delay` window for whoever consumes the queue, whose own local debouncer then coalesces every process's
signals. Before `attach`, or without it (an app used without its lifespan, a test), `flush()` does the work
in the caller. The queue checks scheduled jobs once a second, so a dispatch comes `delay` to `delay` + 2 s
after the last write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("momenti.server.sync")
LOST_AFTER_S = 30.0  # a scheduled job this late is taken for lost (its queue was stopped): schedule another


class DebouncedSync:
    def __init__(self, run: Callable[[], object], delay: float, lock: threading.Lock | None = None,
                 max_wait: float | None = None) -> None:
        self._run = run
        self.delay = max(0.0, delay)
        self.max_wait = max_wait if max_wait is not None else max(10 * self.delay, 5.0)
        # Held while syncing, and by the server around every import. An import pushes its committed rows
        # to the warehouse itself (`warehouse.sync.push`: check "caught up", then append, unlocked); a sync
        # in this process at the same moment could append the same rows again. Imports are serialised too:
        # two imports creating the same new question key at once collide in the store (ingest/run.py).
        self.lock = lock or threading.Lock()
        self._state = threading.Lock()  # guards the fields below; nobody waits on it
        self._due: float | None = None  # monotonic time at which the next dispatch should start
        self._first_touch: float | None = None  # when the pending work began (bounds the debounce)
        self._eta: float | None = None  # when the job scheduled last is due (None: none outstanding)
        self._schedule: Callable[[float], None] | None = None
        self._local = True
        self._running = False
        self._stop = False
        self._failures = 0
        self.runs = 0  # successful dispatches run here
        self.last_error: str | None = None

    # -- wiring ----------------------------------------------------------------------------------

    def attach(self, schedule: Callable[[float], None], local: bool) -> None:
        """`schedule(seconds)`: run this debouncer's `run_due` in `seconds` on this process's consumer (`local`),
        or queue a dispatch job in `seconds` for another process's consumer (not `local`)."""
        with self._state:
            self._schedule, self._local, self._stop, self._eta = schedule, local, False, None

    # -- public ----------------------------------------------------------------------------------

    def touch(self) -> None:
        """Data was written: dispatch `delay` seconds from now (pushing back a dispatch not yet started)."""
        now = time.monotonic()
        with self._state:
            if self._first_touch is None:
                self._first_touch = now
            self._due = min(now + self.delay, self._first_touch + self.max_wait)
            wait = self._next_schedule(now)
        self._send(wait)

    @property
    def pending(self) -> bool:
        with self._state:
            if self._schedule is not None and not self._local:
                return self._eta is not None and time.monotonic() < self._eta
            return self._due is not None or self._running

    def run_due(self) -> None:
        """The `sync_due` job: dispatch if the time has come, else schedule itself for when it will."""
        now = time.monotonic()
        with self._state:
            self._eta = None
            if self._stop or self._due is None:
                return
            if self._due > now + 0.05:  # later writes pushed it back
                self._eta = self._due
                wait: float | None = self._due - now
            else:
                wait = None
                self._due, self._first_touch, self._running = None, None, True
        if wait is not None:
            self._send(wait)
            return
        self._dispatch()

    def flush(self, timeout: float = 60.0) -> bool:
        """Dispatch what is pending now, in the caller (or queue it now, when remote), and wait for a dispatch
        under way. False when it failed or the lock was not had within `timeout`."""
        with self._state:
            if self._schedule is not None and not self._local:
                queued, self._eta, self._due, self._first_touch = self._eta is not None, None, None, None
                remote = True
            else:
                remote = False
                due, self._due, self._first_touch = self._due, None, None
        if remote:
            if queued:
                self._send(0.0)
            return True
        if due is None:  # nothing pending: wait for a dispatch under way to end
            if not self.lock.acquire(timeout=timeout):
                return False
            self.lock.release()
            return True
        with self._state:
            self._running = True
        return self._dispatch(timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Flush, then stop scheduling (server shutdown)."""
        self.flush(timeout)
        with self._state:
            self._stop = True
            self._schedule = None

    # -- inside ----------------------------------------------------------------------------------

    def _next_schedule(self, now: float) -> float | None:
        """Seconds after which to schedule a job, or None when the one outstanding will do. Under the lock."""
        if self._schedule is None or self._stop:
            return None
        if self._eta is not None and now < self._eta + (LOST_AFTER_S if self._local else 0.0):
            return None  # local: its job reschedules itself if the due time moved; remote: this window's job
        wait = (self._due - now) if self._local and self._due is not None else self.delay
        self._eta = now + max(0.0, wait)
        return max(0.0, wait)

    def _dispatch(self, timeout: float = -1) -> bool:
        """Run the dispatch (`_running` already set), then clear `_running` and, after a failure, schedule the
        retry. The dispatch of `run_due` and of `flush` alike."""
        ok = False
        try:
            ok = self._sync_once(timeout)
            return ok
        finally:
            with self._state:
                self._running = False
                retry = None if ok else self._after_failure()
            self._send(retry)

    def _after_failure(self) -> float | None:
        """After a failed dispatch, under the lock: when to retry (backing off), or None (already due, or
        stopping). The retry stays pending, so a flush or close runs it at once."""
        if self._due is not None or self._stop:
            return None
        retry = min(60.0, 2.0 * 2 ** min(self._failures - 1, 5))  # 2 s, 4 s, ... 60 s
        self._due = time.monotonic() + retry
        self._eta = self._due if self._schedule is not None else None
        return retry if self._schedule is not None else None

    def _send(self, wait: float | None) -> None:
        schedule = self._schedule
        if wait is None or schedule is None:
            return
        try:
            schedule(wait)
        except Exception:  # the queue is unavailable: the next write, or the periodic catch-up, tries again
            log.exception("could not schedule the warehouse sync")
            with self._state:
                self._eta = None

    def _sync_once(self, timeout: float = -1) -> bool:
        try:
            if not self.lock.acquire(timeout=timeout):
                raise TimeoutError("the warehouse sync lock was not free")
            try:
                self._run()
            finally:
                self.lock.release()
        except Exception as exc:  # a failed sync must not kill the job; the store keeps the data
            self._failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("warehouse sync failed (attempt %d)", self._failures)
            return False
        self._failures = 0
        self.last_error = None
        self.runs += 1
        return True
