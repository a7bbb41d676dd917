"""Travel times between the depot and every located stop."""

import time
from collections.abc import Iterator

import dagster as dg
import numpy as np

from sgroute_assets.asset_groups import GROUP, ONEMAP_POOL
from sgroute_assets.domain.stops import GeocodedStops
from sgroute_assets.domain.travel_times import LegTiming, TravelMatrix
from sgroute_assets.onemap_budget import onemap_budget
from sgroute_assets.partitions import stop_files
from sgroute_assets.route_planning.planning_config import (
    FleetConfig,
    PlanningDayConfig,
    clock_minutes,
    plan_day_of_week,
)
from sgroute_resources.travel_times import TravelTimes

DEPOT_ID = "DEPOT"
ROAD_TIMES_CHECK = "road_times_from_onemap"


@dg.asset(
    partitions_def=stop_files,
    group_name=GROUP,
    pool=ONEMAP_POOL,
    # The active travel-time model fills the cells OneMap does not: a retrained model marks plans out of date.
    deps=["travel_time_model"],
    check_specs=[
        dg.AssetCheckSpec(
            ROAD_TIMES_CHECK,
            asset="travel_time_matrix",
            blocking=False,
            description="Every pair meant for OneMap got a OneMap road time; fails (warning) when the model "
            "had to stand in because OneMap could not be reached.",
        )
    ],
)
def travel_time_matrix(
    context: dg.AssetExecutionContext,
    config: PlanningDayConfig,
    geocoded_stops: GeocodedStops,
    travel_times: TravelTimes,
) -> Iterator[dg.Output[TravelMatrix] | dg.AssetCheckResult]:
    """Node 0 is the depot, node i the i-th located stop; seconds and metres, each cell labelled by source."""
    located = geocoded_stops.located
    ids = [DEPOT_ID] + [s.stop_ref for s in located]
    lats = np.array([config.depot_lat] + [s.lat for s in located], dtype=float)
    lons = np.array([config.depot_lon] + [s.lon for s in located], dtype=float)
    plan_date, weekday = plan_day_of_week(config.plan_date)
    timing = LegTiming(
        shift_start_min=clock_minutes(config.shift_start, "shift_start"),
        shift_end_min=clock_minutes(config.shift_end, "shift_end"),
        day_of_week=weekday,
        plan_date=plan_date,
        vehicles=FleetConfig().vehicles,  # only shapes the departure-time estimate; the plan's fleet may differ
        service_min=tuple([0] + [s.service_time_min for s in located]),
        tw_start_min=tuple([None] + [s.tw_start_min for s in located]),
        tw_end_min=tuple([None] + [s.tw_end_min for s in located]),
    )
    started = time.perf_counter()
    with onemap_budget(context):
        matrix = travel_times.matrix(ids, lats, lons, depot_name=config.depot_name, timing=timing)
    matrix.timing = timing
    elapsed = time.perf_counter() - started
    off_diagonal = matrix.duration_s[~np.eye(matrix.size, dtype=bool)]
    shares = matrix.source_shares()
    provenance = matrix.provenance
    fallback = bool(provenance.get("fallback"))
    metadata = {
        "nodes": matrix.size,
        "source": matrix.source,
        "depot": f"{config.depot_name} ({config.depot_lat:.5f}, {config.depot_lon:.5f})",
        "shift": f"{config.shift_start}-{config.shift_end} on {plan_date}",
        "departure_hour_buckets": str(matrix.provenance.get("departure_hour_buckets", "")),
        "share_onemap": shares["onemap"],
        "share_cache": shares["cache"],
        "share_model": shares["model"],
        "share_same_point": shares["same"],
        "fallback_to_model": fallback,
        "median_leg_min": float(np.median(off_diagonal) / 60) if off_diagonal.size else 0.0,
        "longest_leg_min": float(off_diagonal.max() / 60) if off_diagonal.size else 0.0,
        "build_time_s": round(elapsed, 4),
    }
    if provenance:
        metadata["fallback_reason"] = provenance.get("fallback_reason") or "none"
        metadata["onemap_calls"] = int(provenance.get("onemap_requests", 0))
        metadata["provenance"] = dg.MetadataValue.json(provenance)
    yield dg.Output(matrix, metadata=metadata)
    if fallback:
        description = str(provenance.get("fallback_reason"))
    elif provenance:
        description = (
            f"OneMap answered every pair asked ({provenance.get('onemap_pairs_asked', 0)} new, "
            f"{provenance.get('pairs_from_cache', 0)} cells from cache); the model filled the rest by budget"
        )
    else:
        description = f"OneMap is not configured here: every cell comes from the model ({matrix.source}) by design"
    yield dg.AssetCheckResult(
        check_name=ROAD_TIMES_CHECK,
        passed=not fallback,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={"share_model": shares["model"], "share_onemap": shares["onemap"], "share_cache": shares["cache"]},
    )
