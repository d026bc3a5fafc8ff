"""What every signed-in page shares: the navigation (only what the role may open), who is signed in, the
logout form's CSRF token, the language switch. Templates read it as `chrome`."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from momenti.domains.surveys.texts import pick_language
from momenti.server.auth import current_principal
from momenti.server.route_permissions import permission_of
from momenti.server.web.dashboard.pages import NAV

EXTRA_NAV = (("cases", "/cases", {"it": "Casi", "en": "Cases"}),
             ("customers", "/customers", {"it": "Clienti", "en": "Customers"}),
             ("review", "/review", {"it": "Revisione settimanale", "en": "Weekly review"}),
             ("surveys", "/surveys", {"it": "Sondaggi", "en": "Surveys"}),
             ("users", "/admin/users", {"it": "Utenti", "en": "Users"}),
             ("privacy", "/admin/privacy", {"it": "Privacy", "en": "Privacy"}),
             ("rules", "/admin/rules", {"it": "Regole", "en": "Rules"}),
             ("webhooks", "/admin/webhooks", {"it": "Webhook", "en": "Webhooks"}),
             ("audit", "/admin/audit", {"it": "Audit", "en": "Audit"}),
             ("docs", "/docs", {"it": "API", "en": "API"}))


def page_language(request: Request) -> str:
    """The page's language: ?lang=, else the browser's Accept-Language, else Italian."""
    return pick_language(request.query_params.get("lang"), accept_language=request.headers.get("accept-language"))


def chrome(request: Request, lang: str, current: str) -> dict[str, Any]:
    principal = current_principal(request)
    items = []
    for key, path, title in (*NAV, *EXTRA_NAV):
        need = permission_of("GET", path)
        if principal is not None and need is not None and principal.allows(need):
            items.append({"key": key, "path": path, "title": title[lang], "current": key == current})
    return {"nav": items, "user": principal.name if principal else None,
            "role": principal.role if principal else None,
            "csrf": principal.csrf_token if principal is not None and principal.kind == "user" else None,
            "other_lang": "en" if lang == "it" else "it"}
