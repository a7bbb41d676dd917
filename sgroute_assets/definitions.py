"""The code location: one Definitions object whose resources follow SGROUTE_ENV."""

import dagster as dg

from sgroute_assets.exports_asset import route_exports
from sgroute_assets.jobs import route_planning_job
from sgroute_assets.matrix_asset import travel_time_matrix
from sgroute_assets.plan_asset import route_plan
from sgroute_assets.resources import current_env, resources_for
from sgroute_assets.stop_assets import geocoded_stops, has_valid_stops, stops, validated_stops
from sgroute_assets.stop_file_sensor import stop_file_sensor

ROUTE_ASSETS = [stops, validated_stops, geocoded_stops, travel_time_matrix, route_plan, route_exports]

defs = dg.Definitions(
    assets=ROUTE_ASSETS,
    asset_checks=[has_valid_stops],
    jobs=[route_planning_job],
    sensors=[stop_file_sensor],
    resources=resources_for(current_env()),
)
