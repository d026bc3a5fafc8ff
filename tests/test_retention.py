"""Retention: Kaplan-Meier, log-rank (with delayed entry), Cox (time-varying bad experiences), plots, CLI, REST,
and the demo's retention truths recovered through the product (docs/demo-truths.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import multivariate_logrank_test
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.core.errors import InputError
from momenti.demo import generate
from momenti.insights.retention import survival as rt
from momenti.insights.retention.data import Covariate, parse_covariates


def _frame(n: int, seed: int, groups: tuple[str, ...] = ("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(list(groups), n)
    scale = np.where(g == groups[0], 6.0, 10.0)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "group": g,
                         "duration": np.round(rng.exponential(scale), 1) + 0.1,
                         "event": (rng.random(n) < 0.7).astype(int), "entry": 0.0})


# -- statistics against independent references -----------------------------------------------------------


def test_logrank_equals_lifelines_without_delayed_entry() -> None:
    for seed in (1, 2, 3):
        f = _frame(400, seed)
        chi2, df, p = rt.logrank(f)
        ref = multivariate_logrank_test(f["duration"], f["group"], f["event"])
        assert df == 2
        assert chi2 == pytest.approx(ref.test_statistic, rel=1e-9)
        assert p == pytest.approx(ref.p_value, rel=1e-9)


def test_logrank_delayed_entry() -> None:
    f = _frame(300, 4, ("a", "b"))
    base = rt.logrank(f)
    # Entries before the first churn change no risk set: the same test.
    early = f.assign(entry=np.minimum(f["duration"], f.loc[f.event == 1, "duration"].min()) * 0.5)
    assert rt.logrank(early)[0] == pytest.approx(base[0], rel=1e-12)
    # Late entries shrink the early risk sets: a hand-checked two-group example.
    tiny = pd.DataFrame({"group": ["a", "a", "b", "b"], "duration": [2.0, 5.0, 3.0, 6.0],
                         "entry": [0.0, 0.0, 2.5, 0.0], "event": [1, 1, 1, 0]})
    # t=2: at risk a=2, b=1 (the late one not yet in); t=3: a=1, b=2; t=5: a=1, b=1.
    o_e = (1 - 2 / 3) + (0 - 1 / 3) + (1 - 1 / 2)
    var = (2 / 3 * 1 / 3) + (1 / 3 * 2 / 3) + (1 / 2 * 1 / 2)
    chi2, df, p = rt.logrank(tiny)
    assert chi2 == pytest.approx(o_e**2 / var)
    assert df == 1


def test_km_by_hand() -> None:
    f = pd.DataFrame({"customer_id": list("abcde"), "duration": [1.0, 2.0, 2.0, 3.0, 4.0],
                      "event": [1, 1, 0, 1, 0], "entry": 0.0})
    c = rt.km_curves(f)
    assert list(c["time"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert list(c["survival"]) == pytest.approx([1.0, 0.8, 0.6, 0.3, 0.3])
    assert list(c["at_risk"]) == [5, 5, 4, 2, 1]
    assert (c["ci_low"] <= c["survival"]).all() and (c["survival"] <= c["ci_high"]).all()
    s = rt.summary(f)
    assert s.loc[0, "median_days"] == 3.0 and s.loc[0, "events"] == 3 and np.isnan(s.loc[0, "p_value"])


def test_cox_equals_lifelines_and_its_concordance() -> None:
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    f = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                      "duration": np.round(rng.exponential(np.exp(-0.5 * x)) * 100), "entry": 0.0,
                      "event": (rng.random(n) < 0.7).astype(int), "x": x})
    out = rt.cox(f, [Covariate("x", "question", "x")])
    ref = CoxPHFitter().fit(f[["duration", "event", "x"]], "duration", "event")
    assert out.loc[0, "coef"] == pytest.approx(ref.params_["x"], rel=1e-6)
    assert out.loc[0, "se"] == pytest.approx(ref.standard_errors_["x"], rel=1e-6)
    assert out.loc[0, "concordance"] == pytest.approx(ref.concordance_index_, rel=1e-9)
    assert out.loc[0, "ci_low"] < out.loc[0, "hazard_ratio"] < out.loc[0, "ci_high"]
    assert (out.loc[0, "n"], out.loc[0, "events"]) == (n, int(f.event.sum()))


def test_episodes_split_at_the_bad_experience() -> None:
    f = pd.DataFrame({"customer_id": ["a", "b", "c"], "entry": [0.0, 0.0, 5.0], "duration": [30.0, 20.0, 40.0],
                      "event": [1, 0, 1], "bad_x": [1.0, 0.0, 1.0], "bad_x_at": [10.0, np.nan, 2.0]})
    ep = rt.episodes(f, [Covariate("bad:x", "bad", "x")])
    assert ep.to_dict("list") == {"customer_id": ["a", "a", "b", "c"], "start": [0.0, 10.0, 0.0, 5.0],
                                  "stop": [10.0, 30.0, 20.0, 40.0], "event": [0, 1, 0, 1],
                                  "bad_x": [0.0, 1.0, 0.0, 1.0]}


def test_time_varying_cox_recovers_a_planted_hazard_ratio() -> None:
    # Hazard 1/400 per day, x3 after a bad experience that happens at a random time to half the customers.
    rng = np.random.default_rng(11)
    n = 3000
    at = np.where(rng.random(n) < 0.5, rng.uniform(0, 500, n), np.inf)
    first = rng.exponential(400, n)
    after = at + rng.exponential(400 / 3, n)
    t = np.where(first < at, first, after)
    dur = np.minimum(t, 700.0)
    f = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "entry": 0.0, "duration": dur,
                      "event": (t <= 700).astype(int), "bad_x": (at < dur).astype(float),
                      "bad_x_at": np.where(at < dur, at, np.nan)})
    out = rt.cox(f, [Covariate("bad:x", "bad", "x")])
    assert out.loc[0, "ci_low"] < 3.0 < out.loc[0, "ci_high"]
    # Counting the exposure from time 0 (immortal time) would bias it towards 1.
    naive = CoxPHFitter().fit(f[["duration", "event", "bad_x"]], "duration", "event")
    assert np.exp(naive.params_["bad_x"]) < out.loc[0, "hazard_ratio"]


def test_covariate_parsing() -> None:
    covs = parse_covariates("bad:complaint-handling, score:app-login,nps")
    assert [(c.kind, c.target, c.column) for c in covs] == [
        ("bad", "complaint-handling", "bad_complaint_handling"), ("score", "app-login", "score_app_login"),
        ("question", "nps", "nps")]
    with pytest.raises(InputError):
        parse_covariates("")


# -- the demo: outcomes consistent with the world, truths recovered ---------------------------------------


def test_demo_outcomes_follow_the_event_log() -> None:
    data = generate("small", seed=42)
    o = data.outcomes.to_pandas()
    ev = data.events.to_pandas()
    c = data.customers.to_pandas()
    assert list(o["customer_id"]) == list(c["customer_id"])
    assert (o["start_date"] == c["first_seen"]).all()
    churned = o[o.status == "churned"]
    assert len(churned) > 50 and churned["end_date"].notna().all()
    assert o.loc[o.status == "active", "end_date"].isna().all()
    requests = ev[ev.activity == "richiesta chiusura conto"]
    saved = set(ev.loc[ev.outcome == "retained", "customer_id"])
    # Every churned customer asked to close at its end_date and was not saved; every saved customer is active.
    merged = churned.merge(requests, on="customer_id")
    assert set(merged.loc[merged.timestamp == merged.end_date, "customer_id"]) == set(churned.customer_id)
    assert not saved & set(churned.customer_id)
    assert saved and saved <= set(o.loc[o.status == "active", "customer_id"])
    assert set(requests.customer_id) == set(churned.customer_id) | saved


def test_demo_detractors_churn_more_than_promoters(demo_ws: momenti.Workspace) -> None:
    s = demo_ws.logrank(by="nps_category").set_index("group")
    assert list(s.index) == ["detractor", "passive", "promoter"]
    assert s.loc["detractor", "survival_1y"] < s.loc["promoter", "survival_1y"]
    assert s["p_value"].iloc[0] < 0.05
    frame = demo_ws.retention_frame(by="nps_category")
    two = frame[frame["group"].isin(["detractor", "promoter"])]
    _, _, p = rt.logrank(two)
    assert p < 0.05
    rate = two.groupby("group")["event"].mean()
    assert rate["detractor"] > 2 * rate["promoter"]


def test_demo_bad_complaint_raises_the_hazard(demo_ws: momenti.Workspace) -> None:
    out = demo_ws.cox(["bad:complaint-handling"]).set_index("covariate")
    row = out.loc["bad:complaint-handling"]
    assert row["hazard_ratio"] > 1 and row["ci_low"] > 1
    assert row["n"] == 2000 and row["events"] > 50
    both = demo_ws.cox("bad:complaint-handling,nps").set_index("covariate")
    assert both.loc["nps", "hazard_ratio"] < 1 and both.loc["nps", "ci_high"] < 1  # more loyal, fewer leave
    assert 0.5 < both["concordance"].iloc[0] <= 1


def test_demo_groupings_and_curves(demo_ws: momenti.Workspace) -> None:
    loyal = demo_ws.logrank(by="loyalty_segment").set_index("group")
    assert list(loyal.index) == ["truly_loyal", "price_driven", "other"]
    assert loyal.loc["truly_loyal", "survival_1y"] > loyal.loc["price_driven", "survival_1y"]
    seg = demo_ws.logrank(by="segment:segment")
    assert set(seg["group"]) == {"mass", "affluent", "small-business", "young", "private"}
    assert seg.set_index("group").loc["private", "small_sample"]
    curves = demo_ws.survival(by="nps_category")
    assert list(curves.columns) == ["group", "time", "survival", "ci_low", "ci_high", "at_risk", "events", "censored"]
    for _, c in curves.groupby("group"):
        assert c["survival"].is_monotonic_decreasing and c["at_risk"].is_monotonic_decreasing
    tenure = demo_ws.logrank(by="nps_category", clock="tenure")
    assert tenure["n"].sum() == demo_ws.logrank(by="nps_category")["n"].sum()
    with pytest.raises(InputError, match="segment:lifecycle is derived"):
        demo_ws.survival(by="segment:lifecycle")
    with pytest.raises(InputError, match="no customer with an outcome has a value"):
        demo_ws.survival(by="segment:nothing")
    with pytest.raises(InputError, match="unknown touchpoint"):
        demo_ws.cox("bad:nowhere")


def test_plots(demo_ws: momenti.Workspace, tmp_path: Path) -> None:
    png = demo_ws.survival_plot(tmp_path / "km.png", by="nps_category")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "km.png").read_bytes() == png
    svg = demo_ws.survival_plot(by="loyalty_segment", fmt="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "truly_loyal" in svg
    with pytest.raises(InputError, match="png or .svg"):
        demo_ws.survival_plot(tmp_path / "km.gif")


def test_cli(demo_ws: momenti.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(demo_ws.settings.data_dir))
    runner = CliRunner()
    r = runner.invoke(app, ["retention", "km", "--by", "nps_category", "--plot", str(tmp_path / "k.svg"),
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert [row["group"] for row in body["rows"]] == ["detractor", "passive", "promoter"]
    assert (tmp_path / "k.svg").read_text().count("<svg") == 1
    r = runner.invoke(app, ["retention", "km", "--curve", "--format", "csv"])
    assert r.exit_code == 0 and r.output.startswith("group,time,survival,ci_low,ci_high,at_risk")
    r = runner.invoke(app, ["retention", "cox", "--covariates", "bad:complaint-handling,nps", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [row["covariate"] for row in json.loads(r.output)["rows"]] == ["bad:complaint-handling", "nps"]
    r = runner.invoke(app, ["retention", "km", "--by", "region"])
    assert isinstance(r.exception, InputError) and "unknown grouping" in str(r.exception)  # main() prints it


def test_rest(demo_ws: momenti.Workspace) -> None:
    from momenti.core.config import get_settings
    from momenti.server.app import create_app

    app = create_app(get_settings(data_dir=demo_ws.settings.data_dir))
    with AuthedClient(app) as client:
        r = client.get("/api/v1/analysis/retention/logrank", params={"by": "loyalty_segment"})
        assert r.status_code == 200, r.text
        assert [row["group"] for row in r.json()["rows"]] == ["truly_loyal", "price_driven", "other"]
        r = client.get("/api/v1/analysis/retention/km")
        assert r.status_code == 200 and r.json()["rows"][0]["survival"] == 1.0
        r = client.get("/api/v1/analysis/retention/cox", params={"covariates": "bad:complaint-handling"})
        assert r.status_code == 200 and r.json()["rows"][0]["hazard_ratio"] > 1
        r = client.get("/api/v1/analysis/retention/km.svg", params={"by": "nps_category"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        r = client.get("/api/v1/analysis/retention/km", params={"by": "bogus"})
        assert 400 <= r.status_code < 500


@pytest.mark.postgres
def test_postgres_warehouse_gives_the_same_frame(demo_ws: momenti.Workspace, pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    from momenti.store.db import ensure_postgres_database

    url = pg_url.replace("momenti_test_", "momenti_whret_test_")
    ensure_postgres_database(url)
    u = make_url(url)
    pg = momenti.Workspace(momenti.core.config.get_settings(
        data_dir=demo_ws.settings.data_dir, warehouse_url=f"postgres://{u.username}@{u.host}:{u.port}/{u.database}"))
    pg.sync(rebuild=True)
    for kwargs in ({"by": "nps_category", "covariates": "bad:complaint-handling,score:branch-visit"},
                   {"by": "loyalty_segment", "clock": "tenure"}):
        a = demo_ws.retention_frame(**kwargs)
        b = pg.retention_frame(**kwargs)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, atol=1e-6)


# -- the plot: number at risk between churn times, p-values below float range ---------------------------------


def _censored_early(n: int, seed: int, delayed: bool) -> pd.DataFrame:
    """Many customers censored before the first churn (new arrivals observed briefly), churns later, and
    optionally late entries: the at-risk count at day 0 differs from that at the first churn time."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n)
    early = rng.random(n) < 0.1
    dur = np.where(early, rng.uniform(0, 20, n).round(), 30 + rng.exponential(np.where(g == "a", 80, 200)).round())
    event = np.where(early, 0, (rng.random(n) < 0.6).astype(int))
    entry = np.where(rng.random(n) < 0.3, np.minimum(rng.uniform(0, 100, n).round(), dur - 1), 0.0) if delayed \
        else np.zeros(n)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "group": g, "duration": dur,
                         "event": event, "entry": np.maximum(entry, 0.0)})


def _lifelines_at_risk(sub: pd.DataFrame, tick: float) -> int:
    """lifelines' add_at_risk_counts, default rows: survival_table_from_events at_risk - removed at the last
    table time <= tick (0 before the table starts)."""
    from lifelines.utils import survival_table_from_events

    table = survival_table_from_events(sub["duration"], sub["event"], birth_times=sub["entry"])
    table = table.assign(at_risk=table["at_risk"] - table["removed"]).loc[:tick]
    return int(table["at_risk"].iloc[-1]) if len(table) else 0


@pytest.mark.parametrize("delayed", [False, True])
def test_number_at_risk_equals_lifelines_between_churn_times(delayed: bool) -> None:
    f = _censored_early(600, 5, delayed)
    ticks = [0.0, 5.0, 17.5, 29.0, 50.0, 100.0, 250.0, 400.0, 10_000.0]
    got = rt.at_risk_at(f, ticks)
    assert list(got.columns) == ["a", "b"]
    for g in ("a", "b"):
        sub = f[f["group"] == g]
        assert list(got[g]) == [_lifelines_at_risk(sub, t) for t in ticks], g
    curves = rt.km_curves(f)
    first_churn = curves[(curves.group == "a") & (curves.events > 0)].iloc[0]
    # The bug: day 0 showed the number at risk at the first churn time; censorings before it were missed.
    if not delayed:
        assert got.loc[0.0, "a"] == ((f["group"] == "a") & (f["duration"] > 0)).sum() > first_churn["at_risk"]


def _svg_text(data: bytes) -> str:
    import html
    import re

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", data.decode())).split())


def test_plot_prints_lifelines_number_at_risk_and_a_true_p_value_bound() -> None:
    import matplotlib

    from momenti.insights.retention.plot import km_figure

    f = _censored_early(600, 6, delayed=True)
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text, so the test can read it
        svg = _svg_text(km_figure(rt.km_curves(f), rt.summary(f), "svg", frame=f))
    zero = rt.at_risk_at(f, [0.0])
    assert f"a {zero.loc[0.0, 'a']:,}" in svg and f"b {zero.loc[0.0, 'b']:,}" in svg
    p = rt.summary(f)["p_value"].iloc[0]
    assert f"log-rank p = {p:.2g}" in svg
    # Groups so far apart that the chi-square tail underflows to 0: the title gives a bound, never "p = 0".
    rng = np.random.default_rng(7)
    n = 20_000
    g = rng.choice(["a", "b"], n)
    big = pd.DataFrame({"customer_id": range(n), "group": g, "entry": 0.0, "event": 1,
                        "duration": rng.exponential(np.where(g == "a", 10.0, 400.0)).round() + 1})
    s = rt.summary(big)
    assert s["p_value"].iloc[0] == 0.0
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        svg = _svg_text(km_figure(rt.km_curves(big), s, "svg", frame=big))
    assert "p < 1e-300" in svg and "p = 0" not in svg


def test_p_text() -> None:
    from scipy import stats as sps

    assert rt.p_text(0.00312, 11.5, 2) == "p = 0.0031"
    assert rt.p_text(float(sps.chi2.sf(1400.0, 2)), 1400.0, 2) == "p < 1e-304"  # 9.9e-305: log10 -304.006
    assert rt.p_text(0.0, 5000.0, 2) == "p < 1e-300"
    assert rt.p_text(float("nan"), float("nan"), 0) == "p = –"
