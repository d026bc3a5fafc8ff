"""Ctrl-C in the middle of an import: whole chunks stay, the run is marked interrupted, a re-run completes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

import momenti
import momenti.ingest.run as run_module
from momenti.store.models import Answer, ImportRun, Response


def test_keyboard_interrupt_keeps_whole_chunks_and_rerun_completes(tmp_path: Path, bank_journey: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ws = momenti.open(tmp_path / "data", import_chunk_rows=100)
    ws.apply_journey(bank_journey)
    path = tmp_path / "r.csv"
    lines = ["response_id,customer_id,touchpoint,submitted_at,nps,csat"]
    lines += [f"r{i},c{i % 7},app-login,2026-01-{1 + i % 28:02d}T10:00:00Z,{i % 11},{1 + i % 5}" for i in range(450)]
    path.write_text("\n".join(lines) + "\n")

    real = run_module.chunk_facts
    calls = {"n": 0}

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 3:  # the user presses Ctrl-C while the third chunk is being prepared
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(run_module, "chunk_facts", interrupted)
        with pytest.raises(KeyboardInterrupt):
            ws.import_file("responses", path)
    with ws.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 200
        assert s.scalar(select(func.count()).select_from(Answer)) == 400
        assert s.scalars(select(ImportRun.status)).all() == ["interrupted"]

    again = ws.import_file("responses", path)
    assert (again.added, again.duplicates, again.rejected) == (250, 200, 0)
    with ws.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 450
        assert s.scalars(select(ImportRun.status).order_by(ImportRun.id)).all() == ["interrupted", "done"]
    assert int(ws.nps()["n"].sum()) == 450
