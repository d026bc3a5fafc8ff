"""momenti webhooks: signed webhook endpoints (Standard Webhooks), their delivery log, replay and rotation."""

from __future__ import annotations

import typer

import momenti
from momenti.cli.output import FMT, Format, console, err_console, print_frame

app = typer.Typer(help="Webhook endpoints: add, list, deliveries, replay, rotate-secret, disable, enable.",
                  no_args_is_help=True)


def _hooks():  # noqa: ANN202 - loaded when a webhook command runs
    from momenti.domains.loop import webhooks

    return webhooks


@app.command()
def add(url: str = typer.Argument(..., help="The receiver's URL (https:// in production)"),
        events: str = typer.Option(..., "--events", help="Comma-separated: case.opened, case.updated, case.breached, "
                                                         "response.alert, feedback.alert, events.alert, or *"),
        description: str | None = typer.Option(None, "--description")) -> None:
    """Add an endpoint and print its signing secret (whsec_...) once. Loopback, private and metadata addresses
    are refused unless MOMENTI_WEBHOOK_ALLOW_HOSTS names the host."""
    from momenti.domains import audit

    with momenti.open() as ws, ws.session() as s, s.begin():
        row, secret = _hooks().add_endpoint(s, ws.settings, url, events, description)
        audit.record(s, audit.cli_actor(), "webhook.add", row.url, {"events": row.events})
    err_console.print(f"endpoint {row.id} for {row.events}; its secret (shown only now; the receiver verifies the "
                      "webhook-signature header with it):", highlight=False)
    console.print(secret, highlight=False, markup=False, soft_wrap=True)


@app.command("list")
def list_(fmt: Format = FMT) -> None:
    """Endpoints, their events, state and pending deliveries."""
    import pandas as pd

    with momenti.open() as ws, ws.session() as s:
        rows = _hooks().endpoints(s)
    print_frame(pd.DataFrame(rows, columns=["id", "url", "events", "created_at", "disabled_at", "disabled_reason",
                                            "failing_since", "pending"]), fmt)


@app.command()
def deliveries(limit: int = typer.Option(20, "--limit"),
               status: str | None = typer.Option(None, "--status", help="pending, delivered or failed"),
               fmt: Format = FMT) -> None:
    """The delivery log: each delivery and its attempts (status, latency, response excerpt), newest first."""
    import json

    with momenti.open() as ws, ws.session() as s:
        rows = _hooks().deliveries(s, limit=limit, status=status)
    if fmt is Format.json:
        console.print_json(json.dumps({"rows": rows}, default=str))
        return
    from rich.table import Table

    table = Table(header_style="bold")
    for col in ("id", "event", "webhook-id", "endpoint", "status", "attempts", "log"):
        table.add_column(col)
    for r in rows:
        log = "; ".join(f"#{a['number']} {a['status_code'] or a['error'] or '?'} {a['latency_ms']:.0f} ms"
                        + (f" → {a['next_delay_s']:g} s" if a["next_delay_s"] is not None else "") for a in r["log"])
        table.add_row(str(r["id"]), r["event_type"], r["webhook_id"], r["url"], r["status"], str(r["attempts"]), log)
    console.print(table)


@app.command()
def replay(delivery_id: str | None = typer.Argument(None, help="One delivery's id"),
           since: str | None = typer.Option(None, "--since", help="Every delivery created since (YYYY-MM-DD or "
                                                                  "YYYY-MM-DDTHH:MM, UTC)")) -> None:
    """Send deliveries again (same webhook-id; the retry schedule restarts). A running server or worker sends
    them within a minute."""
    import datetime as dt

    from momenti.core.errors import InputError
    from momenti.domains import audit

    when = None
    if since:
        try:
            when = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"--since {since!r}: YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
    with momenti.open() as ws, ws.session() as s, s.begin():
        ids = _hooks().replay(s, delivery_id, when)
        audit.record(s, audit.cli_actor(), "webhook.replay", delivery_id or f"since {since}", {"deliveries": len(ids)})
    console.print(f"{len(ids)} deliver{'y' if len(ids) == 1 else 'ies'} queued again", highlight=False)


@app.command("rotate-secret")
def rotate_secret(endpoint_id: int = typer.Argument(...)) -> None:
    """A new secret for the endpoint; the old one keeps signing too for MOMENTI_WEBHOOK_ROTATION_HOURS."""
    from momenti.domains import audit

    with momenti.open() as ws, ws.session() as s, s.begin():
        secret = _hooks().rotate_secret(s, ws.settings, endpoint_id)
        audit.record(s, audit.cli_actor(), "webhook.rotate", f"endpoint {endpoint_id}")
    err_console.print(f"new secret of endpoint {endpoint_id} (the old one signs too for "
                      f"{ws.settings.webhook_rotation_hours:g} h):", highlight=False)
    console.print(secret, highlight=False, markup=False, soft_wrap=True)


@app.command()
def disable(endpoint_id: int = typer.Argument(...)) -> None:
    from momenti.domains import audit

    with momenti.open() as ws, ws.session() as s, s.begin():
        _hooks().set_enabled(s, endpoint_id, False)
        audit.record(s, audit.cli_actor(), "webhook.disable", f"endpoint {endpoint_id}")
    console.print(f"endpoint {endpoint_id} disabled", highlight=False)


@app.command()
def enable(endpoint_id: int = typer.Argument(...)) -> None:
    from momenti.domains import audit

    with momenti.open() as ws, ws.session() as s, s.begin():
        _hooks().set_enabled(s, endpoint_id, True)
        audit.record(s, audit.cli_actor(), "webhook.enable", f"endpoint {endpoint_id}")
    console.print(f"endpoint {endpoint_id} enabled", highlight=False)
