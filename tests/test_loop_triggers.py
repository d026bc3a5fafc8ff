"""The other rule types: repeat contacts (the N-th contact for the same reason within D days, one case per
series) and negative feedback with a topic (after the text analysis), through an import and the dispatcher,
on both stores."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

import momenti
from momenti.domains.loop.rules import apply_rules, load_rules

RULES = {"rules": [
    {"key": "repeat", "on": "events", "repeat_contacts": {"count": 3, "within_days": 7},
     "open_case": {"team": "owner", "priority": "urgent"}},
    {"key": "complaint", "on": "feedback", "feedback": {"sentiment": "negative"},
     "open_case": {"team": "Social care", "priority": "normal"}},
    {"key": "complaint-alert", "on": "feedback", "feedback": {"sentiment": "negative"},
     "notify": {"webhooks": True}},
]}


def _ago(days: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


def test_repeat_contacts_and_negative_feedback_open_cases(ws_any: momenti.Workspace) -> None:
    ws = ws_any
    with ws.session() as s, s.begin():
        apply_rules(s, load_rules(RULES), "test")
    contact = {"touchpoint": "contact-centre-call", "channel": "phone", "reason": "carta bloccata"}
    rows = [{"event_id": f"e{i}", "customer_id": "C-REP", "timestamp": _ago(d), **contact}
            for i, d in enumerate([6, 4, 2, 1])]  # 4 contacts in 6 days: the 3rd makes it a case, the 4th adds none
    rows += [{"event_id": f"s{i}", "customer_id": "C-SPREAD", "timestamp": _ago(d), **contact}
             for i, d in enumerate([13, 9, 3])]  # 3 contacts, never 3 within 7 days
    rows += [{"event_id": f"o{i}", "customer_id": "C-OTHER", "timestamp": _ago(d), **contact,
              "reason": r} for i, (d, r) in enumerate([(3, "mutuo"), (2, "carta bloccata"), (1, "bonifico")])]
    assert ws.import_records("events", rows, source="t", strict=True).rejected == 0
    feedback = [{"feedback_id": "f1", "source": "twitter", "customer_id": "C-FB", "created_at": _ago(0.1),
                 "text": "Carta bloccata da tre giorni e nessuno risponde, servizio pessimo, vergognoso!",
                 "language": "it"},
                {"feedback_id": "f2", "source": "twitter", "customer_id": "C-FB2", "created_at": _ago(0.1),
                 "text": "Grazie mille, personale gentilissimo e app ottima, tutto perfetto!", "language": "it"}]
    assert ws.import_records("feedback", feedback, source="t", strict=True).rejected == 0
    ws.sync_written()
    cases = ws.cases()
    by_customer = {c: g for c, g in cases.groupby("customer_id")}
    assert set(by_customer) == {"C-REP", "C-FB"}
    rep = by_customer["C-REP"].iloc[0]
    assert (rep["rule"], rep["team"], rep["priority"], rep["touchpoint"]) == \
        ("repeat", "Contact center", "urgent", "contact-centre-call")
    fb = by_customer["C-FB"].iloc[0]
    assert (fb["rule"], fb["team"]) == ("complaint", "Social care")
    with ws.engine.connect() as conn:
        alerts = conn.execute(text("SELECT count(*) FROM outbox WHERE kind = 'feedback.alert'")).scalar()
        detail = conn.execute(text("SELECT detail FROM case_entries WHERE kind = 'trigger' AND case_id = :c"),
                              {"c": int(rep["id"])}).scalar()
    assert alerts == 1
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert (detail["contacts"], detail["reason"]) == (3, "carta bloccata")
    # The batch path reserves ids and writes plain tuples: what it wrote reads back as the ORM writes it, and
    # a case opened by hand afterwards gets an id of its own (PostgreSQL: the sequence moved past the batch).
    from momenti.domains.loop.cases import SYSTEM, get_case, open_manual

    with ws.session() as s, s.begin():
        batch = get_case(s, int(rep["id"]))
        assert isinstance(batch.opened_at, dt.datetime) and batch.sla_policy["name"] == "standard"
        assert batch.tags == [] and batch.status == "new"
        manual = open_manual(s, SYSTEM, "C-HAND", "called in", team="Contact center")
        assert manual.id > max(int(i) for i in cases["id"])
    assert len(ws.cases()) == len(cases) + 1


def test_a_significant_drop_opens_one_case_per_touchpoint_and_period(workspace: momenti.Workspace) -> None:
    from momenti.domains.loop.metric_rules import complete_periods, history
    from momenti.domains.loop.triggers import dry_run
    from momenti.pipelines.loop import metric_rules

    assert complete_periods("month", dt.date(2026, 11, 15)) == ("2026-09", "2026-10")
    assert complete_periods("week", dt.date(2026, 11, 18)) == ("2026-W45", "2026-W46")
    rules = {"rules": [
        {"key": "nps-drop", "on": "metric", "metric_drop": {"metric": "nps", "period": "month",
                                                            "moments_of_truth": True},
         "open_case": {"team": "owner", "priority": "high"}},
        {"key": "nps-drop-alert", "on": "metric", "metric_drop": {"metric": "nps", "period": "month"},
         "notify": {"webhooks": True}}]}
    rows = []
    for month, scores in (("2026-09", [10, 9, 9, 8, 10, 7]), ("2026-10", [2, 4, 9, 6, 3, 7])):
        for i in range(180):
            rows.append({"response_id": f"{month}-{i}", "customer_id": f"M{i}", "touchpoint": "branch-visit",
                         "submitted_at": f"{month}-{1 + i % 28:02d}T10:00:00", "nps": scores[i % 6]})
            rows.append({"response_id": f"w{month}-{i}", "customer_id": f"W{i}", "touchpoint": "website-visit",
                         "submitted_at": f"{month}-{1 + i % 28:02d}T10:00:00", "nps": 9 if i % 2 else 8})
    assert workspace.import_records("responses", rows, source="t", strict=True).rejected == 0
    with workspace.session() as s, s.begin():
        apply_rules(s, load_rules(rules), "test")
    assert metric_rules(workspace, dt.date(2026, 11, 15)) == {"opened": 1, "alerts": 1}
    assert metric_rules(workspace, dt.date(2026, 11, 16)) == {"opened": 0, "alerts": 0}  # once per period
    case = workspace.cases().iloc[0]
    assert (case["touchpoint"], case["team"], case["customer_id"]) == ("branch-visit", "Rete filiali", None)
    with workspace.session() as s:
        tried = {r["rule"]: r for r in dry_run(
            s, load_rules(rules), dt.datetime(2026, 8, 1), dt.datetime(2026, 11, 15),
            metric_finder=lambda rule, a, b: history(workspace, rule, a, b))}
    assert tried["nps-drop"]["triggers"] == 1 and tried["nps-drop"]["cases"] == 1


def test_a_channel_switch_after_a_failed_self_service_step(workspace: momenti.Workspace) -> None:
    with workspace.session() as s, s.begin():
        apply_rules(s, load_rules({"rules": [
            {"key": "switch", "on": "events", "channel_switch": {"within_hours": 24},
             "open_case": {"team": "owner", "priority": "high"}}]}), "test")
    rows = [
        {"event_id": "a1", "customer_id": "C-SW", "timestamp": _ago(0.5), "activity": "login fallito",
         "channel": "app", "touchpoint": "app-login"},
        {"event_id": "a2", "customer_id": "C-SW", "timestamp": _ago(0.4), "activity": "chiamata",
         "channel": "phone", "touchpoint": "contact-centre-call"},
        {"event_id": "b1", "customer_id": "C-LATE", "timestamp": _ago(3), "activity": "login fallito",
         "channel": "app", "touchpoint": "app-login"},
        {"event_id": "b2", "customer_id": "C-LATE", "timestamp": _ago(1), "activity": "chiamata",
         "channel": "phone", "touchpoint": "contact-centre-call"},  # 48 h after the failure: not a switch
        {"event_id": "c1", "customer_id": "C-OK", "timestamp": _ago(0.5), "activity": "login app",
         "channel": "app", "touchpoint": "app-login", "outcome": "ok"},
        {"event_id": "c2", "customer_id": "C-OK", "timestamp": _ago(0.4), "activity": "chiamata",
         "channel": "phone", "touchpoint": "contact-centre-call"},
    ]
    assert workspace.import_records("events", rows, source="t", strict=True).rejected == 0
    workspace.sync_written()
    cases = workspace.cases()
    assert list(cases["customer_id"]) == ["C-SW"] and cases.iloc[0]["team"] == "Contact center"
