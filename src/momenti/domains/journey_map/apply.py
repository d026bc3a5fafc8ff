"""Apply a journey document to the store: create, update in place, archive what is gone.

A touchpoint that disappears from the document is deleted only when no response, event or feedback refers
to it; otherwise it is archived (kept, hidden from the map) and the summary says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from momenti.core.errors import InputError
from momenti.domains.access.users import get_team
from momenti.domains.journey_map.catalog import TEMPLATES, template_text  # noqa: F401 - where callers have imported them
from momenti.domains.journey_map.schema import JourneyDocument
from momenti.store.models import Event, Feedback, Journey, Response, Stage, Touchpoint


@dataclass
class ApplySummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {k: v for k, v in self.__dict__.items()}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key written twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN201
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} repeated in the same mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_document(text: str, source: str = "<journey>") -> JourneyDocument:
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {exc}") from exc
    try:
        return JourneyDocument.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InputError("\n".join(lines)) from exc


def load_document(path: Path) -> JourneyDocument:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_document(text, str(path))


def _i18n(value) -> dict | None:  # noqa: ANN001
    return value.model_dump() if value is not None else None


def _set(obj: object, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _referenced(session: Session, tp_id: int) -> bool:
    return any(
        session.scalar(select(exists().where(model.touchpoint_id == tp_id)))
        for model in (Response, Event, Feedback)
    )


def apply_document(session: Session, doc: JourneyDocument) -> ApplySummary:
    summary = ApplySummary()
    journeys = {j.key: j for j in session.scalars(select(Journey))}
    stages = {(s.journey_id, s.key): s for s in session.scalars(select(Stage))}
    touchpoints = {t.key: t for t in session.scalars(select(Touchpoint))}
    seen_tp: set[str] = set()

    def record(kind: str, obj: object, created: bool, changed: bool) -> None:
        label = f"{kind} {obj.key}"  # type: ignore[attr-defined]
        (summary.created if created else summary.updated if changed else summary.unchanged).append(label)

    for jpos, jspec in enumerate(doc.journeys):
        journey = journeys.get(jspec.key)
        created = journey is None
        if journey is None:
            journey = Journey(key=jspec.key)
            session.add(journey)
        changed = _set(journey, {"name_it": jspec.name.it, "name_en": jspec.name.en,
                                 "description": _i18n(jspec.description), "position": jpos})
        session.flush()
        record("journey", journey, created, changed)
        for spos, sspec in enumerate(jspec.stages):
            stage = stages.get((journey.id, sspec.key))
            created = stage is None
            if stage is None:
                stage = Stage(journey_id=journey.id, key=sspec.key)
                session.add(stage)
            changed = _set(stage, {"name_it": sspec.name.it, "name_en": sspec.name.en, "position": spos})
            session.flush()
            record("stage", stage, created, changed)
            for tpos, tspec in enumerate(sspec.touchpoints):
                seen_tp.add(tspec.key)
                tp = touchpoints.get(tspec.key)
                created = tp is None
                if tp is None:
                    tp = Touchpoint(key=tspec.key)
                    session.add(tp)
                changed = _set(tp, {
                    "stage_id": stage.id, "name_it": tspec.name.it, "name_en": tspec.name.en,
                    "channel": tspec.channel, "owner_team": tspec.owner_team,
                    "brand_promise": _i18n(tspec.brand_promise),
                    "customer_expectation": _i18n(tspec.customer_expectation),
                    "moment_of_truth": tspec.moment_of_truth, "target_metric": tspec.target_metric,
                    "target_score": tspec.target_score, "position": tpos, "archived": False,
                })
                record("touchpoint", tp, created, changed)
                if tspec.owner_team:  # the owner is a real team: its leads and agents see its touchpoints
                    get_team(session, tspec.owner_team)
    session.flush()
    for key, tp in touchpoints.items():
        if key in seen_tp or tp.archived:
            continue
        if _referenced(session, tp.id):
            tp.archived = True
            summary.archived.append(f"touchpoint {key} (referenced by data: archived, not deleted)")
        else:
            session.delete(tp)
            summary.deleted.append(f"touchpoint {key}")
    session.flush()
    # Stages and journeys gone from the document go too, once nothing is left in them (a stage still holding
    # archived touchpoints stays, hidden by export_document).
    seen_stages = {(j.key, s.key) for j in doc.journeys for s in j.stages}
    seen_journeys = {j.key for j in doc.journeys}
    for journey in session.scalars(select(Journey)).all():
        for stage in list(journey.stages):
            if (journey.key, stage.key) not in seen_stages and not _has_touchpoints(session, stage.id):
                journey.stages.remove(stage)
                session.delete(stage)
                summary.deleted.append(f"stage {stage.key}")
        session.flush()
        if journey.key not in seen_journeys and not journey.stages:
            session.delete(journey)
            summary.deleted.append(f"journey {journey.key}")
    session.flush()
    return summary


def _has_touchpoints(session: Session, stage_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Touchpoint.stage_id == stage_id))))


def _hidden(stage: Stage) -> bool:
    """A stage gone from the document, kept only for its archived touchpoints (a stage in the document
    has either no touchpoints or some active ones)."""
    return bool(stage.touchpoints) and all(t.archived for t in stage.touchpoints)


def export_document(session: Session) -> dict:
    """The store's journeys as a document (what `journey show` prints)."""
    out = []
    for j in session.scalars(select(Journey).order_by(Journey.position)):
        if j.stages and all(_hidden(s) for s in j.stages):
            continue
        stages = []
        for s in j.stages:
            if _hidden(s):
                continue
            tps = []
            for t in s.touchpoints:
                if t.archived:
                    continue
                tps.append({k: v for k, v in {
                    "key": t.key, "name": {"it": t.name_it, "en": t.name_en}, "channel": t.channel,
                    "owner_team": t.owner_team, "brand_promise": t.brand_promise,
                    "customer_expectation": t.customer_expectation, "moment_of_truth": t.moment_of_truth,
                    "target_metric": t.target_metric, "target_score": t.target_score,
                }.items() if v is not None})
            stages.append({"key": s.key, "name": {"it": s.name_it, "en": s.name_en}, "touchpoints": tps})
        journey = {"key": j.key, "name": {"it": j.name_it, "en": j.name_en}}
        if j.description is not None:  # shown so that applying what `show` prints keeps it
            journey["description"] = j.description
        out.append({**journey, "stages": stages})
    return {"journeys": out}
