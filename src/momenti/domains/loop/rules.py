"""Alert rules: the YAML document, its validation, and its versions in the store (`momenti rules apply`).

One document holds the rules, the SLA policies they open cases under, the business calendar and the
root-cause taxonomy. Applying a changed document adds a version (like a survey's definition); an unchanged one
adds nothing. A version acts on the outbox's events written after it was applied (`from_event_id`): switching a
rule on never opens cases for last year's detractors; `momenti rules test --from` shows what it would have done.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.documents import read_yaml
from momenti.core.errors import InputError
from momenti.domains.loop.calendar import BusinessCalendar
from momenti.domains.loop.sla import SlaPolicy
from momenti.store.loop import RuleVersion

PRIORITIES = ("low", "normal", "high", "urgent")
METRICS = ("nps", "csat", "ces", "rating")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentCondition(_Strict):
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    topics: list[str] = Field(default_factory=list)  # any of them


class ResponseCondition(_Strict):
    metric: Literal["nps", "csat", "ces", "rating"] = "nps"
    at_most: float | None = None
    at_least: float | None = None
    moments_of_truth: bool = False  # only at touchpoints the journey map declares moments of truth
    touchpoints: list[str] = Field(default_factory=list)  # empty: every touchpoint
    comment: CommentCondition | None = None

    @model_validator(mode="after")
    def _bound(self) -> ResponseCondition:
        if self.at_most is None and self.at_least is None:
            raise ValueError("a score condition needs at_most or at_least")
        return self


class FeedbackCondition(_Strict):
    sentiment: Literal["negative", "neutral", "positive"] = "negative"
    topics: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


class RepeatCondition(_Strict):
    count: int = Field(default=3, ge=2)  # this many contacts for the same reason ...
    within_days: float = Field(default=7, gt=0)  # ... within this many days
    reasons: list[str] = Field(default_factory=list)  # empty: any reason


class ChannelSwitch(_Strict):
    """A customer turning to an assisted channel soon after a self-service step failed."""

    from_channels: list[str] = Field(default_factory=lambda: ["app", "web"])
    to_channels: list[str] = Field(default_factory=lambda: ["phone", "branch", "chat"])
    within_hours: float = Field(default=24, gt=0)
    failed_outcomes: list[str] = Field(default_factory=lambda: ["failed", "abandoned", "error"])
    failed_activities: list[str] = Field(  # substrings of the activity's name, any case
        default_factory=lambda: ["fallit", "failed", "errore", "error", "bloccat", "blocked"])


class MetricDrop(_Strict):
    """A touchpoint's score falling significantly from one period to the next (the `compare` test)."""

    metric: Literal["nps", "csat", "ces"] = "nps"
    period: Literal["week", "month"] = "month"
    moments_of_truth: bool = False
    touchpoints: list[str] = Field(default_factory=list)
    min_drop: float = Field(default=0, ge=0)  # and by at least this much (points of the metric's scale)


class OpenCase(_Strict):
    team: str = "owner"  # "owner": the touchpoint's owner team in the journey map
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    sla: str = "standard"


class Notify(_Strict):
    email: list[str] = Field(default_factory=list)  # "team", "owner" or addresses
    webhooks: bool = True  # the rule's events go to the endpoints subscribed to them
    digest: Literal["immediate", "daily"] = "immediate"
    max_per_hour: int | None = Field(default=None, ge=1)  # per user; beyond it the rest waits for the digest
    quiet_hours: str | None = Field(default=None, pattern=r"^\d\d:\d\d-\d\d:\d\d$")  # "21:00-08:00" local


class Rule(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    name: dict[str, str] = Field(default_factory=dict)  # {it: ..., en: ...}
    on: Literal["response", "feedback", "events", "metric"]
    enabled: bool = True
    response: ResponseCondition | None = None
    feedback: FeedbackCondition | None = None
    repeat_contacts: RepeatCondition | None = None
    channel_switch: ChannelSwitch | None = None
    metric_drop: MetricDrop | None = None
    max_age_days: float = Field(default=14, gt=0)  # older triggers (a late import) open no case
    open_case: OpenCase | None = None
    notify: Notify | None = None

    @model_validator(mode="after")
    def _condition(self) -> Rule:
        fields = {"response": "response", "feedback": "feedback", "events": "repeat_contacts", "metric": "metric_drop"}
        if self.on == "events" and (self.repeat_contacts is None) == (self.channel_switch is None):
            raise ValueError("a rule on events needs one condition: `repeat_contacts:` or `channel_switch:`")
        if self.on != "events" and getattr(self, fields[self.on]) is None:
            field = fields[self.on]
            raise ValueError(f"a rule on {self.on} needs its condition `{field}:`")
        if self.open_case is None and self.notify is None:
            raise ValueError("a rule needs an action: open_case, notify, or both")
        return self

    def label(self, lang: str = "en") -> str:
        return self.name.get(lang) or self.name.get("en") or self.name.get("it") or self.key


class RootCause(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    label: dict[str, str] = Field(default_factory=dict)


class Recovery(_Strict):
    """The survey sent to the customer when a case is resolved (its answer is linked to the case)."""

    survey: str | None = None  # a live survey with a hidden `case_id` field (template complaint-recovery)
    on: Literal["resolved", "closed"] = "resolved"
    rules: list[str] = Field(default_factory=list)  # only cases of these rules (empty: every rule)


class RulesDocument(_Strict):
    calendar: dict[str, Any] = Field(default_factory=dict)
    recovery: Recovery = Field(default_factory=Recovery)
    sla_policies: list[dict[str, Any]] = Field(default_factory=list)
    root_causes: list[RootCause] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> RulesDocument:
        keys = [r.key for r in self.rules]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"rule keys repeated: {', '.join(dup)}")
        names = set(self.policies())
        for r in self.rules:
            if r.open_case and r.open_case.sla not in names:
                raise ValueError(f"rule {r.key}: SLA policy {r.open_case.sla!r} is not defined "
                                 f"(sla_policies: {', '.join(sorted(names))})")
        return self

    def business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_dict(self.calendar) if self.calendar else BusinessCalendar()

    def policies(self) -> dict[str, SlaPolicy]:
        """The SLA policies by name; 'standard' (48 h to first contact, 120 h to resolution) always exists."""
        cal = self.calendar
        out = {"standard": SlaPolicy.from_dict({"name": "standard", **({"calendar": cal} if cal else {})})}
        for p in self.sla_policies:
            policy = SlaPolicy.from_dict({**({"calendar": cal} if cal else {}), **p})
            out[policy.name] = policy
        return out

    def policy_spec(self, name: str) -> dict[str, Any]:
        """The policy as a plain mapping (with the calendar), kept on each case it opens: a later change of
        the rules does not rewrite an open case's due times."""
        spec: dict[str, Any] = {"name": "standard"}
        for p in self.sla_policies:
            if p.get("name") == name:
                spec = dict(p)
        if self.calendar:
            spec.setdefault("calendar", self.calendar)
        return spec

    def root_cause_keys(self) -> list[str]:
        return [c.key for c in self.root_causes]

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def _place(err: dict[str, Any]) -> str:
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.get("loc", ())).lstrip(".")
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def load_rules(source: str | Path | dict[str, Any], label: str | None = None) -> RulesDocument:
    """A validated rules document from a file, YAML text or a dict; InputError names every wrong place."""
    doc, label = read_yaml(source, label, "<rules>")
    if not isinstance(doc, dict):
        raise InputError(f"{label}: a rules document is a mapping with `rules:` (see `momenti rules template`)")
    # YAML 1.1 reads a bare `on:` key as the boolean true (as GitHub Actions files know): take it back.
    rules = doc.get("rules")  # not a list (`rules: 5`): pydantic says so below; unpacking it was a TypeError
    for part in [doc.get("recovery"), *(rules if isinstance(rules, list) else [])]:
        if isinstance(part, dict) and True in part and "on" not in part:
            part["on"] = part.pop(True)
    try:
        parsed = RulesDocument.model_validate(doc)
        parsed.policies()  # calendar and policy values are checked here
        return parsed
    except ValidationError as exc:
        raise InputError(f"{label}: " + "; ".join(dict.fromkeys(_place(e) for e in exc.errors()))) from None  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise InputError(f"{label}: {exc}") from None


def template_text() -> str:
    return (Path(__file__).parent / "rules_template.yaml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ActiveRules:
    version: int
    from_event_id: int
    document: RulesDocument


@dataclass(frozen=True)
class ApplyResult:
    version: int
    changed: bool
    rules: int


def apply_rules(session: Session, doc: RulesDocument, actor: str) -> ApplyResult:
    """Store `doc` as the new version in force (unless it equals the current one). The caller commits."""
    current = session.scalars(select(RuleVersion).order_by(RuleVersion.version.desc()).limit(1)).first()
    digest = doc.digest()
    if current is not None and current.digest == digest:
        return ApplyResult(current.version, False, len(doc.rules))
    last_event = session.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar() or 0
    version = (current.version if current else 0) + 1
    session.add(RuleVersion(version=version, digest=digest, document=doc.model_dump(mode="json"),
                            from_event_id=int(last_event), created_at=utcnow(), created_by=actor))
    session.flush()
    return ApplyResult(version, True, len(doc.rules))


_cache: dict[tuple[str, int, str, int], ActiveRules] = {}


def active_rules(session: Session) -> ActiveRules | None:
    """The version in force (parsed once per store, version and content), or None before any `rules apply`.
    The whole row is in the key: a store emptied and filled again reuses version numbers."""
    row = session.execute(select(RuleVersion.version, RuleVersion.from_event_id, RuleVersion.digest)
                          .order_by(RuleVersion.version.desc()).limit(1)).first()
    if row is None:
        return None
    key = (str(session.get_bind().url), int(row[0]), str(row[2]), int(row[1]))
    hit = _cache.get(key)
    if hit is None:
        doc = session.scalar(select(RuleVersion.document).where(RuleVersion.version == row[0]))
        hit = ActiveRules(int(row[0]), int(row[1]), RulesDocument.model_validate(doc))
        if len(_cache) > 32:
            _cache.clear()
        _cache[key] = hit
    return hit


def versions(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(RuleVersion.version, RuleVersion.created_at, RuleVersion.created_by,
                                  RuleVersion.digest)
                           .order_by(RuleVersion.version)).all()
    return [{"version": r[0], "applied_at": r[1], "applied_by": r[2], "digest": r[3][:12]} for r in rows]
