"""Running the app's Alembic migrations from code (the `sgroute db` commands and test fixtures)."""

from alembic import command
from alembic.config import Config

from sgroute_resources.app_database import MIGRATIONS_DIR


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
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
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from sgroute_resources.app_database import engine_for

    with engine_for(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
