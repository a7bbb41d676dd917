"""The main job: every step of one stop file's partition, checks included."""

import dagster as dg

from sgroute_assets.partitions import stop_files

ROUTE_PLANNING_ASSETS = (
    "stops",
    "validated_stops",
    "geocoded_stops",
    "travel_time_matrix",
    "route_plan",
    "route_exports",
)

route_planning_job = dg.define_asset_job(
    name="route_planning_job",
    selection=dg.AssetSelection.assets(*ROUTE_PLANNING_ASSETS),
    partitions_def=stop_files,
    description="Validate, geocode, build travel times, optimise and export one stop file.",
)
