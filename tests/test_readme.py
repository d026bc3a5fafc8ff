"""The README's examples work: every `momenti ...` command line names a real command with real options, every
`curl` names a real route with real query parameters, and the Python API block runs against the demo data."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import demo_workspace
from momenti.cli.main import app as cli_app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def blocks(path: Path, *kinds: str) -> list[str]:
    return [body for kind, body in FENCE.findall(path.read_text(encoding="utf-8")) if kind in kinds]


def _logical_lines(body: str) -> list[str]:
    return [line.strip() for line in body.replace("\\\n", " ").splitlines() if line.strip()]


def command_lines(path: Path) -> list[list[str]]:
    """The `momenti ...` invocations of a file's shell blocks (prompts, `X=$(...)` and comments stripped)."""
    out = []
    for body in blocks(path, "bash", "sh", "text"):
        for line in _logical_lines(body):
            line = line.removeprefix("$ ")
            m = re.match(r"^(?:\w+=\$\()?momenti (.*)", line)
            if not m:
                continue
            rest = m.group(1).split(" #", 1)[0].split(" > ", 1)[0].split(" | ", 1)[0].rstrip(")")
            out.append(shlex.split(rest))
    return out


def _help(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, [*args, "--help"], terminal_width=200)
    return result.exit_code, result.output


def _command_path(tokens: list[str]) -> tuple[list[str], str]:
    """The longest prefix of `tokens` that is a command (group or leaf), and its help text."""
    path: list[str] = []
    code, text = _help(path)
    for tok in tokens:
        if tok.startswith("-"):
            break
        code2, text2 = _help([*path, tok])
        if code2 != 0 or text2 == text:  # an argument, not a sub-command
            break
        path, text = [*path, tok], text2
    assert code == 0
    return path, text


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_line_names_real_commands_and_options(doc: Path) -> None:
    lines = command_lines(doc)
    if doc.name == "README.md":
        assert len(lines) > 40  # the parser still finds the README's commands
    problems = []
    for tokens in lines:
        path, text = _command_path(tokens)
        if not path:
            problems.append(f"momenti {' '.join(tokens)}: no such command")
            continue
        for tok in tokens:
            if tok.startswith("--"):
                option = tok.split("=", 1)[0]
                if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text):
                    problems.append(f"momenti {' '.join(path)}: no option {option}")
    assert problems == []


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from momenti.core.config import Settings
    from momenti.server.app import create_app

    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("readme-api")))
    spec = app.openapi()
    app.state.workspace.close()  # the server's SQLite connections must not outlive the fixture
    return spec


def _route_matches(path: str, template: str) -> bool:
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
    return re.match(pattern, path) is not None


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_curl_names_a_real_route_and_parameters(doc: Path, openapi: dict) -> None:
    spec = openapi
    problems = []
    for body in blocks(doc, "bash", "sh", "text"):
        for line in _logical_lines(body):
            if "curl" not in line:
                continue
            for url in re.findall(r"https?://[^\s'\"]+", line):
                parts = urlsplit(url)
                method = "post" if re.search(r"-X\s*POST|\s-d\s", line) else "get"
                routes = [t for t in spec["paths"] if _route_matches(parts.path, t)]
                if not routes:
                    if parts.path.startswith("/api/"):
                        problems.append(f"{parts.path}: no such route")
                    continue
                op = spec["paths"][routes[0]].get(method)
                if op is None:
                    problems.append(f"{method.upper()} {parts.path}: not allowed")
                    continue
                known = {p["name"] for p in op.get("parameters", [])}
                for name, _ in parse_qsl(parts.query):
                    if name not in known:
                        problems.append(f"{parts.path}: no parameter {name!r}")
    assert problems == []


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("readme") / "momenti-data"
    demo_workspace(data).close()
    return data


def test_the_python_api_block_runs(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (code,) = [b for b in blocks(ROOT / "README.md", "python") if "momenti.open" in b]
    monkeypatch.chdir(demo_dir.parent)
    pd.DataFrame([{"customer_id": "C1", "touchpoint": "app-login", "submitted_at": "2026-05-01T09:00:00Z",
                   "nps": 8}]).to_csv("responses.csv", index=False)
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.integers(1, 6, size=(200, 3)), columns=["speed", "staff", "app"])
    y = X["speed"] * 0.6 + X["staff"] * 0.3 + rng.normal(0, 0.5, 200)
    scope: dict[str, object] = {"X": X, "y": y}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert isinstance(scope["graph"], pd.DataFrame) and not scope["graph"].empty
    assert len(scope["rw"].to_frame()) == 3  # one row per driver
    scope["ws"].close()
