"""Moments-of-truth analyses on generated workspaces: what the CLI prints (quadrant digits, drivers footer),
penalty-reward through the warehouse with dependent "not rated" indicators, the rating-naming error."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import momenti
from momenti.cli.analysis import _decimals, _quadrant_table
from momenti.core.errors import InputError
from momenti.engines import PenaltyReward

TPS = ["branch-visit", "app-login", "money-transfer", "contact-centre-call", "card-block", "complaint-handling"]


def _q(tp: str) -> str:
    return f"rating_{tp.replace('-', '_')}"


def survey(n: int = 1500, seed: int = 0) -> list[dict]:
    """Relationship-survey answers rating six touchpoints 1-10. The first four are skipped only in four small
    blocks (1+3, 2+4, 1+4, 2+3 skipped), so not rated(1) + not rated(2) = not rated(3) + not rated(4) on every
    respondent; card-block is skipped by a random 40 %; complaint-handling is always rated."""
    rng = np.random.default_rng(seed)
    skip = {i: set() for i in range(n)}
    start = 0
    for size, pair in zip((3, 4, 5, 6), [(0, 2), (1, 3), (0, 3), (1, 2)], strict=True):
        for i in range(start, start + size):
            skip[i] = {TPS[pair[0]], TPS[pair[1]]}
        start += size
    rows = []
    for i in range(n):
        rec: dict = {"response_id": f"R{i:05d}", "customer_id": f"K{i:05d}", "touchpoint": "relationship-survey",
                     "submitted_at": f"2025-{1 + i % 6:02d}-10T09:00:00Z"}
        y = 6.0
        for tp in TPS:
            if tp in skip[i] or (tp == "card-block" and rng.random() < 0.4):
                continue
            r = int(rng.integers(1, 11))
            rec[_q(tp)] = r
            y += -1.5 * (r <= 4) * (tp == "complaint-handling") + 0.8 * (r >= 8) * (tp == "app-login")
        rec["nps"] = int(np.clip(round(y + rng.normal()), 0, 10))
        rows.append(rec)
    return rows


@pytest.fixture
def rated(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> momenti.Workspace:
    recs = survey()
    assert workspace.import_records("responses", recs).rejected == 0
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    workspace.records = recs  # type: ignore[attr-defined]
    return workspace


def test_penalty_reward_with_dependent_not_rated_indicators_through_the_warehouse(rated: momenti.Workspace) -> None:
    from momenti.cli.main import app

    df = rated.penalty_reward().set_index("driver")
    assert list(df.index) == TPS  # in the journey's order
    dropped = df.index[df["note"].str.contains("not-rated dummy dropped", na=False)]
    assert len(dropped) == 1 and dropped[0] in TPS[:4]
    note = df.loc[dropped[0], "note"]
    assert all(f"not rated({tp})" in note for tp in TPS[:4]) and "unchanged" in note
    # The same fit on the rows, pivoted by pandas: the warehouse's box cells give exactly the row-level OLS.
    w = pd.DataFrame(rated.records).set_index("response_id")  # type: ignore[attr-defined]
    ref = PenaltyReward(low=4, high=8, missing="indicator").fit(w[[_q(t) for t in TPS]].astype(float), w["nps"])
    np.testing.assert_allclose(df["penalty"], ref.penalty_, atol=1e-9)
    np.testing.assert_allclose(df["reward"], ref.reward_, atol=1e-9)
    assert ref.dropped_ == [f"not rated({_q(dropped[0])})"]
    assert df.loc["complaint-handling", "category"] == "basic"
    res = CliRunner().invoke(app, ["penalty-reward", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["driver"]: r for r in json.loads(res.output)["rows"]}
    assert "not-rated dummy dropped" in rows[dropped[0]]["note"]
    res = CliRunner().invoke(app, ["penalty-reward"])
    assert res.exit_code == 0 and "not-rated dummy dropped" in " ".join(res.output.split())


def test_drivers_footer_names_groups_only_when_there_are_groups(rated: momenti.Workspace) -> None:
    from momenti.cli.main import app

    res = CliRunner().invoke(app, ["drivers", "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "first group" not in flat
    r = rated.drivers(bootstrap=0).iloc[0]
    assert f"R² {r.r2:.3f}, n {r.n_respondents}" in flat
    res = CliRunner().invoke(app, ["drivers", "--bootstrap", "0", "--period", "quarter"])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    by_q = rated.drivers(bootstrap=0, period="quarter").groupby("period").first()
    assert len(by_q) == 2 and "first group" not in flat
    for period, r in by_q.iterrows():
        assert f"{period}: R² {r.r2:.3f}, n {r.n_respondents}" in flat
    res = CliRunner().invoke(app, ["penalty-reward", "--period", "quarter"])
    assert res.exit_code == 0, res.output
    assert re.search(r"n 2025-01-01: \d+, 2025-04-01: \d+", " ".join(res.output.split()))


def test_quadrant_prints_the_digits_that_decide_the_quadrant(rated: momenti.Workspace) -> None:
    from momenti.cli.main import app

    q = rated.quadrant(bootstrap=0)
    table, footer = _quadrant_table(q)
    cut = float(re.search(r"performance (\d+\.\d+)", footer).group(1))
    shown = table["performance"].str.strip().astype(float)
    # Every printed performance is on the same side of the printed cut as the real one, and off it.
    assert ((shown >= cut) == (q["performance"] >= q["performance_cut"])).all() and (shown != cut).all()
    assert all(len(s.split(".")[1]) >= 2 for s in table["performance"].str.strip())
    res = CliRunner().invoke(app, ["quadrant", "--bootstrap", "0"])
    assert res.exit_code == 0 and footer in " ".join(res.output.split())


def test_decimals_grow_until_the_cut_is_visible() -> None:
    rng = np.random.default_rng(1)
    perf = pd.Series(7.05 + rng.choice([-1, 1], 12) * rng.uniform(0.001, 0.009, 12))
    cut = float(perf.mean())
    d = _decimals(perf, cut, 2)
    assert d >= 3  # one or two decimals print most of them as the cut itself
    r, rc = perf.round(d), round(cut, d)
    assert ((r >= rc) == (perf >= cut)).all() and (r != rc).all()
    assert _decimals(pd.Series([6.2, 7.9, 8.4]), 7.5, 2) == 2


def test_no_rating_questions_error_states_the_naming_rule(workspace: momenti.Workspace,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    recs = [{k.replace("rating_", "score_"): v for k, v in r.items()} for r in survey(200, seed=2)]
    assert workspace.import_records("responses", recs).rejected == 0
    for call in (workspace.drivers, workspace.quadrant, workspace.penalty_reward):
        with pytest.raises(InputError) as err:
            call()
        msg = str(err.value)
        assert msg.startswith("no rating_<touchpoint> questions in the data")
        assert "name your rating columns rating_<touchpoint key>, '-' written '_'" in msg
        assert re.search(r"e\.g\. rating_[a-z_]+ for touchpoint [a-z-]+", msg) and "or pass --drivers" in msg
        assert "score_app_login" in msg  # the numeric questions there are, to pass as --drivers
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    res = CliRunner().invoke(app, ["drivers", "--bootstrap", "0", "--drivers", "score_app_login,score_branch_visit"])
    assert res.exit_code == 0, res.output
