"""One query protocol for every insight: a `Query` (a pydantic model named by its `kind`), a registry of the
kinds, and a bounded result cache keyed by the query and the warehouse's watermarks.

A query class declares its parameters as fields and the Workspace method (`shortcut`) that answers it: the maths
stays where it is (insights/<family>/*), the query only names it. `Workspace.run(query_or_dict)`, the REST route
POST /api/v1/query and `momenti query` all go through `parse` and `Query.calculate`. See
docs/architecture-query.md, "how to add an insight".
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from momenti.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from momenti.core.config import Settings
    from momenti.warehouse.connection import WarehouseConnection


def split_dims(value: object) -> object:
    # "touchpoint,channel" and ["touchpoint", "channel"] are the same question (and the same cache key).
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


Dims = Annotated[list[str] | None, BeforeValidator(split_dims)]
Filters = dict[str, list[str]] | None
Day = dt.date | None
Period = Literal["day", "week", "month", "quarter", "year"] | None


class Answers(Protocol):
    """What a query needs from the workspace (the Workspace is one; insights never import it)."""

    settings: Settings

    def warehouse(self) -> AbstractContextManager[WarehouseConnection]: ...


@dataclass
class Context:
    workspace: Any  # an Answers: the Workspace whose `method` answers the query

    @property
    def settings(self) -> Settings:
        return self.workspace.settings


@dataclass
class Result:
    """A query's answer: the frame and what a reader needs beside it."""

    frame: pd.DataFrame
    kind: str
    parameters: dict[str, Any]
    n: int | None = None  # the responses/items behind the answer (the sum of `n`), when the frame has one
    intervals: list[str] = field(default_factory=list)  # columns holding interval bounds
    flags: list[str] = field(default_factory=list)  # boolean warning columns (small_sample, significant, ...)

    def attach(self) -> pd.DataFrame:
        """The frame with the metadata in `.attrs["query"]` (the frame's own attrs, e.g. trend, are kept)."""
        self.frame.attrs["query"] = {"kind": self.kind, "parameters": self.parameters, "n": self.n,
                                     "intervals": self.intervals, "flags": self.flags}
        return self.frame


FLAG_COLUMNS = ("small_sample", "significant", "emerging", "censored_only", "happy_path")


def describe(frame: pd.DataFrame, kind: str, parameters: dict[str, Any]) -> Result:
    import pandas as pd

    cols = [str(c) for c in frame.columns]
    n = int(pd.to_numeric(frame["n"], errors="coerce").fillna(0).sum()) if "n" in frame.columns else None
    intervals = [c for c in cols if c.endswith(("ci_low", "ci_high", "_low", "_high"))]
    flags = [c for c in cols if c in FLAG_COLUMNS]
    return Result(frame, kind, parameters, n, intervals, flags)


class Query(BaseModel):
    """The base of every insight's query: `kind` names it, the other fields are its parameters."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    shortcut: ClassVar[str] = ""  # the Workspace method that answers it (its keyword arguments = the fields)
    # False for answers not derived from the warehouse (cases live in the store): never served from the cache
    cacheable: ClassVar[bool] = True
    summary: ClassVar[str] = ""

    def parameters(self) -> dict[str, Any]:
        """The parameters, normalised (defaults filled in, JSON types): what the cache key hashes."""
        return self.model_dump(mode="json", exclude={"kind"})

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of the Workspace method (Python types)."""
        return {k: getattr(self, k) for k in type(self).model_fields if k != "kind"}

    def calculate(self, ctx: Context) -> Result:
        frame = getattr(ctx.workspace, self.shortcut)(**self.arguments())
        return describe(frame, self.kind, self.parameters())

    def to_sql(self, ctx: Context) -> str | None:
        """The SQL the warehouse runs, for the insights compiled to one Ibis expression (None for the others:
        their work is partly in Python)."""
        return None

    def to_expr(self, wh: WarehouseConnection) -> Any:
        """The Ibis expression on this open warehouse, where the insight is one (else None)."""
        return None

    def cache_key(self) -> str:
        doc = json.dumps({"kind": self.kind, **self.parameters()}, sort_keys=True, default=str)
        return hashlib.sha256(doc.encode()).hexdigest()


class ScopedQuery(Query):
    """The scope most questions share: groups (`by`), a period, a date window (inclusive) and filters."""

    by: Dims = None
    period: Period = None
    start: Day = None
    end: Day = None
    filters: Filters = None


REGISTRY: dict[str, type[Query]] = {}

# The modules that register the families' kinds; imported on first use of the registry.
FAMILIES = ("scores", "drivers", "paths", "contact", "loyalty", "retention", "text")
_loaded = False


def register(cls: type[Query]) -> type[Query]:
    """Class decorator: the query's `kind` (its literal default) joins the registry."""
    kind = cls.model_fields["kind"].default
    if not isinstance(kind, str) or not cls.shortcut:
        raise TypeError(f"{cls.__name__}: a query needs kind: Literal[...] = '<kind>' and a shortcut")
    REGISTRY[kind] = cls
    return cls


def registry() -> dict[str, type[Query]]:
    global _loaded
    if not _loaded:
        import importlib

        for family in FAMILIES:
            importlib.import_module(f"momenti.insights.{family}.queries")
        _loaded = True
    return REGISTRY


class QueryError(InputError):
    """A query that cannot be built; `errors` are FastAPI-shaped items naming the bad field."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))


def parse(doc: Query | dict[str, Any]) -> Query:
    """A query from {"kind": ..., params...}; QueryError names the unknown kind or the bad parameter."""
    if isinstance(doc, Query):
        return doc
    if not isinstance(doc, dict):
        raise QueryError([{"loc": ["body"], "msg": "a query is a JSON object: {\"kind\": ..., params...}",
                           "type": "type_error"}])
    kinds = registry()
    kind = doc.get("kind")
    if not isinstance(kind, str) or kind not in kinds:  # a list or an object is no kind (and is unhashable)
        raise QueryError([{"loc": ["kind"], "msg": f"unknown kind {repr(kind)[:80]}; choose one of: "
                           f"{', '.join(sorted(kinds))}", "type": "literal_error"}])
    try:
        return kinds[kind].model_validate(doc)
    except ValidationError as exc:
        raise QueryError([{"loc": list(e.get("loc", [])),
                           "msg": ("unknown parameter" if e.get("type") == "extra_forbidden"
                                   else str(e.get("msg", "")).removeprefix("Value error, ")),
                           "type": str(e.get("type", ""))} for e in exc.errors()]) from None


def kinds_schema() -> dict[str, dict[str, Any]]:
    """Each kind's summary and its parameters' JSON schema (GET /api/v1/query/kinds, `momenti query --list`)."""
    out = {}
    for kind, cls in sorted(registry().items()):
        schema = cls.model_json_schema()
        schema.get("properties", {}).pop("kind", None)
        if "required" in schema:
            schema["required"] = [r for r in schema["required"] if r != "kind"]
        out[kind] = {"summary": cls.summary or (cls.__doc__ or "").strip().splitlines()[0], "parameters": schema}
    return out


# -- the cache ------------------------------------------------------------------------------------------

# One query reads them all: the largest fact ids and seqs the sync has brought, and the dimensions' sizes.
# Ids and seqs only grow, so any sync that adds or replaces data moves one of them.
WATERMARK_SQL = ('SELECT (SELECT coalesce(max(id), 0) FROM "responses"), (SELECT coalesce(max(id), 0) FROM "events"), '
                 '(SELECT coalesce(max(id), 0) FROM "feedback"), (SELECT coalesce(max(seq), 0) FROM "customers"), '
                 '(SELECT coalesce(max(seq), 0) FROM "outcomes"), (SELECT coalesce(max(seq), 0) FROM "text_results"), '
                 '(SELECT count(*) FROM "text_results"), (SELECT count(*) FROM "touchpoints"), '
                 '(SELECT count(*) FROM "questions"), (SELECT count(*) FROM "customer_attributes")')


def watermarks(wh: WarehouseConnection) -> tuple[int, ...]:
    (row,) = wh.rows(WATERMARK_SQL)
    return tuple(int(v or 0) for v in row)


class ResultCache:
    """In-process LRU of query results keyed by (cache key, watermarks), at most `size` entries and one per
    cache key: a result computed at newer watermarks replaces the older one, which no read can hit again (under
    constant writes every sync moves the watermarks, and the dead entries only held memory). A frame is copied
    in and out, so a caller changing the frame it got does not change the next answer."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, tuple[int, ...]], Result] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: tuple[str, tuple[int, ...]], compute: Callable[[], Result]) -> Result:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return _copy(hit)
            self.misses += 1
        result = compute()
        if self.size > 0:
            with self._lock:
                for stale in [k for k in self._items if k[0] == key[0] and k != key]:
                    del self._items[stale]
                self._items[key] = _copy(result)
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        return iter(list(self._items))


def _copy(result: Result) -> Result:
    frame = result.frame.copy()
    frame.attrs = copy.deepcopy(result.frame.attrs)
    return Result(frame, result.kind, dict(result.parameters), result.n, list(result.intervals),
                  list(result.flags))
