"""Answers of text analytics: GET /api/v1/text/topics, /comments, /trends and POST /api/v1/text/analyze."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from momenti.server.schemas.base import Count, Num, OpenRow, Row, Stamp


class _Query(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class TopicsQuery(_Query):
    by: str
    period: str | None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None
    filters: dict[str, list[str]]


class TopicRow(OpenRow):
    topic: str
    label: str | None = None
    n_comments: Count = Field(None, description="Comments in the group")
    n: int = Field(..., description="Mentions of the topic")
    share: Num = Field(None, description="% of comments, with a Wilson interval")
    ci_low: Num = None
    ci_high: Num = None
    positive: Count = None
    neutral: Count = None
    negative: Count = None
    net_sentiment: Num = Field(None, description="-100..100")
    net_ci_low: Num = None
    net_ci_high: Num = None
    small_sample: bool


class TopicsPublic(BaseModel):
    query: TopicsQuery
    rows: list[TopicRow]


class CommentsQuery(_Query):
    topic: str | None
    sentiment: str | None
    limit: int
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None
    filters: dict[str, list[str]]


class CommentRow(Row):
    kind: str = Field(..., description="answer or feedback")
    external_id: str | None
    question: str | None
    ts: Stamp
    touchpoint: str | None
    channel: str | None
    language: str | None
    sentiment: str | None
    sentiment_score: Num
    topics: str | None
    topic_labels: str | None
    masked_text: str | None = Field(..., description="The text with personal data masked")


class CommentsPublic(BaseModel):
    query: CommentsQuery
    matched: int
    withheld: bool = Field(..., description="Fewer than MOMENTI_TEXT_MIN_GROUP comments matched: none shown")
    rows: list[CommentRow]


class TrendsQuery(_Query):
    period: str | None
    periods: list[str] | None
    by: str
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None
    filters: dict[str, list[str]]
    emerging: bool


class TrendRow(OpenRow):
    topic: str
    period_a: str
    period_b: str
    n_a: Count
    n_b: Count
    k_a: Count
    k_b: Count
    share_a: Num
    share_b: Num
    delta: Num = Field(..., description="Points, with a Newcombe interval")
    ci_low: Num
    ci_high: Num
    p_value: Num
    significant: bool
    q_value: Num = Field(..., description="Benjamini-Hochberg")
    emerging: bool
    small_sample: bool


class TrendsPublic(BaseModel):
    query: TrendsQuery
    rows: list[TrendRow]


class TextAnalyzePublic(BaseModel):
    analysed: dict[str, int] = Field(..., description="Items analysed now, per kind (answer, feedback)")
    total: int
    replaced: int
    version: str = Field(..., description="The analyzer's model and taxonomy")
    seconds: float
