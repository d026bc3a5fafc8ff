"""momenti metrics: NPS, CSAT, CES per group and period, with intervals; comparisons between periods."""

from __future__ import annotations

import typer

import momenti
from momenti.cli.output import FMT, Format, console, print_frame
from momenti.core.args import FILTER_HELP, parse_filters

app = typer.Typer(help="Scores with n, 95 % intervals and small-sample flags.", no_args_is_help=True)

BY = typer.Option("", "--by", help="Comma list: touchpoint,stage,journey,channel,language,segment:<attr>")
PERIOD = typer.Option(None, "--period", help="day, week, month, quarter or year")
FROM = typer.Option(None, "--from", help="First day (YYYY-MM-DD), inclusive")
TO = typer.Option(None, "--to", help="Last day (YYYY-MM-DD), inclusive")
FILTER = typer.Option([], "--filter", help=FILTER_HELP)
QUESTION = typer.Option(None, "--question", help="Answer key to score (default: the metric's own key)")


def _score(metric: str):  # noqa: ANN202
    def command(by: str = BY, period: str | None = PERIOD, start: str | None = FROM, end: str | None = TO,
                filters: list[str] = FILTER, question: str | None = QUESTION, fmt: Format = FMT) -> None:
        with momenti.open() as ws:
            q = ws.query(metric, by=by, period=period, start=start, end=end, filters=parse_filters(filters),
                         question=question)
            df = ws.run(q)
        meta = {"metric": metric, "query": {"by": q.by, "period": period, "from": start, "to": end,
                                            "filters": q.filters, "question": question or metric}}
        print_frame(df, fmt, title=f"{metric.upper()} by {', '.join(q.keys) or 'all'}", meta=meta)

    command.__doc__ = {
        "nps": "Net Promoter Score (-100..100), adjusted-Wald 95 % interval.",
        "csat": "CSAT top-2-box % (4-5 of 5), Wilson 95 % interval; mean score too.",
        "ces": "Customer Effort Score mean (1-7), t-interval; % easy (5-7) with Wilson interval.",
    }[metric]
    return command


for _m in ("nps", "csat", "ces"):
    app.command(_m)(_score(_m))


@app.command()
def compare(
    metric: str = typer.Argument(..., help="nps, csat or ces"),
    by: str = BY,
    period: str | None = PERIOD,
    periods: tuple[str, str] | None = typer.Option(None, "--periods", help="Two periods: e.g. 2025-01 2025-02, "
                                                   "2025-Q1 2025-Q2, 2025-01-01..2025-03-31 2025-04-01..2025-06-30"),
    filters: list[str] = FILTER,
    question: str | None = QUESTION,
    fmt: Format = FMT,
) -> None:
    """Change between periods per group: delta, 95 % interval, z-test p-value, significant flag.

    With --period: each period against the one before. With --periods A B: B against A."""
    with momenti.open() as ws:
        df = ws.compare(metric, by=by, period=period, periods=periods, filters=parse_filters(filters),
                        question=question)
    print_frame(df, fmt, title=f"{metric.upper()} change", meta={"metric": metric, "comparison": True})


@app.command()
def sql(
    metric: str = typer.Argument(..., help="nps, csat or ces"),
    by: str = BY,
    period: str | None = PERIOD,
    start: str | None = FROM,
    end: str | None = TO,
    filters: list[str] = FILTER,
) -> None:
    """Print the SQL the warehouse runs for a metric question."""
    with momenti.open() as ws:
        console.print(ws.explain(metric, by=by, period=period, start=start, end=end,
                                 filters=parse_filters(filters)), highlight=False, markup=False)
