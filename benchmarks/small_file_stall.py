"""Small files stop searching after 0.3 s of calm (domain/routing/engines/search.py, SMALL_PROBLEM_STOPS): is
anything lost against the whole limit? 12 random Singapore instances of 12 and 20 stops (half with 45-minute
windows, 4 vans of 30), planned with the stall stop and with the full 5 s, on the embedded travel-time model.
Run: .venv/bin/python benchmarks/small_file_stall.py

Measured 2026-12-07 on the 2-core machine (quiet): the same objective and drops on 12 of 12, in 0.30-0.33 s
against 5.0 s.
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd

from sgroute_assets.domain.routing import Fleet, SolverSettings, plan_routes
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> None:
    pts = pd.read_csv(SHARED / "data" / "sg_points.csv")
    same = 0
    for seed in range(12):
        n = 12 if seed % 2 else 20
        sample = pts.sample(n, random_state=seed)
        rng = np.random.default_rng(seed)
        stops = []
        for i, (lat, lon) in enumerate(zip(sample.lat, sample.lon, strict=True)):
            tw = None if i % 2 else int(rng.integers(9 * 60, 16 * 60))
            stops.append(
                Stop(
                    stop_ref=f"S{i}",
                    row=i + 2,
                    lat=float(lat),
                    lon=float(lon),
                    demand=int(rng.integers(1, 8)),
                    service_time_min=10,
                    tw_start_min=tw,
                    tw_end_min=None if tw is None else tw + 45,
                )
            )
        fleet = Fleet(
            depot_lat=1.3354,
            depot_lon=103.8879,
            vehicles=4,
            capacity=30,
            shift_start_min=480,
            shift_end_min=1080,
            max_route_min=540,
            depot_name="Tai Seng",
        )
        ids = ["DEPOT"] + [s.stop_ref for s in stops]
        lats = np.r_[fleet.depot_lat, [s.lat for s in stops]]
        lons = np.r_[fleet.depot_lon, [s.lon for s in stops]]
        matrix = estimate_matrix(ids, lats, lons)
        results = []
        for stall in (True, False):
            started = time.perf_counter()
            plan = plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=5, stop_when_stalled=stall))
            results.append((plan.objective, len(plan.dropped), time.perf_counter() - started))
        (early, e_dropped, e_s), (full, f_dropped, f_s) = results
        same += (early, e_dropped) == (full, f_dropped)
        print(f"{n} stops: stall stop {early} ({e_dropped} dropped, {e_s:.2f} s);", end=" ")
        print(f"full limit {full} ({f_dropped} dropped, {f_s:.2f} s)")
    print(f"same objective and drops: {same} of 12")


if __name__ == "__main__":
    main()
