"""Recovery: resolving a case sends the recovery survey through a real SMTP server (aiosmtpd), past the
fatigue limit with the case as the documented exception, and the customer's answer is linked to the case."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from api_helpers import make_api
from conftest import BANK, make_workspace
from momenti.domains.loop.rules import apply_rules, load_rules, template_text
from momenti.domains.surveys.definition import template
from momenti.domains.surveys.invite import Contact, invite
from momenti.domains.surveys.service import apply_survey
from momenti.store.models import Invitation
from reach_helpers import Inbox, parts, smtp_fixture  # noqa: F401 - the smtp fixture


def test_resolving_sends_the_recovery_survey_and_links_the_answer(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    mail = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "Banca Esempio <cx@banca.example>",
            "public_url": "https://cx.banca.example", "quiet_hours": ""}  # no quiet hours: the hour of the run
    ws = make_workspace(tmp_path, "sqlite", **mail)
    ws.apply_journey(BANK)
    apply_survey(ws, template("complaint-recovery"))
    apply_survey(ws, template("nps-relationship"))
    ws.import_records("customers", [{"customer_id": "C-REC", "email": "mario.rossi@example.com",
                                     "language": "it"}], source="t", strict=True)
    # invited a moment ago to another survey: the fatigue rule would skip the recovery survey
    sent = invite(ws, "nps-relationship", [Contact("C-REC", "mario.rossi@example.com", "it")])
    assert list(sent["result"]) == ["sent"]
    gen = make_api(ws, **mail)
    api = next(gen)
    try:
        with api.ws.session() as s, s.begin():
            apply_rules(s, load_rules(template_text()), "test")
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        api.post("/api/v1/responses", {"response_id": "rec1", "customer_id": "C-REC", "touchpoint": "branch-visit",
                                       "submitted_at": now, "answers": {"nps": 2}})
        with api.app.state.syncer.lock:
            api.ws.sync_written()
        cid = api.client.get("/api/v1/cases?customer_id=C-REC").json()["rows"][0]["id"]
        for body in ({"action": "contact", "channel": "phone", "outcome": "reached"},
                     {"action": "resolve", "root_cause": "people", "recovered": True}):
            assert api.client.post(f"/api/v1/cases/{cid}/actions", json=body).status_code == 200
        with api.app.state.syncer.lock:
            api.ws.sync_written()  # the recovery subscriber sends it
        assert len(inbox.messages) == 2
        msg = inbox.messages[-1]
        assert msg["To"].endswith("<mario.rossi@example.com>") or msg["To"] == "mario.rossi@example.com"
        text, _ = parts(msg)
        assert "https://cx.banca.example/s/complaint-recovery?t=" in text
        with api.ws.session() as s:
            inv = s.scalar(select(Invitation).where(Invitation.survey_key == "complaint-recovery"))
        assert inv.trigger_event == f"case:{cid}" and f"frequency exception (case {cid})" in (inv.detail or "")
        detail = api.client.get(f"/api/v1/cases/{cid}").json()
        assert [e["new"] for e in detail["entries"] if e["kind"] == "recovery_survey"] == ["sent"]

        # the customer answers (the survey's hidden case_id comes back with the answer)
        api.post("/api/v1/responses", {"response_id": "rec-answer", "customer_id": "C-REC",
                                       "touchpoint": "complaint-handling", "submitted_at": now,
                                       "answers": {"case_id": str(cid), "nps": 9, "csat": 4}})
        with api.app.state.syncer.lock:
            api.ws.sync_written()
        detail = api.client.get(f"/api/v1/cases/{cid}").json()
        recovery = [e for e in detail["entries"] if e["kind"] == "recovery"]
        assert len(recovery) == 1 and recovery[0]["detail"]["nps"] == 9
        # resolving again does not send twice (reopen + resolve)
        for body in ({"action": "reopen"}, {"action": "resolve", "root_cause": "people", "recovered": True}):
            assert api.client.post(f"/api/v1/cases/{cid}/actions", json=body).status_code == 200
        with api.app.state.syncer.lock:
            api.ws.sync_written()
        assert len(inbox.messages) == 2
    finally:
        next(gen, None)
        ws.close()
