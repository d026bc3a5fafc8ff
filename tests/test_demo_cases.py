"""The demo's closed loop: cases with a realistic history, and the planted truth recovered through the case
metrics (detractors called back within 48 h recover about twice as often as those called later)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import momenti
from conftest import demo_workspace
from momenti.demo.cases import RECOVER_FAST, RECOVER_SLOW, plant_cases


@pytest.fixture(scope="module")
def loop_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[momenti.Workspace]:
    ws = demo_workspace(Path(tmp_path_factory.mktemp("loop")) / "data")
    planted = plant_cases(ws)
    assert planted["cases"] > 300 and planted["recovery_answers"] > 100
    assert plant_cases(ws) == {"cases": 0, "recovery_answers": 0}  # idempotent
    yield ws
    ws.close()


def test_fast_call_backs_recover_twice_as_often(loop_ws: momenti.Workspace) -> None:
    m = loop_ws.run({"kind": "case_metrics", "by": "contact_window"}).set_index("contact_window")
    fast, slow = m.loc["within 48 h"], m.loc["after 48 h"]
    assert fast["recovery_n"] >= 100 and slow["recovery_n"] >= 40
    # the planted rates lie inside the intervals, and the fast group's rate is about twice the slow one's
    assert fast["recovery_ci_low"] <= 100 * RECOVER_FAST <= fast["recovery_ci_high"]
    assert slow["recovery_ci_low"] <= 100 * RECOVER_SLOW <= slow["recovery_ci_high"]
    assert 1.4 <= fast["recovery_rate"] / slow["recovery_rate"] <= 3.0
    assert fast["close_loop_rate"] == 100 and slow["close_loop_rate"] == 0


def test_the_close_the_loop_rate_and_pareto_read_the_history(loop_ws: momenti.Workspace) -> None:
    overall = loop_ws.case_metrics().iloc[0]
    assert 50 <= overall["close_loop_rate"] <= 80  # lognormal delays, median 30 h
    assert overall["ci_low"] < overall["close_loop_rate"] < overall["ci_high"]
    assert overall["first_contact_median_h"] > 0 and overall["resolution_p90_h"] > overall["resolution_median_h"]
    pareto = loop_ws.run({"kind": "case_root_causes"})
    branch = pareto[pareto["touchpoint"] == "branch-visit"]  # planted: people 40 %, process 35 %, expectation 25 %
    assert list(branch["root_cause"]) == ["people", "process", "expectation"]
    assert branch["cumulative_share"].iloc[-1] == pytest.approx(100)
    teams = loop_ws.case_metrics(by="team")
    assert {"Rete filiali", "Contact center"} <= set(teams["team"])
    queue = loop_ws.cases(status="open")
    assert len(queue) > 0 and set(queue["sla_state"]) <= {"on_track", "at_risk", "breached"}
