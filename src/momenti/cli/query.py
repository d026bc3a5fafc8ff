"""momenti query <kind> --param key=value ...: any registered insight, the same as POST /api/v1/query."""

from __future__ import annotations

import json

import typer

from momenti.cli.output import Format, console, fail, print_frame


def _value(text: str) -> object:
    # JSON where it reads as JSON (7, true, ["a","b"], {"channel": ["app"]}), else the text itself.
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--param {item!r}: write key=value, e.g. --param by=touchpoint")
        out[key.strip()] = _value(value)
    return out


def query(
    kind: str | None = typer.Argument(None, help="The insight, e.g. nps, drivers, dfg (see --list)"),
    param: list[str] = typer.Option([], "--param", "-p", help="key=value (repeatable); JSON values allowed"),  # noqa: B006
    list_kinds: bool = typer.Option(False, "--list", help="List the kinds and their parameters"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv"),
) -> None:
    """Answer any insight by its kind: `momenti query nps --param by=touchpoint --param period=month`."""
    from momenti.insights.query import QueryError, kinds_schema, parse

    if list_kinds:
        schema = kinds_schema()
        if fmt is Format.json:
            typer.echo(json.dumps(schema, indent=1))
            return
        for name, doc in schema.items():
            params = ", ".join(doc["parameters"].get("properties", {}))
            console.print(f"[bold]{name}[/bold]: {doc['summary']}\n  {params}", highlight=False)
        return
    if not kind:
        fail("name a kind (momenti query --list shows them)")
    try:
        q = parse({"kind": kind, **parse_params(param)})
    except QueryError as exc:
        fail(str(exc))
        return
    import momenti

    with momenti.open() as ws:
        df = ws.run(q)
    meta = {**df.attrs.get("query", {}), **{k: v for k, v in df.attrs.items() if k != "query"}}
    print_frame(df, fmt, title=kind, meta=meta)


def register(app: typer.Typer) -> None:
    app.command("query")(query)
