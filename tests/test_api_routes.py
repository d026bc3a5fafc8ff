"""The REST API's contract: every /api/ JSON route documents its answer (a response schema in /docs), the
process-mining and contact-centre routes answer under their own names, and the old names answer the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.cli import main as cli_main
from momenti.core.config import get_settings
from momenti.server.app import create_app

PATHS = ["dfg", "dfg?format=dot", "activities?which=start", "variants?top=5", "funnel?steps=login%20app,bonifico",
         "instances?limit=5", "loyalty", "loyalty?by=activity"]
CONTACT = ["fcr?by=reason", "repeats", "aht?per=contact", "complaints", "switching?from_channel=app"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from momenti.demo import generate

    data = generate(size="small", seed=42)
    path = Path(tmp_path_factory.mktemp("routes")) / "data"
    with momenti.open(path) as ws:
        ws.apply_journey(data.journey)
        for kind, table in data.tables().items():
            assert ws.import_table(kind, table, source=f"demo:{kind}").rejected == 0
    return path


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    with AuthedClient(create_app(get_settings(data_dir=data_dir))) as c:
        yield c


def test_every_api_json_route_documents_its_answer(client: TestClient) -> None:
    """A route returning JSON without a response model shows `{}` in /docs and is not checked by FastAPI."""
    schema = client.app.openapi()
    missing = []
    for path, ops in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in ops.items():
            answers = {code: r for code, r in op["responses"].items() if code.startswith("2")}
            json_answers = [r["content"]["application/json"].get("schema") for r in answers.values()
                            if "application/json" in r.get("content", {})]
            other = [r for r in answers.values() if set(r.get("content", {})) - {"application/json"}]
            if not json_answers and other:
                continue  # a picture or a graph (SVG, DOT)
            if not json_answers or not all(json_answers):
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"no response_model: {missing}"


def test_rows_are_described_field_by_field(client: TestClient) -> None:
    components = client.app.openapi()["components"]["schemas"]
    fcr = components["FcrRow"]
    assert {"n", "fcr", "ci_low", "ci_high", "censored", "small_sample"} <= set(fcr["properties"])
    assert fcr["additionalProperties"] is True  # the group columns of `by`
    assert components["DfgRow"]["additionalProperties"] is False  # fixed columns: all named
    assert "rows" in components["MetricPublic"]["properties"]
    every_row = [name for name in components if name.endswith("Row")]
    assert every_row and all(components[name].get("properties") for name in every_row)


@pytest.mark.parametrize("route", PATHS)
def test_paths_routes_and_their_old_names_answer_the_same(client: TestClient, route: str) -> None:
    new, old = client.get(f"/api/v1/paths/{route}"), client.get(f"/api/v1/journeys/{route}")
    assert new.status_code == old.status_code == 200, new.text
    assert new.content == old.content and new.headers["content-type"] == old.headers["content-type"]


@pytest.mark.parametrize("route", CONTACT)
def test_contact_routes_and_their_old_names_answer_the_same(client: TestClient, route: str) -> None:
    new, old = client.get(f"/api/v1/contact/{route}"), client.get(f"/api/v1/journeys/{route}")
    assert new.status_code == old.status_code == 200, new.text
    assert new.json() == old.json() and new.json()["rows"]


def test_old_names_are_not_in_the_docs_and_errors_stay_the_same(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]
    assert "/api/v1/contact/fcr" in paths and "/api/v1/paths/variants" in paths and "/api/v1/journeys" in paths
    assert not [p for p in paths if p.startswith("/api/v1/journeys/")]
    for prefix in ("/api/v1/contact", "/api/v1/journeys"):
        assert client.get(f"{prefix}/fcr", params={"by": "colour"}).status_code == 400
        assert client.get(f"{prefix}/fcr", params={"days": 0}).status_code == 422
    # The new names are reads like the old ones (a read token or a session); a write needs an ingest token.
    assert client.get("/api/v1/paths/dfg.svg").status_code in (200, 503)  # 503: no Graphviz on this machine
    assert client.get("/api/v1/paths/dfg.svg", headers={"Authorization": ""}).status_code == 401
    assert client.post("/api/v1/text/analyze", headers={"Authorization": ""}).status_code == 401


@pytest.mark.parametrize(("new", "old"), [
    (["paths", "variants", "--top", "3"], ["journeys", "variants", "--top", "3"]),
    (["contact", "fcr", "--by", "reason"], ["journeys", "fcr", "--by", "reason"])])
def test_cli_new_names_and_hidden_aliases(data_dir: Path, monkeypatch: pytest.MonkeyPatch, new: list[str],
                                          old: list[str]) -> None:
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(data_dir))
    runner = CliRunner()
    a = runner.invoke(cli_main.app, [*new, "--format", "json"])
    b = runner.invoke(cli_main.app, [*old, "--format", "json"])
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    assert a.stdout == b.stdout and '"rows"' in a.stdout
    top = runner.invoke(cli_main.app, ["--help"]).stdout
    commands = {line.split()[1] for line in top.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    assert {"paths", "contact"} <= commands and "journeys" not in commands
