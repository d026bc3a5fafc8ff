"""momenti secret: rotate the deployment's secret key (survey and unsubscribe links, derived keys), show the key
ring, prune retired keys. No command ever prints key material."""

from __future__ import annotations

import datetime as dt

import typer

import momenti
from momenti.cli.output import console

app = typer.Typer(help="The secret key: rotate it, show the key ring, prune retired keys (never printed).",
                  no_args_is_help=True)


def _when(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "–"


@app.command()
def rotate() -> None:
    """Make a new current key: new links are signed with it; links signed before still verify until they
    expire (the old key is retired to secret.retired). Refused when MOMENTI_SECRET_KEY is set."""
    from momenti.core import secrets as ring
    from momenti.domains import audit

    with momenti.open() as ws:
        ring.rotate_check(ws.settings)  # refuse before writing anything, with the operator's steps
        with ws.session() as s, s.begin():  # the entry commits with the rotation, or not at all
            audit.record(s, audit.cli_actor(), "secret.rotate", "secret.key")
            done = ring.rotate(ws.settings)
    console.print(f"rotated the secret key at {_when(done['rotated_at'])}: new links are signed with the new key; "
                  f"{done['verifying']} key(s) verify links ({done['retired']} retired, in "
                  f"{ring.RETIRED_FILE}). Every process reads the new key at once; no restart is needed.",
                  highlight=False)


@app.command()
def status() -> None:
    """The current key's creation time and the retired keys with their retirement time (no key material)."""
    from rich.table import Table

    from momenti.core import secrets as ring

    with momenti.open() as ws:
        info = ring.status(ws.settings)
    created = f", created {_when(info.current_created_at)}" if info.current_created_at else ""
    console.print(f"current key: {info.source}{created}", highlight=False)
    if not info.retired:
        console.print("no retired keys")
        return
    table = Table(header_style="bold")
    for col in ("#", "retired", "verifies links", "note"):
        table.add_column(col)
    for n, r in enumerate(info.retired, 1):
        table.add_row(str(n), _when(r.retired_at), "no (pruned)" if r.pruned else "yes",
                      "first key: pseudonyms and staff unsubscribe links derive from it" if r.first else "")
    console.print(table)


@app.command()
def prune(older_than: int = typer.Option(..., "--older-than", min=0, metavar="DAYS",
                                         help="Retired more than this many days ago")) -> None:
    """Retired keys stop verifying links (old survey and unsubscribe links signed with them stop working). They
    stay in secret.retired, marked pruned, only to decrypt what they encrypted and (the first) for the pseudonyms
    derived from it."""
    from momenti.core import secrets as ring
    from momenti.domains import audit

    with momenti.open() as ws:
        ring.rotate_check(ws.settings)
        with ws.session() as s, s.begin():
            audit.record(s, audit.cli_actor(), "secret.prune", "secret.retired", {"older_than_days": older_than})
            n = ring.prune(ws.settings, dt.timedelta(days=older_than))
    console.print(f"pruned {n} retired key(s) retired more than {older_than} day(s) ago: links they signed no "
                  "longer verify", highlight=False)
