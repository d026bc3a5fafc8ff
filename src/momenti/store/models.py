"""The store: SQLAlchemy models of everything momenti knows. This is the truth; the warehouse is a replica.

Fact tables (responses, answers, events, feedback) have monotonic integer ids so the warehouse can sync
incrementally ("everything with id > what I have"). Their `external_id` is the idempotency key: the id the
source gave, or a content hash when it gave none.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (fast, monotonic with AUTOINCREMENT).
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def id_column() -> Mapped[int]:
    return mapped_column(BigId, Identity(always=False), primary_key=True)


# --- journey design -------------------------------------------------------------------------------


class Journey(Base):
    __tablename__ = "journeys"
    id: Mapped[int] = id_column()
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name_it: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    description: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    stages: Mapped[list[Stage]] = relationship(back_populates="journey", order_by="Stage.position")


class Stage(Base):
    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("journey_id", "key"),)
    id: Mapped[int] = id_column()
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id"))
    key: Mapped[str] = mapped_column(String(100))
    name_it: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    journey: Mapped[Journey] = relationship(back_populates="stages")
    touchpoints: Mapped[list[Touchpoint]] = relationship(
        back_populates="stage", order_by="Touchpoint.position"
    )


class Touchpoint(Base):
    __tablename__ = "touchpoints"
    id: Mapped[int] = id_column()
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name_it: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(50))
    owner_team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    brand_promise: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    customer_expectation: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    moment_of_truth: Mapped[bool] = mapped_column(Boolean, default=False)
    target_metric: Mapped[str | None] = mapped_column(String(10), nullable=True)
    target_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A touchpoint removed from the YAML but referenced by data is archived, never deleted.
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[Stage] = relationship(back_populates="touchpoints")


class Question(Base):
    """An answer key: nps/csat/ces have fixed scales; other keys are created on first import."""

    __tablename__ = "questions"
    id: Mapped[int] = id_column()
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # nps | csat | ces | rating | choice | text
    scale_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    scale_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    label: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The API token whose request created this key (None: a file import, a survey definition): each token may
    # create a bounded number (MOMENTI_API_MAX_NEW_QUESTIONS_PER_TOKEN).
    created_by_token: Mapped[int | None] = mapped_column(Integer, nullable=True)


# --- customers and facts --------------------------------------------------------------------------


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = id_column()
    customer_key: Mapped[str] = mapped_column(String(200), unique=True)
    first_seen: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attributes: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON object, attr -> value
    # Raised on every insert or update so the warehouse can pick up changed customers incrementally.
    seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)


class Outcome(Base):
    """How a customer relationship ended (or that it goes on): one row per customer, for retention analysis."""

    __tablename__ = "outcomes"
    id: Mapped[int] = id_column()
    customer_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # active | churned
    start_date: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_date: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attributes: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON object of extra columns
    # Raised on every insert or update so the warehouse can pick up changed outcomes incrementally.
    seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)


class Response(Base):
    __tablename__ = "responses"
    # No index for aggregation here: questions go to the warehouse. Each index slows every bulk import.
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = id_column()
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    # Not indexed: per-customer reads (timelines) go to the warehouse; an index here would cost every bulk
    # import a random-order insert per row (measured: 3x slower imports).
    customer_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    touchpoint_id: Mapped[int] = mapped_column(ForeignKey("touchpoints.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    channel: Mapped[str | None] = mapped_column(String(50), nullable=True)
    language: Mapped[str | None] = mapped_column(String(10), nullable=True)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)


class Answer(Base):
    __tablename__ = "answers"
    # Clustered on (response_id, question_id): no rowid and no second copy of the key.
    __table_args__ = ({"sqlite_with_rowid": False},)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_text: Mapped[str | None] = mapped_column(Text, nullable=True)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = id_column()
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    # Not indexed: per-customer reads (timelines) go to the warehouse; an index here would cost every bulk
    # import a random-order insert per row (measured: 3x slower imports).
    customer_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime)
    activity: Mapped[str] = mapped_column(String(200))
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(50), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attributes: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON object of extra columns


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = id_column()
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    rating: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Not indexed: per-customer reads (timelines) go to the warehouse; an index here would cost every bulk
    # import a random-order insert per row (measured: 3x slower imports).
    customer_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    language: Mapped[str | None] = mapped_column(String(10), nullable=True)


# --- operations -----------------------------------------------------------------------------------


class ImportRun(Base):
    __tablename__ = "imports"
    id: Mapped[int] = id_column()
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # running | done | interrupted
    # "host:pid" of the process running it: a run still 'running' whose process is gone was killed.
    owner: Mapped[str | None] = mapped_column(String(300), nullable=True)
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_added: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_duplicate: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)


FACT_TABLES = ("responses", "events", "feedback")


# --- text analytics: topic and sentiment results per comment (src/momenti/pipelines/text/analysis.py) -----------------


class TextResult(Base):
    """What the text pipeline found in one free-text item: a free-text answer (`kind` "answer": `item_id` =
    responses.id, `question_id` = questions.id) or a feedback item (`kind` "feedback": `item_id` = feedback.id,
    `question_id` = 0). Replaced when the analyzer changes (`analyzer_version`); `seq` is raised on every insert
    or replacement so the warehouse picks up changed results incrementally (as customers)."""

    __tablename__ = "text_results"
    __table_args__ = (UniqueConstraint("kind", "item_id", "question_id"),)
    id: Mapped[int] = id_column()
    kind: Mapped[str] = mapped_column(String(10))  # answer | feedback
    item_id: Mapped[int] = mapped_column(BigInteger)
    question_id: Mapped[int] = mapped_column(BigInteger, default=0)
    language: Mapped[str | None] = mapped_column(String(10), nullable=True)
    masked_text: Mapped[str] = mapped_column(Text)  # what is ever shown or exported (PII replaced)
    pii_kinds: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list
    sentiment: Mapped[str] = mapped_column(String(10))  # negative | neutral | positive
    sentiment_score: Mapped[float] = mapped_column(Float)  # -1..1
    sentiment_confidence: Mapped[float] = mapped_column(Float)  # 0..1
    sentiment_source: Mapped[str] = mapped_column(String(20))  # lexicon | model
    topics: Mapped[str] = mapped_column(Text)  # JSON list of topic keys
    aspects: Mapped[str] = mapped_column(Text)  # JSON list of {topic, sentiment, score}
    keywords: Mapped[str] = mapped_column(Text)  # JSON list
    analyzer_version: Mapped[str] = mapped_column(String(100))
    analysed_at: Mapped[datetime] = mapped_column(DateTime)
    seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    # MOMENTI_TEXT_KEEP_ORIGINAL=true: the original text, Fernet-encrypted (the plain feedback.text /
    # answers.value_text hold the masked text once analysed); NULL when originals are dropped (the default) or
    # the original had nothing to mask (migration 0006, analysis/text_store.py)
    original_enc: Mapped[str | None] = mapped_column(Text, nullable=True)


# --- survey reach: invitations, deliveries, opt-outs (src/momenti/domains/surveys/links.py, invite.py, fatigue.py) ----


class LinkUse(Base):
    """A consumed single-use survey link (its nonce): the link cannot open a survey again, and the invitation
    that carried it counts as answered."""

    __tablename__ = "link_uses"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    survey_key: Mapped[str] = mapped_column(String(100))
    customer_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    used_at: Mapped[datetime] = mapped_column(DateTime)


class ReachRule(Base):
    """Per-survey contact rules: quotas (rolling 24 hours / 7 days) and a deterministic sampling rate."""

    __tablename__ = "reach_rules"
    survey_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    max_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_per_week: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sample_rate: Mapped[float] = mapped_column(Float, default=1.0)
    sample_seed: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Invitation(Base):
    """One contact of one customer for one survey: an e-mail invitation, or a widget shown and answered.
    `trigger_event` (the triggering event's external id) makes automatic triggers idempotent; it is NULL for
    manual invitations (NULLs never collide in the unique constraint)."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("survey_key", "customer_key", "trigger_event"),)
    id: Mapped[int] = id_column()
    survey_key: Mapped[str] = mapped_column(String(100), index=True)
    customer_key: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    language: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(20))  # email | widget
    touchpoint: Mapped[str | None] = mapped_column(String(100), nullable=True)
    trigger_event: Mapped[str | None] = mapped_column(String(200), nullable=True)
    link_nonce: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    link_token: Mapped[str | None] = mapped_column(Text, nullable=True)  # the reminder sends the same link
    link_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # deferred | sent | failed | bounced | answered
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)  # the last failure or bounce reason
    created_at: Mapped[datetime] = mapped_column(DateTime)
    planned_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # later than created_at in quiet hours
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Delivery(Base):
    """Every send attempt and its result (sent, failed with its reason, bounced when reported)."""

    __tablename__ = "deliveries"
    id: Mapped[int] = id_column()
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # invitation | reminder
    status: Mapped[str] = mapped_column(String(20))  # sent | failed | bounced
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(300), nullable=True, index=True)
    at: Mapped[datetime] = mapped_column(DateTime)


class Unsubscribe(Base):
    """A customer who asked not to be contacted again: never invited (nor reminded) by any survey."""

    __tablename__ = "unsubscribes"
    customer_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(20))  # link | cli | api
    at: Mapped[datetime] = mapped_column(DateTime)


class ContactSkip(Base):
    """An invitation not sent, and why (opted_out, fatigue, quota_day, quota_week, not_sampled, no_email...)."""

    __tablename__ = "contact_skips"
    id: Mapped[int] = id_column()
    survey_key: Mapped[str] = mapped_column(String(100), index=True)
    customer_key: Mapped[str] = mapped_column(String(200), index=True)  # the customer's timeline
    reason: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    trigger_event: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime)


class InviteTrigger(Base):
    """Where an automatic trigger (survey + activity) got to in the store's events (by monotonic id)."""

    __tablename__ = "invite_triggers"
    survey_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    activity: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# --- surveys (domains/surveys/service.py, sessions.py) ---------------------------------------------------------


class Survey(Base):
    """A survey: its key, whether it takes answers (`status` draft | live | closed) and which version of its
    definition new respondents get. Respondents already under way keep the version they started with."""

    __tablename__ = "surveys"
    id: Mapped[int] = id_column()
    key: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="live")  # draft | live | closed
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    closes_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # UTC; answers refused after
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class SurveyVersion(Base):
    """One immutable version of a survey definition (the validated YAML as JSON); `digest` tells whether a
    newly applied definition differs from the current one."""

    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "version"),)
    id: Mapped[int] = id_column()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SurveySession(Base):
    """A respondent's progress through a survey's pages. The answers given so far live here (JSON) until the
    session ends: completed (one response, partial = false) or abandoned and swept (one response with the
    answers given, partial = true). `status` moves once from open to complete | partial | empty, in the same
    transaction as the response write, so a response is written at most once (external id
    `survey:<key>:<token>`)."""

    __tablename__ = "survey_sessions"
    __table_args__ = (UniqueConstraint("token"),)
    id: Mapped[int] = id_column()
    token: Mapped[str] = mapped_column(String(64))
    survey_key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    customer_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    touchpoint: Mapped[str] = mapped_column(String(100))
    hidden: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON object: hidden field -> value
    language: Mapped[str] = mapped_column(String(10))
    link_nonce: Mapped[str | None] = mapped_column(String(200), nullable=True)  # signed link's nonce
    answers: Mapped[str] = mapped_column(Text, default="{}")  # JSON object: question key -> value
    page: Mapped[int] = mapped_column(Integer, default=0)  # the page to show next
    trail: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of pages shown, for the back button
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open|complete|partial|empty
    response_external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)

