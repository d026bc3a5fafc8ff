"""The company's own tables presented as momenti's replica tables: Ibis expressions (views, never copies) built
from the mapping file (momenti.warehouse.mapping), and the check of a mapping against the warehouse.

Each expression has exactly the replica table's columns and types (momenti.warehouse.schema.TABLES): a mapped
column is cast to the replica's type, an unmapped one is a typed NULL. What momenti derives from its own tables
(`answers` from responses, the `score_daily` rollup, `questions` from the mapping) is derived here as an expression
too. Every other replica table (customers, text results, the facts kept at sync, `_meta`) reads as empty, so that
the hand-written SQL of the bookkeeping (watermarks, freshness marks) runs unchanged and finds nothing kept.

Two ways in, one source of truth (`Views`): `Views.table(name)` for Ibis expressions, and `Views.with_ctes(sql)`
for SQL text naming replica tables, which is prefixed with a WITH clause defining each table it names.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
from ibis.backends import BaseBackend
from ibis.backends.sql.datatypes import DuckDBType

from momenti.core.errors import ExternalWarehouseError
from momenti.core.sql import sql_literal
from momenti.warehouse.mapping import Mapping, Responses, Source
from momenti.warehouse.schema import SCORE_KINDS, TABLES, rollup_from_answers

# Replica tables derived from the mapping (the rest read as empty; `table()` refuses those an insight would
# otherwise mistake for "no data": see Views.table).
DERIVED = {"events": "events", "responses": "responses", "answers": "responses", "score_daily": "responses",
           "questions": "responses"}
# Empty on an external warehouse, and harmless so: bookkeeping that finds nothing kept.
EMPTY_OK = {"_meta"}


def _null(dtype: ibis.DataType) -> ibis.Value:
    return ibis.null().cast(dtype)


def _typed(t: ibis.Table, columns: dict[str, str], schema: ibis.Schema) -> ibis.Table:
    """`t` with the replica's columns: each mapped column cast to the replica's type, the rest typed NULLs."""
    return t.select(**{name: t[columns[name]].cast(dtype) if name in columns else _null(dtype)
                       for name, dtype in schema.items()})


def _literal_sql(schema: ibis.Schema, rows: list[tuple]) -> str:
    """A relation of literal rows in DuckDB's dialect (Ibis transpiles it to the backend's): no table is created,
    as an Ibis memtable would (a temporary table on a SQL server)."""
    def cast(value: object, dtype: ibis.DataType) -> str:
        text = "NULL" if value is None else sql_literal(value) if isinstance(value, str) else repr(value)
        return f"CAST({text} AS {DuckDBType.from_ibis(dtype).sql('duckdb')})"

    if not rows:
        first = ", ".join(f'{cast(None, t)} AS "{c}"' for c, t in schema.items())
        return f"SELECT * FROM (SELECT {first}) AS _empty WHERE 1 = 0"
    return " UNION ALL ".join(
        "SELECT " + ", ".join(f'{cast(v, t)} AS "{c}"' for v, (c, t) in zip(row, schema.items(), strict=True))
        for row in rows)


@dataclass
class Views:
    """The replica tables of one external warehouse, as expressions on its backend."""

    backend: BaseBackend
    mapping: Mapping

    def __post_init__(self) -> None:
        self._tables: dict[str, ibis.Table] = {}
        self._sql: dict[str, str] = {}

    # -- the company's tables --------------------------------------------------------------------------

    def source(self, src: Source) -> ibis.Table:
        return self.backend.table(src.table, database=src.where)

    def _events(self) -> ibis.Table:
        ev = self.mapping.events
        assert ev is not None
        t = self.source(ev)
        columns = dict(ev.columns)
        if "id" not in columns:
            # momenti orders a case's events by time, ties by id: without an id column, a stable order of the
            # company's rows (a sort of the whole table: map an id column if there is one).
            t = t.mutate(_momenti_id=ibis.row_number().over(
                order_by=[t[columns["case_id"]], t[columns["timestamp"]], t[columns["activity"]]]) + 1)
            columns["id"] = "_momenti_id"
        return _typed(t, columns, TABLES["events"])

    def _responses(self) -> ibis.Table:
        r = self._mapped_responses()
        t = self.source(r)
        if r.layout == "wide":
            return _typed(t, r.columns, TABLES["responses"])
        # long: one row per answer; a response's context is the same on each of its rows
        own = [c for c in TABLES["responses"].names if c in r.columns and c != "id"]
        rid = r.columns["id"]
        g = t.group_by(id=t[rid]).aggregate(**{c: t[r.columns[c]].min() for c in own})
        return _typed(g, {c: c for c in ["id", *own]}, TABLES["responses"])

    def _answers(self) -> ibis.Table:
        r = self._mapped_responses()
        t = self.source(r)
        schema = TABLES["answers"]
        context = {"response_id": r.columns["id"], **{c: r.columns[c] for c in schema.names if c in r.columns}}
        if r.layout == "long":
            renames = {q.value or key: key for key, q in r.questions.items()}
            qcol = t[r.columns["question"]].cast("string")
            t = t.mutate(_momenti_question=qcol.substitute(renames, else_=qcol) if renames else qcol)
            return _typed(t, {**context, "question": "_momenti_question"}, schema)
        parts = []
        for key, q in r.questions.items():
            col = t[q.column]
            part = t.filter(col.notnull()).mutate(
                _q=ibis.literal(key, "string"),
                _num=col.cast("float64") if q.numeric else _null(ibis.dtype("float64")),
                _text=col.cast("string") if not q.numeric else _null(ibis.dtype("string")))
            parts.append(_typed(part, {**context, "question": "_q", "value_num": "_num", "value_text": "_text"},
                                schema))
        return ibis.union(*parts) if len(parts) > 1 else parts[0]

    def _questions(self) -> ibis.Table:
        r = self._mapped_responses()
        rows = [(key, q.kind, *q.bounds()) for key, q in r.questions.items()]
        return self.literal("questions", rows)

    def _score_daily(self) -> ibis.Table:
        # The rollup momenti keeps at sync, as a group-by over the answers (each question asks it again).
        scores = [k for k, q in self._mapped_responses().questions.items() if q.kind in SCORE_KINDS]
        return rollup_from_answers(self.table("answers"), scores)

    def _mapped_responses(self) -> Responses:
        r = self.mapping.responses
        assert r is not None
        return r

    def literal(self, name: str, rows: list[tuple] | None = None) -> ibis.Table:
        """The replica table `name` with these literal rows (default none)."""
        return self.backend.sql(_literal_sql(TABLES[name], rows or []), schema=TABLES[name], dialect="duckdb")

    # -- reading -----------------------------------------------------------------------------------------

    def mapped(self, name: str) -> bool:
        return name in DERIVED and getattr(self.mapping, DERIVED[name]) is not None

    def view(self, name: str) -> ibis.Table:
        """The replica table `name` as an expression: derived from the mapping, or empty."""
        hit = self._tables.get(name)
        if hit is None:
            hit = getattr(self, f"_{name}")() if self.mapped(name) else self.literal(name)
            self._tables[name] = hit
        return hit

    def table(self, name: str) -> ibis.Table:
        """The replica table `name` for an insight; ExternalWarehouseError for one momenti builds at sync and the
        mapping cannot give (an insight reading it empty would answer "no data" instead of "not here")."""
        if name not in TABLES:
            raise ExternalWarehouseError(f"the external warehouse has no table {name!r}")
        if not self.mapped(name) and name not in EMPTY_OK:
            raise ExternalWarehouseError(_missing(name, self.mapping))
        return self.view(name)

    def with_ctes(self, sql: str, quote: str = '"') -> str:
        """SQL text naming replica tables (quoted, as momenti writes them) with each defined by a WITH clause.
        A name found elsewhere (a column named like a table) only adds an unused definition."""
        names = [n for n in TABLES if f'"{n}"' in sql or f"`{n}`" in sql]
        if not names:
            return sql
        ctes = []
        for name in names:
            if name not in self._sql:
                self._sql[name] = str(self.backend.compile(self.view(name)))
            ctes.append(f"{quote}{name}{quote} AS ({self._sql[name]})")
        head = sql.lstrip()
        if head[:4].upper() == "WITH" and head[4:5].isspace():  # the query's own CTEs come after (may use ours)
            return "WITH " + ", ".join(ctes) + ", " + head[5:]
        return "WITH " + ", ".join(ctes) + " " + sql


def _missing(name: str, mapping: Mapping) -> str:
    if name in DERIVED:
        return (f"this question needs {DERIVED[name]}, which the mapping file does not map "
                f"(MOMENTI_WAREHOUSE_MAPPING: add `{DERIVED[name]}:`)")
    return (f"this question needs {name!r}, which momenti keeps in its own warehouse and cannot derive from the "
            "company's tables: not answered on an external, read-only warehouse (MOMENTI_WAREHOUSE_MAPPING)")

