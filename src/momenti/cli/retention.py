"""momenti retention: Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models."""

from __future__ import annotations

from pathlib import Path

import typer

import momenti
from momenti.cli.output import FMT, Format, console, print_frame

app = typer.Typer(help="Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models.",
                  no_args_is_help=True)

BY = typer.Option("nps_category", "--by", help="nps_category, loyalty_segment or segment:<attribute>")
AS_OF = typer.Option(None, "--as-of", help="End of observation (YYYY-MM-DD; default: the latest time in the data)")
OBSERVED_FROM = typer.Option("auto", "--observed-from",
                             help="Start of observation: auto (first response or event), none, or YYYY-MM-DD")
CLOCK = typer.Option("observation", "--clock", help="observation (days since observed) or tenure (delayed entry)")
NPS_TP = typer.Option("relationship-survey", "--nps-touchpoint",
                      help="Touchpoint whose NPS makes nps_category ('all': every NPS answer)")


def _options(as_of: str | None, observed_from: str, clock: str, nps_touchpoint: str) -> dict:
    return {"as_of": as_of, "observed_from": None if observed_from == "none" else observed_from, "clock": clock,
            "nps_touchpoint": nps_touchpoint}


@app.command()
def km(
    by: str = BY,
    curve: bool = typer.Option(False, "--curve", help="Print the curves (one row per churn time), not the summary"),
    plot: Path | None = typer.Option(None, "--plot", help="Also draw the curves to FILE.svg or FILE.png"),
    as_of: str | None = AS_OF, observed_from: str = OBSERVED_FROM, clock: str = CLOCK, nps_touchpoint: str = NPS_TP,
    fmt: Format = FMT,
) -> None:
    """Kaplan-Meier retention per group: n, churned, median survival, survival at 1 year and the log-rank test
    (--curve: survival with its 95 % band and the number at risk at every churn time)."""
    opts = _options(as_of, observed_from, clock, nps_touchpoint)
    with momenti.open() as ws:
        df = ws.survival(by=by, **opts) if curve else ws.logrank(by=by, **opts)
        if plot is not None:
            ws.survival_plot(plot, by=by, **opts)
    meta = {"by": by, **opts, "unit": "days"}
    print_frame(df, fmt, title=f"Kaplan-Meier retention by {by}", meta=meta)
    if plot is not None and fmt is Format.table:
        console.print(f"plot: {plot}", highlight=False, markup=False, soft_wrap=True)


@app.command()
def cox(
    covariates: str = typer.Option(..., "--covariates", help="Comma list: bad:<touchpoint>, score:<touchpoint>, "
                                   "or a numeric question key (e.g. bad:complaint-handling,nps)"),
    as_of: str | None = AS_OF, observed_from: str = OBSERVED_FROM, clock: str = CLOCK, fmt: Format = FMT,
) -> None:
    """Cox proportional-hazards model of churn: hazard ratio per covariate with 95 % interval and p-value;
    n, events and concordance. bad:<touchpoint> counts from the customer's first bad experience there."""
    opts = _options(as_of, observed_from, clock, "relationship-survey")
    opts.pop("nps_touchpoint")
    with momenti.open() as ws:
        df = ws.cox(covariates, **opts)
    print_frame(df, fmt, title="Cox model of churn (hazard ratios)", meta={"covariates": covariates, **opts})
