"""Public survey pages in a real browser: Debian's Chromium via Playwright, JavaScript DISABLED, keyboard only
(Tab to move, arrows/Space to choose, Enter to submit), against `momenti serve` in its own process.

Every request to another host is blocked and fails the test (the pages must make no external request).
Screenshots go to tests/artifacts/ for a human look. The answers must then show in `momenti metrics`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

import momenti
from browser_helpers import keep_offline, served
from momenti.domains.surveys.service import apply_survey
from pii_helpers import check_analysed, pii_comment, wait_idle, wait_masked

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _t(it: str, en: str) -> dict[str, str]:
    return {"it": it, "en": en}


SURVEY = {
    "key": "visit", "title": _t("La sua visita", "Your visit"), "thanks": _t("Grazie mille!", "Many thanks!"),
    "intro": _t("Tre domande, un minuto.", "Three questions, one minute."),
    "touchpoints": ["branch-visit"], "hidden": ["agent"],
    "pages": [
        {"questions": [
            {"key": "nps", "type": "nps", "required": True,
             "text": _t("Quanto ci consiglierebbe?", "How likely are you to recommend us?")},
            {"key": "csat", "type": "csat", "required": True,
             "text": _t("Quanto è soddisfatto?", "How satisfied are you?")}]},
        {"questions": [
            {"key": "liked", "type": "multiple", "show_if": {"question": "nps", "in": ["9..10"]},
             "text": _t("Che cosa le è piaciuto?", "What did you like?"),
             "options": [{"key": "people", "text": _t("Le persone", "The people")},
                         {"key": "speed", "text": _t("La rapidità", "The speed")}]},
            {"key": "why_low", "type": "single", "show_if": {"question": "nps", "in": ["0..6"]},
             "text": _t("Che cosa non è andato?", "What went wrong?"),
             "options": [{"key": "wait", "text": _t("L'attesa", "The wait")},
                         {"key": "staff", "text": _t("Il personale", "The staff")}]},
            {"key": "comment", "type": "text", "text": _t("Vuole aggiungere qualcosa?", "Anything to add?")}]},
    ],
}


@pytest.fixture
def server(workspace: momenti.Workspace, tmp_path: Path) -> Iterator[str]:
    """Base URL of `momenti serve` (own process) on the bank journey with the survey `visit` applied."""
    apply_survey(workspace, SURVEY)
    workspace.close()
    with served(workspace.settings.data_dir, tmp_path / "serve.log") as base:
        yield base



def _no_js_page(browser: Browser, base: str, locale: str, blocked: list[str]) -> Page:
    context = browser.new_context(java_script_enabled=False, locale=locale, viewport={"width": 390, "height": 844})
    return keep_offline(context.new_page(), base, blocked)


def _focused_name(page: Page) -> str:
    """name/value of the focused element (read through Playwright's own isolated world: page JS is off)."""
    el = page.locator("*:focus")
    return f"{el.get_attribute('name')}={el.get_attribute('value')}" if el.count() else "none"


def _tab_to(page: Page, name: str, limit: int = 15) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused_name(page).startswith(name + "="):
            return
    raise AssertionError(f"Tab never reached {name}")


def _choose(page: Page, name: str, value: int, start: int) -> None:
    """A radio group by keyboard: Tab into it, Space on the first point, arrows to the value."""
    _tab_to(page, name)
    page.keyboard.press("Space")
    for _ in range(value - start):
        page.keyboard.press("ArrowRight")
    assert page.locator(f"input[name={name}][value='{value}']").is_checked()


def _answer(browser: Browser, base: str, locale: str, url: str, nps: int, csat: int, comment: str,
            texts: dict[str, str]) -> None:
    blocked: list[str] = []
    page = _no_js_page(browser, base, locale, blocked)
    response = page.goto(base + url)
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == texts["lang"]
    assert texts["progress1"] in page.locator("#progress").inner_text()
    assert page.locator("fieldset legend").first.inner_text().startswith(texts["q1"])
    ARTIFACTS.mkdir(exist_ok=True)
    tag = texts["lang"]
    page.screenshot(path=str(ARTIFACTS / f"survey-{tag}-page1.png"), full_page=True)
    _choose(page, "nps", nps, 0)
    _choose(page, "csat", csat, 1)
    _tab_to(page, "action")
    assert _focused_name(page) == "action=next"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert texts["progress2"] in page.locator("#progress").inner_text()
    assert page.locator(f"text={texts['follow_up']}").count() == 1
    _tab_to(page, "liked")
    page.keyboard.press("Space")  # the first option: people
    _tab_to(page, "comment")
    page.keyboard.type(comment)
    page.screenshot(path=str(ARTIFACTS / f"survey-{tag}-page2.png"), full_page=True)
    _tab_to(page, "action")
    assert _focused_name(page) == "action=next"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == texts["title"]
    assert texts["thanks"] in page.locator("#message").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"survey-{tag}-thanks.png"), full_page=True)
    # Reload the thanks page and go back: nothing is submitted twice.
    page.reload()
    page.go_back()
    page.context.close()
    assert blocked == []


def test_answer_in_italian_and_english_keyboard_only_without_js(server: str, browser: Browser,
                                                                workspace: momenti.Workspace) -> None:
    _answer(browser, server, "it-IT", "/s/visit?agent=rossi", 10, 5, "Personale gentilissimo", {
        "lang": "it", "progress1": "Pagina 1 di 2", "progress2": "Pagina 2 di 2",
        "q1": "Quanto ci consiglierebbe?", "follow_up": "Che cosa le è piaciuto?", "title": "La sua visita",
        "thanks": "Grazie mille!"})
    _answer(browser, server, "it-IT", "/s/visit?lang=en", 9, 4, "Quick and friendly", {
        "lang": "en", "progress1": "Page 1 of 2", "progress2": "Page 2 of 2",
        "q1": "How likely are you to recommend us?", "follow_up": "What did you like?", "title": "Your visit",
        "thanks": "Many thanks!"})
    # The answers are in the metrics (the server syncs its warehouse within a moment of each write).
    env = {**os.environ, "MOMENTI_DATA_DIR": str(workspace.settings.data_dir)}
    deadline = time.monotonic() + 30
    while True:
        out = subprocess.run([sys.executable, "-m", "momenti.cli.main", "metrics", "nps", "--by", "language",
                              "--format", "json"], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        rows = {r["language"]: r for r in json.loads(out.stdout)["rows"]}
        if len(rows) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert (rows["it"]["n"], rows["it"]["promoters"]) == (1, 1)
    assert (rows["en"]["n"], rows["en"]["promoters"]) == (1, 1)
    out = subprocess.run([sys.executable, "-m", "momenti.cli.main", "metrics", "csat", "--format", "json"], env=env,
                         capture_output=True, text=True)
    [csat] = json.loads(out.stdout)["rows"]
    assert csat["n"] == 2 and csat["mean_score"] == pytest.approx(4.5)
    ws = momenti.open(workspace.settings.data_dir)
    with ws.warehouse() as wh:
        a = wh.table("answers").to_pandas()
    ws.close()
    texts = dict(zip(a["question"] + "/" + a["language"], a["value_text"], strict=True))
    assert texts["comment/it"] == "Personale gentilissimo" and texts["comment/en"] == "Quick and friendly"
    assert texts["liked/it"] == "people" and texts["agent/it"] == "rossi"
    assert len(a[a["question"] == "nps"]) == 2  # reloads and back navigation added nothing


def test_comment_with_pii_is_masked_and_analysed_within_seconds(server: str, browser: Browser,
                                                                 workspace: momenti.Workspace) -> None:
    """A customer types an e-mail address, a phone number and an IBAN into the survey's comment box: within
    15 s of the answer no plain copy is left in any column of the store or the warehouse (the session's saved
    answers included) and the comment shows in `comments()` masked, with sentiment and topics. The server's
    background sync after the page's write does it; nobody runs `momenti text analyze`."""
    tail = "Pessimo servizio, attesa infinita allo sportello."
    wait_idle(server)
    _answer(browser, server, "it-IT", "/s/visit", 10, 2, pii_comment(tail), {
        "lang": "it", "progress1": "Pagina 1 di 2", "progress2": "Pagina 2 di 2",
        "q1": "Quanto ci consiglierebbe?", "follow_up": "Che cosa le è piaciuto?", "title": "La sua visita",
        "thanks": "Grazie mille!"})
    reader = momenti.open(workspace.settings.data_dir, text_min_group=1)  # every comment shown, however few
    seconds, left, mine = wait_masked(reader, [tail])
    assert left == [], f"plain copies after {seconds:.1f} s: {left}"
    check_analysed(mine, [tail])
    reader.close()
