"""The `momenti` command."""

from __future__ import annotations

import typer

from momenti.cli import (
    analysis,
    contact,
    demo,
    imports,
    journey,
    journeys,
    lifecycle,
    loyalty,
    metrics,
    retention,
    warehouse,
)
from momenti.cli import customers as customers_cli
from momenti.cli import invite as invite_cli
from momenti.cli import jobs as jobs_cli
from momenti.cli import operations as operations_cli
from momenti.cli import privacy as privacy_cli
from momenti.cli import query as query_cli
from momenti.cli import report as report_cli
from momenti.cli import review as review_cli
from momenti.cli import surveys as surveys_cli
from momenti.cli import text as text_cli
from momenti.cli.output import err_console
from momenti.core.errors import MomentiError

app = typer.Typer(help="momenti: moments of truth, measured honestly.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(journey.app, name="journey")
app.add_typer(imports.app, name="import")
app.add_typer(metrics.app, name="metrics")
app.add_typer(warehouse.app, name="warehouse")
app.add_typer(journeys.app, name="paths")
app.add_typer(contact.app, name="contact")
# `momenti journeys ...` was the first name of both groups: kept, hidden, for existing scripts.
journeys_alias = typer.Typer(help="Old name of `momenti paths` and `momenti contact`.", no_args_is_help=True)
journeys_alias.registered_commands = [*journeys.app.registered_commands, *contact.app.registered_commands]
app.add_typer(journeys_alias, name="journeys", hidden=True)
analysis.register(app)
lifecycle.register(app)
query_cli.register(app)
report_cli.register(app)
app.add_typer(loyalty.app, name="loyalty")
app.add_typer(retention.app, name="retention")
app.add_typer(text_cli.app, name="text")
app.add_typer(surveys_cli.app, name="survey")
app.add_typer(invite_cli.links_app, name="links")
app.add_typer(invite_cli.app, name="invite")
app.command("demo")(demo.demo)
app.add_typer(jobs_cli.app, name="jobs")
app.command("worker")(jobs_cli.worker)

from momenti.cli import audit as audit_cli  # noqa: E402 - the audit log's commands
from momenti.cli import cases as cases_cli  # noqa: E402 - the closed loop's commands
from momenti.cli import rules as rules_cli  # noqa: E402
from momenti.cli import secret as secret_cli  # noqa: E402 - the secret key's rotation
from momenti.cli import serve, tokens, users  # noqa: E402 - grouped with the server's commands
from momenti.cli import webhooks as webhooks_cli  # noqa: E402

app.add_typer(rules_cli.app, name="rules")
app.add_typer(cases_cli.app, name="cases")
app.add_typer(customers_cli.app, name="customer")
app.add_typer(review_cli.app, name="review")
app.add_typer(privacy_cli.app, name="privacy")
operations_cli.register(app)
app.add_typer(webhooks_cli.app, name="webhooks")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(secret_cli.app, name="secret")

app.add_typer(tokens.app, name="token")
app.add_typer(users.app, name="user")
app.command("serve")(serve.serve)


def main() -> None:
    try:
        app()
    except MomentiError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
