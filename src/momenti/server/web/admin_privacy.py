"""The admin page of privacy requests: find where a customer appears, download their data, erase them (delete
or anonymise) and read the verification. The same methods as `momenti privacy ...` and /api/v1/privacy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from momenti.core.errors import InputError, MomentiError
from momenti.server.auth import PrincipalDep
from momenti.server.web.chrome import chrome, page_language
from momenti.server.web.routes import templates

router = APIRouter(tags=["web"], include_in_schema=False)


def _page(request: Request, status: int = 200, **ctx: object) -> HTMLResponse:
    lang = page_language(request)
    return templates.TemplateResponse(request, "admin_privacy.html", {
        "lang": lang, "chrome": chrome(request, lang, "privacy"), "customer": "", "found": None, "erased": None,
        "error": None, **ctx}, status_code=status)


@router.get("/admin/privacy", response_class=HTMLResponse)
def privacy_page(request: Request, customer: str = "") -> HTMLResponse:
    if not customer.strip():
        return _page(request)
    ws = request.app.state.workspace
    return _page(request, customer=customer.strip(), found=ws.privacy_search(customer.strip()))


@router.post("/admin/privacy", response_class=HTMLResponse)
def privacy_action(request: Request, principal: PrincipalDep, customer: Annotated[str, Form(max_length=200)],
                   action: Annotated[str, Form(max_length=10)], mode: Annotated[str, Form(max_length=10)] = "delete",
                   confirm: Annotated[str, Form(max_length=200)] = "") -> Response:
    ws = request.app.state.workspace
    ip = request.client.host if request.client else None
    customer = customer.strip()
    try:
        if action == "export":
            blob, _ = ws.privacy_export(customer, actor=principal.label, ip=ip)
            return Response(blob, media_type="application/zip",
                            headers={"Content-Disposition": 'attachment; filename="customer-export.zip"'})
        if action != "erase":
            raise InputError("action: export or erase")
        if confirm.strip() != customer:
            raise InputError("type the customer's id again to confirm the erasure")
        with request.app.state.syncer.lock:
            erased = ws.privacy_erase(customer, mode, actor=principal.label, ip=ip)
    except MomentiError as exc:
        return _page(request, exc.status_code, customer=customer, error=str(exc))
    return _page(request, 200 if erased["ok"] else 500, customer=customer, erased=erased)
