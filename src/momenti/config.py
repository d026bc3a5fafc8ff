"""All settings in one place. Every value can be set with an environment variable prefixed MOMENTI_."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOMENTI_", extra="ignore")

    data_dir: Path = Field(default=Path("./momenti-data"), description="Embedded data directory")
    database_url: str | None = Field(
        default=None, description="Store URL; default: SQLite file in the data directory"
    )
    warehouse_url: str | None = Field(
        default=None, description="Ibis connection URL of the warehouse; default: DuckDB file in data dir"
    )
    min_n: int = Field(default=30, description="Groups with fewer responses are flagged small_sample")
    confidence: float = Field(default=0.95, description="Confidence level of every interval")
    host: str = "127.0.0.1"
    port: int = 8000
    sync_debounce_s: float = Field(default=1.0, description="Delay before API writes reach the warehouse")
    import_chunk_rows: int = Field(default=250_000, description="Rows committed per import transaction")
    api_max_batch: int = Field(default=10_000, description="Largest batch accepted by one API request")
    api_max_body_bytes: int = Field(default=20_000_000, description="Largest request body accepted")
    # --- text analytics (issue 7) ---
    text_keep_original: bool = Field(
        default=False, description="Allow showing/exporting original comment text; otherwise only masked text")
    text_auto: bool = Field(default=True, description="Analyse new comments and feedback after every import")
    text_sector: str = Field(default="bank", description="Topic taxonomy: bank, telco, airline or a YAML path")
    text_min_group: int = Field(default=5, description="Comment text is shown only from groups at least this big")

    @cached_property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'momenti.db').resolve()}"

    @cached_property
    def warehouse(self) -> str:
        if self.warehouse_url:
            return self.warehouse_url
        return f"duckdb://{(self.data_dir / 'warehouse.duckdb').resolve()}"


def get_settings(**overrides: object) -> Settings:
    """Fresh settings from the environment (tests change the environment between calls)."""
    return Settings(**overrides)  # type: ignore[arg-type]
