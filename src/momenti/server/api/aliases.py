"""Routes served under their name and under an older one (kept so existing clients keep working)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute


def served_under(routes: APIRouter, prefix: str, alias: str) -> APIRouter:
    """A router with every route of `routes` at `prefix` (listed in /docs) and at `alias` (hidden). Each route
    is added with its full path, not as a nested include, so the app lists them like any other."""
    router = APIRouter()
    for at, shown in ((prefix, True), (alias, False)):
        for r in routes.routes:
            assert isinstance(r, APIRoute)
            router.add_api_route(f"{at}{r.path}", r.endpoint, methods=list(r.methods), summary=r.summary,
                                 description=r.description, response_model=r.response_model,
                                 response_model_exclude_unset=r.response_model_exclude_unset,
                                 response_class=r.response_class, responses=r.responses, tags=r.tags,
                                 name=r.name, include_in_schema=shown and r.include_in_schema)
    return router
