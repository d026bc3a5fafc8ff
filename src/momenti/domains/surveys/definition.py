"""Survey definitions: the YAML a user writes, validated into pydantic models.

A survey has a key, texts in Italian and English (title, intro, thanks), the touchpoints it is attached to,
hidden fields carried from the link or the query string, and pages (question groups) of questions. Each
question's `key` is the answer key in the `answers` table: `nps`, `csat` and `ces` are the standard metrics.
Conditions (`show_if`) on a page or a question refer to answers of EARLIER pages: a page is rendered on the
server without JavaScript, so a condition on the same page could not be evaluated before it is submitted.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from momenti.core.documents import read_yaml
from momenti.core.errors import InputError
from momenti.domains.surveys.catalog import TEMPLATES, template_text  # noqa: F401 - where callers have imported them
from momenti.ingest.specs import SCORE_SCALES

LANGS = ("it", "en")
LANG_NAMES = {"it": "Italian (it)", "en": "English (en)"}
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SURVEY_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Written with every response next to the answers: which survey and version it was given under.
SYSTEM_KEYS = ("survey", "survey_version")
# Names of response columns (an answer key equal to one would be read as the column on import).
RESERVED_KEYS = {"response_id", "customer_id", "touchpoint", "submitted_at", "channel", "language", "partial",
                 "website", "sid", "action", "p", "t", "lang", *SYSTEM_KEYS}
PRICE_LEVELS = ("5", "10", "15", "25", "50", "never")  # the loyalty analyses' default levels (loyalty_price.py)
FIXED_SCALES = SCORE_SCALES  # the score kinds keep the scales every import and metric checks
# Store question kind of each question type (questions.kind): numbers in value_num, the rest in value_text.
STORE_KIND = {"nps": "nps", "csat": "csat", "ces": "ces", "rating": "rating", "agree": "rating",
              "single": "choice", "multiple": "choice", "price_switch": "choice", "text": "text"}

QuestionType = Literal["nps", "csat", "ces", "rating", "single", "multiple", "text", "agree", "price_switch"]


class I18n(BaseModel):
    """A text in both languages: each is required (every public page exists in Italian and English)."""

    model_config = ConfigDict(extra="forbid")
    it: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.it


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    text: I18n

    @field_validator("key", mode="before")
    @classmethod
    def _key_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class Condition(BaseModel):
    """Show when the answer to `question` is one of `in` (numbers, option keys, or ranges "0..6"), or is not
    one of `not_in`. An unanswered question satisfies neither: the page or question is not shown."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    question: str
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> Condition:
        if (self.in_ is None) == (self.not_in is None):
            raise ValueError("give exactly one of `in` or `not_in`")
        return self

    def _matches(self, value: Any, items: list[Any]) -> bool:
        values = value if isinstance(value, list) else [value]
        for item in items:
            text = str(item)
            if ".." in text:
                lo, _, hi = text.partition("..")
                try:
                    if any(float(lo) <= float(v) <= float(hi) for v in values):
                        return True
                except (TypeError, ValueError):
                    continue
            elif any(str(v) == text or _same_number(v, item) for v in values):
                return True
        return False

    def holds(self, answers: dict[str, Any]) -> bool:
        value = answers.get(self.question)
        if value is None or value == [] or value == "":
            return False
        if self.in_ is not None:
            return self._matches(value, self.in_)
        return not self._matches(value, self.not_in or [])


def _same_number(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=100)
    type: QuestionType
    text: I18n
    help: I18n | None = None
    required: bool = False
    options: list[Option] | None = None  # single, multiple (price_switch: its levels, defaulted)
    min: int | None = None  # rating: lowest point (default 1)
    max: int | None = None  # rating: highest point (default 5); agree: number of points via `points`
    points: int | None = None  # agree: 5 or 7 (default 5)
    low_label: I18n | None = None  # the meaning of the lowest point of a scale
    high_label: I18n | None = None
    show_if: Condition | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not KEY_RE.match(v):
            raise ValueError(f"{v!r}: use lower-case letters, digits and _ (starting with a letter)")
        if v in RESERVED_KEYS:
            raise ValueError(f"{v!r} is reserved (a response column or a field momenti writes itself)")
        return v

    @model_validator(mode="after")
    def _shape(self) -> Question:
        t = self.type
        if self.key in FIXED_SCALES and t != self.key:
            raise ValueError(f"key {self.key!r} is the standard {self.key.upper()} metric: its type must be "
                             f"{self.key}")
        if t in ("single", "multiple"):
            if not self.options or len(self.options) < 2:
                raise ValueError(f"a {t} question needs at least two options")
        elif t == "price_switch":
            if self.options is None:
                self.options = default_price_options()
        elif self.options is not None:
            raise ValueError(f"a {t} question has no options")
        if self.options is not None:
            keys = [o.key for o in self.options]
            dup = sorted({k for k in keys if keys.count(k) > 1})
            if dup:
                raise ValueError(f"option keys repeated: {', '.join(dup)}")
        if t == "rating":
            lo, hi = self.min if self.min is not None else 1, self.max if self.max is not None else 5
            if not 0 <= lo < hi or hi - lo > 10:
                raise ValueError(f"rating scale {lo}..{hi}: give 0 <= min < max with at most 11 points")
            self.min, self.max = lo, hi
        elif t == "agree":
            self.points = self.points or 5
            if self.points not in (5, 7):
                raise ValueError("an agree scale has 5 or 7 points")
        elif self.min is not None or self.max is not None:
            raise ValueError(f"min/max apply to rating questions only ({t} has a fixed scale)")
        return self

    @property
    def store_kind(self) -> str:
        return STORE_KIND[self.type]

    @property
    def numeric(self) -> bool:
        return self.store_kind not in ("choice", "text")

    def scale(self) -> tuple[int, int] | None:
        if self.type in FIXED_SCALES:
            return FIXED_SCALES[self.type]
        if self.type == "rating":
            return (self.min or 0, self.max or 5)
        if self.type == "agree":
            return (1, self.points or 5)
        return None


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str | None = None
    title: I18n | None = None
    show_if: Condition | None = None
    questions: list[Question] = Field(min_length=1)


class SurveyDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=100)
    title: I18n
    intro: I18n | None = None
    thanks: I18n
    touchpoints: list[str] = Field(min_length=1)
    allow_anonymous: bool = True
    closes_at: datetime | None = None
    status: Literal["draft", "live", "closed"] | None = None  # None: new surveys go live; others keep theirs
    hidden: list[str] = Field(default_factory=list)
    pages: list[Page] = Field(min_length=1)

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not SURVEY_KEY_RE.match(v):
            raise ValueError(f"{v!r}: use lower-case letters, digits and - (it appears in the page address)")
        return v

    @field_validator("hidden")
    @classmethod
    def _hidden(cls, v: list[str]) -> list[str]:
        for k in v:
            if not KEY_RE.match(k) or k in RESERVED_KEYS:
                raise ValueError(f"hidden field {k!r}: use lower-case letters, digits and _, not a reserved name")
        return v

    @model_validator(mode="after")
    def _keys(self) -> SurveyDefinition:
        seen: dict[str, int] = {}
        for p, page in enumerate(self.pages):
            for cond, where in [(page.show_if, f"pages[{p}].show_if"),
                                *[(q.show_if, f"pages[{p}].questions[{i}].show_if")
                                  for i, q in enumerate(page.questions)]]:
                if cond is None:
                    continue
                if cond.question not in seen:
                    raise ValueError(f"{where}: question {cond.question!r} is not on an earlier page (a condition "
                                     "can only use answers already submitted)")
            for q in page.questions:
                if q.key in seen or q.key in self.hidden:
                    raise ValueError(f"question key {q.key!r} is used twice (keys must be unique in a survey, "
                                     "hidden fields included)")
                seen[q.key] = p
        if len(set(self.hidden)) != len(self.hidden):
            raise ValueError("hidden fields repeated")
        return self

    # -- helpers ---------------------------------------------------------------------------------

    def questions(self) -> list[Question]:
        return [q for page in self.pages for q in page.questions]

    def question(self, key: str) -> Question:
        return next(q for q in self.questions() if q.key == key)

    def canonical(self) -> dict[str, Any]:
        """The definition as stored: JSON types, defaults filled, `status` left out (it is not content)."""
        return self.model_dump(mode="json", by_alias=True, exclude={"status"}, exclude_none=True)

    def digest(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def default_price_options() -> list[Option]:
    opts = [Option(key=v, text=I18n(it=f"{v} %", en=f"{v}%")) for v in PRICE_LEVELS[:-1]]
    return [*opts, Option(key="never", text=I18n(it="Non cambierei mai", en="I would never switch"))]


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "survey"


def _message(err: dict[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    if loc and loc[-1] in LANGS and err.get("type") in ("missing", "string_too_short"):
        return f"{_where(loc[:-1])}: missing {LANG_NAMES[loc[-1]]} translation"
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "missing":
        msg = "required"
    return f"{_where(loc)}: {msg}"


def load_survey(source: str | Path | dict[str, Any], name: str | None = None) -> SurveyDefinition:
    """A validated definition from a YAML file, YAML text or a dict. InputError lists every problem, each
    naming its place (e.g. `pages[0].questions[1].text: missing English (en) translation`)."""
    doc, label = read_yaml(source, name, "<survey>")
    if not isinstance(doc, dict):
        raise InputError(f"{label}: a survey is a mapping with key, title, thanks, touchpoints and pages")
    try:
        return SurveyDefinition.model_validate(doc)
    except ValidationError as exc:
        lines = [_message(e) for e in exc.errors()]  # type: ignore[arg-type]
        raise InputError(f"{label}: " + "; ".join(dict.fromkeys(lines))) from None


def template(name: str) -> SurveyDefinition:
    return load_survey(template_text(name), name=f"template {name}")
