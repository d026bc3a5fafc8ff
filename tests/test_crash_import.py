"""kill -9 of `momenti import` at random points of a file, then the same command again: no row lost, none stored
twice, the warehouse equal to the store without a manual command. The harness is bench/crash_import.py (1 M rows
there); here a small file in small chunks, so kills land between and inside chunk commits and in the sync."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "bench" / "crash_import.py"


def _harness():  # noqa: ANN202 - the bench module
    spec = importlib.util.spec_from_file_location("crash_import", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kill_9_of_an_import_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    harness = _harness()
    result = harness.crash_run(30_000, kills=3, workdir=tmp_path, seed=11, chunk_rows=3_000)
    assert not harness.check(result), (harness.check(result), result)
    assert any(not k["finished_first"] for k in result["kills"]), f"no kill landed before the end: {result}"
    assert result["store_rows"] == result["warehouse_rows"] == 30_000
