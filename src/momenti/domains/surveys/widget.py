"""The website widget: a one-question NPS or CSAT (plus an optional comment) in an iframe, put on any page by
`widget.js`. The iframe page is plain server-rendered HTML (it works without JavaScript); its answers are
written as normal responses (the survey's own answer key, `comment`, and `survey` / `survey_version` as the
survey pages write them), so they show in every metric.

Fatigue: the widget is not shown to a customer the rules say to leave alone (opted out, contacted within
MOMENTI_FATIGUE_DAYS, outside the sample), nor again after an answer (a cookie in the iframe, and a flag in
the host page's localStorage for browsers that block third-party cookies). An answer from a known customer is
recorded as a contact (an invitation with channel `widget`), so no e-mail follows it within the fatigue window.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from momenti.core.errors import InputError
from momenti.domains.surveys import fatigue, links
from momenti.domains.surveys.invite_survey import SurveyInfo, pick_touchpoint, require_survey
from momenti.domains.surveys.sessions import write_response as write_response_row
from momenti.domains.surveys.texts import pick_language
from momenti.ingest.specs import SCORE_SCALES
from momenti.ingest.write import StoreWriter
from momenti.store.models import Invitation, Question
from momenti.store.raw import DbapiConnection

if TYPE_CHECKING:
    from momenti.domains.context import Context

MAX_COMMENT = 2000
COMMENT_KEY = "comment"  # the usual free-text key (the demo's too): text analytics read it with the rest
_SID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CUSTOMER = re.compile(r"^[^\x00-\x1f]{1,200}$")
TEXTS = {
    "it": {"nps": "Quanto consiglierebbe {title} a un amico o a un collega?", "csat": "Quanto è soddisfatto?",
           "low_nps": "0 = per niente probabile", "high_nps": "10 = estremamente probabile",
           "low_csat": "1 = per niente soddisfatto", "high_csat": "5 = molto soddisfatto",
           "comment": "Vuole dirci perché? (facoltativo)", "send": "Invia", "thanks": "Grazie della risposta!",
           "required": "Scelga un punteggio prima di inviare.",
           "busy": "Troppe risposte in poco tempo: riprovi tra poco.",
           "closed": "Questo questionario non accetta più risposte.", "invalid": "Questo link non è valido.",
           "hp": "Non compilare questo campo"},
    "en": {"nps": "How likely are you to recommend {title} to a friend or colleague?", "csat": "How satisfied are you?",
           "low_nps": "0 = not at all likely", "high_nps": "10 = extremely likely",
           "low_csat": "1 = not at all satisfied", "high_csat": "5 = very satisfied",
           "comment": "Would you like to tell us why? (optional)", "send": "Send",
           "thanks": "Thank you for your answer!",
           "required": "Choose a score before sending.", "busy": "Too many answers in a short time: try again shortly.",
           "closed": "This survey no longer takes answers.", "invalid": "This link is not valid.",
           "hp": "Do not fill in this field"},
}


def cookie_name(survey_key: str) -> str:
    return f"mw_{survey_key}"


@dataclass
class WidgetView:
    info: SurveyInfo
    kind: str  # nps | csat
    answer_key: str
    label: str
    lang: str
    touchpoint: str | None
    customer: str | None = None
    token: str | None = None
    claims: links.LinkClaims | None = None
    sid: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def scale(self) -> range:
        lo, hi = SCORE_SCALES[self.kind]
        return range(lo, hi + 1)

    def texts(self) -> dict[str, str]:
        t = dict(TEXTS[self.lang])
        t["low"], t["high"] = t[f"low_{self.kind}"], t[f"high_{self.kind}"]
        return t


def resolve(ws: Context, survey_key: str, *, lang: str | None = None, customer: str | None = None,
            token: str | None = None, touchpoint: str | None = None, question: str | None = None,
            sid: str | None = None, accept_language: str | None = None,
            now: dt.datetime | None = None) -> WidgetView:
    """Who and what the widget is about. Raises NotFoundError (unknown survey), InputError (closed survey,
    bad parameter) or LinkInvalid / LinkExpired (a bad token)."""
    info = require_survey(ws, survey_key, now)
    if question not in (None, "", "nps", "csat"):
        raise InputError(f"question {question!r}: the widget asks nps or csat")
    claims = None
    if token:
        claims = links.verify(token, links.secret_keys(ws.settings), now=now)
        if claims.survey != info.key:
            raise links.LinkInvalid("this link belongs to another survey")
        customer, touchpoint = claims.customer_id, claims.touchpoint or touchpoint
    elif customer is not None and not _CUSTOMER.match(customer):
        raise InputError("customer id: 1 to 200 printable characters")
    if not customer and not claims and not info.allow_anonymous:
        raise links.LinkInvalid("this survey needs a personal link")
    language = pick_language(lang, claims.lang if claims else None, accept_language=accept_language)
    answer_key, kind, labels = info.widget_question(question or None)
    label = labels.get(language) or TEXTS[language][kind].format(title=info.title_in(language))
    view = WidgetView(info=info, kind=kind, answer_key=answer_key, label=label, lang=language,
                      touchpoint=pick_touchpoint(info, touchpoint or None), customer=customer or None,
                      token=token or None, claims=claims)
    if claims is not None and claims.single_use:
        view.sid = f"l-{claims.nonce}"  # one response per single-use link, whatever the form says
    elif sid:
        if not _SID.match(sid):
            raise InputError("malformed form: reload the page")
        view.sid = sid
    return view


def hidden_reason(ws: Context, view: WidgetView, cookies: dict[str, str],
                  now: dt.datetime | None = None) -> str | None:
    """Why the widget shows nothing to this visitor (None: show it)."""
    if cookies.get(cookie_name(view.info.key)):
        return "answered"
    if view.claims is not None and links.is_consumed(ws, view.claims):
        return "answered"
    if view.customer:
        return fatigue.check(ws, view.customer, view.info.key, now)
    return None


def parse_score(view: WidgetView, value: Any) -> int | None:
    try:
        score = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return score if score in view.scale else None


def _ensure_comment_question(ws: Context) -> None:
    """The survey's own answer keys (its question, `survey`, `survey_version`) exist since it was applied;
    `comment` is created as free text the first time a widget needs it."""
    with ws.session() as s:
        if s.scalar(select(Question.id).where(Question.key == COMMENT_KEY)) is not None:
            return
    try:
        with ws.session() as s, s.begin():
            s.add(Question(key=COMMENT_KEY, kind="text"))
    except IntegrityError:  # another request created it first
        pass


def write_response(ws: Context, view: WidgetView, score: int, comment: str | None, now: dt.datetime) -> bool:
    """Write the answer as a normal response, as the survey pages do (sessions.write_response). Its external id
    comes from the form's session id, so a double submit or a reloaded POST is recognised as the same
    response. True if written, False if it was already there."""
    values: list[tuple[str, float | None, str | None]] = [
        (view.answer_key, float(score), None), ("survey", None, view.info.key),
        ("survey_version", None, str(view.info.version))]
    if comment:
        values.append((COMMENT_KEY, None, comment[:MAX_COMMENT]))
    if view.claims is not None:
        values += [(k, None, str(v)[:200]) for k, v in view.claims.hidden.items() if k in view.info.hidden]
    if comment:
        _ensure_comment_question(ws)
    with StoreWriter(DbapiConnection(ws.engine)) as writer, writer.locked("responses"):
        return write_response_row(writer, f"widget:{view.info.key}:{view.sid}", view.customer, view.info.key,
                                  view.touchpoint, "web", view.lang, False, values, now)


def record_contact(ws: Context, view: WidgetView, now: dt.datetime) -> None:
    """After an answer: consume a single-use link, and count the answer as a contact of a known customer."""
    if view.claims is not None:
        links.consume(ws, view.claims, now)
    if not view.customer:
        return
    row = {"survey_key": view.info.key, "customer_key": view.customer, "language": view.lang, "channel": "widget",
           "touchpoint": view.touchpoint, "trigger_event": f"widget:{view.sid}",
           "link_nonce": view.claims.nonce if view.claims else None, "status": "answered", "created_at": now,
           "planned_at": now, "sent_at": now}
    try:
        with ws.engine.begin() as conn:
            conn.execute(insert(Invitation), [row])
    except IntegrityError:  # the same form posted twice
        pass
