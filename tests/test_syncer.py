"""The debounced warehouse sync of the server (server/syncer.py): one run after a burst of writes, bounded
under steady writes, failures reported and retried, and a flush without its thread."""

from __future__ import annotations

import time

from momenti.server.syncer import DebouncedSync


def test_debounced_sync_runs_once_after_a_burst() -> None:
    calls: list[float] = []
    syncer = DebouncedSync(lambda: calls.append(time.monotonic()), delay=0.5)
    syncer.start()
    try:
        for _ in range(5):
            syncer.touch()
            last = time.monotonic()
            time.sleep(0.02)
        assert calls == []  # still inside the debounce window
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) == 1 and calls[0] - last >= 0.5  # counted from the last write, not the first
        time.sleep(0.6)
        assert len(calls) == 1 and not syncer.pending
        syncer.touch()
        assert syncer.flush(timeout=5) and len(calls) == 2  # flush does not wait for the delay
    finally:
        syncer.close()


def test_debounced_sync_is_bounded_under_steady_writes() -> None:
    calls: list[float] = []
    syncer = DebouncedSync(lambda: calls.append(time.monotonic()), delay=0.1, max_wait=0.3)
    syncer.start()
    try:
        end = time.monotonic() + 0.8
        while time.monotonic() < end:  # a write every 50 ms never leaves a 100 ms quiet gap
            syncer.touch()
            time.sleep(0.05)
        assert len(calls) >= 2
    finally:
        syncer.close()


def test_debounced_sync_failure_is_reported_and_retried() -> None:
    attempts: list[int] = []

    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("warehouse busy")

    syncer = DebouncedSync(flaky, delay=0.0)
    syncer.start()
    try:
        syncer.touch()
        assert syncer.flush(timeout=5) is False
        assert syncer.last_error == "RuntimeError: warehouse busy" and syncer.pending  # a retry is scheduled
    finally:
        syncer.close(timeout=10)  # close flushes: the retry runs now
    assert len(attempts) == 2 and syncer.last_error is None and syncer.runs == 1


def test_flush_without_a_thread_syncs_in_the_caller() -> None:
    calls: list[int] = []
    syncer = DebouncedSync(lambda: calls.append(1), delay=10)
    syncer.touch()
    assert syncer.flush() and calls == [1] and not syncer.pending
