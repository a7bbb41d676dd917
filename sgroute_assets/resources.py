"""Resources per environment, chosen once by SGROUTE_ENV (hooli-data-eng-pipelines pattern)."""

import os
from pathlib import Path
from typing import Any

import dagster as dg

from sgroute_resources.app_database import AppDatabase, database_url_for
from sgroute_resources.environment import ENVIRONMENTS, current_env, secret_setting
from sgroute_resources.local_io_manager import AtomicFilesystemIOManager
from sgroute_resources.onemap_geocoder import geocoder_for
from sgroute_resources.onemap_travel_times import travel_times_for
from sgroute_resources.solver_settings import RoutingSolver
from sgroute_resources.stop_file_store import LocalStopFileStore, repo_root
from sgroute_resources.travel_time_model_store import TravelTimeModelStore
from sgroute_resources.trip_log_store import LocalTripLogStore

__all__ = ["current_env", "resources_for"]


def _local_path(variable: str, default: Path) -> str:
    value = os.environ.get(variable)
    return str(Path(value).expanduser().resolve()) if value else str(default)


def _solver() -> RoutingSolver:
    return RoutingSolver.from_env(default_time_limit_s=10)


def local_resources() -> dict[str, Any]:
    """The embedded default: an inbox folder, exports beside it, pickles and SQLite under DAGSTER_HOME.

    A DATABASE_URL (PostgreSQL, with its password) reaches ``app_db`` as an EnvVar, never as its value; the
    SQLite default under DAGSTER_HOME holds no secret. Pickles are written atomically: two runs of one
    partition never read each other's half-written values.
    """
    data = repo_root() / "data"
    app_db = AppDatabase(url=secret_setting("DATABASE_URL", database_url_for("local")))
    return {
        "stop_file_store": LocalStopFileStore(
            inbox=_local_path("SGROUTE_INBOX", data / "inbox"),
            exports_dir=_local_path("SGROUTE_EXPORTS", data / "exports"),
            quarantine_dir=_local_path("SGROUTE_QUARANTINE", data / "quarantine"),
            exports_url=os.environ.get("SGROUTE_EXPORTS_URL", ""),
        ),
        # OneMap only when ONEMAP_EMAIL/ONEMAP_PASSWORD are set; otherwise file coordinates and the model.
        "geocoder": geocoder_for("local", app_db),
        "travel_times": travel_times_for("local", app_db),
        "solver": _solver(),
        "app_db": app_db,
        "travel_time_model_store": TravelTimeModelStore(app_db=app_db),
        "trip_log_store": LocalTripLogStore(folder=_local_path("SGROUTE_ACTUALS", data / "actuals")),
        "io_manager": AtomicFilesystemIOManager(),
    }


def resources_for(env: str) -> dict[str, Any]:
    if env not in ENVIRONMENTS:
        raise dg.DagsterInvariantViolationError(
            f"SGROUTE_ENV={env!r} is not a known environment; use one of: {', '.join(ENVIRONMENTS)}"
        )
    database_url = database_url_for(env)  # production guardrails first: no SQLite, no missing URL
    if env == "local":
        return local_resources()
    from sgroute_assets.cloud_resources import cloud_resources

    return cloud_resources(env, database_url)
