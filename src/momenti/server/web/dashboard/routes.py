"""The dashboard pages: HTML, `?format=json` (the page's data) and `?format=csv|parquet&panel=KEY` (one table).

Thin: the filters come from the URL (so a permalink reproduces the page), build.page_data answers the page's
queries, the template lays them out.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from momenti.core.args import as_date
from momenti.core.errors import InputError, NotFoundError
from momenti.domains.surveys.texts import pick_language
from momenti.server.auth import PrincipalDep
from momenti.server.deps import WorkspaceDep
from momenti.server.web.chrome import chrome
from momenti.server.web.dashboard import svg
from momenti.server.web.dashboard.build import FILTER_DIMS, Filters, page_data
from momenti.server.web.dashboard.pages import PAGES, Page
from momenti.server.web.routes import table_download, templates

router = APIRouter(tags=["web"])
Lang = Annotated[Literal["it", "en"] | None, Query(description="Language; default from Accept-Language, else it")]
Format = Literal["html", "json", "csv", "parquet"]


def serve_page(request: Request, ws: Any, principal: Any, page: Page, lang: str, filters: Filters, fmt: str,
               panel_key: str | None) -> Response:
    data = page_data(ws, page, filters, principal, lang)
    if fmt == "json":
        return JSONResponse(jsonable_encoder(data))
    if fmt in ("csv", "parquet"):
        key = panel_key or (data["panels"][0]["key"] if data["panels"] else None)
        panel = next((p for p in data["panels"] if p["key"] == key), None)
        if panel is None:
            raise NotFoundError(f"panel {key!r}: choose one of {', '.join(p['key'] for p in data['panels'])}")
        columns = panel["columns"]  # a viewer's answers carry their `withheld` column already
        return table_download(pd.DataFrame(panel["rows"], columns=columns), f"{page.key}-{panel['key']}", fmt)
    specs = {p.key: p for p in page.panels}
    charts = {p["key"]: Markup(svg.chart(specs[p["key"]], p["rows"], lang)) for p in data["panels"]}
    limits = {p.key: p.limit for p in page.panels}
    return templates.TemplateResponse(request, "dashboard.html", {
        "data": data, "page": page, "lang": lang, "charts": charts, "limits": limits,
        "qs": filters.query_string(), "chrome": chrome(request, lang, page.key), "dims": FILTER_DIMS,
    }, headers={"Content-Language": lang})


def _day(value: str | None, name: str) -> dt.date | None:
    """A date filter as the form sends it: an empty field is no filter; else the rule of every interface."""
    try:
        return as_date((value or "").strip() or None)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None


def _route(page: Page):  # noqa: ANN202 - a FastAPI endpoint
    def endpoint(request: Request, ws: WorkspaceDep, principal: PrincipalDep, lang: Lang = None,
                 start: Annotated[str | None, Query(alias="from", description="First day (inclusive)")] = None,
                 end: Annotated[str | None, Query(alias="to", description="Last day (inclusive)")] = None,
                 journey: str | None = None, touchpoint: str | None = None, channel: str | None = None,
                 segment: Annotated[str | None, Query(description="A customer attribute: attr=value")] = None,
                 format: Format = "html",  # noqa: A002 - the public parameter name
                 panel: Annotated[str | None, Query(description="The table of ?format=csv or parquet")] = None,
                 accept_language: Annotated[str | None, Header()] = None) -> Response:
        language = pick_language(lang, accept_language=accept_language)
        # The filter form sends every field, the empty ones as "": an empty field is no filter.
        first, last = _day(start, "from"), _day(end, "to")
        if first and last and first > last:
            raise InputError("from: must not be after to")
        dims = tuple((d, v.strip()) for d, v in (("journey", journey), ("touchpoint", touchpoint),
                                                 ("channel", channel), ("segment", segment)) if v and v.strip())
        return serve_page(request, ws, principal, page, language, Filters(first, last, dims), format, panel)

    endpoint.__name__ = f"page_{page.key}"
    endpoint.__doc__ = f"{page.title['en']}: {page.intro['en']}"
    return endpoint


for _page in PAGES:
    router.add_api_route(_page.path, _route(_page), methods=["GET"], response_class=HTMLResponse,
                         include_in_schema=False, name=f"page_{_page.key}")
