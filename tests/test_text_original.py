"""The original-text policy (MOMENTI_TEXT_KEEP_ORIGINAL): by default analysis replaces the original text of
comments and feedback with the masked text in the store and in the warehouse; with the setting on, the original
is kept Fernet-encrypted in the store and only `comments(original=True)` decrypts it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select

import momenti
from conftest import BANK, make_workspace
from momenti.core.errors import InputError
from momenti.domains.surveys.links import secret_key
from momenti.insights.text import facts as text_facts
from momenti.pipelines.text import analysis as text_store
from momenti.store.models import Answer, Feedback, Question, TextResult

EMAIL, PHONE, IBAN = "mario.rossi@example.com", "347 1234567", "IT60X0542811101000000123456"
PII = (EMAIL, PHONE, IBAN)
FEEDBACK_TEXT = f"La carta è bloccata da tre giorni. Scrivetemi a {EMAIL} o al {PHONE}, IBAN {IBAN}."
COMMENT_TEXT = f"Bonifico sparito: IBAN {IBAN}, chiamatemi al {PHONE} o scrivete a {EMAIL}. Pessimo servizio."
ORIGINALS = {FEEDBACK_TEXT, COMMENT_TEXT}


@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _open(tmp_path: Path, backend: str, request: pytest.FixtureRequest, **settings: object) -> momenti.Workspace:
    ws = make_workspace(tmp_path, backend, request, text_min_group=1, **settings)
    ws.apply_journey(BANK)
    return ws


def _import(ws: momenti.Workspace) -> None:
    ws.import_records("feedback", [{"feedback_id": "F1", "source": "review", "text": FEEDBACK_TEXT,
                                    "created_at": "2026-03-02T10:00:00Z", "touchpoint": "card-block",
                                    "customer_id": "C1", "language": "it"}])
    ws.import_records("responses", [{"response_id": "R1", "customer_id": "C2", "touchpoint": "card-block",
                                     "submitted_at": "2026-03-03T09:00:00Z", "nps": 2, "comment": COMMENT_TEXT}])


def _store(ws: momenti.Workspace) -> tuple[list[str], list[TextResult]]:
    """(the plain texts: feedback.text and the free-text answers' value_text, the text results)."""
    with ws.session() as s:
        texts = list(s.scalars(select(Feedback.text)))
        texts += list(s.scalars(select(Answer.value_text).join(Question, Question.id == Answer.question_id)
                                .where(Question.kind == "text")))
        results = list(s.scalars(select(TextResult).order_by(TextResult.kind)))
    return texts, results


def _warehouse(ws: momenti.Workspace) -> tuple[list[str], str]:
    """(the warehouse copies: feedback.text and answers.value_text, every text column of every table as CSV)."""
    with ws.warehouse() as wh:
        a = wh.table("answers")
        texts = wh.table("feedback").text.to_pyarrow().to_pylist()
        texts += a.filter(a.question == "comment").value_text.to_pyarrow().to_pylist()
        dump = "\n".join(wh.table(n).to_pandas().to_csv() for n in ("feedback", "answers", "text_results"))
    return texts, dump


def _assert_masked(texts: list[str]) -> None:
    assert len(texts) == 2
    for text in texts:
        assert "[EMAIL]" in text and "[PHONE]" in text and "[IBAN]" in text
        assert not any(p in text for p in PII)


def _derived_fernet(ws: momenti.Workspace) -> Fernet:
    """The documented derivation, written out: HKDF-SHA256(secret key, no salt, info) -> 32 bytes -> Fernet."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"momenti text original v1").derive(secret_key(ws.settings))
    return Fernet(base64.urlsafe_b64encode(raw))


def test_default_drops_originals_everywhere(tmp_path: Path, store_backend: str,
                                            request: pytest.FixtureRequest) -> None:
    ws = _open(tmp_path, store_backend, request)
    _import(ws)  # analysed right after each import
    texts, results = _store(ws)
    _assert_masked(texts)
    assert sorted(r.masked_text for r in results) == sorted(texts)
    assert all(r.original_enc is None for r in results)
    for r in results:  # the analysis read the original: it found the PII and the topic
        assert {"email", "phone", "iban"} <= set(json.loads(r.pii_kinds or "[]"))
    wh_texts, dump = _warehouse(ws)
    _assert_masked(wh_texts)
    assert not any(p in dump for p in PII)
    with pytest.raises(InputError, match="MOMENTI_TEXT_KEEP_ORIGINAL"):
        ws.comments(original=True)
    shown = ws.comments()
    assert len(shown) == 2 and "text" not in shown
    ws.close()


def test_warehouse_copies_made_before_analysis_are_masked(tmp_path: Path) -> None:
    """Rows copied to the warehouse before analysis (no automatic analysis here) still hold the original; a later
    fact sync does not touch copied rows: the text sync masks them, by key."""
    ws = momenti.open(tmp_path / "data", text_auto=False)
    ws.apply_journey(BANK)
    _import(ws)
    texts, _ = _warehouse(ws)
    assert set(texts) == ORIGINALS  # the import copied the originals
    ws.sync()
    assert set(_warehouse(ws)[0]) == ORIGINALS
    assert ws.text_analyze()["total"] == 2
    _assert_masked(_store(ws)[0])
    wh_texts, dump = _warehouse(ws)
    _assert_masked(wh_texts)
    assert not any(p in dump for p in PII)
    ws.sync(rebuild=True)  # a rebuilt warehouse copies the store's (masked) text
    wh_texts, dump = _warehouse(ws)
    _assert_masked(wh_texts)
    assert not any(p in dump for p in PII)
    ws.close()


def test_keep_original_encrypts_it_and_comments_decrypt(tmp_path: Path, store_backend: str,
                                                        request: pytest.FixtureRequest) -> None:
    ws = _open(tmp_path, store_backend, request, text_keep_original=True)
    _import(ws)
    texts, results = _store(ws)
    _assert_masked(texts)  # the plain columns: masked, as by default
    wh_texts, dump = _warehouse(ws)
    _assert_masked(wh_texts)
    assert not any(p in dump for p in PII)
    fernet = _derived_fernet(ws)
    assert all(r.original_enc and not any(p in r.original_enc for p in PII) for r in results)
    assert {fernet.decrypt(r.original_enc.encode()).decode() for r in results} == ORIGINALS
    shown = ws.comments(original=True)
    assert set(shown["text"]) == ORIGINALS
    for masked, text in zip(shown["masked_text"], shown["text"], strict=True):
        assert "[IBAN]" in masked and IBAN in text
    # Turned off again: refused, and the next analysis erases the kept originals.
    off = momenti.Workspace(ws.settings.model_copy(update={"text_keep_original": False}))
    with pytest.raises(InputError):
        off.comments(original=True)
    off.text_analyze()
    assert all(r.original_enc is None for r in _store(off)[1])
    off.close()
    ws.close()


def test_another_key_cannot_decrypt(tmp_path: Path) -> None:
    ws = momenti.open(tmp_path / "data", text_keep_original=True, text_min_group=1, secret_key="k" * 32)
    ws.apply_journey(BANK)
    _import(ws)
    assert set(ws.comments(original=True)["text"]) == ORIGINALS
    other = momenti.open(tmp_path / "data", text_keep_original=True, text_min_group=1, secret_key="z" * 32)
    with pytest.raises(InputError, match="cannot be decrypted"):
        other.comments(original=True)
    other.close()
    ws.close()


@pytest.mark.parametrize("keep", [False, True], ids=["dropped", "kept"])
def test_reanalysis_after_a_version_change(tmp_path: Path, store_backend: str, request: pytest.FixtureRequest,
                                           keep: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A taxonomy change makes every item be analysed again: from the masked text when originals were dropped
    (the PII kinds found the first time are kept), from the decrypted original when they were kept."""
    ws = _open(tmp_path, store_backend, request, text_keep_original=keep)
    _import(ws)
    seen: list[str] = []
    analyze = text_store.Analyzer.analyze

    def spy(self: text_store.Analyzer, texts: list[str], langs: list[str | None]):  # noqa: ANN202
        seen.extend(texts)
        return analyze(self, texts, langs)

    monkeypatch.setattr(text_store.Analyzer, "analyze", spy)
    ws.promote_topic("furto", "Bonifico sparito", "Missing transfer", "sparire,sparito")
    report = ws.text_analyze()
    assert report["replaced"] == 2 and report["analysed"] == {"answer": 1, "feedback": 1}
    if keep:
        assert set(seen) == ORIGINALS
    else:
        _assert_masked(seen)
    texts, results = _store(ws)
    _assert_masked(texts)
    for r in results:
        assert {"email", "phone", "iban"} <= set(json.loads(r.pii_kinds or "[]"))
    answer = next(r for r in results if r.kind == "answer")
    assert "furto" in json.loads(answer.topics)  # the new taxonomy is in use
    if keep:
        assert {_derived_fernet(ws).decrypt(r.original_enc.encode()).decode() for r in results} == ORIGINALS
        assert set(ws.comments(original=True)["text"]) == ORIGINALS
    else:
        assert all(r.original_enc is None for r in results)
    wh_texts, dump = _warehouse(ws)
    _assert_masked(wh_texts)
    assert not any(p in dump for p in PII)
    assert "furto" in ws.topics()["topic"].tolist()
    ws.close()


def test_postgres_warehouse_copies_are_masked(tmp_path: Path, pg_warehouse_url: str) -> None:
    ws = momenti.open(tmp_path / "data", warehouse_url=pg_warehouse_url, text_auto=False)
    ws.sync(rebuild=True)  # the warehouse database may hold an earlier test's tables
    ws.apply_journey(BANK)
    _import(ws)
    assert set(_warehouse(ws)[0]) == ORIGINALS
    assert ws.text_analyze()["total"] == 2
    wh_texts, dump = _warehouse(ws)
    _assert_masked(wh_texts)
    assert not any(p in dump for p in PII)
    ws.close()


def test_literal_updates_for_other_warehouse_backends() -> None:
    """The fallback for a warehouse that is neither DuckDB nor PostgreSQL: plain SQL, quotes doubled."""
    con = duckdb.connect()
    con.execute("CREATE TABLE feedback (id BIGINT, text VARCHAR)")
    con.execute("CREATE TABLE answers (response_id BIGINT, question VARCHAR, value_text VARCHAR)")
    con.execute(f"INSERT INTO feedback VALUES (1, '{EMAIL}'), (2, 'other')")
    con.execute(f"INSERT INTO answers VALUES (1, 'comment', '{EMAIL}'), (1, 'o''k', 'x'), (2, 'comment', 'y')")
    rows = pa.table({"kind": ["feedback", "answer", "answer"], "item_id": [1, 1, 1],
                     "question": [None, "comment", "o'k"],
                     "masked_text": ["l'[EMAIL]", "[EMAIL] d'accordo", "ok"]}).to_pylist()
    for r in rows:
        con.execute(text_facts._literal_update(r))
    assert con.execute("SELECT * FROM feedback ORDER BY id").fetchall() == [(1, "l'[EMAIL]"), (2, "other")]
    assert con.execute("SELECT * FROM answers ORDER BY response_id, question").fetchall() == [
        (1, "comment", "[EMAIL] d'accordo"), (1, "o'k", "ok"), (2, "comment", "y")]
