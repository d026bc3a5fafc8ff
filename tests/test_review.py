"""The outside-in weekly review: a round trip through the CLI, the API and the page; the week's figures recomputed
by hand; an improvement's before/after equal to the compare query; the Friday reminder and the Monday summary
through a real SMTP server at the right local time (a fake clock); the demo's planted improvements."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import momenti
from api_helpers import make_api
from auth_helpers import add_user, csrf_of, make_token, sign_in
from conftest import BANK, make_workspace
from momenti.core.errors import ForbiddenError, InputError
from momenti.domains.loop.cases import Actor
from momenti.domains.story import review_mail
from reach_helpers import Inbox, smtp_fixture  # noqa: F401 - the smtp fixture

WEEK = "2026-W40"


def test_a_week_recorded_and_read_back(ws_any: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = ws_any
    given = [("app-login", 4, 5, 3), ("money-transfer", 2, 3, 5), (None, 5, 1, 2)]
    for i, (tp, v, e, p) in enumerate(given):
        ws.review_add("Digital banking", WEEK, f"attività {i}", v, e, p, [tp] if tp else [])
    ws.review_add("Rete filiali", "2026-10-01", "richiamati i clienti", 4, 4, 4, ["branch-visit"])  # a day of W40
    rows = ws.reviews("Digital banking")
    assert len(rows) == 1
    r = rows.iloc[0]
    assert (r["week"], r["week_start"], r["activities"], r["customer_activities"]) == (WEEK, "2026-09-28", 3, 2)
    assert r["customer_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert r["customer_share_ci_low"] < 2 / 3 < r["customer_share_ci_high"]  # n = 3: a wide interval
    assert (r["value"], r["ease"], r["pleasantness"]) == (3.0, 4.0, 4.0)  # the two customer activities
    assert r["value_all"] == pytest.approx(11 / 3, abs=1e-3)
    everyone = ws.reviews()
    total = everyone[everyone["team"] == "all"].iloc[0]
    assert (total["activities"], total["customer_activities"]) == (4, 3)
    with pytest.raises(InputError, match="team 'Nessuno'"):
        ws.review_add("Nessuno", WEEK, "x", 3, 3, 3)
    with pytest.raises(InputError, match="value"):
        ws.review_add("Digital banking", WEEK, "x", 6, 3, 3)
    with pytest.raises(InputError, match="touchpoint nowhere"):
        ws.review_add("Digital banking", WEEK, "x", 3, 3, 3, ["nowhere"])
    with pytest.raises(ForbiddenError):
        ws.review_add("Digital banking", WEEK, "x", 3, 3, 3, actor=Actor("user:l", "team_lead", "Rete filiali"))
    # the same external id twice is one activity
    a = ws.review_add("Digital banking", WEEK, "x", 3, 3, 3, external_id="ext-1")
    b = ws.review_add("Digital banking", WEEK, "x", 3, 3, 3, external_id="ext-1")
    assert a["id"] == b["id"] and b["created"] is False
    # the command line
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws.settings.data_dir))
    if ws.settings.database_url:
        monkeypatch.setenv("MOMENTI_DATABASE_URL", ws.settings.database_url)
    from momenti.cli.main import app

    runner = CliRunner()
    out = runner.invoke(app, ["review", "add", "--team", "Rete filiali", "--week", WEEK, "--what", "formazione",
                              "--value", "3", "--ease", "4", "--pleasantness", "5"])
    assert out.exit_code == 0, out.output
    listed = runner.invoke(app, ["review", "list", "--team", "Rete filiali", "--format", "json"])
    doc = json.loads(listed.stdout)
    assert doc["basis"] == "customer activities" and doc["rows"][0]["activities"] == 2
    assert doc["rows"][0]["customer_share"] == 0.5


def test_the_review_over_the_api_and_the_page(workspace: momenti.Workspace) -> None:
    gen = make_api(workspace)
    api = next(gen)
    try:
        add_user(api.ws, "lead@bank.example", "team_lead", team="Digital banking")
        add_user(api.ws, "agent@bank.example", "agent", team="Digital banking")
        add_user(api.ws, "viewer@bank.example", "viewer")
        body = {"team": "Digital banking", "week": WEEK, "what": "corretto il login", "touchpoints": ["app-login"],
                "value": 4, "ease": 5, "pleasantness": 3}
        read = {"Authorization": f"Bearer {make_token(api.ws, 'read')}"}
        assert api.client.post("/api/v1/reviews", json=body, headers=read).status_code == 403
        assert api.client.post("/api/v1/reviews", json=body).status_code == 201  # the admin token
        assert api.client.post("/api/v1/reviews", json={**body, "value": 9}).status_code == 422
        got = api.client.get("/api/v1/reviews?team=Digital%20banking", headers=read).json()
        assert got["rows"][0]["activities"] == 1 and got["rows"][0]["customer_share"] == 1.0
        # found by schemathesis: a huge or negative window was a 500 (date arithmetic out of range)
        for weeks in ("-163280264252", "0", "105"):
            bad = api.client.get(f"/api/v1/reviews/improvements?weeks={weeks}", headers=read)
            assert bad.status_code == 422 and "weeks" in bad.text
        with pytest.raises(InputError, match="weeks must be between 1 and 104"):
            api.ws.review_improvements(weeks=-5)

        lead = TestClient(api.app)
        assert sign_in(lead, "lead@bank.example").status_code == 303
        page = lead.get("/review?lang=it&since=2026-09-01")
        assert page.status_code == 200 and "Quanto abbiamo lavorato per il cliente" in page.text
        assert "2026-W40" in page.text
        r = lead.post("/review?lang=it", data={"csrf_token": csrf_of(page.text), "team": "Digital banking",
                                               "week": WEEK, "what": "riunione interna", "value": "2", "ease": "3",
                                               "pleasantness": "3", "touchpoint": ""},
                      headers={"Origin": "http://testserver"}, follow_redirects=False)
        assert r.status_code == 303
        week = api.client.get("/api/v1/reviews?team=Digital%20banking").json()["rows"][0]
        assert (week["activities"], week["customer_activities"]) == (2, 1)
        # a team lead reads and writes their own team only; an agent does not record the review
        assert lead.get("/api/v1/reviews?team=Rete%20filiali").status_code == 403
        agent = TestClient(api.app)
        assert sign_in(agent, "agent@bank.example").status_code == 303
        assert agent.get("/review").status_code == 403
        viewer = TestClient(api.app)
        assert sign_in(viewer, "viewer@bank.example").status_code == 303
        assert viewer.get("/api/v1/reviews").status_code == 200  # team aggregates
        vpage = viewer.get("/review?lang=en")
        assert vpage.status_code == 200 and "Record an activity" not in vpage.text
    finally:
        next(gen, None)


def test_an_improvement_beside_the_compare_of_its_touchpoint(demo_ws: momenti.Workspace) -> None:
    from momenti.demo.reviews import plant_reviews

    added = plant_reviews(demo_ws)
    assert added > 3000 and plant_reviews(demo_ws) == 0  # once
    imp = demo_ws.review_improvements(start="2024-11-01")
    fix = imp[(imp["team"] == "Digital banking") & (imp["week"] == "2026-W18")].iloc[0]
    cmp = demo_ws.compare("csat", filters={"touchpoint": ["app-login"]}, periods=(fix["before"], fix["after"]))
    assert fix["metric"] == "csat" and fix["before"] == "2026-03-02..2026-04-26"
    assert (fix["n_a"], fix["n_b"]) == (cmp.iloc[0]["n_a"], cmp.iloc[0]["n_b"])
    assert fix["value_a"] == pytest.approx(cmp.iloc[0]["csat_a"])
    assert fix["delta"] == pytest.approx(cmp.iloc[0]["delta"])
    assert bool(fix["significant"]) and fix["delta"] > 10  # the app fix after the March release worked
    script = imp[(imp["team"] == "Rete filiali")].iloc[0]
    assert not bool(script["significant"])  # the welcome script did not move the branch's NPS
    weeks = demo_ws.reviews("Digital banking")
    assert len(weeks) == 104 and 0.7 < weeks["customer_activities"].sum() / weeks["activities"].sum() < 0.9
    ops = demo_ws.reviews("Operations carte")
    assert ops["customer_activities"].sum() / ops["activities"].sum() < 0.6


def _utc(local: str, zone: str) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC).replace(tzinfo=None)


def test_the_friday_reminder_and_the_monday_summary(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    ws = make_workspace(tmp_path, "sqlite", smtp_host="127.0.0.1", smtp_port=port,
                        smtp_from="momenti <cx@banca.example>", public_url="https://cx.banca.example")
    ws.apply_journey(BANK)
    add_user(ws, "lead.rome@bank.example", "team_lead", team="Digital banking")
    add_user(ws, "lead.ny@bank.example", "team_lead", team="Rete filiali")
    add_user(ws, "cx@bank.example", "cx_manager")
    from sqlalchemy import text

    with ws.session() as s, s.begin():
        s.execute(text("UPDATE teams SET timezone = 'America/New_York' WHERE name = 'Rete filiali'"))
        s.execute(text("UPDATE users SET language = 'en' WHERE email = 'lead.ny@bank.example'"))
    ws.review_add("Digital banking", "2026-10-09", "corretto il login", 4, 5, 3, ["app-login"])
    # Friday 9 October 2026, 14:30 in Rome: not yet (the reminder goes from 15:00 local)
    assert review_mail.send_due(ws, _utc("2026-10-09T14:30", "Europe/Rome")) == {"sent": 0, "failed": 0}
    assert review_mail.send_due(ws, _utc("2026-10-09T15:05", "Europe/Rome"))["sent"] == 1
    assert [m["To"] for m in inbox.messages] == ["lead.rome@bank.example"]
    first = inbox.messages[0]
    assert first["Subject"] == "[momenti] Revisione settimanale di Digital banking: 2026-W41"
    assert "1 attività registrate" in first.get_body(("plain",)).get_content()
    # the same hour again: nothing twice; 15:00 in New York is later
    assert review_mail.send_due(ws, _utc("2026-10-09T15:40", "Europe/Rome"))["sent"] == 0
    assert review_mail.send_due(ws, _utc("2026-10-09T15:10", "America/New_York"))["sent"] == 1
    ny = inbox.messages[-1]
    assert ny["To"] == "lead.ny@bank.example" and ny["Subject"] == "[momenti] Weekly review of Rete filiali: 2026-W41"
    # Monday 12 October, 9:00 in Rome: the summary of week 41 to the CX manager
    assert review_mail.send_due(ws, _utc("2026-10-12T08:59", "Europe/Rome"))["sent"] == 0
    assert review_mail.send_due(ws, _utc("2026-10-12T09:01", "Europe/Rome"))["sent"] == 1
    summary = inbox.messages[-1]
    body = summary.get_body(("plain",)).get_content()
    assert summary["To"] == "cx@bank.example" and "2026-W41" in summary["Subject"]
    assert "Digital banking: 1 attività, 100 % per il cliente" in body and "Rete filiali: nessuna attività" in body
    assert review_mail.send_due(ws, _utc("2026-10-12T10:01", "Europe/Rome"))["sent"] == 0


def test_every_table_of_the_pages_downloads_as_csv_and_parquet(workspace: momenti.Workspace) -> None:
    import io

    import pyarrow.parquet as pq

    gen = make_api(workspace)
    api = next(gen)
    try:
        api.ws.review_add("Digital banking", WEEK, "=HYPERLINK(\"http://evil\")", 3, 3, 3, ["app-login"])
        api.ws.import_records("responses", [{"response_id": "x1", "customer_id": "C-X", "touchpoint": "app-login",
                                             "submitted_at": "2026-09-30T10:00:00Z", "nps": 9, "csat": 5}])
        with api.app.state.syncer.lock:
            api.ws.sync_written()
        add_user(api.ws, "cx@bank.example", "cx_manager")
        c = TestClient(api.app)
        assert sign_in(c, "cx@bank.example").status_code == 303
        csv = c.get("/review?since=2026-09-01&format=csv&panel=activities")
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert "'=HYPERLINK" in csv.text  # formula-safe
        parquet = c.get("/review?since=2026-09-01&format=parquet&panel=weeks")
        table = pq.read_table(io.BytesIO(parquet.content))
        assert table.num_rows == 2 and "customer_share" in table.column_names  # the team and "all"
        tl = pq.read_table(io.BytesIO(c.get("/customers/C-X?format=parquet").content)).to_pylist()
        assert tl[0]["kind"] == "response" and json.loads(tl[0]["scores"]) == {"nps": 9, "csat": 5}
        assert c.get("/customers/C-X?format=csv").text.startswith("ts,kind,id")
        assert pq.read_table(io.BytesIO(c.get("/cases?format=parquet").content)).num_rows == 0
        assert pq.read_table(io.BytesIO(c.get("/?format=parquet").content)).num_rows > 10  # the touchpoints
        page = c.get("/moments?format=json").json()
        key = page["panels"][0]["key"]
        moments = pq.read_table(io.BytesIO(c.get(f"/moments?format=parquet&panel={key}").content))
        assert moments.num_rows == len(page["panels"][0]["rows"])
        assert c.get("/review?format=csv&panel=nope").status_code == 400
    finally:
        next(gen, None)
