"""The loyalty bank (analysis/lifecycle.py): loyalty by the positive moments lived before, by hand and on
the demo, through the Python API, the CLI and the REST API."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.cli.main import app as cli
from momenti.core.errors import InputError
from momenti.server.app import create_app


def _load(ws: momenti.Workspace) -> None:
    def r(rid: str, cust: str, tp: str, day: str, **answers: object) -> dict:
        return {"response_id": rid, "customer_id": cust, "touchpoint": tp, "submitted_at": f"{day}T10:00:00Z",
                **answers}

    ws.import_records("responses", [
        r("t1", "C1", "app-login", "2025-01-01", csat=5),  # positive
        r("t2", "C1", "app-login", "2025-02-01", csat=2),  # not
        r("t3", "C1", "app-login", "2025-03-01", ces=6),  # positive: no CSAT, CES top box
        r("t4", "C3", "branch-visit", "2025-01-10", nps=10, csat=3),  # CSAT decides: not positive
        r("l1", "C1", "relationship-survey", "2025-02-15", nps=9),  # 1 positive before
        r("l2", "C1", "relationship-survey", "2025-04-01", nps=10),  # 2 before
        r("l3", "C2", "relationship-survey", "2025-05-01", nps=3),  # none
        r("l4", "C3", "relationship-survey", "2025-06-01", nps=6),  # none positive
    ])


def test_worked_example(ws_any: momenti.Workspace) -> None:
    _load(ws_any)
    df = ws_any.loyalty_bank()
    assert df["positive_moments"].tolist() == ["0", "1", "2"]
    assert df["n"].tolist() == [2, 1, 1]
    assert df["nps"].tolist() == pytest.approx([-100.0, 100.0, 100.0])
    assert df["mean_score"].tolist() == pytest.approx([4.5, 9.0, 10.0])
    x, y = np.array([1, 2, 0, 0]), np.array([9, 10, 3, 6])
    ref = stats.linregress(x, y)
    trend = df.attrs["trend"]
    assert trend["n"] == 4
    assert trend["slope"] == pytest.approx(ref.slope)
    assert trend["p_value"] == pytest.approx(ref.pvalue)
    assert trend["r"] == pytest.approx(ref.rvalue)
    half = stats.t.ppf(0.975, 2) * ref.stderr
    assert (trend["ci_low"], trend["ci_high"]) == pytest.approx((ref.slope - half, ref.slope + half))
    # Coarser buckets and a period.
    two = ws_any.loyalty_bank(buckets=[0, 2], start="2025-03-01")
    assert two["positive_moments"].tolist() == ["0-1", "2+"] and two["n"].tolist() == [2, 1]
    pd.testing.assert_frame_equal(ws_any.loyalty_bank(buckets="0, 2", start="2025-03-01"), two)  # as CLI/REST


def test_bad_buckets_are_refused(workspace: momenti.Workspace) -> None:
    with pytest.raises(InputError, match="buckets"):
        workspace.loyalty_bank(buckets=[1, 2])
    with pytest.raises(InputError, match="buckets '0,a': give whole numbers"):
        workspace.loyalty_bank(buckets="0,a")
    with pytest.raises(InputError, match="unknown outcome"):
        workspace.loyalty_bank(outcome="loyalty")


def test_cli_and_rest(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(workspace)
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    out = CliRunner().invoke(cli, ["loyalty-bank", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert [r["n"] for r in doc["rows"]] == [2, 1, 1] and doc["trend"]["n"] == 4
    table = CliRunner().invoke(cli, ["loyalty-bank"])
    assert "per extra positive moment" in table.stdout
    with AuthedClient(create_app(workspace.settings)) as client:
        got = client.get("/api/v1/analysis/loyalty-bank", params={"buckets": "0,2"})
        assert got.status_code == 200
        assert [r["positive_moments"] for r in got.json()["rows"]] == ["0-1", "2+"]
        assert client.get("/api/v1/analysis/loyalty-bank", params={"buckets": "a"}).status_code in (400, 422)


def test_demo_loyalty_grows_with_positive_moments(demo_ws: momenti.Workspace) -> None:
    df = demo_ws.loyalty_bank()
    trend = df.attrs["trend"]
    assert trend["slope"] > 0 and trend["ci_low"] > 0 and trend["p_value"] < 0.001
    none, some = df.iloc[0], df[df["positive_moments"] == "3-4"].iloc[0]
    assert none["ci_high"] < some["ci_low"]  # three or four good moments: clearly more loyal than none
