"""Server-rendered pages. Thin: a view builds the data, a template lays it out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from momenti.core import i18n
from momenti.core.args import Day
from momenti.core.errors import InputError
from momenti.core.frames import csv_text
from momenti.domains.surveys.texts import pick_language
from momenti.server.deps import WorkspaceDep
from momenti.server.web import charts, views
from momenti.server.web.chrome import chrome

WEB = Path(__file__).parent
STATIC = WEB / "static"
templates = Jinja2Templates(directory=WEB / "templates")
router = APIRouter(tags=["web"])


def format_number(value: float | None, lang: str, decimals: int = 0, signed: bool = False) -> str:
    """A number as the pages write it: '–' for none, no '+0' or '-0.0', a decimal comma in Italian."""
    if value is None:
        return "–"
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    if text.lstrip("+-").strip("0.,") == "":
        text = f"{0:.{decimals}f}"  # no "+0" or "-0.0"
    return text.replace(".", ",") if lang == "it" else text


templates.env.filters["num"] = format_number


# {{ _("...") }} and {% trans %} in templates translate into the page's `lang` (the catalogs of core/i18n). The
# callables read the language from the render context, so concurrent requests in two languages never mix (a
# per-request install_gettext_translations would swap one environment shared by all requests).
@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.gettext(str(context.get("lang") or "it"), message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.translations(str(context.get("lang") or "it")).ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, ctx: str, message: str) -> str:
    return i18n.pgettext(str(context.get("lang") or "it"), ctx, message)


templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(_gettext, _ngettext, newstyle=True, pgettext=_pgettext)  # type: ignore[attr-defined]


@router.get("/", response_class=HTMLResponse, summary="Journey overview (HTML, or JSON with ?format=json)")
def overview(request: Request, ws: WorkspaceDep,
             lang: Annotated[Literal["it", "en"] | None, Query(description="Language of names; default from "
                                                                "Accept-Language, else it")] = None,
             start: Annotated[Day | None, Query(alias="from")] = None,
             end: Annotated[Day | None, Query(alias="to")] = None,
             format: Literal["html", "json", "csv", "parquet"] = "html",  # noqa: A002 - the public parameter name
             accept_language: Annotated[str | None, Header()] = None) -> Any:
    """The journey with its stages and touchpoints in order, NPS and CSAT per touchpoint with n and 95 %
    interval, small samples and moments of truth marked, and the monthly NPS trend of each journey."""
    language = pick_language(lang, accept_language=accept_language)
    data = views.overview(ws, language, start, end)
    if format == "json":
        return JSONResponse(data)
    if format in ("csv", "parquet"):
        return _overview_table(data, format)
    pct = f"{100 * data['confidence']:g}"
    labels = {k: v.format(min_n=data["min_n"], pct=pct) for k, v in views.LABELS[language].items()}
    svgs = {j["key"]: Markup(charts.trend_svg(j["trend"], f"{labels['trend']}: {j['name']}", labels))
            for j in data["journeys"]}
    other = "en" if language == "it" else "it"
    return templates.TemplateResponse(request, "overview.html", {
        "data": data, "t": labels, "lang": language, "other_lang": other, "svgs": svgs,
        "small_note": labels["small_note"], "chrome": chrome(request, language, "overview"),
    }, headers={"Content-Language": language})


def csv_download(frame: pd.DataFrame, name: str) -> Response:
    """A table as a CSV download, formula-safe like every CSV of the package (core/frames.py)."""
    return Response(csv_text(frame), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def table_download(frame: pd.DataFrame, name: str, fmt: str) -> Response:
    """A page's table as `fmt` (csv or parquet), for every page that shows one (`?format=csv|parquet`).
    Parquet keeps the types; a column holding mixed values (lists, dicts, numbers and text) is written as
    text, since a Parquet column has one type."""
    if fmt == "csv":
        return csv_download(frame, name)
    if fmt != "parquet":
        raise InputError(f"format {fmt!r}: html, json, csv or parquet")
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col].dropna()}
            if kinds - {str}:
                out[col] = out[col].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else
                                        v if isinstance(v, str) else json.dumps(v, default=str, ensure_ascii=False))
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(out, preserve_index=False), buf)
    return Response(buf.getvalue(), media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.parquet"'})


def _overview_table(data: dict[str, Any], fmt: str = "csv") -> Response:
    """One row per touchpoint: its journey and stage, NPS and CSAT with interval and n, target status."""
    cols = ["journey", "stage", "touchpoint", "channel", "moment_of_truth", "nps", "nps_ci_low", "nps_ci_high",
            "nps_n", "csat", "csat_ci_low", "csat_ci_high", "csat_n", "target_metric", "target", "target_status"]
    rows = []
    for j in data["journeys"]:
        for st in j["stages"]:
            for tp in st["touchpoints"]:
                row = [j["key"], st["key"], tp["key"], tp["channel"], tp["moment_of_truth"]]
                for m in ("nps", "csat"):
                    sc = tp.get(m) or {}
                    row += [sc.get("value"), sc.get("ci_low"), sc.get("ci_high"), sc.get("n")]
                tg = tp.get("target") or {}
                row += [tg.get("metric"), tg.get("score"), tg.get("status")]
                rows.append(row)
    return table_download(pd.DataFrame(rows, columns=cols), "overview", fmt)
