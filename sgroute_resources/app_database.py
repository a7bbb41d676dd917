"""The app database: engine, sessions, and the guardrails that keep production off SQLite."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from dagster import ConfigurableResource
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from sgroute_resources.stop_file_store import repo_root

MIGRATIONS_DIR = repo_root() / "migrations"


class DatabaseConfigError(RuntimeError):
    """Start-up must stop: the database settings cannot work in this environment."""


def local_database_url() -> str:
    home = Path(os.environ.get("DAGSTER_HOME") or repo_root() / ".dagster")
    return f"sqlite:///{home.resolve() / 'sgroute.db'}"


def database_url_for(env: str) -> str:
    """DATABASE_URL, checked against the environment: production refuses SQLite and a missing URL."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if env in ("prod", "gcp"):
        if not url:
            raise DatabaseConfigError(
                f"SGROUTE_ENV={env} needs DATABASE_URL (postgresql+psycopg://user:password@host:5432/db); "
                "refusing to start without a database"
            )
        if url.startswith("sqlite"):
            raise DatabaseConfigError(
                f"SGROUTE_ENV={env} must not use SQLite: DATABASE_URL points at a SQLite file; use Postgres / Cloud SQL"
            )
    return url or local_database_url()


def redact(url: str) -> str:
    """The URL without its password, for messages and metadata."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


@cache
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class AppDatabase(ConfigurableResource):
    """Sessions on the app database; each partition write is one transaction."""

    url: str

    def engine(self) -> Engine:
        return engine_for(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        self.require_schema()
        factory = sessionmaker(self.engine(), expire_on_commit=False)
        with factory() as session, session.begin():
            yield session

    def require_schema(self) -> None:
        if not inspect(self.engine()).has_table("stop_files"):
            raise DatabaseConfigError(
                f"the app tables do not exist in {redact(self.url)}: run `sgroute db upgrade` first"
            )
