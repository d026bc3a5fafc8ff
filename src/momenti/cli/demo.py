"""momenti demo: build the Banca Esempio demo workspace (reused when it already has data)."""

from __future__ import annotations

import time

import typer

import momenti
from momenti.cli.output import console, err_console


def _has_data(ws: momenti.Workspace) -> bool:
    from sqlalchemy import select

    from momenti.store.models import Response

    with ws.session() as s:
        return s.scalar(select(Response.id).limit(1)) is not None


def demo(
    size: str = typer.Option("default", "--size", help="small, default or large"),
    seed: int = typer.Option(42, "--seed", help="Random seed (the demo is deterministic)"),
    force: bool = typer.Option(False, "--force", help="Generate even if the workspace already has data"),
) -> None:
    """Generate the demo: an Italian retail bank, 24 months of surveys, interactions and feedback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from momenti.demo import generate

    with momenti.open() as ws:
        if _has_data(ws) and not force:
            console.print(f"demo data already in {ws.settings.data_dir}: reusing it (--force to add again)")
            console.print(f"sign in at {ws.settings.public_url}/login as {DEMO_ADMIN} (the password was printed "
                          f"when the demo was made; `momenti user reset-password {DEMO_ADMIN}` gives a new link)",
                          highlight=False)
            return
        started = time.perf_counter()
        console.print(f"generating the demo ({size}, seed {seed}) ...")
        data = generate(size=size, seed=seed)
        ws.apply_journey(data.journey)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            for kind, table in (("customers", data.customers), ("responses", data.responses),
                                ("events", data.events), ("feedback", data.feedback),
                                ("outcomes", data.outcomes)):
                task = bar.add_task(f"import {kind}", total=table.num_rows)

                def progress(phase: str, done: int, total: int, task: int = task) -> None:
                    if phase == "writing":
                        bar.update(task, completed=done, total=max(total, 1))

                summary = ws.import_table(kind, table, source=f"demo:{kind}", progress=progress)
                bar.update(task, completed=table.num_rows)
                console.print(f"  {kind:10} {summary.added:>10,} added, {summary.rejected:,} rejected")
        # The shipped survey templates, live: the demo's customers could answer at /s/<key> right away.
        from momenti.domains.surveys.definition import TEMPLATES, template
        from momenti.domains.surveys.service import apply_survey

        keys = []
        for name in TEMPLATES:
            keys.append(apply_survey(ws, template(name), sync=False).key)
        console.print(f"  surveys    {', '.join(keys)} (pages at /s/<key>)")
        from momenti.demo.cases import plant_cases

        planted = plant_cases(ws, seed=seed)
        console.print(f"  cases      {planted['cases']:>10,} from the starter alert rules "
                      f"({planted['recovery_answers']:,} recovery answers; pages at /cases and /loop)")
        from momenti.demo.reviews import plant_reviews

        reviews = plant_reviews(ws, seed=seed)
        console.print(f"  reviews    {reviews:>10,} weekly-review activities of the teams (page at /review)")
        email, password = _demo_admin(ws)
        console.print(f"demo ready in {time.perf_counter() - started:.0f}s: {ws.settings.data_dir}")
        console.print(f"sign in at {ws.settings.public_url}/login as [bold]{email}[/bold] with the password "
                      f"[bold]{password}[/bold] (shown only now; `momenti user reset-password {email}` makes a "
                      "new link)", highlight=False)


DEMO_ADMIN = "admin@momenti.example"


def _demo_admin(ws: momenti.Workspace) -> tuple[str, str]:
    """The demo's admin account, with a random password printed once (a fresh one if the account exists)."""
    import secrets

    from momenti.core.errors import NotFoundError
    from momenti.domains.access import users
    from momenti.domains.audit import cli_actor

    # Four random words' worth of entropy in a form people can type: 20 url-safe characters.
    password = secrets.token_urlsafe(15)
    with ws.session() as s, s.begin():
        try:
            user = users.find_user(s, DEMO_ADMIN)
            users.set_password(s, user, password, cli_actor())
        except NotFoundError:
            users.create_user(s, DEMO_ADMIN, "admin", cli_actor(), password=password)
    return DEMO_ADMIN, password
