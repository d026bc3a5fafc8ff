"""Public survey pages: GET/POST /s/{survey_key}. Server-rendered, no JavaScript, one page (question group) at a
time, in Italian or English.

Every POST is answered with a redirect to `/s/<key>?sid=<session>` (post/redirect/get), so a reload never
re-posts, and the session (momenti.domains.surveys.sessions) makes a double submit harmless. Signed links
(`?t=`) are checked with `momenti.domains.surveys.links`; the abuse checks of `momenti.domains.surveys.abuse`
run first on every POST when that module is installed.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from momenti.core.errors import InputError, NotFoundError
from momenti.domains.surveys import abuse, links
from momenti.domains.surveys import sessions as ss
from momenti.domains.surveys.definition import Question, SurveyDefinition
from momenti.domains.surveys.service import LiveSurvey, get_definition, get_survey
from momenti.domains.surveys.texts import UI, agree_labels, pick_language, scale_labels
from momenti.server.web.routes import templates  # one template environment (its filters) for every page
from momenti.workspace import Workspace

log = logging.getLogger("momenti.domains.surveys.pages")
router = APIRouter(tags=["survey pages"], include_in_schema=False)
# nosniff and X-Frame-Options (from frame-ancestors) are added to every response by server/middleware.py.
# A page is one request: its stylesheet (survey/style.css) is inline in a <style> element allowed by a nonce
# of its own, no other inline style (the progress bar is a <progress> element, no style attribute).
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
CSP = ("default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; img-src 'self'; base-uri 'none'; "
       "frame-ancestors 'self'")


def _headers(lang: str) -> tuple[str, dict[str, str]]:
    """A new nonce, and the headers of a page whose <style> carries it."""
    nonce = secrets.token_urlsafe(12)
    return nonce, {**HEADERS, "Content-Security-Policy": CSP.format(nonce=nonce), "Content-Language": lang}


_SID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class PageError(Exception):
    """A polite page instead of the survey: closed, expired, invalid link, already answered..."""

    def __init__(self, kind: str, status: int, detail: str | None = None) -> None:
        super().__init__(kind)
        self.kind, self.status, self.detail = kind, status, detail


# -- helpers ---------------------------------------------------------------------------------------------


def _ws(request: Request) -> Workspace:
    return request.app.state.workspace


def _touch_sync(request: Request) -> None:
    request.app.state.syncer.touch()


def verify_link(ws: Workspace, token: str, now: Any = None) -> Any:
    """The claims of a signed link (`momenti.domains.surveys.links`); PageError when invalid or expired."""
    try:
        return links.verify(token, links.secret_keys(ws.settings), now=now)
    except links.LinkExpired as exc:
        raise PageError("link_expired", 410, str(exc)) from None
    except InputError as exc:
        raise PageError("link_invalid", 400, str(exc)) from None


def _survey(ws: Workspace, key: str) -> LiveSurvey:
    try:
        info = get_survey(ws, key)
    except NotFoundError:
        raise PageError("not_found", 404) from None
    if not info.is_open():
        raise PageError("closed", 410)
    return info


def _language(request: Request, *candidates: str | None) -> str:
    return pick_language(*candidates, accept_language=request.headers.get("accept-language"))


def _new_state(ws: Workspace, request: Request, info: LiveSurvey, d: SurveyDefinition, token: str | None,
               sid: str | None, values: dict[str, str], lang: str | None) -> tuple[ss.SessionState, Any]:
    """A session not stored yet, from the link (claims) or anonymous (if the survey allows it)."""
    hidden = {k: values[k][:ss.MAX_HIDDEN] for k in d.hidden if values.get(k)}
    tp = values.get("tp")
    customer, link_lang, sid = None, None, sid if sid and _SID.match(sid) else ss.new_token()
    claims = None
    if token:
        claims = verify_link(ws, token)
        if claims.survey != info.key:
            raise PageError("link_invalid", 400)
        if claims.single_use:
            sid = ss.link_session_token(info.key, claims.nonce)
        customer, link_lang = claims.customer_id, claims.lang
        tp = claims.touchpoint or tp
        hidden.update({k: str(v)[:ss.MAX_HIDDEN] for k, v in (claims.hidden or {}).items() if k in d.hidden})
    elif not info.allow_anonymous:
        raise PageError("link_required", 403)
    tp = tp if tp in d.touchpoints else d.touchpoints[0]
    language = _language(request, lang, link_lang)
    return ss.SessionState(sid, info.key, info.version, customer, tp, hidden, language, {}, 0, [], "open",
                           link_token=token or None, exists=False), claims


def _start_state(ws: Workspace, request: Request, info: LiveSurvey, d: SurveyDefinition, token: str | None,
                 sid: str | None, values: dict[str, str], lang: str | None) -> ss.SessionState:
    state, claims = _new_state(ws, request, info, d, token, sid, values, lang)
    stored = ss.load_session(ws, state.token)
    if stored is not None:
        return stored  # a single-use link opened again: resume
    if claims is not None:
        if links.is_consumed(ws, claims):
            raise PageError("already", 409)
    first = ss.visible_pages(d, {})
    state.page = first[0] if first else 0
    return state


# -- rendering -------------------------------------------------------------------------------------------


def _question_view(q: Question, lang: str, value: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"key": q.key, "text": q.text.get(lang), "required": q.required,
                            "help": q.help.get(lang) if q.help else None, "value": value}
    if q.type == "text":
        view["kind"] = "text"
        return view
    chosen = {str(v) for v in value} if isinstance(value, list) else ({str(value)} if value is not None else set())
    if q.options is not None:
        view.update(kind="options", input="checkbox" if q.type == "multiple" else "radio",
                    options=[{"value": o.key, "label": o.text.get(lang), "checked": o.key in chosen}
                             for o in q.options])
        return view
    lo, hi = q.scale() or (0, 0)
    if q.type == "agree":
        labels = agree_labels(hi, lang)
        view.update(kind="options", input="radio",
                    options=[{"value": str(v), "label": labels[v - 1], "checked": str(v) in chosen}
                             for v in range(lo, hi + 1)])
        return view
    low, high = scale_labels(q, lang)
    view.update(kind="points", input="radio", scale_lo=lo, scale_hi=hi, low=low, high=high,
                options=[{"value": str(v), "label": str(v), "checked": str(v) in chosen} for v in range(lo, hi + 1)])
    return view


def _page_url(key: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/s/{key}" + (f"?{query}" if query else "")


def render_page(request: Request, d: SurveyDefinition, state: ss.SessionState, lang: str,
                errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                carry: list[tuple[str, str]] | None = None, status: int = 200) -> HTMLResponse:
    answers = {**state.answers, **(values or {})}
    index = state.page
    visible = ss.visible_pages(d, state.answers)
    position = visible.index(index) + 1 if index in visible else 1
    total = max(len(visible), position)
    page = d.pages[index]
    questions = [_question_view(q, lang, answers.get(q.key)) for q in ss.visible_questions(page, state.answers)]
    other = "en" if lang == "it" else "it"
    switch = _page_url(d.key, sid=state.token, lang=other) if state.exists else _page_url(
        d.key, lang=other, **{k: v for k, v in (carry or [])})
    ctx = {"lang": lang, "other_lang": other, "t": UI[lang], "title": d.title.get(lang),
           "intro": d.intro.get(lang) if d.intro and position == 1 else None,
           "page_title": page.title.get(lang) if page.title else None, "questions": questions,
           "errors": errors or {}, "sid": state.token, "page": index, "position": position, "total": total,
           "last": ss.next_page(d, index, state.answers) is None, "can_back": bool(state.trail),
           "action": f"/s/{d.key}", "carry": carry or [], "switch_url": switch}
    ctx["nonce"], headers = _headers(lang)
    return templates.TemplateResponse(request, "survey/page.html", ctx, status_code=status, headers=headers)


def render_message(request: Request, kind: str, lang: str, status: int = 200, d: SurveyDefinition | None = None,
                   detail: str | None = None) -> HTMLResponse:
    t = UI[lang]
    heading, text = t[f"{kind}_title"], t[f"{kind}_text"]
    if kind == "thanks" and d is not None:
        heading, text = d.title.get(lang), d.thanks.get(lang)
    ctx = {"lang": lang, "kind": kind, "heading": heading, "text": text, "detail": detail}
    ctx["nonce"], headers = _headers(lang)
    return templates.TemplateResponse(request, "survey/message.html", ctx, status_code=status, headers=headers)


def _done(request: Request, ws: Workspace, state: ss.SessionState, lang: str) -> HTMLResponse:
    d = get_definition(ws, state.survey_key, state.version)
    return render_message(request, "thanks" if state.status == "complete" else "recorded", lang, d=d)


# Idle sessions are ended (partial responses) by the `survey_sweep` job every minute (pipelines/jobs.py).


# -- GET ------------------------------------------------------------------------------------------------


def _get(request: Request, key: str) -> Response:
    ws = _ws(request)
    q = request.query_params
    lang_q = q.get("lang")
    try:
        sid = q.get("sid")
        if sid:
            state = ss.load_session(ws, sid)
            if state is not None and state.survey_key == key:
                lang = _language(request, lang_q, state.language)
                if state.status != "open":
                    return _done(request, ws, state, lang)
                _survey(ws, key)
                return render_page(request, get_definition(ws, key, state.version), state, lang)
        info = _survey(ws, key)
        d = get_definition(ws, key, info.version)
        token = q.get("t")
        values = {k: v for k, v in q.items()}
        state = _start_state(ws, request, info, d, token, None, values, lang_q)
        lang = _language(request, lang_q, state.language)
        if state.exists and state.status != "open":
            return _done(request, ws, state, lang)
        carry = [(k, v) for k, v in (("t", token), ("tp", q.get("tp"))) if v]
        carry += [(k, q[k]) for k in d.hidden if q.get(k) and not token]
        return render_page(request, get_definition(ws, key, state.version), state, lang,
                           carry=carry if not state.exists else None)
    except PageError as exc:
        return render_message(request, exc.kind, _language(request, lang_q), exc.status, detail=exc.detail)


@router.get("/s/{survey_key}", response_class=HTMLResponse)
def survey_page(request: Request, survey_key: str) -> Response:
    return _get(request, survey_key)


# -- POST -----------------------------------------------------------------------------------------------


def _redirect(key: str, state: ss.SessionState) -> RedirectResponse:
    return RedirectResponse(_page_url(key, sid=state.token, lang=state.language), status_code=303,
                            headers={"Cache-Control": "no-store"})


def _post(request: Request, key: str, form: dict[str, list[str]]) -> Response:
    ws = _ws(request)
    one = {k: v[0] for k, v in form.items() if v}
    lang_f = one.get("lang")
    try:
        info = _survey(ws, key)
        sid = one.get("sid")
        state = ss.load_session(ws, sid) if sid and _SID.match(sid) else None
        if state is not None and state.survey_key != key:
            state = None
        if state is None:
            d = get_definition(ws, key, info.version)
            state = _start_state(ws, request, info, d, one.get("t"), sid, one, lang_f)
        if lang_f in ("it", "en"):
            state.language = lang_f
        if state.status != "open":
            return _redirect(key, state)
        d = get_definition(ws, key, state.version)
        try:
            p = int(one.get("p", ""))
        except ValueError:
            p = -1
        if not 0 <= p < len(d.pages) or (p != state.page and p not in state.trail):
            return _redirect(key, state)  # a stale or forged page number: show where the session is
        back = one.get("action") == "back"
        got = ss.parse_page(d, p, form, state.answers, check_required=not back)
        if got.errors and not back:
            state.page = p
            return render_page(request, d, state, state.language, errors=got.errors, values=got.values,
                               status=422)
        for k, v in got.values.items():
            if k not in got.errors:
                state.answers[k] = v
        state.answers = {k: v for k, v in state.answers.items() if v not in (None, "", [])}
        if back:
            if p == state.page and state.trail:
                state.page = state.trail.pop()
            ss.save_session(ws, state)
            return _redirect(key, state)
        if p != state.page:  # a page already passed, submitted again (double submit, an old tab)
            ss.save_session(ws, state)
            return _redirect(key, state)
        nxt = ss.next_page(d, p, state.answers)
        if nxt is not None:
            state.trail.append(p)
            state.page = nxt
            ss.save_session(ws, state)
            return _redirect(key, state)
        state = ss.save_session(ws, state)
        if ss.finish(ws, state, "complete"):
            _touch_sync(request)
            if state.link_token:
                try:
                    claims = verify_link(ws, state.link_token, now=state.created_at)
                    links.consume(ws, claims)
                except PageError:  # signed by a rotated key since: the response stands
                    log.warning("could not consume the link of session %s", state.token)
        state.status = "complete"
        return _redirect(key, state)
    except PageError as exc:
        return render_message(request, exc.kind, _language(request, lang_f), exc.status, detail=exc.detail)


@router.post("/s/{survey_key}", response_class=HTMLResponse)
async def survey_submit(request: Request, survey_key: str) -> Response:
    raw = await abuse.read_form(request)
    lang = _language(request, str(raw.get("lang") or ""))
    try:
        verdict = abuse.check_submission(request, raw)
    except HTTPException as exc:
        if exc.status_code != 429:
            raise
        page = render_message(request, "busy", lang, 429)
        page.headers.update(exc.headers or {})
        return page
    if verdict is False:  # the honeypot was filled: a bot; answer as if it worked, write nothing
        return render_message(request, "thanks", lang)
    form: dict[str, list[str]] = {}
    for name, value in raw.multi_items():
        if isinstance(value, str):
            form.setdefault(name, []).append(value)
    return await run_in_threadpool(_post, request, survey_key, form)
