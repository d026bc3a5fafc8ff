"""The case pages: the queue and one case, worked through forms by a signed-in agent (CSRF on every POST), in
both languages; another team's case is not found."""

from __future__ import annotations

import datetime as dt
import html
import re

from fastapi.testclient import TestClient

import momenti
from api_helpers import make_api
from auth_helpers import add_user, sign_in
from momenti.domains.loop.rules import apply_rules, load_rules, template_text


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def test_an_agent_works_a_case_on_the_pages(workspace: momenti.Workspace) -> None:
    gen = make_api(workspace)
    api = next(gen)
    try:
        with api.ws.session() as s, s.begin():
            apply_rules(s, load_rules(template_text()), "test")
        add_user(api.ws, "agente@bank.example", "agent", team="Rete filiali")
        add_user(api.ws, "altro@bank.example", "agent", team="Digital banking")
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        api.post("/api/v1/responses", {"response_id": "pg1", "customer_id": "C-PG", "touchpoint": "branch-visit",
                                       "submitted_at": now, "answers": {"nps": 1}})
        with api.app.state.syncer.lock:
            api.ws.sync_written()
        cid = api.client.get("/api/v1/cases?customer_id=C-PG").json()["rows"][0]["id"]

        agent = TestClient(api.app)
        assert sign_in(agent, "agente@bank.example").status_code == 303
        queue = agent.get("/cases?lang=it")
        assert queue.status_code == 200 and f'href="/cases/{cid}?lang=it"' in queue.text
        assert "nei tempi" in queue.text and "Casi" in queue.text  # the SLA badge, in Italian
        assert agent.get("/cases?lang=en&status=all&format=json").json()["total"] == 1
        page = agent.get(f"/cases/{cid}?lang=en")
        assert page.status_code == 200 and "Log a contact" in page.text and "Rete filiali" in page.text
        token = _csrf(page.text)
        origin = {"Origin": "http://testserver"}
        # no CSRF token: refused
        assert agent.post(f"/cases/{cid}", data={"action": "note", "text": "x"}, headers=origin).status_code == 403
        r = agent.post(f"/cases/{cid}?lang=en", data={"csrf_token": token, "action": "contact", "channel": "phone",
                                                      "outcome": "reached", "text": "scuse e appuntamento"},
                       headers=origin, follow_redirects=False)
        assert r.status_code == 303
        missing = agent.post(f"/cases/{cid}?lang=en", data={"csrf_token": token, "action": "resolve",
                                                            "recovered": "yes"}, headers=origin)
        assert missing.status_code == 400 and "root cause is required" in missing.text
        done = agent.post(f"/cases/{cid}?lang=en", data={"csrf_token": token, "action": "resolve",
                                                         "root_cause": "people", "recovered": "yes",
                                                         "text": "richiamato"}, headers=origin)
        assert done.status_code == 200 and "resolved for the customer" in done.text
        detail = api.client.get(f"/api/v1/cases/{cid}").json()
        assert (detail["status"], detail["root_cause"], detail["first_contact_state"]) == \
            ("resolved", "people", "met")

        loop = api.client.get("/loop?lang=en")
        assert loop.status_code == 200 and "Closed loop" in loop.text and "Root causes by touchpoint" in loop.text
        data = api.client.get("/loop?format=json").json()
        assert data["panels"][0]["rows"][0]["team"] == "Rete filiali"
        assert agent.get("/loop").status_code == 403  # an agent reads cases, not the aggregates

        other = TestClient(api.app)
        assert sign_in(other, "altro@bank.example").status_code == 303
        assert other.get(f"/cases/{cid}").status_code == 404
        assert f"/cases/{cid}" not in other.get("/cases?status=all").text
        assert TestClient(api.app).get("/cases", follow_redirects=False).status_code == 303  # sign in first
    finally:
        next(gen, None)


def test_the_admin_pages_of_rules_and_webhooks(workspace: momenti.Workspace) -> None:
    gen = make_api(workspace, webhook_allow_hosts="127.0.0.1")
    api = next(gen)
    try:
        add_user(api.ws, "cx@bank.example", "cx_manager")
        add_user(api.ws, "root@bank.example", "admin")
        add_user(api.ws, "agente@bank.example", "agent", team="Rete filiali")
        origin = {"Origin": "http://testserver"}
        cx = TestClient(api.app)
        assert sign_in(cx, "cx@bank.example").status_code == 303
        page = cx.get("/admin/rules?lang=en")
        assert page.status_code == 200 and "detractor-at-moment-of-truth" in page.text  # the starter rules
        token = _csrf(page.text)
        doc = re.search(r'<textarea id="document" name="document"[^>]*>(.*?)</textarea>', page.text, re.S)[1]
        doc = html.unescape(doc)
        tried = cx.post("/admin/rules?lang=en", data={"csrf_token": token, "action": "test", "document": doc,
                                                      "since": "2026-01-01"}, headers=origin)
        assert tried.status_code == 200 and "Dry run since 2026-01-01" in tried.text
        bad = cx.post("/admin/rules", data={"csrf_token": token, "action": "apply",
                                            "document": "rules:\n  - {key: x, on: response}"}, headers=origin)
        assert bad.status_code == 400 and "rules[0]" in bad.text
        applied = cx.post("/admin/rules?lang=en", data={"csrf_token": token, "action": "apply", "document": doc},
                          headers=origin)
        assert applied.status_code == 200 and "version 1 in force" in applied.text
        assert cx.get("/admin/webhooks").status_code == 403  # webhooks are the admin's

        agent = TestClient(api.app)
        assert sign_in(agent, "agente@bank.example").status_code == 303
        assert agent.get("/admin/rules").status_code == 403

        root = TestClient(api.app)
        assert sign_in(root, "root@bank.example").status_code == 303
        token = _csrf(root.get("/admin/webhooks").text)
        added = root.post("/admin/webhooks?lang=en", data={"csrf_token": token, "action": "add",
                                                           "url": "http://127.0.0.1:9/hook",
                                                           "events": ["case.opened", "case.breached"]}, headers=origin)
        assert added.status_code == 201 and "whsec_" in added.text
        refused = root.post("/admin/webhooks", data={"csrf_token": token, "action": "add",
                                                     "url": "http://169.254.169.254/latest", "events": ["case.opened"]},
                            headers=origin)
        assert refused.status_code == 400 and "link-local" in refused.text
    finally:
        next(gen, None)
