"""Derived segments (metrics/segments.py): first-time vs repeat and tenure bands, read at each answer's time
from the customer's first_seen (imported, else the first response or event seen), on every engine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import momenti

BANK = Path(momenti.__file__).parent / "domains/journey_map/templates/bank.yaml"


def _load(ws: momenti.Workspace) -> None:
    ws.import_records("customers", [{"customer_id": "C1", "first_seen": "2025-01-01"},
                                    {"customer_id": "C4", "first_seen": "2010-01-01", "region": "Molise"}])
    # C2 was never imported as a customer: an interaction tells when it arrived.
    ws.import_records("events", [{"event_id": "e1", "customer_id": "C2", "timestamp": "2024-06-01T09:00:00Z",
                                  "activity": "apertura conto"}])
    rows = [("r1", "C1", "2025-06-01", 10), ("r2", "C1", "2026-03-01", 3), ("r3", "C2", "2025-01-01", 9),
            ("r4", "C2", "2025-07-01", 2), ("r5", "C4", "2025-05-01", 8)]
    ws.import_records("responses", [{"response_id": r, "customer_id": c, "touchpoint": "branch-visit",
                                     "submitted_at": f"{d}T12:00:00Z", "nps": s} for r, c, d, s in rows])


def test_lifecycle_and_tenure_worked_example(ws_any: momenti.Workspace) -> None:
    _load(ws_any)
    life = ws_any.nps(by="segment:lifecycle")
    assert life["segment_lifecycle"].tolist() == ["first-time", "repeat"]
    # first-time: r1 (151 days after first_seen), r3 (214 days after C2's first event); repeat: r2, r4, r5.
    assert life["n"].tolist() == [2, 3]
    assert life["nps"].tolist() == pytest.approx([100.0, -200 / 3])
    tenure = ws_any.nps(by="segment:tenure")
    assert dict(zip(tenure["segment_tenure"], tenure["n"], strict=True)) == {"<1y": 2, "1-3y": 2, "10y+": 1}
    assert tenure["segment_tenure"].tolist() == ["<1y", "1-3y", "10y+"]  # in band order, not alphabetical
    # Derived and imported segments together, and as a filter.
    both = ws_any.nps(by=["segment:lifecycle", "segment:region"], filters={"segment:lifecycle": ["repeat"]})
    assert set(map(tuple, both[["segment_region", "n"]].fillna("–").values.tolist())) == {("Molise", 1), ("–", 2)}


def test_customer_without_any_history_is_unknown_only_without_responses(workspace: momenti.Workspace) -> None:
    # A response is itself history: a customer first seen at its own first answer is first-time then.
    workspace.import_records("responses", [{"response_id": "x1", "customer_id": "NEW", "touchpoint": "app-login",
                                            "submitted_at": "2026-01-05T10:00:00Z", "csat": 5}])
    assert workspace.csat(by="segment:lifecycle")["segment_lifecycle"].tolist() == ["first-time"]


@pytest.mark.postgres
def test_same_segments_on_a_postgres_warehouse(tmp_path: Path, pg_warehouse_url: str) -> None:
    duck = momenti.open(tmp_path / "d")
    duck.apply_journey(BANK)
    _load(duck)
    pg = momenti.Workspace(momenti.core.config.get_settings(data_dir=tmp_path / "d", warehouse_url=pg_warehouse_url))
    pg.sync(rebuild=True)
    for by in ("segment:lifecycle", "segment:tenure", ["segment:lifecycle", "touchpoint"]):
        pd.testing.assert_frame_equal(duck.nps(by=by), pg.nps(by=by), check_dtype=False)
    pd.testing.assert_frame_equal(duck.compare("nps", by="segment:lifecycle", period="year"),
                                  pg.compare("nps", by="segment:lifecycle", period="year"), check_dtype=False)


def test_derived_segments_reach_the_driver_analyses(workspace: momenti.Workspace) -> None:
    """The drivers share the metrics' dimension joins: segment:lifecycle is derived there too, not read as a
    (missing) customer attribute."""
    _load(workspace)
    workspace.import_records("responses", [
        {"response_id": f"d{i}", "customer_id": "C1", "touchpoint": "relationship-survey",
         "submitted_at": f"2025-{1 + i % 12:02d}-10T12:00:00Z", "nps": i % 11, "rating_app": 1 + i % 10}
        for i in range(24)])
    df = workspace.drivers(outcome="nps", drivers=["rating_app"], by="segment:lifecycle", bootstrap=10)
    assert set(df["segment_lifecycle"]) == {"first-time"}  # C1 arrived on 2025-01-01: all in its first year
