"""Running the app's Alembic migrations from code (the `sgroute db` commands and test fixtures).

Two first runs at once (two `sgroute plan`, or the CLI beside `make dev`) used to race: both saw an empty
database and the second failed on "table alembic_version already exists". Upgrades and downgrades therefore
hold a lock for the whole migration: a PostgreSQL advisory lock, or on SQLite an exclusive file lock beside
the database file. The second waits, then finds the schema at head and does nothing.
"""

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config

from sgroute_resources.app_database import MIGRATIONS_DIR


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


LOCK_ID = zlib.crc32(b"sgroute migrations")  # the advisory lock's key: one per database, whoever migrates


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Only one migration at a time per database (see the module docstring)."""
    from sqlalchemy import text

    from sgroute_resources.app_database import engine_for

    engine = engine_for(url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_ID})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_ID})
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(url: str, revision: str = "head") -> None:
    with migration_lock(url):
        ensure_dagster_schema(url)
        command.upgrade(alembic_config(url), revision)


def ensure_dagster_schema(url: str) -> None:
    """On Postgres, the schema Dagster's storage uses (deploy/dagster.yaml sets search_path to it)."""
    import os

    from sqlalchemy import text

    from sgroute_resources.app_database import engine_for

    engine = engine_for(url)
    if engine.dialect.name != "postgresql":
        return
    schema = os.environ.get("DAGSTER_PG_SCHEMA", "dagster")
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


def downgrade(url: str, revision: str) -> None:
    with migration_lock(url):
        command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from sgroute_resources.app_database import engine_for

    with engine_for(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
