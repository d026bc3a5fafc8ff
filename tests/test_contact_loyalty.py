"""Loyalty by contact experience (analysis/contact_loyalty.py): NPS by repeated contacts and by channel
switches lived before answering, worked by hand, on every engine, through the CLI and REST."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.cli.main import app as cli
from momenti.core.errors import InputError
from momenti.server.app import create_app

BANK = Path(momenti.__file__).parent / "domains/journey_map/templates/bank.yaml"


def _load(ws: momenti.Workspace) -> None:
    def ev(eid: str, cust: str, case: str, day: str, channel: str) -> dict:
        return {"event_id": eid, "customer_id": cust, "case_id": case, "timestamp": f"{day}T09:00:00Z",
                "activity": "chiamata", "channel": channel, "reason": "carta bloccata"}

    ws.import_records("events", [
        ev("e1", "A", "k1", "2025-01-01", "phone"),  # repeated two days later, in another channel
        ev("e2", "A", "k2", "2025-01-03", "app"),
        ev("e3", "B", "k3", "2025-01-05", "phone"),  # one contact, never repeated
    ])
    rows = [("r0", "A", "2024-12-15", 8),  # before any contact: nothing lived yet
            ("r1", "A", "2025-02-01", 3), ("r2", "B", "2025-02-01", 10), ("r3", "C", "2025-02-01", 9)]
    ws.import_records("responses", [{"response_id": r, "customer_id": c, "touchpoint": "relationship-survey",
                                     "submitted_at": f"{d}T12:00:00Z", "nps": s} for r, c, d, s in rows])


def test_worked_example(ws_any: momenti.Workspace) -> None:
    _load(ws_any)
    for by in ("repeats", "switches"):
        df = ws_any.contact_loyalty(by=by, touchpoint="relationship-survey")
        assert df[by].tolist() == ["0", "1"]
        assert df["n"].tolist() == [3, 1]  # r0, r2, r3 | r1
        assert df["promoters"].tolist() == [2, 0] and df["detractors"].tolist() == [0, 1]
        assert df["nps"].tolist() == pytest.approx([200 / 3, -100.0])
        assert df["mean_contacts"].tolist() == pytest.approx([1 / 3, 2.0])
    # A window too short to see January's contacts from February: everyone in bucket 0.
    short = ws_any.contact_loyalty(by="repeats", window="10d")
    assert short["repeats"].tolist() == ["0"] and short["n"].tolist() == [4]
    # Through journey_loyalty, as the CLI and REST call it.
    pd.testing.assert_frame_equal(ws_any.journey_loyalty(by="repeats", within="365d"),
                                  ws_any.contact_loyalty(by="repeats"))


def test_bad_input(workspace: momenti.Workspace) -> None:
    with pytest.raises(InputError, match="repeats or switches"):
        workspace.contact_loyalty(by="agents")
    with pytest.raises(InputError, match="question"):
        workspace.contact_loyalty(question="loyalty")


def test_cli_and_rest(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(workspace)
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    out = CliRunner().invoke(cli, ["journeys", "loyalty", "--by", "switches", "--within", "365d", "--format",
                                   "json"])
    assert out.exit_code == 0, out.output
    assert [r["n"] for r in json.loads(out.stdout)["rows"]] == [3, 1]
    with AuthedClient(create_app(workspace.settings)) as client:
        got = client.get("/api/v1/journeys/loyalty", params={"by": "repeats", "within": "365d"})
        assert got.status_code == 200, got.text
        assert [r["repeats"] for r in got.json()["rows"]] == ["0", "1"]


@pytest.mark.postgres
def test_same_on_a_postgres_warehouse(tmp_path: Path, pg_warehouse_url: str) -> None:
    duck = momenti.open(tmp_path / "d")
    duck.apply_journey(BANK)
    _load(duck)
    pg = momenti.Workspace(momenti.core.config.get_settings(data_dir=tmp_path / "d", warehouse_url=pg_warehouse_url))
    pg.sync(rebuild=True)
    for by in ("repeats", "switches"):
        pd.testing.assert_frame_equal(duck.contact_loyalty(by=by), pg.contact_loyalty(by=by), check_dtype=False)
