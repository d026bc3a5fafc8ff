"""Debounced warehouse sync for the server.

A sync per API request would put a warehouse transaction on every write; instead each write calls
`touch()`, and one background thread runs a single sync `delay` seconds after the last write. A steady
stream of writes is still synced at least every `max_wait` seconds, so data never lags unboundedly.
Only this thread syncs (at most one sync at a time); `flush()` makes a pending sync run now and waits for it
(tests, shutdown). The server's `run` is `Workspace.sync_written`, the event dispatcher (pipelines/events.py):
the outbox's events go to the warehouse sync, then to the analysis (masking) of the comments that arrived, so
every write path that calls `touch()` gets its comments masked within seconds. With a separate `momenti worker`
(MOMENTI_JOBS_EMBEDDED=false) the `run` queues one dispatch job instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("momenti.server.sync")


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
        self._cond = threading.Condition()
        self._due: float | None = None  # monotonic time at which the next sync should start
        self._first_touch: float | None = None  # when the pending work began (bounds the debounce)
        self._running = False
        self._stop = False
        self._failures = 0
        self._thread: threading.Thread | None = None
        self.runs = 0  # successful syncs
        self._attempts = 0
        self.last_error: str | None = None

    # -- public ----------------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = False
            self._thread = threading.Thread(target=self._loop, name="momenti-sync", daemon=True)
            self._thread.start()

    def touch(self) -> None:
        """Data was written: sync `delay` seconds from now (pushing back a sync not yet started)."""
        now = time.monotonic()
        with self._cond:
            if self._first_touch is None:
                self._first_touch = now
            self._due = min(now + self.delay, self._first_touch + self.max_wait)
            self._cond.notify_all()

    @property
    def pending(self) -> bool:
        with self._cond:
            return self._due is not None or self._running

    def flush(self, timeout: float = 60.0) -> bool:
        """Run a pending sync now and wait until nothing is pending or running. False on timeout."""
        if not self._alive():
            # No thread (app used without its lifespan): do the work in the caller.
            with self._cond:
                due, self._due, self._first_touch = self._due, None, None
            return self._sync_once() if due is not None else True
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._due is not None:
                self._due = time.monotonic()
                self._cond.notify_all()
            attempts = self._attempts
            while (self._due is not None or self._running) and self._alive():
                if self._attempts > attempts and self._failures:
                    return False  # it ran and failed: the retry is scheduled, do not wait for it
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._due is None and not self._running

    def close(self, timeout: float = 60.0) -> None:
        """Flush, then stop the thread (server shutdown)."""
        self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the thread ------------------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (self._due is None or self._due > time.monotonic()):
                    self._cond.wait(None if self._due is None else max(0.0, self._due - time.monotonic()))
                if self._stop:
                    return
                self._due, self._first_touch = None, None
                self._running = True
            ok = False
            try:
                ok = self._sync_once()
            finally:
                with self._cond:
                    self._running = False
                    self._attempts += 1
                    if not ok and self._due is None and not self._stop:
                        # Retry later (e.g. another process held the warehouse too long), backing off.
                        self._due = time.monotonic() + min(60.0, 2.0 * 2 ** min(self._failures, 5))
                    self._cond.notify_all()

    def _sync_once(self) -> bool:
        try:
            with self.lock:
                self._run()
        except Exception as exc:  # a failed sync must not kill the thread; the store keeps the data
            self._failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("warehouse sync failed (attempt %d)", self._failures)
            return False
        self._failures = 0
        self.last_error = None
        self.runs += 1
        return True
