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
from typing import Any
from urllib.parse import urlencode

from momenti.core.args import Filters as QueryFilters
from momenti.core.args import parse_filters
from momenti.core.errors import MomentiError
from momenti.core.frames import plain, records
from momenti.domains.access.permissions import AGGREGATE_ONLY_ROLES
from momenti.domains.access.sessions import Principal
from momenti.insights.query import registry
from momenti.server.web.dashboard.pages import Page, Panel
from momenti.workspace import Workspace

FILTER_DIMS = ("journey", "touchpoint", "channel")


@dataclasses.dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    dims: tuple[tuple[str, str], ...] = ()  # (dim, value), e.g. ("channel", "app"), ("segment", "tier=gold")

    def query_string(self) -> str:
        pairs = [("from", str(self.start))] if self.start else []
        pairs += [("to", str(self.end))] if self.end else []
        return urlencode([*pairs, *self.dims])

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None, **dict(self.dims)}

    def query_filters(self) -> QueryFilters:
        """The filters in the grammar of every interface (core/args.py): segment=tier=gold is the customer
        attribute filter segment:tier=gold, the others dim=value (comma lists allowed)."""
        return parse_filters([f"segment:{v}" if d == "segment" else f"{d}={v}" for d, v in self.dims])


def panel_query(panel: Panel, filters: Filters, wanted: QueryFilters | None = None) -> dict[str, Any]:
    """The panel's query with the page's filters, on the fields its kind takes (`wanted`: the filters'
    query form, when the caller has it already)."""
    fields = registry()[panel.kind].model_fields
    doc: dict[str, Any] = {"kind": panel.kind, **panel.params}
    if "start" in fields and filters.start:
        doc["start"] = filters.start
    if "end" in fields and filters.end:
        doc["end"] = filters.end
    wanted = filters.query_filters() if wanted is None else wanted
    if "filters" in fields and wanted:
        doc["filters"] = {**(doc.get("filters") or {}), **wanted}
    return doc


def page_data(ws: Workspace, page: Page, filters: Filters, principal: Principal, lang: str) -> dict[str, Any]:
    allowed = [p for p in page.panels if principal.allows(p.permission)]
    wanted = filters.query_filters()
    docs = [panel_query(p, filters, wanted) for p in allowed]
    answers = ws.run_many(docs)
    aggregate_only = principal.role in AGGREGATE_ONLY_ROLES
    panels = []
    for panel, doc, answer in zip(allowed, docs, answers, strict=True):
        item: dict[str, Any] = {"key": panel.key, "title": panel.title[lang], "kind": panel.kind,
                                "chart": panel.chart}
        if isinstance(answer, MomentiError):  # the query as asked: it may not have parsed
            item.update(query=doc, rows=[], columns=[], error=str(answer))
        else:
            rows = records(answer)
            withheld = int(answer.attrs.get("withheld", 0))  # an aggregate-only reader's view withholds
            meta = answer.attrs.get("query", {})  # the normalised parameters, as the protocol parsed them
            item.update(query={"kind": panel.kind, **meta.get("parameters", {})}, rows=rows,
                        columns=[str(c) for c in answer.columns], withheld=withheld, n=plain(meta.get("n")),
                        small=sum(bool(r.get("small_sample")) for r in rows))
        panels.append(item)
    hidden = [p.key for p in page.panels if p not in allowed]
    return {"page": page.key, "title": page.title[lang], "lang": lang, "filters": filters.as_dict(),
            "min_n": ws.settings.min_n, "confidence": ws.settings.confidence, "panels": panels,
            "hidden_panels": hidden, "withheld_small_groups": aggregate_only}
