"""Alembic environment for the app tables.

The URL comes from DATABASE_URL (the local SQLite file when unset). Only the app's own tables are compared
or touched, so Dagster's tables can share the database without autogenerate trying to drop them.
"""

from alembic import context

from sgroute_resources.app_database import database_url_for, engine_for
from sgroute_resources.app_tables import Base
from sgroute_resources.environment import current_env

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("url") or database_url_for(current_env())


def include_name(name, type_, parent_names) -> bool:
    if type_ == "table":
        return name in target_metadata.tables
    return True


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, include_name=include_name, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_for(_url())
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
