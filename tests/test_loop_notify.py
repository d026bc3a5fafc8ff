"""Staff e-mails of the alert rules through a real SMTP server (aiosmtpd): the team is told, each user as they
chose (immediate, daily digest, off), throttled per hour, never twice for one event, with a one-click
unsubscribe that works."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlparse

from fastapi.testclient import TestClient
from sqlalchemy import text

from api_helpers import make_api
from auth_helpers import add_user
from conftest import BANK, make_workspace
from momenti.domains.loop import notify
from momenti.domains.loop.rules import apply_rules, load_rules
from momenti.pipelines import events
from reach_helpers import Inbox, smtp_fixture  # noqa: F401 - the smtp fixture

RULES = {"rules": [{"key": "detractor", "name": {"it": "Detrattore", "en": "Detractor"}, "on": "response",
                    "response": {"metric": "nps", "at_most": 6, "moments_of_truth": True},
                    "open_case": {"team": "owner", "priority": "high"},
                    "notify": {"email": ["team"], "max_per_hour": 2}}]}


def test_the_team_is_told_as_each_member_chose(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    mail = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "momenti <cx@banca.example>",
            "public_url": "https://cx.banca.example"}
    ws = make_workspace(tmp_path, "sqlite", **mail)
    ws.apply_journey(BANK)
    gen = make_api(ws, **mail)
    api = next(gen)
    try:
        add_user(api.ws, "lead@bank.example", "team_lead", team="Rete filiali")
        add_user(api.ws, "agent@bank.example", "agent", team="Rete filiali")
        add_user(api.ws, "quiet@bank.example", "agent", team="Rete filiali")
        add_user(api.ws, "elsewhere@bank.example", "agent", team="Digital banking")
        with api.ws.session() as s, s.begin():
            apply_rules(s, load_rules(RULES), "test")
            notify.set_mode(s, "agent@bank.example", "daily")
            notify.set_mode(s, "quiet@bank.example", "off")
            s.execute(text("UPDATE users SET language = 'en' WHERE email = 'lead@bank.example'"))
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i in range(3):
            api.post("/api/v1/responses", {"response_id": f"n{i}", "customer_id": f"C-N{i}",
                                           "touchpoint": "branch-visit", "submitted_at": now, "answers": {"nps": 1}})
            with api.app.state.syncer.lock:
                api.ws.sync_written()
        assert sorted(m["To"] for m in inbox.messages) == ["lead@bank.example"] * 2  # throttled at 2 an hour
        first = inbox.messages[0]
        body = first.get_body(("plain",)).get_content()
        assert first["Subject"] == "[momenti] New case: Detractor" and "/cases/" in body
        assert "C-N0" not in body  # ids and a link, not the customer
        # handed over again: nothing twice
        with api.ws.engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox_delivered WHERE subscriber = 'notify'"))
        with api.app.state.syncer.lock:
            events.dispatch(api.ws, ["notify"])
        assert len(inbox.messages) == 2
        # the daily digest: the agent's three cases in one message, the lead's throttled one in another
        assert notify.send_due(api.ws, digest=True) == {"sent": 2, "failed": 0}
        digests = {m["To"]: m for m in inbox.messages[2:]}
        assert set(digests) == {"agent@bank.example", "lead@bank.example"}
        assert digests["agent@bank.example"]["Subject"] == "[momenti] Il riepilogo di oggi: 3"
        assert digests["agent@bank.example"].get_body(("plain",)).get_content().count("/cases/") == 3
        # one-click unsubscribe (RFC 8058): the header's URL, POSTed by the mail client
        url = first["List-Unsubscribe"].strip("<>")
        assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        path = urlparse(url).path + "?" + urlparse(url).query
        anonymous = TestClient(api.app)
        assert "Confirm" in anonymous.get(path + "&lang=en").text  # GET only asks
        assert anonymous.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        assert anonymous.post(path.replace("lead@", "agent@")).status_code == 400  # a forged token
        with api.ws.session() as s:
            modes = dict(s.execute(text("SELECT email, notify FROM users")).all())
        assert modes["lead@bank.example"] == "off" and modes["agent@bank.example"] == "daily"
    finally:
        next(gen, None)
        ws.close()


def test_a_rules_quiet_hours_hold_messages_until_they_end() -> None:
    # 22:30 in Rome on 2 December (UTC+1) is inside 21:00-08:00: held until 08:00 local = 07:00 UTC
    assert notify._in_quiet_hours(dt.datetime(2026, 12, 2, 21, 30), "21:00-08:00", "Europe/Rome") == \
        dt.datetime(2026, 12, 3, 7, 0)
    assert notify._in_quiet_hours(dt.datetime(2026, 12, 2, 10, 0), "21:00-08:00", "Europe/Rome") is None
    assert notify._in_quiet_hours(dt.datetime(2026, 12, 2, 21, 30), None, "Europe/Rome") is None
