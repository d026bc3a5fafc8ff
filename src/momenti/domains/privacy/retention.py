"""Retention policies: how long each kind of raw data is kept (settings `MOMENTI_RETENTION_<KIND>_DAYS`, 0 =
for ever), previewed with `momenti privacy retention --dry-run`, applied daily by the job runner, each purge in
the audit log.

Kinds (what goes after N days): `comment_text` (the text of free-text answers and of feedback, set empty, and
the masked texts and encrypted originals of their analysis; scores, topics and sentiment stay), `events`
(interactions: the process-mining facts then describe the log that is kept), `feedback` (items and their
analysis), `cases` (resolved or closed, by when they closed, with their history), `invitations` (invitations,
deliveries, skipped contacts, used survey links), `audit` (entries; the chain stays verifiable from its new
base: domains/audit.py).

Aggregates are kept apart from raw data: responses and their scores are never purged, so the score rollups
(`score_daily`) and every score metric over any past period are unchanged by a purge; after one, the warehouse is
rebuilt from the store so the replica holds nothing the store no longer has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from momenti.core.clock import utcnow
from momenti.domains import audit

KINDS = ("comment_text", "events", "feedback", "cases", "invitations", "audit")


@dataclass(frozen=True)
class Purge:
    """One kind's statements: `count` the rows a purge touches, `apply` the statements that purge them (`:cut`
    the cutoff)."""

    count: str
    apply: tuple[str, ...]


PURGES: dict[str, Purge] = {
    "comment_text": Purge(
        "SELECT (SELECT count(*) FROM answers a JOIN responses r ON r.id = a.response_id "
        "        WHERE a.value_text IS NOT NULL AND a.value_text <> '' AND r.submitted_at < :cut) + "
        "       (SELECT count(*) FROM feedback WHERE text <> '' AND created_at < :cut)",
        ("UPDATE text_results SET masked_text = '', original_enc = NULL, keywords = '[]' WHERE "
         "(kind = 'answer' AND item_id IN (SELECT id FROM responses WHERE submitted_at < :cut)) OR "
         "(kind = 'feedback' AND item_id IN (SELECT id FROM feedback WHERE created_at < :cut))",
         "UPDATE answers SET value_text = NULL WHERE value_text IS NOT NULL AND response_id IN "
         "(SELECT id FROM responses WHERE submitted_at < :cut)",
         "UPDATE feedback SET text = '' WHERE text <> '' AND created_at < :cut")),
    "events": Purge("SELECT count(*) FROM events WHERE timestamp < :cut",
                    ("DELETE FROM events WHERE timestamp < :cut",)),
    "feedback": Purge(
        "SELECT count(*) FROM feedback WHERE created_at < :cut",
        ("DELETE FROM text_results WHERE kind = 'feedback' AND item_id IN "
         "(SELECT id FROM feedback WHERE created_at < :cut)",
         "DELETE FROM feedback WHERE created_at < :cut")),
    "cases": Purge(
        "SELECT count(*) FROM cases WHERE status IN ('resolved', 'closed') AND coalesce(closed_at, updated_at) < :cut",
        ("DELETE FROM staff_notifications WHERE case_id IN (SELECT id FROM cases WHERE status IN ('resolved', "
         "'closed') AND coalesce(closed_at, updated_at) < :cut)",
         "DELETE FROM case_entries WHERE case_id IN (SELECT id FROM cases WHERE status IN ('resolved', 'closed') "
         "AND coalesce(closed_at, updated_at) < :cut)",
         "DELETE FROM cases WHERE status IN ('resolved', 'closed') AND coalesce(closed_at, updated_at) < :cut")),
    "invitations": Purge(
        "SELECT (SELECT count(*) FROM invitations WHERE created_at < :cut) + "
        "       (SELECT count(*) FROM contact_skips WHERE at < :cut)",
        ("DELETE FROM deliveries WHERE invitation_id IN (SELECT id FROM invitations WHERE created_at < :cut)",
         "DELETE FROM invitations WHERE created_at < :cut",
         "DELETE FROM contact_skips WHERE at < :cut",
         "DELETE FROM link_uses WHERE used_at < :cut")),
    "audit": Purge("SELECT count(*) FROM audit_log WHERE at < :cut", ()),
}


def policies(settings: Any) -> dict[str, int]:
    """kind -> days kept (0: for ever)."""
    return {k: int(getattr(settings, f"retention_{k}_days", 0) or 0) for k in KINDS}


def plan(ctx: Any, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per kind: its policy, the cutoff and the rows a purge would touch now (the dry run)."""
    now = now or utcnow()
    out = []
    with ctx.engine.connect() as conn:
        for kind, days in policies(ctx.settings).items():
            if days <= 0:
                out.append({"kind": kind, "days": 0, "cutoff": None, "rows": 0})
                continue
            cut = now - dt.timedelta(days=days)
            rows = int(conn.execute(text(PURGES[kind].count), {"cut": cut}).scalar() or 0)
            out.append({"kind": kind, "days": days, "cutoff": cut, "rows": rows})
    return out


def apply(ctx: Any, now: dt.datetime | None = None, actor: str = "system") -> list[dict[str, Any]]:
    """Purge what the policies say is due, each kind in its own transaction with its audit entry; then the
    warehouse is rebuilt when anything of the replica's went."""
    now = now or utcnow()
    done = plan(ctx, now)
    rebuild = False
    for item in done:
        if not item["rows"]:
            continue
        kind, cut = item["kind"], item["cutoff"]
        with ctx.session() as s, s.begin():
            if kind == "audit":
                item["result"] = audit.purge_before(s, cut, actor)
            else:
                for stmt in PURGES[kind].apply:
                    s.execute(text(stmt), {"cut": cut})
                audit.record(s, actor, "retention.purge", kind, {"rows": item["rows"], "days": item["days"],
                                                                   "before": cut.isoformat(timespec="seconds")})
                rebuild = rebuild or kind in ("comment_text", "events", "feedback")
    if rebuild:
        ctx.sync(rebuild=True)
    return done
