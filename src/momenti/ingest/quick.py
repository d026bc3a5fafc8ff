"""The quick path for small batches (REST API writes): check plain records in Python, write them in one
short transaction.

The bulk validator (ingest/validate.py) costs a few DuckDB statements per call, ~2 ms each: nothing for a
file, most of the time of a one-record API call. Here each record is checked in Python against the same
rules of `specs.py`, but only "quickly accepted": a record whose values are all plain (known touchpoint and
answer keys, numbers written as plain decimals, ASCII codes to lower-case, ...) and break no rule is turned
into store rows directly. Anything else -- an error to report, a new answer key, an unusual value -- answers
`None`, and the caller sends that batch through the bulk validator, which remains the one judge of what is
wrong and how to say it. So the quick path never rejects anything itself and cannot disagree with the bulk
path on an error message; tests/test_quick_ingest.py checks that it writes exactly what the bulk path would.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from momenti.ingest.read import json_text
from momenti.ingest.specs import ID_MAX_LEN, SCORE_SCALES, KindSpec
from momenti.ingest.validate import QuestionInfo
from momenti.ingest.write import FACT_COLUMNS
from momenti.store.outbox import emit_table

# What DuckDB and Python read as the same number: plain decimals, optionally with an exponent.
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
# The ISO 8601 forms the API's own serialisation produces (pydantic datetime -> isoformat()).
_PLAIN_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")
# Store columns each kind writes, in order, and those written lower-cased: as the bulk path writes them.
FACT_FIELDS: dict[str, tuple[str, ...]] = {kind: ("id", *(c for c, _ in cols)) for kind, cols in FACT_COLUMNS.items()}
_LOWERED = {c for cols in FACT_COLUMNS.values() for c, expr in cols if expr == f"lower({c})"}
_STORE_NAME = {"customer_id": "customer_key", "touchpoint": "touchpoint_id"}


class NotQuick(Exception):
    """This batch needs the bulk validator (an error to report, or a value outside the plain forms)."""


@dataclass
class QuickRows:
    """A batch's store rows before ids: facts as dicts (store column names), answers as (index, question_id,
    value_num, value_text) with the index of their fact in `facts`."""

    external_ids: list[str]
    facts: list[dict[str, Any]]
    answers: list[tuple[int, int, float | None, str | None]] = field(default_factory=list)
    duplicates_in_input: int = 0


def _text(value: object) -> str | None:
    # The bulk path reads every value as text (json_text) and then nullif(trim(v), ''); DuckDB's trim
    # removes spaces only, not tabs or line breaks.
    text = json_text(value)
    if text is None:
        return None
    text = text.strip(" ")
    return text or None


def _number(text: str) -> float:
    if not _PLAIN_NUMBER.fullmatch(text):
        raise NotQuick
    value = float(text)
    if not math.isfinite(value):
        raise NotQuick
    return value


def _time(text: str) -> dt.datetime:
    if not _PLAIN_TIME.fullmatch(text):
        raise NotQuick
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:  # e.g. month 13: the bulk validator words the error
        raise NotQuick from None
    if value.tzinfo is not None:  # UTC wall time, as the bulk path's cast to TIMESTAMP gives
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _lower(text: str) -> str:
    if not text.isascii():  # Python's and DuckDB's case tables agree on ASCII; leave the rest to DuckDB
        raise NotQuick
    return text.lower()


def _json_attributes(pairs: list[tuple[str, str | None]]) -> str:
    if not all(k.isascii() and k.isprintable() and '"' not in k and "\\" not in k for k, _ in pairs) or not all(
            v is None or (v.isprintable() and '"' not in v and "\\" not in v) for _, v in pairs):
        raise NotQuick  # escaping rules of DuckDB's json_object beyond the plain case: let DuckDB write it
    return json.dumps(dict(pairs), separators=(",", ":"), ensure_ascii=False)


class QuickChecker:
    """Checks batches of one kind against the store's touchpoints and questions (cached by the caller)."""

    def __init__(self, spec: KindSpec, touchpoints: dict[str, int], questions: dict[str, QuestionInfo]) -> None:
        self.spec = spec
        self.touchpoints = touchpoints
        self.questions = questions

    def rows(self, records: list[dict[str, Any]], now: dt.datetime) -> QuickRows:
        """Store rows of a batch, first occurrence of each id kept; NotQuick if the bulk path must judge it."""
        spec = self.spec
        declared = {*spec.names, spec.id_field}
        extra = list(dict.fromkeys(k for r in records for k in r if k not in declared))
        if any(k.startswith("_") for k in extra):
            raise NotQuick
        out = QuickRows([], [])
        seen: set[str] = set()
        for record in records:
            external_id = _text(record.get(spec.id_field))
            if external_id is None or len(external_id) > ID_MAX_LEN:
                raise NotQuick  # the API always sends an id (the client's or a content hash)
            fact = self._fact(record, now)
            answers = self._answers(record, extra) if spec.answers else []
            if spec.attributes:
                fact["attributes"] = (_json_attributes([(k, _text(record.get(k))) for k in extra])
                                      if extra else None)
            if external_id in seen:  # checked all the same: the bulk path rejects a bad repeat too
                out.duplicates_in_input += 1
                continue
            seen.add(external_id)
            fact["external_id"] = external_id
            index = len(out.facts)
            out.external_ids.append(external_id)
            out.facts.append(fact)
            out.answers += [(index, qid, num, txt) for qid, num, txt in answers]
        return out

    def _fact(self, record: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        fact: dict[str, Any] = {}
        for f in self.spec.fields:
            text = _text(record.get(f.name))
            if text is None:
                if f.required:
                    raise NotQuick
                value: Any = None
            elif f.max_len is not None and len(text) > f.max_len:
                raise NotQuick
            elif f.type == "text":
                value = _lower(text) if f.name in _LOWERED else text
            elif f.type == "timestamp":
                value = _time(text)
            elif f.type == "number":
                value = _number(text)
                if (f.lo is not None and value < f.lo) or (f.hi is not None and value > f.hi):
                    raise NotQuick
            else:  # touchpoint
                value = self.touchpoints.get(text)
                if value is None:
                    raise NotQuick
            fact[_STORE_NAME.get(f.name, f.name)] = value
        kind = self.spec.kind
        if kind == "responses":
            fact["partial"] = False
        elif kind == "events":
            if fact["activity"] is None:  # the touchpoint key names the activity
                fact["activity"] = _text(record.get("touchpoint"))
                if fact["activity"] is None:
                    raise NotQuick
        elif kind == "feedback" and fact["created_at"] is None:
            fact["created_at"] = now
        return fact

    def _answers(self, record: dict[str, Any], keys: list[str]) -> list[tuple[int, float | None, str | None]]:
        out = []
        for key in keys:
            info = self.questions.get(key)
            if info is None or info.id is None:
                raise NotQuick  # a new answer key: the bulk path decides its kind from the whole batch
            text = _text(record.get(key))
            if text is None:
                continue
            if not info.numeric:
                out.append((info.id, None, text))
                continue
            value = _number(text)
            lo, hi = (info.lo, info.hi) if info.lo is not None else SCORE_SCALES.get(info.kind, (None, None))
            if lo is not None and hi is not None and not lo <= value <= hi:
                raise NotQuick
            if info.kind in SCORE_SCALES and value != math.floor(value):
                raise NotQuick
            out.append((info.id, value, None))
        return out


def _store_value(value: Any, sqlite: bool) -> Any:
    # As ingest/write.py writes them: SQLite keeps times as text in SQLAlchemy's form, booleans as 0/1.
    if sqlite and isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if sqlite and isinstance(value, bool):
        return int(value)
    return value


def existing_ids(conn: Any, table: str, external_ids: list[str]) -> set[str]:
    """Those of `external_ids` the store has already (`conn`: a DbapiConnection)."""
    found: set[str] = set()
    for lo in range(0, len(external_ids), 500):
        part = external_ids[lo:lo + 500]
        marks = ", ".join([conn.param] * len(part))
        conn.cur.execute(f"SELECT external_id FROM {table} WHERE external_id IN ({marks})", part)
        found.update(r[0] for r in conn.cur.fetchall())
    return found


def write_quick(writer: Any, kind: str, batches: list[QuickRows]) -> list[tuple[int, int]]:
    """Write checked batches of one kind in the writer's open transaction (StoreWriter.locked over a
    DbapiConnection); (added, duplicates) per batch. Ids are given in each batch's record order, as a
    bulk chunk does, and a batch's ids already in the store, or in an earlier batch, are duplicates."""
    conn = writer.conn
    known = existing_ids(conn, kind, list(dict.fromkeys(i for b in batches for i in b.external_ids)))
    next_id = writer.next_id(kind)
    columns = FACT_FIELDS[kind]
    facts: list[tuple[Any, ...]] = []
    answers: list[tuple[Any, ...]] = []
    results = []
    for batch in batches:
        added = 0
        by_fact: dict[int, list[tuple[int, float | None, str | None]]] = {}
        for i, qid, num, txt in batch.answers:
            by_fact.setdefault(i, []).append((qid, num, txt))
        for index in range(len(batch.facts)):
            external_id = batch.external_ids[index]
            if external_id in known:
                continue
            known.add(external_id)
            fact = batch.facts[index]
            fact["id"] = next_id
            facts.append(tuple(_store_value(fact[c], conn.sqlite) for c in columns))
            answers += [(next_id, qid, num, txt) for qid, num, txt in by_fact.get(index, ())]
            next_id += 1
            added += 1
        results.append((added, len(batch.facts) - added + batch.duplicates_in_input))
    marks = ", ".join([conn.param] * len(columns))
    if facts:
        conn.cur.executemany(f"INSERT INTO {kind} ({', '.join(columns)}) VALUES ({marks})", facts)
    if answers:
        marks = ", ".join([conn.param] * 4)
        conn.cur.executemany("INSERT INTO answers (response_id, question_id, value_num, value_text) "
                             f"VALUES ({marks})", answers)
    if facts:
        writer.finish_ids(kind)
        # Same transaction as the rows: the event exists exactly when they do (store/outbox.py).
        emit_table(conn, kind, first_id=facts[0][0], last_id=next_id - 1)
    return results
