"""What invitations, links and the widget need to know about a survey, read from the survey core's store tables
(`surveys`, `survey_versions`: see surveys/definition.py): whether it takes answers, its title in both languages,
its touchpoints, whether anonymous links are allowed, and its first NPS / CSAT question."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from momenti.clock import utcnow
from momenti.errors import InputError, NotFoundError
from momenti.store.models import Survey, SurveyVersion

if TYPE_CHECKING:
    from momenti.workspace import Workspace


@dataclass
class SurveyInfo:
    key: str
    status: str
    allow_anonymous: bool
    closes_at: dt.datetime | None
    version: int
    title: dict[str, str] = field(default_factory=dict)
    touchpoints: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    definition: dict[str, Any] = field(default_factory=dict)

    def open_at(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        return self.status == "live" and (self.closes_at is None or now < self.closes_at)

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("it") or self.key

    def widget_question(self, wanted: str | None = None) -> tuple[str, str, dict[str, str]]:
        """(answer key, kind, label by language) of the question the widget asks: the survey's first `wanted`
        (nps or csat) question, or its first nps or csat question; else the standard key of that kind."""
        for q in self._questions():
            kind = q.get("type")
            if kind in ("nps", "csat") and (wanted is None or wanted == kind):
                return str(q.get("key") or kind), kind, dict(q.get("text") or {})
        kind = wanted or "nps"
        return kind, kind, {}

    def _questions(self) -> list[dict[str, Any]]:
        return [q for page in self.definition.get("pages", []) for q in page.get("questions", [])]


def survey_info(ws: Workspace, key: str) -> SurveyInfo | None:
    with ws.session() as s:
        survey = s.execute(select(Survey).where(Survey.key == key)).scalar_one_or_none()
        if survey is None:
            return None
        version = s.execute(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id,
                                                        SurveyVersion.version == survey.current_version)
                            ).scalar_one_or_none()
    definition = dict(version.definition) if version is not None else {}
    return SurveyInfo(key=survey.key, status=survey.status, allow_anonymous=bool(survey.allow_anonymous),
                      closes_at=survey.closes_at, version=survey.current_version,
                      title=dict(definition.get("title") or {}), touchpoints=list(definition.get("touchpoints") or []),
                      hidden=list(definition.get("hidden") or []), definition=definition)


def require_survey(ws: Workspace, key: str, now: dt.datetime | None = None, live: bool = True) -> SurveyInfo:
    info = survey_info(ws, key)
    if info is None:
        raise NotFoundError(f"unknown survey {key!r}: apply it first (momenti survey apply survey.yaml)")
    if live and not info.open_at(now):
        state = "closed" if info.status == "live" else info.status
        raise InputError(f"survey {key!r} is {state}: it takes no answers, so nobody is invited to it")
    return info


def pick_touchpoint(info: SurveyInfo, touchpoint: str | None) -> str | None:
    if touchpoint is None:
        return info.touchpoints[0] if info.touchpoints else None
    if info.touchpoints and touchpoint not in info.touchpoints:
        raise InputError(f"touchpoint {touchpoint!r} is not one of survey {info.key!r}'s: "
                         f"{', '.join(info.touchpoints)}")
    return touchpoint
