"""momenti user: accounts of the web app (roles and teams), the same functions as the admin page."""

from __future__ import annotations

import sys

import typer

import momenti
from momenti.cli.output import console, err_console

app = typer.Typer(help="Users of the web app: roles, teams, passwords.", no_args_is_help=True)


def _users():  # noqa: ANN202 - the module: SQLAlchemy and argon2 load only when a user command runs
    from momenti.domains.access import users

    return users


def _actor() -> str:
    from momenti.domains.audit import cli_actor

    return cli_actor()


def _read_password() -> str:
    line = sys.stdin.readline()
    if not line:
        raise typer.BadParameter("no password on standard input", param_hint="--password-stdin")
    return line.rstrip("\r\n")


@app.command()
def create(email: str = typer.Argument(..., help="The user's e-mail (their sign-in name)"),
           role: str = typer.Option(..., "--role", help="admin, cx_manager, analyst, team_lead, agent or viewer"),
           team: str | None = typer.Option(None, "--team", help="Their team (created if new): owns touchpoints"),
           password_stdin: bool = typer.Option(False, "--password-stdin",
                                               help="Read the password from standard input (never echoed)")) -> None:
    """Create a user. Without --password-stdin, prints a one-time link to set the password."""
    password = _read_password() if password_stdin else None
    with momenti.open() as ws, ws.session() as s, s.begin():
        user = _users().create_user(s, email, role, _actor(), team=team, password=password)
        link = None if password is not None else _users().password_link(s, user.email, ws.settings, _actor())
    err_console.print(f"user {user.email} created (role {user.role}{', team ' + team if team else ''})",
                      highlight=False)
    if link:
        err_console.print(f"one-time link to set the password (valid {ws.settings.password_link_hours} h):")
        console.print(link, highlight=False, markup=False, soft_wrap=True)


@app.command("list")
def list_() -> None:
    """Users with role, team, state and last sign-in."""
    from rich.table import Table

    with momenti.open() as ws, ws.session() as s:
        rows = _users().list_users(s)
        table = Table(header_style="bold")
        for col in ("email", "role", "team", "state", "last sign-in"):
            table.add_column(col)
        for u, team_name in rows:
            state = "disabled" if u.disabled_at else "locked" if u.locked_until else "active"
            table.add_row(u.email, u.role, team_name or "", state,
                          u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "–")
    console.print(table)


@app.command()
def disable(email: str) -> None:
    """Disable a user: their sessions end at once, they cannot sign in."""
    with momenti.open() as ws, ws.session() as s, s.begin():
        _users().set_disabled(s, email, True, _actor())
    console.print(f"disabled {email}", highlight=False)


@app.command()
def enable(email: str) -> None:
    """Enable a disabled user again (and lift a lockout)."""
    with momenti.open() as ws, ws.session() as s, s.begin():
        _users().set_disabled(s, email, False, _actor())
    console.print(f"enabled {email}", highlight=False)


@app.command("set-role")
def set_role(email: str, role: str = typer.Argument(..., help="The new role"),
             team: str | None = typer.Option(None, "--team", help="Also move them to this team ('' for none)")) -> None:
    """Change a user's role (their sessions end: they sign in again with the new permissions)."""
    with momenti.open() as ws, ws.session() as s, s.begin():
        user = _users().set_role(s, email, role, _actor(), team=team)
    console.print(f"{user.email}: role {user.role}", highlight=False)


@app.command("reset-password")
def reset_password(email: str, password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from standard input, not print a link")) -> None:
    """Print a new one-time set-password link (or set the password from stdin); sessions end."""
    with momenti.open() as ws, ws.session() as s, s.begin():
        if password_stdin:
            user = _users().find_user(s, email)
            _users().set_password(s, user, _read_password(), _actor())
            link = None
        else:
            link = _users().password_link(s, email, ws.settings, _actor())
    if link:
        err_console.print(f"one-time link for {email} (valid {ws.settings.password_link_hours} h):")
        console.print(link, highlight=False, markup=False, soft_wrap=True)
    else:
        console.print(f"password of {email} changed", highlight=False)


@app.command()
def notify(email: str = typer.Argument(..., help="The user's e-mail"),
           mode: str = typer.Option(..., "--mode", help="immediate, daily (one digest a day) or off"),
           language: str | None = typer.Option(None, "--language", help="it or en: the language of their e-mails")
           ) -> None:
    """How a user gets the staff e-mails of the alert rules and escalations."""
    from momenti.domains.loop import notify as staff

    if language not in (None, "it", "en"):
        raise typer.BadParameter("it or en", param_hint="--language")
    with momenti.open() as ws, ws.session() as s, s.begin():
        user = staff.set_mode(s, email, mode)
        if language:
            user.language = language
        from momenti.domains import audit

        audit.record(s, _actor(), "notifications.set", user.email, {"mode": user.notify})
    console.print(f"{user.email}: notifications {user.notify} ({user.language})", highlight=False)
