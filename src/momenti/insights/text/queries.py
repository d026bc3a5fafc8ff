"""Text queries: topics, comments (masked), text_trends."""

from __future__ import annotations

from typing import Literal

from momenti.insights.query import Day, Dims, Filters, Period, Query, ScopedQuery, register


@register
class TopicsQuery(ScopedQuery):
    """Topic volume, share and sentiment per group."""

    kind: Literal["topics"] = "topics"
    shortcut = "topics"


@register
class CommentsQuery(Query):
    """The masked comments, newest first, with a topic and/or sentiment."""

    kind: Literal["comments"] = "comments"
    shortcut = "comments"
    topic: str | None = None
    sentiment: str | None = None
    limit: int | None = None
    start: Day = None
    end: Day = None
    filters: Filters = None


@register
class TextTrendsQuery(Query):
    """Emerging issues: each topic's share against the period before."""

    kind: Literal["text_trends"] = "text_trends"
    shortcut = "text_trends"
    period: Period = "month"
    by: Dims = None
    start: Day = None
    end: Day = None
    filters: Filters = None
    emerging_only: bool = False
    periods: tuple[str, str] | None = None
