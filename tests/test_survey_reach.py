"""Survey reach: signed links, e-mail invitations through a real SMTP server (aiosmtpd), reminders, unsubscribe,
contact-fatigue rules, automatic triggers, bounces, the website widget (TestClient and a real browser), abuse
limits (honeypot, rate limits, body size)."""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import html
import http.server
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy import func, select
from typer.testing import CliRunner

import momenti
from browser_helpers import free_port, served
from conftest import BANK, make_workspace
from momenti.api.app import create_app
from momenti.cli.main import app as cli_app
from momenti.config import get_settings
from momenti.errors import InputError
from momenti.store.models import ContactSkip, Delivery, Invitation, Response
from momenti.store.tokens import create_token
from momenti.surveys import abuse, fatigue, links
from momenti.surveys.definition import template
from momenti.surveys.invite import Contact, invite, send_due, status
from momenti.surveys.invite_trigger import record_bounces, remind, trigger
from momenti.surveys.service import apply_survey

SURVEY = "nps-relationship"
T0 = dt.datetime(2026, 3, 10, 9, 0)  # 10:00 in Rome: outside the default quiet hours (21-8)


# -- a real SMTP server ------------------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps every message; refuses recipients at @refuse.example with 550."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address.endswith("@refuse.example"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted"



@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def open_ws(tmp_path: Path, port: int, backend: str = "sqlite", request: pytest.FixtureRequest | None = None,
            **settings: object) -> momenti.Workspace:
    settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "Banca Esempio <sondaggi@banca.example>",
                "public_url": "https://cx.banca.example", **settings}
    ws = make_workspace(tmp_path, backend, request, **settings)
    ws.apply_journey(BANK)
    apply_survey(ws, template(SURVEY))
    return ws


@pytest.fixture
def ws(tmp_path: Path, smtp: tuple[Inbox, int]) -> Iterator[momenti.Workspace]:
    w = open_ws(tmp_path, smtp[1])
    yield w
    w.close()


def parts(msg: email.message.EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def token_of(text: str) -> str:
    url = re.search(r"https://cx\.banca\.example/s/\S+", text)[0]
    return parse_qs(urlparse(url).query)["t"][0]


def unsub_token(text: str) -> str:
    return re.search(r"https://cx\.banca\.example/u/(\S+)", text)[1]


def rows(ws: momenti.Workspace, model: type) -> list:
    with ws.session() as s:
        return list(s.scalars(select(model)))


# -- links -------------------------------------------------------------------------------------------------


def test_link_tamper_expiry_and_reuse(ws: momenti.Workspace) -> None:
    secret = links.secret_key(ws.settings)
    claims = links.LinkClaims(SURVEY, "c1", "relationship-survey", {"order_id": "A-17"}, "en",
                              expires_at=T0 + dt.timedelta(days=30))
    token = links.sign(claims, secret)
    back = links.verify(token, secret, now=T0)
    assert (back.survey, back.customer_id, back.touchpoint, back.hidden, back.lang, back.single_use, back.nonce) == \
        (SURVEY, "c1", "relationship-survey", {"order_id": "A-17"}, "en", True, claims.nonce)
    payload, sig = token.split(".")
    forged = links.sign(links.LinkClaims(SURVEY, "c2", expires_at=claims.expires_at), b"x" * 32).split(".")[0]
    for bad in (f"{forged}.{sig}", f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{sig}",
                f"{payload}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}", payload, "", "x.y"):
        with pytest.raises(links.LinkInvalid):
            links.verify(bad, secret, now=T0)
    with pytest.raises(links.LinkInvalid):
        links.verify(token, b"another secret of enough length", now=T0)
    with pytest.raises(links.LinkExpired):
        links.verify(token, secret, now=T0 + dt.timedelta(days=30))
    assert isinstance(links.LinkExpired("x"), InputError)
    # single use: consumed once, then recognised
    assert not links.is_consumed(ws, back)
    assert links.consume(ws, back) is True
    assert links.consume(ws, back) is False
    assert links.is_consumed(ws, back)
    # anonymous, multi-use: nothing to consume
    anon = links.verify(links.sign(links.LinkClaims(SURVEY, single_use=False), secret), secret)
    assert anon.anonymous and not anon.single_use and links.consume(ws, anon) is False
    # an unsubscribe token is no survey link, and the other way round (keys derived per purpose)
    unsub = links.sign_unsubscribe("c1", secret, "a@example.com", "it")
    assert links.verify_unsubscribe(unsub, secret) == {"customer_id": "c1", "email": "a@example.com", "lang": "it"}
    with pytest.raises(links.LinkInvalid):
        links.verify(unsub, secret)
    with pytest.raises(links.LinkInvalid):
        links.verify_unsubscribe(token, secret)


def test_secret_key_generated_once_or_from_settings(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "d")
    first = links.secret_key(settings)
    assert len(first) >= 32 and links.secret_key(settings) == first
    assert oct((tmp_path / "d" / "secret.key").stat().st_mode & 0o777) == "0o600"
    assert links.secret_key(get_settings(data_dir=tmp_path / "d", secret_key="s" * 20)) == b"s" * 20
    with pytest.raises(InputError, match="too short"):
        links.secret_key(get_settings(secret_key="short"))


def test_links_create_cli(ws: momenti.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws.settings.data_dir))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("customer_id,email,language,name,order_id\nc1,a@example.com,en,Ann,A-1\n"
                        "c2,b@example.com,it-IT,Bruno,B-2\n", encoding="utf-8")
    out = tmp_path / "links.csv"
    result = CliRunner().invoke(cli_app, ["links", "create", "--survey", SURVEY, "--customers", str(contacts),
                                          "--expires", "7d", "--hidden", "branch=MI01", "--base-url",
                                          "http://localhost:9000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    made = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["customer_id"] for r in made] == ["c1", "c2"]
    secret = links.secret_key(ws.settings)
    for row, lang, order in zip(made, ["en", "it"], ["A-1", "B-2"], strict=True):
        assert row["url"].startswith(f"http://localhost:9000/s/{SURVEY}?t=")
        claims = links.verify(parse_qs(urlparse(row["url"]).query)["t"][0], secret)
        assert (claims.customer_id, claims.lang, claims.hidden, claims.touchpoint, claims.single_use) == \
            (row["customer_id"], lang, {"branch": "MI01", "order_id": order}, "relationship-survey", True)
        assert dt.timedelta(days=6.9) < claims.expires_at - links.utcnow() <= dt.timedelta(days=7)
    anon = CliRunner().invoke(cli_app, ["links", "create", "--survey", SURVEY, "--anonymous", "--count", "3",
                                        "--format", "json"])
    assert anon.exit_code == 0, anon.output
    assert anon.stdout.count('"nonce"') == 3 and '"customer_id": null' in anon.stdout
    bad = contacts.with_name("bad.csv")
    bad.write_text("customer_id,email,language\n,a@example.com,it\nc3,c@example.com,fr\n", encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["links", "create", "--survey", SURVEY, "--customers", str(bad)])
    assert result.exit_code != 0
    assert "bad.csv:2: customer_id: missing" in str(result.exception)
    assert "bad.csv:3: language" in str(result.exception)


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
    with TestClient(create_app(ws.settings)) as client:
        r = client.post("/api/v1/invitations/bounces", json=[{"email": "B2@example.com", "reason": "mailbox full"}])
        assert r.status_code == 401
        r = client.post("/api/v1/invitations/bounces", json=[{"email": "B2@example.com", "reason": "mailbox full"}],
                        headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200 and r.json()[0]["result"] == "bounced"
        summary = {row["what"]: row["n"] for row in client.get("/api/v1/invitations").json()}
    assert summary == {"email bounced": 2}
    assert record_bounces(ws, [{"message_id": "<nope@x>"}])["result"].tolist() == ["unknown"]


def test_trigger_after_activity_is_idempotent(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    now = links.utcnow()
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


# -- web: unsubscribe, widget, abuse -----------------------------------------------------------------------


def widget_form(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def test_unsubscribe_page_is_honoured(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    invite(ws, SURVEY, [Contact("u1", "u1@example.com", "it")], now=T0)
    token = unsub_token(parts(smtp[0].messages[0])[0])
    with TestClient(create_app(ws.settings)) as client:
        page = client.get(f"/u/{token}")
        assert page.status_code == 200 and '<html lang="it">' in page.text
        assert "Annulla l'iscrizione" in html.unescape(page.text)
        assert not fatigue.is_opted_out(ws, "u1")  # opening the page (or a mail scanner) changes nothing
        en = client.get(f"/u/{token}?lang=en")
        assert '<html lang="en">' in en.text and "Yes, send me no more surveys" in en.text
        done = client.post(f"/u/{token}")
        assert done.status_code == 200 and "non riceverà più i nostri questionari" in done.text
        assert client.get(f"/u/{token}x").status_code == 400
    assert fatigue.is_opted_out(ws, "u1")
    later = invite(ws, "nps-relationship", [Contact("u1", "u1@example.com")], now=T0 + dt.timedelta(days=90))
    assert later[["result", "reason"]].values.tolist() == [["skipped", "opted_out"]]
    assert len(smtp[0].messages) == 1


def test_widget_answers_land_in_metrics(ws: momenti.Workspace) -> None:
    with TestClient(create_app(ws.settings)) as client:
        js = client.get("/widget.js")
        assert js.status_code == 200 and len(js.content) < 5 * 1024
        assert "fetch(" not in js.text and "XMLHttpRequest" not in js.text
        page = client.get(f"/w/{SURVEY}?c=w1&lang=en")
        assert page.status_code == 200 and page.text.count('name="score"') == 11
        assert "How likely are you to recommend our bank" in page.text
        assert "script-src 'nonce-" in page.headers["content-security-policy"]
        form = widget_form(page.text)
        assert form["c"] == "w1" and form["lang"] == "en"
        first = client.post(f"/w/{SURVEY}", data={**form, "score": "3", "comment": "Troppe commissioni"})
        assert first.status_code == 200 and "Thank you" in first.text
        assert "done:true" in first.text
        again = client.post(f"/w/{SURVEY}", data={**form, "score": "3"})  # a double submit: the same response
        assert again.status_code == 200
        assert client.get(f"/w/{SURVEY}?c=w1").text.count('name="score"') == 0  # answered: the cookie hides it
        client.cookies.clear()
        assert client.get(f"/w/{SURVEY}?c=w1").text.count('name="score"') == 0  # and the fatigue rule
        anon = widget_form(client.get(f"/w/{SURVEY}?lang=it").text)
        assert client.post(f"/w/{SURVEY}", data={**anon, "score": "10"}).status_code == 200
        bad = client.post(f"/w/{SURVEY}", data={**widget_form(client.get(f"/w/{SURVEY}").text), "score": "11"})
        assert bad.status_code == 400 and "Scelga un punteggio" in bad.text
        assert client.get("/w/no-such-survey").text.count("<form") == 0
    ws.sync()
    nps = ws.nps()
    assert nps[["n", "promoters", "detractors"]].values.tolist() == [[2, 1, 1]]
    by_tp = ws.nps(by="touchpoint")
    assert by_tp["touchpoint"].tolist() == ["relationship-survey"]
    assert fatigue.check(ws, "w1", "touchpoint-csat-ces") == "fatigue"  # the widget answer was a contact


def test_widget_with_signed_link_is_single_use(ws: momenti.Workspace) -> None:
    secret = links.secret_key(ws.settings)
    token = links.sign(links.LinkClaims(SURVEY, "L1", lang="en"), secret)
    with TestClient(create_app(ws.settings)) as client:
        form = widget_form(client.get(f"/w/{SURVEY}", params={"t": token}).text)
        assert form["t"] == token
        assert client.post(f"/w/{SURVEY}", data={**form, "score": "9"}).status_code == 200
        assert client.get(f"/w/{SURVEY}", params={"t": token}).text.count("<form") == 0
        assert client.post(f"/w/{SURVEY}", data={**form, "score": "2"}).status_code == 200  # same response id
        tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
        assert client.get(f"/w/{SURVEY}", params={"t": tampered}).status_code == 400
    assert links.is_consumed(ws, links.verify(token, secret))
    with ws.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 1


def test_honeypot_pretends_success_and_writes_nothing(ws: momenti.Workspace) -> None:
    with TestClient(create_app(ws.settings)) as client:
        form = widget_form(client.get(f"/w/{SURVEY}").text)
        r = client.post(f"/w/{SURVEY}", data={**form, "score": "0", abuse.HONEYPOT: "http://spam.example"})
        assert r.status_code == 200 and "Grazie" in r.text
    with ws.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 0


def test_flood_gets_429_and_the_store_stays_consistent(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    ws = open_ws(tmp_path, smtp[1], rate_ip_burst=8, rate_ip_per_minute=0.5)
    with TestClient(create_app(ws.settings)) as client:
        form = widget_form(client.get(f"/w/{SURVEY}").text)

        def post(i: int) -> int:
            data = {**form, "sid": f"flood-{i:04d}", "score": str(i % 11)}
            return client.post(f"/w/{SURVEY}", data=data).status_code

        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(post, range(60)))
        limited = client.post(f"/w/{SURVEY}", data={**form, "score": "5"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert client.get("/api/v1/health").status_code == 200  # the server still answers
    assert codes.count(200) == 8 and codes.count(429) == 52
    ws.sync()
    with ws.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 8
    assert int(ws.nps()["n"].iloc[0]) == 8
    ws.close()


def test_token_bucket_refills() -> None:
    bucket = abuse.TokenBucket(per_minute=60, burst=3)
    assert [bucket.allow("k", now=100.0)[0] for _ in range(4)] == [True, True, True, False]
    ok, wait = bucket.allow("k", now=100.0)
    assert not ok and wait == pytest.approx(1.0)
    assert bucket.allow("k", now=101.0)[0] and not bucket.allow("k", now=101.0)[0]
    assert bucket.allow("other", now=101.0)[0]  # buckets are per key


def test_public_post_size_limit(ws: momenti.Workspace) -> None:
    with TestClient(create_app(ws.settings)) as client:
        form = widget_form(client.get(f"/w/{SURVEY}").text)
        big = client.post(f"/w/{SURVEY}", data={**form, "score": "5", "comment": "x" * 100_000})
        assert big.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: the middleware counts what arrives
            yield b"score=5&comment="
            for _ in range(40):
                yield b"y" * 4096

        streamed = client.post(f"/w/{SURVEY}", content=chunks(),
                               headers={"content-type": "application/x-www-form-urlencoded"})
        assert streamed.status_code == 413
        assert client.post(f"/w/{SURVEY}", data={**form, "score": "5"}).status_code == 200
    with ws.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 1


# -- the widget in a real browser --------------------------------------------------------------------------


def test_widget_in_a_real_browser(ws: momenti.Workspace, tmp_path: Path, browser: Browser) -> None:
    data_dir = ws.settings.data_dir
    ws.close()
    # The shop's page, on another origin (as on a real website), embedding the widget.
    site = tmp_path / "site"
    site.mkdir()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(site))  # noqa: E731
    static = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=static.serve_forever, daemon=True).start()
    shop = f"http://127.0.0.1:{static.server_address[1]}"
    try:
        with served(data_dir, tmp_path / "serve.log") as base:
            (site / "index.html").write_text(
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body>'
                '<h1>Order confirmed</h1><div id="survey"></div>'
                f'<script src="{base}/widget.js" data-survey="{SURVEY}" data-customer="web-7" data-lang="en" '
                'data-target="#survey"></script></body></html>', encoding="utf-8")
            allowed = {urlparse(base).netloc, urlparse(shop).netloc}
            blocked: list[str] = []
            page = browser.new_page(viewport={"width": 900, "height": 700})
            page.route("**/*", lambda route: route.continue_() if urlparse(route.request.url).netloc in allowed
                       else (blocked.append(route.request.url), route.abort()))
            page.goto(shop + "/index.html")
            frame_el = page.locator("#survey iframe")
            frame_el.wait_for(state="visible", timeout=20_000)  # shown once the iframe said it has a question
            widget = page.frame_locator("#survey iframe")
            widget.get_by_text("How likely are you to recommend our bank").wait_for()
            page.wait_for_function("() => document.querySelector('#survey iframe').offsetHeight > 150")
            box = frame_el.bounding_box()
            send_box = widget.get_by_role("button", name="Send").bounding_box()
            assert box and send_box and send_box["y"] + send_box["height"] <= box["y"] + box["height"]  # all shown
            widget.locator('input[name="score"][value="9"]').focus()
            page.keyboard.press("Space")  # keyboard only
            widget.locator("#comment").fill("Quick and friendly")
            artifacts = Path(__file__).resolve().parents[1] / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "widget.png"), full_page=True)
            widget.get_by_role("button", name="Send").click()
            widget.get_by_text("Thank you for your answer!").wait_for()
            page.wait_for_function("() => Number(localStorage.getItem('momenti-w-nps-relationship')) > Date.now()")
            page.screenshot(path=str(artifacts / "widget-thanks.png"), full_page=True)
            page.reload()
            page.wait_for_load_state("load")
            assert page.locator("#survey iframe").count() == 0  # answered: not shown again
            assert blocked == []
    finally:
        static.shutdown()
    with momenti.open(data_dir) as after:
        nps = after.nps()
        assert nps[["n", "promoters"]].values.tolist() == [[1, 1]]
        assert fatigue.check(after, "web-7", SURVEY) == "fatigue"


def test_invited_customer_answers_on_the_survey_pages(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    """The whole loop: e-mail -> personal link -> survey pages (the core engineer's /s/) -> link consumed ->
    counted as answered, so no reminder; the answer is in the metrics with the link's customer."""
    sent_at = links.utcnow() - dt.timedelta(days=4)
    invite(ws, SURVEY, [Contact("p1", "p1@example.com", "en", hidden={"branch": "MI01"}),
                        Contact("p2", "p2@example.com", "it")], now=sent_at)
    mail = next(m for m in smtp[0].messages if m["To"].addresses[0].addr_spec == "p1@example.com")
    token = token_of(parts(mail)[0])
    with TestClient(create_app(ws.settings)) as client:
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
    frame = remind(ws, dt.timedelta(days=3))
    assert frame[["customer_id", "result"]].values.tolist() == [["p2", "reminded"]]
    assert {r["what"]: r["answered"] for r in status(ws).to_dict("records")} == {"email sent": 1}
    ws.sync()
    assert ws.nps(by="touchpoint")[["touchpoint", "n", "promoters"]].values.tolist() == [["relationship-survey", 1, 1]]
