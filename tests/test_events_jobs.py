"""The outbox, the event dispatcher and the background jobs: an event exists exactly when its data does, each
subscriber gets each event once even when the dispatcher runs twice, a failing job is retried, dead-lettered
and requeued by `momenti jobs retry`, and a comment committed by a server killed with -9 before its dispatch is
analysed (once) after a restart."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

import momenti
from browser_helpers import free_port, served
from conftest import BANK, make_workspace
from momenti.core.config import get_settings
from momenti.domains.surveys.sessions import write_response
from momenti.domains.tokens import create_token
from momenti.ingest.write import StoreWriter
from momenti.pipelines import events
from momenti.pipelines.jobs import JobRunner
from momenti.store.raw import DbapiConnection
from pii_helpers import check_analysed, pii_comment, wait_idle, wait_masked

TAIL = "Bonifico sparito da una settimana, pessimo servizio."


def _outbox(ws: momenti.Workspace) -> list[tuple[str, dict]]:
    with ws.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, payload FROM outbox ORDER BY id")).all()
    return [(r[0], r[1] if isinstance(r[1], dict) else json.loads(r[1])) for r in rows]


def _responses(ws: momenti.Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM responses")).scalar() or 0)


def test_the_event_is_written_in_the_data_transaction(ws_any: momenti.Workspace) -> None:
    ws = ws_any
    before = _outbox(ws)
    now = dt.datetime(2026, 3, 3, 9)
    with pytest.raises(RuntimeError, match="rolled back"):
        with StoreWriter(DbapiConnection(ws.engine)) as writer, writer.locked("responses"):
            assert write_response(writer, "R-rollback", "C1", "s", "card-block", "web", "it", False, [], now)
            raise RuntimeError("rolled back")
    assert _outbox(ws) == before and _responses(ws) == 0  # neither the row nor its event
    with StoreWriter(DbapiConnection(ws.engine)) as writer, writer.locked("responses"):
        assert write_response(writer, "R-kept", "C1", "s", "card-block", "web", "it", False, [], now)
    kinds = _outbox(ws)[len(before):]
    assert [k for k, _ in kinds] == ["response.committed"] and _responses(ws) == 1
    assert kinds[0][1] == {"table": "responses", "first_id": 1, "last_id": 1}  # ids only, no text
    # A bulk import: one event per chunk, carrying the import and the id range.
    ws.import_records("feedback", [{"feedback_id": f"F{i}", "source": "review", "text": "ok",
                                    "created_at": "2026-03-01T10:00:00Z", "touchpoint": "card-block"}
                                   for i in range(3)], sync=False)
    last = _outbox(ws)[-1]
    assert last[0] == "feedback.received" and set(last[1]) == {"table", "import_id", "first_id", "last_id"}
    assert last[1]["last_id"] - last[1]["first_id"] == 2


def test_each_event_is_delivered_once_per_subscriber(ws_any: momenti.Workspace) -> None:
    ws = ws_any
    seen: dict[str, list[int]] = {"a": [], "b": []}
    events.subscriber("test-a", {"response.committed"})(lambda _ctx, evs: seen["a"].extend(e.id for e in evs))
    events.subscriber("test-b", {"response.committed", "feedback.received"})(
        lambda _ctx, evs: seen["b"].extend(e.id for e in evs))
    try:
        for rid in ("R1", "R2"):
            ws.import_records("responses", [{"response_id": rid, "customer_id": "C1", "touchpoint": "card-block",
                                             "submitted_at": "2026-03-03T09:00:00Z", "nps": 9}], sync=False)
        ws.import_records("feedback", [{"feedback_id": "F1", "source": "review", "text": "ok",
                                        "created_at": "2026-03-01T10:00:00Z", "touchpoint": "card-block"}],
                          sync=False)
        events.dispatch(ws, names=["test-a", "test-b"])
        events.dispatch(ws, names=["test-a", "test-b"])  # the second run finds nothing new
        assert len(seen["a"]) == 2 and len(set(seen["a"])) == 2
        assert len(seen["b"]) == 3 and len(set(seen["b"])) == 3
        assert events.backlog(ws.engine)["test-a"] == 0
    finally:
        events.unsubscribe("test-a")
        events.unsubscribe("test-b")


def test_a_backlog_longer_than_a_batch_is_delivered_once_and_a_late_event_next_run(
        workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "BATCH", 2)  # five events: batches of 2, 2 and 1, each starting past the last
    seen: list[list[int]] = []
    events.subscriber("test-batches", {"response.committed"})(lambda _ctx, evs: seen.append([e.id for e in evs]))
    try:
        for i in range(5):
            workspace.import_records("responses", [{"response_id": f"R{i}", "customer_id": "C1",
                                                    "touchpoint": "card-block", "nps": 9,
                                                    "submitted_at": "2026-03-03T09:00:00Z"}], sync=False)
        events.dispatch(workspace, names=["test-batches"])
        ids = [i for batch in seen for i in batch]
        assert [len(b) for b in seen] == [2, 2, 1] and ids == sorted(set(ids))
        # An event whose transaction committed after later ids were delivered (PostgreSQL hands ids out before
        # commit): the run that skipped past it leaves it undelivered, and the next run's first batch finds it.
        with workspace.engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox_delivered WHERE subscriber = 'test-batches' AND event_id = :e"),
                         {"e": ids[1]})
        seen.clear()
        events.dispatch(workspace, names=["test-batches"])
        assert seen == [[ids[1]]]
        assert events.backlog(workspace.engine)["test-batches"] == 0
    finally:
        events.unsubscribe("test-batches")


def test_a_failing_subscriber_gets_its_events_again(workspace: momenti.Workspace) -> None:
    calls: list[int] = []

    def flaky(_ctx: object, evs: list[events.Event]) -> None:
        calls.append(len(evs))
        if len(calls) == 1:
            raise RuntimeError("subscriber broke")

    events.subscriber("test-flaky", {"response.committed"})(flaky)
    try:
        workspace.import_records("responses", [{"response_id": "R1", "customer_id": "C1", "touchpoint": "card-block",
                                                "submitted_at": "2026-03-03T09:00:00Z", "nps": 9}], sync=False)
        with pytest.raises(RuntimeError, match="subscriber broke"):
            events.dispatch(workspace, names=["test-flaky"])
        events.dispatch(workspace, names=["test-flaky"])
        events.dispatch(workspace, names=["test-flaky"])
        assert calls == [1, 1]  # delivered again after the failure, then never more
    finally:
        events.unsubscribe("test-flaky")


def _wait(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_failing_job_is_retried_dead_lettered_and_retried_by_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ws = momenti.Workspace(get_settings(data_dir=data, jobs_retries=2, jobs_retry_delay_s=0.05), bulk=False)
    runner = JobRunner(ws)
    ok = tmp_path / "ok"
    attempts: list[int] = []

    def fragile(n: int) -> int:
        attempts.append(n)
        if not ok.exists():
            raise RuntimeError("not yet")
        return n

    job = runner.task(fragile, "test_fragile")
    first = job(7)
    assert [r["job"] for r in runner.pending()] == ["test_fragile"]  # queued: it survives until a consumer runs
    runner.start(workers=1)
    try:
        _wait(lambda: first.id in runner.dead())
        assert len(attempts) == 3  # the first run and two retries
        assert runner.dead()[first.id].error == "RuntimeError: not yet"
        listed = subprocess.run([sys.executable, "-m", "momenti.cli.main", "jobs"], capture_output=True, text=True,
                                env={**os.environ, "MOMENTI_DATA_DIR": str(data)}, timeout=120)
        assert listed.returncode == 0 and first.id in listed.stdout, listed.stderr
        ok.touch()
        retried = subprocess.run([sys.executable, "-m", "momenti.cli.main", "jobs", "retry", first.id],
                                 capture_output=True, text=True, env={**os.environ, "MOMENTI_DATA_DIR": str(data)},
                                 timeout=120)
        assert retried.returncode == 0 and "queued again: 1" in retried.stdout, retried.stderr
        _wait(lambda: len(attempts) == 4)  # the CLI does not define the job; this process's consumer runs it
        _wait(lambda: not runner.pending())
        assert runner.dead() == {}
        missing = subprocess.run([sys.executable, "-m", "momenti.cli.main", "jobs", "retry", "nope"],
                                 capture_output=True, text=True, env={**os.environ, "MOMENTI_DATA_DIR": str(data)},
                                 timeout=120)
        assert missing.returncode == 2 and "no failed job" in missing.stderr
    finally:
        runner.stop()
        ws.close()


def test_a_queued_job_survives_a_restart(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "data")
    ws = momenti.Workspace(settings, bulk=False)
    done: list[str] = []
    JobRunner(ws).task(done.append, "test_note")("before")  # queued while no consumer runs
    again = JobRunner(ws)  # a new process's runner on the same queue file
    again.task(done.append, "test_note")
    again.start(workers=1)
    try:
        _wait(lambda: done == ["before"])
    finally:
        again.stop()
        ws.close()


def _text_done(ws: momenti.Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM text_results")).scalar() or 0)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_comment_committed_before_a_kill_9_is_analysed_after_the_restart(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = make_workspace(tmp_path, backend, request, text_min_group=1)
    ws.apply_journey(BANK)
    ws.import_records("feedback", [{"feedback_id": "F-old", "source": "review", "text": "App comoda, bravi.",
                                    "created_at": "2026-03-01T10:00:00Z", "touchpoint": "card-block"}])
    with ws.session() as s, s.begin():
        _, token = create_token(s, "kill")
    if backend == "postgres":
        monkeypatch.setenv("MOMENTI_DATABASE_URL", ws.settings.store_url)
    port = free_port()
    # The debounce and the catch-up job far away: nothing dispatches the new event before the kill.
    env = {**os.environ, "MOMENTI_DATA_DIR": str(ws.settings.data_dir), "MOMENTI_SYNC_DEBOUNCE_S": "3600",
           "MOMENTI_JOBS_DISPATCH_EVERY_MIN": "59", "MOMENTI_TEXT_MIN_GROUP": "1"}
    log = tmp_path / "killed.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "momenti.cli.main", "serve", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _answers(base), timeout=60)  # its start-up catch-up is debounced too: it never runs
        analysed_before = _text_done(ws)
        response = {"response_id": "R-kill", "customer_id": "C1", "touchpoint": "card-block", "language": "it",
                    "submitted_at": "2026-03-03T09:00:00Z", "answers": {"nps": 2, "comment": pii_comment(TAIL)}}
        r = httpx.post(f"{base}/api/v1/responses", json=response, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert _text_done(ws) == analysed_before  # committed, not analysed: the event waits in the outbox
    assert events.backlog(ws.engine)["text"] >= 1
    with served(ws.settings.data_dir, tmp_path / "restarted.log") as base:
        seconds, left, mine = wait_masked(ws, [TAIL], timeout=60)
        assert left == [], f"plain copies after {seconds:.1f} s: {left}"
        check_analysed(mine, [TAIL])  # analysed once: one text result
        wait_idle(base)
    assert events.backlog(ws.engine)["text"] == 0
    ws.close()


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/api/v1/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_momenti_worker_runs_the_queued_dispatch(tmp_path: Path) -> None:
    """With the jobs in their own process (MOMENTI_JOBS_EMBEDDED=false on the server), a queued dispatch job is
    run by `momenti worker`: the comment written meanwhile is analysed."""
    ws = make_workspace(tmp_path, "sqlite", text_min_group=1)
    ws.apply_journey(BANK)
    ws.import_records("responses", [{"response_id": "R-w", "customer_id": "C1", "touchpoint": "card-block",
                                     "submitted_at": "2026-03-03T09:00:00Z", "nps": 3, "comment": pii_comment(TAIL)}],
                      sync=False)
    ws.close()
    ws = momenti.Workspace(get_settings(data_dir=ws.settings.data_dir, text_min_group=1), bulk=False)
    JobRunner(ws).enqueue_dispatch()
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "momenti.cli.main", "worker", "--workers", "1"], stdout=out,
                                stderr=subprocess.STDOUT,
                                env={**os.environ, "MOMENTI_DATA_DIR": str(ws.settings.data_dir)})
    try:
        _wait(lambda: _text_done(ws) >= 1 or proc.poll() is not None, timeout=120)
        assert proc.poll() is None, log.read_text()
        _wait(lambda: events.backlog(ws.engine)["text"] == 0, timeout=60)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert _text_done(ws) == 1, log.read_text()
    ws.close()
