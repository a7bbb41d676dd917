"""Resources for SGROUTE_ENV=gcp|prod: stop files, exports and asset values in a GCS bucket, app tables on Postgres."""

import os
from typing import Any

from dagster_gcp import GCSResource

from sgroute_resources.app_database import AppDatabase
from sgroute_resources.environment import secret_setting
from sgroute_resources.gcs_io_manager import CheckedGCSPickleIOManager
from sgroute_resources.gcs_stop_file_store import GCSStopFileStore
from sgroute_resources.gcs_trip_log_store import GCSTripLogStore
from sgroute_resources.onemap_geocoder import geocoder_for
from sgroute_resources.onemap_travel_times import travel_times_for
from sgroute_resources.solver_settings import RoutingSolver
from sgroute_resources.travel_time_model_store import TravelTimeModelStore


class CloudConfigError(RuntimeError):
    pass


def _required(name: str, env: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise CloudConfigError(f"SGROUTE_ENV={env} needs {name}")
    return value


def cloud_resources(env: str, database_url: str) -> dict[str, Any]:
    bucket = _required("SGROUTE_BUCKET", env)
    gcs = GCSResource(project=os.environ.get("GOOGLE_CLOUD_PROJECT") or None)
    # database_url_for has refused a missing or SQLite URL; the resource gets the variable, never the value.
    app_db = AppDatabase(url=secret_setting("DATABASE_URL", database_url))
    return {
        "gcs": gcs,
        "stop_file_store": GCSStopFileStore(
            gcs=gcs,
            bucket=bucket,
            inbox_prefix=os.environ.get("SGROUTE_INBOX_PREFIX", "incoming/"),
            exports_prefix=os.environ.get("SGROUTE_EXPORTS_PREFIX", "exports/"),
            quarantine_prefix=os.environ.get("SGROUTE_QUARANTINE_PREFIX", "quarantine/"),
        ),
        "io_manager": CheckedGCSPickleIOManager(
            gcs=gcs, gcs_bucket=bucket, gcs_prefix=os.environ.get("SGROUTE_ASSETS_PREFIX", "dagster")
        ),
        "geocoder": geocoder_for(env, app_db),  # OneMap; credentials are EnvVars resolved at run time
        "travel_times": travel_times_for(env, app_db),
        "solver": RoutingSolver.from_env(default_time_limit_s=30),
        "app_db": app_db,
        "travel_time_model_store": TravelTimeModelStore(app_db=app_db),
        "trip_log_store": GCSTripLogStore(
            gcs=gcs, bucket=bucket, prefix=os.environ.get("SGROUTE_ACTUALS_PREFIX", "actuals/")
        ),
    }
