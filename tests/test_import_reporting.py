"""What a new user hit after an import: the summary's time covers the whole command and says what the automatic
text analysis did; ws.comments() returns every comment unless asked for fewer; a column of an outcomes file used
as a segment says where it has to be imported instead of answering empty groups."""

from __future__ import annotations

from pathlib import Path

import pytest

import momenti
from momenti.cli.imports import summary_line
from momenti.core.errors import InputError

COMMENTS = ["Servizio pessimo, nessuno mi richiama", "Personale gentile e veloce", "App lenta e piena di errori",
            "Tutto bene, grazie", "Attesa lunghissima in filiale", "Consulente molto preparato"]


def _responses(path: Path, n: int) -> Path:
    path.write_text("response_id,customer_id,touchpoint,submitted_at,nps,comment\n" + "".join(
        f"r{i},c{i},branch-visit,2026-02-{1 + i % 27:02d},{i % 11},\"{COMMENTS[i % len(COMMENTS)]} {i}\"\n"
        for i in range(n)))
    return path


def test_summary_counts_the_text_analysis_and_its_time(workspace: momenti.Workspace, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    from momenti.cli.imports import _report

    s = workspace.import_file("responses", _responses(tmp_path / "r.csv", 30))
    assert s.added == 30 and s.text_analysed == 30
    assert 0 < s.text_seconds <= s.seconds  # the whole command's time includes the analysis
    _report(s, as_json=False)
    out = capsys.readouterr().out
    assert "comments masked and analysed: 30 in " in out and summary_line(s) in " ".join(out.split("\n"))


def test_comments_returns_all_by_default(workspace: momenti.Workspace, tmp_path: Path) -> None:
    workspace.import_file("responses", _responses(tmp_path / "r.csv", 45))
    assert len(workspace.comments()) == 45
    assert len(workspace.comments(limit=10)) == 10
    with pytest.raises(InputError):
        workspace.comments(limit=0)


def test_outcome_columns_used_as_segments_say_where_to_import_them(workspace: momenti.Workspace,
                                                                    tmp_path: Path) -> None:
    workspace.import_file("responses", _responses(tmp_path / "r.csv", 12))
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("customer_id,status,start_date,end_date,contract\n" + "".join(
        f"c{i},active,2025-01-01,,{'monthly' if i % 2 else 'yearly'}\n" for i in range(12)))
    assert workspace.import_file("outcomes", outcomes).added == 12
    with pytest.raises(InputError, match="momenti import customers"):
        workspace.nps(by="segment:contract")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,contract\n" + "".join(
        f"c{i},{'monthly' if i % 2 else 'yearly'}\n" for i in range(12)))
    workspace.import_file("customers", customers)
    got = workspace.nps(by="segment:contract")
    assert set(got["segment_contract"]) == {"monthly", "yearly"} and int(got["n"].sum()) == 12
