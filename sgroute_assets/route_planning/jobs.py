"""The main job: every step of one stop file's partition, checks included."""

import os

import dagster as dg

from sgroute_assets.partitions import stop_files
from sgroute_assets.route_planning.run_resources import run_pod_tags

ROUTE_PLANNING_ASSETS = (
    "stops",
    "validated_stops",
    "geocoded_stops",
    "travel_time_matrix",
    "route_plan",
    "route_exports",
)

# A run that is still going after this long is stuck (a hung call nobody bounded, a wedged worker): the
# daemon's run monitoring (run_monitoring.enabled in dagster.yaml) cancels it and marks it failed with
# "Exceeded maximum runtime". The steps' own bounds (solver limit, OneMap and database deadlines) keep a
# healthy 3,000-stop run far below it.
MAX_RUNTIME_VARIABLE = "SGROUTE_RUN_MAX_RUNTIME_S"
DEFAULT_MAX_RUNTIME_S = 3600.0


def planning_job_tags() -> dict[str, str]:
    """``dagster/max_runtime`` from SGROUTE_RUN_MAX_RUNTIME_S (seconds; 0 turns the limit off)."""
    raw = os.environ.get(MAX_RUNTIME_VARIABLE, "").strip() or f"{DEFAULT_MAX_RUNTIME_S:g}"
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"{MAX_RUNTIME_VARIABLE}={raw!r} is not a number of seconds") from None
    if seconds < 0:
        raise ValueError(f"{MAX_RUNTIME_VARIABLE}={raw!r} must be 0 (no limit) or more")
    return {"dagster/max_runtime": f"{seconds:g}"} if seconds else {}


route_planning_job = dg.define_asset_job(
    name="route_planning_job",
    selection=dg.AssetSelection.assets(*ROUTE_PLANNING_ASSETS),
    partitions_def=stop_files,
    # The run pod's CPU/memory on GKE (K8sRunLauncher); a run's own dagster-k8s/config tag overrides it.
    # Run retries (deploy/dagster.yaml) are for a lost pod or worker; a step that failed on its input (no valid
    # row, a bad fleet file) fails the same way again, so step failures are not retried.
    tags={**planning_job_tags(), **run_pod_tags(), "dagster/retry_on_asset_or_op_failure": "false"},
    description="Validate, geocode, build travel times, optimise and export one stop file.",
)
