"""The SLA escalation ladder: at risk -> the owner, breached -> the team lead, breached for 24 h -> the
cx_manager, each step once and in the case's history; on a fake clock step by step, and through the job runner
with the e-mails in a real SMTP inbox (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import select, text

import momenti
from auth_helpers import add_user
from conftest import BANK
from momenti.core.config import get_settings
from momenti.domains.loop import cases, escalation
from momenti.pipelines.jobs import JobRunner
from momenti.store.loop import Case, CaseEntry
from reach_helpers import Inbox, smtp_fixture  # noqa: F401 - the smtp fixture

CLI = cases.Actor("cli:test")
# Monday 2 November 2026, 09:00 in Rome (08:00 UTC); the standard policy: 48 business hours, 9-18 Mon-Fri.
OPENED = dt.datetime(2026, 11, 2, 8, 0)


def _people(ws: momenti.Workspace) -> None:
    add_user(ws, "owner@bank.example", "agent", team="Rete filiali")
    add_user(ws, "lead@bank.example", "team_lead", team="Rete filiali")
    add_user(ws, "other-lead@bank.example", "team_lead", team="Digital banking")
    add_user(ws, "cx@bank.example", "cx_manager")


def _case(ws: momenti.Workspace, opened: dt.datetime) -> int:
    with ws.session() as s, s.begin():
        case = cases.open_manual(s, CLI, "C-ESC", "Reclamo allo sportello", team="Rete filiali",
                                 policy={"name": "standard", "first_contact_hours": 48, "resolution_hours": 120},
                                 now=opened)
        cases.assign(s, case, CLI, "owner@bank.example", now=opened)
        return case.id


def _steps(ws: momenti.Workspace, case_id: int) -> list[tuple[str, list[str]]]:
    with ws.session() as s:
        rows = s.scalars(select(CaseEntry).where(CaseEntry.case_id == case_id, CaseEntry.kind == "escalation")
                         .order_by(CaseEntry.id))
        return [(e.new_value, e.detail["notified"]) for e in rows]


def test_the_ladder_climbs_one_step_at_a_time(workspace: momenti.Workspace) -> None:
    _people(workspace)
    cid = _case(workspace, OPENED)

    def run(at: dt.datetime) -> dict[str, int]:
        with workspace.session() as s, s.begin():
            return escalation.run(s, workspace.settings, at)

    # Wednesday 2 Nov + 2 days: Mon 9 h + Tue 9 h + Wed 09:00-17:00 local = 26 h of 48: on track
    assert run(dt.datetime(2026, 11, 4, 15, 0)) == {"reminded": 0, "team_lead": 0, "cx_manager": 0}
    # Thursday 5 Nov 18:00 local (17:00 UTC): 36 h = 75 %: at risk -> the owner
    assert run(dt.datetime(2026, 11, 5, 17, 0))["reminded"] == 1
    assert run(dt.datetime(2026, 11, 5, 17, 0))["reminded"] == 0  # once
    # Friday 6 Nov 18:00 local: 45 h; Monday 9 Nov 13:00 local (12:00 UTC): 49 h > 48 h: breached -> the lead
    assert run(dt.datetime(2026, 11, 9, 12, 0))["team_lead"] == 1
    # 24 h after the due time (Monday 12:00 local) -> the cx_manager
    assert run(dt.datetime(2026, 11, 10, 10, 0))["cx_manager"] == 0
    assert run(dt.datetime(2026, 11, 10, 11, 30))["cx_manager"] == 1
    assert _steps(workspace, cid) == [("1", ["owner@bank.example"]), ("2", ["lead@bank.example"]),
                                      ("3", ["cx@bank.example"])]
    with workspace.engine.connect() as conn:
        kinds = [r[0] for r in conn.execute(text("SELECT kind FROM outbox ORDER BY id"))]
    assert kinds.count("case.breached") == 2  # steps 2 and 3 tell the webhooks


def test_a_pending_case_does_not_escalate(workspace: momenti.Workspace) -> None:
    _people(workspace)
    cid = _case(workspace, OPENED)
    with workspace.session() as s, s.begin():
        cases.move(s, s.get(Case, cid), CLI, "pending_customer", now=OPENED + dt.timedelta(hours=1))
        assert escalation.run(s, workspace.settings, dt.datetime(2026, 12, 1, 12)) == \
            {"reminded": 0, "team_lead": 0, "cx_manager": 0}


def test_escalation_runs_through_the_job_runner(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = get_settings(data_dir=tmp_path / "data", smtp_host="127.0.0.1", smtp_port=port,
                            smtp_from="momenti <cx@banca.example>")
    ws = momenti.Workspace(settings, bulk=False)
    ws.apply_journey(BANK)
    runner = JobRunner(ws)
    try:
        _people(ws)
        with ws.engine.begin() as conn:
            conn.execute(text("UPDATE users SET language = 'en' WHERE email = 'cx@bank.example'"))
        cid = _case(ws, dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=20))
        runner.tasks["sla_escalation"]()  # queued as the scheduler would every five minutes
        runner.start(workers=1)
        end = time.monotonic() + 30
        while time.monotonic() < end and len(_steps(ws, cid)) < 3:
            time.sleep(0.2)
        assert [s for s, _ in _steps(ws, cid)] == ["1", "2", "3"]  # found breached for days: every step, in order
        while time.monotonic() < end and len(inbox.messages) < 3:
            time.sleep(0.2)
        assert sorted(m["To"] for m in inbox.messages) == ["cx@bank.example", "lead@bank.example",
                                                           "owner@bank.example"]
        by_to = {m["To"]: m for m in inbox.messages}
        assert f"/cases/{cid}" in by_to["owner@bank.example"].get_body(("plain",)).get_content()
        assert by_to["owner@bank.example"]["Subject"] == f"[momenti] Caso a rischio SLA: #{cid}"  # Italian
        assert by_to["cx@bank.example"]["Subject"] == f"[momenti] SLA breached over 24 h: #{cid}"  # her English
        assert by_to["lead@bank.example"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    finally:
        runner.stop()
        ws.close()
