"""What invitations, links and the widget need to know about a survey, read from the survey core's store tables
(`surveys`, `survey_versions`: see surveys/definition.py): whether it takes answers, its title in both languages,
its touchpoints, whether anonymous links are allowed, and its first NPS / CSAT question."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from momenti.core.errors import InputError, NotFoundError
from momenti.domains.surveys.definition import SurveyDefinition
from momenti.domains.surveys.service import LiveSurvey, get_live

if TYPE_CHECKING:
    from momenti.domains.context import Context


@dataclass(frozen=True)
class SurveyInfo:
    """A survey's store row and its current definition, as the survey pages read them (service.get_live: one
    query, the parsed definition cached per version)."""

    survey: LiveSurvey
    definition: SurveyDefinition

    @property
    def key(self) -> str:
        return self.survey.key

    @property
    def allow_anonymous(self) -> bool:
        return bool(self.survey.allow_anonymous)

    @property
    def version(self) -> int:
        return self.survey.version

    @property
    def touchpoints(self) -> list[str]:
        return list(self.definition.touchpoints)

    @property
    def hidden(self) -> list[str]:
        return list(self.definition.hidden)

    def open_at(self, now: dt.datetime | None = None) -> bool:
        return self.survey.is_open(now)

    def title_in(self, lang: str) -> str:
        return self.definition.title.get(lang)

    def widget_question(self, wanted: str | None = None) -> tuple[str, str, dict[str, str]]:
        """(answer key, kind, label by language) of the question the widget asks: the survey's first `wanted`
        (nps or csat) question, or its first nps or csat question; else the standard key of that kind."""
        for q in self.definition.questions():
            if q.type in ("nps", "csat") and (wanted is None or wanted == q.type):
                return q.key, q.type, q.text.model_dump()
        kind = wanted or "nps"
        return kind, kind, {}


def require_survey(ws: Context, key: str, now: dt.datetime | None = None, live: bool = True) -> SurveyInfo:
    try:
        info = SurveyInfo(*get_live(ws, key))
    except NotFoundError:
        raise NotFoundError(f"unknown survey {key!r}: apply it first (momenti survey apply survey.yaml)") from None
    if live and not info.open_at(now):
        state = "closed" if info.survey.status == "live" else info.survey.status
        raise InputError(f"survey {key!r} is {state}: it takes no answers, so nobody is invited to it")
    return info


def pick_touchpoint(info: SurveyInfo, touchpoint: str | None) -> str | None:
    if touchpoint is None:
        return info.touchpoints[0] if info.touchpoints else None
    if info.touchpoints and touchpoint not in info.touchpoints:
        raise InputError(f"touchpoint {touchpoint!r} is not one of survey {info.key!r}'s: "
                         f"{', '.join(info.touchpoints)}")
    return touchpoint
