"""Moments-of-truth analyses through the product: warehouse -> Workspace -> CLI and REST.

The demo's planted truths (docs/demo-truths.md: 1 complaint asymmetry, 6 weakest link, 7 quadrant) are
recovered from imported data; the warehouse path is checked against the estimators on an independently
pivoted matrix, on SQLite and PostgreSQL stores and on a PostgreSQL warehouse.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from conftest import demo_workspace
from momenti.engines import PenaltyReward, RelativeWeights

RATED = ["app-login", "branch-visit", "contact-centre-call", "complaint-handling"]


def relationship_matrix(ws: momenti.Workspace, questions: list[str]) -> pd.DataFrame:
    """The relationship survey pivoted by pandas from the raw answers table (independent of momenti's pivot)."""
    with ws.warehouse() as wh:
        a = wh.table("answers").to_pandas()
    a = a[a.question.isin(["nps", *questions]) & a.value_num.notna()]
    w = a.pivot_table(index="response_id", columns="question", values="value_num", aggfunc="max")
    w = w.reindex(columns=["nps", *questions])
    return w[w.nps.notna() & w[questions].notna().any(axis=1)]


# -- demo truths ---------------------------------------------------------------------------------------------


def test_drivers_frame_and_warehouse_moments_match_rows(demo_ws: momenti.Workspace) -> None:
    df = demo_ws.drivers(bootstrap=200, seed=1)
    assert set(df.driver) >= set(RATED) and len(df) == 11
    assert df.weight.sum() == pytest.approx(df.r2.iloc[0], abs=1e-12)
    assert df.rescaled_pct.sum() == pytest.approx(100.0, abs=1e-9)
    assert (df.missing == "pairwise").all() and (df.method == "relative weights").all()
    assert ((df.ci_low <= df.weight) & (df.weight <= df.ci_high)).all()
    w = relationship_matrix(demo_ws, list(df.question))
    ref = RelativeWeights(n_boot=0, missing="pairwise").fit(w[list(df.question)], w["nps"])
    np.testing.assert_allclose(df.weight, ref.weights_, atol=1e-10)
    np.testing.assert_array_equal(df.n, ref.pair_n_)
    assert df.n_respondents.iloc[0] == len(w)
    again = demo_ws.drivers(bootstrap=200, seed=1)
    pd.testing.assert_frame_equal(df, again)
    assert not np.allclose(demo_ws.drivers(bootstrap=200, seed=2).ci_low, df.ci_low)


def test_drivers_by_segment_listwise_and_shapley(demo_ws: momenti.Workspace) -> None:
    sub = demo_ws.drivers(drivers=["app-login", "branch-visit"], by="segment:segment", missing="listwise",
                          method="shapley", bootstrap=50)
    assert {"young", "mass", "private"} <= set(sub.segment_segment)
    assert (sub.method.dropna() == "shapley (exact)").all() and (sub.missing.dropna() == "listwise").all()
    ok = sub[sub.note == ""]
    for _, g in ok.groupby("segment_segment"):
        assert g.weight.sum() == pytest.approx(g.r2.iloc[0], abs=1e-12)
    assert sub.small_sample.any()  # the tiny "private" segment is flagged, not hidden
    with pytest.raises(momenti.core.errors.InputError, match="unknown driver"):
        demo_ws.drivers(drivers=["no-such-thing"])
    with pytest.raises(momenti.core.errors.InputError, match="listwise"):
        demo_ws.drivers(missing="listwise", bootstrap=0)  # nobody lives all eleven touchpoints


def test_truth_1_complaint_handling_is_a_basic_factor(demo_ws: momenti.Workspace) -> None:
    pr = demo_ws.penalty_reward().set_index("driver")
    row = pr.loc["complaint-handling"]
    assert row.impact_asymmetry <= -0.6 and row.category == "basic"
    assert row.ia_ci_high < 0 and row.penalty_ci_high < 0
    assert (row.low, row.high) == (4.0, 8.0)
    # Cells (boxes x outcome with counts) give exactly the row-level OLS on the pandas pivot.
    w = relationship_matrix(demo_ws, list(pr.question))
    ref = PenaltyReward(low=4, high=8, missing="indicator").fit(w[list(pr.question)], w["nps"])
    np.testing.assert_allclose(pr.penalty, ref.penalty_, atol=1e-9)
    np.testing.assert_allclose(pr.impact_asymmetry, ref.impact_asymmetry_, atol=1e-9)


def test_truth_6_weakest_link_adds_to_the_mean(demo_ws: momenti.Workspace) -> None:
    m = demo_ws.weakest_link().set_index("model")
    both = m.loc["mean + min"]
    assert both.f_p_value < 0.001 and both.coef_min > 0 and both.min_ci_low > 0
    assert both.aic < m.loc["mean", "aic"] and both.r2 > m.loc["mean", "r2"]
    d = demo_ws.dissonance().set_index("driver")
    ch = d.loc["complaint-handling"]
    assert ch.effect < -2 and ch.ci_high < 0 and bool(ch.significant)
    assert (d.effect.dropna() < 0).all()
    assert d.loc["app-login", "n_all_positive"] == d.loc["complaint-handling", "n_all_positive"]


def test_dissonance_matches_row_level_ols(demo_ws: momenti.Workspace) -> None:
    d = demo_ws.dissonance(drivers=RATED).set_index("driver")
    w = relationship_matrix(demo_ws, [f"rating_{t.replace('-', '_')}" for t in RATED])
    X = w.drop(columns="nps")
    neg, lived = (X <= 4), X.notna().sum(axis=1).clip(upper=6)
    j = "rating_contact_centre_call"
    sample = (neg.sum(axis=1) == 0) | ((neg.sum(axis=1) == 1) & neg[j])
    D = pd.get_dummies(lived[sample], prefix="l", drop_first=True).astype(float)
    D.insert(0, "neg", (neg[j] & sample)[sample].astype(float))
    D.insert(0, "const", 1.0)
    beta = np.linalg.lstsq(D.to_numpy(), w.nps[sample].to_numpy(), rcond=None)[0]
    assert d.loc["contact-centre-call", "effect"] == pytest.approx(beta[1], abs=1e-9)


def test_truth_7_quadrant_complaint_handling_and_declared_moments(demo_ws: momenti.Workspace) -> None:
    q = demo_ws.quadrant(bootstrap=50).set_index("driver")
    assert q.loc["complaint-handling", "quadrant"] == "concentrate here"
    assert q.loc["complaint-handling", "performance"] < q.performance_cut.iloc[0]
    assert bool(q.loc["complaint-handling", "declared_mot"]) and bool(q.loc["complaint-handling", "revealed_mot"])
    assert not bool(q.loc["money-transfer", "declared_mot"])  # bank.yaml: not a moment of truth
    assert q.importance.mean() == pytest.approx(q.importance_cut.iloc[0])
    assert set(q.quadrant) <= {"concentrate here", "keep up", "low priority", "possible overkill"}
    t = demo_ws.quadrant(performance="nps", bootstrap=0).set_index("driver")
    assert t.loc["complaint-handling", "performance"] < -30  # its transactional NPS
    assert t.loc["complaint-handling", "quadrant"] == "concentrate here"


@pytest.mark.slow
def test_truth_7_contact_centre_is_weak_and_high_impact_at_default(tmp_path: Path) -> None:
    # At `small` the pairwise matrix is not positive definite and contact-centre-call sits at the importance
    # cut; `default` (20 000 customers) has enough co-rated pairs for the ranking to settle.
    ws = demo_workspace(tmp_path / "data", "default")
    q = ws.quadrant(bootstrap=0).set_index("driver")
    for tp in ("complaint-handling", "contact-centre-call"):
        assert q.loc[tp, "quadrant"] == "concentrate here", q[["importance", "performance", "quadrant"]]


# -- stores, warehouse backends, CLI, REST ----------------------------------------------------------------------


def synthetic(n: int = 400, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        mood = rng.normal()
        rec: dict = {"response_id": f"S{i:05d}", "customer_id": f"K{i:05d}", "touchpoint": "relationship-survey",
                     "submitted_at": f"2025-{1 + i % 12:02d}-15T10:00:00Z"}
        total = 0.0
        for k, tp in enumerate(RATED):
            if rng.random() < 0.7 or k == 0:
                r = int(np.clip(round(7 + 1.5 * mood + rng.normal()), 1, 10))
                rec[f"rating_{tp.replace('-', '_')}"] = r
                total += (0.3 + 0.2 * k) * (r - 7)
        rec["nps"] = int(np.clip(round(7 + total + rng.normal()), 0, 10))
        rows.append(rec)
    return rows


def test_same_answers_on_sqlite_and_postgres_stores(ws_any: momenti.Workspace) -> None:
    recs = synthetic()
    assert ws_any.import_records("responses", recs).rejected == 0
    df = ws_any.drivers(drivers="touchpoint-ratings", bootstrap=100, seed=3)
    assert sorted(df.driver) == sorted(RATED)  # in the journey map's order
    w = pd.DataFrame(recs).set_index("response_id")
    cols = list(df.question)
    ref = RelativeWeights(n_boot=100, random_state=3, missing="pairwise").fit(w[cols].astype(float), w.nps)
    np.testing.assert_allclose(df.weight, ref.weights_, atol=1e-10)
    assert ((df.ci_low <= df.weight) & (df.weight <= df.ci_high)).all()
    pd.testing.assert_frame_equal(df, ws_any.drivers(drivers="touchpoint-ratings", bootstrap=100, seed=3))
    jan = ws_any.drivers(start="2025-01-01", end="2025-01-31", bootstrap=0)
    assert jan.n_respondents.iloc[0] == sum(r["submitted_at"].startswith("2025-01") for r in recs)
    assert len(ws_any.penalty_reward()) == 4 and len(ws_any.dissonance()) == 4


@pytest.mark.postgres
def test_duckdb_and_postgres_warehouses_agree(workspace: momenti.Workspace, pg_warehouse_url: str) -> None:
    workspace.import_records("responses", synthetic(300, seed=5))
    pg = momenti.Workspace(momenti.core.config.get_settings(data_dir=workspace.settings.data_dir,
                                                       warehouse_url=pg_warehouse_url))
    pg.sync(rebuild=True)
    for name, kwargs in (("drivers", {"bootstrap": 50}), ("drivers", {"bootstrap": 0, "period": "quarter"}),
                         ("penalty_reward", {}), ("dissonance", {}), ("weakest_link", {}),
                         ("quadrant", {"bootstrap": 0})):
        a, b = getattr(workspace, name)(**kwargs), getattr(pg, name)(**kwargs)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, atol=1e-9)


def test_cli_commands(demo_ws: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(demo_ws.settings.data_dir))
    run = CliRunner().invoke
    res = run(app, ["drivers", "--outcome", "nps", "--drivers", "touchpoint-ratings", "--bootstrap", "100",
                    "--seed", "4", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["missing"] == "pairwise" and doc["seed"] == 4 and len(doc["rows"]) == 11
    expected = demo_ws.drivers(bootstrap=100, seed=4)
    assert [r["weight"] for r in doc["rows"]] == pytest.approx(list(expected.weight))
    res = run(app, ["drivers", "--bootstrap", "0"])
    assert res.exit_code == 0 and "pairwise deletion" in res.output and "complaint-handling" in res.output
    res = run(app, ["penalty-reward", "--format", "csv"])
    assert res.exit_code == 0 and res.output.startswith("driver,question,penalty")
    res = run(app, ["quadrant", "--bootstrap", "0"])
    assert res.exit_code == 0 and "concentrate here" in res.output
    res = run(app, ["dissonance", "--format", "json"])
    assert res.exit_code == 0
    doc = json.loads(res.output)
    assert {"touchpoints", "models"} <= set(doc) and len(doc["models"]) == 3
    res = run(app, ["dissonance", "--format", "csv", "--part", "models"])
    assert res.exit_code == 0 and res.output.startswith("model,formula")
    res = run(app, ["drivers", "--drivers", "nope", "--bootstrap", "0"])
    assert res.exit_code != 0


def test_rest_routes(demo_ws: momenti.Workspace) -> None:
    from momenti.core.config import get_settings
    from momenti.server.app import create_app

    app = create_app(get_settings(data_dir=demo_ws.settings.data_dir))
    with AuthedClient(app) as client:
        r = client.get("/api/v1/analysis/drivers",
                       params={"bootstrap": 50, "seed": 2, "drivers": "app-login,branch-visit"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [row["driver"] for row in body["rows"]] == ["app-login", "branch-visit"]
        assert body["rows"][0]["missing"] == "pairwise"
        r = client.get("/api/v1/analysis/penalty-reward")
        assert r.status_code == 200
        ch = next(row for row in r.json()["rows"] if row["driver"] == "complaint-handling")
        assert ch["impact_asymmetry"] <= -0.6
        r = client.get("/api/v1/analysis/quadrant", params={"bootstrap": 0, "performance": "nps"})
        assert r.status_code == 200 and r.json()["rows"]
        r = client.get("/api/v1/analysis/dissonance")
        assert r.status_code == 200 and len(r.json()["models"]) == 3
        assert client.get("/api/v1/analysis/drivers", params={"outcome": "nope"}).status_code in (400, 422)
        assert client.get("/api/v1/analysis/drivers", params={"method": "magic"}).status_code == 422
        # By day every group is too small to fit: each is reported with its reason (was a 500: KeyError 'n').
        for route in ("drivers", "penalty-reward"):
            r = client.get(f"/api/v1/analysis/{route}", params={"period": "day", "bootstrap": 0,
                                                                "from": "2025-06-01", "to": "2025-06-03"})
            assert r.status_code == 200, (route, r.text)
            rows = r.json()["rows"]
            assert rows and all(row["small_sample"] for row in rows if row.get("n") is None)
