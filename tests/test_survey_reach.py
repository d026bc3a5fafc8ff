"""Survey reach: signed links, the unsubscribe page, the website widget (TestClient and a real browser) and
abuse limits (honeypot, rate limits, body size). E-mail invitations are in test_invitations.py."""

from __future__ import annotations

import csv
import datetime as dt
import html
import http.server
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser
from sqlalchemy import func, select
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from browser_helpers import served
from momenti.cli.main import app as cli_app
from momenti.core.clock import utcnow
from momenti.core.config import get_settings
from momenti.core.errors import InputError
from momenti.domains.surveys import abuse, fatigue, links
from momenti.domains.surveys.invite import Contact, invite
from momenti.server.app import create_app
from momenti.store.models import Response
from pii_helpers import check_analysed, pii_comment, wait_masked
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
        assert dt.timedelta(days=6.9) < claims.expires_at - utcnow() <= dt.timedelta(days=7)
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


# -- web: unsubscribe, widget, abuse -----------------------------------------------------------------------


def widget_form(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def test_unsubscribe_page_is_honoured(ws: momenti.Workspace, smtp: tuple[Inbox, int]) -> None:
    invite(ws, SURVEY, [Contact("u1", "u1@example.com", "it")], now=T0)
    token = unsub_token(parts(smtp[0].messages[0])[0])
    with AuthedClient(create_app(ws.settings)) as client:
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
    with AuthedClient(create_app(ws.settings)) as client:
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


def test_widget_comment_is_masked_on_arrival(ws: momenti.Workspace) -> None:
    """A customer's e-mail, phone number and IBAN typed into the widget's comment are masked, and the comment
    analysed, within seconds by the server's background sync (TestClient runs the app's lifespan: the real
    syncer thread does the work)."""
    tail = "Troppe commissioni sul conto, pessimo servizio."
    reader = momenti.open(ws.settings.data_dir, text_min_group=1)  # every comment shown, however few
    with AuthedClient(create_app(ws.settings)) as client:
        form = widget_form(client.get(f"/w/{SURVEY}?c=w1&lang=it").text)
        page = client.post(f"/w/{SURVEY}", data={**form, "score": "3", "comment": pii_comment(tail)})
        assert page.status_code == 200
        seconds, left, mine = wait_masked(reader, [tail])
    assert left == [], f"plain copies after {seconds:.1f} s: {left}"
    check_analysed(mine, [tail])
    reader.close()


def test_widget_with_signed_link_is_single_use(ws: momenti.Workspace) -> None:
    secret = links.secret_key(ws.settings)
    token = links.sign(links.LinkClaims(SURVEY, "L1", lang="en"), secret)
    with AuthedClient(create_app(ws.settings)) as client:
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
    with AuthedClient(create_app(ws.settings)) as client:
        form = widget_form(client.get(f"/w/{SURVEY}").text)
        r = client.post(f"/w/{SURVEY}", data={**form, "score": "0", abuse.HONEYPOT: "http://spam.example"})
        assert r.status_code == 200 and "Grazie" in r.text
    with ws.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 0


def test_flood_gets_429_and_the_store_stays_consistent(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    ws = open_ws(tmp_path, smtp[1], rate_ip_burst=8, rate_ip_per_minute=0.5)
    with AuthedClient(create_app(ws.settings)) as client:
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


def test_token_bucket_refills(workspace: momenti.Workspace) -> None:
    bucket = abuse.TokenBucket(workspace.engine, per_minute=60, burst=3, prefix="test")
    assert [bucket.allow("k", now=100.0)[0] for _ in range(4)] == [True, True, True, False]
    ok, wait = bucket.allow("k", now=100.0)
    assert not ok and wait == pytest.approx(1.0)
    assert bucket.allow("k", now=101.0)[0] and not bucket.allow("k", now=101.0)[0]
    assert bucket.allow("other", now=101.0)[0]  # buckets are per key


def test_public_post_size_limit(ws: momenti.Workspace) -> None:
    with AuthedClient(create_app(ws.settings)) as client:
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


@pytest.mark.postgres
def test_a_nul_in_a_public_form_is_dropped_not_a_500(tmp_path: Path, smtp: tuple,
                                                      request: pytest.FixtureRequest) -> None:
    """PostgreSQL refuses NUL in text: a comment carrying one (a script, a fuzzer) answered 500. It is dropped."""
    w = open_ws(tmp_path, smtp[1], "postgres", request)
    try:
        with AuthedClient(create_app(w.settings)) as client:
            form = widget_form(client.get(f"/w/{SURVEY}?c=n1&lang=it").text)
            page = client.post(f"/w/{SURVEY}", data={**form, "score": "4", "comment": "Pessimo\x00 servizio"})
            assert page.status_code == 200, page.text
        w.sync()
        assert int(w.nps()["n"].sum()) == 1
    finally:
        w.close()
