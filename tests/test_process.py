"""Journey analytics (process mining): case notions, DFG, variants, funnels, journey x loyalty, on a small log
whose answers are worked out by hand, on the demo's planted truths, and on DuckDB and PostgreSQL warehouses."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import momenti
from momenti.core.errors import InputError
from momenti.insights.paths import facts as journey_facts
from momenti.insights.paths import graph

T0 = dt.datetime(2025, 3, 1, 9, 0, 0, tzinfo=dt.UTC)


def ev(eid: str, case: str, cust: str, act: str, seconds: float, **extra: object) -> dict:
    return {"event_id": eid, "case_id": case, "customer_id": cust, "activity": act,
            "timestamp": (T0 + dt.timedelta(seconds=seconds)).isoformat(), **extra}


DAY = 86400.0
# Event ids are given in the order the events should take on equal timestamps (ties follow the event id).
LOG = [
    ev("e01", "A", "c1", "a", 0, channel="app"), ev("e02", "A", "c1", "b", 10), ev("e03", "A", "c1", "c", 30),
    ev("e04", "B", "c1", "a", DAY), ev("e05", "B", "c1", "b", DAY + 20), ev("e06", "B", "c1", "c", DAY + 25),
    ev("e07", "C", "c2", "a", 0, channel="phone"), ev("e08", "C", "c2", "c", 100),
    ev("e09", "D", "c3", "a", 40 * DAY), ev("e10", "D", "c3", "b", 40 * DAY + 5),
    ev("e11", "D", "c3", "b", 40 * DAY + 6), ev("e12", "D", "c3", "c", 40 * DAY + 7),
    # a tie: x and y at the same instant, x has the smaller event id, so x comes first
    ev("e13", "E", "c4", "y", 50), ev("e14", "E", "c4", "x", 50),
]


@pytest.fixture
def ws(workspace: momenti.Workspace) -> momenti.Workspace:
    s = workspace.import_records("events", LOG)
    assert (s.added, s.rejected) == (len(LOG), 0), s.errors
    return workspace


def pairs(df: pd.DataFrame) -> dict[tuple[str, str], int]:
    return {(r.source, r.target): int(r.count) for r in df.itertuples()}


def counts(df: pd.DataFrame) -> dict[str, int]:
    return dict(zip(df["activity"], df["count"].astype(int), strict=True))


def test_dfg_by_hand(ws: momenti.Workspace) -> None:
    d = ws.dfg()
    assert list(d.columns) == ["source", "target", "count", "mean_s", "median_s", "p90_s"]
    assert pairs(d) == {("a", "b"): 3, ("b", "c"): 3, ("a", "c"): 1, ("b", "b"): 1, ("y", "x"): 1}
    ab = d.set_index(["source", "target"]).loc[("a", "b")]
    assert ab.mean_s == pytest.approx((10 + 20 + 5) / 3)
    assert ab.median_s == pytest.approx(10)
    assert ab.p90_s == pytest.approx(10 + 0.8 * 10)  # linear interpolation between 10 and 20
    assert counts(ws.activities()) == {"a": 4, "b": 4, "c": 4, "x": 1, "y": 1}
    assert counts(ws.start_activities()) == {"a": 4, "y": 1}
    assert counts(ws.end_activities()) == {"c": 4, "x": 1}


def test_ties_follow_event_id(ws: momenti.Workspace) -> None:
    # e13 (y) was imported with the smaller id, so at equal timestamps y precedes x.
    v = ws.variants()
    assert ["y", "x"] in v["variant"].tolist()


def test_variants(ws: momenti.Workspace) -> None:
    v = ws.variants()
    assert list(v.columns) == ["rank", "variant", "length", "count", "share", "cum_share", "median_duration_s",
                               "happy_path"]
    assert v.iloc[0].variant == ["a", "b", "c"] and v.iloc[0]["count"] == 2 and v.iloc[0].happy_path
    assert v.iloc[0].median_duration_s == pytest.approx((30 + 25) / 2)
    assert {tuple(x): int(n) for x, n in zip(v.variant, v["count"], strict=True)} == {
        ("a", "b", "c"): 2, ("a", "c"): 1, ("a", "b", "b", "c"): 1, ("y", "x"): 1}
    assert v["share"].sum() == pytest.approx(100)
    assert v["cum_share"].iloc[-1] == pytest.approx(100)
    assert not v["happy_path"].iloc[1:].any()
    assert len(ws.variants(top=2)) == 2 and ws.variants(top=2)["share"].iloc[0] == pytest.approx(40)


def test_customer_notion_and_gap(ws: momenti.Workspace) -> None:
    # c1's two cases become one journey per customer: c -> a joins them; a 12-hour gap splits them again.
    per_customer = pairs(ws.dfg(case="customer"))
    assert per_customer[("c", "a")] == 1 and per_customer[("a", "b")] == 3
    gapped = pairs(ws.dfg(case="customer", gap="12h"))
    assert ("c", "a") not in gapped and gapped == pairs(ws.dfg())
    assert len(ws.journey_instances(case="customer", gap="12h")) == 5
    assert len(ws.journey_instances(case="customer")) == 4


def test_bounded_journeys(ws: momenti.Workspace) -> None:
    b = ws.variants(start_activity="b", end_activity="c")
    assert {tuple(x): int(n) for x, n in zip(b.variant, b["count"], strict=True)} == {("b", "c"): 2,
                                                                                    ("b", "b", "c"): 1}
    with pytest.raises(InputError, match="both"):
        ws.dfg(start_activity="a")


def test_filters(ws: momenti.Workspace) -> None:
    assert pairs(ws.dfg(channel="phone")) == {("a", "c"): 1}  # whole journeys with a phone event
    assert pairs(ws.dfg(filters={"channel": ["app"]})) == {("a", "b"): 1, ("b", "c"): 1}
    late = ws.dfg(start="2025-04-01")  # only D starts after March
    assert pairs(late) == {("a", "b"): 1, ("b", "b"): 1, ("b", "c"): 1}
    assert pairs(ws.dfg(end="2025-03-01")) == {("a", "b"): 1, ("b", "c"): 1, ("a", "c"): 1, ("y", "x"): 1}
    # coverage 0.4 keeps the top variant (2 of 5 journeys); 0.41 needs the next one too
    assert ws.variants(coverage=0.4)["count"].sum() == 2
    assert ws.variants(coverage=0.41)["count"].sum() == 3
    assert pairs(ws.dfg(activity="x")) == {("y", "x"): 1}


def test_segment_filter(ws: momenti.Workspace) -> None:
    ws.import_records("customers", [{"customer_id": "c3", "tier": "gold"}, {"customer_id": "c1", "tier": "std"}])
    assert pairs(ws.dfg(segment={"tier": "gold"})) == {("a", "b"): 1, ("b", "b"): 1, ("b", "c"): 1}
    assert pairs(ws.dfg(filters={"segment:tier": ["gold", "std"]}))[("a", "b")] == 3


def test_funnel_modes(ws: momenti.Workspace) -> None:
    f = ws.funnel(["a", "b", "c"])
    assert f["n"].tolist() == [4, 3, 3] and f["dropoff"].tolist() == [0, 1, 0]
    assert f["conversion_pct"].tolist()[1:] == pytest.approx([75, 100])
    assert f.loc[1, "median_s"] == pytest.approx(10)  # a -> b: 10, 20, 5
    assert f.loc[1, "conversion_low"] < 75 < f.loc[1, "conversion_high"]
    assert f["small_sample"].all()
    d = ws.funnel("a,b,c", mode="directly")
    assert d["n"].tolist() == [4, 3, 2]  # in D a b b c, c does not follow the first b directly
    # Steps may be touchpoint keys: the bank journey's app-login touchpoint on two events.
    with pytest.raises(InputError, match="at least two"):
        ws.funnel(["a"])
    with pytest.raises(InputError, match="mode"):
        ws.funnel(["a", "b"], mode="sometimes")


def test_funnel_by_segment_and_period(ws: momenti.Workspace) -> None:
    ws.import_records("customers", [{"customer_id": "c3", "tier": "gold"}, {"customer_id": "c1", "tier": "std"}])
    f = ws.funnel(["a", "b"], by="segment:tier", period="month")
    got = {(r.segment_tier, r.period, r.step): r.n for r in f.itertuples()}
    assert got[("std", "2025-03-01", 1)] == 2 and got[("std", "2025-03-01", 2)] == 2
    assert got[("gold", "2025-04-01", 2)] == 1
    assert (None, "2025-03-01", 1) in got or any(pd.isna(k[0]) for k in got)  # c2 has no tier


def test_late_events_rematerialise_the_case(ws: momenti.Workspace) -> None:
    # An event of case A that arrives later but happened between a and b.
    ws.import_records("events", [ev("e20", "A", "c1", "z", 5)])
    d = pairs(ws.dfg())
    assert d[("a", "b")] == 2 and d[("a", "z")] == 1 and d[("z", "b")] == 1
    with ws.warehouse() as wh:
        assert journey_facts.facts_fresh(wh)
        steps = wh.table("journey_steps").filter(lambda t: t.case_id == "A").order_by("pos").to_pandas()
    assert steps["pos"].tolist() == [0, 1, 2, 3]
    assert ws.variants().set_index(ws.variants()["variant"].map(tuple))["count"][("a", "z", "b", "c")] == 1


def test_stale_facts_fall_back_to_raw_events(ws: momenti.Workspace) -> None:
    fresh = (ws.dfg(), ws.variants(), ws.start_activities(), ws.funnel(["a", "b", "c"]))
    with ws.warehouse() as wh:  # as if the facts were never materialised (a warehouse from before them)
        wh.sql(f"DELETE FROM \"_meta\" WHERE key = '{journey_facts.WATERMARK_KEY}'")
        wh.sql('DELETE FROM "journey_steps"')
        assert not journey_facts.facts_fresh(wh)
    raw = (ws.dfg(), ws.variants(), ws.start_activities(), ws.funnel(["a", "b", "c"]))
    for a, b in zip(fresh, raw, strict=True):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    ws.sync()  # the next sync materialises everything again
    with ws.warehouse() as wh:
        assert journey_facts.facts_fresh(wh)
        assert wh.table("journey_steps").count().execute() == len(LOG)


def test_rollups_answer_like_the_facts(ws: momenti.Workspace) -> None:
    """The whole-log map read from the rollups equals the one grouped from the facts. Stale rollups (an older
    layout, or a sync that added events since) are never read: the first unfiltered question rebuilds them."""
    questions = (lambda w: w.dfg(), lambda w: w.dfg(performance=False), lambda w: w.activities(),
                 lambda w: w.start_activities(), lambda w: w.end_activities(), lambda w: w.variants(),
                 lambda w: w.variants(top=2))
    from_rollups = [q(ws) for q in questions]
    with ws.warehouse() as wh:
        assert journey_facts.freshness(wh) == (True, True)
        wh.sql(f"DELETE FROM \"_meta\" WHERE key = '{journey_facts.ROLLUPS_KEY}'")
        wh.sql('DELETE FROM "journey_variants"')  # were they read as they are, the variants would be empty
        assert journey_facts.freshness(wh) == (True, False)
    for question, expected in zip(questions, from_rollups, strict=True):
        pd.testing.assert_frame_equal(question(ws), expected)
    with ws.warehouse() as wh:
        assert journey_facts.freshness(wh) == (True, True)
    assert ws.variants()["variant"].tolist()[0] == ["a", "b", "c"]
    # A sync that adds events rebuilds the touched cases only; the next unfiltered map rolls up again.
    ws.import_records("events", [ev("e40", "F", "c5", "a", 9 * DAY), ev("e41", "F", "c5", "b", 9 * DAY + 1)])
    with ws.warehouse() as wh:
        assert journey_facts.freshness(wh) == (True, False)
        assert wh.table("journey_variants").count().execute() == len(from_rollups[5])
    assert counts(ws.start_activities())["a"] == 5
    assert pairs(ws.dfg())[("a", "b")] == 4
    with ws.warehouse() as wh:
        assert journey_facts.freshness(wh) == (True, True)


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_older_warehouse_layout_gains_new_columns(ws: momenti.Workspace, engine: str,
                                                  request: pytest.FixtureRequest) -> None:
    """A warehouse written before the variant codes and activity counts existed keeps its data: opening it adds
    the missing column and table in place, and the first unfiltered question builds the rollups."""
    if engine == "postgres":
        ws = momenti.Workspace(momenti.core.config.get_settings(
            data_dir=ws.settings.data_dir, warehouse_url=request.getfixturevalue("pg_warehouse_url")))
        ws.sync(rebuild=True)
    expected = ws.journey_map()
    with ws.warehouse() as wh:
        wh.sql('ALTER TABLE "journey_variants" DROP COLUMN "codes"')
        wh.sql('DROP TABLE "journey_activity_counts"')
        wh.sql("UPDATE \"_meta\" SET value = 'older' WHERE key = 'layout'")
        wh.sql(f"DELETE FROM \"_meta\" WHERE key = '{journey_facts.ROLLUPS_KEY}'")
    older = momenti.Workspace(ws.settings)
    with older.warehouse() as wh:
        assert "codes" in wh.table("journey_variants").columns
        assert "journey_activity_counts" in wh.tables()
        assert wh.table("events").count().execute() == len(LOG)  # nothing dropped
    with older.warehouse() as wh:
        assert journey_facts.freshness(wh) == (True, False)
    for key, frame in older.journey_map().items():
        pd.testing.assert_frame_equal(frame, expected[key])
    with older.warehouse() as wh:
        assert journey_facts.freshness(wh) == (True, True)
    older.close()


def test_hold_warehouse(ws: momenti.Workspace) -> None:
    """Questions in a held session use one connection and answer as they do alone; it is released after."""
    alone = ws.journey_map()
    with ws.hold_warehouse():
        held = ws._held
        assert held is not None
        with ws.warehouse() as wh:
            assert wh is held
        inside = ws.journey_map()
        with ws.hold_warehouse():  # nested: the outer block keeps holding
            assert ws._held is held
        assert ws._held is held
    assert ws._held is None
    for key, frame in alone.items():
        pd.testing.assert_frame_equal(inside[key], frame)
    ws.import_records("events", [ev("e30", "F", "c5", "a", 7 * DAY)])  # the warehouse is free again
    assert counts(ws.start_activities())["a"] == 5


def test_graph(ws: momenti.Workspace) -> None:
    dot = ws.journey_graph()
    assert dot.startswith("digraph dfg {") and '"__start"' in dot and dot.count("->") == 5 + 2 + 2
    assert 'label="3"' in dot
    timed = ws.journey_graph(metric="median")
    assert 'label="10s"' in timed
    svg = ws.journey_graph("svg")
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    with pytest.raises(InputError, match="metric"):
        ws.journey_graph(metric="max")


def test_graph_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph.shutil, "which", lambda _name: None)
    with pytest.raises(graph.GraphvizMissing, match="apt-get install graphviz"):
        graph.render_svg("digraph { a -> b }")


def test_bad_input(ws: momenti.Workspace) -> None:
    with pytest.raises(InputError, match="case"):
        ws.dfg(case="session")
    with pytest.raises(InputError, match="gap"):
        ws.dfg(case="customer", gap="soon")
    with pytest.raises(InputError, match="coverage"):
        ws.variants(coverage=80)
    with pytest.raises(InputError, match="filter"):
        ws.dfg(filters={"colour": ["red"]})
    with pytest.raises(InputError, match="after"):
        ws.dfg(start="2025-05-01", end="2025-04-01")


def test_empty_log(workspace: momenti.Workspace) -> None:
    assert workspace.dfg().empty and workspace.variants().empty and workspace.activities().empty
    assert workspace.funnel(["a", "b"]).empty


# --- the demo's planted truths, through the product ----------------------------------------------------------


def test_demo_failed_logins_during_the_release(demo_ws: momenti.Workspace) -> None:
    """Truth 2: app sessions that start with a failed login are far more common in March-April 2026."""
    def share(**period: str) -> float:
        s = demo_ws.start_activities(channel="app", **period).set_index("activity")["count"]
        return s.get("login fallito", 0) / s.sum()

    inside = share(start="2026-03-01", end="2026-04-30")
    before = share(start="2025-11-01", end="2026-02-28")
    assert inside > 2 * before  # measured on small: 37 % vs 16 %


def test_demo_complaint_steps_precede_detractors(demo_ws: momenti.Workspace) -> None:
    """Complaint journeys are lived by detractors (truths 1 and 7): their steps have a lift above 1."""
    lift = demo_ws.journey_loyalty(by="activity", top=None).set_index("activity")
    row = lift.loc["apertura reclamo"]
    assert row.lift_low > 1 and row.n >= 30
    assert lift.loc["login app"].lift < 1
    by_variant = demo_ws.journey_loyalty(top=5)
    assert list(by_variant.columns[:6]) == ["variant", "n", "promoters", "passives", "detractors", "nps"]
    assert (by_variant["n"] == by_variant[["promoters", "passives", "detractors"]].sum(axis=1)).all()
    assert (by_variant["ci_low"] <= by_variant["nps"]).all() and (by_variant["nps"] <= by_variant["ci_high"]).all()


def test_demo_bounded_complaints(demo_ws: momenti.Workspace) -> None:
    f = demo_ws.funnel(["apertura reclamo", "chiusura reclamo"])
    bounded = demo_ws.variants(start_activity="apertura reclamo", end_activity="chiusura reclamo")
    assert bounded["count"].sum() == f.loc[1, "n"]  # each complaint case is closed at most once
    assert all(v[0] == "apertura reclamo" and v[-1] == "chiusura reclamo" for v in bounded["variant"])


# --- the same answers from a PostgreSQL warehouse -------------------------------------------------------------


ANSWERS = [  # c1 answers after each of its journeys, c3 after D, c2 much later than C (no journey matched)
    {"response_id": "r1", "customer_id": "c1", "touchpoint": "branch-visit", "nps": 3,
     "submitted_at": (T0 + dt.timedelta(hours=2)).isoformat()},
    {"response_id": "r2", "customer_id": "c1", "touchpoint": "branch-visit", "nps": 10,
     "submitted_at": (T0 + dt.timedelta(days=2)).isoformat()},
    {"response_id": "r3", "customer_id": "c3", "touchpoint": "branch-visit", "nps": 5,
     "submitted_at": (T0 + dt.timedelta(days=41)).isoformat()},
    {"response_id": "r4", "customer_id": "c2", "touchpoint": "branch-visit", "nps": 9,
     "submitted_at": (T0 + dt.timedelta(days=90)).isoformat()},
]


def test_journey_loyalty_by_hand(ws: momenti.Workspace) -> None:
    assert ws.import_records("responses", ANSWERS).rejected == 0
    v = {tuple(r["variant"]): r for r in ws.journey_loyalty().to_dict("records")}
    assert [v[("a", "b", "c")][k] for k in ("n", "promoters", "detractors")] == [2, 1, 1]  # r1 after A, r2 after B
    assert v[("a", "b", "b", "c")]["nps"] == -100 and sum(r["n"] for r in v.values()) == 3  # r4: C is 90 days old
    a = ws.journey_loyalty(by="activity", top=None).set_index("activity")
    # every matched journey has a, b and c: no journeys without them to compare with, so no lift
    assert a.loc["a", "n"] == 3 and a.loc["a", "detractors"] == 2 and pd.isna(a.loc["a", "lift"])
    assert len(ws.journey_loyalty(within="1h")) == 0  # r1 came 2 h after A ended
    with pytest.raises(InputError, match="variant or activity"):
        ws.journey_loyalty(by="touchpoint")


def test_duckdb_and_postgres_warehouses_agree(ws: momenti.Workspace, pg_warehouse_url: str) -> None:
    ws.import_records("customers", [{"customer_id": "c3", "tier": "gold"}, {"customer_id": "c1", "tier": "std"}])
    ws.import_records("responses", ANSWERS)
    pg = momenti.Workspace(momenti.core.config.get_settings(data_dir=ws.settings.data_dir,
                                                       warehouse_url=pg_warehouse_url))
    pg.sync(rebuild=True)
    checks = [
        lambda w: w.dfg(), lambda w: w.activities(), lambda w: w.start_activities(), lambda w: w.end_activities(),
        lambda w: w.variants(), lambda w: w.dfg(case="customer", gap="12h"),
        lambda w: w.variants(start_activity="b", end_activity="c"), lambda w: w.dfg(coverage=0.5),
        lambda w: w.dfg(segment={"tier": "gold"}, start="2025-03-01"),
        lambda w: w.funnel(["a", "b", "c"]), lambda w: w.funnel(["a", "b", "c"], mode="directly"),
        lambda w: w.funnel(["a", "b"], by="segment:tier", period="month"),
        lambda w: w.journey_loyalty(), lambda w: w.journey_loyalty(by="activity"),
    ]
    for check in checks:
        a, b = check(ws), check(pg)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # late events on PostgreSQL: the case is rebuilt there too
    ws.import_records("events", [ev("e20", "A", "c1", "z", 5)])
    pg.sync()
    pd.testing.assert_frame_equal(ws.dfg(), pg.dfg(), check_dtype=False)
    pg.close()
