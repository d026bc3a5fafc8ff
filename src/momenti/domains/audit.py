"""The audit log: every admin action, sign-in event and read of personal data is written here, and only here.

`record` joins the caller's transaction (a Session or a Core Connection), so the entry commits or rolls back
with the action it describes.

The log is a hash chain (docs/security.md, "The audit log"): each entry keeps `prev_hash`, the hash of the entry
before it (64 zeros for the first), and `hash`, the SHA-256 of `canonical(...)` of its own fields and that
prev_hash. The one row of `audit_head` keeps the last entry's id and hash, the number of entries and the chain's
base (the prev_hash of its first entry). `verify` recomputes all of it; the database's triggers refuse UPDATE
and DELETE of entries, so only someone who drops them (anyone holding the file can) gets to edit, and the chain
shows it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.store.access import (
    AUDIT_GUARD_POSTGRES,
    AUDIT_GUARD_POSTGRES_FUNCTION,
    AUDIT_GUARD_SQLITE,
    AuditEntry,
    AuditHead,
)

ZERO = "0" * 64
HEAD_ID = 1
# The PostgreSQL advisory lock that serialises appends to the chain ("audit" in ASCII, as a bigint).
LOCK_KEY = 0x6175646974
FIELDS = ("at", "actor", "action", "target", "detail", "ip", "note")
_LOG = AuditEntry.__table__
_HEAD = AuditHead.__table__


# -- the canonical form -----------------------------------------------------------------------------------


CANONICAL_FORM = ("hash = SHA-256 hex of the UTF-8 of the compact JSON array [prev_hash, at, actor, action, "
                  "target, detail, ip, note] (separators ',' and ':', non-ASCII as is); at = ISO 8601 naive UTC "
                  "with microseconds (2026-03-01T10:00:00.123456); detail = JSON text of the object with sorted "
                  "keys and the same separators, or null; prev_hash = the previous entry's hash, 64 zeros for "
                  "the first")


def canonical(prev_hash: str | None, at: dt.datetime, actor: str, action: str, target: str | None,
              detail: Any, ip: str | None, note: str | None) -> str:
    """The text an entry's hash is the SHA-256 of (UTF-8): a compact JSON array
    `[prev_hash, at, actor, action, target, detail, ip, note]` where `at` is ISO 8601 with microseconds and no
    zone (naive UTC, "2026-03-01T10:00:00.123456") and `detail` is itself JSON text with sorted keys and compact
    separators (or null). Both JSON encodings: separators "," and ":", non-ASCII characters as they are."""
    detail_text = None if detail is None else json.dumps(detail, sort_keys=True, separators=(",", ":"),
                                                         ensure_ascii=False)
    return json.dumps([prev_hash, at.isoformat(timespec="microseconds"), actor, action, target, detail_text, ip,
                       note], ensure_ascii=False, separators=(",", ":"))


def entry_hash(prev_hash: str | None, at: dt.datetime, actor: str, action: str, target: str | None, detail: Any,
               ip: str | None, note: str | None) -> str:
    return hashlib.sha256(canonical(prev_hash, at, actor, action, target, detail, ip, note).encode()).hexdigest()


# -- writing ----------------------------------------------------------------------------------------------


def _dialect(conn: Session | Connection) -> str:
    return conn.dialect.name if isinstance(conn, Connection) else conn.get_bind().dialect.name


def _lock_chain(conn: Session | Connection, dialect: str) -> None:
    """Hold the chain until the caller's transaction ends, so appends are one after the other. PostgreSQL: a
    transaction-level advisory lock. SQLite: a write as the first statement takes the database's write lock
    (waiting for the busy timeout), after which the head read is the latest."""
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    else:
        conn.execute(text("UPDATE audit_head SET entries = entries WHERE id = :i"), {"i": HEAD_ID})


def _clean(value: str | None, size: int | None = None) -> str | None:
    if not value:
        return None
    return value[:size] if size else value


def record(conn: Session | Connection, actor: str, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, ip: str | None = None, note: str | None = None) -> None:
    """One audit entry. `actor`: "user:<email>", "token:<name>", "cli:<user>" or "system"; `action`: a dotted
    verb ("user.create", "login.locked", "comments.read"). Appended to the chain inside the caller's
    transaction: the entry and the head commit or roll back with the action."""
    dialect = _dialect(conn)
    _lock_chain(conn, dialect)
    head_q = select(_HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID)
    head = conn.execute(head_q.with_for_update() if dialect == "postgresql" else head_q).first()
    prev = head.last_hash if head is not None else ZERO
    # What the database gives back is what is hashed: JSON as JSON reads it, strings cut to their columns.
    values = {"at": utcnow(), "actor": actor[:400], "action": action[:100], "target": _clean(target, 400),
              "detail": None if detail is None else json.loads(json.dumps(detail, default=str)),
              "ip": _clean(ip, 64), "note": _clean(note)}
    digest = entry_hash(prev, **values)
    new_id = conn.execute(insert(_LOG).values(prev_hash=prev, hash=digest, **values)).inserted_primary_key[0]
    if head is None:  # a store emptied by hand (TRUNCATE): the chain starts again, and verify says so
        conn.execute(insert(_HEAD).values(id=HEAD_ID, last_id=new_id, last_hash=digest, entries=1, base_hash=ZERO))
    else:
        conn.execute(update(_HEAD).where(_HEAD.c.id == HEAD_ID)
                     .values(last_id=new_id, last_hash=digest, entries=_HEAD.c.entries + 1))


def cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still an actor
        return "cli:unknown"


# -- checking ---------------------------------------------------------------------------------------------


@dataclass
class Problem:
    """The first thing wrong with the chain: the entry it shows at (None when it is the head or the log as a
    whole), and what is wrong."""

    id: int | None
    at: dt.datetime | None
    action: str | None
    what: str

    def __str__(self) -> str:
        where = f"entry {self.id}" if self.id is not None else "the log"
        when = f" ({self.at:%Y-%m-%d %H:%M:%S}, {self.action})" if self.at is not None else ""
        return f"{where}{when}: {self.what}"


@dataclass
class VerifyReport:
    entries: int = 0
    problem: Problem | None = None
    last_id: int | None = None
    last_hash: str | None = None
    base_hash: str = ZERO
    seconds: float = 0.0
    purges: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.intact:
            return f"{self.entries} entries checked: intact (last entry {self.last_id}, hash {self.last_hash})"
        return f"{self.entries} entries checked: NOT intact, first problem at {self.problem}"

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["intact"] = self.intact
        doc["summary"] = self.summary()
        return doc


class _Walk:
    """The chain checked one entry at a time, in id order, from a base hash. Stops at the first problem."""

    def __init__(self, base: str) -> None:
        self.report = VerifyReport(base_hash=base)
        self.expected = base
        self.last: tuple[int, dt.datetime, str] | None = None

    def step(self, id_: int, at: dt.datetime, actor: str, action: str, target: str | None, detail: Any,
             ip: str | None, note: str | None, prev_hash: str | None, hash_: str | None) -> bool:
        r = self.report
        r.entries += 1
        if prev_hash != self.expected:
            before = (f"entry {self.last[0]}" if self.last else "the chain's base")
            what = (f"its prev_hash is not the hash of {before}: an entry before it was deleted, inserted or moved"
                    if self.last else "its prev_hash is not the chain's base: the log's beginning was removed or "
                                      "replaced")
            r.problem = Problem(id_, at, action, what)
        elif entry_hash(prev_hash, at, actor, action, target, detail, ip, note) != hash_:
            r.problem = Problem(id_, at, action, "its content does not match its hash: it was edited after it was "
                                                 "written")
        if r.problem is not None:
            return False
        if action == "audit.purge" and isinstance(detail, dict) and detail.get("base_hash"):
            r.purges.append(str(detail["base_hash"]))
        self.expected, self.last = hash_, (id_, at, action)
        r.last_id, r.last_hash = id_, hash_
        return True

    def finish(self, head_last_id: int | None, head_last_hash: str | None, head_entries: int | None) -> VerifyReport:
        r = self.report
        if r.problem is not None:
            return r
        last_id = self.last[0] if self.last else None
        if head_entries is not None and head_entries != r.entries:
            more = "deleted" if head_entries > r.entries else "added around the chain"
            r.problem = Problem(head_last_id if head_entries > r.entries else last_id, None, None,
                                f"the head counts {head_entries} entries, the log holds {r.entries}: "
                                f"entries were {more}")
        elif head_last_id != last_id or (self.last and head_last_hash != r.last_hash):
            r.problem = Problem(head_last_id, None, None,
                                f"the head's last entry is {head_last_id}, the log ends at {last_id}: the last "
                                "entries were deleted or replaced")
        elif r.base_hash != ZERO and r.base_hash not in r.purges:
            r.problem = Problem(None, None, None, "the chain starts after a purge that no audit.purge entry records")
        return r


def _snapshot(session: Session) -> None:
    """Head and entries read in one snapshot, so appends while verify runs are not mistaken for damage."""
    if session.in_transaction():
        return
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return
    dbapi = session.connection().connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        dbapi.execute("BEGIN")  # SQLite (WAL): the read snapshot is taken at the first SELECT and kept


def verify(session: Session, batch: int = 20_000) -> VerifyReport:
    """Walk the whole chain in id order (streamed): each entry's hash recomputed, each prev_hash against the
    entry before (the head's base for the first), and at the end the head's last id, last hash and count
    against what was found. The report names the first problem. Give it a fresh session: it reads in one
    snapshot (and does not write)."""
    started = time.perf_counter()
    _snapshot(session)
    head = session.execute(select(_HEAD.c.last_id, _HEAD.c.last_hash, _HEAD.c.entries, _HEAD.c.base_hash)
                           .where(_HEAD.c.id == HEAD_ID)).first()
    walk = _Walk(head.base_hash if head is not None and head.base_hash else ZERO)
    c = _LOG.c
    rows = session.execute(select(c.id, c.at, c.actor, c.action, c.target, c.detail, c.ip, c.note, c.prev_hash,
                                  c.hash).order_by(c.id).execution_options(yield_per=batch))
    step = walk.step
    for row in rows:
        if not step(*row):
            break
    rows.close()
    if head is None:
        report = walk.report
        if report.problem is None:
            report.problem = Problem(None, None, None, "the chain's head (the audit_head row) is missing")
    else:
        report = walk.finish(head.last_id, head.last_hash, head.entries)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


# -- retention --------------------------------------------------------------------------------------------


def _drop_delete_guard(conn: Session | Connection, dialect: str) -> None:
    on = " ON audit_log" if dialect == "postgresql" else ""
    conn.execute(text(f"DROP TRIGGER IF EXISTS audit_log_no_delete{on}"))


def _create_delete_guard(conn: Session | Connection, dialect: str) -> None:
    if dialect == "postgresql":
        conn.execute(text(AUDIT_GUARD_POSTGRES_FUNCTION))
        conn.execute(text(AUDIT_GUARD_POSTGRES["audit_log_no_delete"]))
    else:
        conn.execute(text(AUDIT_GUARD_SQLITE["audit_log_no_delete"]))


def purge_before(conn: Session | Connection, day: dt.date, actor: str = "system") -> dict[str, Any]:
    """Delete the entries older than `day` (00:00 UTC), for a retention policy; the rest stays verifiable.

    In the caller's one transaction: the chain's lock; the DELETE guard dropped; the oldest entries removed (a
    prefix in id order: everything before the first entry at or after `day`); the head given the new base (the
    prev_hash of the first kept entry, or the last removed hash when none is kept) and count; the guard
    re-created; and an `audit.purge` entry naming the base, so verify can tell this from a cut log. Export the
    old entries first (`momenti audit export`) to keep them provable outside. Returns what it did."""
    dialect = _dialect(conn)
    _lock_chain(conn, dialect)
    cutoff = dt.datetime.combine(day, dt.time()) if not isinstance(day, dt.datetime) else day
    head = conn.execute(select(_HEAD.c.last_hash, _HEAD.c.entries, _HEAD.c.base_hash)
                        .where(_HEAD.c.id == HEAD_ID)).first()
    if head is None:
        return {"deleted": 0, "base_hash": ZERO}
    first_kept = conn.execute(select(_LOG.c.id, _LOG.c.prev_hash).where(_LOG.c.at >= cutoff)
                              .order_by(_LOG.c.id).limit(1)).first()
    if first_kept is not None:
        boundary, base = first_kept.id, first_kept.prev_hash or ZERO
        doomed = _LOG.c.id < boundary
    else:
        base, doomed = head.last_hash, _LOG.c.id.is_not(None)
    _drop_delete_guard(conn, dialect)
    deleted = conn.execute(_LOG.delete().where(doomed)).rowcount or 0
    _create_delete_guard(conn, dialect)
    if deleted:
        conn.execute(update(_HEAD).where(_HEAD.c.id == HEAD_ID)
                     .values(base_hash=base, entries=_HEAD.c.entries - deleted))
    else:
        base = head.base_hash
    result = {"deleted": deleted, "base_hash": base, "before": cutoff.date().isoformat()}
    record(conn, actor, "audit.purge", f"before {result['before']}", result)
    return result


# -- reading: listing and export --------------------------------------------------------------------------


def _day_start(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time())


def _filtered(stmt: Any, actor: str | None, action: str | None, since: dt.date | dt.datetime | None,
              until: dt.date | None, target: str | None = None) -> Any:
    c = _LOG.c
    if target:
        stmt = stmt.where(c.target == target)
    if actor:
        stmt = stmt.where(c.actor.contains(actor, autoescape=True))
    if action:  # "login" is login and login.failed, login.locked ...; "login.failed" only that
        stmt = stmt.where((c.action == action) | c.action.startswith(action.rstrip(".") + ".", autoescape=True))
    if since is not None:
        stmt = stmt.where(c.at >= (since if isinstance(since, dt.datetime) else _day_start(since)))
    if until is not None:  # the whole day
        stmt = stmt.where(c.at < _day_start(until + dt.timedelta(days=1)))
    return stmt


def entry_record(row: Any) -> dict[str, Any]:
    """An entry as the export and the listings give it: `at` as the canonical text, the hashes with it."""
    return {"id": row.id, "at": row.at.isoformat(timespec="microseconds"), "actor": row.actor,
            "action": row.action, "target": row.target, "detail": row.detail, "ip": row.ip, "note": row.note,
            "prev_hash": row.prev_hash, "hash": row.hash}


def list_entries(session: Session, actor: str | None = None, action: str | None = None,
                 since: dt.date | dt.datetime | None = None, until: dt.date | None = None, limit: int = 50,
                 offset: int = 0, target: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """Entries newest first, filtered (`actor`: part of it; `action`: itself or a dotted prefix; `since`,
    `until`: days, both included; `target`: exactly), and how many match in all."""
    from sqlalchemy import func

    total = session.scalar(_filtered(select(func.count()).select_from(_LOG), actor, action, since, until,
                                     target)) or 0
    rows = session.execute(_filtered(select(_LOG), actor, action, since, until, target)
                           .order_by(_LOG.c.id.desc()).limit(max(0, limit)).offset(max(0, offset)))
    return [entry_record(r) for r in rows], int(total)


def export(session: Session, start: dt.date, end: dt.date, actor: str, fmt: str = "json") -> dict[str, Any]:
    """The entries from `start` to `end` (days, both included) in id order, with their hashes and the head, so
    someone outside can recompute every hash and link (`check_records`). Writes an `audit.export` entry (after
    reading: it is not in this export, it is in the next). Commit the session to keep that entry."""
    if end < start:
        from momenti.core.errors import InputError

        raise InputError(f"--to {end} is before --from {start}")
    rows = session.execute(_filtered(select(_LOG), None, None, start, end).order_by(_LOG.c.id))
    entries = [entry_record(r) for r in rows]
    head = session.execute(select(_HEAD).where(_HEAD.c.id == HEAD_ID)).first()
    doc = {"format": "momenti.audit/1", "from": start.isoformat(), "to": end.isoformat(),
           "exported_at": utcnow().isoformat(timespec="seconds"),
           "canonical": CANONICAL_FORM,
           "head": None if head is None else {"last_id": head.last_id, "last_hash": head.last_hash,
                                              "entries": head.entries, "base_hash": head.base_hash},
           "entries": entries}
    record(session, actor, "audit.export", f"{start.isoformat()}..{end.isoformat()}",
           {"entries": len(entries), "format": fmt,
            "last_hash": entries[-1]["hash"] if entries else None})
    return doc


def check_records(records: list[dict[str, Any]], base: str | None = None) -> VerifyReport:
    """An exported range checked on its own (what a party outside does): each hash recomputed from the fields,
    each prev_hash against the entry before; the first entry's prev_hash is taken as the start unless `base` is
    given. `at` is the ISO text, `detail` an object or its JSON text; empty text of a CSV is null."""
    walk: _Walk | None = None
    for rec in records:
        v = {k: (None if rec.get(k) == "" else rec.get(k)) for k in ("target", "detail", "ip", "note", "prev_hash",
                                                                     "hash")}
        detail = json.loads(v["detail"]) if isinstance(v["detail"], str) else v["detail"]
        if walk is None:
            walk = _Walk(base if base is not None else (v["prev_hash"] or ZERO))
        if not walk.step(int(rec["id"]), dt.datetime.fromisoformat(rec["at"]), rec["actor"] or "",
                         rec["action"] or "", v["target"], detail, v["ip"], v["note"], v["prev_hash"], v["hash"]):
            break
    return walk.report if walk is not None else VerifyReport()
