"""All settings in one place. Every value can be set with an environment variable prefixed MOMENTI_."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from momenti.core.errors import InputError

# `Settings.warehouse` of an external warehouse: the company's URL and the mapping file in one string, so that every
# caller of momenti.warehouse.connection.open_warehouse(settings.warehouse) opens it read-only through the mapping.
EXTERNAL_PREFIX = "external:"
EXTERNAL_MARK = "#mapping="


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOMENTI_", extra="ignore")

    data_dir: Path = Field(default=Path("./momenti-data"), description="Embedded data directory")
    database_url: str | None = Field(
        default=None, description="Store URL; default: SQLite file in the data directory"
    )
    warehouse_url: str | None = Field(
        default=None, description="Ibis connection URL of the warehouse; default: DuckDB file in data dir"
    )
    warehouse_mapping: Path | None = Field(
        default=None, description="Mapping file (YAML) from the company's own warehouse tables to momenti's: the "
        "warehouse at MOMENTI_WAREHOUSE_URL is then external and read-only (no sync, nothing written there; "
        "docs/deployment.md, \"An external, read-only warehouse\")")
    min_n: int = Field(default=30, description="Groups with fewer responses are flagged small_sample")
    confidence: float = Field(default=0.95, description="Confidence level of every interval")
    query_cache_size: int = Field(default=128, ge=0, description="Query results kept per workspace (0: no cache)")
    host: str = "127.0.0.1"
    port: int = 8000
    access_log: bool = Field(default=False, description="Log every request (uvicorn's access log); off by "
                             "default: the reverse proxy in front logs them, and a line per request costs the "
                             "ingest path ~10 % of its throughput")
    forwarded_allow_ips: str = Field(default="127.0.0.1", description="Addresses (comma-separated, or *) "
                                     "whose X-Forwarded-For/-Proto headers are believed: the reverse proxy's")
    workers: int = Field(default=1, ge=1, le=64, description="Server processes of `momenti serve` (--workers)")
    sync_debounce_s: float = Field(default=1.0, description="Delay before API writes reach the warehouse")
    import_chunk_rows: int = Field(default=250_000, description="Rows committed per import transaction")
    api_max_batch: int = Field(default=10_000, description="Largest batch accepted by one API request")
    api_max_new_questions: int = Field(default=50, description="New answer keys (questions) one API request may "
                                       "create; beyond, 422: survey definitions and file imports create more")
    api_max_new_questions_per_token: int = Field(default=500, description="New answer keys one API token may "
                                                 "create over its life; beyond, 422")
    api_max_body_bytes: int = Field(default=20_000_000, description="Largest request body accepted")
    # --- text analytics: topics, sentiment, PII masking ---
    text_keep_original: bool = Field(
        default=False, description="Allow showing/exporting original comment text; otherwise only masked text")
    text_auto: bool = Field(
        default=True, description="Analyse new comments and feedback after every import and server write")
    text_sector: str = Field(default="bank", description="Topic taxonomy: bank, telco, airline or a YAML path")
    text_min_group: int = Field(default=5, description="Comment text is shown only from groups at least this big")
    text_language: str = Field(
        default="it", description="Language (it or en) of short comments with no sign of their own (\"Sei brava\")")
    text_model_dir: Path | None = Field(
        default=None, description="Local transformer sentiment model directory (first tier); never downloaded")
    # --- survey reach: links, invitations, fatigue, widget, abuse limits ---
    secret_key: str | None = Field(
        default=None, description="Signs survey and unsubscribe links; default: random, kept in data_dir/secret.key")
    secret_keys_retired: str | None = Field(
        default=None, description="With MOMENTI_SECRET_KEY: the keys it replaced, comma-separated, oldest first; "
        "links they signed verify until they expire")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL of links sent to customers")
    link_days: int = Field(default=30, description="Default lifetime of a survey link, in days")
    fatigue_days: int = Field(default=30, description="At most one invitation per customer in this many days")
    quiet_hours: str = Field(default="21-8", description="Local hours with no e-mail (start-end, 24 h); empty: none")
    timezone: str = Field(default="Europe/Rome", description="Time zone of the quiet hours")
    smtp_host: str | None = Field(default=None, description="SMTP server that sends invitations")
    smtp_port: int = Field(default=25, description="SMTP port (587 with STARTTLS, 465 is not supported)")
    smtp_user: str | None = Field(default=None, description="SMTP login (none: no authentication)")
    smtp_password: str | None = Field(default=None, description="SMTP password")
    smtp_from: str = Field(default="momenti <noreply@localhost>", description="From: of invitations")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS")
    smtp_timeout_s: float = Field(default=30.0, description="SMTP connect/command timeout")
    rate_ip_per_minute: float = Field(default=30.0, description="Public survey POSTs per minute per IP (sustained)")
    rate_ip_burst: int = Field(default=20, description="Public survey POSTs per IP allowed in a burst")
    rate_link_per_minute: float = Field(default=10.0, description="Public survey POSTs per minute per link token")
    rate_link_burst: int = Field(default=10, description="Public survey POSTs per link token allowed in a burst")
    public_max_body_bytes: int = Field(default=65_536, description="Largest body of a public survey POST")
    # --- background jobs (pipelines/jobs.py) ---
    jobs_url: str | None = Field(
        default=None, description="Job queue: redis://host:port/db; default: SQLite file jobs.sqlite in the data dir")
    jobs_embedded: bool = Field(
        default=True, description="`momenti serve` runs the job consumer itself; false when `momenti worker` runs")
    jobs_workers: int = Field(default=2, description="Job consumer threads")
    jobs_retries: int = Field(default=4, description="Retries of a failed job before it is dead-lettered")
    jobs_retry_delay_s: float = Field(default=5.0, description="Delay before a failed job's first retry (doubles)")
    jobs_dispatch_every_min: int = Field(
        default=1, description="Minutes between catch-up runs of the event dispatcher (writes also signal it)")
    jobs_remind_after: str | None = Field(
        default=None, description="Send invitation reminders hourly for invitations unanswered this long (3d); "
        "default: no automatic reminders")
    # --- sign-in: sessions, lockout, single sign-on (domains/access, server/auth) ---
    session_idle_minutes: int = Field(default=120, ge=1, description="A session unused this long ends")
    session_max_hours: int = Field(default=12, ge=1, description="A session ends this long after sign-in, used or not")
    login_max_failures: int = Field(default=5, ge=1, description="Wrong passwords in a row before an account locks")
    login_lockout_minutes: int = Field(default=15, ge=1, description="How long a locked account stays locked")
    login_rate_per_minute: int = Field(default=10, ge=1, description="Sign-in attempts per minute per IP address")
    password_link_hours: int = Field(default=72, ge=1, description="Lifetime of a set-password link")
    oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer URL (single sign-on); none: off")
    oidc_client_id: str | None = Field(default=None, description="OpenID Connect client id")
    oidc_client_secret: str | None = Field(default=None, description="OpenID Connect client secret")
    oidc_role_claim: str = Field(default="momenti_role", description="ID-token claim that names the user's role")
    oidc_default_role: str | None = Field(
        default=None, description="Role of a single-sign-on user whose token names none; none: refused")

    webhook_retry_schedule: str = Field(
        default="0,5,300,1800,7200,18000,36000,36000",
        description="Seconds before each webhook attempt (the first is immediate); after the last, the delivery fails")
    webhook_allow_hosts: str = Field(
        default="", description="Hosts exempt from the webhook SSRF guard (comma-separated; e.g. 127.0.0.1 in tests)")
    webhook_timeout_s: float = Field(default=15.0, gt=0, description="Timeout of one webhook attempt")
    webhook_disable_after_days: float = Field(
        default=5.0, gt=0, description="An endpoint failing for this long is disabled")
    webhook_rotation_hours: float = Field(
        default=24.0, ge=0, description="After a secret rotation, the old secret signs too for this long")
    rules_auto: bool = Field(default=True, description="Evaluate the alert rules on every write (the outbox)")
    # the customer's story: the offer rule and who may read a timeline
    offer_lookback_days: int = Field(default=180, ge=1, description="How far back the offer rule looks")
    offer_max_declines: int = Field(default=3, ge=1, description="Declines of the same offer in the look-back "
                                    "window after which it is not proposed again")
    timeline_agent_scope: str = Field(default="team", description="Whose timelines an agent reads: team (customers "
                                      "with a case of their team or a contact at a touchpoint their team owns) "
                                      "or all")
    review_reminder_hour: int = Field(default=15, ge=0, le=23, description="Local hour of the Friday reminder "
                                      "to each team lead (the Monday summary goes at 9)")
    # retention (domains/privacy/retention.py): days each kind of raw data is kept; 0 keeps it for ever
    retention_comment_text_days: int = Field(default=0, ge=0, description="Days the text of comments and feedback "
                                             "is kept (scores, topics and sentiment stay)")
    retention_events_days: int = Field(default=0, ge=0, description="Days interactions are kept")
    retention_feedback_days: int = Field(default=0, ge=0, description="Days feedback items are kept")
    retention_cases_days: int = Field(default=0, ge=0, description="Days resolved or closed cases are kept")
    retention_invitations_days: int = Field(default=0, ge=0, description="Days invitation logs are kept")
    retention_audit_days: int = Field(default=0, ge=0, description="Days audit log entries are kept")
    # the management-meeting report by e-mail (pipelines/reports.py, docs/reports.md)
    report_recipients: str = Field(default="", description="Who gets the report by e-mail: email:weekly or "
                                   "email:monthly, comma-separated (weekly on Mondays for the ISO week before, "
                                   "monthly on the 1st for the month before)")

    @cached_property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'momenti.db').resolve()}"

    @property
    def warehouse_external(self) -> bool:
        """The warehouse is the company's own, read through MOMENTI_WAREHOUSE_MAPPING."""
        return self.warehouse_mapping is not None

    @cached_property
    def warehouse(self) -> str:
        """What momenti.warehouse.connection.open_warehouse opens: an Ibis URL, or (with a mapping) an external one."""
        url = self.warehouse_url
        if url and url.rstrip("/") == "pyspark://local":  # a local Spark session: tables in the data dir
            url = f"pyspark://local{(self.data_dir / 'spark-warehouse').resolve()}"
        if self.warehouse_mapping is not None:
            if not url:
                raise InputError("MOMENTI_WAREHOUSE_MAPPING needs MOMENTI_WAREHOUSE_URL: the company's warehouse")
            return f"{EXTERNAL_PREFIX}{url}{EXTERNAL_MARK}{self.warehouse_mapping.resolve()}"
        return url or f"duckdb://{(self.data_dir / 'warehouse.duckdb').resolve()}"

    @property
    def jobs_file(self) -> Path:
        """The job queue's SQLite file (without MOMENTI_JOBS_URL). Not named *.db: the store is the data
        directory's only *.db, so tools (and people) looking for "the database" find the store."""
        return self.data_dir / "jobs.sqlite"


def get_settings(**overrides: object) -> Settings:
    """Fresh settings from the environment (tests change the environment between calls)."""
    return Settings(**overrides)  # type: ignore[arg-type]
