"""The Python API: `momenti.open(...)` returns a Workspace; every question returns a pandas DataFrame.

The CLI, the REST API and the web pages are thin layers over these methods.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from momenti.core.args import FilterArg, as_date, parse_filters
from momenti.core.config import Settings, get_settings
from momenti.core.errors import READ_ONLY_MESSAGE, ExternalWarehouseError, InputError, MomentiError
from momenti.domains.journey_map.apply import (
    ApplySummary,
    apply_document,
    export_document,
    load_document,
    parse_document,
)
from momenti.domains.loop import queries as _case_queries  # noqa: F401 - registers the case metrics kinds
from momenti.domains.privacy.questions import PrivacyQuestions
from momenti.domains.story.questions import StoryQuestions
from momenti.ingest.options import ImportOptions, apply_options
from momenti.ingest.read import SourceTable, read_source, records_to_table, table_source
from momenti.ingest.rejects import rejects_path
from momenti.ingest.run import ImportSummary, Progress, import_source, mark_interrupted_runs
from momenti.ingest.specs import KINDS
from momenti.insights.contact.questions import ContactQuestions
from momenti.insights.drivers.questions import DriverQuestions
from momenti.insights.loyalty.bank_questions import LifecycleQuestions
from momenti.insights.loyalty.questions import LoyaltyQuestions
from momenti.insights.paths.questions import ProcessQuestions
from momenti.insights.query import Context, Query, ResultCache, parse, watermarks
from momenti.insights.registry import FEED_MODULES  # noqa: F401 - registers every warehouse feed
from momenti.insights.retention.questions import RetentionQuestions
from momenti.insights.scores.compare import compare as compare_metric
from momenti.insights.scores.query import MetricQuery, run_metric, to_sql
from momenti.insights.text.questions import TextQuestions
from momenti.pipelines.text.questions import TextPipelineQuestions
from momenti.store.db import is_sqlite, make_engine, migrate
from momenti.store.raw import AdbcConnection, DbapiConnection, RawConnection
from momenti.warehouse.connection import WarehouseConnection, external_backend, open_warehouse, split_external
from momenti.warehouse.external_check import CheckReport, check_mapping_file
from momenti.warehouse.sync import SyncReport, ensure_schema, lag, sync, table_counts

DateLike = dt.date | str | None


class Workspace(ProcessQuestions, ContactQuestions, DriverQuestions, LoyaltyQuestions, RetentionQuestions,
                LifecycleQuestions, TextQuestions, TextPipelineQuestions, StoryQuestions, PrivacyQuestions):
    def __init__(self, settings: Settings, bulk: bool = True) -> None:
        """`bulk`: use ADBC for imports and sync (fast; for CLI and notebooks). The server passes False."""
        self.settings = settings
        self.bulk = bulk
        self._warehouse_ready = False
        self._held: WarehouseConnection | None = None  # see hold_warehouse
        self._held_thread: int | None = None
        # Comments may be waiting for analysis (see sync_written): true at first, so the first run catches up
        # with anything written while no server ran, and again whenever an analysis did not finish.
        self._text_behind = True
        self._text_warm = False  # the text engines are loaded (see sync_written)
        self.job_runner: object | None = None  # set by a JobRunner of this workspace (pipelines/jobs.py)
        self.results = ResultCache(settings.query_cache_size)  # see run(): same question, same data, one lookup
        if is_sqlite(settings.store_url):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(settings.store_url, pooled=not bulk)
        migrate(self.engine)

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def store_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    def raw(self) -> RawConnection:
        """A raw Arrow-speaking store connection for bulk work."""
        return AdbcConnection(self.store_url) if self.bulk else DbapiConnection(self.engine)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def warehouse(self) -> Iterator[WarehouseConnection]:
        """The warehouse, open for one operation (its tables created on first use), or the one held open by
        `hold_warehouse` when this thread holds it."""
        if self._held is not None and self._held_thread == threading.get_ident():
            yield self._held
            return
        if not self._warehouse_ready:
            self._catch_up()
        with open_warehouse(self.settings.warehouse) as wh:
            yield wh

    def _catch_up(self) -> None:
        """On the first question: tables created, and a warehouse found behind the store (an import killed after
        its last chunk committed, API writes that no server synced) brought up to date before answering. The
        server's workspace (bulk=False) leaves this to its background sync, which catches up at start."""
        with open_warehouse(self.settings.warehouse) as wh:
            ensure_schema(wh)
            behind = self.bulk and not wh.read_only and self._behind(wh)
        self._warehouse_ready = True
        if self.bulk:
            mark_interrupted_runs(self.engine)
        if behind:
            self.sync(compact=True)

    def _behind(self, wh: WarehouseConnection) -> bool:
        # Through SQLAlchemy's connection, not ADBC: two small queries, and a process that also serves (with DBAPI
        # SQLite connections open) must not open ADBC's SQLite library (store/raw.py).
        with DbapiConnection(self.engine) as store:
            return any(behind for _, _, behind in lag(store, wh).values())

    def warehouse_lag(self) -> dict[str, tuple[int, int, bool]]:
        """(store rows, warehouse rows, behind) per fact table: what `momenti warehouse status` shows."""
        with DbapiConnection(self.engine) as store, open_warehouse(self.settings.warehouse) as wh:
            ensure_schema(wh)
            return lag(store, wh)

    @contextmanager
    def hold_warehouse(self) -> Iterator[Workspace]:
        """Keep the warehouse open for a block of questions (an analysis session in a notebook or a script):
        each question then skips opening the database, ~10 ms on DuckDB, which is most of the time of a
        question answered from rollups. Only this thread uses the held connection; other threads open their
        own. While it is held, other *processes* cannot open a DuckDB warehouse (they wait for it, up to two
        minutes), so hold it for a session's questions, not for a server's lifetime.

            with ws.hold_warehouse():
                graph, variants = ws.dfg(), ws.variants()
        """
        if self._held is not None:  # nested, or held by another thread: nothing more to hold
            yield self
            return
        with self.warehouse() as wh:
            self._held, self._held_thread = wh, threading.get_ident()
            try:
                yield self
            finally:
                self._held, self._held_thread = None, None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- journeys -----------------------------------------------------------------------------

    def apply_journey(self, source: str | Path | dict) -> ApplySummary:
        if isinstance(source, dict):
            import yaml

            doc = parse_document(yaml.safe_dump(source, allow_unicode=True), "<document>")
        else:
            doc = load_document(Path(source))
        with self.session() as s, s.begin():
            summary = apply_document(s, doc)
        self.sync()
        return summary

    def journey_document(self) -> dict:
        with self.session() as s:
            return export_document(s)

    # -- data in ------------------------------------------------------------------------------

    def import_file(self, kind: str, path: str | Path, *, mapping: dict[str, str] | None = None,
                    dry_run: bool = False, progress: Progress | None = None, options: ImportOptions | None = None,
                    rejects: str | Path | None = None) -> ImportSummary:
        """`rejects`: where the rejects file goes (default: data_dir/rejects/; a dry run writes one only here)."""
        path = Path(path)
        target = rejects_path(path, self.settings.data_dir, Path(rejects) if rejects is not None else None)
        src = apply_options(read_source(path, mapping), KINDS[kind], options, str(path))
        return self._import(kind, src, str(path), rejects=None if dry_run and rejects is None else target,
                            dry_run=dry_run, progress=progress)

    def import_records(self, kind: str, records: Sequence[dict], source: str = "api", dry_run: bool = False,
                       strict: bool = False, sync: bool = True) -> ImportSummary:
        """Records as dicts (the REST API's path). `strict`: all or nothing; `sync=False`: the caller
        schedules the warehouse sync itself (the server debounces it)."""
        return self._import(kind, records_to_table(list(records)), source, dry_run=dry_run, strict=strict,
                            sync=sync)

    def import_table(self, kind: str, table, source: str = "table",  # noqa: ANN001 - a pyarrow Table
                     progress: Progress | None = None) -> ImportSummary:
        return self._import(kind, table_source(table), source, progress=progress)

    def _import(self, kind: str, src: SourceTable, source: str, *, rejects: Path | None = None,
                dry_run: bool = False, progress: Progress | None = None, strict: bool = False,
                sync: bool = True) -> ImportSummary:
        summary = import_source(self.engine, kind, src, source, rejects=rejects, dry_run=dry_run,
                                chunk_rows=self.settings.import_chunk_rows, progress=progress,
                                warehouse_url=self.settings.warehouse if sync and not dry_run
                                and not self.settings.warehouse_external else None,
                                connect=self.raw,
                                strict=strict)
        started = time.perf_counter() - summary.seconds
        if sync and not dry_run and (summary.added + summary.updated or self._import_left_behind()):
            self.sync(progress=progress, compact=True)
            if kind in ("responses", "feedback"):  # text analytics: new comments masked and analysed, never failing
                report = self._auto_text_analyze()
                if report is not None:
                    summary.text_analysed, summary.text_seconds = int(report["total"]), float(report["seconds"])
            summary.seconds = time.perf_counter() - started  # the whole command: warehouse and text included
        return summary

    def _import_left_behind(self) -> bool:
        # Nothing added, but an earlier run of the same import may have been killed after it committed.
        with open_warehouse(self.settings.warehouse) as wh:
            ensure_schema(wh)
            return self._behind(wh)

    # -- warehouse ----------------------------------------------------------------------------

    def sync(self, rebuild: bool = False, progress: Progress | None = None, compact: bool = False,
             strict: bool = False) -> SyncReport:
        """Bring the warehouse up to date with the store. On an external, read-only warehouse
        (MOMENTI_WAREHOUSE_MAPPING) there is nothing to sync: the automatic syncs (after writes, in the server)
        do nothing and say so in the report; `strict` (`momenti warehouse sync`) raises ExternalWarehouseError."""
        if self.settings.warehouse_external:
            if strict:
                raise ExternalWarehouseError(READ_ONLY_MESSAGE)
            return SyncReport(skipped=READ_ONLY_MESSAGE)
        return sync(self.raw, self.settings.warehouse, rebuild=rebuild, progress=progress, compact=compact)

    def sync_written(self) -> SyncReport:
        """What the server's debounced background run and the `dispatch` job do after API, survey-page and widget
        writes: deliver the outbox's events (pipelines/events.py) to their subscribers, the warehouse sync first,
        then (MOMENTI_TEXT_AUTO) the incremental analysis of the comments that arrived, the same as after an
        import, which masks them in the store and the warehouse and gives them topics and sentiment. A failed
        subscriber raises (the syncer logs it, shows it in /health and retries) and gets the same events at the
        next run. The first run also analyses comments written before the store had an outbox, and (at server
        start) loads the text engines in a workspace that has comments, so the next comment does not wait."""
        from momenti.pipelines import events

        results = events.dispatch(self)
        report = results["warehouse"]
        assert isinstance(report, SyncReport)
        if not self.settings.text_auto or report.skipped:  # skipped: an external warehouse, no text tables there
            return report
        if "text" not in results and (report.rebuilt or self._text_behind):
            self.text_analyze()
        self._text_behind = False
        if not self._text_warm:
            from momenti.pipelines.text import analysis as text_store

            with self.raw() as store:
                expected = text_store.has_text(store)
            if expected:  # comments are expected here: load the engines now, not when the next one arrives
                text_store.warm_up(text_store.build_analyzer(self.settings))
                self._text_warm = True
        return report

    def warehouse_counts(self) -> dict[str, int]:
        return table_counts(self.settings.warehouse)

    # -- questions ----------------------------------------------------------------------------

    def query(self, metric: str, by: Sequence[str] | str | None = None, period: str | None = None,
              start: DateLike = None, end: DateLike = None, filters: FilterArg = None,
              question: str | None = None) -> MetricQuery:
        if isinstance(by, str):
            by = [b.strip() for b in by.split(",") if b.strip()]
        return MetricQuery(metric, list(by or []), period, as_date(start), as_date(end), parse_filters(filters),
                           question)

    def run(self, q: MetricQuery | Query | dict) -> pd.DataFrame:
        """Answer a query: a registered `Query`, or its dict {"kind": "nps", "by": "touchpoint", ...} (see
        momenti.insights.query; `momenti query --list` names the kinds), or a MetricQuery built with `query`.
        The frame's `.attrs["query"]` holds kind, parameters, n, interval and flag columns. A query is answered
        once per warehouse state: asked again before a sync changes the data, it comes from `self.results`."""
        if isinstance(q, MetricQuery):
            with self.warehouse() as wh:
                return run_metric(wh, q, self.settings.confidence, self.settings.min_n)
        query = parse(q)
        with self.hold_warehouse(), self.warehouse() as wh:  # held: the answer reuses the connection
            return self._answer(query, watermarks(wh))

    def _answer(self, query: Query, marks: tuple[int, ...]) -> pd.DataFrame:
        # The settings that change an answer (confidence, min_n) are per workspace, so not in the key.
        try:
            if not query.cacheable:
                return query.calculate(Context(self)).attach()
            return self.results.get_or_compute((query.cache_key(), marks),
                                               lambda: query.calculate(Context(self))).attach()
        except ExternalWarehouseError as exc:  # name the question that an external warehouse cannot answer
            raise ExternalWarehouseError(f"{query.kind}: {exc}") from None

    def run_many(self, docs: list[Query | dict]) -> list[pd.DataFrame | MomentiError]:
        """Answer several queries on one warehouse connection and one read of the watermarks (a dashboard
        page). A query the data cannot answer gives its error in its place instead of failing the others."""
        out: list[pd.DataFrame | MomentiError] = []
        with self.hold_warehouse(), self.warehouse() as wh:
            marks = watermarks(wh)
            for doc in docs:
                try:
                    out.append(self._answer(parse(doc), marks))
                except MomentiError as exc:
                    out.append(exc)
        return out

    def metric(self, metric: str, **kwargs: object) -> pd.DataFrame:
        return self.run(self.query(metric, **kwargs))  # type: ignore[arg-type]

    def nps(self, **kwargs: object) -> pd.DataFrame:
        """NPS per group: n, promoters, passives, detractors, nps, ci_low, ci_high (adjusted Wald)."""
        return self.metric("nps", **kwargs)

    def csat(self, **kwargs: object) -> pd.DataFrame:
        """CSAT top-2-box % per group with a Wilson interval, and the mean score."""
        return self.metric("csat", **kwargs)

    def ces(self, **kwargs: object) -> pd.DataFrame:
        """CES mean per group with a t-interval, and % easy (5-7) with a Wilson interval."""
        return self.metric("ces", **kwargs)

    def compare(self, metric: str, by: Sequence[str] | str | None = None, period: str | None = None,
                periods: tuple[str, str] | None = None, **kwargs: object) -> pd.DataFrame:
        q = self.query(metric, by=by, period=period, **kwargs)  # type: ignore[arg-type]
        with self.warehouse() as wh:
            return compare_metric(wh, q, periods, self.settings.confidence, self.settings.min_n)

    def explain(self, metric: str, **kwargs: object) -> str:
        """The SQL the warehouse runs for a metric question."""
        q = self.query(metric, **kwargs)  # type: ignore[arg-type]
        with self.warehouse() as wh:
            return to_sql(wh, q)

    def cases(self, customer_id: str | None = None, team: str | None = None, status: str = "all",
              limit: int = 10_000, **filters: object) -> pd.DataFrame:
        """Cases, newest first, one row each with its SLA computed now (first_contact_due, resolution_due,
        sla_state: on_track | at_risk | breached | met). Filters: customer_id, team, status (a status, "open"
        or "all"), owner, touchpoint, priority, sla_state, rule."""
        from momenti.domains.loop.cases import Actor
        from momenti.domains.loop.queue import COLUMNS, CaseFilter, list_cases

        f = CaseFilter(customer_id=customer_id, team=team, status=status, limit=limit, **filters)  # type: ignore[arg-type]
        with self.session() as s:
            rows, _ = list_cases(s, Actor("python"), f)
        return pd.DataFrame(rows, columns=COLUMNS)

    def case_frame(self, start: DateLike = None, end: DateLike = None) -> pd.DataFrame:
        """One row per case opened in [start, end] with its SLA clock read now (the case metrics' input)."""
        from momenti.domains.loop.metrics import case_frame

        with self.session() as s:
            return case_frame(s, as_date(start), as_date(end))

    def case_metrics(self, by: Sequence[str] | str | None = None, start: DateLike = None, end: DateLike = None,
                     hours: float = 48) -> pd.DataFrame:
        """Close-the-loop rate (share contacted within `hours`, Wilson interval), time to first contact and to
        resolution (median, p90, business hours), SLA hit rate, reopen rate, recovery rate and recovery NPS,
        per group (team, priority, touchpoint, rule, month). See domains/loop/metrics.py."""
        from momenti.domains.loop.metrics import case_metrics

        dims = [b.strip() for b in by.split(",") if b.strip()] if isinstance(by, str) else list(by or [])
        return case_metrics(self.case_frame(start, end), dims, hours, self.settings.confidence, self.settings.min_n)

    def case_root_causes(self, by: str | None = "touchpoint", start: DateLike = None,
                         end: DateLike = None) -> pd.DataFrame:
        """The root-cause Pareto of resolved cases: n, share and cumulative share within each `by` group."""
        from momenti.domains.loop.metrics import root_causes

        return root_causes(self.case_frame(start, end), by)

    def case_recovery_retention(self) -> pd.DataFrame:
        """Retention (Kaplan-Meier medians, log-rank) of customers whose last resolved case was resolved for
        them ("recovered") against those whose was not. Needs outcomes (`momenti import outcomes`)."""
        from momenti.insights.retention import survival

        cases = self.case_frame()
        done = cases[cases["recovered"].notna() & cases["customer_id"].notna()].sort_values("opened_at")
        last = done.groupby("customer_id")["recovered"].last()
        frame = self.retention_frame()
        frame = frame[frame["customer_id"].isin(last.index)].copy()
        frame["group"] = frame["customer_id"].map(lambda c: "recovered" if last[c] else "not recovered")
        if frame.empty:
            return pd.DataFrame(columns=survival.SUMMARY_COLUMNS)
        return survival.summary(frame, self.settings.confidence, self.settings.min_n)


def check_warehouse_mapping(path: str | Path | None = None, settings: Settings | None = None) -> CheckReport:
    """Check a mapping file (default: MOMENTI_WAREHOUSE_MAPPING) against the warehouse at MOMENTI_WAREHOUSE_URL:
    every table and column it names exists there with a usable type (`momenti warehouse check-mapping`)."""
    settings = settings or get_settings()
    path = Path(path) if path is not None else settings.warehouse_mapping
    if path is None:
        raise InputError("name the mapping file, or set MOMENTI_WAREHOUSE_MAPPING")
    # settings of their own for this file (a copy would carry the cached `warehouse` of the old ones)
    external = split_external(type(settings)(**{**settings.model_dump(), "warehouse_mapping": path}).warehouse)
    assert external is not None
    backends: list = []

    def backend() -> object:
        backends.append(external_backend(external[0]))
        return backends[-1]

    try:
        return check_mapping_file(path, backend)
    finally:
        for b in backends:
            if b.name != "pyspark":  # the Spark session stays for the process
                b.disconnect()


def open(target: str | Path | None = None, **overrides: object) -> Workspace:  # noqa: A001
    """Open a workspace: a data directory (default ./momenti-data or MOMENTI_DATA_DIR) or a database URL."""
    if target is not None:
        text = str(target)
        if "://" in text:
            overrides.setdefault("database_url", text)
        else:
            overrides.setdefault("data_dir", Path(text))
    return Workspace(get_settings(**overrides))
