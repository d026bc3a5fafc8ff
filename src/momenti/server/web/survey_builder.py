"""The survey builder of the web app: /surveys (list), /surveys/new (from a template), /surveys/{key}/edit.

Server-rendered forms that take a survey definition in YAML and apply it (a new survey, or a new version).
Applying changes what customers are asked, so the form asks for an API token (`momenti token create NAME`),
the same rule as POST /api/v1/surveys.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from momenti.core.errors import MomentiError, NotFoundError
from momenti.domains.surveys.definition import TEMPLATES, load_survey, template_text
from momenti.domains.surveys.service import apply_survey, list_surveys, show_survey
from momenti.domains.surveys.texts import pick_language
from momenti.server.web.chrome import chrome, page_language
from momenti.server.web.routes import templates  # one template environment (its filters) for every page
from momenti.workspace import Workspace

router = APIRouter(tags=["survey builder"], include_in_schema=False)

LABELS = {
    "it": {"title": "Questionari", "new": "Nuovo questionario", "edit": "Modifica", "key": "Chiave",
           "name": "Titolo", "status": "Stato", "version": "Versione", "questions": "Domande", "open": "Apri",
           "none": "Nessun questionario: creane uno da un modello.", "template": "Modello", "load": "Carica",
           "yaml": "Definizione (YAML)", "token": "Token API", "apply": "Applica",
           "token_help": "Crealo con: momenti token create NOME", "applied": "Applicato: {key}, versione {version}.",
           "unchanged": "Nessuna modifica: {key} resta alla versione {version}.", "bad_token": "Token non valido.",
           "errors": "Errori"},
    "en": {"title": "Surveys", "new": "New survey", "edit": "Edit", "key": "Key", "name": "Title",
           "status": "Status", "version": "Version", "questions": "Questions", "open": "Open",
           "none": "No surveys yet: create one from a template.", "template": "Template", "load": "Load",
           "yaml": "Definition (YAML)", "token": "API token", "apply": "Apply",
           "token_help": "Create one with: momenti token create NAME",
           "applied": "Applied: {key}, version {version}.",
           "unchanged": "Unchanged: {key} stays at version {version}.", "bad_token": "Invalid token.",
           "errors": "Errors"},
}



def _render(request: Request, name: str, lang: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, f"survey/{name}", {"lang": lang, "other_lang": "en" if lang == "it"
                                                                  else "it", "t": LABELS[lang],
                                                                  "chrome": chrome(request, lang, "surveys"), **ctx},
                                      status_code=status, headers={"Content-Language": lang})


@router.get("/surveys", response_class=HTMLResponse)
def builder_list(request: Request) -> HTMLResponse:
    ws: Workspace = request.app.state.workspace
    lang = page_language(request)
    rows = list_surveys(ws).to_dict("records")
    q = request.query_params
    note = None
    if q.get("applied"):
        note = LABELS[lang]["unchanged" if q.get("changed") == "0" else "applied"].format(
            key=q["applied"], version=q.get("version", ""))
    return _render(request, "builder_list.html", lang, rows=rows, note=note)


@router.get("/surveys/new", response_class=HTMLResponse)
def builder_new(request: Request) -> HTMLResponse:
    lang = page_language(request)
    name = request.query_params.get("template") or TEMPLATES[0]
    try:
        text = template_text(name)
    except MomentiError as exc:
        return _render(request, "builder_edit.html", lang, 404, text="", errors=[str(exc)], chosen=None,
                       templates=TEMPLATES, key=None)
    return _render(request, "builder_edit.html", lang, text=text, errors=[], chosen=name, templates=TEMPLATES,
                   key=None)


@router.get("/surveys/{key}/edit", response_class=HTMLResponse)
def builder_edit(request: Request, key: str) -> HTMLResponse:
    ws: Workspace = request.app.state.workspace
    lang = page_language(request)
    try:
        doc = show_survey(ws, key)
    except NotFoundError as exc:
        return _render(request, "builder_edit.html", lang, 404, text="", errors=[str(exc)], chosen=None,
                       templates=TEMPLATES, key=key)
    text = yaml.safe_dump({**doc["definition"], "status": doc["status"]}, allow_unicode=True, sort_keys=False,
                          width=110)
    return _render(request, "builder_edit.html", lang, text=text, errors=[], chosen=None, templates=TEMPLATES,
                   key=key)


@router.post("/surveys", response_class=HTMLResponse)
async def builder_apply(request: Request) -> Response:
    ws: Workspace = request.app.state.workspace
    form = await request.form()
    lang = pick_language(str(form.get("lang") or ""), accept_language=request.headers.get("accept-language"))
    text = str(form.get("yaml") or "")
    # Who may apply was settled before this ran: survey.edit (server/route_permissions.py), and for a
    # session the form's CSRF token (server/auth.py).
    try:
        result = apply_survey(ws, load_survey(text, name="YAML"), sync=False)
    except MomentiError as exc:
        return _render(request, "builder_edit.html", lang, 400, text=text, errors=str(exc).split("; "),
                       chosen=None, templates=TEMPLATES, key=None)
    request.app.state.syncer.touch()
    return RedirectResponse(f"/surveys?lang={lang}&applied={result.key}&version={result.version}"
                            f"&changed={int(result.changed)}", status_code=303)
