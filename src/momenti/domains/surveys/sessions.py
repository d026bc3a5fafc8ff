"""A respondent's way through a survey, and how the answers reach the responses table.

Design (why not one write per page): the warehouse replica syncs responses and answers by monotonic id and
never sees a row changed after it was copied, and the answers of one respondent must stay in ONE response
(drivers, the loyalty battery and the price gap read several answers of the same response). So:

- each page's answers are saved in the respondent's session (`survey_sessions.answers`, JSON) as the page is
  submitted: nothing is lost when the respondent leaves or the server restarts;
- the response is written ONCE, when the session ends: on completion (partial = false), or, for a session
  left idle longer than `idle_minutes`, by the sweep (partial = true, with the answers of the pages
  submitted). The session's answers are then emptied (the response holds them, and its comments are masked
  when analysed: the session must not keep a plain copy). The session's status moves from open to
  complete | partial | empty in the same store transaction as the response write (UPDATE ... WHERE
  status = 'open'), so a session yields at most one response; its external id `survey:<key>:<token>` makes a
  repeated write a no-op in any case;
- a double submit or a reload posts a page the session has already passed: its answers are saved again
  (same values) and the respondent is sent to where the session is. A completed session shows the thanks page.

The sweep runs from `momenti survey sweep`, and from the public pages at most once a minute per process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.domains.context import Context
from momenti.domains.surveys.definition import Page, SurveyDefinition
from momenti.domains.surveys.definition import Question as Q
from momenti.domains.surveys.service import get_definition
from momenti.ingest.quick import QuickRows, write_quick
from momenti.ingest.write import StoreWriter
from momenti.store.models import SurveySession
from momenti.store.outbox import SURVEY_COMPLETED, emit
from momenti.store.raw import DbapiConnection

DEFAULT_IDLE_MINUTES = 60
MAX_TEXT = 2000  # characters kept of a free-text answer
MAX_HIDDEN = 200  # characters kept of a hidden field
CHANNEL = "web"  # responses collected on the public pages
T = SurveySession.__table__


def new_token() -> str:
    return secrets.token_urlsafe(18)


def link_session_token(survey_key: str, nonce: str) -> str:
    """A single-use link always maps to the same session: opening it again resumes, and two completions of
    the same link can never make two responses."""
    return "l" + hashlib.sha256(f"{survey_key}\x00{nonce}".encode()).hexdigest()[:40]


def external_id(survey_key: str, token: str) -> str:
    return f"survey:{survey_key}:{token}"


@dataclass
class SessionState:
    token: str
    survey_key: str
    version: int
    customer_key: str | None
    touchpoint: str
    hidden: dict[str, str]
    language: str
    answers: dict[str, Any]
    page: int
    trail: list[int]
    status: str
    link_token: str | None = None
    created_at: dt.datetime | None = None
    exists: bool = True

    @classmethod
    def from_row(cls, row: Any) -> SessionState:
        hidden = json.loads(row.hidden or "{}")
        link = hidden.pop("_link", None)  # the signed link, re-verified to consume it at completion
        return cls(row.token, row.survey_key, row.version, row.customer_key, row.touchpoint, hidden,
                   row.language, json.loads(row.answers or "{}"), row.page, json.loads(row.trail or "[]"),
                   row.status, link, row.created_at)


# -- conditional logic ---------------------------------------------------------------------------------


def visible_questions(page: Page, answers: Mapping[str, Any]) -> list[Q]:
    if page.show_if is not None and not page.show_if.holds(dict(answers)):
        return []
    return [q for q in page.questions if q.show_if is None or q.show_if.holds(dict(answers))]


def visible_pages(d: SurveyDefinition, answers: Mapping[str, Any]) -> list[int]:
    """Pages shown for these answers (a page whose questions are all hidden is skipped)."""
    return [i for i, page in enumerate(d.pages) if visible_questions(page, answers)]


def next_page(d: SurveyDefinition, after: int, answers: Mapping[str, Any]) -> int | None:
    return next((i for i in visible_pages(d, answers) if i > after), None)


def kept_answers(d: SurveyDefinition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers of questions shown for the final answers: a follow-up answered for a detractor and left
    behind when the respondent went back and changed the score to 10 is not written."""
    keep: dict[str, Any] = {}
    for i in visible_pages(d, answers):
        for q in visible_questions(d.pages[i], answers):
            if q.key in answers and answers[q.key] not in (None, "", []):
                keep[q.key] = answers[q.key]
    return keep


# -- reading a submitted page ----------------------------------------------------------------------------


@dataclass
class PageInput:
    values: dict[str, Any] = field(default_factory=dict)  # every visible question: value or None
    errors: dict[str, str] = field(default_factory=dict)  # question key -> error code


def parse_page(d: SurveyDefinition, index: int, form: Mapping[str, Sequence[str]], answers: Mapping[str, Any],
               check_required: bool = True) -> PageInput:
    """The answers to page `index` from a submitted form (field name = question key). Error codes:
    `required`, `invalid` (a value the page never offered: a tampered or stale form)."""
    out = PageInput()
    for q in visible_questions(d.pages[index], answers):
        raw = [v for v in form.get(q.key, []) if v is not None and str(v).strip() != ""]
        try:
            value = _value(q, raw)
        except ValueError:
            out.errors[q.key] = "invalid"
            continue
        if value in (None, []) and q.required and check_required:
            out.errors[q.key] = "required"
        out.values[q.key] = value
    return out


def _value(q: Q, raw: list[str]) -> Any:
    if q.type == "multiple":
        keys = [o.key for o in q.options or []]
        chosen = set(raw)
        if not chosen <= set(keys):
            raise ValueError(q.key)
        return [k for k in keys if k in chosen]
    if not raw:
        return None
    if len(raw) > 1:
        raise ValueError(q.key)
    text = str(raw[0]).strip()
    if q.type == "text":
        return text[:MAX_TEXT]
    if q.options is not None:  # single, price_switch
        if text not in {o.key for o in q.options}:
            raise ValueError(q.key)
        return text
    lo, hi = q.scale() or (0, 0)
    number = float(text)
    if not math.isfinite(number) or number != int(number) or not lo <= number <= hi:
        raise ValueError(q.key)
    return int(number)


# -- sessions in the store -------------------------------------------------------------------------------


def load_session(ws: Context, token: str) -> SessionState | None:
    with ws.engine.connect() as conn:
        row = conn.execute(select(T).where(T.c.token == token)).first()
    return SessionState.from_row(row) if row is not None else None


def _hidden_json(state: SessionState) -> str:
    doc = dict(state.hidden)
    if state.link_token:
        doc["_link"] = state.link_token
    return json.dumps(doc, ensure_ascii=False)


def save_session(ws: Context, state: SessionState, now: dt.datetime | None = None) -> SessionState:
    """Insert the session the first time, update it afterwards (only while open). Returns the stored state:
    a concurrent first submit of the same session (a double click) finds the row the other one inserted."""
    now = now or utcnow()
    values = {"answers": json.dumps(state.answers, ensure_ascii=False), "page": state.page,
              "trail": json.dumps(state.trail), "language": state.language, "updated_at": now}
    with ws.engine.begin() as conn:
        if not state.exists:
            try:
                with conn.begin_nested():
                    conn.execute(insert(T).values(
                        token=state.token, survey_key=state.survey_key, version=state.version,
                        customer_key=state.customer_key, touchpoint=state.touchpoint, hidden=_hidden_json(state),
                        link_nonce=None, status="open", response_external_id=None, created_at=now, **values))
                state.exists, state.created_at = True, now
                return state
            except IntegrityError:
                pass
        changed = conn.execute(update(T).where(T.c.token == state.token, T.c.status == "open").values(**values))
    if state.exists and changed.rowcount == 1:
        return state  # what was just written: no need to read it back
    stored = load_session(ws, state.token)  # inserted by a concurrent first submit, or no longer open
    assert stored is not None
    return stored


# -- writing the response ----------------------------------------------------------------------------------


def _store_time(value: dt.datetime, sqlite: bool) -> Any:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value


def _ids(conn: DbapiConnection, table: str, keys: list[str]) -> dict[str, int]:
    if not keys:
        return {}
    marks = ", ".join([conn.param] * len(keys))
    conn.cur.execute(f"SELECT key, id FROM {table} WHERE key IN ({marks})", keys)
    return {k: int(i) for k, i in conn.cur.fetchall()}


def answer_values(d: SurveyDefinition, state: SessionState) -> list[tuple[str, float | None, str | None]]:
    """(question key, value_num, value_text) of the response: the kept answers (multiple choice: the chosen
    option keys joined by ';', in the definition's order), the hidden fields, and `survey`/`survey_version`."""
    out: list[tuple[str, float | None, str | None]] = []
    for key, value in kept_answers(d, state.answers).items():
        q = d.question(key)
        if q.numeric:
            out.append((key, float(value), None))
        elif isinstance(value, list):
            out.append((key, None, ";".join(value)))
        else:
            out.append((key, None, str(value)))
    for key in d.hidden:
        value = state.hidden.get(key)
        if value not in (None, ""):
            out.append((key, None, str(value)[:MAX_HIDDEN]))
    out += [("survey", None, d.key), ("survey_version", None, str(state.version))]
    return out


def finish(ws: Context, state: SessionState, status: str, now: dt.datetime | None = None,
           idle_before: dt.datetime | None = None) -> bool:
    """End an open session with one response (status complete: partial = false; partial: partial = true;
    empty: no answers, no response). True when this call ended it; False when it had already ended (another
    request or the sweep got there first) or, with `idle_before`, it was touched since."""
    now = now or utcnow()
    d = get_definition(ws, state.survey_key, state.version)
    values = answer_values(d, state)
    ext = external_id(state.survey_key, state.token)
    with StoreWriter(DbapiConnection(ws.engine)) as writer, writer.locked("responses"):
        conn: DbapiConnection = writer.conn  # type: ignore[assignment]
        p = conn.param
        # The answers move to the response: the session keeps none (an ended session only shows the thanks
        # page), so a comment's original text is not left behind here once the response's is masked.
        sql = (f"UPDATE survey_sessions SET status = {p}, response_external_id = {p}, updated_at = {p}, "
               f"answers = '{{}}' WHERE token = {p} AND status = 'open'")
        args: list[Any] = [status, ext if status != "empty" else None, _store_time(now, conn.sqlite), state.token]
        if idle_before is not None:
            sql += f" AND updated_at < {p}"
            args.append(_store_time(idle_before, conn.sqlite))
        conn.cur.execute(sql, args)
        if conn.cur.rowcount != 1:
            return False
        if status == "empty":
            return True
        write_response(writer, ext, state.customer_key, state.survey_key, state.touchpoint, CHANNEL,
                       state.language, status == "partial", values, now)
        emit(conn, SURVEY_COMPLETED, {"survey": state.survey_key, "status": status, "response": ext})
    return True


def write_response(writer: StoreWriter, ext: str, customer: str | None, survey_key: str, touchpoint: str,
                   channel: str, language: str, partial: bool, values: list[tuple[str, float | None, str | None]],
                   now: dt.datetime) -> bool:
    """One survey response through the store's quick write path, inside the caller's transaction holding the
    responses table's lock (an anonymous answer has no customer, which a file import would refuse); answers
    whose key is not a question are left out. True if written, False if its external id was already there."""
    conn: DbapiConnection = writer.conn  # type: ignore[assignment]
    tps = _ids(conn, "touchpoints", [touchpoint])
    if touchpoint not in tps:
        raise InputError(f"touchpoint {touchpoint!r} of survey {survey_key} does not exist")
    qids = _ids(conn, "questions", [k for k, _, _ in values])
    fact = {"external_id": ext, "customer_key": customer, "touchpoint_id": tps[touchpoint], "submitted_at": now,
            "channel": channel, "language": language, "partial": partial}
    rows = QuickRows([ext], [fact], [(0, qids[k], num, txt) for k, num, txt in values if k in qids])
    (added, _), = write_quick(writer, "responses", [rows])
    return added == 1


def sweep(ws: Context, idle_minutes: float = DEFAULT_IDLE_MINUTES, now: dt.datetime | None = None) -> dict[str, int]:
    """End the sessions idle for longer than `idle_minutes`: those with answers become partial responses,
    the others are closed empty. Returns counts {partial, empty}. Safe to run at any time, from any process."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(minutes=idle_minutes)
    with ws.engine.connect() as conn:
        rows = conn.execute(select(T).where(T.c.status == "open", T.c.updated_at < cutoff)).all()
    counts = {"partial": 0, "empty": 0}
    for row in rows:
        state = SessionState.from_row(row)
        d = get_definition(ws, state.survey_key, state.version)
        kind = "partial" if kept_answers(d, state.answers) else "empty"
        if finish(ws, state, kind, now=now, idle_before=cutoff):
            counts[kind] += 1
    return counts

