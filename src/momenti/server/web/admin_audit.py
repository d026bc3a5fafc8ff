"""The admin page of the audit log (`/admin/audit`): entries newest first, filtered by actor, action and days,
paged; `?format=json` answers the page's data; `?verify=1` checks the whole hash chain and shows the result.
The same functions as `momenti audit list` and `momenti audit verify` (domains/audit.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

from momenti.core.args import as_date
from momenti.core.errors import InputError
from momenti.domains import audit
from momenti.server.deps import PageNumber
from momenti.server.web.chrome import chrome, page_language
from momenti.server.web.routes import templates

router = APIRouter(tags=["web"], include_in_schema=False)
PAGE = 100


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, actor: str = "", action: str = "",
               start: Annotated[str, Query(alias="from", max_length=40)] = "",
               end: Annotated[str, Query(alias="to", max_length=40)] = "", page: PageNumber = 1, verify: str = "",
               format: str = "html") -> Response:  # noqa: A002 - the query parameter's name
    lang = page_language(request)
    ws = request.app.state.workspace
    page = max(1, page)
    rows, total, error, report = [], 0, None, None
    try:
        since, until = as_date(start or None), as_date(end or None)
    except InputError as exc:
        since = until = None
        error = str(exc)
    with ws.session() as s:
        if error is None:
            rows, total = audit.list_entries(s, actor=actor.strip() or None, action=action.strip() or None,
                                             since=since, until=until, limit=PAGE, offset=(page - 1) * PAGE)
    if verify:
        with ws.session() as s:  # a session of its own: verify reads in one snapshot
            try:
                report = audit.verify(s).as_dict()
            except Exception as exc:  # noqa: BLE001 - a damaged store is an answer on this page, not a 500
                report = {"intact": False, "entries": 0, "summary": f"could not be verified: {exc}",
                          "problem": None}
    pages = max(1, -(-total // PAGE))
    if format == "json":
        return JSONResponse(jsonable_encoder({"rows": rows, "total": total, "page": page, "pages": pages,
                                              "verify": report, "error": error}),
                            status_code=400 if error else 200)
    return templates.TemplateResponse(request, "admin_audit.html", {
        "lang": lang, "chrome": chrome(request, lang, "audit"), "rows": rows, "total": total, "page": page,
        "pages": pages, "error": error, "report": report,
        "f": {"actor": actor, "action": action, "from": start, "to": end}}, status_code=400 if error else 200)
