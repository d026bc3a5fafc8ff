"""momenti survey: define surveys in YAML (new versions on change), list, show, templates, close, sweep."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

import momenti
from momenti.cli.output import FMT, Format, console, print_frame
from momenti.domains.surveys.catalog import TEMPLATES, template_text


def service():  # noqa: ANN201 - the module: the store and the workspace load when a command needs them
    from momenti.domains.surveys import service

    return service

app = typer.Typer(help="Surveys: definitions in YAML, versions, public pages at /s/<key>.", no_args_is_help=True)


@app.command()
def template(name: str = typer.Argument(..., help=f"One of: {', '.join(TEMPLATES)}")) -> None:
    """Print a ready-made survey (redirect it to a file, edit, then `momenti survey apply`)."""
    sys.stdout.write(template_text(name))


@app.command()
def apply(path: Path = typer.Argument(..., help="Survey YAML file")) -> None:
    """Create the survey, or a new version when the definition changed (answers keep their version)."""
    from momenti.domains.surveys.definition import load_survey

    definition = load_survey(path)
    with momenti.open() as ws:
        r = service().apply_survey(ws, definition)
    if r.created:
        console.print(f"[green]created[/green] survey {r.key} version {r.version} ({r.status}): /s/{r.key}")
    elif r.changed:
        console.print(f"[cyan]new version[/cyan] {r.key} version {r.version} ({r.status})")
    else:
        console.print(f"unchanged: {r.key} stays at version {r.version} ({r.status})")


@app.command("list")
def list_(fmt: Format = FMT) -> None:
    """The surveys in the store with their status and current version."""
    with momenti.open() as ws:
        df = service().list_surveys(ws)
    print_frame(df.drop(columns=["updated_at"]), fmt, title="Surveys")


@app.command()
def show(key: str = typer.Argument(..., help="Survey key"),
         version: int | None = typer.Option(None, "--version", help="Version (default: the current one)"),
         fmt: str = typer.Option("table", "--format", help="table, yaml or json")) -> None:
    """A survey's status, versions and questions (yaml/json: the whole definition)."""
    with momenti.open() as ws:
        doc = service().show_survey(ws, key, version)
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        return
    if fmt == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(doc["definition"], allow_unicode=True, sort_keys=False, width=110))
        return
    from momenti.domains.surveys.definition import SurveyDefinition

    d = SurveyDefinition.model_validate(doc["definition"])
    console.print(f"{key}: {doc['status']}, version {doc['version']} of {doc['current_version']}, "
                  f"touchpoints {', '.join(d.touchpoints)}, hidden fields {', '.join(d.hidden) or '-'}, "
                  f"anonymous {'allowed' if doc['allow_anonymous'] else 'not allowed'}", highlight=False)
    print_frame(service().questions_frame(d), Format.table, title=d.title.en)


@app.command()
def close(key: str = typer.Argument(..., help="Survey key")) -> None:
    """Stop taking answers (the public page says so politely); answers already given stay."""
    with momenti.open() as ws:
        info = service().close_survey(ws, key)
    console.print(f"closed: {info.key} (version {info.version})")


@app.command()
def sweep(idle_minutes: float = typer.Option(None, "--idle-minutes",
                                             help="End sessions idle for longer than this many minutes "
                                                  "(default: the limit the pages use)")) -> None:
    """Record abandoned sessions as partial responses (the pages also do this once a minute)."""
    with momenti.open() as ws:
        from momenti.domains.surveys.sessions import DEFAULT_IDLE_MINUTES
        from momenti.domains.surveys.sessions import sweep as sweep_sessions

        counts = sweep_sessions(ws, DEFAULT_IDLE_MINUTES if idle_minutes is None else idle_minutes)
        if counts["partial"]:
            ws.sync()
    console.print(f"{counts['partial']} partial response(s) recorded, {counts['empty']} empty session(s) closed")
