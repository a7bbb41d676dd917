"""The app database: engine, sessions, and the guardrails that keep production off SQLite.

Every call has a deadline (issue 14: a frozen PostgreSQL held a run past 150 s). On PostgreSQL a connection
attempt gives up after ``SGROUTE_DB_CONNECT_TIMEOUT_S`` (default 10 s; libpq's ``connect_timeout``, at least
2 s) and every statement after ``SGROUTE_DB_STATEMENT_TIMEOUT_S`` (default 120 s, 0 = none; the server's
``statement_timeout``, set on each new connection so a URL's own ``options`` stay as they are). SQLite waits
at most 30 s for another writer's lock. :meth:`AppDatabase.session` turns these failures into
:class:`DatabaseUnavailableError` with a plain message naming the setting, never a raw driver error.
"""

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from pydantic import Field
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from sgroute_resources.stop_file_store import repo_root

MIGRATIONS_DIR = repo_root() / "migrations"


CONNECT_TIMEOUT_VARIABLE = "SGROUTE_DB_CONNECT_TIMEOUT_S"
STATEMENT_TIMEOUT_VARIABLE = "SGROUTE_DB_STATEMENT_TIMEOUT_S"
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_STATEMENT_TIMEOUT_S = 120.0
SQLITE_BUSY_TIMEOUT_S = 30.0


class DatabaseConfigError(RuntimeError):
    """Start-up must stop: the database settings cannot work in this environment."""


class DatabaseUnavailableError(RuntimeError):
    """The app database could not be reached, or did not finish a statement, within its deadline."""


def _seconds(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise DatabaseConfigError(f"{variable}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise DatabaseConfigError(f"{variable}={raw!r} must be 0 or more seconds")
    return value


def database_timeouts() -> tuple[float, float]:
    """(connect, statement) timeouts in seconds from the environment, defaults 10 s and 120 s."""
    return (
        _seconds(CONNECT_TIMEOUT_VARIABLE, DEFAULT_CONNECT_TIMEOUT_S),
        _seconds(STATEMENT_TIMEOUT_VARIABLE, DEFAULT_STATEMENT_TIMEOUT_S),
    )


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
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def engine_for(url: str, connect_timeout_s: float | None = None, statement_timeout_s: float | None = None) -> Engine:
    """The process's engine for ``url`` with these timeouts (None: from the environment)."""
    env_connect, env_statement = database_timeouts()
    return _engine(
        url,
        env_connect if connect_timeout_s is None else connect_timeout_s,
        env_statement if statement_timeout_s is None else statement_timeout_s,
    )


@cache
def _engine(url: str, connect_timeout_s: float, statement_timeout_s: float) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a failed statement's message never carries the row's values (phones, names).
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    connect_args: dict[str, str] = {}
    if connect_timeout_s > 0 and "connect_timeout" not in make_url(url).query:
        connect_args["connect_timeout"] = str(max(2, math.ceil(connect_timeout_s)))  # libpq: whole seconds, >= 2
    if url.startswith("postgresql"):
        # A server that vanished (a failover, a dropped VPC route) is noticed in about a minute instead of the
        # kernel's two hours; a frozen but reachable server is bounded by the run's own deadline instead.
        connect_args.update(keepalives="1", keepalives_idle="30", keepalives_interval="10", keepalives_count="3")
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=30,
        connect_args=connect_args,
        hide_parameters=True,
    )
    if engine.dialect.name == "postgresql":
        statement_ms = str(int(round(statement_timeout_s * 1000)))

        @event.listens_for(engine, "connect")
        def _statement_timeout(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", (statement_ms,))
            cursor.close()
            dbapi_connection.commit()

    return engine


class RefusedStatement(Exception):
    """The driver's error reduced to its first line and SQLSTATE (what ``refused_write`` keeps)."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def refused_write(exc: DBAPIError) -> DBAPIError:
    """The same error (IntegrityError, DataError...) without the row's values, for logs and run pages.

    PostgreSQL puts the offending values on its DETAIL line and SQLAlchemy appends the bound parameters; both
    may hold phones and names. Kept: the driver's first line ("value too long for type character varying(20)",
    "duplicate key value violates unique constraint ...") and the SQLSTATE; the statement has placeholders only.
    """
    orig = exc.orig
    first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    sqlstate = getattr(orig, "sqlstate", None)
    clean = RefusedStatement(f"{first_line}" + (f" (SQLSTATE {sqlstate})" if sqlstate else ""), sqlstate)
    return type(exc)(exc.statement, None, clean, hide_parameters=True, code=exc.code)


def plain_database_error(exc: DBAPIError, url: str) -> DatabaseUnavailableError | None:
    """A timeout or an unreachable server as a message an operator can act on; None for other errors."""
    orig = exc.orig
    first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    connect_s, statement_s = database_timeouts()
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        psycopg = None  # type: ignore[assignment]
    if psycopg is not None and isinstance(orig, psycopg.errors.QueryCanceled):
        return DatabaseUnavailableError(
            f"the app database cancelled a statement that ran past the {statement_s:g} s statement timeout "
            f"({STATEMENT_TIMEOUT_VARIABLE}): the database is overloaded or another run holds a lock; "
            f"retry the run ({first_line})"
        )
    # Client-side connection failures (refused, timed out, reset) carry no SQLSTATE; the server's "cannot take
    # you now" answers are class 08 (connection), 57P (shutting down, starting up) and 53300 (too many clients).
    sqlstate = getattr(orig, "sqlstate", None) or ""
    reachability = not sqlstate or sqlstate.startswith(("08", "57P")) or sqlstate == "53300"
    if psycopg is not None and isinstance(orig, psycopg.OperationalError) and reachability:
        return DatabaseUnavailableError(
            f"cannot reach the app database at {redact(url)} within {connect_s:g} s ({CONNECT_TIMEOUT_VARIABLE}): "
            f"{first_line}"
        )
    if url.startswith("sqlite") and "database is locked" in first_line:
        return DatabaseUnavailableError(
            f"the app database {redact(url)} stayed locked by another writer for {SQLITE_BUSY_TIMEOUT_S:g} s; "
            "retry the run"
        )
    return None


class AppDatabase(ConfigurableResource):
    """Sessions on the app database; each partition write is one transaction.

    ``url`` is given as ``EnvVar("DATABASE_URL")`` wherever it can hold a password: the webserver then shows
    the variable's name, and the value is read only when a run or sensor initialises the resource.
    """

    url: str = Field(description="SQLAlchemy URL of the app database (EnvVar DATABASE_URL).")

    @property
    def resolved_url(self) -> str:
        """The URL itself, also when this resource is used directly (not initialised by Dagster)."""
        if isinstance(self.url, EnvVar):
            return (self.url.get_value() or "").strip()
        return self.url.strip()  # a secret mounted from a file often ends in a newline

    def engine(self) -> Engine:
        return engine_for(self.resolved_url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        url = self.resolved_url
        try:
            self.require_schema()
            factory = sessionmaker(self.engine(), expire_on_commit=False)
            with factory() as session, session.begin():
                yield session
        except DBAPIError as exc:
            plain = plain_database_error(exc, url)
            if plain is None:
                raise refused_write(exc) from None
            raise plain from None

    def require_schema(self) -> None:
        if not inspect(self.engine()).has_table("stop_files"):
            raise DatabaseConfigError(
                f"the app tables do not exist in {redact(self.resolved_url)}: run `sgroute db upgrade` first"
            )
