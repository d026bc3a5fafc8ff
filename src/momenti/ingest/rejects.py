"""The rejects file: every rejected row as the file had it, with its line and errors, ready to fix and import
again with the same command.

It goes where the user asks (--rejects PATH) or into the data directory's rejects/ folder, never beside the
input: that folder may be read-only, shared, or a mounted export the user does not want written to.
"""

from __future__ import annotations

import csv
from pathlib import Path

from momenti.core.errors import InputError
from momenti.ingest.read import LINE, SourceTable
from momenti.ingest.validate import Validated


def rejects_path(path: Path, data_dir: Path, asked: Path | None = None) -> Path:
    """Where the rejects of the input `path` go: `asked` (--rejects), else data_dir/rejects/<name>.rejects.csv
    (a rejects file imported again from there gets <name>.rejects.rejects.csv)."""
    if asked is not None:
        if asked.resolve() == path.resolve():
            raise InputError(f"{path}: --rejects names the input file itself; give another path")
        return asked
    folder = data_dir.resolve() / "rejects"
    target = folder / (path.name.split(".")[0] + ".rejects.csv")
    if target == path.resolve():  # a rejects file imported again: never overwrite (or delete) it
        target = folder / (path.stem + ".rejects.csv")
    return target


def write_rejects(target: Path, v: Validated, src: SourceTable) -> str | None:
    """Write the rejected rows to `target` (None when there are none: a stale file there is removed)."""
    if not v.rejected_rows.num_rows and not src.problems:
        if target.exists():
            target.unlink()  # a stale rejects file from an earlier run would mislead
        return None
    # Columns given by --set are not the file's: the same command adds them again.
    names = [n for n in v.rejected_rows.column_names if n not in src.constant]
    data = [n for n in names if n not in (LINE, "_error")]
    raw = bool(src.raw)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        # The file's own column names (before --map), so the fixed rows import again with the same command.
        w.writerow([src.renamed.get(n, n) for n in names] + (["_raw"] if raw else []))
        columns = {n: v.rejected_rows.column(n).to_pylist() for n in names}
        rows = [(line, [columns[n][i] for n in names] + ([None] if raw else []))
                for i, line in enumerate(columns[LINE])]
        for line, fld, reason in src.problems:
            text = src.raw.get(line)
            # A row the reader could not split into the columns: its values where they fit, and the line as
            # it was (_raw), so it can be fixed instead of typed again.
            values = next(csv.reader([text], delimiter=src.delimiter), []) if text is not None and src.delimiter else []
            values += [None] * (len(data) - len(values))
            cells = dict(zip(data, values, strict=False))
            rows.append((line, [line if n == LINE else f"{fld}: {reason}" if n == "_error" else cells.get(n)
                                for n in names] + ([text] if raw else [])))
        rows.sort(key=lambda r: r[0])  # in file order
        w.writerows(values for _, values in rows)
    return str(target)
