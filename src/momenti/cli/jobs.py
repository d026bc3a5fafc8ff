"""momenti worker / momenti jobs: the background job consumer, and what waits or failed in its queue."""

from __future__ import annotations

from typing import Any

import typer

from momenti.cli.output import console

app = typer.Typer(help="Background jobs: list pending and failed (dead-letter) jobs, retry failed ones.",
                  invoke_without_command=True)


def _runner() -> Any:  # a JobRunner over a server-like workspace (no ADBC: jobs run in threads)
    from momenti.core.config import get_settings
    from momenti.pipelines.jobs import JobRunner
    from momenti.workspace import Workspace

    return JobRunner(Workspace(get_settings(), bulk=False))


@app.callback()
def jobs(ctx: typer.Context) -> None:
    """Jobs waiting (queued, or a retry backing off), events not yet delivered, and dead-lettered jobs."""
    if ctx.invoked_subcommand is not None:
        return
    from momenti.pipelines import events

    runner = _runner()
    try:
        pending = runner.pending()
        console.print(f"pending jobs: {len(pending)}", highlight=False)
        for row in pending:
            eta = f"  at {row['eta']:%Y-%m-%d %H:%M:%S}" if row["eta"] else ""
            console.print(f"  {row['id']}  {row['job']:22} {row['state']:9} retries left {row['retries_left']}{eta}",
                          highlight=False)
        backlog = events.backlog(runner.ws.engine)
        console.print("undelivered events: " + ", ".join(f"{k} {v}" for k, v in backlog.items()), highlight=False)
        dead = runner.dead()
        console.print(f"failed jobs (dead letters): {len(dead)}", highlight=False)
        for job in dead.values():
            console.print(f"  {job.id}  {job.name:22} {job.failed_at:%Y-%m-%d %H:%M:%S}  {job.error}",
                          highlight=False, soft_wrap=True)
        if dead:
            console.print("retry with `momenti jobs retry ID` or `momenti jobs retry --all`", highlight=False)
    finally:
        runner.ws.close()


@app.command()
def retry(job_id: list[str] = typer.Argument(None, help="Ids of failed jobs (see `momenti jobs`)"),
          all_: bool = typer.Option(False, "--all", help="Every failed job")) -> None:
    """Queue failed jobs again, with their retries restored; the worker (or `momenti serve`) runs them."""
    from momenti.core.errors import InputError

    if not job_id and not all_:
        raise InputError("give job ids or --all")
    runner = _runner()
    try:
        try:
            queued = runner.retry(None if all_ else list(job_id))
        except KeyError as exc:
            raise InputError(f"no failed job {exc.args[0]}") from None
        console.print(f"queued again: {len(queued)}", highlight=False)
    finally:
        runner.ws.close()


def worker(workers: int = typer.Option(None, "--workers", help="Consumer threads (default MOMENTI_JOBS_WORKERS)")
           ) -> None:
    """Run the background jobs (event dispatcher, survey sweeps, reminders) in this process, until Ctrl-C. Run
    `momenti serve` with MOMENTI_JOBS_EMBEDDED=false beside it."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    runner = _runner()
    console.print(f"momenti worker: jobs of {runner.ws.store_url.split('@')[-1]}", highlight=False)
    console.file.flush()
    try:
        runner.run_forever(workers)
    finally:
        runner.ws.close()
