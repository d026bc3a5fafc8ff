"""An import from start to end: read, validate, report rejects, write in chunks, record the run."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.scratch import scratch
from momenti.ingest.read import LINE, SourceTable
from momenti.ingest.rejects import write_rejects
from momenti.ingest.specs import KINDS
from momenti.ingest.validate import QuestionInfo, Validated, validate
from momenti.ingest.write import (
    StoreWriter,
    chunk_answers,
    chunk_facts,
    upsert_customers,
    upsert_offers,
    upsert_outcomes,
)
from momenti.store.models import ImportRun, Question, Touchpoint
from momenti.store.outbox import emit_table
from momenti.store.raw import DbapiConnection, RawConnection
from momenti.warehouse.connection import open_warehouse
from momenti.warehouse.sync import Dimensions, push

Progress = Callable[[str, int, int], None]  # (phase, done, total)
# Kinds with one row per id, updated in place (KindSpec.upsert): how each writes a chunk.
UPSERTS = {"customers": upsert_customers, "outcomes": upsert_outcomes, "offers": upsert_offers}


@dataclass
class ImportSummary:
    kind: str
    source: str
    read: int = 0
    added: int = 0
    updated: int = 0
    duplicates: int = 0  # rows already present: in the store, or an id repeated inside the input
    repeats: int = 0  # rows without an id identical to an earlier row of the input: kept (added) as repeats
    rejected: int = 0
    errors: list[str] = field(default_factory=list)  # "source:line: field: reason"
    rejects_file: str | None = None
    dry_run: bool = False
    import_id: int | None = None
    seconds: float = 0.0  # the whole import: validation, store, warehouse sync and text analysis
    text_analysed: int = 0  # comments masked and analysed right after the import (MOMENTI_TEXT_AUTO)
    text_seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def touchpoint_ids(session: Session) -> dict[str, int]:
    return {k: i for k, i in session.execute(select(Touchpoint.key, Touchpoint.id))}


def question_infos(session: Session) -> dict[str, QuestionInfo]:
    return {
        q.key: QuestionInfo(q.id, q.key, q.kind, q.scale_min, q.scale_max)
        for q in session.scalars(select(Question))
    }


def _error_lines(v: Validated, src: SourceTable, source_name: str) -> list[str]:
    unit = "" if src.unit == "line" else f"{src.unit} "
    lines = v.rejects.column(LINE).to_pylist()
    fields = v.rejects.column("field").to_pylist()
    reasons = v.rejects.column("reason").to_pylist()
    found = [*src.problems, *zip(lines, fields, reasons, strict=True)]
    found.sort(key=lambda e: e[0])  # in file order, whoever found them (stable: a row's errors stay in order)
    return [f"{source_name}:{unit}{a}: {b}: {c}" for a, b, c in found]


def import_source(
    engine: Engine,
    kind: str,
    src: SourceTable,
    source_name: str,
    *,
    rejects: Path | None = None,
    dry_run: bool = False,
    chunk_rows: int = 1_000_000,
    progress: Progress | None = None,
    warehouse_url: str | None = None,
    connect: Callable[[], RawConnection] | None = None,
    strict: bool = False,
) -> ImportSummary:
    """Import validated rows. `strict`: write nothing if any row is rejected (API batches); `rejects`: where
    the rejects file goes (None: none is written)."""
    started = time.perf_counter()
    spec = KINDS[kind]
    report = progress or (lambda *_: None)
    summary = ImportSummary(kind=kind, source=source_name, dry_run=dry_run)
    with Session(engine) as session:
        touchpoints = touchpoint_ids(session)
        questions = question_infos(session)
    report("validating", 0, src.table.num_rows)
    v = validate(src, spec, touchpoints, questions, source_name)
    summary.read = v.total + len(src.problems)
    summary.rejected = v.rejected_rows.num_rows + len(src.problems)
    summary.errors = _error_lines(v, src, source_name)
    summary.duplicates = v.duplicates_in_input
    summary.repeats = v.repeats
    if rejects is not None:
        summary.rejects_file = write_rejects(rejects, v, src)
    report("validating", src.table.num_rows, src.table.num_rows)

    open_raw = connect or (lambda: DbapiConnection(engine))
    if strict and summary.rejected:
        summary.seconds = time.perf_counter() - started
        return summary
    if dry_run:
        with StoreWriter(open_raw()) as writer:
            if spec.upsert:
                summary.added = v.rows.num_rows
            else:
                found = writer.existing_ids(spec.table, v.rows["external_id"]).num_rows
                summary.duplicates += found
                summary.added = v.rows.num_rows - found
        summary.seconds = time.perf_counter() - started
        return summary
    # Store bookkeeping through SQLAlchemy first: the raw connection below may be another SQLite library.
    summary.import_id = _start_run(engine, kind, source_name, summary)
    qmap = _ensure_questions(engine, v.new_questions) if spec.answers else {}
    try:
        with StoreWriter(open_raw()) as writer:
            con = scratch()
            if v.answer_keys is not None:
                con.register("_questions", pa.table({"key": list(qmap), "id": list(qmap.values())},
                                                    schema=pa.schema([("key", pa.string()), ("id", pa.int64())])))
            total = v.rows.num_rows
            now = utcnow()
            dims = Dimensions.read(writer.conn) if warehouse_url and not spec.upsert else None
            with ExitStack() as stack:
                wh = stack.enter_context(open_warehouse(warehouse_url)) if dims is not None else None
                stack.callback(con.close)
                pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
                pushes: list[Future] = []
                alone, expected_id = True, None
                report("writing", 0, total)
                for lo in range(1, total + 1, chunk_rows):
                    hi = min(total, lo + chunk_rows - 1)
                    chunk = v.rows.slice(lo - 1, hi - lo + 1)  # rows are in line order: a zero-copy slice
                    con.register("chunk_rows", chunk)
                    with writer.locked(spec.table):
                        if spec.upsert:
                            rows = chunk
                            added, updated = UPSERTS[kind](writer, rows)
                            summary.added += added
                            summary.updated += updated
                            summary.duplicates += rows.num_rows - added - updated
                        else:
                            first_id = writer.next_id(spec.table)
                            # Rows of this file are unique already; only rows written by someone else can clash.
                            # If the table was empty when we started and nobody wrote since, skip the probe.
                            alone = alone and (expected_id is None or first_id == expected_id)
                            if alone and expected_id is None:
                                alone = first_id == 1
                            if alone:
                                skip = pa.table({"external_id": pa.array([], pa.string())})
                            else:
                                skip = writer.existing_ids(spec.table, chunk["external_id"])
                            facts = chunk_facts(con, spec, first_id, skip, now)
                            expected_id = first_id + facts.num_rows
                            writer.append(spec.table, facts)
                            answers = (chunk_answers(con, facts, v.answer_keys) if v.answer_keys is not None
                                       else None)
                            if answers is not None:
                                writer.append("answers", answers)
                            writer.finish_ids(spec.table)
                            summary.added += facts.num_rows
                            summary.duplicates += skip.num_rows
                        writer.conn.execute(
                            f"UPDATE imports SET rows_added = {summary.added}, rows_duplicate = {summary.duplicates}"
                            f" WHERE id = {summary.import_id}")
                        # One event per chunk, in the chunk's transaction (store/outbox.py): the import and the
                        # id range it added, never the rows themselves.
                        if spec.upsert and (added or updated):
                            emit_table(writer.conn, spec.table, import_id=summary.import_id)
                        elif not spec.upsert and facts.num_rows:
                            emit_table(writer.conn, spec.table, import_id=summary.import_id, first_id=first_id,
                                       last_id=expected_id - 1)
                    if dims is not None and not spec.upsert:
                        # Committed: hand the same rows to the warehouse instead of reading them back later. A
                        # worker thread does it, in chunk order, while this thread writes the next chunk.
                        pushes.append(pool.submit(push, warehouse_url, kind, facts, answers, dims, wh))
                    report("writing", hi, total)
                for pending in pushes:
                    pending.result()
    except BaseException:
        # Ctrl-C, a crash, an error: whole chunks stay (each was one transaction); the run says so.
        _finish_run(engine, summary, status="interrupted")
        raise
    _finish_run(engine, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def mark_interrupted_runs(engine: Engine) -> int:
    """Imports left 'running' by a process of this host that no longer runs (killed, machine restarted) are
    marked 'interrupted'; the number marked. Runs of other hosts cannot be judged from here and stay."""
    host = socket.gethostname()
    marked = 0
    with Session(engine) as session, session.begin():
        for run in session.scalars(select(ImportRun).where(ImportRun.status == "running")):
            owner_host, _, pid = (run.owner or "").rpartition(":")
            if owner_host == host and pid.isdigit() and not _alive(int(pid)):
                run.status, run.finished_at = "interrupted", utcnow()
                marked += 1
    return marked


def _start_run(engine: Engine, kind: str, source: str, s: ImportSummary) -> int:
    mark_interrupted_runs(engine)
    with Session(engine) as session, session.begin():
        run = ImportRun(kind=kind, source=source, started_at=utcnow(), status="running", owner=_owner(),
                        rows_read=s.read, rows_added=0, rows_duplicate=s.duplicates, rows_rejected=s.rejected)
        session.add(run)
        session.flush()
        return run.id


def _finish_run(engine: Engine, s: ImportSummary, status: str = "done") -> None:
    with Session(engine) as session, session.begin():
        run = session.get(ImportRun, s.import_id)
        if run is not None:
            run.status, run.finished_at = status, utcnow()
            run.rows_added, run.rows_duplicate = s.added, s.duplicates


def _ensure_questions(engine: Engine, new: list[QuestionInfo]) -> dict[str, int]:
    """Create the answer keys seen for the first time; another import may create the same key at the same
    moment, in which case its row is the one to use."""
    for attempt in range(3):
        try:
            with Session(engine) as session, session.begin():
                have = {q.key for q in session.scalars(select(Question))}
                for info in new:
                    if info.key not in have:
                        session.add(Question(key=info.key, kind=info.kind, scale_min=info.lo, scale_max=info.hi))
                session.flush()
                return {k: i for k, i in session.execute(select(Question.key, Question.id))}
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
