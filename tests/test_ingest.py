"""Bulk import of responses: validation by line, rejects, idempotency, line numbers, mapping, formats, time
zones. Store-facing tests run on SQLite and on PostgreSQL (events, feedback, customers: test_ingest_kinds.py)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

import momenti
from ingest_helpers import HEADER, count, read_rejects, stored_responses, write
from momenti.core.errors import InputError
from momenti.store.models import Answer, ImportRun, Question, Response

# --- responses: every kind of bad row --------------------------------------------------------------------


BAD_ROWS = [  # (line, row, expected errors) -- line 1 is the header
    (2, "g1,c1,branch-visit,2025-01-05T10:00:00Z,10,5,2,lovely", []),
    (3, "b1,,branch-visit,2025-01-05T10:00:00Z,9,5,2,", ["customer_id: missing"]),
    (4, "g2,c2,app-login,2025-01-06T09:00:00Z,9,4,3,", []),
    (5, "b2,c3,,2025-01-05T10:00:00Z,9,5,2,", ["touchpoint: missing"]),
    (6, "b3,c4,teleport,2025-01-05T10:00:00Z,9,5,2,", ["touchpoint: unknown touchpoint teleport"]),
    (7, "g3,c5,branch-visit,2025-01-07T10:00:00Z,8,3,4,meh", []),
    (8, "b4,c6,branch-visit,2025-01-05T10:00:00Z,11,5,2,", ["nps: score 11 outside 0..10"]),
    (9, "b5,c7,branch-visit,2025-01-05T10:00:00Z,3,0,2,", ["csat: score 0 outside 1..5"]),
    (10, "b6,c8,branch-visit,2025-01-05T10:00:00Z,3,4,8,", ["ces: score 8 outside 1..7"]),
    (11, "g4,c9,app-login,2025-01-08T10:00:00Z,3,2,6,slow", []),
    (12, "b7,c10,branch-visit,2025-01-05T10:00:00Z,7.5,4,3,", ["nps: score 7.5 is not a whole number (0..10)"]),
    (13, "b8,c11,branch-visit,yesterday,7,4,3,",
     ["submitted_at: not a date: yesterday (use ISO 8601, e.g. 2025-03-01T10:00:00Z)"]),
    (14, "b9,c12,branch-visit,31/02/2025,7,4,3,",
     ["submitted_at: not a date: 31/02/2025 (day or month first? pass --dayfirst, or --date-format e.g. "
      "%m/%d/%Y)"]),
    (15, "b10,c13,branch-visit,2025-01-05T10:00:00Z,7,abc,3,", ["csat: wrong type: abc is not a number"]),
    (16, "b11,,branch-visit,2025-01-05T10:00:00Z,12,4,3,two problems",
     ["customer_id: missing", "nps: score 12 outside 0..10"]),
    (17, "g5,c14,branch-visit,2025-01-09T10:00:00Z,0,1,7,awful", []),
]


def test_responses_bad_rows_reported_by_line_and_good_rows_kept(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "responses.csv", HEADER + "\n" + "\n".join(r for _, r, _ in BAD_ROWS) + "\n")
    s = ws_any.import_file("responses", path)

    expected_errors = [f"{path}:{line}: {e}" for line, _, errs in BAD_ROWS for e in errs]
    assert s.errors == expected_errors
    good = [r for _, r, errs in BAD_ROWS if not errs]
    bad = [(line, r, errs) for line, r, errs in BAD_ROWS if errs]
    assert (s.read, s.added, s.rejected, s.duplicates) == (len(BAD_ROWS), len(good), len(bad), 0)

    # The rejects file: original values, the physical line and every error of the row.
    # In the data directory, not beside the input (whose folder may be read-only).
    assert s.rejects_file == str(tmp_path / "data" / "rejects" / "responses.rejects.csv")
    rejects = read_rejects(Path(s.rejects_file))
    assert list(rejects[0]) == [*HEADER.split(","), "_line", "_error"]
    expected_rejects = [
        {**dict(zip(HEADER.split(","), row.split(","), strict=True)), "_line": str(line), "_error": "; ".join(errs)}
        for line, row, errs in bad
    ]
    assert rejects == expected_rejects

    # Every valid row, with its values, is in the store; nothing else is.
    stored = stored_responses(ws_any)
    assert set(stored) == {r.split(",")[0] for r in good}
    g1 = stored["g1"]
    assert (g1["customer"], g1["touchpoint"], g1["submitted_at"]) == ("c1", "branch-visit", dt.datetime(2025, 1, 5, 10))
    assert g1["answers"] == {"nps": 10, "csat": 5, "ces": 2, "comment": "lovely"}
    assert stored["g2"]["answers"] == {"nps": 9, "csat": 4, "ces": 3}  # an empty comment is no answer

    # ... and in the warehouse: NPS of 10, 9, 8, 3, 0 -> 2 promoters, 1 passive, 2 detractors.
    total = ws_any.nps()
    assert total[["n", "promoters", "passives", "detractors"]].iloc[0].tolist() == [5, 2, 1, 2]
    assert total["nps"].iloc[0] == pytest.approx(0.0)
    by_tp = ws_any.nps(by=["touchpoint"]).set_index("touchpoint")
    assert by_tp.loc["branch-visit", "n"] == 3 and by_tp.loc["app-login", "n"] == 2
    assert by_tp.loc["app-login", "nps"] == pytest.approx(0.0)  # one 9, one 3
    assert ws_any.csat()["n"].iloc[0] == 5


def test_a_clean_import_removes_a_stale_rejects_file(workspace: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n"
                                     "a,c,branch-visit,2025-01-05,9\nb,c,nowhere,2025-01-05,9\n")
    assert workspace.import_file("responses", path).rejects_file is not None
    write(path, "response_id,customer_id,touchpoint,submitted_at,nps\nb,c,branch-visit,2025-01-05,9\n")
    s = workspace.import_file("responses", path)
    assert (s.added, s.rejected, s.rejects_file) == (1, 0, None)
    assert not (tmp_path / "data" / "rejects" / "r.rejects.csv").exists()


def test_a_fixed_rejects_file_imports_again(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    """The usual loop: fix the rejects file, import it; its _line and _error columns are not data."""
    path = write(tmp_path / "r.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n"
                                     "a,c1,branch-visit,2025-01-05,9\n"
                                     "b,c2,brnch-visit,2025-01-06,4\n")
    s = ws_any.import_file("responses", path)
    assert s.errors == [f"{path}:3: touchpoint: unknown touchpoint brnch-visit"]
    fixed = write(tmp_path / "fixed.csv", Path(s.rejects_file).read_text("utf-8").replace("brnch-visit",
                                                                                        "branch-visit"))
    s2 = ws_any.import_file("responses", fixed)
    assert (s2.added, s2.rejected) == (1, 0), s2.errors
    stored = stored_responses(ws_any)
    assert stored["b"]["answers"] == {"nps": 4}  # no "_line" / "_error" questions
    with ws_any.session() as sess:
        assert not [k for k in sess.scalars(select(Question.key)) if k.startswith("_")]


def test_rejects_file_keeps_the_files_column_names_under_a_mapping(ws_any: momenti.Workspace,
                                                                    tmp_path: Path) -> None:
    mapping = {"Cliente": "customer_id", "Punto": "touchpoint", "Data": "submitted_at", "Voto": "nps"}
    path = write(tmp_path / "voti.csv", "Cliente,Punto,Data,Voto\n"
                                        "c1,branch-visit,2025-01-05,9\n"
                                        "c2,branch-visit,2025-01-05,15\n"
                                        "c3,filiale,2025-01-05,7\n")
    s = ws_any.import_file("responses", path, mapping=mapping)
    assert s.errors == [f"{path}:3: nps: score 15 outside 0..10", f"{path}:4: touchpoint: unknown touchpoint filiale"]
    rejects = Path(s.rejects_file)
    assert rejects.read_text("utf-8").splitlines() == [
        "Cliente,Punto,Data,Voto,_line,_error",
        "c2,branch-visit,2025-01-05,15,3,nps: score 15 outside 0..10",
        "c3,filiale,2025-01-05,7,4,touchpoint: unknown touchpoint filiale",
    ]
    # Fixed in place and imported with the same command: one row still bad, the other lands.
    write(rejects, rejects.read_text("utf-8").replace("filiale", "branch-visit"))
    again = ws_any.import_file("responses", rejects, mapping=mapping)
    assert (again.added, again.rejected) == (1, 1)
    assert again.errors == [f"{rejects}:2: nps: score 15 outside 0..10"]
    # The rejects of a rejects file go beside it: the file being imported is neither overwritten nor deleted.
    assert again.rejects_file == str(rejects.with_name("voti.rejects.rejects.csv"))
    assert "filiale" not in rejects.read_text("utf-8") and "c3,branch-visit" in rejects.read_text("utf-8")
    write(rejects, "Cliente,Punto,Data,Voto\nc2,branch-visit,2025-01-05,10\n")
    assert ws_any.import_file("responses", rejects, mapping=mapping).added == 1
    assert rejects.exists()
    assert sorted(v["customer"] for v in stored_responses(ws_any).values()) == ["c1", "c2", "c3"]


# --- line numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("final_newline", [True, False])
def test_line_numbers_with_a_quoted_value_spanning_lines(workspace: momenti.Workspace, tmp_path: Path, eol: str,
                                                          final_newline: bool) -> None:
    lines = [
        "response_id,customer_id,touchpoint,submitted_at,nps,comment",  # 1
        'r1,c1,branch-visit,2025-01-05T10:00:00Z,9,"first line',  # 2
        'second line"',  # 3
        "r2,c2,nowhere,2025-01-05T10:00:00Z,9,x",  # 4: bad
        'r3,c3,branch-visit,2025-01-05T10:00:00Z,9,"a',  # 5
        "b",  # 6
        'c"',  # 7
        "r4,c4,branch-visit,2025-01-05T10:00:00Z,99,y",  # 8: bad
    ]
    path = write(tmp_path / "multi.csv", eol.join(lines) + (eol if final_newline else ""))
    s = workspace.import_file("responses", path)
    assert s.errors == [f"{path}:4: touchpoint: unknown touchpoint nowhere", f"{path}:8: nps: score 99 outside 0..10"]
    assert [r["_line"] for r in read_rejects(Path(s.rejects_file))] == ["4", "8"]
    comment = stored_responses(workspace)["r1"]["answers"]["comment"]
    assert comment.splitlines() == ["first line", "second line"]


def test_line_numbers_with_a_single_multiline_value_and_no_final_newline(workspace: momenti.Workspace,
                                                                         tmp_path: Path) -> None:
    # One extra newline inside a value and none at the end: as many newlines as records, still not one per line.
    path = write(tmp_path / "m.csv", 'response_id,customer_id,touchpoint,submitted_at,nps,comment\n'
                                     'r1,c1,branch-visit,2025-01-05,9,"a\nb"\n'
                                     'r2,c2,nowhere,2025-01-05,9,x')
    assert workspace.import_file("responses", path).errors == [f"{path}:4: touchpoint: unknown touchpoint nowhere"]


def test_line_numbers_skip_blank_lines(workspace: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "blank.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n"
                                         "r1,c1,branch-visit,2025-01-05,9\n"
                                         "\n"
                                         "r2,c2,branch-visit,2025-01-05,11\n"
                                         "r3,c3,branch-visit,2025-01-05,9\n")
    s = workspace.import_file("responses", path)
    assert s.errors == [f"{path}:4: nps: score 11 outside 0..10"]
    assert (s.read, s.added) == (3, 2)


# --- idempotency -----------------------------------------------------------------------------------------


def test_same_file_twice_adds_nothing_the_second_time(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    rows = "".join(f"id{i},c{i},branch-visit,2025-02-{i % 28 + 1:02d}T08:00:00Z,{i % 11}\n" for i in range(50))
    path = write(tmp_path / "r.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n" + rows)
    first = ws_any.import_file("responses", path)
    second = ws_any.import_file("responses", path)
    assert (first.added, first.duplicates) == (50, 0)
    assert (second.added, second.duplicates, second.rejected) == (0, 50, 0)
    assert count(ws_any, Response) == 50 and count(ws_any, Answer) == 50
    assert ws_any.nps()["n"].iloc[0] == 50
    with ws_any.session() as s:
        runs = s.scalars(select(ImportRun).order_by(ImportRun.id)).all()
    assert [(r.status, r.rows_read, r.rows_added, r.rows_duplicate) for r in runs] == [
        ("done", 50, 50, 0), ("done", 50, 0, 50)]


def test_rows_without_ids_are_recognised_by_content(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    body = ("customer_id,touchpoint,submitted_at,nps\n"
            "c1,branch-visit,2025-01-05T10:00:00Z,9\n"
            "c1,branch-visit,2025-01-05T10:00:00Z,3\n"  # differs by one value: another response
            "c2,app-login,2025-01-05T10:00:00Z,9\n")
    path = write(tmp_path / "noid.csv", body)
    assert ws_any.import_file("responses", path).added == 3
    again = ws_any.import_file("responses", path)
    assert (again.added, again.duplicates) == (0, 3)
    # Same content in another file (another name, another column order): still the same responses.
    other = write(tmp_path / "other.csv", "nps,submitted_at,touchpoint,customer_id\n"
                                          "9,2025-01-05T10:00:00Z,app-login,c2\n"
                                          "5,2025-01-05T10:00:00Z,app-login,c2\n")
    s = ws_any.import_file("responses", other)
    assert (s.added, s.duplicates) == (1, 1)
    assert count(ws_any, Response) == 4
    assert all(k.startswith("h:") for k in stored_responses(ws_any))


def test_repeated_ids_count_once_identical_rows_without_id_are_kept(ws_any: momenti.Workspace,
                                                                     tmp_path: Path) -> None:
    path = write(tmp_path / "dups.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n"
                                        "r1,c1,branch-visit,2025-01-05,9\n"
                                        "r1,c1,branch-visit,2025-01-05,9\n"
                                        "r2,c2,branch-visit,2025-01-05,2\n"
                                        "r1,c9,app-login,2025-01-06,0\n"  # same id, other values: first one wins
                                        ",c3,branch-visit,2025-01-05,7\n"
                                        ",c3,branch-visit,2025-01-05,7\n")
    s = ws_any.import_file("responses", path)
    # Rows without an id that are identical are two answers (an export without ids can hold both): kept.
    assert (s.read, s.added, s.duplicates, s.rejected, s.repeats) == (6, 4, 2, 0, 1)
    stored = stored_responses(ws_any)
    assert len(stored) == 4
    assert (stored["r1"]["customer"], stored["r1"]["answers"]) == ("c1", {"nps": 9})
    assert ws_any.nps()["n"].iloc[0] == 4
    again = ws_any.import_file("responses", path)
    assert (again.added, again.duplicates) == (0, 6)


# --- mapping, dry run ------------------------------------------------------------------------------------


def test_mapping_renames_columns(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "it.csv", "ID;Cliente;Punto di contatto;Data;Voto\n"
                                      "x1;c1;branch-visit;2025-03-01 09:00;10\n"
                                      "x2;c2;app-login;2025-03-02 09:00;6\n")
    mapping = {"ID": "response_id", "Cliente": "customer_id", "Punto di contatto": "touchpoint",
               "Data": "submitted_at", "Voto": "nps"}
    s = ws_any.import_file("responses", path, mapping=mapping)
    assert (s.added, s.rejected) == (2, 0), s.errors
    stored = stored_responses(ws_any)
    assert stored["x1"]["answers"] == {"nps": 10} and stored["x2"]["touchpoint"] == "app-login"
    with pytest.raises(InputError, match="Vote"):
        ws_any.import_file("responses", path, mapping={"Vote": "nps"})
    with pytest.raises(InputError, match="missing required column.*customer_id"):
        ws_any.import_file("responses", path, mapping={"ID": "response_id"})


def test_dry_run_counts_and_writes_nothing(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "response_id,customer_id,touchpoint,submitted_at,nps,brand_new_question\n"
                                     "a,c,branch-visit,2025-01-05,9,1\n"
                                     "b,c,branch-visit,2025-01-05,x,2\n"
                                     "c,c,branch-visit,2025-01-05,5,3\n")
    dry = ws_any.import_file("responses", path, dry_run=True)
    assert (dry.dry_run, dry.read, dry.added, dry.rejected, dry.duplicates) == (True, 3, 2, 1, 0)
    assert dry.errors == [f"{path}:3: nps: wrong type: x is not a number"]
    assert count(ws_any, Response) == 0 and count(ws_any, ImportRun) == 0
    with ws_any.session() as s:
        assert s.scalar(select(Question).where(Question.key == "brand_new_question")) is None
    assert ws_any.warehouse_counts()["responses"] == 0
    real = ws_any.import_file("responses", path)
    assert real.added == 2
    dry_again = ws_any.import_file("responses", path, dry_run=True)
    assert (dry_again.added, dry_again.duplicates) == (0, 2)
    assert count(ws_any, Response) == 2


# --- JSON Lines and Parquet ------------------------------------------------------------------------------


def test_json_lines_with_a_malformed_line(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    lines = [
        {"response_id": "j1", "customer_id": "c1", "touchpoint": "branch-visit",
         "submitted_at": "2025-01-05T10:00:00Z", "nps": 9, "tags": ["fast", "kind"]},
        '{"response_id": "j2", "customer_id": "c2", "touchpoint": ',  # line 2: cut short
        {"response_id": "j3", "customer_id": "c3", "touchpoint": "app-login",
         "submitted_at": "2025-01-05T23:30:00-02:00", "nps": 4},
        "",  # a blank line is skipped, not an error (line 4)
        "[1, 2, 3]",  # line 5: not an object
        {"response_id": "j4", "customer_id": "c4", "touchpoint": "app-login",
         "submitted_at": "2025-01-06T10:00:00Z", "nps": 11},  # line 6: out of range
        {"response_id": 5, "customer_id": 55, "touchpoint": "app-login",
         "submitted_at": "2025-01-06T10:00:00Z", "nps": 10.0},  # numbers where text is expected: fine
    ]
    body = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    path = write(tmp_path / "r.jsonl", body)
    s = ws_any.import_file("responses", path)
    assert [e.split(": ", 2)[:2] for e in s.errors] == [[f"{path}:2", "json"], [f"{path}:5", "json"],
                                                        [f"{path}:6", "nps"]]
    assert "not valid JSON" in s.errors[0] and "must be a JSON object" in s.errors[1]
    assert s.errors[2].endswith("nps: score 11 outside 0..10")
    assert (s.read, s.added, s.rejected) == (6, 3, 3)
    stored = stored_responses(ws_any)
    assert set(stored) == {"j1", "j3", "5"}
    assert stored["j3"]["submitted_at"] == dt.datetime(2025, 1, 6, 1, 30)
    assert stored["5"]["customer"] == "55" and stored["5"]["answers"] == {"nps": 10}
    assert json.loads(stored["j1"]["answers"]["tags"]) == ["fast", "kind"]
    assert sorted(r["_line"] for r in read_rejects(Path(s.rejects_file))) == ["2", "5", "6"]


def test_json_lines_all_good_take_the_fast_path(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    rows = [{"response_id": f"k{i}", "customer_id": f"c{i}", "touchpoint": "branch-visit",
             "submitted_at": "2025-01-05T10:00:00+01:00", "nps": i % 11, "csat": 1 + i % 5} for i in range(30)]
    rows[7]["csat"] = 9  # line 8
    path = write(tmp_path / "r.ndjson", "\n".join(json.dumps(r) for r in rows) + "\n")
    s = ws_any.import_file("responses", path)
    assert s.errors == [f"{path}:8: csat: score 9 outside 1..5"]
    assert s.added == 29
    assert stored_responses(ws_any)["k0"]["submitted_at"] == dt.datetime(2025, 1, 5, 9)


def test_parquet_typed_columns(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    zoned = pa.array([dt.datetime(2025, 1, 6, 1, 30, tzinfo=dt.UTC), dt.datetime(2025, 1, 5, 10, tzinfo=dt.UTC),
                      dt.datetime(2025, 1, 5, 12, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC"))
    table = pa.table({
        "response_id": ["p1", "p2", "p3"],
        "customer_id": ["a", "b", "c"],
        "touchpoint": pa.array(["branch-visit", "app-login", "branch-visit"]).dictionary_encode(),
        # A zone other than UTC: 2025-01-05 22:30 in Sao Paulo (-03:00) is 2025-01-06 01:30 UTC.
        "submitted_at": zoned.cast(pa.timestamp("us", tz="America/Sao_Paulo")),
        "nps": pa.array([10, 0, 12], pa.int64()),
        "csat": pa.array([5.0, None, 3.0]),
    })
    path = tmp_path / "r.parquet"
    pq.write_table(table, path)
    s = ws_any.import_file("responses", path)
    assert s.errors == [f"{path}:row 3: nps: score 12 outside 0..10"]
    stored = stored_responses(ws_any)
    assert stored["p1"]["submitted_at"] == dt.datetime(2025, 1, 6, 1, 30)
    assert stored["p1"]["answers"] == {"nps": 10, "csat": 5} and stored["p2"]["answers"] == {"nps": 0}
    day = ws_any.nps(period="day")
    assert dict(zip(day["period"].astype(str), day["n"], strict=True)) == {"2025-01-05": 1, "2025-01-06": 1}


def test_csv_records_with_the_wrong_number_of_values(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n"  # 1
                                     "a,c1,branch-visit,2025-01-05,9\n"  # 2
                                     "b,c2,branch-visit,2025-01-05,19\n"  # 3: a value out of range
                                     "c,c3,branch-visit,2025-01-05,9,surprise\n"  # 4: one value too many
                                     "d,c4,branch-visit,\"2025-01-05\"\n"  # 5: one too few
                                     "\n"  # 6
                                     "e,c5,branch-visit,2025-01-05,12\n"  # 7: a value out of range
                                     "f,c6,branch-visit,2025-01-05,3\n")  # 8
    s = ws_any.import_file("responses", path)
    assert s.errors == [f"{path}:3: nps: score 19 outside 0..10",
                        f"{path}:4: csv: expected 5 values (one per column), found 6",
                        f"{path}:5: csv: expected 5 values (one per column), found 4",
                        f"{path}:7: nps: score 12 outside 0..10"]
    assert (s.read, s.added, s.rejected) == (6, 2, 4)
    assert set(stored_responses(ws_any)) == {"a", "f"}
    rejects = read_rejects(Path(s.rejects_file))
    assert [(r["_line"], r["response_id"], r["_error"]) for r in rejects] == [
        ("3", "b", "nps: score 19 outside 0..10"),
        ("4", "c", "csv: expected 5 values (one per column), found 6"),
        ("5", "d", "csv: expected 5 values (one per column), found 4"),
        ("7", "e", "nps: score 12 outside 0..10")]
    # A row that would not split into the columns keeps its values and its line as written, to fix it.
    assert [r["_raw"] for r in rejects] == ["", "c,c3,branch-visit,2025-01-05,9,surprise",
                                            'd,c4,branch-visit,"2025-01-05"', ""]
    assert [r["submitted_at"] for r in rejects[1:3]] == ["2025-01-05", "2025-01-05"]


def test_values_longer_than_the_store_keeps_are_rejected(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    """PostgreSQL enforces column lengths; a long value must be a rejected row there and on SQLite alike."""
    long_id, long_customer = "x" * 201, "c" * 201
    path = write(tmp_path / "r.csv", "response_id,customer_id,touchpoint,submitted_at,nps,language,channel\n"
                                     f"{long_id},c1,branch-visit,2025-01-05,9,it,app\n"
                                     f"ok1,{long_customer},branch-visit,2025-01-05,9,it,app\n"
                                     "ok2,c2,branch-visit,2025-01-05,9,italiano-svizzero,app\n"
                                     "ok3,c3,branch-visit,2025-01-05,9,it-CH,app\n")
    s = ws_any.import_file("responses", path)
    assert s.errors == [f"{path}:2: response_id: longer than 200 characters",
                        f"{path}:3: customer_id: longer than 200 characters",
                        f"{path}:4: language: longer than 10 characters"]
    assert set(stored_responses(ws_any)) == {"ok3"}
    events = write(tmp_path / "e.csv", f"customer_id,timestamp,activity,agent\nc,2025-01-05,call,{'a' * 101}\n")
    assert ws_any.import_file("events", events).errors == [f"{events}:2: agent: longer than 100 characters"]
    question = ("How likely is it that you would recommend Banca Esempio to a friend or a colleague "
                "(0 = not at all, 10 = very)?")
    assert len(question) > 100
    wide = write(tmp_path / "w.csv", f'customer_id,touchpoint,submitted_at,"{question}"\nc,branch-visit,2025-01-05,9\n')
    with pytest.raises(InputError, match="longer than 100 characters cannot be answer keys; rename them with --map"):
        ws_any.import_file("responses", wide)
    assert ws_any.import_file("responses", wide, mapping={question: "nps"}).added == 1


def test_mapping_onto_an_existing_column_is_an_error(workspace: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "customer_id,touchpoint,submitted_at,nps,score\nc,branch-visit,2025-01-05,9,3\n")
    with pytest.raises(InputError, match="after --map, more than one column is named: nps"):
        workspace.import_file("responses", path, mapping={"score": "nps"})
    with pytest.raises(InputError, match="--map gives no new name for: score"):
        workspace.import_file("responses", path, mapping={"score": " "})
    assert count(workspace, Response) == 0


def test_parquet_decimals_dates_and_booleans(workspace: momenti.Workspace, tmp_path: Path) -> None:
    """Database exports store scores as DECIMAL and days as DATE: they are numbers and dates, not JSON text."""
    table = pa.table({
        "customer_id": pa.array([1001, 1002], pa.int64()),
        "touchpoint": ["branch-visit", "app-login"],
        "submitted_at": pa.array([dt.date(2025, 1, 5), dt.date(2025, 1, 6)], pa.date32()),
        "nps": pa.array([Decimal("9"), Decimal("3")], pa.decimal128(3, 0)),
        "effort": pa.array([Decimal("2.50"), None], pa.decimal128(4, 2)),
        "first_visit": [True, False],
    })
    path = tmp_path / "db.parquet"
    pq.write_table(table, path)
    s = workspace.import_file("responses", path)
    assert (s.added, s.rejected) == (2, 0), s.errors
    stored = sorted(stored_responses(workspace).values(), key=lambda r: r["customer"])
    assert [(r["customer"], r["submitted_at"], r["answers"]) for r in stored] == [
        ("1001", dt.datetime(2025, 1, 5), {"nps": 9, "effort": 2.5, "first_visit": "true"}),
        ("1002", dt.datetime(2025, 1, 6), {"nps": 3, "first_visit": "false"}),
    ]


def test_unreadable_inputs_are_input_errors(workspace: momenti.Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        workspace.import_file("responses", tmp_path / "missing.csv")
    with pytest.raises(InputError, match="unknown file type"):
        workspace.import_file("responses", write(tmp_path / "r.xlsx", "x"))
    with pytest.raises(InputError, match="Parquet"):
        workspace.import_file("responses", write(tmp_path / "r.parquet", "not parquet"))
    with pytest.raises(InputError, match="a JSON array; momenti reads JSON Lines, one object per line"):
        workspace.import_file("responses", write(tmp_path / "r.json", json.dumps(
            [{"customer_id": "c", "touchpoint": "branch-visit", "submitted_at": "2025-01-05", "nps": 9}] * 3,
            indent=2)))
    with pytest.raises(InputError, match="a JSON array"):
        workspace.import_file("responses", write(tmp_path / "one-line.jsonl", json.dumps(
            [{"customer_id": "c", "touchpoint": "branch-visit", "submitted_at": "2025-01-05", "nps": 9}] * 3)))
    with pytest.raises(InputError, match="empty file"):
        workspace.import_file("responses", write(tmp_path / "empty.csv", ""))
    with pytest.raises(InputError, match=r":1: header: column names repeated: nps"):
        workspace.import_file("responses", write(tmp_path / "dup.csv", "customer_id,nps,nps\nc,1,2\n"))
    assert count(workspace, Response) == 0


# --- time zones, separators, encodings -------------------------------------------------------------------


def test_time_zones_are_converted_to_utc_and_naive_times_are_utc(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "tz.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n"
                                      "z1,c,branch-visit,2025-01-05T23:30:00-02:00,9\n"
                                      "z2,c,branch-visit,2025-01-05T23:30:00,9\n"
                                      "z3,c,branch-visit,2025-01-06 00:30:00+01:00,0\n"
                                      "z4,c,branch-visit,2025-01-05,0\n"
                                      "z5,c,branch-visit,2025-01-05T12:00:00.250Z,10\n")
    s = ws_any.import_file("responses", path)
    assert (s.added, s.rejected) == (5, 0), s.errors
    times = {k: v["submitted_at"] for k, v in stored_responses(ws_any).items()}
    assert times == {
        "z1": dt.datetime(2025, 1, 6, 1, 30),
        "z2": dt.datetime(2025, 1, 5, 23, 30),
        "z3": dt.datetime(2025, 1, 5, 23, 30),
        "z4": dt.datetime(2025, 1, 5),
        "z5": dt.datetime(2025, 1, 5, 12, 0, 0, 250000),
    }
    day = ws_any.nps(period="day")
    assert dict(zip(day["period"].astype(str), day["n"], strict=True)) == {"2025-01-05": 4, "2025-01-06": 1}
    only_6th = ws_any.nps(start="2025-01-06", end="2025-01-06")
    assert only_6th[["n", "promoters"]].iloc[0].tolist() == [1, 1]


def test_semicolons_and_a_utf8_bom(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    body = ("response_id;customer_id;touchpoint;submitted_at;nps;comment\r\n"
            "s1;c1;branch-visit;2025-01-05T10:00:00Z;9;perché sì, va bene\r\n"
            "s2;c2;app-login;2025-01-05T10:00:00Z;4;\"con ; dentro\"\r\n")
    path = write(tmp_path / "semi.csv", b"\xef\xbb\xbf" + body.encode("utf-8"))
    s = ws_any.import_file("responses", path)
    assert (s.added, s.rejected) == (2, 0), s.errors
    stored = stored_responses(ws_any)
    assert stored["s1"]["answers"] == {"nps": 9, "comment": "perché sì, va bene"}
    assert stored["s2"]["answers"]["comment"] == "con ; dentro"
    with ws_any.session() as sess:  # the BOM did not end up in a column name
        assert not [k for k in sess.scalars(select(Question.key)) if "\ufeff" in k]


def test_tab_separated_file(workspace: momenti.Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "r.tsv", "response_id\tcustomer_id\ttouchpoint\tsubmitted_at\tnps\n"
                                     "t1\tc1\tbranch-visit\t2025-01-05\t7\n")
    assert workspace.import_file("responses", path).added == 1


