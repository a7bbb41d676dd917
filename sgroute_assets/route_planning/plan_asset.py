"""The optimised, independently checked route plan for a partition."""

import dagster as dg

from sgroute_assets.domain.fleet import Fleet, FleetError
from sgroute_assets.domain.geocoding import GeocodedStops
from sgroute_assets.domain.route_plan import RoutePlan, plan_routes
from sgroute_assets.domain.row_accounting import account_rows
from sgroute_assets.domain.stop_schema import ValidationReport
from sgroute_assets.domain.travel_time import TravelMatrix
from sgroute_assets.partitions import stop_files
from sgroute_assets.route_planning.plan_metadata import plan_metadata
from sgroute_assets.route_planning.planning_config import FleetConfig
from sgroute_assets.stop_intake.assets import GROUP
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.partition_records import replace_plan
from sgroute_resources.solver_settings import RoutingSolver


def fleet_from_config(config: FleetConfig, matrix: TravelMatrix) -> Fleet:
    """The fleet from the Launchpad, the depot and shift from the matrix the plan is solved on."""
    timing = matrix.timing
    if timing is None:
        raise dg.Failure(description="the travel matrix has no shift; re-materialise travel_time_matrix")
    try:
        return Fleet(
            depot_lat=float(matrix.lats[0]),
            depot_lon=float(matrix.lons[0]),
            depot_name=matrix.depot_name,
            vehicles=config.vehicles,
            capacity=config.capacity,
            shift_start_min=timing.shift_start_min,
            shift_end_min=timing.shift_end_min,
            max_route_min=config.max_route_minutes,
            vehicle_fixed_cost_s=config.vehicle_fixed_cost_min * 60,
        )
    except FleetError as exc:
        raise dg.Failure(description=f"fleet settings: {exc}") from None


@dg.asset(partitions_def=stop_files, group_name=GROUP, kinds={"ortools"})
def route_plan(
    context: dg.AssetExecutionContext,
    config: FleetConfig,
    validated_stops: ValidationReport,
    geocoded_stops: GeocodedStops,
    travel_time_matrix: TravelMatrix,
    solver: RoutingSolver,
    app_db: AppDatabase,
) -> dg.Output[RoutePlan]:
    """Routes from OR-Tools (optional visits, insertion start), verified before they are stored."""
    fleet = fleet_from_config(config, travel_time_matrix)
    located = geocoded_stops.located
    if [s.stop_ref for s in located] != travel_time_matrix.node_ids[1:]:
        raise dg.Failure(description="the travel matrix does not match the geocoded stops; re-materialise both")
    plan = plan_routes(fleet, located, travel_time_matrix, solver.settings(config.solver_time_limit_s))
    # Every row of the file accounted for, and the identity every export carries (the run that made the plan).
    plan = account_rows(
        plan,
        validated_stops,
        geocoded_stops,
        plan_id=context.run_id.split("-")[0],
        plan_date=travel_time_matrix.timing.plan_date if travel_time_matrix.timing else None,
    )
    with app_db.session() as session:
        replace_plan(session, context.partition_key, plan)
    for d in plan.dropped:
        context.log.info(f"dropped {d.stop.stop_ref} (row {d.stop.row}): {d.reason}: {d.message}")
    return dg.Output(plan, data_version=dg.DataVersion(plan.plan_id), metadata=plan_metadata(plan))
