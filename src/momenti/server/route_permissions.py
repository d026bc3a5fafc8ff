"""Who may call each route: the one table. `create_app` refuses to start when a route is missing from it, and
tests/test_permissions.py walks every route and checks who is refused.

Keys are (METHOD, path template) exactly as the routers declare them; values are permissions of
domains/access/permissions.py. A query kind that returns customer-level rows or comments needs more than
`aggregates.read` (KIND_PERMISSIONS), checked by POST /api/v1/query for the kind asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_AGGREGATE_GETS = [
    "/api/v1/journeys", "/api/v1/metrics/{metric}", "/api/v1/metrics/{metric}/compare",
    "/api/v1/paths/dfg", "/api/v1/paths/dfg.svg", "/api/v1/paths/activities", "/api/v1/paths/variants",
    "/api/v1/paths/funnel", "/api/v1/paths/loyalty",
    "/api/v1/journeys/dfg", "/api/v1/journeys/dfg.svg", "/api/v1/journeys/activities", "/api/v1/journeys/variants",
    "/api/v1/journeys/funnel", "/api/v1/journeys/loyalty",
    "/api/v1/contact/fcr", "/api/v1/contact/repeats", "/api/v1/contact/aht", "/api/v1/contact/complaints",
    "/api/v1/contact/switching", "/api/v1/journeys/fcr", "/api/v1/journeys/repeats", "/api/v1/journeys/aht",
    "/api/v1/journeys/complaints", "/api/v1/journeys/switching",
    "/api/v1/analysis/drivers", "/api/v1/analysis/quadrant", "/api/v1/analysis/penalty-reward",
    "/api/v1/analysis/dissonance", "/api/v1/analysis/loyalty/battery", "/api/v1/analysis/loyalty/netshift",
    "/api/v1/analysis/loyalty/index", "/api/v1/analysis/loyalty/price-gap", "/api/v1/analysis/retention/km",
    "/api/v1/analysis/retention/logrank", "/api/v1/analysis/retention/cox", "/api/v1/analysis/retention/km.svg",
    "/api/v1/analysis/loyalty-bank", "/api/v1/query/kinds", "/api/v1/text/topics", "/api/v1/text/trends",
    "/api/v1/surveys", "/api/v1/surveys/{key}",
    "/", "/moments", "/trends", "/loyalty", "/paths", "/contact", "/voice", "/retention", "/loop",
    "/api/v1/reviews", "/api/v1/reviews/improvements", "/review",
]

ROUTE_PERMISSIONS: dict[tuple[str, str], str] = {
    # public: what a customer or a host site reaches without an account
    ("GET", "/api/v1/health"): "public",
    ("GET", "/s/{survey_key}"): "public", ("POST", "/s/{survey_key}"): "public",
    ("GET", "/widget.js"): "public", ("GET", "/w/{survey_key}"): "public", ("POST", "/w/{survey_key}"): "public",
    ("GET", "/u/{token}"): "public", ("POST", "/u/{token}"): "public",
    ("GET", "/login"): "public", ("POST", "/login"): "public",
    ("GET", "/password"): "public", ("POST", "/password"): "public",
    ("GET", "/notifications/unsubscribe"): "public", ("POST", "/notifications/unsubscribe"): "public",
    # any signed-in user or token
    ("GET", "/openapi.json"): "signed_in", ("GET", "/docs"): "signed_in", ("POST", "/logout"): "signed_in",
    ("GET", "/api/v1/me"): "signed_in", ("PUT", "/api/v1/me/notifications"): "signed_in",
    **{("GET", p): "aggregates.read" for p in _AGGREGATE_GETS},
    ("GET", "/metrics"): "aggregates.read",  # Prometheus: counts and queue depths, nothing about a customer
    ("POST", "/api/v1/query"): "aggregates.read",  # and KIND_PERMISSIONS of the kind asked
    ("GET", "/api/v1/text/comments"): "comments.read",
    ("GET", "/api/v1/paths/instances"): "customers.read", ("GET", "/api/v1/journeys/instances"): "customers.read",
    ("GET", "/api/v1/analysis/loyalty/segments"): "customers.read",
    ("GET", "/api/v1/invitations"): "customers.read",
    # writes from systems: API tokens with the ingest scope
    ("POST", "/api/v1/responses"): "ingest", ("POST", "/api/v1/events"): "ingest",
    ("POST", "/api/v1/feedback"): "ingest", ("POST", "/api/v1/invitations/bounces"): "ingest",
    ("POST", "/api/v1/text/analyze"): "ingest",
    # editing
    ("POST", "/api/v1/surveys"): "survey.edit", ("GET", "/surveys"): "survey.edit",
    ("GET", "/surveys/new"): "survey.edit", ("GET", "/surveys/{key}/edit"): "survey.edit",
    ("POST", "/surveys"): "survey.edit",
    # cases (the role scopes which ones: domains/loop/queue.py)
    ("GET", "/api/v1/cases"): "cases.read", ("GET", "/api/v1/cases/{case_id}"): "cases.read",
    ("POST", "/api/v1/cases"): "cases.act", ("POST", "/api/v1/cases/{case_id}/actions"): "cases.act",
    ("GET", "/cases"): "cases.read", ("GET", "/cases/{case_id}"): "cases.read",
    ("POST", "/cases/{case_id}"): "cases.act", ("POST", "/cases/assign"): "cases.act",
    # the customer's story (the role scopes whose: domains/story/timeline.py) and the weekly review
    ("GET", "/api/v1/customers"): "timeline.read", ("GET", "/api/v1/customers/{customer_id}/timeline"): "timeline.read",
    ("GET", "/api/v1/customers/{customer_id}/offers/check"): "timeline.read",
    ("POST", "/api/v1/customers/{customer_id}/notes"): "cases.act",
    ("POST", "/api/v1/customers/{customer_id}/offers"): "cases.act",
    ("POST", "/api/v1/offers"): "ingest",
    ("GET", "/customers"): "timeline.read", ("GET", "/customers/{customer_id}"): "timeline.read",
    ("POST", "/customers/{customer_id}"): "cases.act",
    ("POST", "/api/v1/reviews"): "review.act", ("POST", "/review"): "review.act",
    # privacy: a customer's data exported, searched, erased (admins only)
    ("GET", "/api/v1/privacy/customers/{customer_id}/export"): "privacy.admin",
    ("GET", "/api/v1/privacy/customers/{customer_id}/search"): "privacy.admin",
    ("POST", "/api/v1/privacy/customers/{customer_id}/erase"): "privacy.admin",
    ("GET", "/admin/privacy"): "privacy.admin", ("POST", "/admin/privacy"): "privacy.admin",
    # administration
    ("GET", "/admin/users"): "users.admin", ("POST", "/admin/users"): "users.admin",
    ("POST", "/admin/users/{user_id}"): "users.admin",
    ("GET", "/admin/audit"): "users.admin",
    ("GET", "/admin/rules"): "rules.edit", ("POST", "/admin/rules"): "rules.edit",
    ("GET", "/admin/webhooks"): "settings.admin", ("POST", "/admin/webhooks"): "settings.admin",
}

# Query kinds (insights/query.py) that answer with more than aggregates.
KIND_PERMISSIONS: dict[str, str] = {
    "comments": "comments.read",
    "loyalty_segments": "customers.read",
}


def walk_routes(routes: list[Any]) -> Iterator[tuple[str, str]]:
    """(METHOD, path) of every route of an app, included routers flattened (FastAPI >= 0.120 wraps them)."""
    for r in routes:
        if type(r).__name__ == "_IncludedRouter":
            for ctx in r.effective_route_contexts():
                for m in sorted(getattr(ctx.original_route, "methods", None) or []):
                    if m != "HEAD":
                        yield m, ctx.path
        else:
            for m in sorted(getattr(r, "methods", None) or []):
                if m != "HEAD":
                    yield m, r.path


def undeclared(routes: list[Any]) -> list[str]:
    return [f"{m} {p}" for m, p in walk_routes(routes) if (m, p) not in ROUTE_PERMISSIONS]


def permission_of(method: str, path: str) -> str | None:
    return ROUTE_PERMISSIONS.get(("GET" if method == "HEAD" else method, path))
