"""The mapping file of an external, read-only warehouse (MOMENTI_WAREHOUSE_MAPPING): which of the company's own
tables and columns hold momenti's events and survey responses.

    events:
      table: eventi_contatto          # optionally schema: / database:
      columns: {case_id: id_pratica, activity: attivita, timestamp: istante, customer_id: cliente}
    responses:
      table: risposte_sondaggio
      layout: wide                    # one row per response; `long`: one row per answer
      columns: {id: id_risposta, customer_id: cliente, touchpoint: punto_contatto, submitted_at: inviata_il}
      questions:
        nps: {column: voto_nps, kind: nps}
        commento: {column: commento, kind: text}

The keys under `columns` are the names of the replica's columns (momenti.warehouse.schema.TABLES); a column not
mapped reads as a typed NULL. This module only reads and validates the file; momenti.warehouse.external turns it
into Ibis expressions over the company's tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from momenti.core.documents import read_yaml
from momenti.core.errors import InputError
from momenti.store.question_kinds import SCORE_SCALES
from momenti.warehouse.schema import TABLES

KINDS = ("nps", "csat", "ces", "rating", "choice", "text")
NUMERIC_KINDS = ("nps", "csat", "ces", "rating")

# The replica columns each section must map (the rest are optional).
EVENT_REQUIRED = ("case_id", "activity", "timestamp")
RESPONSE_REQUIRED = ("id", "submitted_at")
LONG_REQUIRED = ("question",)
# Columns a `long` responses table may map: the response's own and the answer's.
# (`id` names the response: the answers' response_id is the same column.)
LONG_COLUMNS = tuple(c for c in dict.fromkeys([*TABLES["responses"].names, *TABLES["answers"].names])
                     if c != "response_id")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    """One company table: its name, where it lives, and its columns by the replica's column names."""

    table: str
    schema_: str | None = Field(default=None, alias="schema")  # PostgreSQL schema, Trino schema, ...
    database: str | None = None  # Spark / BigQuery dataset, Trino catalog, ...
    columns: dict[str, str]

    @property
    def where(self) -> str | tuple[str, str] | None:
        """The `database` argument of Ibis's Backend.table."""
        if self.database and self.schema_:
            return (self.database, self.schema_)
        return self.database or self.schema_

    @property
    def label(self) -> str:
        return ".".join(p for p in (self.database, self.schema_, self.table) if p)


class Question(_Strict):
    """A survey question: in a wide table the column holding its answers, in a long one the value of the question
    column naming it (default: the question's key itself)."""

    column: str | None = None
    value: str | None = None
    kind: Literal["nps", "csat", "ces", "rating", "choice", "text"] = "rating"
    scale: tuple[float, float] | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def bounds(self) -> tuple[float | None, float | None]:
        lo_hi = self.scale or SCORE_SCALES.get(self.kind)
        return (lo_hi[0], lo_hi[1]) if lo_hi else (None, None)


class Events(Source):
    @model_validator(mode="after")
    def _check(self) -> Events:
        _check_columns("events", self.columns, TABLES["events"].names, EVENT_REQUIRED)
        return self


class Responses(Source):
    layout: Literal["wide", "long"] = "wide"
    questions: dict[str, Question] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Responses:
        if self.layout == "wide":
            _check_columns("responses", self.columns, TABLES["responses"].names, RESPONSE_REQUIRED)
            if not self.questions:
                raise ValueError("a wide responses table needs `questions:` (question key -> its column)")
            missing = [k for k, q in self.questions.items() if not q.column]
            if missing:
                raise ValueError(f"questions {', '.join(missing)}: a wide table names each question's `column`")
        else:
            _check_columns("responses", self.columns, LONG_COLUMNS, (*RESPONSE_REQUIRED, *LONG_REQUIRED))
        return self


class Mapping(_Strict):
    events: Events | None = None
    responses: Responses | None = None

    @model_validator(mode="after")
    def _some(self) -> Mapping:
        if self.events is None and self.responses is None:
            raise ValueError("map at least one of events: and responses:")
        return self

    def sources(self) -> dict[str, Source]:
        return {k: s for k, s in (("events", self.events), ("responses", self.responses)) if s is not None}


def _check_columns(section: str, columns: dict[str, str], known: tuple[str, ...] | list[str],
                   required: tuple[str, ...]) -> None:
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ValueError(f"{section}: unknown column keys {', '.join(unknown)}; use {', '.join(known)}")
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(f"{section}: map the required columns {', '.join(missing)}")


def _read(path: str | Path) -> object:
    """The file's YAML, read as every YAML document is (core.documents: unreadable, not UTF-8, not YAML, each an
    InputError naming the file)."""
    doc, _ = read_yaml(Path(path), None, "MOMENTI_WAREHOUSE_MAPPING")
    return doc


def _validate(doc: object) -> tuple[Mapping | None, list[tuple[str, str]]]:
    try:
        return Mapping.model_validate(doc if doc is not None else {}), []
    except ValidationError as exc:
        return None, [(".".join(str(p) for p in e["loc"]), str(e["msg"]).removeprefix("Value error, "))
                      for e in exc.errors()]


def mapping_problems(path: str | Path) -> tuple[Mapping | None, list[tuple[str, str]]]:
    """The mapping file at `path`, or None and its problems as (mapping key, message) pairs ("": the file)."""
    try:
        doc = _read(path)
    except InputError as exc:
        return None, [("", str(exc))]
    return _validate(doc)


def load_mapping(path: str | Path) -> Mapping:
    """The mapping file at `path`; InputError naming the file and each problem."""
    mapping, problems = _validate(_read(path))
    if mapping is None:
        raise InputError(f"{path}: " + "; ".join(f"{k}: {m}" if k else m for k, m in problems))
    return mapping
