"""Topic labels in the comment's language (keys stay the stable Italian keys) and the airline taxonomy's
customer-service vocabulary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import momenti
from conftest import make_workspace
from momenti.engines.text.topics import Taxonomy

CONTACT_EN = ["On hold for 2 hours, no response", "Please DM me your number", "I need a call back today",
              "Nobody ever got back to me", "They hung up on me twice", "Sent a direct message, no reply"]
CONTACT_IT = ["Vi ho scritto in privato, nessuna risposta", "Mi richiamate per favore?",
              "Sono in attesa al telefono da un'ora"]


def test_airline_taxonomy_knows_customer_service_vocabulary() -> None:
    tax = Taxonomy.load("airline")
    found = tax.match(CONTACT_EN + CONTACT_IT, ["en"] * len(CONTACT_EN) + ["it"] * len(CONTACT_IT))
    assert all("assistenza" in topics for topics in found), list(zip(CONTACT_EN + CONTACT_IT, found, strict=True))


def test_labels_follow_the_language_and_keep_unknown_keys() -> None:
    tax = Taxonomy.load("airline")
    assert tax.labels(["ritardo", "assistenza"], "en") == ["Delays", "Customer service"]
    assert tax.labels(["ritardo", "assistenza"], "it") == ["Ritardi", "Servizio clienti"]
    assert tax.labels(["gone"], "en") == ["gone"]  # a topic removed after the analysis: its key


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def airline_ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[momenti.Workspace]:
    """An airline workspace with English and Italian contact complaints analysed: SQLite store and DuckDB
    warehouse, or a PostgreSQL store and a PostgreSQL warehouse."""
    extra = {"warehouse_url": request.getfixturevalue("pg_warehouse_url")} if request.param == "postgres" else {}
    ws = make_workspace(tmp_path, request.param, request, text_auto=False, text_sector="airline", **extra)
    rows = [{"feedback_id": f"E{i}", "source": "twitter", "text": t, "created_at": "2026-02-01T10:00:00Z",
             "language": "en"} for i, t in enumerate(CONTACT_EN)]
    rows += [{"feedback_id": f"I{i}", "source": "twitter", "text": t, "created_at": "2026-02-02T10:00:00Z",
              "language": "it"} for i, t in enumerate(CONTACT_IT)]
    ws.import_records("feedback", rows)
    ws.text_analyze()
    yield ws
    ws.close()


def test_comments_show_topic_labels_in_each_comment_language(airline_ws: momenti.Workspace) -> None:
    df = airline_ws.comments(topic="assistenza", limit=50)
    assert len(df) == len(CONTACT_EN) + len(CONTACT_IT)
    assert list(df.columns).index("topic_labels") == list(df.columns).index("topics") + 1
    for row in df.itertuples():
        assert "assistenza" in row.topics.split(", ")  # keys are stable
        want = "Customer service" if row.language == "en" else "Servizio clienti"
        assert want in row.topic_labels.split(", "), row


def test_topics_label_in_the_workspace_language(tmp_path: Path, airline_ws: momenti.Workspace) -> None:
    it = airline_ws.topics()
    assert it.set_index("topic").loc["assistenza", "label"] == "Servizio clienti"
    s = airline_ws.settings
    en = momenti.open(s.database_url or s.data_dir, data_dir=s.data_dir, warehouse_url=s.warehouse_url,
                      text_auto=False, text_sector="airline", text_language="en")
    try:
        assert en.topics().set_index("topic").loc["assistenza", "label"] == "Customer service"
    finally:
        en.close()
