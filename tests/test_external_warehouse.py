"""An external, read-only warehouse (MOMENTI_WAREHOUSE_MAPPING): the company's own tables, with Italian names, read
through a mapping file, answer as an independent computation on the same rows does (NPS by touchpoint from a
wide and from a long responses table; the directly-follows graph, variants, start and end activities of the event
log), while momenti creates nothing there and refuses to sync; `momenti warehouse check-mapping` names each
problem of a broken mapping. On PostgreSQL (a database of the test's own), and a small case on Spark."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import momenti
from conftest import PG_SERVER
from momenti.cli.main import app
from momenti.core.errors import ExternalWarehouseError

BASE = dt.datetime(2026, 3, 2, 9, 0)
PROCESSES = [  # activity sequences the generator draws cases from (loops and skips make several variants)
    ["Apertura pratica", "Verifica documenti", "Approvazione", "Chiusura"],
    ["Apertura pratica", "Verifica documenti", "Richiesta integrazione", "Verifica documenti", "Approvazione",
     "Chiusura"],
    ["Apertura pratica", "Rifiuto"],
    ["Apertura pratica", "Verifica documenti", "Rifiuto", "Reclamo", "Chiusura"],
]
TOUCHPOINTS = ["filiale", "app", "call_center"]


def make_events(rng: random.Random, n_cases: int) -> list[tuple]:
    """(id_pratica, attivita, istante, cliente, canale) rows; a case's events at distinct, increasing times."""
    rows = []
    for i in range(n_cases):
        steps = rng.choice(PROCESSES)
        t = BASE + dt.timedelta(hours=rng.randrange(0, 24 * 60))
        for act in steps:
            t += dt.timedelta(minutes=rng.randrange(1, 600))
            rows.append((f"P{i:04d}", act, t, f"C{i % 40:03d}", rng.choice(["filiale", "app", "telefono"])))
    rng.shuffle(rows)  # stored in no order: momenti orders by time
    return rows


def make_wide(rng: random.Random, n: int) -> list[tuple]:
    """(id_risposta, cliente, punto_contatto, inviata_il, voto_nps, commento); some votes missing."""
    return [(i + 1, f"C{i % 40:03d}", rng.choice(TOUCHPOINTS), BASE + dt.timedelta(hours=7 * i),
             None if rng.random() < 0.1 else rng.randrange(0, 11), rng.choice(["ottimo", "lento", None]))
            for i in range(n)]


def make_long(rng: random.Random, n: int) -> list[tuple]:
    """(id_risposta, cliente, punto_contatto, inviata_il, domanda, valore, testo): per response an NPS answer
    (question NPS_01), most with a CSAT answer and a comment."""
    rows = []
    for i in range(n):
        ctx = (1000 + i, f"C{i % 40:03d}", rng.choice(TOUCHPOINTS), BASE + dt.timedelta(hours=5 * i))
        rows.append((*ctx, "NPS_01", float(rng.randrange(0, 11)), None))
        if rng.random() < 0.8:
            rows.append((*ctx, "CSAT_02", float(rng.randrange(1, 6)), None))
        if rng.random() < 0.5:
            rows.append((*ctx, "NOTE", None, rng.choice(["grazie", "da migliorare"])))
    return rows


# -- the independent computations --------------------------------------------------------------------------

def expected_nps(rows: list[tuple[str, float]]) -> dict[str, tuple[int, float]]:
    """touchpoint -> (n, NPS) from (touchpoint, vote) pairs."""
    out = {}
    for tp in {tp for tp, _ in rows}:
        votes = [v for t, v in rows if t == tp]
        promoters, detractors = sum(v >= 9 for v in votes), sum(v <= 6 for v in votes)
        out[tp] = (len(votes), 100.0 * (promoters - detractors) / len(votes))
    return out


def traces(events: list[tuple]) -> list[list[str]]:
    by_case: dict[str, list[tuple]] = {}
    for case, act, ts, *_ in events:
        by_case.setdefault(case, []).append((ts, act))
    return [[a for _, a in sorted(steps)] for steps in by_case.values()]


def expected_process(events: list[tuple]) -> dict[str, Counter]:
    ts = traces(events)
    return {"dfg": Counter((a, b) for t in ts for a, b in zip(t, t[1:], strict=False)),
            "variants": Counter(tuple(t) for t in ts), "start": Counter(t[0] for t in ts),
            "end": Counter(t[-1] for t in ts)}


def observed_process(ws: momenti.Workspace) -> dict[str, Counter]:
    dfg, variants = ws.dfg(), ws.variants()
    return {"dfg": Counter({(r.source, r.target): int(r.count) for r in dfg.itertuples()}),
            "variants": Counter({tuple(r.variant): int(r.count) for r in variants.itertuples()}),
            "start": Counter(dict(zip(ws.start_activities().activity, ws.start_activities()["count"], strict=True))),
            "end": Counter(dict(zip(ws.end_activities().activity, ws.end_activities()["count"], strict=True)))}


# -- the mapping files ---------------------------------------------------------------------------------

EVENTS_MAPPING = {"table": "eventi_contatto", "columns": {
    "case_id": "id_pratica", "activity": "attivita", "timestamp": "istante", "customer_id": "cliente",
    "channel": "canale"}}
WIDE_MAPPING = {"table": "risposte_sondaggio", "layout": "wide", "columns": {
    "id": "id_risposta", "customer_id": "cliente", "touchpoint": "punto_contatto", "submitted_at": "inviata_il"},
    "questions": {"nps": {"column": "voto_nps", "kind": "nps"}, "commento": {"column": "commento", "kind": "text"}}}
LONG_MAPPING = {"table": "risposte_lunghe", "layout": "long", "columns": {
    "id": "id_risposta", "customer_id": "cliente", "touchpoint": "punto_contatto", "submitted_at": "inviata_il",
    "question": "domanda", "value_num": "valore", "value_text": "testo"},
    "questions": {"nps": {"value": "NPS_01", "kind": "nps"}, "csat": {"value": "CSAT_02", "kind": "csat"},
                  "note": {"value": "NOTE", "kind": "text"}}}


def write_mapping(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def check_cli(path: Path, url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["warehouse", "check-mapping", str(path), *args],
                                env={"MOMENTI_WAREHOUSE_URL": url})
    return result.exit_code, result.output


# -- PostgreSQL ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def company() -> Iterator[dict]:
    """A database of the test's own holding the company's tables, dropped at the end."""
    name = f"momenti_ext_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = make_url(PG_SERVER)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(server.set(database=name))
    rng = random.Random(19)
    data = {"events": make_events(rng, 120), "wide": make_wide(rng, 300), "long": make_long(rng, 250)}
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE eventi_contatto (id_pratica text, attivita text, istante timestamp, "
                          "cliente text, canale text)"))
        conn.execute(text("INSERT INTO eventi_contatto VALUES (:a, :b, :c, :d, :e)"),
                     [dict(zip("abcde", r, strict=True)) for r in data["events"]])
        conn.execute(text("CREATE TABLE risposte_sondaggio (id_risposta integer, cliente text, punto_contatto text, "
                          "inviata_il timestamp, voto_nps smallint, commento text)"))
        conn.execute(text("INSERT INTO risposte_sondaggio VALUES (:a, :b, :c, :d, :e, :f)"),
                     [dict(zip("abcdef", r, strict=True)) for r in data["wide"]])
        conn.execute(text("CREATE TABLE risposte_lunghe (id_risposta bigint, cliente text, punto_contatto text, "
                          "inviata_il timestamp, domanda text, valore numeric(4, 1), testo text)"))
        conn.execute(text("INSERT INTO risposte_lunghe VALUES (:a, :b, :c, :d, :e, :f, :g)"),
                     [dict(zip("abcdefg", r, strict=True)) for r in data["long"]])
    data["engine"] = engine
    data["url"] = f"postgres://{server.username}@{server.host}:{server.port}/{name}"
    yield data
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pg_objects(engine) -> set[tuple[str, str, str]]:  # noqa: ANN001 - an SQLAlchemy engine
    """Every table, view, sequence and schema in the database (temporary ones of other sessions included)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT n.nspname, c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n "
                                 "ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                                 "'information_schema', 'pg_toast')")).all()
        schemas = conn.execute(text("SELECT nspname, '', 'schema' FROM pg_namespace")).all()
    return {tuple(r) for r in [*rows, *schemas]}


def open_external(tmp_path: Path, url: str, mapping: dict) -> momenti.Workspace:
    path = write_mapping(tmp_path / "mapping.yaml", mapping)
    return momenti.open(tmp_path / "data", warehouse_url=url, warehouse_mapping=path)


@pytest.mark.postgres
class TestPostgres:
    def test_wide_nps_and_process(self, company: dict, tmp_path: Path) -> None:
        before = pg_objects(company["engine"])
        ws = open_external(tmp_path, company["url"], {"events": EVENTS_MAPPING, "responses": WIDE_MAPPING})
        try:
            got = ws.nps(by="touchpoint")
            want = expected_nps([(r[2], r[4]) for r in company["wide"] if r[4] is not None])
            assert {r.touchpoint: (int(r.n), round(float(r.nps), 9)) for r in got.itertuples()} == {
                tp: (n, round(v, 9)) for tp, (n, v) in want.items()}
            run = ws.run({"kind": "nps", "by": "touchpoint"})  # the query protocol, cache and watermarks too
            assert sorted(run.n.astype(int)) == sorted(n for n, _ in want.values())
            assert observed_process(ws) == expected_process(company["events"])
            with pytest.raises(ExternalWarehouseError, match="nothing to sync"):
                ws.sync(strict=True)
            assert ws.sync().skipped  # the automatic syncs (after writes, in the server) do nothing
            with pytest.raises(ExternalWarehouseError, match="customer_attributes"):
                ws.nps(by="segment:segmento")  # kept by momenti's sync only: refused, with what is missing
        finally:
            ws.close()
        assert pg_objects(company["engine"]) == before  # nothing created, not even a temporary table

    def test_long_responses(self, company: dict, tmp_path: Path) -> None:
        ws = open_external(tmp_path, company["url"], {"responses": LONG_MAPPING})
        try:
            got = ws.nps(by="touchpoint")
            want = expected_nps([(r[2], r[5]) for r in company["long"] if r[4] == "NPS_01"])
            assert {r.touchpoint: int(r.n) for r in got.itertuples()} == {tp: n for tp, (n, _) in want.items()}
            for r in got.itertuples():
                assert float(r.nps) == pytest.approx(want[r.touchpoint][1], abs=1e-9)
            csat = ws.csat()
            assert int(csat.n.iloc[0]) == sum(r[4] == "CSAT_02" for r in company["long"])
            with pytest.raises(ExternalWarehouseError, match="events"):
                ws.dfg()  # no events mapped: refused, naming what to map
        finally:
            ws.close()

    def test_server(self, company: dict, tmp_path: Path) -> None:
        """`momenti serve` works: its background sync does nothing, questions answer, what needs momenti's own
        tables is a 409 naming the question and what is missing (never a 500)."""
        from api_helpers import make_api

        path = write_mapping(tmp_path / "mapping.yaml", {"events": EVENTS_MAPPING, "responses": WIDE_MAPPING})
        over = {"warehouse_url": company["url"], "warehouse_mapping": path}
        ws = momenti.open(tmp_path / "data", **over)
        before = pg_objects(company["engine"])
        try:
            assert ws.sync_written().skipped
            for api in make_api(ws, **over):
                r = api.client.post("/api/v1/query", json={"kind": "nps", "by": "touchpoint"})
                assert r.status_code == 200, r.text
                assert sum(row["n"] for row in r.json()["rows"]) == sum(v[4] is not None for v in company["wide"])
                r = api.client.post("/api/v1/query", json={"kind": "topics"})
                assert r.status_code == 409, r.text
                assert "topics" in r.text and "text_results" in r.text
                health = api.client.get("/api/v1/health")
                assert health.status_code == 200, health.text
                assert health.json()["last_sync_error"] is None
            assert ws.warehouse_counts()["events"] == len(company["events"])
        finally:
            ws.close()
        assert pg_objects(company["engine"]) == before

    def test_cli_sync_refused(self, company: dict, tmp_path: Path) -> None:
        path = write_mapping(tmp_path / "mapping.yaml", {"events": EVENTS_MAPPING})
        result = CliRunner().invoke(app, ["warehouse", "sync"], env={
            "MOMENTI_DATA_DIR": str(tmp_path / "data"), "MOMENTI_WAREHOUSE_URL": company["url"],
            "MOMENTI_WAREHOUSE_MAPPING": str(path)})
        assert isinstance(result.exception, ExternalWarehouseError)
        assert "external and read-only" in str(result.exception)

    def test_check_mapping_ok(self, company: dict, tmp_path: Path) -> None:
        path = write_mapping(tmp_path / "ok.yaml", {"events": EVENTS_MAPPING, "responses": WIDE_MAPPING})
        code, out = check_cli(path, company["url"])
        assert code == 0, out
        assert "0 problems" in out
        assert f"events: {len(company['events']):,} rows" in out
        code, out = check_cli(path, company["url"], "--format", "json")
        doc = json.loads(out)
        assert code == 0 and doc["ok"] and doc["rows"]["responses"] == len(company["wide"])

    def test_check_mapping_broken(self, company: dict, tmp_path: Path) -> None:
        broken = {"events": {**EVENTS_MAPPING, "columns": {**EVENTS_MAPPING["columns"], "activity": "attività",
                                                          "timestamp": "canale"}},
                  "responses": {**LONG_MAPPING, "table": "risposte_perdute"}}
        code, out = check_cli(write_mapping(tmp_path / "broken.yaml", broken), company["url"])
        assert code == 1
        lines = [line for line in out.splitlines() if ":" in line and "rows" not in line]
        assert any(line.startswith("events.columns.activity: eventi_contatto.attività: column not found")
                   for line in lines), out
        assert any(line.startswith("events.columns.timestamp: eventi_contatto.canale: type string")
                   for line in lines), out
        assert any(line.startswith("responses.table: risposte_perdute: table not found") for line in lines), out
        assert "3 problems" in out
        # a file that is not a mapping: the key named
        code, out = check_cli(write_mapping(tmp_path / "bad.yaml", {"events": {"table": "x", "columns": {
            "activity": "a"}}}), company["url"])
        assert code == 1 and "events" in out and "case_id" in out


# -- DuckDB (no server needed) ------------------------------------------------------------------------

def test_duckdb_file(tmp_path: Path) -> None:
    """A company DuckDB file: the same reading, and the file's tables unchanged."""
    import duckdb

    rng = random.Random(5)
    events, answers = make_events(rng, 40), make_long(rng, 80)
    path = tmp_path / "azienda.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE eventi_contatto (id_pratica VARCHAR, attivita VARCHAR, istante TIMESTAMP, "
                "cliente VARCHAR, canale VARCHAR)")
    con.executemany("INSERT INTO eventi_contatto VALUES (?, ?, ?, ?, ?)", events)
    con.execute("CREATE TABLE risposte_lunghe (id_risposta BIGINT, cliente VARCHAR, punto_contatto VARCHAR, "
                "inviata_il TIMESTAMP, domanda VARCHAR, valore DOUBLE, testo VARCHAR)")
    con.executemany("INSERT INTO risposte_lunghe VALUES (?, ?, ?, ?, ?, ?, ?)", answers)
    con.close()
    ws = open_external(tmp_path, f"duckdb://{path}", {"events": EVENTS_MAPPING, "responses": LONG_MAPPING})
    try:
        assert observed_process(ws) == expected_process(events)
        want = expected_nps([(r[2], r[5]) for r in answers if r[4] == "NPS_01"])
        got = ws.nps(by="touchpoint")
        assert {r.touchpoint: (int(r.n), round(float(r.nps), 9)) for r in got.itertuples()} == {
            tp: (n, round(v, 9)) for tp, (n, v) in want.items()}
        with pytest.raises(ExternalWarehouseError, match="nothing to sync"):
            ws.sync(strict=True)
    finally:
        ws.close()
    con = duckdb.connect(str(path), read_only=True)
    assert sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()) == [
        "eventi_contatto", "risposte_lunghe"]
    con.close()


# -- Spark ---------------------------------------------------------------------------------------------

@pytest.mark.spark
@pytest.mark.slow
def test_spark_parquet_events(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    import pyarrow as pa
    import pyarrow.parquet as pq

    events = make_events(random.Random(3), 60)
    parquet = tmp_path / "azienda" / "eventi_contatto"
    parquet.mkdir(parents=True)
    pq.write_table(pa.table({"id_pratica": [r[0] for r in events], "attivita": [r[1] for r in events],
                             "istante": pa.array([r[2] for r in events], pa.timestamp("us")),
                             "cliente": [r[3] for r in events], "canale": [r[4] for r in events]}),
                   parquet / "part-0.parquet")
    url = f"pyspark://local{tmp_path / 'spark'}"
    from momenti.warehouse.connection import external_backend

    # The company's catalog: a database and a table over its Parquet files (as its metastore would hold them).
    session = external_backend(url)._session
    session.sql("CREATE DATABASE IF NOT EXISTS azienda")
    session.sql(f"CREATE TABLE IF NOT EXISTS azienda.eventi_contatto USING parquet LOCATION '{parquet}'")
    mapping = {"events": {**EVENTS_MAPPING, "database": "azienda"}}
    ws = open_external(tmp_path, url, mapping)
    try:
        assert observed_process(ws) == expected_process(events)
        with pytest.raises(ExternalWarehouseError, match="nothing to sync"):
            ws.sync(strict=True)
    finally:
        ws.close()
    assert sorted(p.name for p in parquet.iterdir()) == ["part-0.parquet"]  # nothing written beside it
    code, out = check_cli(write_mapping(tmp_path / "m.yaml", mapping), url)
    assert code == 0 and f"events: {len(events):,} rows" in out, out
