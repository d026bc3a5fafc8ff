"""Bulk validation of a whole input in DuckDB: one SQL pass turns strings into typed rows and errors.

Each rule of `specs.py` becomes a CASE expression producing "field: reason" for the rows that break it;
a row with any error is rejected (all its errors reported), every other row is kept. Nothing here loops
over rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from momenti.core.errors import InputError
from momenti.core.scratch import scratch
from momenti.core.sql import sql_literal as lit
from momenti.ingest.read import LINE, SourceTable
from momenti.ingest.specs import (
    ID_MAX_LEN,
    QUESTION_KEY_MAX_LEN,
    SCORE_SCALES,
    FieldSpec,
    KindSpec,
    RowRule,
    question_kind_for,
)


@dataclass
class QuestionInfo:
    id: int | None  # None until created in the store
    key: str
    kind: str
    lo: float | None
    hi: float | None

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "choice")


@dataclass
class Validated:
    rows: pa.Table  # typed, valid, first occurrence of each external_id, ordered by line
    answer_keys: list[str] | None  # responses only: question key of the row columns _a<i>_num / _a<i>_txt
    rejects: pa.Table  # _line, field, reason (one row per error)
    rejected_rows: pa.Table  # the original rows that were rejected (with _line)
    duplicates_in_input: int
    total: int
    new_questions: list[QuestionInfo] = field(default_factory=list)
    repeats: int = 0  # rows identical to an earlier row of the input (no id), kept as genuine repeats


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def _shown(col: str) -> str:
    # The offending value, shortened, for the message.
    return f"left({col}, 40)"


def _raw(col: str) -> str:
    return f"nullif(trim({q(col)}), '')"


def _field_sql(f: FieldSpec, present: set[str]) -> tuple[str, str, list[str]]:
    """For one declared field: (parsed expression for the inner select, final value, error expressions).

    Values are parsed once in an inner select (as __v_<name>); the outer select reads them for both the
    typed value and its error messages."""
    if f.name not in present:
        typed = {"text": "VARCHAR", "timestamp": "TIMESTAMP", "number": "DOUBLE", "touchpoint": "BIGINT"}
        return "", f"NULL::{typed[f.type]}", []
    raw, v = _raw(f.name), q(f"__v_{f.name}")
    errors = []
    if f.required:
        errors.append(f"CASE WHEN {raw} IS NULL THEN '{f.name}: missing' END")
    if f.max_len is not None:
        errors.append(_too_long(f.name, raw, f.max_len))
    if f.type == "text" and f.choices:
        allowed = ", ".join(f.choices)
        choices = ", ".join(lit(c) for c in f.choices)
        errors.append(f"CASE WHEN {raw} IS NOT NULL AND lower({raw}) NOT IN ({choices}) THEN "
                      f"'{f.name}: ' || {_shown(raw)} || ' is not one of {allowed}' END")
        return "", f"lower({raw})", errors
    if f.type == "text":
        return "", raw, errors
    if f.type == "timestamp":
        # The session time zone is UTC, so the cast to TIMESTAMP gives UTC wall time (cheaper than AT TIME ZONE).
        # Also accepted: an offset after a space ("2015-02-24 11:35:52 -0800", Twitter's and pandas' %z) and
        # Unix epoch seconds. A zone word ICU does not know is refused before the cast: ICU takes ~1 ms to
        # fail each one, which made a file of such dates 20x slower to reject than to import.
        spaced = f"regexp_replace({raw}, '\\s+([+-]\\d\\d:?\\d\\d)$', '\\1')"
        zone = f"regexp_extract({spaced}, '\\s([A-Za-z][^\\s]*)$', 1)"
        parsed = (f"CASE WHEN regexp_full_match({raw}, '\\d{{9,10}}(\\.\\d+)?') THEN to_timestamp({raw}::DOUBLE) "
                  f"WHEN {zone} <> '' AND {zone} NOT IN (SELECT name FROM pg_timezone_names()) THEN NULL "
                  f"ELSE try_cast({spaced} AS TIMESTAMPTZ) END")
        value = f"CAST({v} AS TIMESTAMP)"
        # Day and month in either order (03/04/2015): options.py settled the unambiguous ones already.
        errors.append(f"CASE WHEN {raw} IS NOT NULL AND {v} IS NULL THEN '{f.name}: not a date: ' || "
                      f"{_shown(raw)} || CASE WHEN regexp_matches({raw}, '^\\d{{1,2}}[/.-]\\d{{1,2}}[/.-]\\d') "
                      "THEN ' (day or month first? pass --dayfirst, or --date-format e.g. %m/%d/%Y)' "
                      "ELSE ' (use ISO 8601, e.g. 2025-03-01T10:00:00Z)' END END")
    elif f.type == "number":
        parsed, value = f"try_cast({raw} AS DOUBLE)", v
        errors.append(f"CASE WHEN {raw} IS NOT NULL AND {v} IS NULL THEN '{f.name}: not a number: ' || "
                      f"{_shown(raw)} END")
        if f.lo is not None:
            errors.append(f"CASE WHEN {v} < {f.lo} THEN '{f.name}: ' || {v} || ' below {f.lo:g}' END")
        if f.hi is not None:
            errors.append(f"CASE WHEN {v} > {f.hi} THEN '{f.name}: ' || {v} || ' above {f.hi:g}' END")
    elif f.type == "touchpoint":
        parsed, value = f"(SELECT id FROM _tp WHERE _tp.key = {raw})", v  # decorrelated into a hash join
        errors.append(f"CASE WHEN {raw} IS NOT NULL AND {v} IS NULL THEN '{f.name}: unknown touchpoint ' || "
                      f"{_shown(raw)} END")
    else:  # pragma: no cover - specs are ours
        raise ValueError(f.type)
    return f"{parsed} AS {v}", value, errors


def _rule_sql(rule: RowRule, spec: KindSpec, present: set[str]) -> str | None:
    """The error expression of a rule across fields (None when the file lacks a column it needs)."""
    if rule.check == "required_if":
        if rule.other not in present:
            return None
        given = f"{_raw(rule.field)} IS NULL" if rule.field in present else "true"
        return (f"CASE WHEN {given} AND lower({_raw(rule.other)}) = {lit(rule.value or '')} THEN "
                f"{lit(f'{rule.field}: missing (required when {rule.other} is {rule.value})')} END")
    if rule.check == "not_before":
        if rule.field not in present or rule.other not in present:
            return None
        a, b = q(f"__v_{rule.field}"), q(f"__v_{rule.other}")
        return (f"CASE WHEN {a} < {b} THEN '{rule.field}: ' || {_shown(_raw(rule.field))} || "
                f"' is before {rule.other} ' || {_shown(_raw(rule.other))} END")
    raise ValueError(rule.check)  # pragma: no cover - specs are ours


def _too_long(name: str, raw: str, max_len: int) -> str:
    return f"CASE WHEN length({raw}) > {max_len} THEN '{name}: longer than {max_len} characters' END"


def _answer_sql(i: int, col: str, info: QuestionInfo, ref: str | None = None) -> tuple[str, str, str, list[str]]:
    """(parsed expression, number, text, errors) of one answer column (`ref`: its name inside DuckDB)."""
    raw = _raw(ref or col)
    if not info.numeric:
        return "", "NULL::DOUBLE", raw, []
    num = q(f"__a{i}")
    errors = [f"CASE WHEN {raw} IS NOT NULL AND {num} IS NULL THEN "
              f"{lit(col + ': wrong type: ')} || {_shown(raw)} || ' is not a number' END"]
    if info.kind in SCORE_SCALES or (info.lo is not None and info.hi is not None):
        lo, hi = (info.lo, info.hi) if info.lo is not None else SCORE_SCALES[info.kind]
        errors.append(f"CASE WHEN {num} < {lo} OR {num} > {hi} THEN "
                      f"{lit(col + ': score ')} || {raw} || ' outside {lo:g}..{hi:g}' END")
        if info.kind in SCORE_SCALES:  # the standard scales have whole points only
            errors.append(f"CASE WHEN {num} BETWEEN {lo} AND {hi} AND {num} <> floor({num}) THEN "
                          f"{lit(col + ': score ')} || {raw} || ' is not a whole number ({lo:g}..{hi:g})' END")
    return f"try_cast({raw} AS DOUBLE) AS {num}", num, "NULL::VARCHAR", errors


def _classify_new_columns(con: duckdb.DuckDBPyConnection, cols: list[str], ref: dict[str, str]) -> dict[str, bool]:
    """For answer columns not known yet: numeric when every non-empty value parses as a number.

    One pass over the values unpivoted to (column, value): a SELECT with one aggregate per column has a
    planning time that grows faster than the number of columns (500 new columns took 15 s)."""
    if not cols:
        return {}
    # coalesce: UNPIVOT drops nulls, and an empty cell must still count (as it did: a column of empty cells is
    # numeric, a file without rows is not).
    picked = ", ".join(f"coalesce({q(ref[c])}::VARCHAR, '') AS {q(str(i))}" for i, c in enumerate(cols))
    rows = con.execute(f"""
        WITH picked AS (SELECT {picked} FROM src)
        SELECT k, bool_and(try_cast(nullif(trim(v), '') AS DOUBLE) IS NOT NULL OR nullif(trim(v), '') IS NULL)
        FROM (UNPIVOT picked ON COLUMNS(*) INTO NAME k VALUE v) GROUP BY k
    """).fetchall()
    numeric = {int(k): bool(v) for k, v in rows}
    return {c: numeric.get(i, False) for i, c in enumerate(cols)}


def _duckdb_names(names: list[str], keep: set[str], line_at: int) -> list[str]:
    """DuckDB matches identifiers without regard to case, so columns named "activity" and "Activity" would
    read the same values. Give each column a name unique without case. The line number (column `line_at`)
    and the names in `keep` (the declared fields) keep theirs, so the rules can refer to them as they are;
    a file's own `_line` column (a rejects file imported again) is renamed away."""
    out: list[str | None] = [None] * len(names)
    taken: set[str] = set()
    order = sorted(range(len(names)), key=lambda i: (i != line_at, names[i] not in keep))
    for i in order:
        name, k = names[i], 1
        while name.lower() in taken:
            name, k = f"{names[i]}__{k}", k + 1
        taken.add(name.lower())
        out[i] = name
    return out  # type: ignore[return-value]


def validate(
    src: SourceTable,
    spec: KindSpec,
    touchpoints: dict[str, int],
    questions: dict[str, QuestionInfo],
    source_name: str,
) -> Validated:
    con = scratch()
    original = src.table.column_names
    line_at = len(original) - 1 - original[::-1].index(LINE)  # readers append the line number last
    duck_names = _duckdb_names(original, {*spec.names, spec.id_field}, line_at)
    ref = {c: d for i, (c, d) in enumerate(zip(original, duck_names, strict=True)) if i != line_at}
    # Columns starting with "_" are ours (the line number, or a rejects file's error column): never data. Nor are
    # they handed to DuckDB: one named like an alias below ("__v_touchpoint", "__a0") was read in the alias's place
    # (its text written as the touchpoint id, which broke every later sync), or failed the query.
    data_at = [i for i, c in enumerate(original) if i == line_at or not c.startswith("_")]
    con.register("src", src.table.rename_columns(duck_names).select(data_at))
    cols = [c for c in original if not c.startswith("_")]
    if spec.kind == "events" and "activity" not in cols and "touchpoint" not in cols:
        raise InputError(f"{source_name}: needs an 'activity' or a 'touchpoint' column")
    con.register("_tp", pa.table({"key": list(touchpoints), "id": list(touchpoints.values())},
                                 schema=pa.schema([("key", pa.string()), ("id", pa.int64())])))
    present = set(cols)
    required_missing = [f.name for f in spec.fields if f.required and f.name not in present]
    if spec.upsert and spec.id_field not in present:
        required_missing.insert(0, spec.id_field)
    if required_missing:
        raise InputError(f"{source_name}: missing required column(s): {', '.join(required_missing)} "
                         f"(columns found: {', '.join(cols) or 'none'})")

    parsed: list[str] = []
    selects: list[str] = []
    errors: list[str] = []
    for f in spec.fields:
        inner, value, errs = _field_sql(f, present)
        if spec.kind == "events" and f.name == "activity" and "touchpoint" in present:
            value = f"coalesce({value}, {_raw('touchpoint')})"
        parsed += [inner] if inner else []
        selects.append(f"{value} AS {q(f.name)}")
        errors += errs
    if spec.kind == "events":
        errors.append("CASE WHEN nullif(trim(" + (q("activity") if "activity" in present else "NULL")
                      + "), '') IS NULL AND " + ("nullif(trim(" + q("touchpoint") + "), '')"
                                                 if "touchpoint" in present else "NULL")
                      + " IS NULL THEN 'activity: missing (give an activity or a touchpoint)' END")

    errors += [e for e in (_rule_sql(r, spec, present) for r in spec.rules) if e is not None]

    declared = set(spec.names) | {spec.id_field}
    extra = [c for c in cols if c not in declared]
    new_questions: list[QuestionInfo] = []
    answer_cols: dict[str, QuestionInfo] = {}
    if spec.answers:
        unknown = [c for c in extra if c not in questions]
        long_keys = [c for c in unknown if len(c) > QUESTION_KEY_MAX_LEN]
        if long_keys:
            raise InputError(f"{source_name}: column names longer than {QUESTION_KEY_MAX_LEN} characters cannot "
                             f"be answer keys; rename them with --map: {'; '.join(long_keys)}")
        for c, numeric in _classify_new_columns(con, unknown, ref).items():
            kind, lo, hi = question_kind_for(c, numeric)
            info = QuestionInfo(None, c, kind, lo, hi)
            new_questions.append(info)
            answer_cols[c] = info
        for c in extra:
            answer_cols.setdefault(c, questions.get(c))  # type: ignore[arg-type]
        for i, (c, info) in enumerate(answer_cols.items()):
            expr, num, txt, errs = _answer_sql(i, c, info, ref[c])
            parsed += [expr] if expr else []
            selects += [f"{num} AS _a{i}_num", f"{txt} AS _a{i}_txt"]
            errors += errs
    elif spec.attributes and spec.upsert:
        # Customer (and outcome) attributes are merged into what the store has: an empty cell gives no value (it neither
        # erases a known one nor makes the same file look changed when imported again).
        entries = ", ".join(f"{{'k': {lit(c)}, 'v': nullif(trim({q(ref[c])}), '')}}" for c in extra)
        selects.append(f"to_json(map_from_entries(list_filter([{entries}], x -> x.v IS NOT NULL)))::VARCHAR "
                       "AS attributes" if extra else "'{}' AS attributes")
    elif spec.attributes:
        if extra:
            pairs = ", ".join(f"{lit(c)}, nullif(trim({q(ref[c])}), '')" for c in extra)
            selects.append(f"json_object({pairs})::VARCHAR AS attributes")
        else:
            selects.append("NULL::VARCHAR AS attributes")

    id_raw = f"nullif(trim({q(spec.id_field)}), '')" if spec.id_field in present else "NULL"
    if spec.upsert:
        errors.append(f"CASE WHEN {id_raw} IS NULL THEN '{spec.id_field}: missing' END")
    if spec.id_field in present:
        errors.append(_too_long(spec.id_field, id_raw, ID_MAX_LEN))
    hashed = ", ".join(f"{lit(c + '=')} || coalesce({q(ref[c])}, '')" for c in sorted(cols))
    # No id: the content hash is the idempotency key, so the same row imported twice is recognised. Identical
    # rows inside one input are real (an event log without ids can hold the same event twice): the k-th of them
    # gets the key "<hash>#k", so a re-import still adds nothing and an overlapping export only what is new.
    parsed.append(f"CASE WHEN {id_raw} IS NULL THEN 'h:' || md5(concat_ws(chr(31), {hashed})) END AS __hash")
    repeat = f"row_number() OVER (PARTITION BY __hash ORDER BY {LINE})"
    external = (f"CASE WHEN __hash IS NULL THEN {id_raw} WHEN {repeat} = 1 THEN __hash "
                f"ELSE __hash || '#' || {repeat} END")
    err_list = "list_filter([" + ", ".join(errors) + "]::VARCHAR[], x -> x IS NOT NULL)" if errors else "[]"
    con.execute(f"""
        CREATE TEMP TABLE checked AS
        SELECT {LINE}, {external} AS external_id, __hash IS NOT NULL AND {repeat} > 1 AS _repeat,
               {err_list} AS _errors, {", ".join(selects)}
        FROM (SELECT *{"".join(", " + p for p in parsed)} FROM src)
    """)
    n_rejected, repeats = con.execute("SELECT count(*) FILTER (len(_errors) > 0), "
                                      "count(*) FILTER (_repeat AND len(_errors) = 0) FROM checked").fetchone()
    if n_rejected:
        rejects = con.execute(f"""
            SELECT {LINE}, split_part(e, ': ', 1) AS field, substr(e, length(split_part(e, ': ', 1)) + 3) AS reason
            FROM (SELECT {LINE}, unnest(_errors) AS e FROM checked WHERE len(_errors) > 0)
            ORDER BY {LINE}
        """).to_arrow_table()
        # The rejected rows as read (data columns only), with their line and errors: a rejects file.
        data_cols = "".join(f"src.{q(ref[c])}, " for c in cols)
        rejected_rows = con.execute(f"""
            SELECT {data_cols}src.{LINE}, array_to_string(c._errors, '; ') AS _error
            FROM src JOIN checked c USING ({LINE}) WHERE len(c._errors) > 0 ORDER BY {LINE}
        """).to_arrow_table().rename_columns([*cols, LINE, "_error"])
    else:  # the common case: no query needed (each DuckDB statement costs ~2 ms, which API writes feel)
        rejects = pa.table({LINE: pa.array([], pa.int64()), "field": pa.array([], pa.string()),
                            "reason": pa.array([], pa.string())})
        rejected_rows = pa.table({**{c: pa.array([], pa.string()) for c in cols},
                                  LINE: pa.array([], pa.int64()), "_error": pa.array([], pa.string())})
    # First occurrence of each id, in line order (ids repeated inside the input count as duplicates).
    keep = con.execute(f"""
        SELECT * EXCLUDE (_errors, _dup, _repeat) FROM (
            SELECT *, row_number() OVER (PARTITION BY external_id ORDER BY {LINE}) AS _dup
            FROM checked WHERE len(_errors) = 0)
        WHERE _dup = 1 ORDER BY {LINE}
    """).to_arrow_table()
    n_valid_all = src.table.num_rows - n_rejected
    n_valid = keep.num_rows

    # Answers stay wide in `keep` (_a<i>_num, _a<i>_txt per answer column): each import chunk turns its own
    # rows into answer rows as it writes them, so no file-sized long table is built and sorted.
    total = src.table.num_rows
    con.close()
    return Validated(
        rows=keep, answer_keys=list(answer_cols) if spec.answers else None, rejects=rejects,
        rejected_rows=rejected_rows,
        duplicates_in_input=n_valid_all - n_valid, total=total, new_questions=new_questions, repeats=repeats,
    )
