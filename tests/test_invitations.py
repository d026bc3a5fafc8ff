"""E-mail invitations: sending in the customer's language, dry runs, quotas and sampling, quiet hours,
reminders, delivery failures and bounces, triggers after events, and the whole loop through the survey pages
(a real SMTP server: aiosmtpd)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from browser_helpers import free_port
from momenti.cli.main import app as cli_app
from momenti.core.clock import utcnow
from momenti.domains.surveys import fatigue, links
from momenti.domains.surveys.definition import template
from momenti.domains.surveys.invite import Contact, invite, send_due, status
from momenti.domains.surveys.invite_trigger import record_bounces, remind, trigger
from momenti.domains.surveys.service import apply_survey
from momenti.domains.tokens import create_token
from momenti.server.app import create_app
from momenti.store.models import ContactSkip, Delivery, Invitation
from reach_helpers import (  # noqa: F401 - smtp_fixture and ws_fixture are the fixtures smtp and ws
    SURVEY,
    T0,
    Inbox,
    open_ws,
    parts,
    rows,
    smtp_fixture,
    token_of,
    unsub_token,
    ws_fixture,
)

# -- invitations -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_invitation_sent_in_language_with_unsubscribe(backend: str, tmp_path: Path, smtp: tuple[Inbox, int],
                                                      request: pytest.FixtureRequest) -> None:
    inbox, port = smtp
    ws = open_ws(tmp_path, port, backend, request)
    try:
        frame = invite(ws, SURVEY, [Contact("c1", "anna@example.com", "it", "Anna Rossi", {"order_id": "X9"}),
                                    Contact("c2", "bob@example.com", "en", "Bob"),
                                    Contact("c3", None, "it")], now=T0)
        assert list(frame["result"]) == ["sent", "sent", "skipped"]
        assert frame["reason"].iloc[2] == "no_email"
        assert len(inbox.messages) == 2
        by_to = {m["To"].addresses[0].addr_spec: m for m in inbox.messages}
        it_text, it_html = parts(by_to["anna@example.com"])
        en_text, en_html = parts(by_to["bob@example.com"])
        assert by_to["anna@example.com"]["Subject"] == "Com'è andata? La sua opinione su di noi"
        assert it_text.startswith("Gentile Anna Rossi,") and "Rispondi al questionario" in it_html
        assert en_text.startswith("Dear Bob,") and "Answer the survey" in en_html
        assert '<html lang="it">' in it_html and '<html lang="en">' in en_html
        secret = links.secret_key(ws.settings)
        claims = links.verify(token_of(it_text), secret, now=T0)
        assert (claims.customer_id, claims.lang, claims.hidden, claims.touchpoint) == \
            ("c1", "it", {"order_id": "X9"}, "relationship-survey")
        assert token_of(it_text) in it_html.replace("&amp;", "&")
        assert links.verify_unsubscribe(unsub_token(it_text), secret)["customer_id"] == "c1"
        assert by_to["anna@example.com"]["List-Unsubscribe"] == \
            f"<https://cx.banca.example/u/{unsub_token(it_text)}>"
        sent = {i.customer_key: i for i in rows(ws, Invitation)}
        assert {k: v.status for k, v in sent.items()} == {"c1": "sent", "c2": "sent"}
        assert sorted(d.status for d in rows(ws, Delivery)) == ["sent", "sent"]
        skips = rows(ws, ContactSkip)
        assert [(s.customer_key, s.reason) for s in skips] == [("c3", "no_email")]
        # a second survey within the fatigue window: skipped, with the reason logged
        apply_survey(ws, template("touchpoint-csat-ces"))
        again = invite(ws, "touchpoint-csat-ces", [Contact("c1", "anna@example.com", "it")],
                       now=T0 + dt.timedelta(days=29))
        assert again[["result", "reason"]].values.tolist() == [["skipped", "fatigue"]]
        assert "at most one invitation per 30 days" in again["detail"].iloc[0]
        assert ("c1", "fatigue") in [(s.customer_key, s.reason) for s in rows(ws, ContactSkip)]
        later = invite(ws, "touchpoint-csat-ces", [Contact("c1", "anna@example.com", "it")],
                       now=T0 + dt.timedelta(days=31))
        assert list(later["result"]) == ["sent"] and len(inbox.messages) == 3
    finally:
        ws.close()


def test_dry_run_shows_decisions_and_writes_nothing(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    fatigue.unsubscribe(ws, "gone", source="cli")
    contacts = [Contact("c1", "a@example.com", "it"), Contact("gone", "g@example.com", "it"),
                Contact("c3", "not-an-address", "en"), Contact("c1", "a@example.com", "it")]
    frame = invite(ws, SURVEY, contacts, now=T0, dry_run=True)
    assert frame[["customer_id", "result", "reason"]].values.tolist() == [
        ["c1", "would_send", None], ["gone", "would_skip", "opted_out"], ["c3", "would_skip", "no_email"],
        ["c1", "would_skip", "fatigue"]]  # the same customer twice in one batch: once only
    assert smtp[0].messages == [] and rows(ws, Invitation) == [] and rows(ws, ContactSkip) == []


def test_cli_invite_dry_run(ws: momenti.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            smtp: tuple[Inbox, int]) -> None:
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws.settings.data_dir))
    monkeypatch.setenv("MOMENTI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MOMENTI_SMTP_PORT", str(smtp[1]))
    monkeypatch.setenv("MOMENTI_QUIET_HOURS", "")
    fatigue.unsubscribe(ws, "c2", source="cli")
    contacts = tmp_path / "c.csv"
    contacts.write_text("customer_id,email,language,name\nc1,a@example.com,it,Anna\nc2,b@example.com,en,Bob\n",
                        encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["invite", "--survey", SURVEY, "--customers", str(contacts), "--dry-run",
                                          "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = list(csv.DictReader(result.stdout.splitlines()))
    assert [(r["customer_id"], r["result"], r["reason"]) for r in lines] == [("c1", "would_send", ""),
                                                                            ("c2", "would_skip", "opted_out")]
    assert smtp[0].messages == []
    result = CliRunner().invoke(cli_app, ["invite", "--survey", SURVEY, "--customers", str(contacts)])
    assert result.exit_code == 0, result.output
    assert len(smtp[0].messages) == 1
    result = CliRunner().invoke(cli_app, ["invite", "status", "--format", "csv"])
    assert "email sent,1" in result.stdout and "skipped: opted_out,2" not in result.stdout
    assert "skipped: opted_out,1" in result.stdout


def test_quotas_and_deterministic_sampling(ws: momenti.Workspace) -> None:
    fatigue.set_rules(ws, SURVEY, fatigue.Rules(max_per_day=2, max_per_week=3))
    first = invite(ws, SURVEY, [Contact(f"q{i}", f"q{i}@example.com") for i in range(3)], now=T0)
    assert first["reason"].tolist() == [None, None, "quota_day"]
    second = invite(ws, SURVEY, [Contact(f"r{i}", f"r{i}@example.com") for i in range(2)],
                    now=T0 + dt.timedelta(days=1, hours=1))
    assert second["reason"].tolist() == [None, "quota_week"]
    fatigue.set_rules(ws, SURVEY, fatigue.Rules(sample_rate=0.3, sample_seed="s1"))
    people = [Contact(f"s{i}", f"s{i}@example.com") for i in range(400)]
    a = invite(ws, SURVEY, people, now=T0, dry_run=True)
    b = invite(ws, SURVEY, people, now=T0, dry_run=True)
    picked = a["result"] == "would_send"
    assert picked.tolist() == (b["result"] == "would_send").tolist()  # the same sample every time
    assert 80 <= picked.sum() <= 160  # ~30 % of 400 (a hash, not a coin: the count is fixed for this seed)
    assert set(a.loc[~picked, "reason"]) == {"not_sampled"}
    assert fatigue.sampled("s1", SURVEY, 1.0) and not fatigue.sampled("s1", SURVEY, 0.0)


def test_quiet_hours_defer_not_drop(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    inbox = smtp[0]
    night = dt.datetime(2026, 1, 15, 22, 30)  # 23:30 in Rome (CET)
    frame = invite(ws, SURVEY, [Contact("n1", "n1@example.com", "en")], now=night)
    assert frame[["result", "reason"]].values.tolist() == [["deferred", "quiet_hours"]]
    assert frame["planned_at"].iloc[0] == dt.datetime(2026, 1, 16, 7, 0)  # 08:00 in Rome
    assert inbox.messages == []
    assert send_due(ws, now=night + dt.timedelta(hours=1)).empty  # still quiet: nothing due
    # a deferred invitation counts as a contact: no second survey gets through meanwhile
    assert fatigue.check(ws, "n1", SURVEY, night) == "fatigue"
    done = send_due(ws, now=dt.datetime(2026, 1, 16, 7, 5))
    assert done["result"].tolist() == ["sent"] and len(inbox.messages) == 1
    assert rows(ws, Invitation)[0].status == "sent"
    # summer time: 22:00 in Rome is 20:00 UTC, and the quiet hours end at 06:00 UTC
    summer = fatigue.quiet_until(dt.datetime(2026, 7, 1, 20, 0), ws.settings)
    assert summer == dt.datetime(2026, 7, 2, 6, 0)
    assert fatigue.quiet_until(dt.datetime(2026, 7, 1, 12, 0), ws.settings) is None


def test_reminder_once_after_n_days_only_if_unanswered(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    inbox = smtp[0]
    invite(ws, SURVEY, [Contact(c, f"{c}@example.com", lang) for c, lang in
                        [("a1", "it"), ("a2", "en"), ("a3", "it"), ("a4", "en")]], now=T0)
    secret = links.secret_key(ws.settings)
    tokens = {m["To"].addresses[0].addr_spec: token_of(parts(m)[0]) for m in inbox.messages}
    links.consume(ws, links.verify(tokens["a2@example.com"], secret, now=T0))  # a2 answered
    fatigue.unsubscribe(ws, "a3")  # a3 opted out
    assert remind(ws, dt.timedelta(days=3), now=T0 + dt.timedelta(days=2)).empty
    preview = remind(ws, dt.timedelta(days=3), now=T0 + dt.timedelta(days=3, hours=1), dry_run=True)
    assert sorted(preview[["customer_id", "result"]].values.tolist()) == [["a1", "would_remind"],
                                                                         ["a4", "would_remind"]]
    assert len(inbox.messages) == 4
    frame = remind(ws, dt.timedelta(days=3), now=T0 + dt.timedelta(days=3, hours=1))
    assert sorted(frame[["customer_id", "result"]].values.tolist()) == [["a1", "reminded"], ["a4", "reminded"]]
    reminders = {m["To"].addresses[0].addr_spec: m for m in inbox.messages[4:]}
    assert set(reminders) == {"a1@example.com", "a4@example.com"}
    assert reminders["a1@example.com"]["Subject"].startswith("Promemoria:")
    assert reminders["a4@example.com"]["Subject"].startswith("Reminder:")
    text = parts(reminders["a1@example.com"])[0]
    assert "qualche giorno fa" in text and token_of(text) == tokens["a1@example.com"]  # the same personal link
    assert remind(ws, dt.timedelta(days=3), now=T0 + dt.timedelta(days=5)).empty  # one reminder only
    assert sorted(d.kind for d in rows(ws, Delivery)).count("reminder") == 2


def test_smtp_failures_are_recorded(ws: momenti.Workspace, smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    frame = invite(ws, SURVEY, [Contact("f1", "nobody@refuse.example"), Contact("f2", "ok@example.com")], now=T0)
    assert frame["result"].tolist() == ["failed", "sent"]
    assert "550" in frame["detail"].iloc[0] and "mailbox unavailable" in frame["detail"].iloc[0]
    failed = [d for d in rows(ws, Delivery) if d.status == "failed"]
    assert len(failed) == 1 and "550" in failed[0].detail
    # a failed e-mail never reached the customer: it is no contact, a later invitation may go
    assert fatigue.check(ws, "f1", SURVEY, T0) is None
    down = momenti.open(ws.settings.data_dir, smtp_host="127.0.0.1", smtp_port=free_port(), quiet_hours="")
    frame = invite(down, SURVEY, [Contact("f3", "f3@example.com")], now=T0)
    assert frame["result"].tolist() == ["failed"] and "SMTP 127.0.0.1" in frame["detail"].iloc[0]
    down.close()


def test_bounces_from_file_and_api(ws: momenti.Workspace, smtp: tuple[Inbox, int], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    invite(ws, SURVEY, [Contact("b1", "b1@example.com"), Contact("b2", "b2@example.com")], now=T0)
    first = next(m for m in smtp[0].messages if m["To"].addresses[0].addr_spec == "b1@example.com")
    bounce_file = tmp_path / "bounces.csv"
    bounce_file.write_text(f"message_id,email,reason\n{first['Message-ID']},,550 user unknown\n"
                           ",stranger@example.com,550\n", encoding="utf-8")
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws.settings.data_dir))
    result = CliRunner().invoke(cli_app, ["invite", "bounce", str(bounce_file), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert ",bounced,550 user unknown" in result.stdout and ",unknown,550" in result.stdout
    assert {i.customer_key: i.status for i in rows(ws, Invitation)} == {"b1": "bounced", "b2": "sent"}
    with ws.session() as s, s.begin():
        _, secret = create_token(s, "mailer")
    with AuthedClient(create_app(ws.settings)) as client:
        r = client.post("/api/v1/invitations/bounces", json=[{"email": "B2@example.com", "reason": "mailbox full"}],
                        headers={"Authorization": ""})
        assert r.status_code == 401
        r = client.post("/api/v1/invitations/bounces", json=[{"email": "B2@example.com", "reason": "mailbox full"}],
                        headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200 and r.json()[0]["result"] == "bounced"
        summary = {row["what"]: row["n"] for row in client.get("/api/v1/invitations").json()}
    assert summary == {"email bounced": 2}
    assert record_bounces(ws, [{"message_id": "<nope@x>"}])["result"].tolist() == ["unknown"]


def test_trigger_after_activity_is_idempotent(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    # Yesterday at 09:00 UTC: outside the quiet hours (21-8 in Rome) whatever the hour the test runs at.
    now = utcnow().replace(hour=9, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    ws.import_records("customers", [{"customer_id": "t1", "email": "t1@example.com", "language": "en", "name": "Tina"},
                                    {"customer_id": "t2", "email": "t2@example.com", "language": "it"},
                                    {"customer_id": "t3"}], strict=True)
    iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")  # noqa: E731
    events = [("e1", "t1", "chiusura pratica", dt.timedelta(hours=2)),
              ("e2", "t2", "Chiusura pratica", dt.timedelta(hours=5)),  # activities match in any case
              ("e3", "t3", "chiusura pratica", dt.timedelta(hours=1)),
              ("e4", "t4", "chiusura pratica", dt.timedelta(days=3)),
              ("e5", "t1", "apertura pratica", dt.timedelta(hours=1))]
    ws.import_records("events", [{"event_id": e, "customer_id": c, "activity": a, "timestamp": iso(now - ago)}
                                 for e, c, a, ago in events], strict=True)
    day = dt.timedelta(hours=24)
    preview, _ = trigger(ws, SURVEY, "chiusura pratica", day, now=now, dry_run=True)
    assert preview[["event", "result"]].values.tolist() == [["e1", "would_send"], ["e2", "would_send"],
                                                           ["e3", "would_skip"]]
    frame, report = trigger(ws, SURVEY, "chiusura pratica", day, now=now)
    assert (report.events_matched, report.events_too_old) == (4, 1)  # e4 is three days old: too late to ask
    assert frame[["event", "result", "reason"]].values.tolist() == [["e1", "sent", None], ["e2", "sent", None],
                                                                   ["e3", "skipped", "no_email"]]
    assert {m["To"].addresses[0].addr_spec for m in smtp[0].messages} == {"t1@example.com", "t2@example.com"}
    assert parts(smtp[0].messages[0])[0].startswith("Dear Tina,")
    again, report = trigger(ws, SURVEY, "chiusura pratica", day, now=now)
    assert again.empty and report.events_matched == 0 and len(smtp[0].messages) == 2
    ws.import_records("events", [{"event_id": "e6", "customer_id": "t1", "activity": "chiusura pratica",
                                  "timestamp": iso(now)}], strict=True)
    frame, _ = trigger(ws, SURVEY, "chiusura pratica", day, now=now)
    assert frame[["event", "result", "reason"]].values.tolist() == [["e6", "skipped", "fatigue"]]
    logged = [(s.customer_key, s.reason, s.trigger_event) for s in rows(ws, ContactSkip)]
    assert ("t1", "fatigue", "e6") in logged and ("t3", "no_email", "e3") in logged
    assert sorted((i.customer_key, i.trigger_event) for i in rows(ws, Invitation)) == [("t1", "e1"), ("t2", "e2")]


def test_invited_customer_answers_on_the_survey_pages(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    """The whole loop: e-mail -> personal link -> survey pages (the core engineer's /s/) -> link consumed ->
    counted as answered, so no reminder; the answer is in the metrics with the link's customer."""
    sent_at = utcnow().replace(hour=9, minute=0) - dt.timedelta(days=4)  # outside the quiet hours
    invite(ws, SURVEY, [Contact("p1", "p1@example.com", "en", hidden={"branch": "MI01"}),
                        Contact("p2", "p2@example.com", "it")], now=sent_at)
    mail = next(m for m in smtp[0].messages if m["To"].addresses[0].addr_spec == "p1@example.com")
    token = token_of(parts(mail)[0])
    with AuthedClient(create_app(ws.settings)) as client:
        page = client.get(f"/s/{SURVEY}", params={"t": token})
        assert page.status_code == 200 and '<html lang="en">' in page.text
        answers = {"nps": "9"}
        for _ in range(6):  # post each page as a browser would: its hidden fields, the answers, "next"
            hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
            if "p" not in hidden:
                break
            page = client.post(f"/s/{SURVEY}", data={**hidden, "action": "next", **answers}, follow_redirects=True)
            assert page.status_code == 200, page.text
            answers = {}
        assert "Thank you" in page.text
    assert links.is_consumed(ws, links.verify(token, links.secret_key(ws.settings)))
    frame = remind(ws, dt.timedelta(days=3), now=sent_at + dt.timedelta(days=4))  # 09:00 UTC: not quiet hours
    assert frame[["customer_id", "result"]].values.tolist() == [["p2", "reminded"]]
    assert {r["what"]: r["answered"] for r in status(ws).to_dict("records")} == {"email sent": 1}
    ws.sync()
    assert ws.nps(by="touchpoint")[["touchpoint", "n", "promoters"]].values.tolist() == [["relationship-survey", 1, 1]]
