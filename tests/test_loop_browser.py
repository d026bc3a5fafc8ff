"""The closed loop in Debian's Chromium, end to end: an agent signs in, opens the case a detractor's answer
opened, logs the call and resolves it with a root cause; the recovery survey arrives in a real SMTP inbox
(aiosmtpd); the customer answers it on the survey page; the recovery rate on the /loop page changes."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

from playwright.sync_api import Browser

import momenti
from auth_helpers import add_user
from browser_helpers import browser_sign_in, free_port, keep_offline, served
from conftest import BANK
from momenti.domains.loop.rules import apply_rules, load_rules, template_text
from momenti.domains.surveys.definition import template
from momenti.domains.surveys.service import apply_survey
from reach_helpers import Inbox, smtp_fixture  # noqa: F401 - the smtp fixture

PASSWORD = "Tramonto-Verde-Pino-2026"


def _wait(cond, timeout: float = 30.0):  # noqa: ANN001, ANN202
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_agent_resolves_customer_answers_recovery_counts(tmp_path: Path, smtp: tuple[Inbox, int],
                                                         browser: Browser) -> None:
    inbox, smtp_port = smtp
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"MOMENTI_SMTP_HOST": "127.0.0.1", "MOMENTI_SMTP_PORT": str(smtp_port), "MOMENTI_QUIET_HOURS": "",
           "MOMENTI_SMTP_FROM": "Banca Esempio <cx@banca.example>", "MOMENTI_PUBLIC_URL": base}
    ws = momenti.open(tmp_path / "data", public_url=base)
    ws.apply_journey(BANK)
    apply_survey(ws, template("complaint-recovery"))
    with ws.session() as s, s.begin():
        apply_rules(s, load_rules(template_text()), "test")
    add_user(ws, "agente@banca.example", "agent", PASSWORD, team="Rete filiali")
    add_user(ws, "cx@banca.example", "cx_manager", PASSWORD)
    ws.import_records("customers", [{"customer_id": "C-PW", "email": "giulia.bianchi@example.com",
                                     "language": "it"}], source="t", strict=True)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    ws.import_records("responses", [{"response_id": "pw1", "customer_id": "C-PW", "touchpoint": "branch-visit",
                                     "submitted_at": now, "nps": 2}], source="t", strict=True)
    ws.close()
    with served(tmp_path / "data", tmp_path / "serve.log", env=env, port=port):
        manager = browser.new_page()
        browser_sign_in(manager, base, "cx@banca.example", PASSWORD)

        def recovery() -> dict:
            manager.goto(f"{base}/loop?format=json")
            return json.loads(manager.locator("body").inner_text())["panels"][0]["rows"][0]

        agent = browser.new_context(java_script_enabled=False).new_page()
        blocked: list[str] = []
        keep_offline(agent, base, blocked)
        browser_sign_in(agent, base, "agente@banca.example", PASSWORD)

        def queue_has_case() -> bool:
            agent.goto(f"{base}/cases?lang=it")
            return agent.locator("table.cases a").count() == 1
        _wait(queue_has_case)  # the server's dispatcher evaluated the rules on its first run
        assert recovery()["recovery_n"] == 0
        agent.locator("table.cases a").first.click()
        assert agent.locator("h1").inner_text().startswith("Caso")
        assert "nei tempi" in agent.locator("dl.case").inner_text()
        contact = agent.locator("form:has(input[name=action][value=contact])")
        contact.locator("select[name=outcome]").select_option("reached")
        contact.locator("input[name=text]").fill("Scuse per l'attesa, fissato un appuntamento")
        contact.locator("button[type=submit]").click()
        agent.wait_for_load_state()
        assert "contattato" in agent.locator("dl.case").inner_text()
        resolve = agent.locator("form:has(input[name=action][value=resolve])")
        resolve.locator("select[name=root_cause]").select_option("people")
        resolve.locator("input[name=recovered][value=yes]").check()
        resolve.locator("button[type=submit]").click()
        agent.wait_for_load_state()
        assert "risolto" in agent.locator("dl.case").inner_text()
        assert not blocked, blocked

        # the recovery survey reaches the customer's inbox
        msg = _wait(lambda: next((m for m in inbox.messages if "giulia.bianchi" in m["To"]), None))
        body = msg.get_body(("plain",)).get_content()
        link = re.search(rf"{re.escape(base)}/s/complaint-recovery\?t=\S+", body)[0]

        customer = browser.new_context(java_script_enabled=False).new_page()
        customer.goto(link)
        customer.locator("input[name=complaint_resolved][value=yes]").check()
        customer.locator("input[name=csat][value='4']").check()
        customer.locator("button[name=action][value=next]").click()
        customer.wait_for_load_state()
        customer.locator("input[name=fairness][value='4']").check()
        customer.locator("input[name=nps][value='9']").check()
        customer.locator("button[name=action][value=next]").click()
        customer.wait_for_load_state()
        assert "Grazie" in customer.locator("#message").inner_text()

        after = _wait(lambda: (r := recovery())["recovery_n"] == 1 and r)
        assert after["recovery_rate"] == 100 and after["close_loop_rate"] == 100
