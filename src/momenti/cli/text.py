"""momenti text: analyse comments and feedback (language, PII masking, sentiment, topics), train the sentiment
model on the company's own scores, and ask topic questions: volume and sentiment by touchpoint and period, the
comments behind a topic (masked), emerging issues, new topics to promote."""

from __future__ import annotations

from pathlib import Path

import typer

import momenti
from momenti.cli.metrics import FROM, PERIOD, TO
from momenti.cli.output import FMT, Format, console, err_console, print_frame
from momenti.core.args import parse_filters

app = typer.Typer(help="Text analytics in Italian and English, offline: sentiment, topics, emerging issues.",
                  no_args_is_help=True)

BY = typer.Option("", "--by", help="Comma list: touchpoint,stage,journey,channel,source,kind,language,question,"
                  "segment:<attr>")
FILTER = typer.Option([], "--filter", help="dimension=value[,value] (repeatable), e.g. kind=feedback")


def _thresholds(nps: str, csat: str, rating: str):  # noqa: ANN202 - a text_models.Thresholds
    from momenti.core.errors import InputError
    from momenti.pipelines.text.models import Thresholds

    def pair(value: str, name: str) -> tuple[float, float]:
        try:
            neg, pos = (float(v) for v in value.split(","))
        except ValueError as exc:
            raise InputError(f"--{name} {value!r}: write NEGATIVE_MAX,POSITIVE_MIN, e.g. 6,9") from exc
        if neg >= pos:
            raise InputError(f"--{name} {value!r}: the negative maximum must be below the positive minimum")
        return neg, pos

    (nn, np_), (cn, cp), (rn, rp) = pair(nps, "nps"), pair(csat, "csat"), pair(rating, "rating")
    return Thresholds(nn, np_, cn, cp, rn, rp)


@app.command()
def analyze(
    rebuild: bool = typer.Option(False, "--rebuild", help="Analyse every item again, not only new ones"),
    limit: int | None = typer.Option(None, "--limit", help="At most this many items"),
) -> None:
    """Analyse every free-text answer and feedback item not analysed yet (or by an older model/taxonomy)."""
    with momenti.open() as ws:
        with err_console.status("analysing text ..."):
            ws.sync()  # the warehouse tells free-text questions from categorical ones: bring it up to date
            report = ws.text_analyze(limit=limit, rebuild=rebuild)
    a = report["analysed"]
    console.print(f"analysed {report['total']:,} items ({a['answer']:,} answers, {a['feedback']:,} feedback; "
                  f"{report['replaced']:,} re-analysed) in {report['seconds']:.1f}s", highlight=False)
    console.print(f"analyzer: {report['version']}", highlight=False, markup=False)


@app.command()
def train(
    labels: Path | None = typer.Option(None, "--labels", help="CSV with text,label (negative/neutral/positive)"),
    from_scores: bool = typer.Option(True, "--from-scores/--no-from-scores",
                                     help="Label the company's own comments by their scores"),
    nps: str = typer.Option("6,9", "--nps", help="NPS at or below / at or above: negative,positive"),
    csat: str = typer.Option("2,4", "--csat", help="CSAT at or below / at or above: negative,positive"),
    rating: str = typer.Option("2,4", "--rating", help="Feedback rating (1-5) at or below / at or above"),
    reanalyze: bool = typer.Option(True, "--analyze/--no-analyze", help="Re-analyse everything with the model"),
    fmt: Format = FMT,
) -> None:
    """Train the sentiment model (TF-IDF words + character n-grams, calibrated linear classifier) and save it
    as the next version under the data directory; report its 5-fold cross-validated macro-F1."""
    with momenti.open() as ws:
        with err_console.status("training ..."):
            meta = ws.text_train(labels=labels, from_scores=from_scores, thresholds=_thresholds(nps, csat, rating),
                                 analyze=reanalyze)
    analysis = meta.pop("analysis", None)
    row = {k: (", ".join(f"{c}={n}" for c, n in v.items()) if isinstance(v, dict) else v) for k, v in meta.items()}
    import pandas as pd

    print_frame(pd.DataFrame([row]), fmt, title="sentiment model", meta={"analysis": analysis})
    if analysis and fmt is Format.table:
        console.print(f"re-analysed {analysis['total']:,} items with {meta['model']}", highlight=False)


@app.command()
def models(fmt: Format = FMT) -> None:
    """The trained sentiment models, newest last (the newest is the one in use)."""
    with momenti.open() as ws:
        df = ws.text_models()
    print_frame(df, fmt, title="sentiment models")


@app.command()
def topics(by: str = BY, period: str | None = PERIOD, start: str | None = FROM, end: str | None = TO,
           filters: list[str] = FILTER, fmt: Format = FMT) -> None:
    """Topic volume per group: share of comments mentioning it (Wilson 95 % interval) and its net sentiment
    (% positive - % negative mentions, with interval), n and small-sample flag."""
    with momenti.open() as ws:
        df = ws.topics(by=by, period=period, start=start, end=end, filters=parse_filters(filters))
    meta = {"by": by, "period": period, "from": start, "to": end, "filters": parse_filters(filters)}
    print_frame(df, fmt, title=f"topics by {by or 'all'}{' and ' + period if period else ''}", meta=meta)


@app.command()
def comments(
    topic: str | None = typer.Option(None, "--topic", help="Topic key, e.g. carta"),
    sentiment: str | None = typer.Option(None, "--sentiment", help="negative, neutral or positive"),
    limit: int = typer.Option(20, "--limit", help="How many (newest first)"),
    start: str | None = FROM, end: str | None = TO, filters: list[str] = FILTER,
    original: bool = typer.Option(False, "--original", help="Also the original text (MOMENTI_TEXT_KEEP_ORIGINAL)"),
    fmt: Format = FMT,
) -> None:
    """The newest comments with a topic and/or sentiment, PII-masked."""
    with momenti.open() as ws:
        df = ws.comments(topic=topic, sentiment=sentiment, limit=limit, start=start, end=end,
                         filters=parse_filters(filters), original=original)
    matched, withheld = df.attrs.get("matched", len(df)), df.attrs.get("withheld", False)
    meta = {"topic": topic, "sentiment": sentiment, "matched": matched, "withheld": withheld}
    print_frame(df, fmt, title=f"comments ({len(df)} of {matched:,})", meta=meta)
    if withheld:
        err_console.print(f"only {matched} comments match: text withheld below MOMENTI_TEXT_MIN_GROUP "
                          f"({ws.settings.text_min_group})", highlight=False)


@app.command()
def trends(period: str = typer.Option("month", "--period", help="week or month (also day, quarter, year)"),
           periods: tuple[str, str] | None = typer.Option(
               None, "--periods", help="Two periods A B instead: e.g. 2026-01..2026-02 2026-03..2026-04"),
           by: str = BY, start: str | None = FROM, end: str | None = TO, filters: list[str] = FILTER,
           emerging: bool = typer.Option(False, "--emerging", help="Only the emerging rows"), fmt: Format = FMT,
           ) -> None:
    """Emerging issues: each topic's share of comments against the period before (or B against A), with the
    difference in points, Newcombe 95 % interval, p-value, Benjamini-Hochberg q-value and the emerging flag."""
    with momenti.open() as ws:
        df = ws.text_trends(period=period, by=by, start=start, end=end, filters=parse_filters(filters),
                            emerging_only=emerging, periods=periods)
    meta = {"period": None if periods else period, "periods": periods, "by": by, "from": start, "to": end}
    title = f"topic share, {periods[1]} against {periods[0]}" if periods else f"topic share, {period} over {period}"
    print_frame(df, fmt, title=title, meta=meta)


@app.command()
def discover(n_topics: int = typer.Option(8, "--topics", help="How many topics to look for"),
             all_comments: bool = typer.Option(False, "--all", help="Look in every comment, not only unmatched"),
             start: str | None = FROM, end: str | None = TO, filters: list[str] = FILTER, fmt: Format = FMT) -> None:
    """Look for new topics (NMF on TF-IDF of lemmas) in the comments no taxonomy topic matched."""
    with momenti.open() as ws:
        df = ws.discover_topics(n_topics=n_topics, unmatched_only=not all_comments, start=start, end=end,
                                filters=parse_filters(filters))
    print_frame(df, fmt, title="topics found (promote one with `momenti text promote`)")


@app.command()
def promote(key: str = typer.Argument(..., help="New topic key, e.g. bancomat"),
            lemmas: str = typer.Option(..., "--lemmas", help="Comma list of lemmas/keywords that mark it"),
            label_it: str = typer.Option(..., "--label-it", help="Italian label"),
            label_en: str = typer.Option(..., "--label-en", help="English label"),
            reanalyze: bool = typer.Option(True, "--analyze/--no-analyze", help="Re-analyse with the new topic"),
            ) -> None:
    """Add a topic to the workspace's taxonomy (the sector's taxonomy plus your topics)."""
    with momenti.open() as ws:
        path = ws.promote_topic(key, label_it, label_en, lemmas)
        console.print(f"topic {key!r} added to {path}", highlight=False, markup=False)
        if reanalyze:
            report = ws.text_analyze()
            console.print(f"re-analysed {report['total']:,} items", highlight=False)
