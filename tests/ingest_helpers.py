"""Helpers shared by the ingest tests."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

import momenti
from momenti.store.models import Answer, Question, Response, Touchpoint

ROOT = Path(__file__).resolve().parents[1]
MOMENTI_BIN = ROOT / ".venv" / "bin" / "momenti"
HEADER = "response_id,customer_id,touchpoint,submitted_at,nps,csat,ces,comment"


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def stored_responses(ws: momenti.Workspace) -> dict[str, dict]:
    """external_id -> {customer, touchpoint, submitted_at, answers: {question: value}} as the store has them."""
    with ws.session() as s:
        tps = dict(s.execute(select(Touchpoint.id, Touchpoint.key)).all())
        qs = dict(s.execute(select(Question.id, Question.key)).all())
        out = {
            r.external_id: {"customer": r.customer_key, "touchpoint": tps[r.touchpoint_id],
                            "submitted_at": r.submitted_at, "channel": r.channel, "answers": {}, "id": r.id}
            for r in s.scalars(select(Response))
        }
        by_id = {v["id"]: v for v in out.values()}
        for a in s.scalars(select(Answer)):
            by_id[a.response_id]["answers"][qs[a.question_id]] = a.value_num if a.value_num is not None \
                else a.value_text
    return out


def count(ws: momenti.Workspace, model: type) -> int:
    with ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


