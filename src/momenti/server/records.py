"""From a JSON request body to import records and back: parsing, flattening, ids, error locations.

Kept apart from the routes so they stay thin: a route parses, calls `Workspace.import_records`, answers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from momenti.ingest.read import json_text
from momenti.ingest.specs import KINDS
from momenti.server.schemas import CREATE_MODELS, NESTED

# "api:item 3: touchpoint: unknown touchpoint foo" -> item 3 (1-based), field, reason
_ERROR_LINE = re.compile(r"^[^:]*:(?:item |line |row )?(\d+): ([^:]+): (.*)$", re.S)
# A record is at most a list of objects holding an object of answers; a survey definition a few levels more.
# Deeper than this is no body of ours, and a 100,000-deep one would exhaust the parser's recursion.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # unrolled: no backtracking on long strings
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[{]}")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class BodyError(Exception):
    """The body cannot be accepted; `errors` are FastAPI-style items ({"loc", "msg", "type"})."""

    def __init__(self, errors: list[dict[str, Any]], status_code: int = 422) -> None:
        super().__init__(errors[0]["msg"] if errors else "invalid body")
        self.errors = errors
        self.status_code = status_code


def json_depth(raw: bytes) -> int:
    """How deeply `raw` nests arrays and objects, counted without parsing (brackets inside strings do not
    count): vectorised, so a megabyte body costs milliseconds."""
    outside = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not outside:
        return 0
    steps = np.frombuffer(outside.translate(_BRACKETS), dtype=np.int8)
    return int(np.cumsum(steps, dtype=np.int64).max())


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000); remove it"
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return "not valid Unicode text: a lone surrogate (\\ud800-\\udfff escape without its pair); send UTF-8 text"
    return None


def _bad_text(value: Any, loc: list[Any]) -> tuple[list[Any], str] | None:
    """(location, reason) of the first string, key or value, that cannot be stored as text, if any."""
    if isinstance(value, str):
        problem = _text_problem(value)
        return (loc, problem) if problem else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        problem = _text_problem(key) if isinstance(key, str) else None
        if problem:
            return [*loc, key.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")], problem
        found = _bad_text(item, [*loc, key])
        if found is not None:
            return found
    return None


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise BodyError([{"loc": ["body"], "msg": "empty body: send a JSON object or a list of objects",
                          "type": "missing"}])
    # Decoded here, strictly, and the checks below run on its UTF-8 bytes. json.loads(bytes) also takes UTF-16
    # and UTF-32 (where the byte-wise depth count and escape search miss brackets and escapes: a UTF-16 body
    # nested 100,000 deep was a RecursionError) and decodes with 'surrogatepass' (a UTF-8-encoded lone surrogate
    # went through unrefused).
    try:
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError:
        raise BodyError([{"loc": ["body"], "msg": "body is not UTF-8 text", "type": "json_invalid"}]) from None
    raw = text.encode("utf-8")
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise BodyError([{"loc": ["body"], "msg": f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH}",
                          "type": "json_invalid"}])
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BodyError([{"loc": ["body", exc.pos], "msg": f"malformed JSON: {exc.msg} (line {exc.lineno}, "
                          f"column {exc.colno})", "type": "json_invalid"}]) from None
    except ValueError as exc:  # an integer of more than 4,300 digits (Python's limit): it leaked out, a 500
        raise BodyError([{"loc": ["body"], "msg": f"malformed JSON: {exc}", "type": "json_invalid"}]) from None
    # A \ud800 escape with no partner decodes to a string no UTF-8 store or hash can encode, and PostgreSQL
    # refuses a \u0000 in text; only an escape in the raw body can make either, so the walk runs only then.
    if _SURROGATE_ESCAPE.search(raw) or b"\\u0000" in raw:
        found = _bad_text(payload, ["body"])
        if found is not None:
            raise BodyError([{"loc": found[0], "msg": found[1], "type": "string_unicode"}])
    return payload


_DECLARED_RESPONSE_FIELDS = frozenset(KINDS["responses"].names) | {KINDS["responses"].id_field}


def answer_keys(records: list[dict[str, Any]]) -> set[str]:
    """The answer keys (questions) of flattened response records: every field a response does not declare."""
    return {k for r in records for k in r if k not in _DECLARED_RESPONSE_FIELDS}


def canonical_hash(payload: Any) -> str:
    """Hash of the parsed body, so whitespace or key order do not make a retry look different."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.cache
def _adapter(kind: str) -> TypeAdapter:
    """Built once per kind: building a TypeAdapter compiles its validator, which cost every write request more
    than validating its records."""
    return TypeAdapter(list[CREATE_MODELS[kind]])


def validate_items(kind: str, payload: Any, max_batch: int) -> list[Any]:
    """One object or a list of objects -> validated models. Error locations always carry the item index
    (0 for a single object), so a client reads every error the same way."""
    items = payload if isinstance(payload, list) else [payload]
    if not isinstance(payload, list | dict):
        raise BodyError([{"loc": ["body"], "msg": "expected a JSON object or a list of objects",
                          "type": "type_error"}])
    if not items:
        raise BodyError([{"loc": ["body"], "msg": "empty list: send at least one record", "type": "too_short"}])
    if len(items) > max_batch:
        raise BodyError([{"loc": ["body"], "msg": f"batch of {len(items)} records; at most {max_batch} per "
                          "request (MOMENTI_API_MAX_BATCH)", "type": "too_long"}], status_code=413)
    try:
        return _adapter(kind).validate_python(items)
    except ValidationError as exc:
        raise BodyError([{"loc": ["body", *err["loc"]], "msg": err["msg"].removeprefix("Value error, "),
                          "type": err["type"]} for err in exc.errors()]) from None


def _content_id(record: dict[str, Any]) -> str:
    # Same recipe as the bulk validator's content hash (sorted "column=value" joined by U+001F, md5), applied
    # to this record's own fields only, so it does not depend on what else was in the batch.
    parts = [f"{k}={json_text(v) or ''}" for k, v in sorted(record.items())]
    return "h:" + hashlib.md5("\x1f".join(parts).encode("utf-8")).hexdigest()  # noqa: S324 - not security


def flatten(kind: str, models: list[Any]) -> list[dict[str, Any]]:
    """Models -> import records: nested answers/attributes become columns, timestamps ISO text, and every
    record gets its id (the client's, or a content hash) so the response can list them."""
    nested = NESTED.get(kind)
    id_field = KINDS[kind].id_field
    out = []
    seen: dict[str, int] = {}  # content id -> how many records of this batch had it
    for m in models:
        data = m.model_dump(exclude_none=True)
        extra = data.pop(nested, {}) if nested else {}
        rec = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
        rec.update(extra)
        if not rec.get(id_field):
            # The k-th identical record of a batch is a genuine repeat, keyed as the file import keys it.
            content = _content_id({k: v for k, v in rec.items() if k != id_field})
            seen[content] = k = seen.get(content, 0) + 1
            rec[id_field] = content if k == 1 else f"{content}#{k}"
        out.append(rec)
    return out


def import_errors(kind: str, lines: list[str], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The import validator's "api:item N: field: reason" lines -> FastAPI-style error items."""
    nested = NESTED.get(kind)
    declared = set(KINDS[kind].names) | {KINDS[kind].id_field}
    out = []
    for line in lines:
        m = _ERROR_LINE.match(line)
        if not m:
            out.append({"loc": ["body"], "msg": line, "type": "value_error"})
            continue
        index, fld, reason = int(m[1]) - 1, m[2], m[3]
        loc: list[Any] = ["body", index, fld]
        if nested and fld not in declared and 0 <= index < len(records) and fld in records[index]:
            loc = ["body", index, nested, fld]
        out.append({"loc": loc, "msg": reason, "type": "value_error"})
    return out
