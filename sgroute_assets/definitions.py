"""The code location: one Definitions object whose resources follow SGROUTE_ENV."""

import dagster as dg

from sgroute_assets.operations import OPERATIONS_JOBS, OPERATIONS_SCHEDULES, OPERATIONS_SENSORS
from sgroute_assets.resources import current_env, resources_for
from sgroute_assets.route_planning.exports_asset import exports_match_plan, route_exports
from sgroute_assets.route_planning.exports_sensor import exports_follow_plan_sensor
from sgroute_assets.route_planning.jobs import route_planning_job
from sgroute_assets.route_planning.matrix_asset import travel_time_matrix
from sgroute_assets.route_planning.plan_asset import route_plan
from sgroute_assets.stop_intake.assets import geocoded_stops, has_valid_stops, stops, validated_stops
from sgroute_assets.stop_intake.stop_file_sensor import stop_file_sensor
from sgroute_assets.travel_time.model_assets import (
    TRAVEL_TIME_MODEL_ASSETS,
    TRAVEL_TIME_MODEL_CHECKS,
    TRAVEL_TIME_MODEL_JOBS,
    TRAVEL_TIME_MODEL_SCHEDULES,
    TRAVEL_TIME_MODEL_SENSORS,
)

ROUTE_ASSETS = [stops, validated_stops, geocoded_stops, travel_time_matrix, route_plan, route_exports]
ROUTE_CHECKS = [has_valid_stops, exports_match_plan]

defs = dg.Definitions(
    assets=[*ROUTE_ASSETS, *TRAVEL_TIME_MODEL_ASSETS],
    asset_checks=[*ROUTE_CHECKS, *TRAVEL_TIME_MODEL_CHECKS],
    jobs=[route_planning_job, *TRAVEL_TIME_MODEL_JOBS, *OPERATIONS_JOBS],
    sensors=[stop_file_sensor, exports_follow_plan_sensor, *TRAVEL_TIME_MODEL_SENSORS, *OPERATIONS_SENSORS],
    schedules=[*TRAVEL_TIME_MODEL_SCHEDULES, *OPERATIONS_SCHEDULES],
    resources=resources_for(current_env()),
    # Steps run one after another in the run's own process: the route steps are sequential anyway, and a new
    # process per step cost ~10 s of imports per run in `make dev` (pools are still honoured).
    executor=dg.in_process_executor,
)
