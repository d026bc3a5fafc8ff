"""Imports of real public files (../shared/data, see its README): complaints, process-mining logs, Italian
tweets. Counts and values are checked against an independent reading with pandas / the csv module.
The files are read where they are; derived copies (an added column) go to tmp_path only."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pandas as pd
from sqlalchemy import select

import momenti
from momenti.ingest.options import ImportOptions
from momenti.store.models import Event, Feedback

EVENT_MAP = {"case:concept:name": "case_id", "concept:name": "activity", "time:timestamp": "timestamp",
             "org:resource": "agent"}


def with_column(src: Path, dst: Path, name: str, value, delimiter: str = ",",  # noqa: ANN001
                lineterminator: str = "\n") -> Path:
    """A copy of `src` with one more column: value(row) -> text. Every other value is written back as read."""
    with src.open(newline="", encoding="utf-8-sig") as fin, dst.open("w", newline="", encoding="utf-8") as fout:
        reader = csv.DictReader(fin, delimiter=delimiter)
        writer = csv.DictWriter(fout, [*reader.fieldnames, name], delimiter=delimiter, lineterminator=lineterminator)
        writer.writeheader()
        for row in reader:
            writer.writerow({**row, name: value(row)})
    return dst


def record_start_lines(path: Path, delimiter: str = ",") -> list[int]:
    """Physical line on which each record starts (quoted values may span lines), by the csv module."""
    out = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader)
        start = reader.line_num + 1
        for record in reader:
            if record:
                out.append(start)
            start = reader.line_num + 1
    return out


# --- CFPB complaints as feedback -------------------------------------------------------------------------


def _raw_workspace(tmp_path: Path) -> momenti.Workspace:
    """A workspace that keeps imported text as imported: these tests check the importer, and by default the
    text analysis after an import replaces originals with masked text (MOMENTI_TEXT_KEEP_ORIGINAL)."""
    ws = momenti.open(tmp_path / "raw", text_auto=False)
    ws.apply_journey(Path(momenti.__file__).parent / "domains/journey_map/templates/bank.yaml")
    return ws


def test_cfpb_complaints_as_feedback(shared_data: Path, tmp_path: Path) -> None:
    workspace = _raw_workspace(tmp_path)
    # Read where it is: the rejects file goes into the data directory, never beside the shared file.
    path = shared_data / "cfpb_complaints_sample.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    narrative = df["Consumer complaint narrative"].str.strip()
    has_text = narrative.ne("")
    assert len(df) == 6623 and has_text.sum() == 1532  # the README's figures

    mapping = {"Consumer complaint narrative": "text", "Complaint ID": "feedback_id", "Date received": "created_at",
               "Submitted via": "source"}
    s = workspace.import_file("feedback", path, mapping=mapping)
    assert (s.read, s.added, s.rejected, s.duplicates) == (len(df), has_text.sum(), (~has_text).sum(), 0)

    # Every row without a narrative is rejected on the line where its record starts, and only for that.
    lines = pd.Series(record_start_lines(path))
    assert len(lines) == len(df)
    assert s.errors == [f"{path}:{line}: text: missing" for line in lines[~has_text.to_numpy()]]
    assert max(lines) > len(df) + 1  # narratives span lines: the line numbers are not just row + 1
    rejects = pd.read_csv(s.rejects_file, dtype=str, keep_default_na=False)
    assert rejects["Complaint ID"].tolist() == df.loc[~has_text, "Complaint ID"].tolist()
    assert set(rejects["_error"]) == {"text: missing"}
    assert rejects["_line"].astype(int).tolist() == lines[~has_text.to_numpy()].tolist()
    assert s.rejects_file == str(tmp_path / "raw" / "rejects" / "cfpb_complaints_sample.rejects.csv")
    assert not (shared_data / "cfpb_complaints_sample.rejects.csv").exists()
    assert list(rejects.columns) == [*df.columns, "_line", "_error"]  # the file's own names, not the mapped ones

    # Everything else is in the store, value for value.
    with workspace.session() as sess:
        stored = {f.external_id: f for f in sess.scalars(select(Feedback))}
    kept = df[has_text]
    assert set(stored) == set(kept["Complaint ID"])
    for row in kept.itertuples(index=False):
        f = stored[row[df.columns.get_loc("Complaint ID")]]
        assert f.text.strip() == row[df.columns.get_loc("Consumer complaint narrative")].strip()
        assert f.created_at == dt.datetime.fromisoformat(row[df.columns.get_loc("Date received")])
        assert f.source == row[df.columns.get_loc("Submitted via")].lower()
    assert Counter(f.source for f in stored.values()) == Counter(kept["Submitted via"].str.lower())
    assert workspace.warehouse_counts()["feedback"] == has_text.sum()

    again = workspace.import_file("feedback", path, mapping=mapping)
    assert (again.added, again.duplicates, again.rejected) == (0, has_text.sum(), (~has_text).sum())
    assert workspace.warehouse_counts()["feedback"] == has_text.sum()


# --- process-mining logs as events -----------------------------------------------------------------------


def _events(ws: momenti.Workspace) -> list[Event]:
    with ws.session() as sess:
        return list(sess.scalars(select(Event).order_by(Event.id)))


def _expected_events(df: pd.DataFrame) -> Counter:
    utc = pd.to_datetime(df["time:timestamp"], utc=True).dt.tz_localize(None)
    agents = [a or None for a in df["org:resource"]]  # an empty cell is no agent
    return Counter(zip(df["case:concept:name"], df["concept:name"], utc.dt.to_pydatetime(), agents, strict=True))


def test_running_example_as_events(workspace: momenti.Workspace, shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "running-example.csv"
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    derived = with_column(src, tmp_path / "running-example.csv", "customer_id", lambda r: r["case:concept:name"])
    s = workspace.import_file("events", derived, mapping=EVENT_MAP)
    assert (s.read, s.added, s.rejected, s.duplicates) == (len(df), len(df), 0, 0), s.errors
    events = _events(workspace)
    got = Counter((e.case_id, e.activity, e.timestamp, e.agent) for e in events)
    assert got == _expected_events(df)
    assert all(e.customer_key == e.case_id for e in events)
    # Other columns are attributes, each with its own values, even "Activity" beside the mapped "activity"
    # and the unnamed index column.
    attrs = [json.loads(e.attributes) for e in events]
    assert all(set(a) == {"column_1", "Activity", "Resource", "Costs", "case:creator"} for a in attrs)
    assert Counter((a["column_1"], a["Activity"], a["Costs"]) for a in attrs) == Counter(
        zip(df.iloc[:, 0], df["Activity"], df["Costs"], strict=True))
    assert workspace.warehouse_counts()["events"] == len(df)
    again = workspace.import_file("events", derived, mapping=EVENT_MAP)
    assert (again.added, again.duplicates) == (0, len(df))


def test_roadtraffic_as_events_with_zone_offsets(workspace: momenti.Workspace, shared_data: Path,
                                                 tmp_path: Path) -> None:
    src = shared_data / "roadtraffic100traces.csv"
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    assert set(df["time:timestamp"].str[-6:]) == {"+01:00", "+02:00"}  # summer and winter time
    derived = with_column(src, tmp_path / "roadtraffic.csv", "customer_id", lambda r: r["case:concept:name"])
    s = workspace.import_file("events", derived, mapping=EVENT_MAP)
    assert (s.read, s.added, s.rejected, s.duplicates) == (len(df), len(df), 0, 0), s.errors
    events = _events(workspace)
    assert Counter((e.case_id, e.activity, e.timestamp, e.agent) for e in events) == _expected_events(df)
    assert len({e.case_id for e in events}) == df["case:concept:name"].nunique() == 100
    # A midnight in local time is the evening before in UTC.
    first = df.iloc[0]
    assert first["time:timestamp"] == "2005-03-23 00:00:00+01:00"
    assert dt.datetime(2005, 3, 22, 23) in {e.timestamp for e in events if e.case_id == first["case:concept:name"]}
    assert all(e.timestamp.hour in (22, 23) for e in events)  # the log's events are all at local midnight
    amounts = Counter(json.loads(e.attributes)["amount"] for e in events)
    assert amounts == Counter(a or None for a in df["amount"])


# --- SENTIPOLC tweets as feedback ------------------------------------------------------------------------


def test_sentipolc_tweets_as_feedback(shared_data: Path, tmp_path: Path) -> None:
    workspace = _raw_workspace(tmp_path)
    src = shared_data / "sentipolc2016_train.csv"
    raw = src.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF throughout
    df = pd.read_csv(src, sep=";", dtype=str, keep_default_na=False)
    # The file has no source column: --set gives every row one, the file read where it is, as it is.
    s = workspace.import_file("feedback", src, mapping={"idtwitter": "feedback_id"},
                              options=ImportOptions.parse(sets=["source=twitter"]))
    assert (s.read, s.added, s.rejected, s.duplicates) == (len(df), df["idtwitter"].nunique(), 0, 0), s.errors[:3]
    assert s.added == 7410
    with workspace.session() as sess:
        stored = dict(sess.execute(select(Feedback.external_id, Feedback.text)).all())
    expected = dict(zip(df["idtwitter"], df["text"].str.strip(), strict=True))
    assert {k: v.strip() for k, v in stored.items()} == expected
    assert any("à" in t or "è" in t for t in stored.values())  # accents read as UTF-8
    assert not any("\r" in t for t in stored.values())
    with workspace.session() as sess:
        assert set(sess.scalars(select(Feedback.source))) == {"twitter"}
