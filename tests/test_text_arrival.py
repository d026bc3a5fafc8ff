"""Every comment is masked and analysed on arrival, whatever the channel: a comment written to the server (the
REST API here; the widget in test_survey_reach.py, the survey pages in test_survey_browser.py) carrying an e-mail
address, a phone number and an IBAN leaves no plain copy in any column of the store or the warehouse within
seconds, and shows in `ws.comments()` with its masked text, sentiment and topics. The server's debounced
background sync does it (`Workspace.sync_written`), as an import does it for imported files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import momenti
from browser_helpers import served
from conftest import BANK, make_workspace
from momenti.domains.tokens import create_token
from pii_helpers import EMAIL, IBAN, PHONE, check_analysed, pii_comment, plain_copies, wait_idle, wait_masked

RESPONSE_TAIL = "Bonifico sparito da una settimana, pessimo servizio."
FEEDBACK_TAIL = "La carta è bloccata e in filiale nessuno risponde."


@pytest.fixture
def served_ws(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[tuple[momenti.Workspace, str, str]]:
    """(a workspace, the base URL of `momenti serve` on it in its own process, an API token). Parameters:
    (store backend, keep originals)."""
    backend, keep = request.param
    settings: dict[str, object] = {"text_min_group": 1, "text_keep_original": keep}
    if backend == "postgres":
        settings["warehouse_url"] = request.getfixturevalue("pg_warehouse_url")
    ws = make_workspace(tmp_path, backend, request, **settings)
    ws.apply_journey(BANK)
    # A workspace that already has comments (as a running one does): the server loads its text engines at start.
    ws.import_records("feedback", [{"feedback_id": "F-old", "source": "review", "text": "App comoda, bravi.",
                                    "created_at": "2026-03-01T10:00:00Z", "touchpoint": "card-block"}])
    with ws.session() as s, s.begin():
        _, token = create_token(s, "arrival")
    for key, value in (("DATABASE_URL", None if backend == "sqlite" else ws.settings.store_url),
                       ("WAREHOUSE_URL", settings.get("warehouse_url")), ("TEXT_KEEP_ORIGINAL", str(keep))):
        if value is not None:
            monkeypatch.setenv(f"MOMENTI_{key}", str(value))
    with served(ws.settings.data_dir, tmp_path / "serve.log") as base:
        wait_idle(base)
        yield ws, base, token
    ws.close()


@pytest.mark.parametrize("served_ws", [
    pytest.param(("sqlite", False), id="sqlite"),
    pytest.param(("sqlite", True), id="sqlite-keep-original"),
    pytest.param(("postgres", False), id="postgres", marks=pytest.mark.postgres),
], indirect=True)
def test_rest_writes_are_masked_and_analysed_within_seconds(served_ws: tuple[momenti.Workspace, str, str]) -> None:
    ws, base, token = served_ws
    auth = {"Authorization": f"Bearer {token}"}
    response = {"response_id": "R-pii", "customer_id": "C1", "touchpoint": "card-block", "language": "it",
                "submitted_at": "2026-03-03T09:00:00Z", "answers": {"nps": 2, "comment": pii_comment(RESPONSE_TAIL)}}
    feedback = {"feedback_id": "F-pii", "source": "review", "text": pii_comment(FEEDBACK_TAIL), "language": "it",
                "created_at": "2026-03-02T10:00:00Z", "touchpoint": "card-block", "customer_id": "C2"}
    assert httpx.post(f"{base}/api/v1/responses", json=response, headers=auth).status_code == 201
    assert httpx.post(f"{base}/api/v1/feedback", json=feedback, headers=auth).status_code == 201
    tails = [RESPONSE_TAIL, FEEDBACK_TAIL]
    seconds, left, mine = wait_masked(ws, tails)
    assert left == [], f"plain copies after {seconds:.1f} s: {left}"
    check_analysed(mine, tails)
    print(f"masked and analysed {seconds:.2f} s after the write")  # noqa: T201 - the figure in -s output
    if ws.settings.text_keep_original:  # the original is kept, encrypted, and only comments(original=True) shows it
        originals = ws.comments(limit=100, original=True)
        assert {pii_comment(RESPONSE_TAIL), pii_comment(FEEDBACK_TAIL)} <= set(originals["text"])
        with ws.engine.connect() as conn:
            kept = conn.exec_driver_sql("SELECT count(*) FROM text_results WHERE original_enc IS NOT NULL").scalar()
        assert kept == 2  # the two comments with PII (the older one had nothing to mask: nothing to keep)


def _write_unsynced(ws: momenti.Workspace, rid: str) -> None:
    """A response with a PII comment in the store only, as the server's writer leaves it (the sync is its own)."""
    ws.import_records("responses", [{"response_id": rid, "customer_id": "C1", "touchpoint": "card-block",
                                     "submitted_at": "2026-03-03T09:00:00Z", "nps": 3,
                                     "comment": pii_comment(RESPONSE_TAIL)}], sync=False)


def test_sync_written_retries_an_analysis_that_failed(workspace: momenti.Workspace,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed analysis fails the background run (the syncer logs it and retries), and the retry analyses the
    comment even though that sync brings nothing new."""
    ws = momenti.open(workspace.settings.data_dir, text_min_group=1)
    ws.sync_written()  # the first run catches up (nothing to analyse yet)
    _write_unsynced(ws, "R1")
    real = ws.text_analyze
    calls: list[int] = []

    def failing_once(*args: object, **kwargs: object) -> dict:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("analysis broke")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ws, "text_analyze", failing_once)
    with pytest.raises(RuntimeError, match="analysis broke"):
        ws.sync_written()
    assert plain_copies(ws, [EMAIL]) != []  # still plain: the next run must not skip it
    report = ws.sync_written()
    assert report.added["responses"] == 0 and len(calls) == 2
    assert plain_copies(ws) == []
    ws.sync_written()  # nothing arrived, nothing failed: no analysis
    assert len(calls) == 2
    ws.close()


def test_text_auto_off_leaves_arrivals_for_text_analyze(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, "sqlite", text_auto=False, text_min_group=1)
    ws.apply_journey(BANK)
    _write_unsynced(ws, "R1")
    ws.sync_written()
    assert any("answers.value_text" in where for where in plain_copies(ws, [IBAN, PHONE]))
    ws.text_analyze()
    assert plain_copies(ws) == []
    ws.close()


def test_text_engines_are_loaded_ahead_only_where_comments_are_expected(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The server loads its text engines once, in the background, in a workspace that has comments; one that
    takes only scores (an ingest benchmark) never pays for it."""
    from momenti.pipelines.text import analysis as text_store

    calls: list[str] = []
    monkeypatch.setattr(text_store, "warm_up", lambda analyzer: calls.append(analyzer.version))
    ws = make_workspace(tmp_path, "sqlite")
    ws.apply_journey(BANK)
    ws.import_records("responses", [{"response_id": "R0", "customer_id": "C1", "touchpoint": "card-block",
                                     "submitted_at": "2026-03-03T09:00:00Z", "nps": 9}], sync=False)
    ws.sync_written()
    ws.sync_written()
    assert calls == []
    _write_unsynced(ws, "R1")
    ws.sync_written()
    ws.sync_written()
    assert len(calls) == 1
    ws.close()
