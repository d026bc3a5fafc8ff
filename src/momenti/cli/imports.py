"""momenti import: responses, events, feedback, customers, outcomes from CSV, JSON Lines or Parquet."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from momenti.cli.output import console, err_console, fail

if TYPE_CHECKING:  # the import machinery (DuckDB, Arrow, the store) loads when a command runs, not at start-up
    from momenti.ingest.run import ImportSummary

app = typer.Typer(help="Import data files (CSV, JSON Lines, Parquet). Bad rows go to a rejects file.",
                  no_args_is_help=True)
SHOWN_ERRORS = 20


def _mapping(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            fail(f"--map {pair!r}: write source=target")
        src, dst = pair.split("=", 1)
        out[src.strip()] = dst.strip()
    return out


def summary_line(s: ImportSummary) -> str:
    """What an import did, e.g. "log.xes: 21,348 rows read, 21,348 added (127 identical rows kept as repeats),
    0 already present, 0 rejected in 2.1s"."""
    verb = "to add (dry run)" if s.dry_run else "added"
    repeats = (f" ({s.repeats:,} identical row{'s' if s.repeats != 1 else ''} kept as repeats)"
               if s.repeats else "")
    updated = f", {s.updated:,} updated" if s.updated else ""
    return (f"{s.source}: {s.read:,} rows read, {s.added:,} {verb}{repeats}{updated}, {s.duplicates:,} already "
            f"present, {s.rejected:,} rejected in {s.seconds:.1f}s")


def _report(s: ImportSummary, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(s.as_dict(), default=str) + "\n")
        return
    # soft_wrap: one error per line, never folded at the terminal width (people and scripts grep them).
    for line in s.errors[:SHOWN_ERRORS]:
        err_console.print(line, highlight=False, markup=False, soft_wrap=True)
    if len(s.errors) > SHOWN_ERRORS:
        where = f"in {s.rejects_file}" if s.rejects_file else "(--rejects PATH writes them all)"
        err_console.print(f"… {len(s.errors) - SHOWN_ERRORS} more {where}", highlight=False,
                          markup=False, soft_wrap=True)
    console.print(summary_line(s), highlight=False, markup=False, soft_wrap=True)
    if s.text_analysed:
        console.print(f"comments masked and analysed: {s.text_analysed:,} in {s.text_seconds:.1f}s (included above)",
                      highlight=False, markup=False, soft_wrap=True)
    if s.rejects_file:
        console.print(f"rejected rows with their errors: {s.rejects_file}", highlight=False, markup=False,
                      soft_wrap=True)
    elif s.rejected and s.dry_run:
        console.print("dry run: no rejects file written (--rejects PATH writes one)", highlight=False,
                      markup=False, soft_wrap=True)


def _run(kind: str, path: Path, maps: list[str], dry_run: bool, as_json: bool, fail_on_reject: bool,
         rejects: Path | None, options: dict) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    import momenti
    from momenti.ingest.options import ImportOptions

    opts = ImportOptions.parse(**options)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # No bar when stderr is not a terminal: there it would only leave a blank line before the error lines.
    with momenti.open() as ws, Progress(*columns, console=err_console, transient=True,
                                        disable=as_json or not err_console.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=max(total, 1))
            bar.update(tasks[phase], completed=done, total=max(total, 1))

        summary = ws.import_file(kind, path, mapping=_mapping(maps), dry_run=dry_run, progress=progress,
                                 options=opts, rejects=rejects)
    _report(summary, as_json)
    if fail_on_reject and summary.rejected:
        raise typer.Exit(1)


def _command(kind: str, doc: str):  # noqa: ANN202
    def command(
        path: Path = typer.Argument(..., help="CSV, JSON Lines (.jsonl) or Parquet file"),
        map_: list[str] = typer.Option([], "--map", help="Rename a column: source=target (repeatable)"),
        set_: list[str] = typer.Option([], "--set", help="A column with one value for every row: column=value "
                                                         "(repeatable), e.g. --set source=twitter"),
        missing: list[str] = typer.Option([], "--missing", help="A code meaning 'no answer', read as empty: CODE "
                                                                "(every column) or column=CODE (repeatable)"),
        map_values: list[str] = typer.Option([], "--map-values", help="Replace values of a column: "
                                                                      "column=from:to,from:to (repeatable)"),
        date_format: str = typer.Option(None, "--date-format", help="How dates are written, in strptime codes, "
                                                                    "e.g. '%d/%m/%Y %H:%M'"),
        dayfirst: bool = typer.Option(False, "--dayfirst", help="Dates like 03/04/2015 are day first (3 April)"),
        rejects: Path = typer.Option(None, "--rejects", help="Write the rejected rows here (default: the data "
                                                             "directory's rejects/ folder; none on --dry-run)"),
        dry_run: bool = typer.Option(False, "--dry-run", help="Validate and count, write nothing"),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
        fail_on_reject: bool = typer.Option(False, "--fail-on-reject", help="Exit 1 when any row is rejected"),
    ) -> None:
        _run(kind, path, map_, dry_run, as_json, fail_on_reject, rejects,
             {"sets": set_, "missing": missing, "maps": map_values, "date_format": date_format,
              "dayfirst": dayfirst})

    command.__doc__ = doc
    return command


app.command("responses")(_command("responses", "Survey responses: one row per response; other columns are answers."))
app.command("events")(_command("events", "Interaction log: customer_id, timestamp, activity (or touchpoint), ..."))
app.command("feedback")(_command("feedback", "Unsolicited feedback: feedback_id, source, text, ..."))
app.command("customers")(_command("customers", "Customer attributes: customer_id, first_seen, any attribute."))
app.command("outcomes")(_command("outcomes", "Customer outcomes (retention): customer_id, status (active/churned), "
                                             "start_date, end_date (required when churned), any attribute."))
app.command("offers")(_command("offers", "Offers proposed to customers: offer_id, customer_id, offer, proposed_at, "
                                         "outcome (accepted, declined, no_answer, pending), channel, agent. An "
                                         "offer id imported again updates its outcome."))
