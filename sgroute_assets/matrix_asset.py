"""Travel times between the depot and every located stop."""

import time

import dagster as dg
import numpy as np

from sgroute_assets.domain.geocoding import GeocodedStops
from sgroute_assets.domain.travel_time import TravelMatrix
from sgroute_assets.partitions import stop_files
from sgroute_assets.planning_config import DepotConfig
from sgroute_assets.stop_assets import GROUP
from sgroute_resources.travel_times import TravelTimes

DEPOT_ID = "DEPOT"


@dg.asset(partitions_def=stop_files, group_name=GROUP)
def travel_time_matrix(
    config: DepotConfig, geocoded_stops: GeocodedStops, travel_times: TravelTimes
) -> dg.Output[TravelMatrix]:
    """Node 0 is the depot, node i the i-th located stop; seconds and metres."""
    located = geocoded_stops.located
    ids = [DEPOT_ID] + [s.stop_ref for s in located]
    lats = np.array([config.depot_lat] + [s.lat for s in located], dtype=float)
    lons = np.array([config.depot_lon] + [s.lon for s in located], dtype=float)
    started = time.perf_counter()
    matrix = travel_times.matrix(ids, lats, lons, depot_name=config.depot_name)
    elapsed = time.perf_counter() - started
    off_diagonal = matrix.duration_s[~np.eye(matrix.size, dtype=bool)]
    return dg.Output(
        matrix,
        metadata={
            "nodes": matrix.size,
            "source": matrix.source,
            "depot": f"{config.depot_name} ({config.depot_lat:.5f}, {config.depot_lon:.5f})",
            "median_leg_min": float(np.median(off_diagonal) / 60) if off_diagonal.size else 0.0,
            "longest_leg_min": float(off_diagonal.max() / 60) if off_diagonal.size else 0.0,
            "build_time_s": round(elapsed, 4),
        },
    )
