"""The dashboard in Debian's Chromium: every page signed in (JavaScript on and off), in Italian and English,
filters that change the numbers and a permalink that restores them, no external request, an accessibility
check with a vendored axe-core (no serious or critical violation), screenshots kept as test artefacts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

import momenti
from auth_helpers import add_user
from browser_helpers import browser_sign_in, keep_offline, served
from conftest import ROOT, demo_workspace

PAGES = ["/", "/moments", "/trends", "/loyalty", "/paths", "/contact", "/voice", "/retention"]
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
ARTEFACTS = Path(os.environ.get("MOMENTI_TEST_ARTEFACTS", ROOT / "test-artefacts"))
PASSWORD = "Tramonto-Verde-Pino-2026"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = Path(tmp_path_factory.mktemp("dash"))
    ws = demo_workspace(tmp / "data")
    add_user(ws, "analyst@example.com", "analyst", PASSWORD)
    add_user(ws, "viewer@example.com", "viewer", PASSWORD)
    ws.close()
    with served(tmp / "data", tmp / "serve.log") as base:
        yield base


@pytest.mark.parametrize("javascript", [True, False])
def test_every_page_renders_signed_in(server: str, browser: Browser, javascript: bool) -> None:
    ARTEFACTS.mkdir(exist_ok=True)
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    blocked: list[str] = []
    keep_offline(page, server, blocked)
    browser_sign_in(page, server, "analyst@example.com", PASSWORD)
    for lang in ("it", "en"):
        for path in PAGES:
            r = page.goto(f"{server}{path}?lang={lang}")
            assert r is not None and r.status == 200, (path, r and r.status)
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("h1").count() == 1
            assert page.locator("section.panel, section.journey").count() >= 1, path
            name = path.strip("/") or "overview"
            if lang == "en":
                page.screenshot(path=str(ARTEFACTS / f"{name}-js{int(javascript)}.png"), full_page=True)
    assert not blocked, blocked
    context.close()


def test_filters_change_the_numbers_and_the_permalink_restores_them(server: str, browser: Browser) -> None:
    page = browser.new_page()
    browser_sign_in(page, server, "analyst@example.com", PASSWORD)
    page.goto(f"{server}/contact?lang=en")
    before = page.locator("section#fcr table.data").text_content()
    page.fill("input[name=from]", "2026-06-01")
    page.fill("input[name=channel]", "app")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert "from=2026-06-01" in page.url and "channel=app" in page.url
    after = page.locator("section#fcr table.data").text_content()
    assert after != before
    permalink = page.url
    page.goto(f"{server}/trends")
    page.goto(permalink)
    assert page.locator("section#fcr table.data").text_content() == after
    assert page.locator("input[name=channel]").input_value() == "app"
    page.close()


def test_accessibility_with_axe(server: str, browser: Browser) -> None:
    page = browser.new_context(bypass_csp=True).new_page()  # the pages allow no script: let axe in
    browser_sign_in(page, server, "analyst@example.com", PASSWORD)
    problems = {}
    for path in [*PAGES, "/login"]:
        if path == "/login":
            page.context.clear_cookies()
        page.goto(f"{server}{path}?lang=en")
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                              ".filter(v => ['serious', 'critical'].includes(v.impact))"
                              ".map(v => v.id + ': ' + v.nodes.length)")
        if found:
            problems[path] = found
    page.close()
    assert not problems, json.dumps(problems)


def test_a_viewer_is_shown_only_what_a_viewer_may_open(server: str, browser: Browser) -> None:
    page = browser.new_page()
    browser_sign_in(page, server, "viewer@example.com", PASSWORD)
    page.goto(f"{server}/voice?lang=en")
    assert page.locator("section#comments").count() == 0
    assert page.locator("header nav a[href='/admin/users']").count() == 0
    r = page.goto(f"{server}/admin/users")
    assert r is not None and r.status == 403
    page.goto(f"{server}/trends?lang=en")
    page.click("form.logout button")
    page.wait_for_load_state()
    page.goto(f"{server}/trends")
    assert "/login" in page.url
    page.close()


def test_sign_in_works_on_postgres_too(tmp_path: Path, browser: Browser, pg_url: str) -> None:
    from conftest import BANK, _empty_postgres

    ws = momenti.open(pg_url, data_dir=tmp_path / "data")
    _empty_postgres(pg_url)
    ws.apply_journey(BANK)
    add_user(ws, "pg@example.com", "cx_manager", PASSWORD)
    ws.close()
    os.environ["MOMENTI_DATABASE_URL"] = pg_url
    try:
        with served(tmp_path / "data", tmp_path / "serve.log") as base:
            page = browser.new_page()
            browser_sign_in(page, base, "pg@example.com", PASSWORD)
            for path in PAGES:
                r = page.goto(base + path)
                assert r is not None and r.status == 200, path
            page.close()
    finally:
        del os.environ["MOMENTI_DATABASE_URL"]
