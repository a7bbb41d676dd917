"""The optimised, independently checked route plan for a partition."""

from typing import Any

import dagster as dg

from sgroute_assets.domain.exports.route_map import route_map_thumbnail
from sgroute_assets.domain.fleet import Fleet, FleetError
from sgroute_assets.domain.geocoding import GeocodedStops
from sgroute_assets.domain.plan_summary import plan_markdown
from sgroute_assets.domain.route_plan import RoutePlan, plan_routes
from sgroute_assets.domain.travel_time import TravelMatrix
from sgroute_assets.partitions import stop_files
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


def plan_metadata(plan: RoutePlan, title: str) -> dict[str, Any]:
    totals = plan.totals()
    return {
        **{k: v for k, v in totals.items()},
        "summary": dg.MetadataValue.md(plan_markdown(plan, title=title, map_png=route_map_thumbnail(plan))),
        "dropped_stops": dg.MetadataValue.table(
            records=[
                dg.TableRecord(
                    {"stop_ref": d.stop.stop_ref, "row": d.stop.row, "reason": d.reason, "message": d.message}
                )
                for d in plan.dropped
            ],
            schema=dg.TableSchema(
                columns=[
                    dg.TableColumn("stop_ref", "string"),
                    dg.TableColumn("row", "int"),
                    dg.TableColumn("reason", "string"),
                    dg.TableColumn("message", "string"),
                ]
            ),
        ),
    }


@dg.asset(partitions_def=stop_files, group_name=GROUP, kinds={"ortools"})
def route_plan(
    context: dg.AssetExecutionContext,
    config: FleetConfig,
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
    with app_db.session() as session:
        replace_plan(session, context.partition_key, plan)
    for d in plan.dropped:
        context.log.info(f"dropped {d.stop.stop_ref} (row {d.stop.row}): {d.reason}: {d.message}")
    return dg.Output(plan, metadata=plan_metadata(plan, title=f"Routes for {context.partition_key}"))
