"""/api/v1/privacy: a customer's data exported (a zip), searched for, erased and the erasure verified
(`privacy.admin`: admins and admin tokens). Every call is in the audit log, under the customer's pseudonym."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from momenti.server.auth import PrincipalDep
from momenti.server.deps import WorkspaceDep

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])


class EraseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: str = Field("delete", pattern="^(delete|anonymise)$", description="delete every row, or anonymise: "
                      "scores kept under a random id, text and contact data dropped")
    emails: list[str] = Field(default_factory=list, max_length=20, description="More e-mail addresses to search "
                              "for inside free text (those in the customer's attributes are found on their own)")
    phones: list[str] = Field(default_factory=list, max_length=20)


class SearchPublic(BaseModel):
    subject: dict[str, Any] = Field(..., description="The customer id and how many e-mails and phones were searched")
    found: int = Field(..., description="Occurrences left (0: nothing anywhere)")
    where: list[str] = Field(..., description="store/warehouse table.column or file, with the rows")
    searched: dict[str, int]
    unread: list[str]


class ErasePublic(BaseModel):
    subject: dict[str, Any]
    mode: str
    ok: bool = Field(..., description="True only when the search after the erasure found nothing")
    rows: dict[str, int] = Field(..., description="Rows deleted (or anonymised) per table")
    redacted: dict[str, int] = Field(..., description="Other rows (or file lines) quoting the customer, redacted")
    left: SearchPublic | dict[str, Any]
    not_removed: list[str]
    notes: list[str]


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/customers/{customer_id}/export", response_class=Response,
            responses={200: {"content": {"application/zip": {}}, "description": "customer.json and a CSV per "
                             "table"}, 404: {"description": "Nothing is known about the customer"}})
def export_route(customer_id: str, ws: WorkspaceDep, principal: PrincipalDep, request: Request) -> Response:
    blob, _ = ws.privacy_export(customer_id, actor=principal.label, ip=_ip(request))
    return Response(blob, media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="customer-export.zip"'})


@router.get("/customers/{customer_id}/search", response_model=SearchPublic)
def search_route(customer_id: str, ws: WorkspaceDep, principal: PrincipalDep) -> dict[str, Any]:
    return ws.privacy_search(customer_id)


@router.post("/customers/{customer_id}/erase", response_model=ErasePublic)
def erase_route(customer_id: str, body: EraseRequest, ws: WorkspaceDep, principal: PrincipalDep,
                request: Request) -> dict[str, Any]:
    """Erase and verify; `ok` false (with `left`) when something could not be removed."""
    syncer = getattr(request.app.state, "syncer", None)
    lock = syncer.lock if syncer is not None else None
    if lock is not None:
        with lock:  # the server's own background sync must not run during the rebuild
            return ws.privacy_erase(customer_id, body.mode, body.emails, body.phones, actor=principal.label,
                                    ip=_ip(request))
    return ws.privacy_erase(customer_id, body.mode, body.emails, body.phones, actor=principal.label,
                            ip=_ip(request))
