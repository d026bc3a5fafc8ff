"""The permission table: what each role and each API-token scope may do. One place, tested as a matrix.

A route names one permission (server/route_permissions.py); an actor holds a set of them, from its role (a
signed-in user) or its scopes (an API token). `ingest` belongs to tokens only: the write API is for systems,
and its idempotency keys and limits are counted per token.
"""

from __future__ import annotations

from typing import Final

from momenti.core.errors import InputError

# permission -> what it opens
PERMISSIONS: Final[dict[str, str]] = {
    "public": "anyone, signed in or not (survey pages, widget, static files, /login, health)",
    "signed_in": "any signed-in user or token (their own profile, the API docs)",
    "aggregates.read": "scores, drivers, paths, trends and every other aggregate",
    "comments.read": "comment text (masked), example comments",
    "customers.read": "customer-level rows: responses, journeys, segments per customer",
    "export": "CSV and JSON downloads of customer-level rows",
    "ingest": "writes through the REST API (responses, events, feedback, customers, offers)",
    "journey.edit": "apply a journey map",
    "survey.edit": "create and change surveys, send invitations",
    "timeline.read": "a customer's timeline (every contact, answer, note and offer) and the offer check",
    "cases.read": "read cases",
    "cases.act": "assign, note and close cases",
    "review.act": "the weekly review of a team",
    "users.admin": "create, disable and change users and teams",
    "tokens.admin": "create and revoke API tokens",
    "settings.admin": "settings, webhooks and retention",
    "privacy.admin": "export, search and erase a customer's data",
    "rules.edit": "try and apply the alert rules",
}

ROLES: Final[dict[str, str]] = {
    "admin": "everything: users, tokens, settings, every analysis and case",
    "cx_manager": "every analysis and case, journey, survey and alert-rule editing",
    "analyst": "every analysis, exports, masked comments; reads cases, no case actions",
    "team_lead": "their team's touchpoints, cases and weekly review",
    "agent": "their team's cases and the timelines of those customers",
    "viewer": "aggregates only: no customer-level data, no comments, small groups withheld",
}

_ANALYSIS = {"aggregates.read", "comments.read", "customers.read", "export"}
_CASES = {"cases.read", "cases.act"}

ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "admin": frozenset(set(PERMISSIONS) - {"ingest"}),
    "cx_manager": frozenset({"public", "signed_in", *_ANALYSIS, *_CASES, "journey.edit", "survey.edit", "review.act",
                             "rules.edit", "timeline.read"}),
    "analyst": frozenset({"public", "signed_in", *_ANALYSIS, "cases.read"}),
    "team_lead": frozenset({"public", "signed_in", "aggregates.read", "comments.read", "customers.read", *_CASES,
                            "review.act", "timeline.read"}),
    "agent": frozenset({"public", "signed_in", "customers.read", *_CASES, "timeline.read"}),
    "viewer": frozenset({"public", "signed_in", "aggregates.read"}),
}

SCOPES: Final[dict[str, str]] = {
    "read": "every read of the REST API (aggregates, comments, customer rows, exports)",
    "ingest": "the write endpoints (responses, events, feedback, customers)",
    "admin": "everything, the write endpoints included",
}

SCOPE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    # a system reading with a token (a CRM asking the offer check, a contact-centre desktop showing a timeline)
    "read": frozenset({"public", "signed_in", *_ANALYSIS, "cases.read", "timeline.read"}),
    "ingest": frozenset({"public", "signed_in", "ingest"}),
    "admin": frozenset(PERMISSIONS),
}

# Roles that see only aggregates: groups under the minimum size are withheld from them, not only flagged.
AGGREGATE_ONLY_ROLES: Final[frozenset[str]] = frozenset({"viewer"})
# Roles whose reads are limited to their own team's touchpoints and customers.
TEAM_SCOPED_ROLES: Final[frozenset[str]] = frozenset({"team_lead", "agent"})


def check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise InputError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """'read,ingest' (or a list) -> ('ingest', 'read'): known scopes only, sorted, no repeats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = sorted({s.strip().lower() for s in items if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InputError(f"scope {','.join(unknown) or '(none)'}: choose from {', '.join(SCOPES)}")
    return tuple(scopes)


def role_permissions(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset({"public"}))


def scope_permissions(scopes: tuple[str, ...] | list[str]) -> frozenset[str]:
    out: set[str] = set()
    for s in scopes:
        out |= SCOPE_PERMISSIONS.get(s, frozenset())
    return frozenset(out)
