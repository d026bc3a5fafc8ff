"""Arguments as people write them: one parser for comma lists and dates, the same clear error everywhere."""

from __future__ import annotations

import datetime as dt

import pytest

import momenti
from momenti.core.args import as_date, as_list
from momenti.core.errors import InputError


def test_as_list_and_as_date() -> None:
    assert as_list("a, b,,c ") == ["a", "b", "c"]
    assert as_list(["a", " b", ""]) == ["a", "b"]
    assert as_list(None) == []
    assert as_date("2026-03-01") == dt.date(2026, 3, 1)
    assert as_date(dt.date(2026, 3, 1)) == dt.date(2026, 3, 1) and as_date(None) is None
    with pytest.raises(InputError, match="'2026-13-01' is not a date: write YYYY-MM-DD"):
        as_date("2026-13-01")


@pytest.mark.parametrize("question", [
    lambda ws: ws.nps(start="2026-13-01"),
    lambda ws: ws.drivers(start="2026-13-01"),
    lambda ws: ws.loyalty_battery(start="2026-13-01"),
    lambda ws: ws.fcr(end="2026-13-01"),
    lambda ws: ws.topics(start="2026-13-01"),
    lambda ws: ws.loyalty_bank(start="2026-13-01"),
])
def test_bad_dates_are_input_errors(workspace: momenti.Workspace, question) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match="is not a date"):
        question(workspace)


# --- filters: dim=value and dim:value in the CLI, the REST API and Python --------------------------------

from momenti.core.args import duration_seconds, parse_duration, parse_filters  # noqa: E402


def test_parse_filters_both_syntaxes() -> None:
    assert parse_filters(["touchpoint:app-login"]) == parse_filters(["touchpoint=app-login"]) \
        == {"touchpoint": ["app-login"]}
    assert parse_filters(["channel=app, web", "channel:branch"]) == {"channel": ["app", "web", "branch"]}
    assert parse_filters("segment:tier:gold") == parse_filters("segment:tier=gold") == {"segment:tier": ["gold"]}
    assert parse_filters(["reason=a:b"]) == {"reason": ["a:b"]}  # "=" wins: a value may hold a colon
    assert parse_filters({"touchpoint": "a,b"}) == {"touchpoint": ["a", "b"]}
    assert parse_filters(None) == {}
    for bad in ("channel", "channel:", "=app"):
        with pytest.raises(InputError, match="write dimension=value or dimension:value"):
            parse_filters([bad])


def test_durations_in_one_place() -> None:
    assert parse_duration("30d") == dt.timedelta(days=30) and parse_duration("2w") == dt.timedelta(weeks=2)
    assert duration_seconds("90m") == 5400 and duration_seconds("45") == 45 and duration_seconds(None) is None
    assert duration_seconds(dt.timedelta(hours=1)) == 3600
    for bad in ("soon", "0d", "-1h"):
        with pytest.raises(InputError):
            duration_seconds(bad)


def _seed(ws: momenti.Workspace) -> None:
    rows = [{"response_id": f"r{i}", "customer_id": f"c{i}", "touchpoint": tp, "submitted_at": "2025-01-15T10:00:00",
             "channel": "app", "nps": 9 if tp == "app-login" else 3}
            for i, tp in enumerate(["app-login"] * 4 + ["branch-visit"] * 3)]
    assert ws.import_records("responses", rows, source="test", strict=True).rejected == 0


@pytest.mark.parametrize("spelling", ["touchpoint:app-login", "touchpoint=app-login"])
def test_filter_spellings_in_python(workspace: momenti.Workspace, spelling: str) -> None:
    _seed(workspace)
    df = workspace.nps(filters=[spelling])
    assert int(df["n"].sum()) == 4
    assert workspace.query("nps", filters=spelling).filters == {"touchpoint": ["app-login"]}


@pytest.mark.parametrize("spelling", ["touchpoint:app-login", "touchpoint=app-login"])
def test_filter_spellings_in_the_cli(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch,
                                     spelling: str) -> None:
    import json

    from typer.testing import CliRunner

    from momenti.cli.main import app as cli_app

    _seed(workspace)
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    res = CliRunner().invoke(cli_app, ["metrics", "nps", "--filter", spelling, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["query"]["filters"] == {"touchpoint": ["app-login"]}
    assert sum(r["n"] for r in doc["rows"]) == 4


@pytest.mark.parametrize("spelling", ["touchpoint:app-login", "touchpoint=app-login"])
def test_filter_spellings_over_http(workspace: momenti.Workspace, spelling: str) -> None:
    from auth_helpers import AuthedClient
    from momenti.core.config import get_settings
    from momenti.domains.tokens import create_token
    from momenti.server.app import create_app

    _seed(workspace)
    app = create_app(get_settings(data_dir=workspace.settings.data_dir))
    with app.state.workspace.session() as s, s.begin():
        _, secret = create_token(s, "tests")
    with AuthedClient(app) as client:
        r = client.get("/api/v1/metrics/nps", params={"filter": spelling},
                       headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200, r.text
        assert r.json()["query"]["filters"] == {"touchpoint": ["app-login"]}
        assert sum(row["n"] for row in r.json()["rows"]) == 4
        bad = client.get("/api/v1/metrics/nps", params={"filter": "touchpoint"},
                         headers={"Authorization": f"Bearer {secret}"})
        assert bad.status_code == 400 and "dimension:value" in bad.text and "Traceback" not in bad.text
