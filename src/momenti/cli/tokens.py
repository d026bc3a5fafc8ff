"""momenti token: API tokens for the REST API's write endpoints (the secret is shown once, stored hashed)."""

from __future__ import annotations

import typer

import momenti
from momenti.cli.output import console, err_console

app = typer.Typer(help="API tokens (Authorization: Bearer <token>).", no_args_is_help=True)


def _tokens():  # noqa: ANN202 - the module: SQLAlchemy loads when a token command runs, not at start-up
    from momenti.domains import tokens

    return tokens


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "–"  # type: ignore[attr-defined]


@app.command()
def create(name: str = typer.Argument(..., help="A label for who uses it, e.g. crm-export"),
           scope: list[str] = typer.Option(["ingest", "read"], "--scope", help="read, ingest or admin; repeat or "
                                           "comma-separate for several (default: ingest and read)"),
           owner: str | None = typer.Option(None, "--owner", help="E-mail of the user responsible for it")) -> None:
    """Create a token and print its secret. It is shown only now: store it in the client's secret store."""
    from momenti.domains import audit
    from momenti.domains.access.users import find_user

    with momenti.open() as ws, ws.session() as s, s.begin():
        owner_id = find_user(s, owner).id if owner else None
        row, secret = _tokens().create_token(s, name, ",".join(scope), owner_id=owner_id)
        audit.record(s, audit.cli_actor(), "token.create", row.name, {"scopes": row.scopes})
    # The secret alone on stdout (scripts can capture it); the explanation on stderr.
    err_console.print(f"token [bold]{row.name}[/bold] (id {row.id}, scopes {row.scopes}) created; copy the secret "
                      "now, it is not shown again:", highlight=False)
    console.print(secret, highlight=False, markup=False, soft_wrap=True)


@app.command("list")
def list_(include_revoked: bool = typer.Option(True, "--all/--active", help="Show revoked tokens too")) -> None:
    """Tokens with their prefix, creation, last use and revocation (never the secret)."""
    with momenti.open() as ws, ws.session() as s:
        rows = _tokens().list_tokens(s, include_revoked=include_revoked)
    from rich.table import Table

    table = Table(header_style="bold")
    for col in ("id", "name", "scopes", "prefix", "created", "last used", "revoked"):
        table.add_column(col, justify="right" if col == "id" else "left")
    for r in rows:
        table.add_row(str(r.id), r.name, r.scopes, r.prefix + "…", _when(r.created_at), _when(r.last_used_at),
                      _when(r.revoked_at) if r.revoked_at else "")
    console.print(table)


@app.command()
def revoke(name_or_id: str = typer.Argument(..., help="The token's name or numeric id")) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    from momenti.domains import audit

    with momenti.open() as ws, ws.session() as s, s.begin():
        row = _tokens().revoke_token(s, name_or_id)
        audit.record(s, audit.cli_actor(), "token.revoke", row.name)
    console.print(f"revoked token {row.name} (id {row.id}, {row.prefix}…)", highlight=False)
