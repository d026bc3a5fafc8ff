"""Page data: the page's queries answered through the protocol, as JSON-ready panels. One function feeds the
HTML page, `?format=json` and `?format=csv`; it computes nothing itself.

The queries of a page are answered together (`Workspace.run_many`): one warehouse connection and one read of
the watermarks for all, each answer from the result cache when the data has not changed.

Viewers (aggregate-only roles) never see a group under the minimum size: its numbers are withheld (None) and
the row says so; other roles see it flagged `small_sample`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import pandas as pd

from momenti.core.errors import MomentiError
from momenti.domains.access.permissions import AGGREGATE_ONLY_ROLES
from momenti.domains.access.sessions import Principal
from momenti.insights.query import parse, registry
from momenti.server.web.dashboard.pages import Page, Panel
from momenti.workspace import Workspace

FILTER_DIMS = ("journey", "touchpoint", "channel")
KEEP_WHEN_WITHHELD = {"n", "small_sample", "withheld"}


@dataclasses.dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    dims: tuple[tuple[str, str], ...] = ()  # (dim, value), e.g. ("channel", "app"), ("segment", "tier=gold")

    def query_string(self) -> str:
        parts = [f"from={self.start}" if self.start else "", f"to={self.end}" if self.end else ""]
        parts += [f"{d}={v}" for d, v in self.dims]
        return "&".join(p for p in parts if p)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None, **dict(self.dims)}

    def query_filters(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for dim, value in self.dims:
            if dim == "segment":  # segment=attr=value or segment=attr:value -> a customer-attribute filter
                attr, sep, val = value.replace(":", "=", 1).partition("=")
                if sep and attr.strip() and val.strip():
                    out.setdefault(f"segment:{attr.strip()}", []).append(val.strip())
            else:
                out.setdefault(dim, []).append(value)
        return out


def panel_query(panel: Panel, filters: Filters) -> dict[str, Any]:
    """The panel's query with the page's filters, on the fields its kind takes."""
    fields = registry()[panel.kind].model_fields
    doc: dict[str, Any] = {"kind": panel.kind, **panel.params}
    if "start" in fields and filters.start:
        doc["start"] = filters.start
    if "end" in fields and filters.end:
        doc["end"] = filters.end
    wanted = filters.query_filters()
    if "filters" in fields and wanted:
        doc["filters"] = {**(doc.get("filters") or {}), **wanted}
    return doc


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [str(c) for c in frame.columns]
    return [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in frame.itertuples(index=False)]


def _withhold(rows: list[dict[str, Any]], min_n: int) -> int:
    """Blank the numbers of groups under the minimum size; returns how many were withheld."""
    count = 0
    for row in rows:
        n = row.get("n")
        small = bool(row.get("small_sample")) or (isinstance(n, (int, float)) and n < min_n)
        if small:
            count += 1
            for k in list(row):
                if k not in KEEP_WHEN_WITHHELD and isinstance(row[k], (int, float)) and not isinstance(row[k], bool):
                    row[k] = None
            row["withheld"] = True
    return count


def page_data(ws: Workspace, page: Page, filters: Filters, principal: Principal, lang: str) -> dict[str, Any]:
    allowed = [p for p in page.panels if principal.allows(p.permission)]
    docs = [panel_query(p, filters) for p in allowed]
    answers = ws.run_many(docs)
    aggregate_only = principal.role in AGGREGATE_ONLY_ROLES
    panels = []
    for panel, doc, answer in zip(allowed, docs, answers, strict=True):
        item: dict[str, Any] = {"key": panel.key, "title": panel.title[lang], "kind": panel.kind,
                                "query": parse(doc).model_dump(mode="json"), "chart": panel.chart}
        if isinstance(answer, MomentiError):
            item.update(rows=[], columns=[], error=str(answer))
        else:
            rows = _rows(answer)
            withheld = _withhold(rows, ws.settings.min_n) if aggregate_only else 0
            meta = answer.attrs.get("query", {})
            item.update(rows=rows, columns=[str(c) for c in answer.columns], withheld=withheld,
                        n=_plain(meta.get("n")), small=sum(bool(r.get("small_sample")) for r in rows))
        panels.append(item)
    hidden = [p.key for p in page.panels if p not in allowed]
    return {"page": page.key, "title": page.title[lang], "lang": lang, "filters": filters.as_dict(),
            "min_n": ws.settings.min_n, "confidence": ws.settings.confidence, "panels": panels,
            "hidden_panels": hidden, "withheld_small_groups": aggregate_only}
