"""The debounced warehouse sync (pipelines/debounce.py): one dispatch after a burst of writes, bounded under steady
writes, failures reported and retried, a flush without a queue, and the timer being the job queue (no thread of
its own): a fake scheduler for the state machine, then a real Huey consumer end to end."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import momenti
from momenti.core.config import get_settings
from momenti.pipelines.debounce import DebouncedSync
from momenti.pipelines.jobs import JobRunner


class FakeQueue:
    """Records what the debouncer schedules; the test decides when a scheduled job runs."""

    def __init__(self) -> None:
        self.scheduled: list[float] = []
        self.etas: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.scheduled.append(seconds)
        self.etas.append(time.monotonic() + seconds)

    def run_due(self, syncer: DebouncedSync) -> None:
        now = time.monotonic()
        due = [eta for eta in self.etas if eta <= now]
        self.etas = [eta for eta in self.etas if eta > now]
        for _ in due:
            syncer.run_due()


def test_a_burst_schedules_one_job_which_reschedules_itself_until_the_writes_stop() -> None:
    calls: list[int] = []
    queue = FakeQueue()
    syncer = DebouncedSync(lambda: calls.append(1), delay=0.3)
    syncer.attach(queue, local=True)
    for _ in range(5):
        syncer.touch()
    assert len(queue.scheduled) == 1 and 0.25 < queue.scheduled[0] <= 0.31  # one job for the whole burst
    time.sleep(0.1)
    syncer.touch()  # a later write pushes the due time back
    time.sleep(0.2)
    syncer.run_due()  # the job comes at its first due time (0.3 s): too early now (0.4 s)
    assert calls == [] and len(queue.scheduled) == 2 and 0.05 < queue.scheduled[1] <= 0.11
    assert syncer.pending
    time.sleep(0.15)
    syncer.run_due()
    assert calls == [1] and not syncer.pending and syncer.runs == 1
    syncer.run_due()  # a duplicate job (a flush ran it already, or a lost one rescheduled) does nothing
    assert calls == [1]


def test_steady_writes_are_dispatched_within_max_wait() -> None:
    calls: list[float] = []
    queue = FakeQueue()
    syncer = DebouncedSync(lambda: calls.append(time.monotonic()), delay=0.1, max_wait=0.3)
    syncer.attach(queue, local=True)
    start = time.monotonic()
    while time.monotonic() < start + 0.5:  # a write every 20 ms never leaves a 100 ms quiet gap
        syncer.touch()
        queue.run_due(syncer)
        time.sleep(0.02)
    assert calls and calls[0] - start <= 0.36  # bounded by max_wait, not pushed back for ever


def test_a_failure_is_reported_retried_with_backoff_and_run_by_close() -> None:
    attempts: list[int] = []

    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("warehouse busy")

    queue = FakeQueue()
    syncer = DebouncedSync(flaky, delay=0.0)
    syncer.attach(queue, local=True)
    syncer.touch()
    assert queue.scheduled == [0.0]
    syncer.run_due()
    assert syncer.last_error == "RuntimeError: warehouse busy" and syncer.pending
    assert queue.scheduled[1] == 2.0  # the retry, backing off
    syncer.close(timeout=10)  # close flushes: the retry runs now
    assert len(attempts) == 2 and syncer.last_error is None and syncer.runs == 1 and not syncer.pending
    syncer.touch()
    assert len(queue.scheduled) == 2  # closed: nothing scheduled any more


def test_flush_without_a_queue_syncs_in_the_caller_and_waits_for_a_run_under_way() -> None:
    calls: list[int] = []
    syncer = DebouncedSync(lambda: calls.append(1), delay=10)
    syncer.touch()
    assert syncer.flush() and calls == [1] and not syncer.pending
    syncer.lock.acquire()  # a dispatch under way elsewhere in the process
    threading.Timer(0.2, syncer.lock.release).start()
    started = time.monotonic()
    assert syncer.flush(timeout=5) and time.monotonic() - started >= 0.15 and calls == [1]


def test_a_remote_debouncer_queues_one_dispatch_per_window() -> None:
    calls: list[int] = []
    queue = FakeQueue()
    syncer = DebouncedSync(lambda: calls.append(1), delay=0.2)
    syncer.attach(queue, local=False)
    for _ in range(10):
        syncer.touch()
    assert queue.scheduled == [0.2] and syncer.pending
    time.sleep(0.25)
    syncer.touch()  # the window passed: its job is out of our hands, a new window begins
    assert queue.scheduled == [0.2, 0.2]
    assert syncer.flush() and queue.scheduled == [0.2, 0.2, 0.0] and calls == []  # flush queues it now
    assert not syncer.pending


def test_the_timer_is_the_job_queue(tmp_path: Path) -> None:
    """A real consumer: a burst of signals makes one dispatch, through `sync_due` jobs on the queue, and no
    thread named after the sync exists."""
    ws = momenti.Workspace(get_settings(data_dir=tmp_path / "data", sync_debounce_s=0.5), bulk=False)
    runs: list[float] = []
    runner = JobRunner(ws)
    runner.sync._run = lambda: runs.append(time.monotonic())  # count the dispatches, not their work
    runner.start(workers=1)
    try:
        for _ in range(20):
            runner.signal()
            time.sleep(0.01)
        last = time.monotonic()
        deadline = last + 15
        while not runs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(runs) == 1 and runs[0] - last >= 0.45
        assert not any("sync" in t.name for t in threading.enumerate())
        runner.enqueue_dispatch()  # a dispatch job queued by another process: this debouncer runs it
        deadline = time.monotonic() + 15
        while len(runs) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(runs) == 2
    finally:
        runner.stop()
        ws.close()
