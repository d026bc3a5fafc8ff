"""Security headers on every answer of the app, and a Content-Security-Policy without 'unsafe-inline' or
'unsafe-eval' on every page (server/middleware.py; the survey, widget and unsubscribe pages and /docs send
policies of their own).

1. Every GET route of `app.routes`, on a small seeded workspace: signed in as an admin (the public routes also
   anonymously, the others also anonymously: their redirect or 401 carries the headers too), over http and
   over https. Path parameters get real values of the seeded workspace (none is left out: a new parameter
   fails here until it gets one). Each answer: a CSP without 'unsafe-inline' / 'unsafe-eval' /
   'unsafe-hashes', nosniff, a Referrer-Policy, frame-ancestors 'none' with X-Frame-Options DENY except the
   widget (no frame-ancestors: any host site embeds it) and the survey pages ('self' and SAMEORIGIN, as
   test_api_hardening.py asks); HSTS on https only. Every HTML page holds no style= attribute and no on...=
   handler, and no <style> element or inline script but by the policy's nonce; every SVG answer no inline
   style.
2. Debian's Chromium (Playwright) on `momenti serve`: a survey page, the dashboard overview, a case page, the
   widget embedded in a host page of another origin, the unsubscribe page, /docs and the Kaplan-Meier SVG
   report no CSP violation (console messages and `securitypolicyviolation` events), and their styles still
   apply (computed styles; the survey's progress bar by the colours of its pixels).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from playwright.sync_api import Browser, Page

import momenti
from auth_helpers import add_user, sign_in
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, keep_offline, served
from conftest import BANK
from momenti.core.config import get_settings
from momenti.domains.access.users import password_link
from momenti.domains.loop import notify
from momenti.domains.loop.cases import Actor, open_manual
from momenti.domains.surveys import links
from momenti.domains.surveys.service import apply_survey
from momenti.server.app import create_app
from momenti.server.route_permissions import ROUTE_PERMISSIONS, walk_routes

HERE = Path(__file__).resolve().parent
PASSWORD = "Tramonto-Verde-Pino-2026"
ADMIN = "admin@example.com"
CUSTOMER = "C1"


def _t(it: str, en: str) -> dict[str, str]:
    return {"it": it, "en": en}


SURVEY = {
    "key": "visit", "title": _t("La sua visita", "Your visit"), "thanks": _t("Grazie mille!", "Many thanks!"),
    "touchpoints": ["branch-visit"],
    "pages": [
        {"questions": [{"key": "nps", "type": "nps", "required": True,
                        "text": _t("Quanto ci consiglierebbe?", "How likely are you to recommend us?")}]},
        {"questions": [{"key": "csat", "type": "csat", "text": _t("Quanto è soddisfatto?", "How satisfied?")}]},
        {"questions": [{"key": "comment", "type": "text", "text": _t("Altro?", "Anything else?")}]},
    ],
}

# Required query parameters of routes that would otherwise answer 422 (the headers are checked on any answer;
# these make the route do its work).
QUERIES = {
    "/api/v1/metrics/{metric}/compare": "period=month",
    "/api/v1/paths/funnel": "steps=login,bonifico", "/api/v1/journeys/funnel": "steps=login,bonifico",
    "/api/v1/analysis/retention/cox": "covariates=bad:branch-visit",
    "/api/v1/analysis/retention/km": "nps_touchpoint=branch-visit",
    "/api/v1/analysis/retention/km.svg": "nps_touchpoint=branch-visit",
    "/api/v1/analysis/retention/logrank": "nps_touchpoint=branch-visit",
    "/api/v1/customers": f"q={CUSTOMER}", "/api/v1/customers/{customer_id}/offers/check": "offer=mutuo",
}
# Path parameters no seeded value can fill (left out of the walk, and named here): none today.
UNFILLABLE: set[str] = set()
UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'")


# -- a small seeded workspace ------------------------------------------------------------------------------


def seed(data_dir: Path) -> dict[str, str]:
    """The bank journey, a live three-page survey, customers with answers over 18 months, events, outcomes,
    a case and an admin; the values the routes' path parameters take."""
    ws = momenti.open(data_dir)
    try:
        ws.apply_journey(BANK)
        apply_survey(ws, SURVEY)
        add_user(ws, ADMIN, "admin", PASSWORD)
        ids = [f"C{i}" for i in range(1, 31)]
        ws.import_records("customers", [{"customer_id": c, "email": f"{c.lower()}@example.com", "language": "it",
                                         "first_seen": "2024-06-01"} for c in ids], source="test", strict=True)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
        rows = [{"response_id": f"r{i}", "customer_id": ids[i % 30],
                 "touchpoint": ["branch-visit", "app-login", "contact-centre-call"][i % 3],
                 "submitted_at": (now - dt.timedelta(days=2 + 9 * i)).isoformat(),
                 "nps": [10, 9, 8, 6, 3, 9, 10][i % 7], "csat": [5, 4, 2, 5][i % 4],
                 **({"comment": "Attesa lunga allo sportello"} if i % 5 == 0 else {})} for i in range(60)]
        assert ws.import_records("responses", rows, source="test", strict=True).added == 60
        events = [{"event_id": f"e{i}", "customer_id": ids[i % 30], "channel": "app",
                   "activity": ["login", "bonifico", "chiamata"][i % 3],
                   "timestamp": (now - dt.timedelta(days=1 + 5 * i)).isoformat()} for i in range(60)]
        ws.import_records("events", events, source="test", strict=True)
        outcomes = [{"customer_id": c, "status": "churned" if i % 4 == 0 else "active", "start_date": "2024-06-01",
                     "end_date": (now - dt.timedelta(days=10 * i)).date().isoformat()} for i, c in enumerate(ids)]
        ws.import_records("outcomes", outcomes, source="test", strict=True)
        with ws.session() as s, s.begin():
            case = open_manual(s, Actor("cli"), CUSTOMER, "Richiamare", team="Rete filiali", touchpoint="branch-visit")
            case_id = str(case.id)
            reset = password_link(s, ADMIN, ws.settings, "test")
        ws.sync_written()
        secret = links.secret_key(ws.settings)
        return {"metric": "nps", "key": SURVEY["key"], "survey_key": SURVEY["key"], "customer_id": CUSTOMER,
                "case_id": case_id, "token": links.sign_unsubscribe(CUSTOMER, secret, email="c1@example.com"),
                "password": urlsplit(reset).query, "notify": notify.unsubscribe_token(ws.settings, ADMIN)}
    finally:
        ws.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    data_dir = Path(tmp_path_factory.mktemp("headers")) / "data"
    values = seed(data_dir)
    app = create_app(get_settings(data_dir=data_dir, login_rate_per_minute=100_000))
    with TestClient(app):
        yield app, values


# -- 1. every route ------------------------------------------------------------------------------------------


def _directives(csp: str) -> dict[str, str]:
    out = {}
    for part in csp.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            out[name.lower()] = value.strip()
    return out


def _url(path: str, values: dict[str, str]) -> str | None:
    names = re.findall(r"\{([^}]+)\}", path)
    if any(n in UNFILLABLE for n in names):
        return None
    missing = [n for n in names if n not in values]
    assert not missing, f"{path}: give the path parameters {missing} a seeded value (or list them in UNFILLABLE)"
    url = re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], path)
    extra = {"/password": values["password"], "/notifications/unsubscribe": f"t={values['notify']}"}
    query = QUERIES.get(path) or extra.get(path)
    return f"{url}?{query}" if query else url


def _check_inline(url: str, body: str, csp: dict[str, str]) -> None:
    """No style attribute or handler in an HTML page; <style> elements and inline scripts only by the policy's
    nonce."""
    style_nonces = set(re.findall(r"'nonce-([^']+)'", csp.get("style-src", "")))
    for attrs in re.findall(r"<style\b([^>]*)>", body, flags=re.I):
        found = re.search(r'nonce="([^"]+)"', attrs)
        assert found and found.group(1) in style_nonces, (url, "a <style> element without the policy's nonce")
    tag = re.search(r"<[a-zA-Z][^<>]*\sstyle\s*=", body)
    assert tag is None, (url, "a style attribute", tag and tag.group(0)[:120])
    handler = re.search(r"<[a-zA-Z][^<>]*\son[a-z]+\s*=", body)
    assert handler is None, (url, "an event handler attribute", handler and handler.group(0)[:120])
    nonces = set(re.findall(r"'nonce-([^']+)'", csp.get("script-src", "")))
    for attrs in re.findall(r"<script\b([^>]*)>", body, flags=re.I):
        if "src=" in attrs:
            assert "'self'" in csp.get("script-src", ""), (url, "a script file the policy does not allow")
            continue
        found = re.search(r'nonce="([^"]+)"', attrs)
        assert found and found.group(1) in nonces, (url, "an inline script without the policy's nonce")


def _check(url: str, r: Any, https: bool) -> None:
    where = (url, r.status_code)
    assert r.status_code < 500, (*where, r.text[:300])
    csp = r.headers.get("content-security-policy")
    assert csp, (*where, "no Content-Security-Policy")
    for word in UNSAFE:
        assert word not in csp, (*where, csp)
    directives = _directives(csp)
    assert directives.get("default-src") == "'none'", (*where, csp)
    assert r.headers.get("x-content-type-options") == "nosniff", where
    path = urlsplit(url).path
    public_page = path.startswith(("/s/", "/w/", "/u/"))
    expected_referrer = "no-referrer" if public_page else "strict-origin-when-cross-origin"
    assert r.headers.get("referrer-policy") == expected_referrer, (*where, r.headers.get("referrer-policy"))
    if path.startswith("/w/"):  # the widget: embedded by any host site, exactly as before
        assert "frame-ancestors" not in directives and "x-frame-options" not in r.headers, (*where, csp)
    elif path.startswith("/s/"):  # the survey pages: framed by their own site only
        assert directives.get("frame-ancestors") == "'self'", (*where, csp)
        assert r.headers.get("x-frame-options") == "SAMEORIGIN", where
    else:
        assert directives.get("frame-ancestors") == "'none'", (*where, csp)
        assert r.headers.get("x-frame-options") == "DENY", where
    hsts = r.headers.get("strict-transport-security")
    if https:
        assert hsts and re.fullmatch(r"max-age=\d{7,}.*", hsts), (*where, hsts)
    else:
        assert hsts is None, (*where, hsts)
    kind = r.headers.get("content-type", "")
    if kind.startswith("text/html"):
        _check_inline(url, r.text, directives)
    if kind.startswith("image/svg+xml"):
        assert "<style" not in r.text and " style=" not in r.text, (url, "an inline style in an SVG answer")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_every_get_route_sends_the_security_headers(seeded: tuple[Any, dict[str, str]], scheme: str) -> None:
    app, values = seeded
    base = f"{scheme}://testserver"
    admin = TestClient(app, base_url=base, follow_redirects=False)
    assert sign_in(admin, ADMIN, PASSWORD).status_code == 303
    anon = TestClient(app, base_url=base, follow_redirects=False)
    checked: dict[str, int] = {}
    pages_ok = []
    for method, path in walk_routes(app.routes):
        if method != "GET":
            continue
        url = _url(path, values)
        if url is None:
            continue
        public = ROUTE_PERMISSIONS.get((method, path)) == "public"
        if public:
            r = anon.get(url)
            _check(url, r, scheme == "https")
        r = admin.get(url)
        _check(url, r, scheme == "https")
        checked[path] = r.status_code
        if not public:
            _check(url, anon.get(url), scheme == "https")  # the redirect to /login or the 401
        if r.headers.get("content-type", "").startswith("text/html") and r.status_code == 200:
            pages_ok.append(path)
    for url in ["/static/momenti.css", "/static/reach.css", "/static/no-such-file.css",
                "/static/vendor/swagger-ui/swagger-ui.css", "/no-such-page", "/api/v1/no-such-route"]:
        _check(url, anon.get(url), scheme == "https")
    # The pages this is about were rendered, not refused: the survey (first page and a signed link), the widget,
    # the unsubscribe page, the dashboard, a case, a customer, /docs; and the pictures.
    for path in ["/s/{survey_key}", "/w/{survey_key}", "/u/{token}", "/", "/trends", "/paths", "/retention",
                 "/cases/{case_id}", "/customers/{customer_id}", "/docs", "/admin/users", "/password"]:
        assert path in pages_ok, (path, checked)
    for path in ["/api/v1/analysis/retention/km.svg", "/api/v1/paths/dfg.svg"]:
        assert checked[path] == 200, (path, checked[path])
    assert len(checked) >= 85, len(checked)


def test_survey_pages_through_to_the_thanks_page(seeded: tuple[Any, dict[str, str]]) -> None:
    """The answers of a POST (a survey's next page, its thanks page, the widget's thanks) carry the headers too."""
    app, _ = seeded
    client = TestClient(app)
    first = client.get("/s/visit?lang=en")
    _check("/s/visit", first, https=False)
    assert '<progress class="bar" aria-labelledby="progress" max="3" value="1"></progress>' in first.text
    nonce = re.search(r"style-src 'nonce-([^']+)'", first.headers["content-security-policy"]).group(1)
    assert f'<style nonce="{nonce}">' in first.text and "<link" not in first.text  # one request, as before
    sid = re.search(r'name="sid" value="([^"]+)"', first.text).group(1)
    second = client.post("/s/visit", data={"sid": sid, "p": "0", "lang": "en", "nps": "9", "action": "next"})
    _check("/s/visit", second, https=False)
    assert 'max="3" value="2"' in second.text
    widget = client.get("/w/visit?lang=en")
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', widget.text))
    done = client.post("/w/visit", data={**form, "score": "8"})
    _check("/w/visit", done, https=False)
    assert done.status_code == 200 and "done:true" in done.text


# -- 2. in Chromium ------------------------------------------------------------------------------------------

LISTEN = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.__csp = window.__csp || []).push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
});"""


def _seed_elsewhere(data_dir: Path) -> dict[str, str]:
    """seed() in a process of its own: the module's app above keeps SQLite connections of the other library
    open in this one (momenti.store.raw refuses to mix them)."""
    code = f"import json, sys; sys.path.insert(0, {str(HERE)!r}); from test_security_headers import seed; " \
           f"print(json.dumps(seed(__import__('pathlib').Path({str(data_dir)!r}))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    values = _seed_elsewhere(tmp_path / "data")
    with served(tmp_path / "data", tmp_path / "serve.log") as base:
        yield base, values


class Violations:
    """CSP violations a page reports: console messages about the policy and securitypolicyviolation events."""

    def __init__(self, page: Page) -> None:
        self.page, self.console = page, []
        page.add_init_script(LISTEN)
        page.on("console", lambda m: self.console.append(m.text) if "Content Security Policy" in m.text else None)

    def after(self, what: str) -> None:
        events = [v for f in self.page.frames for v in (f.evaluate("window.__csp || []") or [])]
        assert not self.console and not events, (what, self.console, events)


def _style(page: Page, selector: str, prop: str, pseudo: str | None = None) -> str:
    return page.locator(selector).first.evaluate(
        f"(e) => getComputedStyle(e, {pseudo!r}).getPropertyValue({prop!r})" if pseudo else
        f"(e) => getComputedStyle(e).getPropertyValue({prop!r})")


def _pixel(page: Page, selector: str, fraction: float) -> tuple[int, int, int]:
    box = page.locator(selector).bounding_box()
    assert box and box["width"] > 100, box
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    return shot.getpixel((int(box["x"] + box["width"] * fraction), int(box["y"] + box["height"] / 2)))


def _close(colour: tuple[int, int, int], hex_colour: str) -> bool:
    want = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= 3 for a, b in zip(colour, want, strict=True))


def test_no_csp_violation_in_chromium_and_the_styles_apply(server: tuple[str, dict[str, str]],
                                                           browser: Browser) -> None:
    base, values = server
    blocked: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="it-IT")
    page = context.new_page()
    keep_offline(page, base, blocked)
    seen = Violations(page)

    # The survey: its stylesheet applies (card, buttons), and the progress bar shows 1 of 3, then 2 of 3.
    r = page.goto(f"{base}/s/visit?lang=it")
    assert r is not None and r.status == 200
    seen.after("survey page 1")
    assert _style(page, "body", "background-color") == "rgb(244, 245, 247)"
    assert _style(page, ".card", "background-color") == "rgb(255, 255, 255)"
    assert _style(page, ".card", "border-top-left-radius") == "8px"
    assert _style(page, "button.primary", "background-color") == "rgb(10, 75, 140)"
    assert _style(page, ".hp", "position") == "absolute"  # the honeypot stays out of sight
    bar = page.locator("progress.bar")
    assert bar.evaluate("(e) => [e.value, e.max, e.position]") == [1, 3, pytest.approx(1 / 3)]
    assert _style(page, "progress.bar", "height") == "8px"
    assert _close(_pixel(page, "progress.bar", 0.15), "#0a4b8c"), "the done part of the bar"
    assert _close(_pixel(page, "progress.bar", 0.6), "#dde1e6"), "the part still to do"
    page.locator("input[name=nps][value='9']").check(force=True)
    page.locator("button[value=next]").click()
    page.wait_for_load_state()
    seen.after("survey page 2")
    assert bar.evaluate("(e) => e.value") == 2
    assert _close(_pixel(page, "progress.bar", 0.6), "#0a4b8c") and _close(_pixel(page, "progress.bar", 0.8),
                                                                           "#dde1e6")
    page.locator("button[value=next]").click()
    page.wait_for_load_state()
    page.locator("button[value=next]").click()
    page.wait_for_load_state()
    assert "Grazie mille" in page.locator("#message").inner_text()
    assert _style(page, ".card", "border-top-left-radius") == "8px"
    seen.after("survey thanks page")

    # The unsubscribe page: the shared widget stylesheet and its own width.
    page.goto(f"{base}/u/{values['token']}")
    assert _style(page, "body", "max-width") == "576px" and _style(page, "button", "background-color") == \
        "rgb(11, 92, 173)"
    seen.after("unsubscribe page")

    # Signed in: the dashboard overview (its chart styled by the stylesheet), a case, a customer, /docs.
    page.goto(base + "/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.signin button[type=submit]")
    page.wait_for_load_state()
    seen.after("login")
    for path in ["/", "/trends", "/voice"]:
        assert page.goto(base + path).status == 200
        assert _style(page, "header.top", "background-color") == "rgb(29, 35, 48)"
        seen.after(path)
    page.goto(base + "/")
    assert page.locator("svg.trend").count() >= 1
    assert _style(page, "svg.trend polygon.band", "fill").startswith("rgba(31, 95, 191")
    page.goto(f"{base}/cases/{values['case_id']}?lang=it")
    assert page.locator("h1").inner_text().startswith("Caso")
    assert _style(page, "main", "max-width") == "1280px"
    seen.after("case page")
    page.goto(f"{base}/customers/{values['customer_id']}")
    seen.after("customer page")
    page.goto(base + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)  # Swagger UI rendered the schema
    assert _style(page, ".swagger-ui .opblock-summary-method", "color") == "rgb(255, 255, 255)"
    seen.after("/docs")
    svg = page.goto(base + "/api/v1/analysis/retention/km.svg?nps_touchpoint=branch-visit")
    assert svg is not None and svg.status == 200
    curve = page.locator("svg [stroke='#d55e00']")  # matplotlib's colours and strokes, now as attributes
    assert curve.count() >= 1 and page.locator("svg [style]").count() == 0
    assert curve.first.evaluate("(e) => getComputedStyle(e).stroke") == "rgb(213, 94, 0)"
    seen.after("km.svg")
    assert blocked == [], blocked
    context.close()


def test_the_widget_in_a_host_page_of_another_site(server: tuple[str, dict[str, str]]) -> None:
    """The widget on a customer's site (another origin): framed, styled, sized by its nonce'd script. Chromium's
    Local Network Access checks are off: they stop a public site (here shop.example) from loading anything from
    the loopback address the test server has, which a real deployment does not have."""
    from playwright.sync_api import sync_playwright

    base, _ = server
    host = "http://shop.example"
    html = (f'<!doctype html><html><body><h1>Shop</h1><div id="w"></div><script src="{base}/widget.js" '
            'data-survey="visit" data-lang="it" data-target="#w" async></script></body></html>')
    args = [*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
            "PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
        page.route(f"{host}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        seen = Violations(page)
        page.goto(host + "/")
        frame_el = page.wait_for_selector("#w iframe", state="attached")  # hidden until it tells its height
        page.wait_for_function("() => document.querySelector('#w iframe').style.visibility === 'visible'",
                               timeout=15_000)
        box = frame_el.bounding_box()
        assert box is not None and box["height"] > 100, box
        frame = frame_el.content_frame()
        assert frame is not None and frame.locator("input[name=score]").count() == 11
        assert frame.locator(".scale span").first.evaluate("(e) => getComputedStyle(e).borderTopLeftRadius") == \
            "4.8px"
        assert frame.locator("button").evaluate("(e) => getComputedStyle(e).backgroundColor") == "rgb(11, 92, 173)"
        seen.after("widget in a host page")
        browser.close()
