"""The server under hostile input: deep JSON, lone surrogates, NUL characters in query values, numbers for
dates, a bug that must not kill the keep-alive connection, security headers on every page, and formula-safe
CSV from every writer."""

from __future__ import annotations

import csv
import http.client
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pandas as pd
import pytest
from typer.testing import CliRunner

import momenti
from api_helpers import Api, make_api, response
from auth_helpers import make_token
from momenti.cli.main import app as cli_app
from momenti.core.args import as_date
from momenti.core.config import get_settings
from momenti.core.errors import InputError
from momenti.core.frames import write_csv
from momenti.server.app import create_app
from momenti.server.records import MAX_JSON_DEPTH, json_depth
from momenti.server.web import views
from momenti.store.models import Response
from reach_helpers import SURVEY, smtp_fixture, ws_fixture  # noqa: F401 - the fixtures smtp and ws
from server_helpers import serving

INTERNAL = {"detail": "internal error; the server log has the details"}


@pytest.fixture
def api(workspace: momenti.Workspace) -> Iterator[Api]:
    yield from make_api(workspace)


def _openapi_params(api: Api, method: str = "get") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, parameter) of every documented operation of `method`."""
    for path, ops in api.client.get("/openapi.json").json()["paths"].items():
        for param in ops.get(method, {}).get("parameters", []):
            yield path, param


def _schemas(param: dict[str, Any]) -> list[dict[str, Any]]:
    schema = param.get("schema", {})
    options = schema.get("anyOf", [schema])
    return [o.get("items", o) if o.get("type") == "array" else o for o in options]


def _url(path: str, query: str) -> str:
    return path.replace("{metric}", "nps").replace("{key}", "x") + "?" + query


# -- 1. deep JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/responses", "/api/v1/feedback", "/api/v1/events", "/api/v1/surveys"])
def test_deeply_nested_json_is_422_not_500(api: Api, path: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    r = api.post(path, content=deep)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{"loc": ["body"], "msg": f"JSON nested 100000 levels deep; at most {MAX_JSON_DEPTH}",
                                   "type": "json_invalid"}]
    # Just past the limit, inside an otherwise good record: refused the same way, and nothing written.
    inner = b'{"response_id": "r1", "answers": {"x": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}}"
    r = api.post(path, content=inner)
    assert r.status_code == 422 and "levels deep" in r.json()["detail"][0]["msg"]
    assert api.count(Response) == 0


def test_json_depth_ignores_brackets_in_strings() -> None:
    assert json_depth(json.dumps([{"a": '[[[{{"\\', "b": {"c": [1]}}]).encode()) == 4
    assert json_depth(b'"[[["') == 0 and json_depth(b"{}") == 1
    assert json_depth(b'{"x": "\\\\"}') == 1  # an escaped backslash ends the string


# -- 2. lone surrogates --------------------------------------------------------------------------------


def test_lone_surrogate_is_422_naming_the_field(api: Api) -> None:
    one = json.dumps(response(1)).replace('"c1"', '"\\ud800"').encode()
    r = api.post("/api/v1/responses", content=one)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "customer_id"]
    assert "lone surrogate" in r.json()["detail"][0]["msg"]
    batch = json.dumps([response(1), response(2, answers={"comment": "ok"})]).replace('"ok"', '"\\udfff x"')
    r = api.post("/api/v1/responses", content=batch.encode())
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", 1, "answers", "comment"]
    survey = b'{"key": "s", "title": {"it": "\\ud83d"}}'  # a high surrogate whose low half is missing
    r = api.post("/api/v1/surveys", content=survey)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "title", "it"]
    assert api.count(Response) == 0
    # A proper pair (an emoji written as two escapes) is text like any other.
    pair = json.dumps(response(3, answers={"comment": "\U0001f600"})).encode()
    assert b"\\ud83d\\ude00" in pair
    assert api.post("/api/v1/responses", content=pair).status_code == 201


@pytest.fixture
def api_any(ws_any: momenti.Workspace) -> Iterator[Api]:
    yield from make_api(ws_any)


def test_nul_in_body_text_is_422_naming_the_field(api_any: Api) -> None:
    """PostgreSQL refuses a NUL in text (the store answered 500); every store now gets the same 422."""
    body = json.dumps([response(1), response(2, answers={"comment": "a\x00b"})]).encode()
    assert b"\\u0000" in body
    r = api_any.post("/api/v1/responses", content=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{"loc": ["body", 1, "answers", "comment"], "msg": "contains a NUL character "
                                   "(\\u0000); remove it", "type": "string_unicode"}]
    r = api_any.post("/api/v1/feedback", content=b'{"feedback_id": "f\\u0000"}')
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "feedback_id"]
    assert api_any.count(Response) == 0
    literal = json.dumps(response(3, answers={"comment": "\\u0000 is how JSON writes NUL"})).encode()
    assert api_any.post("/api/v1/responses", content=literal).status_code == 201  # text about it is fine


# -- 3. NUL characters in query values -----------------------------------------------------------------


def test_nul_in_any_string_query_value_is_422_naming_it(api: Api) -> None:
    checked = set()
    for path, param in _openapi_params(api):
        if param["in"] != "query" or not any(s.get("type") == "string" and "enum" not in s and "format" not in s
                                             for s in _schemas(param)):
            continue
        value = "segment:tier:a\x00" if param["name"] == "filter" else "nps\x00"
        r = api.client.get(_url(path, f"{param['name']}={quote(value)}"), headers=api.auth)
        assert r.status_code == 422, (path, param["name"], r.text)
        assert r.json()["detail"][0]["loc"] == ["query", param["name"]], (path, r.text)
        assert "NUL" in r.json()["detail"][0]["msg"]
        checked.add(param["name"])
    assert {"by", "filter", "question", "items", "topic", "outcome", "drivers", "steps"} <= checked
    r = api.client.get("/api/v1/surveys/a%00b")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path"]
    assert api.client.get("/api/v1/metrics/nps?by=touchpoint&question=nps").status_code == 200


# -- 5. dates ------------------------------------------------------------------------------------------


def test_a_number_is_not_a_date_on_any_operation(api: Api) -> None:
    operations = set()
    for path, param in _openapi_params(api):
        if any(s.get("format") == "date" for s in _schemas(param)):
            r = api.client.get(_url(path, f"{param['name']}=0"), headers=api.auth)
            assert r.status_code == 422, (path, param["name"], r.text)
            assert {"loc": ["query", param["name"]], "msg": "'0' is not a date: write YYYY-MM-DD",
                    "type": "value_error"} in r.json()["detail"], (path, r.text)  # beside any missing one
            operations.add(path)
    assert len(operations) >= 14
    ok = api.client.get("/api/v1/metrics/nps?from=2025-01-01&to=2025-02-01T12:00:00Z")
    assert ok.status_code == 200 and ok.json()["query"]["to"] == "2025-02-01"


def test_as_date_takes_dates_and_iso_datetimes_only() -> None:
    assert str(as_date("2025-02-01T23:30:00+01:00")) == "2025-02-01"
    for bad in ("0", "1700000000", "2025", "2025-W05-1", "20250101"):
        with pytest.raises(InputError, match="is not a date: write YYYY-MM-DD"):
            as_date(bad)


# -- 4. a bug never kills the connection ---------------------------------------------------------------


def test_a_500_keeps_the_keep_alive_connection(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("planted bug, secret internals")

    monkeypatch.setattr(views, "overview", broken)
    app = create_app(get_settings(data_dir=workspace.settings.data_dir))
    token = make_token(app.state.workspace)
    with serving(app) as base, caplog.at_level(logging.ERROR, logger="momenti.server"):
        url = urlparse(base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        for _ in range(2):  # twice: the second 500 also arrives on the same connection
            conn.request("GET", "/", headers={"Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            body = r.read()
            assert r.status == 500 and json.loads(body) == INTERNAL
            assert b"Traceback" not in body and b"secret" not in body and r.getheader("connection") != "close"
            sock, csp = conn.sock, r.getheader("content-security-policy")
        conn.request("GET", "/api/v1/health")
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["status"] == "ok"
        assert conn.sock is sock  # the same connection, not a silent reconnect
        conn.close()
    assert csp  # the security headers reach a 500 too
    assert "unhandled error on GET /" in caplog.text and "planted bug" in caplog.text


# -- 7. security headers -------------------------------------------------------------------------------


def test_every_page_sends_security_headers(api: Api) -> None:
    for path in ["/", "/surveys", "/surveys/new", "/api/v1/health", "/api/v1/journeys", "/static/momenti.css",
                 "/no-such-page", "/openapi.json"]:
        r = api.client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, path
    # /docs keeps a policy of its own: Swagger UI's inline start script runs by its nonce, nothing else inline.
    docs = api.client.get("/docs")
    csp = docs.headers["content-security-policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in docs.text and "<script>" not in docs.text
    assert docs.headers["x-frame-options"] == "DENY" and docs.headers["x-content-type-options"] == "nosniff"
    # The survey pages keep their stricter policy (framed by their own site only); the widget, which host
    # sites embed, gets no X-Frame-Options.
    survey = api.client.get("/s/no-such-survey")
    assert "frame-ancestors 'self'" in survey.headers["content-security-policy"]
    assert survey.headers["x-frame-options"] == "SAMEORIGIN"
    assert survey.headers["x-content-type-options"] == "nosniff"
    widget = api.client.get("/w/no-such-survey")
    assert "script-src 'nonce-" in widget.headers["content-security-policy"]
    assert "x-frame-options" not in widget.headers and widget.headers["x-content-type-options"] == "nosniff"
    assert api.client.get("/widget.js").headers["x-content-type-options"] == "nosniff"


# -- 6. formula-safe CSV -------------------------------------------------------------------------------

EVIL = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_write_csv_escapes_formulas_and_keeps_numbers(tmp_path: Path) -> None:
    df = pd.DataFrame({"text": [*EVIL, "-0.5", "fine", None], "score": [-0.5, 1, 2, 3, 4, 5, -7, 8, None],
                       "=header": range(9)})
    out = io.StringIO()
    write_csv(df, out)
    write_csv(df, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").open(newline="").read() == out.getvalue()
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert len(rows) == 10  # the cell with a CR is quoted: no row of its own
    assert rows[0] == ["text", "score", "'=header"]
    assert [r[0] for r in rows[1:7]] == ["'" + v for v in EVIL]
    assert [r[0] for r in rows[7:]] == ["-0.5", "fine", ""]  # a number written as text is no formula
    assert [r[1] for r in rows[1:3]] == ["-0.5", "1.0"]  # numeric columns as they are


def test_cli_csv_is_formula_safe(ws: momenti.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws.settings.data_dir))
    contacts = tmp_path / "contacts.csv"
    with contacts.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "email", "language", "name"])
        # Not the tab and CR ones: the contact reader trims names.
        w.writerows([[f"c{i}", f"p{i}@example.com", "it", name] for i, name in enumerate(EVIL[:4])])
    out = tmp_path / "links.csv"
    args = ["links", "create", "--survey", SURVEY, "--customers", str(contacts)]
    assert CliRunner().invoke(cli_app, [*args, "--out", str(out)]).exit_code == 0
    stdout = CliRunner().invoke(cli_app, [*args, "--format", "csv"])
    assert stdout.exit_code == 0, stdout.output
    for text in (out.read_text(encoding="utf-8"), stdout.stdout):
        names = [r["name"] for r in csv.DictReader(io.StringIO(text))]
        assert names == ["'" + v for v in EVIL[:4]]
    # A metric's negative score stays a number in CLI CSV.
    ws.import_records("responses", [{"response_id": f"r{i}", "customer_id": f"c{i}", "touchpoint": "branch-visit",
                                     "submitted_at": "2025-03-01T10:00:00Z", "nps": 2} for i in range(3)])
    ws.sync()
    result = CliRunner().invoke(cli_app, ["metrics", "nps", "--format", "csv"])
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert float(row["nps"]) == -100.0 and row["nps"].startswith("-")


def test_no_csv_writer_bypasses_the_safe_helper() -> None:
    """Every CSV this package writes from a DataFrame goes through frames.write_csv."""
    src = Path(momenti.__file__).parent
    offenders = [str(p.relative_to(src)) for p in src.rglob("*.py")
                 if ".to_csv(" in p.read_text(encoding="utf-8") and p.name != "frames.py"]
    assert offenders == []


def test_python_api_refuses_nul_in_values_that_reach_sql(workspace: momenti.Workspace) -> None:
    """The server's guard is at the HTTP edge; the Python API names the field the same way."""
    with pytest.raises(InputError, match="filter touchpoint: 'a\\\\x00' contains a NUL character"):
        workspace.nps(filters={"touchpoint": ["a\x00"]})
    with pytest.raises(InputError, match="filter reason: .* contains a NUL"):
        workspace.fcr(filters={"reason": ["gold\x00"]})
    with pytest.raises(InputError, match="question: 'nps\\\\x00' contains a NUL character"):
        workspace.nps(question="nps\x00")
