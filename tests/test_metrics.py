"""Metrics end to end: store -> warehouse -> Ibis -> intervals, on SQLite and PostgreSQL stores, on the
DuckDB and the PostgreSQL warehouse, through the rollup and through raw answers: all must agree."""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import momenti
from momenti.core.errors import InputError
from momenti.engines import stats
from momenti.insights.scores import query as query_module

SNAPSHOTS = Path(__file__).parent / "snapshots"
TPS = ["branch-visit", "app-login", "complaint-handling"]


def _rows(seed: int = 11) -> tuple[list[dict], dict]:
    """Responses with a known score mix per touchpoint x month (one group deliberately small)."""
    rng = random.Random(seed)
    rows, truth = [], {}
    rid = 0
    for i, tp in enumerate(TPS):
        for month in ("2025-01", "2025-02", "2025-03"):
            n = 12 if (i == 2 and month == "2025-03") else rng.randint(40, 120)
            nps_scores = [rng.randint(0, 10) for _ in range(n)]
            csat = [rng.randint(1, 5) for _ in range(n)]
            ces = [rng.randint(1, 7) for _ in range(n)]
            truth[(tp, month)] = (nps_scores, csat, ces)
            for s, c, e in zip(nps_scores, csat, ces, strict=True):
                rid += 1
                day = rng.randint(1, 28)
                rows.append({"response_id": f"r{rid}", "customer_id": f"c{rid % 97}", "touchpoint": tp,
                             "submitted_at": f"{month}-{day:02d}T{rng.randint(0, 23):02d}:15:00Z",
                             "channel": rng.choice(["app", "web", "phone"]), "language": rng.choice(["it", "en"]),
                             "nps": s, "csat": c, "ces": e})
    return rows, truth


def _load(ws: momenti.Workspace) -> dict:
    rows, truth = _rows()
    summary = ws.import_records("responses", rows)
    assert summary.added == len(rows) and summary.rejected == 0, summary.errors[:3]
    customers = [{"customer_id": f"c{i}", "region": "nord" if i % 2 else "sud"} for i in range(97)]
    assert ws.import_records("customers", customers).added == 97
    return truth


def test_nps_csat_ces_equal_hand_computation(ws_any: momenti.Workspace) -> None:
    truth = _load(ws_any)
    nps = ws_any.nps(by=["touchpoint"], period="month").set_index(["touchpoint", "period"])
    csat = ws_any.csat(by="touchpoint", period="month").set_index(["touchpoint", "period"])
    ces = ws_any.ces(by="touchpoint", period="month").set_index(["touchpoint", "period"])
    assert len(nps) == len(truth)
    for (tp, month), (scores, cs, es) in truth.items():
        key = (tp, f"{month}-01")
        p = sum(s >= 9 for s in scores)
        d = sum(s <= 6 for s in scores)
        n = len(scores)
        row = nps.loc[key]
        assert (row.n, row.promoters, row.detractors, row.passives) == (n, p, d, n - p - d)
        assert row.nps == pytest.approx(100 * (p - d) / n)
        _, lo, hi = stats.nps(p, n - p - d, d)
        assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi))
        assert bool(row.small_sample) == (n < 30)
        sat = sum(c >= 4 for c in cs)
        assert csat.loc[key].csat == pytest.approx(100 * sat / n)
        assert csat.loc[key].mean_score == pytest.approx(np.mean(cs))
        assert ces.loc[key].ces == pytest.approx(np.mean(es))
        assert ces.loc[key].easy_pct == pytest.approx(100 * sum(e >= 5 for e in es) / n)
        assert ces.loc[key].sd == pytest.approx(np.std(es, ddof=1))


def test_small_groups_flagged_not_hidden(workspace: momenti.Workspace) -> None:
    _load(workspace)
    df = workspace.nps(by="touchpoint", period="month")
    small = df[df.small_sample]
    assert list(zip(small.touchpoint, small.period, strict=True)) == [("complaint-handling", "2025-03-01")]
    assert small.n.iloc[0] == 12 and not math.isnan(small.ci_low.iloc[0])


def test_min_n_setting(tmp_path: Path) -> None:
    ws = momenti.open(tmp_path / "data", min_n=100)
    ws.apply_journey(Path(__file__).parents[1] / "src/momenti/domains/journey_map/templates/bank.yaml")
    _load(ws)
    assert ws.nps(by="touchpoint").small_sample.sum() == 0  # every touchpoint has >= 100 in total
    assert ws.nps(by="touchpoint", period="month").small_sample.all()


def test_rollup_and_raw_answers_agree(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(workspace)
    for by in (["touchpoint"], ["stage", "channel"], ["journey"]):
        for period in ("day", "week", "month", "quarter", None):
            q = workspace.query("nps", by=by, period=period)
            assert q.uses_rollup
            fast = workspace.metric("nps", by=by, period=period)
            with monkeypatch.context() as m:
                m.setattr(query_module, "ROLLUP_DIMENSIONS", set())
                assert not workspace.query("nps", by=by, period=period).uses_rollup
                slow = workspace.metric("nps", by=by, period=period)
            pd.testing.assert_frame_equal(fast, slow)


def test_segments_filters_and_date_range(workspace: momenti.Workspace) -> None:
    truth = _load(workspace)
    by_region = workspace.nps(by=["segment:region"]).set_index("segment_region")
    assert by_region.n.sum() == sum(len(v[0]) for v in truth.values())
    assert set(by_region.index) == {"nord", "sud"}
    feb = workspace.nps(by="touchpoint", start="2025-02-01", end="2025-02-28").set_index("touchpoint")
    for tp in TPS:
        assert feb.loc[tp].n == len(truth[(tp, "2025-02")][0])
    only_app = workspace.nps(filters={"touchpoint": ["app-login"]}, period="month")
    assert list(only_app.n) == [len(truth[("app-login", m)][0]) for m in ("2025-01", "2025-02", "2025-03")]
    assert workspace.nps(by="language").n.sum() == by_region.n.sum()


def test_compare_consecutive_and_named_periods(ws_any: momenti.Workspace) -> None:
    truth = _load(ws_any)
    cons = ws_any.compare("nps", by="touchpoint", period="month")
    assert len(cons) == 2 * len(TPS)
    named = ws_any.compare("nps", by="touchpoint", periods=("2025-01", "2025-02")).set_index("touchpoint")
    for tp in TPS:
        a, b = truth[(tp, "2025-01")][0], truth[(tp, "2025-02")][0]

        def mix(s: list[int]) -> tuple[int, int, int]:
            return sum(x >= 9 for x in s), sum(7 <= x <= 8 for x in s), sum(x <= 6 for x in s)

        delta, lo, hi, _, p = stats.nps_diff(*mix(a), *mix(b))
        row = named.loc[tp]
        assert row.delta == pytest.approx(delta) and row.p_value == pytest.approx(p)
        assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi))
        assert bool(row.significant) == (p < 0.05)
        c = cons[(cons.touchpoint == tp) & (cons.period_b == "2025-02-01")].iloc[0]
        assert c.delta == pytest.approx(delta)
    csat = ws_any.compare("csat", periods=("2025-01", "2025-Q1"))
    assert {"delta", "ci_low", "ci_high", "p_value", "significant"} <= set(csat.columns)
    ces = ws_any.compare("ces", by="touchpoint", period="month")
    assert ces.p_value.between(0, 1).all()


def test_bad_questions_are_input_errors(workspace: momenti.Workspace) -> None:
    for kwargs in ({"by": ["colour"]}, {"period": "fortnight"}, {"start": "2025-03-01", "end": "2025-01-01"}):
        with pytest.raises(InputError):
            workspace.nps(**kwargs)
    with pytest.raises(InputError):
        workspace.metric("nrs")


def test_empty_result_has_the_contract_columns(workspace: momenti.Workspace) -> None:
    df = workspace.nps(by="touchpoint", period="month")
    assert list(df.columns) == ["touchpoint", "period", "n", "nps", "ci_low", "ci_high", "small_sample"]
    assert df.empty


def test_generated_sql_snapshot(workspace: momenti.Workspace) -> None:
    """The SQL a metric compiles to is reviewed like code: a change shows up here."""
    sql = workspace.explain("nps", by="touchpoint", period="month")
    expected = (SNAPSHOTS / "nps_by_touchpoint_month.duckdb.sql").read_text()
    assert sql.strip() == expected.strip()


def test_duckdb_and_postgres_warehouses_give_identical_results(tmp_path: Path, pg_warehouse_url: str) -> None:
    duck = momenti.open(tmp_path / "duck")
    duck.apply_journey(Path(__file__).parents[1] / "src/momenti/domains/journey_map/templates/bank.yaml")
    _load(duck)
    pg = momenti.Workspace(momenti.core.config.get_settings(data_dir=tmp_path / "duck", warehouse_url=pg_warehouse_url))
    pg.sync(rebuild=True)
    for metric, kwargs in (("nps", {"by": ["touchpoint"], "period": "month"}),
                           ("csat", {"by": ["stage", "channel"]}),
                           ("ces", {"by": ["segment:region"], "period": "quarter"}),
                           ("nps", {"by": ["language"], "start": "2025-02-01"})):
        a = duck.metric(metric, **kwargs)
        b = pg.metric(metric, **kwargs)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert os.environ.get("MOMENTI_WAREHOUSE_URL") is None
