"""Draw docs/architecture-layers.svg from the code: one box per package of src/momenti, one arrow per package
imported by another (the count of module-level import edges on it), ranked by the layers of the import-linter
contract in pyproject.toml. Run: `make architecture` (needs Graphviz's `dot`)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def layers() -> list[list[str]]:
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    return [[p.strip().removeprefix("momenti.") for p in layer.split("|")] for layer in contract["layers"]]


def package_of(module: str, known: set[str]) -> str | None:
    parts = module.split(".")
    if parts[0] != "momenti" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in known else None


def edges(known: set[str]) -> Counter:
    out: Counter = Counter()
    for path in (SRC / "momenti").rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("").parts
        if len(rel) < 2:
            continue
        here = rel[1]
        if here not in known:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(x) for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
                       for b in n.body for x in ast.walk(b)}
        for n in ast.walk(tree):
            if id(n) in typing_only:
                continue
            names = ([a.name for a in n.names] if isinstance(n, ast.Import)
                     else [n.module or ""] if isinstance(n, ast.ImportFrom) and not n.level else [])
            for name in names:
                there = package_of(name, known)
                if there and there != here:
                    out[(here, there)] += 1
    return out


def dot() -> str:
    ranks = layers()
    known = {p for rank in ranks for p in rank}
    lines = ["digraph layers {", '  rankdir=TB; nodesep=0.35; ranksep=0.45;',
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=11];',
             '  edge [color="#8896aa", fontsize=8, fontname="Helvetica"];']
    for rank in ranks:
        lines.append("  { rank=same; " + " ".join(f'"{p}";' for p in rank) + " }")
    for (a, b), n in sorted(edges(known).items()):
        lines.append(f'  "{a}" -> "{b}" [label="{n}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = dot()
    if "--dot" in sys.argv:
        print(text)
    else:
        svg = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, check=True).stdout
        (ROOT / "docs" / "architecture-layers.svg").write_bytes(svg)
        print("wrote docs/architecture-layers.svg")
