"""momenti report: the management-meeting report of a period, as one self-contained HTML file or as PDF."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

import momenti
from momenti.cli.output import console


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"


class Lang(StrEnum):
    it = "it"
    en = "en"


def report(period: str = typer.Option(..., "--period", help="2026-04, 2026-Q4, 2026-W40, 2026 or A..B days"),
           fmt: ReportFormat = typer.Option(ReportFormat.html, "--format", help="html or pdf"),
           out: Path = typer.Option(..., "--out", help="The file to write"),
           lang: Lang = typer.Option(Lang.it, "--lang", help="it or en")) -> None:
    """The report of a period for the management meeting: NPS, CSAT and CES against the period before, the
    moments of truth, the significant changes, the voice of the customer, the closed loop and the weekly
    reviews. Every figure with its n and interval. HTML is one file with nothing to fetch; PDF via WeasyPrint."""
    from momenti.domains.report import build, html

    with momenti.open() as ws:
        page = html.render(build.report(ws, period, lang.value))
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == ReportFormat.pdf:
        from momenti.domains.report.pdf import html_to_pdf

        data, _ = html_to_pdf(page)
        out.write_bytes(data)
    else:
        out.write_text(page, encoding="utf-8")
    console.print(f"{out} ({out.stat().st_size:,} bytes)", highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
