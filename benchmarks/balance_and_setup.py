"""Two figures issue 19 asks for, measured in this process on the estimated matrix.

1. **Balanced days**: on 100 and 200 real Singapore points (8-minute service, vans of 14), the ratio of the
   longest to the shortest route before and after ``balance`` (duration and stops), and what it cost (bound 3 %).
2. **Shared addresses** on the demo files: every stop given ``setup_min`` 5 (parking and the lift), planned with
   setup paid once per place against the old model (the 5 minutes inside every stop's service time): the minutes
   saved on the routes and the plan's own ``setup_saved_min``.

Run alone: .venv/bin/python benchmarks/balance_and_setup.py [TIME_LIMIT_S]  (default 10)
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sgroute_assets.domain.routing import Fleet, SolverSettings, plan_routes
from sgroute_assets.domain.stops import Stop, validate_file
from sgroute_assets.domain.travel_times import estimate_matrix

REPO = Path(__file__).resolve().parents[1]
POINTS = REPO.parent / "shared" / "data" / "sg_points.csv"


def _matrix(fleet: Fleet, stops: list[Stop]):
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    lats = np.r_[fleet.depot_lat, [s.lat for s in stops]]
    lons = np.r_[fleet.depot_lon, [s.lon for s in stops]]
    return estimate_matrix(ids, lats, lons)


def balance_figures(limit: float) -> None:
    for n in (100, 200):
        pts = pd.read_csv(POINTS).sample(n=n, random_state=7)
        stops = [
            Stop(stop_ref=f"B{i:03d}", row=i + 2, lat=float(p.lat), lon=float(p.lon), demand=1, service_time_min=8)
            for i, p in enumerate(pts.itertuples())
        ]
        vans = n // 12 + 1
        fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, vehicles=vans, capacity=14, shift_start_min=8 * 60,
                      shift_end_min=20 * 60, max_route_min=720)  # fmt: skip
        matrix = _matrix(fleet, stops)
        for mode in ("duration", "stops"):
            plan = plan_routes(fleet, stops, matrix, SolverSettings(time_limit_s=limit), balance=mode)
            b = plan.balance
            print(f"  {n} stops, {vans} vans, balance {mode}: longest/shortest {b['ratio_before']:.2f} -> "
                  f"{b['ratio_after']:.2f}, cost +{b['cost_increase_pct']:.2f} % ({b['rounds']} rounds, "
                  f"{plan.stops_served} served)")  # fmt: skip


def setup_figures(limit: float) -> None:
    for name in ("east_west_tight_windows.csv", "orchard_central_deliveries.csv"):
        report = validate_file(name, (REPO / "data" / "demo" / name).read_bytes())
        stops = [s for s in report.valid_stops if s.has_coordinates]
        fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, vehicles=4, capacity=40, shift_start_min=8 * 60,
                      shift_end_min=18 * 60, max_route_min=600, vehicle_fixed_cost_s=1800)  # fmt: skip
        matrix = _matrix(fleet, stops)
        new = [replace(s, setup_min=5) for s in stops]
        old = [replace(s, service_time_min=s.service_time_min + 5) for s in stops]
        once = plan_routes(fleet, new, matrix, SolverSettings(time_limit_s=limit))
        every = plan_routes(fleet, old, matrix, SolverSettings(time_limit_s=limit))
        saved = (every.total_duration_s - once.total_duration_s) / 60
        print(f"  {name}: {len(stops)} stops; route time {every.total_duration_s / 60:.0f} -> "
              f"{once.total_duration_s / 60:.0f} min ({saved:+.0f} min saved); setup_saved_min "
              f"{once.setup_saved_s / 60:.0f}; served {every.stops_served} -> {once.stops_served}")  # fmt: skip


def main() -> int:
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(f"load average before: {os.getloadavg()[0]:.2f}; limit {limit:g} s")
    print("balanced days:")
    balance_figures(limit)
    print("shared addresses (setup_min 5 on every stop):")
    setup_figures(limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
