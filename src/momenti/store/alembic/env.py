"""Alembic environment: runs on the connection momenti hands over (or on the configured URL)."""

from alembic import context
from sqlalchemy import create_engine

from momenti.store import access, loop, outbox, rate, story  # noqa: F401 - their tables belong to the metadata
from momenti.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:  # run from the command line: the workspace's own store
            from momenti.core.config import get_settings

            url = get_settings().store_url
        engine = create_engine(url)
        with engine.begin() as connection:
            _configure_and_run(connection)
        return
    _configure_and_run(connection)


def _configure_and_run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
