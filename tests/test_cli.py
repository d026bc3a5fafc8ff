"""The `momenti` command: journey apply, import (rejects, exit codes, JSON), metrics (formats, compare, sql),
warehouse sync/status, and errors that are messages, not tracebacks."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from momenti.cli import main as cli_main
from momenti.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "src" / "momenti" / "domains" / "journey_map" / "templates" / "bank.yaml"

# (touchpoint, month) -> NPS scores, repeated to the group's size. Hand-computed NPS in the comments.
PATTERNS = {
    ("branch-visit", "2025-01"): ([10, 9, 9, 8, 7, 6, 3, 10, 9, 2], 40),  # 5 P, 3 D -> +20
    ("branch-visit", "2025-02"): ([3, 2, 1, 6, 9, 10, 7, 0, 5, 4], 40),  # 2 P, 7 D -> -50
    ("app-login", "2025-01"): ([9, 9, 9, 9, 7], 20),  # 4 P, 0 D -> +80
    ("app-login", "2025-02"): ([9, 9, 7, 7, 0], 20),  # 2 P, 1 D -> +20
}
EXPECTED_NPS = {("branch-visit", "2025-01"): 20.0, ("branch-visit", "2025-02"): -50.0,
                ("app-login", "2025-01"): 80.0, ("app-login", "2025-02"): 20.0}


def data_rows() -> list[tuple[str, str, str, str, int, int]]:
    rows = []
    for (tp, month), (pattern, size) in PATTERNS.items():
        for i in range(size):
            score = pattern[i % len(pattern)]
            rows.append((f"{tp}-{month}-{i}", f"cust{i % 17}", tp, f"{month}-{i % 27 + 1:02d}T12:00:00Z", score,
                         min(5, 1 + score // 2)))
    return rows


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory for the CLI, with the bank journey applied through the CLI."""
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["journey", "apply", str(BANK)])
    assert result.exit_code == 0, result.output
    assert "0 archived, 0 deleted" in result.stdout
    return tmp_path


def cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """The real entry point (`momenti = momenti.cli.main:main`), in process: exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["momenti", *args])
    with pytest.raises(SystemExit) as exc:
        cli_main.main()
    out = capsys.readouterr()
    return exc.value.code or 0, out.out, out.err


def write_responses(path: Path, bad: bool = True) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["response_id", "customer_id", "touchpoint", "submitted_at", "nps", "csat"])
        for r in data_rows():
            w.writerow(r)
        if bad:
            w.writerow(["bad-1", "c", "branch-visit", "2025-01-10T12:00:00Z", "11", "5"])
            w.writerow(["bad-2", "c", "no-such-place", "2025-01-10T12:00:00Z", "5", "5"])
            w.writerow(["bad-3", "c", "branch-visit", "someday", "5", "5"])
    return path


N_GOOD = sum(size for _, size in PATTERNS.values())


@pytest.fixture
def loaded(env: Path) -> Path:
    result = cli("import", "responses", str(write_responses(env / "responses.csv", bad=False)))
    assert result.exit_code == 0, result.output
    return env


# --- import ----------------------------------------------------------------------------------------------


def test_import_with_rejects_exit_0_errors_on_stderr_summary_on_stdout(env: Path) -> None:
    path = write_responses(env / "responses.csv")
    result = cli("import", "responses", str(path))
    assert result.exit_code == 0, result.output
    first_bad = N_GOOD + 2
    # One error per line, never folded at the terminal's width.
    assert result.stderr.splitlines() == [
        f"{path}:{first_bad}: nps: score 11 outside 0..10",
        f"{path}:{first_bad + 1}: touchpoint: unknown touchpoint no-such-place",
        f"{path}:{first_bad + 2}: submitted_at: not a date: someday (use ISO 8601, e.g. 2025-03-01T10:00:00Z)",
    ]
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}: {N_GOOD + 3:,} rows read, {N_GOOD:,} added, 0 already present, "
                               "3 rejected in ")
    rejects = env / "data" / "rejects" / "responses.rejects.csv"  # the data directory's, not beside the input
    assert lines[1] == f"rejected rows with their errors: {rejects}"
    assert rejects.read_text().count("\n") == 4

    again = cli("import", "responses", str(path))
    assert again.exit_code == 0
    assert f"0 added, {N_GOOD:,} already present, 3 rejected" in again.stdout


def test_import_fail_on_reject_exits_1_and_json_summary(env: Path) -> None:
    path = write_responses(env / "responses.csv")
    result = cli("import", "responses", str(path), "--fail-on-reject", "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("kind", "read", "added", "duplicates", "rejected", "dry_run")} == {
        "kind": "responses", "read": N_GOOD + 3, "added": N_GOOD, "duplicates": 0, "rejected": 3, "dry_run": False}
    assert len(summary["errors"]) == 3 and summary["rejects_file"] == str(
        env / "data" / "rejects" / "responses.rejects.csv")
    clean = write_responses(env / "clean.csv", bad=False)
    ok = cli("import", "responses", str(clean), "--fail-on-reject", "--json")
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["duplicates"] == N_GOOD


def test_import_dry_run_and_map(env: Path) -> None:
    path = env / "renamed.csv"
    path.write_text("id,who,where,when,score\nx1,c1,branch-visit,2025-03-01,10\nx2,c2,app-login,2025-03-01,0\n")
    maps = ["--map", "id=response_id", "--map", "who=customer_id", "--map", "where=touchpoint",
            "--map", "when=submitted_at", "--map", "score=nps"]
    dry = cli("import", "responses", str(path), *maps, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "2 rows read, 2 to add (dry run), 0 already present, 0 rejected" in dry.stdout
    status = cli("warehouse", "status")
    assert [line.split() for line in status.stdout.splitlines() if line.split()[:1] == ["responses"]] == [
        ["responses", "store", "0", "warehouse", "0"]]
    real = cli("import", "responses", str(path), *maps, "--json")
    assert json.loads(real.stdout)["added"] == 2
    nps = json.loads(cli("metrics", "nps", "--format", "json").stdout)
    assert nps["rows"][0]["n"] == 2 and nps["rows"][0]["nps"] == 0.0


def test_import_other_kinds(env: Path) -> None:
    events = env / "events.csv"
    events.write_text("customer_id,timestamp,activity,duration_s\nc1,2025-01-01,call,-1\nc1,2025-01-01,call,60\n")
    result = cli("import", "events", str(events))
    assert result.exit_code == 0
    assert result.stderr.strip() == f"{events}:2: duration_s: -1.0 below 0"
    customers = env / "customers.csv"
    customers.write_text("customer_id,region\nc1,north\n")
    assert "1 added" in cli("import", "customers", str(customers)).stdout
    customers.write_text("customer_id,region\nc1,south\n")
    assert "0 added, 1 updated" in cli("import", "customers", str(customers)).stdout
    feedback = env / "feedback.jsonl"
    feedback.write_text('{"source": "app-store", "text": "Nice", "rating": 5}\n{"source": "x"}\n')
    fb = cli("import", "feedback", str(feedback), "--json")
    assert json.loads(fb.stdout)["added"] == 1 and json.loads(fb.stdout)["rejected"] == 1


def test_errors_exit_2_with_a_message(env: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    cases = [
        (["import", "responses", str(env / "missing.csv")], "no such file"),
        (["import", "responses", str(env / "x.csv"), "--map", "nosep"], "--map 'nosep': write source=target"),
        (["import", "things", "x.csv"], "No such command 'things'"),
        (["metrics", "nps", "--by", "planet"], "unknown dimension 'planet'"),
        (["metrics", "nps", "--period", "fortnight"], "unknown period 'fortnight'"),
        (["metrics", "nps", "--filter", "channel"], "filter 'channel': write dimension=value or dimension:value"),
        (["metrics", "compare", "nps", "--by", "touchpoint"], "compare needs"),
        (["metrics", "compare", "nps", "--periods", "2025-13", "2025-02"], "period '2025-13'"),
        (["metrics", "nps", "--from", "2025-02-01", "--to", "2025-01-01"], "is after"),
        (["journey", "template", "bakery"], "unknown template 'bakery'"),
    ]
    (env / "x.csv").write_text("customer_id\nc\n")
    for args, message in cases:
        code, out, err = run_main(args, monkeypatch, capsys)
        assert code == 2, (args, out, err)
        assert message in " ".join(err.split()), (args, err)
        assert "Traceback" not in err and "Traceback" not in out


def test_import_options_and_where_the_rejects_go(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    export = env / "export"
    export.mkdir()
    path = export / "voti.csv"
    path.write_text("id,cliente,quando,voto\nv1,c1,24/02/2025 11:35,9\nv2,c2,03/04/2025 10:00,99\n"
                    "v3,c3,05/06/2025 09:00,11\n")
    opts = ["--map", "id=response_id", "--map", "cliente=customer_id", "--map", "quando=submitted_at",
            "--map", "voto=nps", "--set", "touchpoint=branch-visit", "--missing", "voto=99", "--dayfirst"]
    dry = cli("import", "responses", str(path), *opts, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 rows read, 2 to add (dry run), 0 already present, 1 rejected" in dry.stdout
    assert "dry run: no rejects file written (--rejects PATH writes one)" in dry.stdout
    assert sorted(export.iterdir()) == [path] and not (env / "data" / "rejects").exists()
    asked = env / "mine.csv"
    real = cli("import", "responses", str(path), *opts, "--rejects", str(asked), "--json")
    summary = json.loads(real.stdout)
    assert (summary["added"], summary["rejected"], summary["rejects_file"]) == (2, 1, str(asked))
    assert asked.read_text().splitlines()[1].startswith("v3,c3,2025-06-05T09:00:00,11,4,nps: score 11")
    code, _, err = run_main(["import", "responses", str(path), "--map-values", "voto"], monkeypatch, capsys)
    assert code == 2 and "--map-values 'voto': write column=from:to,from:to" in err


def test_the_cli_starts_without_loading_the_heavy_libraries() -> None:
    """`momenti journey template bank` took ~2 s of CPU at start-up importing pandas, SQLAlchemy, DuckDB,
    Arrow, Ibis and pydantic-settings; commands load them when they run."""
    heavy = ("pandas", "sqlalchemy", "duckdb", "pyarrow", "ibis", "pydantic_settings", "momenti.workspace")
    code = f"import sys, momenti.cli.main; print([m for m in {heavy!r} if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_missing_file_through_the_installed_command(env: Path) -> None:
    """The same check on the real executable: a message and exit code 2, no traceback."""
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "momenti"), "import", "responses", str(env / "nope.csv")],
                          env={**os.environ}, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {env / 'nope.csv'}: no such file"
    assert proc.stdout == ""


# --- metrics ---------------------------------------------------------------------------------------------


def test_metrics_nps_json(loaded: Path) -> None:
    result = cli("metrics", "nps", "--by", "touchpoint", "--period", "month", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"metric", "query", "rows"}
    assert doc["metric"] == "nps"
    assert doc["query"]["by"] == ["touchpoint"] and doc["query"]["period"] == "month"
    required = {"touchpoint", "period", "n", "nps", "ci_low", "ci_high", "small_sample", "promoters", "passives",
                "detractors"}
    assert all(required <= set(row) for row in doc["rows"])
    got = {(r["touchpoint"], r["period"][:7]): r for r in doc["rows"]}
    assert set(got) == set(EXPECTED_NPS)
    for key, nps in EXPECTED_NPS.items():
        row, (pattern, size) = got[key], PATTERNS[key]
        assert row["n"] == size
        assert row["nps"] == pytest.approx(nps)
        reps = size // len(pattern)
        assert (row["promoters"], row["detractors"]) == (reps * sum(x >= 9 for x in pattern),
                                                         reps * sum(x <= 6 for x in pattern))
        assert row["promoters"] + row["passives"] + row["detractors"] == size
        assert row["ci_low"] < row["nps"] < row["ci_high"]
        assert row["small_sample"] is (size < 30)

    filtered = json.loads(cli("metrics", "nps", "--by", "touchpoint", "--from", "2025-02-01", "--to", "2025-02-28",
                              "--filter", "touchpoint=app-login", "--format", "json").stdout)
    assert [(r["touchpoint"], r["n"], r["nps"]) for r in filtered["rows"]] == [("app-login", 20, 20.0)]
    assert filtered["query"]["from"] == "2025-02-01" and filtered["query"]["filters"] == {"touchpoint": ["app-login"]}


def test_metrics_csv_and_table(loaded: Path) -> None:
    result = cli("metrics", "nps", "--by", "touchpoint", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    header = result.stdout.splitlines()[0].split(",")
    assert header[:2] == ["touchpoint", "n"] and {"nps", "ci_low", "ci_high", "small_sample"} <= set(header)
    assert {r["touchpoint"]: int(r["n"]) for r in rows} == {"app-login": 40, "branch-visit": 80}
    table = cli("metrics", "csat", "--by", "touchpoint")
    assert table.exit_code == 0, table.output
    assert "branch-visit" in table.stdout and "app-login" in table.stdout
    ces = cli("metrics", "ces", "--format", "json")  # no CES answers: an empty result, not an error
    assert ces.exit_code == 0 and json.loads(ces.stdout)["rows"] == []


def test_metrics_compare(loaded: Path) -> None:
    needed = {"delta", "ci_low", "ci_high", "p_value", "significant"}
    consecutive = cli("metrics", "compare", "nps", "--by", "touchpoint", "--period", "month", "--format", "json")
    assert consecutive.exit_code == 0, consecutive.output
    rows = json.loads(consecutive.stdout)["rows"]
    assert len(rows) == 2 and all(needed <= set(r) for r in rows)
    by_tp = {r["touchpoint"]: r for r in rows}
    assert by_tp["branch-visit"]["period_a"][:7] == "2025-01" and by_tp["branch-visit"]["period_b"][:7] == "2025-02"

    explicit = cli("metrics", "compare", "nps", "--by", "touchpoint", "--periods", "2025-01", "2025-02",
                   "--format", "json")
    assert explicit.exit_code == 0, explicit.output
    rows2 = {r["touchpoint"]: r for r in json.loads(explicit.stdout)["rows"]}
    for tp in ("branch-visit", "app-login"):
        r = rows2[tp]
        assert needed <= set(r)
        assert (r["period_a"], r["period_b"]) == ("2025-01", "2025-02")
        assert (r["n_a"], r["n_b"]) == (PATTERNS[(tp, "2025-01")][1], PATTERNS[(tp, "2025-02")][1])
        assert r["nps_a"] == pytest.approx(EXPECTED_NPS[(tp, "2025-01")])
        assert r["nps_b"] == pytest.approx(EXPECTED_NPS[(tp, "2025-02")])
        assert r["delta"] < 0 and r["ci_low"] <= r["delta"] <= r["ci_high"]
        assert 0 <= r["p_value"] <= 1 and r["significant"] is (r["p_value"] < 0.05)
        for k in needed - {"significant"}:  # same comparison both ways
            assert r[k] == pytest.approx(by_tp[tp][k])
    # 80 branch visits, +20 -> -50: a drop far beyond chance.
    assert rows2["branch-visit"]["significant"] is True

    csv_out = cli("metrics", "compare", "nps", "--periods", "2025-01", "2025-02", "--format", "csv")
    assert {"delta", "ci_low", "ci_high", "p_value", "significant"} <= set(csv_out.stdout.splitlines()[0].split(","))


def test_metrics_sql(loaded: Path) -> None:
    result = cli("metrics", "sql", "nps", "--by", "touchpoint", "--period", "month")
    assert result.exit_code == 0, result.output
    assert "SELECT" in result.stdout and "GROUP BY" in result.stdout
    assert "touchpoint" in result.stdout


# --- warehouse -------------------------------------------------------------------------------------------


def test_warehouse_rebuild_keeps_results_identical(loaded: Path) -> None:
    queries = [["metrics", "nps", "--by", "touchpoint", "--period", "month", "--format", "json"],
               ["metrics", "csat", "--by", "stage", "--format", "json"],
               ["metrics", "nps", "--by", "channel,language", "--format", "json"]]
    before = [cli(*q).stdout for q in queries]
    status_before = cli("warehouse", "status").stdout

    synced = cli("warehouse", "sync")
    assert synced.exit_code == 0, synced.output
    assert synced.stdout.startswith("synced: responses +0")
    rebuilt = cli("warehouse", "sync", "--rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.stdout.startswith(f"rebuilt: responses +{N_GOOD}")

    assert [cli(*q).stdout for q in queries] == before
    status = cli("warehouse", "status")
    assert status.exit_code == 0 and status.stdout == status_before
    counts = {line.split()[0]: line.split()[-1] for line in status.stdout.splitlines()[2:]}
    assert counts["responses"] == str(N_GOOD) and counts["answers"] == str(2 * N_GOOD)
    assert f"responses store {N_GOOD} warehouse {N_GOOD}" in " ".join(status.stdout.split())
