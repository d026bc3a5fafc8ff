"""Contact-centre KPIs: repeat contacts and FCR (with right-censoring), handling time, complaint rate, channel
switching. A hand-made log with every number worked out by hand (SQLite and PostgreSQL stores, DuckDB and
PostgreSQL warehouses), the demo's planted "carta bloccata" truth, and the CLI and REST layers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.cli import main as cli_main
from momenti.core.config import get_settings
from momenti.core.errors import InputError
from momenti.engines import stats
from momenti.insights.contact import facts as contact_facts
from momenti.insights.contact import kpis as C
from momenti.insights.contact.channels import switching_matrix
from momenti.server.app import create_app

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "src" / "momenti" / "domains" / "journey_map" / "templates" / "bank.yaml"


# --- the worked example ---------------------------------------------------------------------------------------
#
# Contacts (customer, reason: start, channel of the first event). The log ends 2025-01-31 12:00, so with N = 7
# the contacts after 2025-01-24 12:00 are censored (only K9).
#   c1 carta bloccata: K1 01-01 09:00 phone (2 events) -> K2 01-04 10:00 chat: 3 d 1 h, K1 repeated
#                      K2 -> K3 01-20 phone: 16 d, not repeated; K3: none after, not repeated
#   c1 commissioni:    K9 01-31 phone: censored
#   c2 commissioni:    K4 01-02 10:00 phone -> K10 01-06 10:00 (a complaint, email): 4 d, K4 repeated
#                      K10 -> K6 01-09 12:00 phone: 3 d 2 h, K10 repeated; K6 not repeated
#   c2 bonifico:       K5 01-05 branch: a different reason, not a repeat of anything
#   c3 commissioni:    K7 01-10 10:00 email -> K8 01-17 10:00 phone: exactly 7 d, K7 repeated (window closed)
#   c4 carta bloccata: two events without a case, each a contact: 01-12 10:00 phone -> 01-14 10:00 app, repeated
# Judged n = 11 (12 contacts, 1 censored), repeats = 5 (K1, K4, K10, K7, c4's first): FCR = 6/11.
# By reason: carta bloccata n 5, repeats 2; commissioni n 5, repeats 3, censored 1; bonifico n 1, repeats 0.
# With N = 3: only c4's pair (2 d) repeats; cutoff 01-28 12:00, K9 still censored.
# App sessions without a reason (interactions, not contacts): c1 S1 01-03, c2 S3 01-08, c3 S2 01-09.

def ev(i: int, customer: str, case: str | None, ts: str, activity: str, reason: str | None, channel: str,
       duration: float | None = None, agent: str | None = None, touchpoint: str | None = None) -> dict:
    row = {"event_id": f"e{i:02d}", "customer_id": customer, "timestamp": f"2025-{ts}:00Z", "activity": activity,
           "channel": channel}
    for key, value in (("case_id", case), ("reason", reason), ("duration_s", duration), ("agent", agent),
                       ("touchpoint", touchpoint)):
        if value is not None:
            row[key] = value
    return row


CB, CO, BO = "carta bloccata", "commissioni", "bonifico non arrivato"
EVENTS = [
    ev(1, "c1", "K1", "01-01T09:00", "chiamata contact center", CB, "phone", 60),
    ev(2, "c1", "K1", "01-01T09:05", "conversazione operatore", CB, "phone", 300, "A1"),
    ev(3, "c1", "S1", "01-03T08:00", "login app", None, "app"),
    ev(4, "c1", "K2", "01-04T10:00", "conversazione chat", CB, "chat", 200, "A2"),
    ev(5, "c1", "K3", "01-20T10:00", "chiamata contact center", CB, "phone"),
    ev(6, "c1", "K9", "01-31T11:00", "chiamata contact center", CO, "phone"),
    ev(7, "c1", "K9", "01-31T12:00", "chiusura chiamata", CO, "phone"),
    ev(8, "c2", "K4", "01-02T10:00", "chiamata contact center", CO, "phone", 120, "A1"),
    ev(9, "c2", "K5", "01-05T10:00", "visita filiale", BO, "branch"),
    ev(10, "c2", "K10", "01-06T10:00", "apertura reclamo", CO, "email", touchpoint="complaint-handling"),
    ev(11, "c2", "K10", "01-07T10:00", "presa in carico reclamo", CO, "email", agent="A3",
       touchpoint="complaint-handling"),
    ev(12, "c2", "S3", "01-08T09:00", "login app", None, "app"),
    ev(13, "c2", "K6", "01-09T12:00", "chiamata contact center", CO, "phone", 240, "A1"),
    ev(14, "c3", "S2", "01-09T09:00", "login app", None, "app"),
    ev(15, "c3", "K7", "01-10T10:00", "email al servizio clienti", CO, "email"),
    ev(16, "c3", "K8", "01-17T10:00", "chiamata contact center", CO, "phone"),
    ev(17, "c4", None, "01-12T10:00", "chiamata contact center", CB, "phone"),
    ev(18, "c4", None, "01-14T10:00", "blocco carta", CB, "app"),
]
CUSTOMERS = [{"customer_id": "c1", "segment": "mass"}, {"customer_id": "c2", "segment": "young"},
             {"customer_id": "c3", "segment": "young"}, {"customer_id": "c4", "segment": "mass"}]


def load(ws: momenti.Workspace, events: list[dict] = EVENTS) -> None:
    assert ws.import_records("customers", CUSTOMERS).added == len(CUSTOMERS)
    summary = ws.import_records("events", events)
    assert summary.rejected == 0, summary.errors
    assert summary.added == len(events)


def rows(df: pd.DataFrame, key: str) -> dict:
    return {r[key]: r for r in df.to_dict("records")}


def check_worked_example(ws: momenti.Workspace) -> None:
    total = ws.fcr().iloc[0]
    assert (total.n, total.repeats, total.censored) == (11, 5, 1)
    assert total.fcr == pytest.approx(100 * 6 / 11)
    _, lo, hi = stats.wilson(5, 11)
    assert (total.ci_low, total.ci_high) == pytest.approx((100 - hi, 100 - lo))
    assert bool(total.small_sample)

    by = rows(ws.repeat_contacts(by="reason"), "reason")
    assert {k: (v["n"], v["repeats"], v["censored"]) for k, v in by.items()} == {
        CB: (5, 2, 0), CO: (5, 3, 1), BO: (1, 0, 0)}
    assert by[CB]["repeat_rate"] == pytest.approx(40.0)
    assert by[CO]["ci_low"] < 60 < by[CO]["ci_high"]

    short = ws.repeat_contacts(days=3).iloc[0]
    assert (short.n, short.repeats, short.censored) == (11, 1, 1)

    ch = rows(ws.fcr(by="channel"), "channel")  # the channel of the contact's first event
    assert {k: (v["n"], v["repeats"]) for k, v in ch.items()} == {
        "phone": (6, 3), "chat": (1, 0), "email": (2, 2), "branch": (1, 0), "app": (1, 0)}
    # A filter selects the contacts judged; their follow-ups are found in any channel (K1's repeat is a chat).
    phone_cb = ws.repeat_contacts(channel="phone", reason=CB).iloc[0]
    assert (phone_cb.n, phone_cb.repeats) == (3, 2)
    # --to limits the contacts judged (K4, K10, K6, K7), not the follow-ups: K7 (01-10) is repeated by K8 (01-17).
    early = ws.repeat_contacts(end="2025-01-10", reason=[CO]).iloc[0]
    assert (early.n, early.repeats) == (4, 3)
    seg = rows(ws.fcr(by="segment:segment"), "segment_segment")
    assert {k: (v["n"], v["repeats"]) for k, v in seg.items()} == {"mass": (5, 2), "young": (6, 3)}
    # derived segments as in every metric: first-time vs repeat customer at the time of each contact
    life = ws.fcr(by="segment:lifecycle")
    assert set(life["segment_lifecycle"]) <= {"first-time", "repeat"} and life["n"].sum() == 11
    agents = rows(ws.repeat_contacts(by="agent"), "agent")  # the first agent of the contact
    assert (agents["A1"]["n"], agents["A1"]["repeats"]) == (3, 2)  # K1, K4 (repeated), K6
    assert (agents["A3"]["n"], agents["A3"]["repeats"]) == (1, 1)  # K10
    monthly = ws.fcr(by="reason", period="month")
    assert set(monthly.period) == {"2025-01-01"} and monthly.n.sum() == 11

    aht = rows(ws.handling_time(by="agent"), "agent")
    assert aht["A1"]["n"] == 3 and aht["A1"]["mean_s"] == pytest.approx(220)
    assert aht["A1"]["median_s"] == pytest.approx(240)
    mean, lo, hi, sd = stats.mean_t(3, 660, 300**2 + 120**2 + 240**2)
    assert (aht["A1"]["ci_low"], aht["A1"]["ci_high"], aht["A1"]["sd_s"]) == pytest.approx((lo, hi, sd))
    phone = rows(ws.handling_time(by="channel"), "channel")["phone"]
    assert (phone["n"], phone["mean_s"], phone["median_s"]) == (4, 180, 180)
    assert phone["p90_s"] == pytest.approx(240 + 0.7 * 60)  # linear interpolation between 240 and 300
    per_contact = rows(ws.handling_time(by="reason", per="contact"), "reason")
    assert (per_contact[CB]["n"], per_contact[CB]["mean_s"]) == (2, 280)  # K1 60 + 300, K2 200
    assert (per_contact[CO]["n"], per_contact[CO]["mean_s"]) == (2, 180)  # K4 120, K6 240

    comp = ws.complaint_rate().iloc[0]
    assert (comp.n, comp.complaints) == (12, 1)  # every contact (no censoring: nothing to wait for)
    assert rows(ws.complaint_rate(by="reason"), "reason")[CO]["complaints"] == 1
    per_customer = ws.complaint_rate(unit="customers").iloc[0]
    assert (per_customer.n, per_customer.complaints) == (4, 1)
    assert ws.complaint_rate(activities=["visita filiale"]).iloc[0].complaints == 1

    sw = ws.channel_switching("app", "phone").iloc[0]  # only c2: app 01-08 -> phone 01-09 (c3: 8 days)
    assert (sw.n, sw.switched, sw.censored) == (4, 1, 0)
    assert sw.switch_rate == pytest.approx(25.0)
    anywhere = ws.channel_switching("app", "*").iloc[0]  # c1 -> chat, c2 -> phone, c3 -> email
    assert (anywhere.n, anywhere.switched) == (4, 3)
    matrix = ws.channel_switching()
    cell = matrix[(matrix.from_channel == "app") & (matrix.to_channel == "email")].iloc[0]
    assert (cell.n, cell.switched) == (4, 1)
    assert not (matrix.from_channel == matrix.to_channel).any()
    wide = switching_matrix(matrix).set_index("from_channel")
    assert wide.loc["app", "phone"] == pytest.approx(25.0)
    # Same reason: of contacts only; c4's app contact is the only app one, and nothing follows it.
    assert ws.channel_switching("app", "*", same_reason=True).iloc[0].switched == 0
    phone_to_app = ws.channel_switching("phone", "app", unit="contacts", same_reason=True).iloc[0]
    assert phone_to_app.switched == 1  # c4: phone 01-12 -> app 01-14, same reason


def test_worked_example(ws_any: momenti.Workspace) -> None:
    load(ws_any)
    check_worked_example(ws_any)


def test_worked_example_on_a_postgres_warehouse(tmp_path: Path, pg_warehouse_url: str) -> None:
    duck = momenti.open(tmp_path / "data")
    duck.apply_journey(BANK)
    load(duck)
    pg = momenti.Workspace(get_settings(data_dir=tmp_path / "data", warehouse_url=pg_warehouse_url))
    pg.sync(rebuild=True)
    check_worked_example(pg)
    for name, call in (("fcr", lambda w: w.fcr(by=["reason", "channel", "segment:segment"], period="week")),
                       ("aht", lambda w: w.handling_time(by=["activity"], period="day")),
                       ("complaints", lambda w: w.complaint_rate(by=["channel"], period="month")),
                       ("switching", lambda w: w.channel_switching(by=["segment:segment"], unit="contacts"))):
        a, b = call(duck), call(pg)
        assert len(a) > 0, name
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)


def test_contact_facts_follow_late_events(workspace: momenti.Workspace) -> None:
    """Facts built on part of the log, then brought up to date, equal a computation from raw events."""
    late = {"e04", "e06", "e07", "e11"}  # K2 (K1's repeat), K9 (the censored one), K10's second event
    load(workspace, [e for e in EVENTS if e["event_id"] not in late])
    first = workspace.repeat_contacts(by="reason")  # builds the facts on the partial log
    assert rows(first, "reason")[CB]["repeats"] == 1  # K1 not yet repeated
    assert workspace.import_records("events", [e for e in EVENTS if e["event_id"] in late]).added == len(late)
    check_worked_example(workspace)
    q = C.ContactQuery.build(C.CONTACT_DIMENSIONS, by=["reason", "channel", "agent", "touchpoint"])
    with workspace.warehouse() as wh:
        assert contact_facts.fresh(wh)
        facts = C.repeat_contacts(wh, q, source="facts")
        raw = C.repeat_contacts(wh, q, source="raw")
        assert wh.table(contact_facts.TABLE).count().execute() == 12
    pd.testing.assert_frame_equal(facts, raw)
    workspace.sync(rebuild=True)  # a rebuilt warehouse starts the facts over
    check_worked_example(workspace)


def test_empty_log_and_bad_input(workspace: momenti.Workspace) -> None:
    empty = workspace.fcr(by="reason")
    assert empty.empty and list(empty.columns) == ["reason", "n", "repeats", "fcr", "ci_low", "ci_high",
                                                   "censored", "small_sample"]
    assert workspace.handling_time().empty and workspace.channel_switching("app", "phone").empty
    for call, message in ((lambda: workspace.fcr(by="colour"), "unknown dimension 'colour'"),
                          (lambda: workspace.fcr(days=0), "days must be at least 1"),
                          (lambda: workspace.fcr(period="fortnight"), "unknown period"),
                          (lambda: workspace.fcr(start="2025-02-01", end="2025-01-01"), "is after"),
                          (lambda: workspace.fcr(start="yesterday"), "not a date"),
                          (lambda: workspace.handling_time(by="activity", per="contact"), "unknown dimension"),
                          (lambda: workspace.handling_time(per="call"), "per must be"),
                          (lambda: workspace.complaint_rate(unit="customers", by="reason"), "per customer"),
                          (lambda: workspace.channel_switching("app", "app"), "same channel"),
                          (lambda: workspace.channel_switching(unit="people"), "unit must be")):
        with pytest.raises(InputError, match=message):
            call()


# --- the demo's planted truth ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[momenti.Workspace, pd.DataFrame]:
    from momenti.demo import generate

    data = generate(size="small", seed=42)
    ws = momenti.open(Path(tmp_path_factory.mktemp("demo-contact")) / "data")
    ws.apply_journey(data.journey)
    for kind, table in data.tables().items():
        summary = ws.import_table(kind, table, source=f"demo:{kind}")
        assert summary.rejected == 0, summary.errors[:5]
    return ws, data.events.to_pandas()


def test_demo_carta_bloccata_causes_repeat_contacts(demo: tuple[momenti.Workspace, pd.DataFrame]) -> None:
    ws, _ = demo
    rep = ws.repeat_contacts(days=7, by="reason").set_index("reason")
    card = rep.loc["carta bloccata"]
    rest = rep.drop(index="carta bloccata")
    rest_rate, rest_lo, rest_hi = stats.wilson(rest.repeats.sum(), rest.n.sum())
    assert card.n > 400 and rest.n.sum() > 4000
    assert 28 < card.repeat_rate < 40  # planted 0.35 (docs/demo-truths.md measures 33.8 % at default size)
    assert 5 < rest_rate < 10  # planted 0.07
    assert card.ci_low > rest_hi  # the intervals do not overlap
    fcr = ws.fcr(by="reason").set_index("reason")
    others = fcr.drop(index="carta bloccata")
    assert fcr.loc["carta bloccata", "fcr"] < 75 < 88 < 100 - rest_rate
    assert fcr.loc["carta bloccata", "ci_high"] < others.loc[~others.small_sample, "ci_low"].min()


def test_demo_counts_equal_an_independent_pandas_computation(demo: tuple[momenti.Workspace, pd.DataFrame]) -> None:
    ws, events = demo
    end = events.timestamp.max()
    c = events[events.reason.notna()].groupby(["customer_id", "case_id", "reason"], as_index=False).agg(
        ts=("timestamp", "min"))
    c = c.sort_values(["customer_id", "reason", "ts"])
    gap = c.groupby(["customer_id", "reason"]).ts.shift(-1) - c.ts
    c["eligible"] = c.ts <= end - pd.Timedelta(days=7)
    c["rep"] = c.eligible & (gap <= pd.Timedelta(days=7))
    want = c.groupby("reason").agg(n=("eligible", "sum"), repeats=("rep", "sum"), total=("ts", "size"))
    got = ws.repeat_contacts(by="reason").set_index("reason")
    assert got.n.to_dict() == want.n.to_dict()
    assert got.repeats.to_dict() == want.repeats.to_dict()
    assert (got.n + got.censored).to_dict() == want.total.to_dict()
    timed = events[events.duration_s.notna()].groupby("activity").duration_s
    aht = ws.handling_time(by="activity").set_index("activity")
    assert np.allclose(aht.mean_s, timed.mean().loc[aht.index])
    assert np.allclose(aht.median_s, timed.median().loc[aht.index])
    assert np.allclose(aht.p90_s, timed.quantile(0.9).loc[aht.index])


# --- CLI and REST ---------------------------------------------------------------------------------------------


@pytest.fixture
def example_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    ws = momenti.open(tmp_path / "data")
    ws.apply_journey(BANK)
    load(ws)
    ws.close()
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data"


def cli_json(*args: str) -> dict:
    result = CliRunner().invoke(cli_main.app, ["journeys", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_commands(example_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    doc = cli_json("fcr", "--by", "reason", "--days", "7")
    assert doc["kpi"] == "fcr" and doc["query"]["days"] == 7
    by = {r["reason"]: r for r in doc["rows"]}
    assert (by[CO]["n"], by[CO]["repeats"], by[CO]["censored"]) == (5, 3, 1)
    assert cli_json("repeats", "--days", "3")["rows"][0]["repeats"] == 1
    assert cli_json("repeats", "--filter", "channel=phone", "--filter", f"reason={CB}")["rows"][0]["n"] == 3
    assert cli_json("repeats", "--to", "2025-01-10", "--filter", f"reason={CO}")["rows"][0]["n"] == 4
    assert cli_json("fcr", "--by", "channel", "--period", "month")["rows"][0]["period"] == "2025-01-01"
    aht = {r["agent"]: r for r in cli_json("aht", "--by", "agent")["rows"]}
    assert aht["A1"]["mean_s"] == pytest.approx(220)
    assert cli_json("complaints", "--unit", "customers")["rows"][0]["complaints"] == 1
    sw = cli_json("switching", "--from-channel", "app", "--to-channel", "*")["rows"][0]
    assert (sw["n"], sw["switched"]) == (4, 3)

    table = CliRunner().invoke(cli_main.app, ["journeys", "fcr", "--by", "reason"])
    assert table.exit_code == 0 and "carta bloccata" in table.stdout and "FCR" in table.stdout
    assert "small_sample" in table.stdout  # n < 30 everywhere: the warning is printed
    csv = CliRunner().invoke(cli_main.app, ["journeys", "aht", "--per", "contact", "--by", "reason",
                                            "--format", "csv"])
    assert csv.exit_code == 0 and csv.stdout.splitlines()[0].startswith("reason,n,mean_s,ci_low")
    matrix = CliRunner().invoke(cli_main.app, ["journeys", "switching", "--matrix", "--format", "csv"])
    assert matrix.exit_code == 0 and matrix.stdout.splitlines()[0].startswith("from_channel,app,")

    monkeypatch.setattr(sys, "argv", ["momenti", "journeys", "fcr", "--by", "colour"])
    with pytest.raises(SystemExit) as exc:
        cli_main.main()
    assert exc.value.code == 2 and "unknown dimension 'colour'" in capsys.readouterr().err


def test_rest_routes(example_dir: Path) -> None:
    with AuthedClient(create_app(get_settings(data_dir=example_dir))) as client:
        r = client.get("/api/v1/journeys/fcr", params={"by": "reason", "days": 7})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["kpi"] == "fcr" and body["query"]["by"] == ["reason"]
        by = {row["reason"]: row for row in body["rows"]}
        assert (by[CB]["n"], by[CB]["repeats"]) == (5, 2) and by[CB]["fcr"] == pytest.approx(60.0)
        r = client.get("/api/v1/journeys/repeats", params=[("filter", f"reason:{CB}"), ("filter", "channel:phone")])
        assert r.json()["rows"][0]["repeats"] == 2
        r = client.get("/api/v1/journeys/repeats", params={"from": "2025-01-03", "to": "2025-01-10",
                                                           "filter": f"reason:{CO}"})
        assert (r.json()["rows"][0]["n"], r.json()["rows"][0]["repeats"]) == (3, 2)  # K10 and K7 of K10, K6, K7
        r = client.get("/api/v1/journeys/aht", params={"by": "reason", "per": "contact"})
        assert {row["reason"]: row["mean_s"] for row in r.json()["rows"]} == {CB: 280, CO: 180}
        r = client.get("/api/v1/journeys/complaints", params={"by": "segment:segment"})
        assert {row["segment_segment"]: row["complaints"] for row in r.json()["rows"]} == {"mass": 0, "young": 1}
        r = client.get("/api/v1/journeys/switching", params={"from_channel": "app", "to_channel": "phone"})
        assert r.json()["rows"][0]["switch_rate"] == pytest.approx(25.0)
        assert client.get("/api/v1/journeys/fcr", params={"by": "colour"}).status_code == 400
        assert client.get("/api/v1/journeys/fcr", params={"period": "fortnight"}).status_code == 422
        assert client.get("/api/v1/journeys/fcr", params={"days": 0}).status_code == 422
