"""The API's quick write path (ingest/quick.py, api/writer.py) writes exactly what the bulk import path writes.

Two workspaces receive the same sequence of batches: one through `import_records` (the bulk validator, the
reference), the other through the GroupWriter (quick path, falling back to the bulk path when it must).
After every batch the answers (added, duplicates, errors) and the store's rows must be identical.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import momenti
from conftest import make_workspace
from momenti.core.config import get_settings
from momenti.ingest.quick import NotQuick, QuickChecker
from momenti.ingest.specs import KINDS
from momenti.server.writer import GroupWriter
from momenti.store.models import Answer, Event, Feedback, Question, Response
from momenti.workspace import Workspace

TOUCHPOINTS = ["branch-visit", "app-login", "card-block", "no-such-touchpoint"]
TIMES = ["2026-01-02T10:00:00+00:00", "2026-01-02T10:00:00.250000+00:00", "2026-03-01T23:30:00+02:00",
         "2026-05-05T08:00:00", "2026-05-05 08:00:00", "2026-13-01T00:00:00", "yesterday", "2026-02-03"]
SCORES = st.one_of(st.integers(1, 5), st.integers(1, 5), st.integers(-2, 12),
                   st.sampled_from([7.5, 3.0, "4", " 2 ", "x", "", "1e0", "5.0", True, None]))
TEXTS = st.sampled_from(["ok", "ok", "  spazi  ", "riga\nnuova", "\ttab", "È così", "", None, "x" * 60])
CHANNELS = st.sampled_from(["App", "PHONE", " web ", "app", "Çanale", None, "c" * 60])

_ids = itertools.count()


def _id(reuse: bool) -> str:
    # Some ids repeat one seen before (a retry, a duplicate); most are new.
    return f"q-{0 if reuse else next(_ids)}"


@st.composite
def response(draw: st.DrawFn) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "response_id": _id(draw(st.booleans()) and draw(st.booleans())),
        "customer_id": draw(st.sampled_from(["C1", "C2", " C3 ", "C4", "", "c" * 201])),
        "touchpoint": draw(st.sampled_from(TOUCHPOINTS[:3]) if draw(st.integers(0, 9)) else
                           st.sampled_from(TOUCHPOINTS)),
        "submitted_at": draw(st.sampled_from(TIMES[:5]) if draw(st.integers(0, 6)) else st.sampled_from(TIMES)),
    }
    if draw(st.booleans()):
        rec["channel"] = draw(CHANNELS)
    for key in draw(st.lists(st.sampled_from(["nps", "csat", "ces", "comment", "effort_extra"]), max_size=4,
                             unique=True)):
        rec[key] = draw(TEXTS) if key == "comment" else draw(SCORES)
    return rec


@st.composite
def event(draw: st.DrawFn) -> dict[str, Any]:
    rec: dict[str, Any] = {"event_id": _id(not draw(st.integers(0, 5))), "customer_id": "C9",
                           "timestamp": draw(st.sampled_from(TIMES[:5]) if draw(st.integers(0, 6)) else
                                             st.sampled_from(TIMES))}
    if draw(st.integers(0, 4)):
        rec["activity"] = draw(st.sampled_from(["chiamata", "login fallito", " ", "Verifica"]))
    if draw(st.booleans()) or "activity" not in rec:  # the API requires one of the two
        rec["touchpoint"] = draw(st.sampled_from(TOUCHPOINTS))
    for key in ("case_id", "reason", "agent", "outcome"):
        if draw(st.booleans()):
            rec[key] = draw(TEXTS)
    if draw(st.booleans()):
        rec["duration_s"] = draw(st.sampled_from([0, 12.5, -1, "30", "n/a", None]))
    if draw(st.booleans()):
        rec["channel"] = draw(CHANNELS)
    for key in draw(st.lists(st.sampled_from(["device", "app_version"]), max_size=2, unique=True)):
        rec[key] = draw(st.sampled_from(["ios", "7.4", 3, True, "a\"b", "", None]))
    return rec


@st.composite
def feedback(draw: st.DrawFn) -> dict[str, Any]:
    rec: dict[str, Any] = {"feedback_id": _id(not draw(st.integers(0, 5))),
                           "source": draw(st.sampled_from(["review", "Social", "", "complaint"])),
                           "text": draw(TEXTS), "created_at": draw(st.sampled_from(TIMES))}
    for key, values in (("rating", [4, 11, "3.5", "x"]), ("touchpoint", TOUCHPOINTS), ("language", ["IT", "en"]),
                        ("url", ["https://example.org/r/1"]), ("customer_id", ["C1"])):
        if draw(st.booleans()):
            rec[key] = draw(st.sampled_from(values))
    return rec


BATCHES = {"responses": response(), "events": event(), "feedback": feedback()}
TABLES = {"responses": [Response, Answer, Question], "events": [Event], "feedback": [Feedback]}


def _rows(ws: Workspace, kind: str) -> list[list[tuple]]:
    with ws.session() as s:
        out = []
        for model in TABLES[kind]:
            table = model.__table__
            order = [c for c in table.primary_key.columns]
            out.append([tuple(r) for r in s.execute(select(table).order_by(*order))])
        return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> tuple[Workspace, Workspace,
                                                                                           GroupWriter]:
    bank = Path(momenti.__file__).parent / "domains/journey_map/templates/bank.yaml"
    # DBAPI writes on both sides: one process must not mix sqlite3 and ADBC's SQLite (store/raw.py).
    reference = Workspace(get_settings(data_dir=tmp_path_factory.mktemp("bulk") / "data"), bulk=False)
    reference.apply_journey(bank)
    backend = request.param
    quick_dir = tmp_path_factory.mktemp("quick")
    base = make_workspace(quick_dir, backend, request)
    # The server's workspace: pooled connections, DBAPI (not ADBC) writes.
    quick = Workspace(get_settings(data_dir=quick_dir / "data", database_url=base.settings.database_url),
                      bulk=False)
    base.close()
    quick.apply_journey(bank)
    writer = GroupWriter(quick)
    writer.start()
    yield reference, quick, writer
    writer.close()
    # The property proves little if the quick path was never taken: enough of the batches must have gone
    # that way (the writer is used by the property test only).
    assert writer.quick_batches >= 5, f"only {writer.quick_batches} batches took the quick path"
    quick.close()
    reference.close()


def _summary(s: Any) -> tuple:
    return s.added, s.duplicates, s.rejected, [e.split(":", 1)[1] for e in s.errors]


@pytest.mark.parametrize("pair", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_quick_path_writes_what_the_bulk_path_writes(pair: tuple[Workspace, Workspace, GroupWriter],
                                                      data: st.DataObject) -> None:
    reference, quick, writer = pair
    kind = data.draw(st.sampled_from(list(BATCHES)))
    records = data.draw(st.lists(BATCHES[kind], min_size=1, max_size=4))
    expected = reference.import_records(kind, records, source="api", strict=True, sync=False)
    got = writer.write(kind, records)
    assert _summary(got) == _summary(expected), records
    # Ids may differ by backend sequences only if the two paths disagreed on what was added: they must not.
    assert _rows(quick, kind) == _rows(reference, kind), records


def test_quick_path_is_taken_for_plain_records(tmp_path: Path) -> None:
    """The fast path must actually be used for ordinary writes (else the property above proves little)."""
    ws = Workspace(get_settings(data_dir=tmp_path / "data"), bulk=False)
    ws.apply_journey(Path(momenti.__file__).parent / "domains/journey_map/templates/bank.yaml")
    writer = GroupWriter(ws)
    writer.start()
    try:
        first = writer.write("responses", [{"response_id": "a1", "customer_id": "C1", "touchpoint": "app-login",
                                            "submitted_at": "2026-01-02T10:00:00+00:00", "nps": 9, "csat": 4}])
        assert (first.added, writer.bulk_batches) == (1, 1)  # nps/csat were new answer keys: bulk decides
        again = writer.write("responses", [
            {"response_id": "a2", "customer_id": "C1", "touchpoint": "app-login",
             "submitted_at": "2026-01-03T10:00:00+00:00", "nps": 3},
            {"response_id": "a1", "customer_id": "C1", "touchpoint": "app-login",
             "submitted_at": "2026-01-02T10:00:00+00:00", "nps": 9, "csat": 4}])
        assert (again.added, again.duplicates, writer.quick_batches, writer.bulk_batches) == (1, 1, 1, 1)
        bad = writer.write("responses", [{"response_id": "a3", "customer_id": "C1", "touchpoint": "app-login",
                                          "submitted_at": "2026-01-03T10:00:00+00:00", "nps": 11}])
        assert bad.rejected == 1 and bad.errors == ["api:item 1: nps: score 11 outside 0..10"]
        assert writer.bulk_batches == 2
    finally:
        writer.close()
        ws.close()


def test_checker_leaves_unusual_values_to_the_bulk_validator() -> None:
    checker = QuickChecker(KINDS["responses"], {"app-login": 1}, {})
    base = {"response_id": "r", "customer_id": "C", "touchpoint": "app-login",
            "submitted_at": "2026-01-02T10:00:00Z"}
    import datetime as dt

    now = dt.datetime(2026, 1, 1)
    assert checker.rows([base], now).facts[0]["touchpoint_id"] == 1
    for change in ({"touchpoint": "nope"}, {"submitted_at": "02/01/2026"}, {"customer_id": " "},
                   {"channel": "Çanale"}, {"nps": 9}):  # nps: not a known question of this checker
        with pytest.raises(NotQuick):
            checker.rows([{**base, **change}], now)


def test_concurrent_writers_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    """Eight threads write single records at once, a fifth of them retries of an id already sent: every id
    is stored once, every request learns whether its record was new, and requests share transactions."""
    from concurrent.futures import ThreadPoolExecutor

    ws = Workspace(get_settings(data_dir=tmp_path / "data"), bulk=False)
    ws.apply_journey(Path(momenti.__file__).parent / "domains/journey_map/templates/bank.yaml")
    writer = GroupWriter(ws)
    writer.start()
    writer.write("responses", [{"response_id": "seed", "customer_id": "C0", "touchpoint": "app-login",
                                "submitted_at": "2026-01-01T00:00:00+00:00", "nps": 5}])

    def send(i: int) -> tuple[str, int]:
        rid = f"c-{i - i % 5}" if i % 5 == 4 else f"c-{i}"  # every fifth resends an earlier id
        s = writer.write("responses", [{"response_id": rid, "customer_id": f"C{i % 7}", "touchpoint": "app-login",
                                        "submitted_at": "2026-02-01T10:00:00+00:00", "nps": i % 11}])
        return rid, s.added

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(send, range(400)))
    finally:
        writer.close()
    added = sum(a for _, a in results)
    distinct = {rid for rid, _ in results}
    with ws.session() as s:
        stored = s.scalar(select(func.count()).select_from(Response).where(Response.external_id.like("c-%")))
    ws.close()
    assert added == len(distinct) == stored == 320
    assert writer.bulk_batches == 1  # only the very first write (new answer key) needed the bulk path
    assert writer.groups < 400  # concurrent requests were committed together
