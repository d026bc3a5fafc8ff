"""The management-meeting report (`momenti report`, domains/report/): a self-contained HTML page that a real
browser opens from a file without a single other request, showing the workspace's own figures; the same as PDF
through WeasyPrint, which fetches nothing; the command; and the `report_mail` job through a real SMTP server,
once per recipient and period however often it runs."""

from __future__ import annotations

import datetime as dt
import http.server
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import momenti
from conftest import demo_workspace
from momenti.core.errors import InputError
from momenti.domains.report import build, html, pdf
from momenti.pipelines import reports
from reach_helpers import Inbox, smtp_fixture  # noqa: F401 - the smtp fixture

PERIOD, START, END = "2026-04", "2026-04-01", "2026-04-30"  # the app release month of the demo (docs/demo-truths.md)
TITLES = {"it": ["1. Sintesi", "2. Momenti della verità", "3. Tendenze", "4. La voce del cliente",
                 "5. Chiusura del cerchio", "6. Revisioni settimanali"],
          "en": ["1. Overview", "2. Moments of truth", "3. Trends", "4. Voice of the customer", "5. Closed loop",
                 "6. Weekly reviews"]}
URL = re.compile(r"https?://", re.IGNORECASE)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[momenti.Workspace]:
    """The small demo with its cases and weekly reviews: every section of the report has something to show."""
    from momenti.demo.cases import plant_cases
    from momenti.demo.reviews import plant_reviews

    w = demo_workspace(Path(tmp_path_factory.mktemp("report")) / "data")
    plant_cases(w)
    plant_reviews(w)
    yield w
    w.close()


@pytest.fixture(scope="module")
def page_it(ws: momenti.Workspace, tmp_path_factory: pytest.TempPathFactory) -> tuple[build.Report, str, Path]:
    rep = build.report(ws, PERIOD, "it")
    text = html.render(rep)
    path = Path(tmp_path_factory.mktemp("html")) / "report.html"
    path.write_text(text, encoding="utf-8")
    return rep, text, path


# --- the figures ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "before"), [
    ("2026-04", "2026-03"), ("2026-01", "2025-12"), ("2026-Q1", "2025-Q4"), ("2026-Q3", "2026-Q2"),
    ("2026-W01", "2025-W52"), ("2026-W40", "2026-W39"), ("2021-W01", "2020-W53"), ("2026", "2025"),
    ("2026-04-10", "2026-04-09"), ("2026-04-01..2026-04-15", "2026-03-17..2026-03-31"),
    ("2026-03..2026-04", "2026-01..2026-02"), ("2026-01..2026-03", "2025-10..2025-12")])
def test_the_period_before_is_of_the_same_kind_and_length(spec: str, before: str) -> None:
    assert build.previous_spec(spec) == before
    p = build.Period.parse(spec)
    assert p.previous().end == p.start - dt.timedelta(days=1)


def test_every_section_has_the_workspace_figures(ws: momenti.Workspace,
                                                 page_it: tuple[build.Report, str, Path]) -> None:
    rep, _, _ = page_it
    assert all(s.ok for s in rep.sections.values()), {k: s.error for k, s in rep.sections.items()}
    assert rep.previous.spec == "2026-03"
    over = {m["metric"]: m for m in rep.sections["overview"].data["metrics"]}
    nps = ws.nps(start=START, end=END).iloc[0]
    assert over["nps"]["value"] == pytest.approx(nps["nps"]) and over["nps"]["n"] == nps["n"]
    assert over["nps"]["ci_low"] == pytest.approx(nps["ci_low"])
    cmp = ws.compare("csat", periods=("2026-03", PERIOD)).iloc[0]
    assert over["csat"]["delta"] == pytest.approx(cmp["delta"]) and over["csat"]["p_value"] == pytest.approx(
        cmp["p_value"])
    assert len(rep.sections["overview"].data["trend"]) == 12
    # Moments of truth: only the flagged touchpoints, each on its own target metric (app-login: CSAT).
    moments = {r["touchpoint"]: r for r in rep.sections["moments"].data["rows"]}
    doc = ws.journey_document()
    flagged = {t["key"] for j in doc["journeys"] for s in j["stages"] for t in s["touchpoints"] if t["moment_of_truth"]}
    assert set(moments) == flagged and moments["app-login"]["metric"] == "csat"
    branch = ws.nps(by="touchpoint", start=START, end=END).set_index("touchpoint").loc["branch-visit"]
    assert moments["branch-visit"]["value"] == pytest.approx(branch["nps"])
    assert moments["branch-visit"]["n"] == branch["n"]
    # Changes: exactly the significant rows of compare by touchpoint, on every metric.
    changes = rep.sections["changes"].data
    expected = sum(int(ws.compare(m, by="touchpoint", periods=("2026-03", PERIOD))["significant"].sum())
                   for m in build.METRICS)
    assert len(changes["significant"]) == expected and changes["tested"] > expected
    voice = rep.sections["voice"].data
    assert voice["topics"][0]["topic"] == "app" and voice["examples"]  # the release month: the app on top
    assert {e["sentiment"] for e in voice["examples"]} == {"negative", "positive"}
    loop = rep.sections["loop"].data
    assert loop["overall"]["n"] == ws.case_metrics(start=START, end=END).iloc[0]["n"] > 0
    reviews = rep.sections["reviews"].data
    assert reviews["weeks"] and all(r["team"] == "all" for r in reviews["weeks"])
    assert any(i["touchpoint"] == "app-login" and i["significant"] for i in reviews["improvements"])
    digital = next(t for t in reviews["teams"] if t["team"] == "Digital banking")
    assert 0 <= digital["customer_share_ci_low"] <= digital["customer_share"] <= digital["customer_share_ci_high"]


class _Broken:
    """The demo workspace whose weekly review questions fail (as they would before the review is set up)."""

    def __init__(self, ws: momenti.Workspace, error: Exception) -> None:
        self._ws, self._error = ws, error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    def reviews(self, **kwargs: Any) -> Any:
        raise self._error


def test_a_section_that_fails_is_shown_as_not_available(ws: momenti.Workspace) -> None:
    rep = build.report(_Broken(ws, InputError("no review yet")), "2026-W18", "en")
    assert not rep.sections["reviews"].ok and "no review yet" in (rep.sections["reviews"].error or "")
    assert all(s.ok for k, s in rep.sections.items() if k != "reviews")
    page = html.render(rep)
    assert re.search(r'<section id="reviews"[^>]*data-available="false"', page)
    assert "Not available: InputError: no review yet" in page
    # A missing column is a section's problem too; any other error is a bug and stops the report.
    assert build.report(_Broken(ws, KeyError("team")), "2026-W18", "en").sections["reviews"].error
    with pytest.raises(ZeroDivisionError):
        build.report(_Broken(ws, ZeroDivisionError()), "2026-W18", "en")
    with pytest.raises(InputError):
        build.report(ws, PERIOD, "fr")


def test_the_html_is_self_contained_and_escaped(page_it: tuple[build.Report, str, Path]) -> None:
    _, text, _ = page_it
    assert len(text.encode()) > 5_000
    assert not URL.search(text) and "<script" not in text and "@import" not in text and "url(" not in text
    assert not re.search(r"\s(src|href)=", text)
    assert text.count("<svg") >= 5 and "@media print" in text and "break-before: page" in text
    for title in TITLES["it"]:
        assert title in text
    # A comment is data: escaped, never markup.
    rep, _, _ = page_it
    rep.sections["voice"].data["examples"][0]["text"] = "<img src=x onerror=alert(1)>"
    assert "&lt;img src=x onerror=alert(1)&gt;" in html.render(rep)


# --- in a browser, as PDF, from the command line -------------------------------------------------------------


@pytest.mark.slow
def test_chromium_opens_the_file_with_no_other_request(ws: momenti.Workspace, browser: Any,
                                                       page_it: tuple[build.Report, str, Path]) -> None:
    _, _, path = page_it
    requested: list[str] = []

    def record(route: Any) -> None:  # every request is recorded; anything but the file itself is refused
        requested.append(route.request.url)
        route.continue_() if route.request.url == path.as_uri() else route.abort()

    context = browser.new_context()
    context.route("**/*", record)
    page = context.new_page()
    page.on("request", lambda req: requested.append(req.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("networkidle")
    assert path.as_uri() in requested and set(requested) == {path.as_uri()}, requested  # only the file itself
    kpi = page.locator("#kpi-nps")
    nps = ws.nps(start=START, end=END).iloc[0]
    assert float(kpi.get_attribute("data-value")) == pytest.approx(nps["nps"])
    assert int(kpi.get_attribute("data-n")) == nps["n"]
    assert float(kpi.get_attribute("data-ci-low")) == pytest.approx(nps["ci_low"])
    shown = kpi.locator(".value").inner_text().replace("*", "").strip()
    assert shown == f"{nps['nps']:.1f}".replace(".", ",")  # the Italian page writes a decimal comma
    assert page.locator("section[data-available=true]").count() == 6
    assert page.locator("#voice blockquote.comment").count() >= 2
    assert page.evaluate("document.querySelectorAll('script, link, img, iframe, object').length") == 0
    mot = page.locator("#mot-branch-visit")
    assert int(mot.get_attribute("data-n")) > 0 and mot.get_attribute("data-metric") == "nps"
    context.close()


@pytest.mark.slow
def test_the_pdf_has_every_section_and_several_pages(ws: momenti.Workspace, tmp_path: Path) -> None:
    data, refused = pdf.html_to_pdf(html.render(build.report(ws, PERIOD, "en")))
    assert refused == [] and data.startswith(b"%PDF")
    out = tmp_path / "report.pdf"
    out.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    for title in TITLES["en"]:
        assert title in text
    assert "April 2026" in text and "NPS" in text
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
    assert pages >= 2


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Counting.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_pdf_build_never_reaches_the_network() -> None:
    """Even a page that asks for a stylesheet, an image and a font gets none of them: nothing is fetched."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = (f'<html><head><link rel="stylesheet" href="{base}/a.css"><style>@font-face {{ font-family: x; '
                f'src: url({base}/f.woff) }} body {{ font-family: x }}</style></head>'
                f'<body><p>ciao</p><img src="{base}/i.png"></body></html>')
        data, refused = pdf.html_to_pdf(page)
    finally:
        server.shutdown()
        server.server_close()
    assert data.startswith(b"%PDF") and _Counting.hits == []
    assert {f"{base}/a.css", f"{base}/i.png"} <= set(refused)


def test_the_command_writes_the_report(ws: momenti.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws.settings.data_dir))
    out = tmp_path / "out" / "report.html"
    res = CliRunner().invoke(app, ["report", "--period", PERIOD, "--format", "html", "--out", str(out),
                                   "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert str(out) in res.output and "bytes" in res.output
    text = out.read_text(encoding="utf-8")
    assert out.stat().st_size > 5_000 and not URL.search(text)
    assert 'lang="en"' in text and "Voice of the customer" in text
    res = CliRunner().invoke(app, ["report", "--period", "2026-13", "--out", str(out)])
    assert res.exit_code != 0


# --- the scheduled e-mail ------------------------------------------------------------------------------------


def test_recipients_and_due_periods() -> None:
    assert reports.parse_recipients(" A@x.it:weekly, b@x.it:MONTHLY,a@x.it:weekly ") == [
        ("a@x.it", "weekly"), ("b@x.it", "monthly")]
    for bad in ("a@x.it", "a@x.it:daily", "nobody:weekly"):
        with pytest.raises(InputError):
            reports.parse_recipients(bad)
    monday, wednesday, thursday = dt.date(2026, 5, 4), dt.date(2026, 5, 6), dt.date(2026, 5, 7)
    assert reports.period_due("weekly", monday) == "2026-W18"
    assert reports.period_due("weekly", wednesday) == "2026-W18"  # caught up if Monday's run could not send it
    assert reports.period_due("weekly", thursday) is None
    assert reports.period_due("monthly", dt.date(2026, 5, 1)) == "2026-04"
    assert reports.period_due("monthly", dt.date(2026, 1, 1)) == "2025-12"
    assert reports.period_due("monthly", monday) is None


def test_the_report_mail_job_sends_each_report_once(ws: momenti.Workspace, smtp: tuple[Inbox, int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from huey import MemoryHuey

    from momenti.pipelines.jobs import JobRunner

    inbox, port = smtp
    for key, value in {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "momenti <cx@banca.example>",
                       "report_recipients": "ceo@banca.example:weekly,cfo@banca.example:weekly,"
                                            "board@banca.example:monthly"}.items():
        monkeypatch.setattr(ws.settings, key, value)
    (Path(ws.settings.data_dir) / reports.SENT_FILE).unlink(missing_ok=True)
    monkeypatch.setattr(ws, "job_runner", None, raising=False)  # the runner sets itself there: undone after
    runner = JobRunner(ws, huey=MemoryHuey("report-test"))
    assert "report_mail" in runner.tasks  # registered with the other periodic jobs

    monday = dt.date(2026, 5, 4)  # the report of 2026-W18 (the week the app login was fixed)
    assert reports.send_due(ws, today=monday) == {"sent": 2, "failed": 0}
    assert sorted(m["To"] for m in inbox.messages) == ["ceo@banca.example", "cfo@banca.example"]
    for msg in inbox.messages:
        assert "2026-W18" in msg["Subject"]
        files = [p for p in msg.iter_attachments() if p.get_filename()]
        assert [p.get_filename() for p in files] == ["report-2026-W18.html"]
        attached = files[0].get_content()
        attached = attached.decode() if isinstance(attached, bytes) else attached
        assert 'data-period="2026-W18"' in attached and len(attached) > 5_000 and not URL.search(attached)
        assert 'data-period="2026-W18"' in msg.get_body(("html",)).get_content()  # and inline
    # The same day again, or the day after: nothing more.
    assert reports.send_due(ws, today=monday) == {"sent": 0, "failed": 0}
    assert reports.send_due(ws, today=monday + dt.timedelta(days=1)) == {"sent": 0, "failed": 0}
    assert len(inbox.messages) == 2
    # The 1st of the month: the monthly one, once.
    first = dt.date(2026, 6, 1)  # a Monday too: the weekly ones of 2026-W22 go as well
    assert reports.send_due(ws, today=first) == {"sent": 3, "failed": 0}
    assert reports.send_due(ws, today=first) == {"sent": 0, "failed": 0}
    board = [m for m in inbox.messages if m["To"] == "board@banca.example"]
    assert len(board) == 1 and "maggio 2026" in board[0]["Subject"]
    assert len(inbox.messages) == 5
