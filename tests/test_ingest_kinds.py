"""Importing events, feedback and customers; and an import killed mid-way."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

import momenti
from ingest_helpers import MOMENTI_BIN, ROOT, read_rejects, stored_responses, write
from momenti.core.errors import InputError
from momenti.store.models import Customer, Event, Feedback, Touchpoint

# --- events ----------------------------------------------------------------------------------------------


def test_events_activity_or_touchpoint_durations_and_attributes(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv",
                 "event_id,customer_id,timestamp,activity,touchpoint,duration_s,queue,priority\n"
                 "e1,c1,2025-01-05T10:00:00Z,call received,contact-centre-call,30,cards,high\n"  # 2
                 "e2,c1,2025-01-05T10:05:00+01:00,,card-block,5.5,,\n"  # 3: activity from the touchpoint
                 "e3,c2,2025-01-05T11:00:00Z,web search,,,seo,\n"  # 4: no touchpoint
                 "e4,c2,2025-01-05T11:00:00Z,call,,-3,cards,\n"  # 5: negative duration
                 "e5,c3,2025-01-05T11:00:00Z,,,4,,\n"  # 6: neither activity nor touchpoint
                 "e6,c3,2025-01-05T11:00:00Z,call,nowhere,1,,\n"  # 7: unknown touchpoint
                 "e7,,2025-01-05T11:00:00Z,call,,1,,\n"  # 8: no customer
                 "e8,c4,later,call,,ten,,\n")  # 9: bad date and bad number
    s = ws_any.import_file("events", path)
    assert s.errors == [
        f"{path}:5: duration_s: -3.0 below 0",
        f"{path}:6: activity: missing (give an activity or a touchpoint)",
        f"{path}:7: touchpoint: unknown touchpoint nowhere",
        f"{path}:8: customer_id: missing",
        f"{path}:9: timestamp: not a date: later (use ISO 8601, e.g. 2025-03-01T10:00:00Z)",
        f"{path}:9: duration_s: not a number: ten",
    ]
    assert (s.added, s.rejected) == (3, 5)
    with ws_any.session() as sess:
        tps = dict(sess.execute(select(Touchpoint.id, Touchpoint.key)).all())
        events = {e.external_id: e for e in sess.scalars(select(Event))}
    assert set(events) == {"e1", "e2", "e3"}
    e1, e2, e3 = events["e1"], events["e2"], events["e3"]
    assert (e1.activity, tps[e1.touchpoint_id], e1.duration_s) == ("call received", "contact-centre-call", 30.0)
    assert json.loads(e1.attributes) == {"queue": "cards", "priority": "high"}
    assert (e2.activity, tps[e2.touchpoint_id], e2.timestamp, e2.duration_s) == (
        "card-block", "card-block", dt.datetime(2025, 1, 5, 9, 5), 5.5)
    assert json.loads(e2.attributes) == {"queue": None, "priority": None}
    assert (e3.touchpoint_id, e3.duration_s, json.loads(e3.attributes)["queue"]) == (None, None, "seo")
    assert ws_any.warehouse_counts()["events"] == 3
    with pytest.raises(InputError, match="activity' or a 'touchpoint"):
        ws_any.import_file("events", write(tmp_path / "e2.csv", "customer_id,timestamp\nc,2025-01-01\n"))


def test_column_names_differing_only_in_case_keep_their_own_values(ws_any: momenti.Workspace,
                                                                   tmp_path: Path) -> None:
    path = write(tmp_path / "ev.csv", "customer_id,timestamp,activity,Activity,NPS\n"
                                      "c1,2025-01-05T10:00:00Z,open,Open the app,x\n")
    assert ws_any.import_file("events", path).added == 1
    with ws_any.session() as sess:
        e = sess.scalars(select(Event)).one()
    assert e.activity == "open"
    assert json.loads(e.attributes) == {"Activity": "Open the app", "NPS": "x"}
    resp = write(tmp_path / "r.csv", "customer_id,touchpoint,submitted_at,Nps,nps\nc,branch-visit,2025-01-05,x,9\n")
    s = ws_any.import_file("responses", resp)
    assert (s.added, s.rejected) == (1, 0), s.errors
    assert next(iter(stored_responses(ws_any).values()))["answers"] == {"nps": 9, "Nps": "x"}


def test_column_names_with_quotes(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    """Italian questions as headers: apostrophes and quotes are names, not SQL."""
    header = 'customer_id,touchpoint,submitted_at,Com\'è stata l\'accoglienza?,"Voto ""finale"""\n'
    first = write(tmp_path / "r1.csv", header + "c1,branch-visit,2025-01-05,4,9\n")
    assert ws_any.import_file("responses", first).added == 1
    assert next(iter(stored_responses(ws_any).values()))["answers"] == {"Com'è stata l'accoglienza?": 4,
                                                                       'Voto "finale"': 9}
    # The question is numeric now: a word where a number belongs is reported under its own name.
    second = write(tmp_path / "r2.csv", header + "c2,branch-visit,2025-01-05,tre,8\n")
    s = ws_any.import_file("responses", second)
    assert s.errors == [f"{second}:2: Com'è stata l'accoglienza?: wrong type: tre is not a number"]
    assert read_rejects(Path(s.rejects_file))[0]["Com'è stata l'accoglienza?"] == "tre"


def test_unnamed_column_is_kept_under_a_positional_name(workspace: momenti.Workspace, tmp_path: Path) -> None:
    # pandas' to_csv writes its index under an empty header.
    path = write(tmp_path / "ev.csv", ",customer_id,timestamp,activity\n0,c1,2025-01-05,a\n1,c1,2025-01-06,b\n")
    s = workspace.import_file("events", path)
    assert (s.added, s.rejected) == (2, 0)
    with workspace.session() as sess:
        attrs = [json.loads(a) for a in sess.scalars(select(Event.attributes).order_by(Event.id))]
    assert attrs == [{"column_1": "0"}, {"column_1": "1"}]


# --- feedback --------------------------------------------------------------------------------------------


def test_feedback_required_fields_and_rating_range(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "fb.csv", "feedback_id,source,text,rating,touchpoint,created_at\n"
                                      "f1,Trustpilot,Great service,9,branch-visit,2025-02-01T08:00:00Z\n"
                                      "f2,,No source given,3,,2025-02-01\n"
                                      "f3,twitter,,3,,2025-02-01\n"
                                      "f4,twitter,Too high,11,,2025-02-01\n"
                                      "f5,twitter,Negative,-1,,2025-02-01\n"
                                      "f6,twitter,No rating at all,,,\n"
                                      "f7,twitter,  ,4,,2025-02-01\n")
    s = ws_any.import_file("feedback", path)
    assert s.errors == [f"{path}:3: source: missing", f"{path}:4: text: missing", f"{path}:5: rating: 11.0 above 10",
                        f"{path}:6: rating: -1.0 below 0", f"{path}:8: text: missing"]
    with ws_any.session() as sess:
        rows = {f.external_id: f for f in sess.scalars(select(Feedback))}
    assert set(rows) == {"f1", "f6"}
    assert (rows["f1"].source, rows["f1"].rating, rows["f1"].created_at) == ("trustpilot", 9.0,
                                                                            dt.datetime(2025, 2, 1, 8))
    assert rows["f6"].rating is None and rows["f6"].created_at is not None  # import time when not given
    with pytest.raises(InputError, match="missing required column.*text"):
        ws_any.import_file("feedback", write(tmp_path / "f2.csv", "source,body\nx,y\n"))


# --- customers -------------------------------------------------------------------------------------------


def test_customers_upsert_and_segments(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    resp = write(tmp_path / "r.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n"
                                     "r1,c1,branch-visit,2025-01-05,10\n"
                                     "r2,c2,branch-visit,2025-01-05,0\n"
                                     "r3,c3,branch-visit,2025-01-05,9\n")
    ws_any.import_file("responses", resp)
    first = ws_any.import_file("customers", write(tmp_path / "c.csv", "customer_id,region,plan\n"
                                                                      "c1,north,gold\nc2,south,basic\n,east,x\n"))
    assert (first.added, first.updated, first.rejected) == (2, 0, 1)
    assert first.errors == [f"{tmp_path / 'c.csv'}:4: customer_id: missing"]
    seg = ws_any.nps(by=["segment:region"]).set_index("segment_region")
    assert seg.loc["north", "n"] == 1 and seg.loc["south", "nps"] == pytest.approx(-100.0)

    # c1 moves region, c2 is unchanged, c3 is new; columns not given keep their values.
    second = ws_any.import_file("customers", write(tmp_path / "c2.csv", "customer_id,region\n"
                                                                        "c1,south\nc2,south\nc3,north\n"))
    assert (second.added, second.updated, second.duplicates) == (1, 1, 1)
    with ws_any.session() as sess:
        attrs = {c.customer_key: json.loads(c.attributes) for c in sess.scalars(select(Customer))}
    assert attrs == {"c1": {"region": "south", "plan": "gold"}, "c2": {"region": "south", "plan": "basic"},
                     "c3": {"region": "north"}}
    seg = ws_any.nps(by=["segment:region"]).set_index("segment_region")
    assert seg.loc["south", ["n", "promoters", "detractors"]].tolist() == [2, 1, 1]
    assert seg.loc["north", ["n", "promoters"]].tolist() == [1, 1]
    by_plan = ws_any.nps(by=["segment:plan"], filters={"segment:region": ["south"]})
    assert dict(zip(by_plan["segment_plan"], by_plan["n"], strict=True)) == {"basic": 1, "gold": 1}
    again = ws_any.import_file("customers", tmp_path / "c2.csv")
    assert (again.added, again.updated, again.duplicates) == (0, 0, 3)


def test_customers_empty_cells_neither_erase_nor_count_as_changes(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "customer_id,region,plan,first_seen\n"
                                     "c1,north,,2024-03-01T10:00:00+01:00\n"
                                     "c2,,basic,\n"
                                     "c3,,,\n")
    assert ws_any.import_file("customers", path).added == 3
    again = ws_any.import_file("customers", path)
    assert (again.added, again.updated, again.duplicates) == (0, 0, 3)
    ids_only = write(tmp_path / "ids.csv", "customer_id\nc1\nc4\n")
    assert (ws_any.import_file("customers", ids_only).added, ws_any.import_file("customers", ids_only).updated) == (
        1, 0)
    later = write(tmp_path / "later.csv", "customer_id,plan,first_seen\nc1,gold,2024-06-01\nc2,,2023-01-01\n")
    s = ws_any.import_file("customers", later)
    assert (s.added, s.updated) == (0, 2)
    with ws_any.session() as sess:
        rows = {c.customer_key: (json.loads(c.attributes or "{}"), c.first_seen)
                for c in sess.scalars(select(Customer))}
    assert rows == {
        "c1": ({"region": "north", "plan": "gold"}, dt.datetime(2024, 3, 1, 9)),  # the earliest first_seen stays
        "c2": ({"plan": "basic"}, dt.datetime(2023, 1, 1)),
        "c3": ({}, None),
        "c4": ({}, None),
    }


# --- a killed import -------------------------------------------------------------------------------------


KILL_ROWS = 300_000
CHUNK = 20_000


def _store_count(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # the table does not exist yet
        return 0
    finally:
        con.close()


def test_killed_import_leaves_whole_chunks_and_a_rerun_completes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MOMENTI_")},
           "MOMENTI_DATA_DIR": str(data_dir), "MOMENTI_IMPORT_CHUNK_ROWS": str(CHUNK)}
    bank = ROOT / "src/momenti/domains/journey_map/templates/bank.yaml"
    subprocess.run([str(MOMENTI_BIN), "journey", "apply", str(bank)],
                   env=env, check=True, capture_output=True)
    tps = ["branch-visit", "app-login", "contact-centre-call", "card-block"]
    path = tmp_path / "big.csv"
    with path.open("w") as fh:
        fh.write("response_id,customer_id,touchpoint,submitted_at,nps,csat\n")
        fh.writelines(f"r{i},c{i % 5000},{tps[i % 4]},2025-01-{i % 28 + 1:02d}T10:00:00Z,{i % 11},{i % 5 + 1}\n"
                      for i in range(KILL_ROWS))
    db = data_dir / "momenti.db"

    proc = subprocess.Popen([str(MOMENTI_BIN), "import", "responses", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        landed = 0
        while landed == 0 and proc.poll() is None:
            time.sleep(0.02)
            landed = _store_count(db)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the import ended before it could be killed"

    # The store after the kill: whole chunks only, every response with both its answers, a sound file.
    con = sqlite3.connect(db, timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        n = con.execute("SELECT count(*) FROM responses").fetchone()[0]
        assert 0 < n < KILL_ROWS and n % CHUNK == 0
        assert con.execute("SELECT count(*) FROM answers").fetchone()[0] == 2 * n
        orphans = con.execute("SELECT count(*) FROM responses r WHERE NOT EXISTS "
                              "(SELECT 1 FROM answers a WHERE a.response_id = r.id)").fetchone()[0]
        assert orphans == 0
        # Whole chunks are the first rows of the file (ids follow the external id's order inside a chunk).
        assert con.execute("SELECT min(id), max(id) FROM responses").fetchone() == (1, n)
        assert con.execute("SELECT min(CAST(substr(external_id, 2) AS INTEGER)), "
                           "max(CAST(substr(external_id, 2) AS INTEGER)) FROM responses").fetchone() == (0, n - 1)
        assert con.execute("SELECT status FROM imports").fetchall() == [("running",)]
    finally:
        con.close()

    rerun = subprocess.run([str(MOMENTI_BIN), "import", "responses", str(path), "--json"], env=env,
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert (summary["added"], summary["duplicates"], summary["rejected"]) == (KILL_ROWS - n, n, 0)

    con = sqlite3.connect(db, timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("SELECT count(*), count(DISTINCT external_id) FROM responses").fetchone() == (
            KILL_ROWS, KILL_ROWS)
        assert con.execute("SELECT count(*) FROM answers").fetchone()[0] == 2 * KILL_ROWS
        # The killed run is no longer said to be running.
        assert con.execute("SELECT status FROM imports ORDER BY id").fetchall() == [("interrupted",), ("done",)]
    finally:
        con.close()

    # The warehouse: the killed run may have pushed some chunks and not others; the re-run's pushes are refused
    # when the warehouse is not exactly caught up, and the sync the import runs at the end fills the gap. A
    # sync here must find nothing left to add.
    ws = momenti.open(data_dir)
    try:
        assert ws.sync().added["responses"] == 0
        assert int(ws.nps()["n"].sum()) == KILL_ROWS
        assert int(ws.csat()["n"].sum()) == KILL_ROWS
        assert ws.warehouse_counts()["answers"] == 2 * KILL_ROWS
        with ws.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM responses")).scalar() == KILL_ROWS
    finally:
        ws.close()


