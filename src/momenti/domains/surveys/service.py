"""Surveys in the store: apply a definition (create, or a new version when it changed), list, show, close.

Versions are immutable: applying a changed definition adds version n+1 and makes it current; respondents
already under way finish on the version they started with (their session records it), and every response
carries the version it was given under as the answer `survey_version` (with the survey key as `survey`), so
old answers keep their meaning and can be told apart in the warehouse.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from momenti.core.clock import naive_utc, utcnow
from momenti.core.errors import InputError, NotFoundError
from momenti.domains.context import Context
from momenti.domains.surveys.definition import SYSTEM_KEYS, SurveyDefinition, load_survey
from momenti.store.models import Question, Survey, SurveyVersion, Touchpoint

NUMERIC_KINDS = {"nps", "csat", "ces", "rating"}


@dataclass(frozen=True)
class ApplyResult:
    key: str
    version: int
    created: bool  # a new survey
    changed: bool  # a new version was added (always True for a new survey)
    status: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LiveSurvey:
    """What the public pages need about a survey, read in one query."""

    key: str
    status: str
    allow_anonymous: bool
    closes_at: dt.datetime | None
    version: int

    def is_open(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        return self.status == "live" and (self.closes_at is None or now < self.closes_at)


def _question_specs(d: SurveyDefinition) -> list[tuple[str, str, float | None, float | None, dict | None]]:
    """(key, store kind, scale_min, scale_max, label) of every answer key a response of `d` can carry."""
    out = []
    for q in d.questions():
        lo_hi = q.scale()
        out.append((q.key, q.store_kind, *(lo_hi or (None, None)), q.text.model_dump()))
    out += [(h, "choice", None, None, None) for h in d.hidden]
    out += [(k, "choice", None, None, None) for k in SYSTEM_KEYS]
    return out


def _compatible(existing: str, wanted: str) -> bool:
    if wanted in ("nps", "csat", "ces") or existing in ("nps", "csat", "ces"):
        return existing == wanted
    return (existing in NUMERIC_KINDS) == (wanted in NUMERIC_KINDS)


def ensure_questions(s: Session, d: SurveyDefinition) -> list[str]:
    """Create the answer keys the survey writes (questions table); refuse a key that exists with another kind
    (its answers would be read on another scale). Returns the keys created."""
    have = {q.key: q for q in s.scalars(select(Question))}
    created, problems = [], []
    for key, kind, lo, hi, label in _question_specs(d):
        q = have.get(key)
        if q is None:
            s.add(Question(key=key, kind=kind, scale_min=lo, scale_max=hi, label=label))
            created.append(key)
        elif not _compatible(q.kind, kind):
            problems.append(f"question {key!r} already holds {q.kind} answers; a {kind} question needs another key")
    if problems:
        raise InputError(f"survey {d.key}: " + "; ".join(problems))
    return created


def _check_touchpoints(s: Session, d: SurveyDefinition) -> None:
    known = set(s.scalars(select(Touchpoint.key).where(Touchpoint.archived.is_(False))))
    missing = [t for t in d.touchpoints if t not in known]
    if missing:
        raise InputError(f"survey {d.key}: touchpoints: unknown touchpoint {', '.join(missing)} "
                         "(apply the journey first: momenti journey show lists the keys)")


def apply_survey(ws: Context, definition: SurveyDefinition | dict | str, sync: bool = True) -> ApplyResult:
    """Create the survey, or add a new version when the definition changed (same definition: nothing)."""
    d = definition if isinstance(definition, SurveyDefinition) else load_survey(definition)
    now = utcnow()
    with ws.session() as s, s.begin():
        _check_touchpoints(s, d)
        new_keys = ensure_questions(s, d)
        survey = s.scalar(select(Survey).where(Survey.key == d.key).with_for_update())
        created = survey is None
        if survey is None:
            survey = Survey(key=d.key, status=d.status or "live", allow_anonymous=d.allow_anonymous,
                            closes_at=naive_utc(d.closes_at), current_version=0, created_at=now, updated_at=now)
            s.add(survey)
            s.flush()
        current = s.scalar(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id,
                                                       SurveyVersion.version == survey.current_version))
        digest = d.digest()
        changed = current is None or current.digest != digest
        if changed:
            survey.current_version += 1
            s.add(SurveyVersion(survey_id=survey.id, version=survey.current_version, definition=d.canonical(),
                                digest=digest, created_at=now))
        if d.status is not None:
            survey.status = d.status
        survey.allow_anonymous = d.allow_anonymous
        survey.closes_at = naive_utc(d.closes_at)
        survey.updated_at = now
        result = ApplyResult(d.key, survey.current_version, created, changed, survey.status)
    _forget(d.key)
    if sync and new_keys:
        ws.sync()  # the warehouse's questions dimension (kinds decide which answers feed the score rollup)
    return result


def get_survey(ws: Context, key: str) -> LiveSurvey:
    with ws.engine.connect() as conn:
        row = conn.execute(select(Survey.key, Survey.status, Survey.allow_anonymous, Survey.closes_at,
                                  Survey.current_version).where(Survey.key == key)).first()
    if row is None:
        raise NotFoundError(f"no survey {key!r}")
    return LiveSurvey(*row)


def get_live(ws: Context, key: str) -> tuple[LiveSurvey, SurveyDefinition]:
    """The survey and its current definition; NotFoundError when unknown (closed surveys are returned too:
    the caller shows the polite closed page)."""
    info = get_survey(ws, key)
    return info, get_definition(ws, key, info.version)


# Versions never change once written, so a parsed definition can be kept for the life of the process.
_CACHE: dict[tuple[str, str, int], SurveyDefinition] = {}
_CACHE_LOCK = threading.Lock()


def _forget(key: str) -> None:
    with _CACHE_LOCK:
        for k in [k for k in _CACHE if k[1] == key]:
            del _CACHE[k]  # a store rebuilt under the same key (tests) must not see stale versions


def get_definition(ws: Context, key: str, version: int) -> SurveyDefinition:
    cache_key = (ws.store_url, key, version)
    hit = _CACHE.get(cache_key)
    if hit is not None:
        return hit
    with ws.engine.connect() as conn:
        doc = conn.execute(select(SurveyVersion.definition).join(Survey, Survey.id == SurveyVersion.survey_id)
                           .where(Survey.key == key, SurveyVersion.version == version)).scalar()
    if doc is None:
        raise NotFoundError(f"survey {key!r} has no version {version}")
    d = SurveyDefinition.model_validate(doc)
    with _CACHE_LOCK:
        _CACHE[cache_key] = d
    return d


def list_surveys(ws: Context) -> pd.DataFrame:
    """key, title_it, title_en, status, version (current), touchpoints, questions, allow_anonymous, closes_at,
    updated_at."""
    cols = ["key", "title_it", "title_en", "status", "version", "touchpoints", "questions",
            "allow_anonymous", "closes_at", "updated_at"]
    rows = []
    with ws.session() as s:
        for survey in s.scalars(select(Survey).order_by(Survey.key)):
            d = get_definition(ws, survey.key, survey.current_version)
            rows.append({"key": survey.key, "title_it": d.title.it, "title_en": d.title.en,
                         "status": survey.status, "version": survey.current_version,
                         "touchpoints": ",".join(d.touchpoints),
                         "questions": len(d.questions()), "allow_anonymous": survey.allow_anonymous,
                         "closes_at": survey.closes_at, "updated_at": survey.updated_at})
    return pd.DataFrame(rows, columns=cols)


def show_survey(ws: Context, key: str, version: int | None = None) -> dict[str, Any]:
    """Status and one version's definition (default: the current one), with the list of versions."""
    info = get_survey(ws, key)
    with ws.engine.connect() as conn:
        versions = [{"version": v, "created_at": c.isoformat()} for v, c in conn.execute(
            select(SurveyVersion.version, SurveyVersion.created_at).join(Survey, Survey.id == SurveyVersion.survey_id)
            .where(Survey.key == key).order_by(SurveyVersion.version))]
    d = get_definition(ws, key, version or info.version)
    return {"key": key, "status": info.status, "allow_anonymous": info.allow_anonymous,
            "closes_at": info.closes_at.isoformat() if info.closes_at else None,
            "current_version": info.version, "version": version or info.version, "versions": versions,
            "definition": d.canonical()}


def questions_frame(d: SurveyDefinition) -> pd.DataFrame:
    """One row per question: page, key, type, required, scale, options, condition, text_it, text_en."""
    rows = []
    for p, page in enumerate(d.pages, start=1):
        for q in page.questions:
            cond = q.show_if or page.show_if
            rows.append({"page": p, "key": q.key, "type": q.type, "required": q.required,
                         "scale": "{}-{}".format(*q.scale()) if q.scale() else "",
                         "options": ",".join(o.key for o in q.options or []),
                         "show_if": (f"{cond.question} {'in' if cond.in_ is not None else 'not in'} "
                                     f"{cond.in_ if cond.in_ is not None else cond.not_in}") if cond else "",
                         "text_it": q.text.it, "text_en": q.text.en})
    return pd.DataFrame(rows)


def set_status(ws: Context, key: str, status: str) -> LiveSurvey:
    if status not in ("draft", "live", "closed"):
        raise InputError(f"status {status!r}: draft, live or closed")
    with ws.session() as s, s.begin():
        survey = s.scalar(select(Survey).where(Survey.key == key))
        if survey is None:
            raise NotFoundError(f"no survey {key!r}")
        survey.status = status
        survey.updated_at = utcnow()
    return get_survey(ws, key)


def close_survey(ws: Context, key: str) -> LiveSurvey:
    """Stop taking answers: the public page says the survey is closed; answers already given stay."""
    return set_status(ws, key, "closed")
