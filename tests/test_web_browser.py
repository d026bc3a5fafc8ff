"""A real browser (Debian's Chromium via Playwright) against the real server (`momenti serve` in a
subprocess, uvicorn on a free port).

Every request to a host other than the test server is blocked and fails the test: the app must work
offline. Screenshots go to test-artifacts/ for a human look.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

import momenti
from auth_helpers import add_user
from browser_helpers import browser_sign_in, keep_offline, served
from momenti.domains.tokens import create_token

PASSWORD = "Tramonto-Verde-Pino-2026"

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"



@pytest.fixture
def server(workspace: momenti.Workspace, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base URL, API token) of `momenti serve` running in its own process on the bank journey with six
    months of answers (written here first, through the Python API)."""
    rows = [{"response_id": f"r{i}", "customer_id": f"c{i % 50}",
             "touchpoint": ["branch-visit", "app-login", "contact-centre-call"][i % 3],
             "submitted_at": f"2025-{1 + i % 6:02d}-{1 + i % 28:02d}T09:00:00",
             "nps": [10, 9, 8, 6, 3, 9, 10][i % 7], "csat": [5, 4, 2, 5][i % 4]} for i in range(300)]
    assert workspace.import_records("responses", rows, source="test", strict=True).added == 300
    with workspace.session() as s, s.begin():
        _, secret = create_token(s, "browser")
    add_user(workspace, "browser@example.com", "cx_manager", PASSWORD)
    workspace.close()
    log = tmp_path / "serve.log"
    with served(workspace.settings.data_dir, log) as base:
        yield base, secret
    assert f"serving {base}" in log.read_text(), log.read_text()



def _offline_page(browser: Browser, base: str, blocked: list[str], lang: str = "it-IT") -> Page:
    """A page kept offline and signed in (every page but the survey pages needs a sign-in)."""
    page = keep_offline(browser.new_page(viewport={"width": 1280, "height": 900}, locale=lang), base, blocked)
    browser_sign_in(page, base, "browser@example.com", PASSWORD)
    return page


def test_overview_in_a_real_browser(server: tuple[str, str], browser: Browser) -> None:
    base, _ = server
    blocked: list[str] = []
    failed: list[str] = []
    page = _offline_page(browser, base, blocked)
    page.on("requestfailed", lambda r: failed.append(r.url))
    response = page.goto(base + "/")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Panoramica del percorso"
    card = page.locator("#tp-branch-visit")
    assert "Visita in filiale" in card.inner_text()
    assert "n = 100" in card.inner_text().replace("\xa0", " ")
    assert card.locator(".ci").count() == 2  # NPS and CSAT intervals
    assert card.locator(".flag.mot").count() == 1
    assert page.locator("#tp-website-visit dd .none").count() == 2  # no answers: said, not hidden
    # The trend: six months, each point with its tooltip; the stylesheet applied (band filled, not black).
    points = page.locator("svg.trend circle")
    assert points.count() == 6
    assert "n = 50" in points.first.locator("title").text_content()
    fill = page.locator("svg.trend polygon.band").first.evaluate("e => getComputedStyle(e).fill")
    assert fill.startswith("rgba(31, 95, 191")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    page.goto(base + "/?lang=en")
    assert page.locator("h1").inner_text() == "Journey overview"
    page.screenshot(path=str(ARTIFACTS / "overview-en.png"), full_page=True)
    assert blocked == [] and failed == []


def test_api_docs_in_a_real_browser(server: tuple[str, str], browser: Browser) -> None:
    base, _ = server
    blocked: list[str] = []
    errors: list[str] = []
    page = _offline_page(browser, base, blocked, lang="en-US")
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)  # Swagger UI rendered the schema
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/v1/responses", "/api/v1/metrics/{metric}", "/api/v1/health"} <= {p.strip() for p in paths}
    assert page.locator(".btn.authorize").count() == 1  # the bearer scheme is declared
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=True)
    assert blocked == [] and errors == []


def test_api_write_from_the_browser_reaches_the_page(server: tuple[str, str], browser: Browser) -> None:
    """A write through the real server (browser's fetch) shows up on the overview after the debounced sync."""
    base, secret = server
    blocked: list[str] = []
    page = _offline_page(browser, base, blocked)
    page.goto(base + "/api/v1/health")
    status = page.evaluate("""async ([secret]) => {
        const body = Array.from({length: 5}, (_, i) => ({response_id: `web${i}`, customer_id: `w${i}`,
            touchpoint: "website-visit", submitted_at: "2025-06-10T10:00:00Z", answers: {csat: 5}}));
        const r = await fetch("/api/v1/responses", {method: "POST", body: JSON.stringify(body),
            headers: {"Content-Type": "application/json", "Authorization": `Bearer ${secret}`}});
        return [r.status, await r.json()];
    }""", [secret])
    assert status[0] == 201 and status[1]["added"] == 5
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        page.goto(base + "/")
        text = page.locator("#tp-website-visit").inner_text().replace("\xa0", " ")
        if "n = 5" in text:
            break
        time.sleep(0.2)
    assert "n = 5" in text and "100 %" in text and "campione piccolo" in text
    assert blocked == []


def test_the_guard_catches_external_requests(server: tuple[str, str], browser: Browser) -> None:
    """The offline check itself must be able to fail: an external fetch is caught and recorded."""
    base, _ = server
    blocked: list[str] = []
    # bypass_csp: the page's own Content-Security-Policy would stop the fetch before the guard could see it.
    page = keep_offline(browser.new_page(bypass_csp=True), base, blocked)
    page.goto(base + "/login")
    page.evaluate("fetch('https://cdn.example.invalid/lib.js').catch(() => null)")
    page.wait_for_timeout(200)
    assert blocked == ["https://cdn.example.invalid/lib.js"]
