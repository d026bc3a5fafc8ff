"""The demo's planted truths that concern scores, recovered through the product (import -> warehouse ->
metrics), not read off the generator's tables. See docs/demo-truths.md."""

from __future__ import annotations

import momenti
from momenti.demo import generate


def test_every_generated_row_reaches_the_metrics(demo_ws: momenti.Workspace) -> None:
    data = generate(size="small", seed=42)
    nps_answers = data.responses["nps"].drop_null()
    assert int(demo_ws.nps()["n"].sum()) == len(nps_answers)
    counts = demo_ws.warehouse_counts()
    assert counts["events"] == data.events.num_rows
    assert counts["feedback"] == data.feedback.num_rows
    assert counts["customers"] == data.customers.num_rows


def test_app_release_drop_is_significant(demo_ws: momenti.Workspace) -> None:
    cmp = demo_ws.compare("csat", filters={"touchpoint": ["app-login"]},
                          periods=("2026-01..2026-02", "2026-03..2026-04"))
    assert len(cmp) == 1
    row = cmp.iloc[0]
    assert row.delta < -10 and row.ci_high < 0 and bool(row.significant)
    after = demo_ws.compare("csat", filters={"touchpoint": ["app-login"]},
                            periods=("2026-03..2026-04", "2026-05..2026-06")).iloc[0]
    assert after.delta > 10 and bool(after.significant)


def test_touchpoint_nps_order(demo_ws: momenti.Workspace) -> None:
    nps = demo_ws.nps(by="touchpoint").set_index("touchpoint")["nps"]
    assert nps["branch-visit"] > nps["contact-centre-call"] > nps["complaint-handling"]
    assert nps["complaint-handling"] < -30


def test_small_groups_are_flagged(demo_ws: momenti.Workspace) -> None:
    monthly = demo_ws.nps(by="touchpoint", period="month")
    assert monthly.small_sample.any()
    assert (monthly.loc[monthly.small_sample, "n"] < 30).all()
    by_segment = demo_ws.nps(by="segment:segment").set_index("segment_segment")
    assert {"young", "mass", "affluent"} <= set(by_segment.index)


def test_first_time_customers_are_less_loyal(demo_ws: momenti.Workspace) -> None:
    """Truth 4: relationship NPS of first-time customers (first year) is clearly below repeat customers'."""
    df = demo_ws.nps(by="segment:lifecycle", filters={"touchpoint": ["relationship-survey"]}).set_index(
        "segment_lifecycle")
    first, repeat = df.loc["first-time"], df.loc["repeat"]
    assert repeat["nps"] - first["nps"] > 10
    assert first["ci_high"] < repeat["ci_low"]  # intervals apart: not noise
    assert not first["small_sample"] and not repeat["small_sample"]
