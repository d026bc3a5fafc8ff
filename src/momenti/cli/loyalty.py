"""momenti loyalty: Loyalty battery, net shifts, loyalty index and price-switch thresholds."""

from __future__ import annotations

import typer

import momenti
from momenti.cli.metrics import BY, FROM, PERIOD, TO
from momenti.cli.output import FMT, Format, print_frame
from momenti.core.args import parse_filters

app = typer.Typer(help="Loyalty battery, net shifts, loyalty index and price-switch thresholds.",
                  no_args_is_help=True)

ITEMS = typer.Option(None, "--items", help="Comma list of battery question keys (default: loy_preferred_brand,"
                     "loy_buy_on_offer,loy_cheaper_to_save)")
REVERSE = typer.Option(None, "--reverse", help="Comma list of reverse-coded items (agreeing = less loyal); "
                       "default: loy_buy_on_offer,loy_cheaper_to_save when among the items; '' for none")
AGREE = typer.Option(4.0, "--agree-min", help="Lowest score that counts as agreeing")
SCALE = typer.Option((1.0, 5.0), "--scale", help="Answer scale: minimum and maximum")
LOYAL = typer.Option(None, "--loyal", help="Truly-loyal rule, e.g. "
                     "'loy_preferred_brand>=4,loy_buy_on_offer<=2,loy_cheaper_to_save<=2' (the default)")
BY_SEG = typer.Option("", "--by", help="Comma list: touchpoint,stage,journey,channel,language,segment:<attr>,"
                      "loyalty_segment")
FILTER = typer.Option([], "--filter", help="dimension=value[,value] (repeatable), e.g. segment:segment=young")


@app.command()
def battery(items: str | None = ITEMS, reverse: str | None = REVERSE, by: str = BY, period: str | None = PERIOD,
            start: str | None = FROM, end: str | None = TO, filters: list[str] = FILTER,
            agree_min: float = AGREE, fmt: Format = FMT) -> None:
    """Share agreeing (score >= --agree-min) per item, group and period, with Wilson 95 % intervals."""
    with momenti.open() as ws:
        df = ws.loyalty_battery(items=items, by=by, period=period, start=start, end=end,
                                filters=parse_filters(filters), agree_min=agree_min, reverse=reverse)
    print_frame(df, fmt, title="Loyalty battery: % agreeing",
                meta={"question": "loyalty_battery", "query": {"items": items, "by": by, "period": period,
                                                               "from": start, "to": end, "agree_min": agree_min}})


@app.command()
def netshift(items: str | None = ITEMS, reverse: str | None = REVERSE, by: str = BY, period: str | None = PERIOD,
             periods: tuple[str, str] | None = typer.Option(None, "--periods", help="Two periods, B against A: "
                                                            "e.g. 2026-Q1 2026-Q2, 2026-03 2026-04, A..B ranges"),
             filters: list[str] = FILTER, agree_min: float = AGREE, fmt: Format = FMT) -> None:
    """Net shift of the % agreeing between two periods (points), Newcombe interval, z-test p-value.

    With --periods A B: B against A. With --period: each period against the one before. loyalty_shift is the
    shift with the sign flipped for reverse-coded items (positive = more loyal)."""
    with momenti.open() as ws:
        df = ws.net_shift(items=items, periods=periods, period=period, by=by, filters=parse_filters(filters),
                          agree_min=agree_min, reverse=reverse)
    print_frame(df, fmt, title="Loyalty battery: net shift (points)",
                meta={"question": "net_shift", "query": {"items": items, "by": by, "period": period,
                                                         "periods": list(periods or []), "agree_min": agree_min}})


@app.command()
def index(items: str | None = ITEMS, reverse: str | None = REVERSE, by: str = BY_SEG, period: str | None = PERIOD,
          start: str | None = FROM, end: str | None = TO, filters: list[str] = FILTER,
          scale: tuple[float, float] = SCALE, agree_min: float = AGREE, loyal: str | None = LOYAL,
          fmt: Format = FMT) -> None:
    """Loyalty index 0-100 per group (t-interval) and the shares of truly loyal and price-driven respondents."""
    with momenti.open() as ws:
        df = ws.loyalty_index(items=items, reverse=reverse, by=by, period=period, start=start, end=end,
                              filters=parse_filters(filters), scale=scale, agree_min=agree_min, loyal=loyal)
    print_frame(df, fmt, title="Loyalty index (0-100)",
                meta={"question": "loyalty_index", "query": {"items": items, "by": by, "period": period,
                                                             "from": start, "to": end, "loyal": loyal}})


@app.command("price-gap")
def price_gap(question: str = typer.Option("price_switch", "--question", help="The price-switch question key"),
              by: str = BY_SEG, period: str | None = PERIOD, start: str | None = FROM, end: str | None = TO,
              filters: list[str] = FILTER,
              levels: str | None = typer.Option(None, "--levels", help="Ordered answer levels, most "
                                                "price-sensitive first (default 5,10,15,25,50,never)"),
              never: str = typer.Option("never", "--never", help="The level meaning 'would not switch'"),
              within: str = typer.Option("10", "--within", help="switch_pct: share switching at a gap <= this"),
              loyal_above: str = typer.Option("25", "--loyal-above", help="loyal_pct: share who would not "
                                              "switch even at this gap"),
              view: str = typer.Option("summary", "--view", help="summary (one row per group) or distribution "
                                       "(one row per group and level)"),
              items: str | None = ITEMS, reverse: str | None = REVERSE, loyal: str | None = LOYAL,
              fmt: Format = FMT) -> None:
    """Price gap at which customers would switch: distribution, median gap, % switching within --within,
    truly loyal share (would not switch even at --loyal-above), with Wilson 95 % intervals."""
    with momenti.open() as ws:
        df = ws.price_gap(question=question, by=by, period=period, start=start, end=end,
                          filters=parse_filters(filters), levels=levels, never=never or None, within=within,
                          loyal_above=loyal_above, view=view, items=items, reverse=reverse, loyal=loyal)
    print_frame(df, fmt, title=f"Price-switch threshold ({view})",
                meta={"question": "price_gap", "query": {"question": question, "by": by, "period": period,
                                                         "from": start, "to": end, "within": within,
                                                         "loyal_above": loyal_above, "view": view}})


@app.command()
def segments(items: str | None = ITEMS, reverse: str | None = REVERSE, start: str | None = FROM,
             end: str | None = TO, filters: list[str] = FILTER, scale: tuple[float, float] = SCALE,
             agree_min: float = AGREE, loyal: str | None = LOYAL,
             fmt: Format = typer.Option(Format.csv, "--format", help="csv (default), json or table")) -> None:
    """Per customer: loyalty index and segment from their most recent complete battery (an export)."""
    with momenti.open() as ws:
        df = ws.loyalty_segments(items=items, reverse=reverse, start=start, end=end,
                                 filters=parse_filters(filters), scale=scale, agree_min=agree_min, loyal=loyal)
    print_frame(df, fmt, title="Loyalty segments per customer", meta={"question": "loyalty_segments"})
